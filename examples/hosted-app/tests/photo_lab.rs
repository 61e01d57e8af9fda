//! Photo Lab served in this process beside Tollgate: a customer buys it through Tollgate's pages and follows
//! the confirmation page's Continue link into the app.

mod support;

use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tollgate_example_hosted::Config;

use support::{DECLINING_CARD, GOOD_CARD, TempDir, Tollgate};

struct PhotoLab {
    url: String,
    product: Value,
    data: TempDir,
    server: JoinHandle<anyhow::Result<()>>,
}

impl PhotoLab {
    /// Registers Photo Lab with its redirect URL on a port taken beforehand, then serves it there.
    async fn start(tollgate: &Tollgate) -> PhotoLab {
        let api_key = tollgate.seller().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let url = format!("http://{addr}");
        let product = tollgate.register_photo_lab(&api_key, &format!("{url}/welcome")).await;
        let data = TempDir::new("photo-lab");
        let config = Config {
            addr,
            tollgate_url: tollgate.base.clone(),
            api_key,
            product_token: product["product_token"].as_str().unwrap().to_owned(),
            product_code: product["product_code"].as_str().unwrap().to_owned(),
            users_file: data.0.join("users.json"),
        };
        let server = tokio::spawn(tollgate_example_hosted::serve(listener, config));
        PhotoLab {
            url,
            product,
            data,
            server,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    fn users(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.data.0.join("users.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

impl Drop for PhotoLab {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn text(response: reqwest::Response) -> (StatusCode, String) {
    (response.status(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_continues_from_the_order_into_the_app() {
    let tollgate = Tollgate::start().await;
    let lab = PhotoLab::start(&tollgate).await;
    let customer = tollgate.customer("ann@example.com", GOOD_CARD).await;

    let (status, stranger) = text(customer.visit(&lab.url("/")).await).await;
    assert_eq!(status, StatusCode::OK);
    let purchase_url = lab.product["purchase_url"].as_str().unwrap();
    assert!(
        stranger.contains(&format!("<a id=\"buy\" href=\"{purchase_url}\">")),
        "{stranger}"
    );

    let continue_link = customer.buy(&lab.product).await;
    let code = lab.product["product_code"].as_str().unwrap();
    assert!(
        continue_link.starts_with(&lab.url("/welcome?ActivationKey=")),
        "{continue_link}"
    );
    assert!(
        continue_link.ends_with(&format!("&ProductCode={code}")),
        "{continue_link}"
    );
    let welcome = customer.visit(&continue_link).await;
    assert_eq!(welcome.status(), StatusCode::SEE_OTHER);
    assert_eq!(welcome.headers()[LOCATION], "/");
    let cookie = welcome.headers()[SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with("photo_lab_user=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );

    let (status, home) = text(customer.visit(&lab.url("/")).await).await;
    assert_eq!(status, StatusCode::OK, "{home}");
    assert!(home.contains("id=\"app\""), "{home}");
    let users = lab.users();
    assert_eq!(users.len(), 1);
    assert!(users[0]["pid"].as_str().unwrap().starts_with("pid_"));
    assert!(users[0]["user_token"].as_str().unwrap().starts_with("{UserToken}"));

    // Coming back through the link again finds the same user by the PID.
    assert_eq!(customer.visit(&continue_link).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(lab.users().len(), 1);
    tollgate.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_payment_shows_the_subscription_is_not_active() {
    let tollgate = Tollgate::start().await;
    let lab = PhotoLab::start(&tollgate).await;
    let customer = tollgate.customer("bo@example.com", DECLINING_CARD).await;
    let continue_link = customer.buy(&lab.product).await;
    assert_eq!(customer.visit(&continue_link).await.status(), StatusCode::SEE_OTHER);

    let (status, lapsed) = text(customer.visit(&lab.url("/")).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(lapsed.contains("id=\"not-active\""), "{lapsed}");
    assert!(lapsed.contains("subscription is not active"), "{lapsed}");
    for path in ["/activate", "/billing"] {
        assert!(
            lapsed.contains(&format!("href=\"{}{path}\"", tollgate.base)),
            "{lapsed}"
        );
    }

    customer.add_card(GOOD_CARD).await;
    let (status, paid) = text(customer.visit(&lab.url("/")).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(paid.contains("id=\"app\""), "{paid}");
    tollgate.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_keys_explain_how_to_get_a_new_one() {
    let tollgate = Tollgate::start().await;
    let lab = PhotoLab::start(&tollgate).await;
    let customer = tollgate.customer("cat@example.com", GOOD_CARD).await;
    let code = lab.product["product_code"].as_str().unwrap();
    let new_key = format!("href=\"{}/activate\"", tollgate.base);

    let invalid = lab.url(&format!("/welcome?ActivationKey={}&ProductCode={code}", "A".repeat(28)));
    let response = customer.visit(&invalid).await;
    assert!(response.headers().get(SET_COOKIE).is_none());
    let (status, page) = text(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("This activation key is not valid") && page.contains(&new_key),
        "{page}"
    );

    let continue_link = customer.buy(&lab.product).await;
    tollgate.set_clock("2027-06-17T11:00:01Z").await;
    let (status, page) = text(customer.visit(&continue_link).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("This activation key has expired") && page.contains(&new_key),
        "{page}"
    );

    let (status, page) = text(customer.visit(&lab.url("/welcome")).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("This link is incomplete"), "{page}");
    let (status, page) = text(customer.visit(&continue_link.replace(code, "ZZZZZZZZ")).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("another product"), "{page}");

    let (status, page) = text(customer.visit(&lab.url("/")).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"buy\""), "still signed out: {page}");
    tollgate.stop().await;
}
