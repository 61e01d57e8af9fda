//! The purchase pipeline in a real browser (headless Chromium through chromedriver), as a new customer goes through
//! it: from the seller's purchase link to the seller's own site with the activation key, then to the Application
//! Billing page and the cancellation of what was bought. It needs Chromium and
//! chromedriver, so it runs only when TOLLGATE_E2E=1; it saves a screenshot of every page under
//! target/e2e-screenshots/.

#[allow(
    dead_code,
    reason = "the harness is shared with the API suite, which uses more of it"
)]
#[path = "api/helpers.rs"]
mod helpers;

use std::io::{Read, Write};
use std::net::{TcpListener as StdListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{RawQuery, State};
use axum::response::Html;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use reqwest::Method;
use serde_json::{Value, json};

use helpers::{Backend, TestApp, contract_pricing, product_body};

/// Long enough for a slow CI machine, short enough that a broken page fails the test rather than hanging it.
const WAIT: Duration = Duration::from_secs(15);
const SCREENSHOTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/e2e-screenshots");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_customer_buys_lands_on_the_sellers_site_and_cancels_from_billing() {
    if std::env::var("TOLLGATE_E2E").as_deref() != Ok("1") {
        eprintln!("TOLLGATE_E2E is not 1: the browser test is skipped");
        return;
    }
    let driver = ChromeDriver::start();
    // Chromium takes about a second to start: the server and the seller's product are made meanwhile.
    let (browser, (app, site, product)) = tokio::join!(driver.connect(), async {
        let app = TestApp::spawn(Backend::Sqlite).await;
        let site = SellerSite::start().await;
        let key = app.create_seller("seller@example.com").await;
        let mut body = product_body(contract_pricing());
        body["redirect_url"] = json!(site.url("/welcome"));
        let (status, product) = app
            .seller_call(&key, Method::POST, "/api/v1/products", Some(body))
            .await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{product}");
        (app, site, product)
    });

    // The journey runs in a task of its own so that a failed assertion still closes the browser below.
    let journey = tokio::spawn(journey(
        browser.clone(),
        app.url(&format!("/purchase/{}", product["offering_code"].as_str().unwrap())),
        app.url("/billing"),
        site.clone(),
        product,
    ))
    .await;
    let _ = browser.close().await;
    if let Err(failure) = journey {
        std::panic::resume_unwind(failure.into_panic());
    }
    app.finish().await;
}

async fn journey(browser: Client, purchase_url: String, billing_url: String, site: SellerSite, product: Value) {
    let shots = Screenshots::new();

    // Not signed in: the purchase link sends the visitor to the login page, and back afterwards.
    browser.goto(&purchase_url).await.unwrap();
    let signup_link = wait_for(&browser, "signup-link").await;
    let url = browser.current_url().await.unwrap();
    assert_eq!(url.path(), "/login");
    assert!(url.query().unwrap_or("").starts_with("next=%2Fpurchase%2F"), "{url}");
    shots.take(&browser, "01-login").await;

    signup_link.click().await.unwrap();
    let submit = wait_for(&browser, "signup-submit").await;
    fill(&browser, "name", "Casey Customer").await;
    fill(&browser, "email", "casey@example.com").await;
    fill(&browser, "password", helpers::PASSWORD).await;
    shots.take(&browser, "02-signup").await;
    submit.click().await.unwrap();

    let add_card = wait_for(&browser, "add-card").await;
    assert_eq!(browser.current_url().await.unwrap().as_str(), purchase_url);
    assert_eq!(text_of(&browser, "amount-due").await, "$9.67");
    assert!(
        browser.find(Locator::Id("place-order")).await.is_err(),
        "no order without a card"
    );
    shots.take(&browser, "03-purchase-without-card").await;

    add_card.click().await.unwrap();
    let save_card = wait_for(&browser, "save-card").await;
    fill(&browser, "card_number", "4242424242424242").await;
    fill(&browser, "exp_month", "12").await;
    fill(&browser, "exp_year", "2030").await;
    fill(&browser, "cvc", "123").await;
    shots.take(&browser, "04-card-form").await;
    save_card.click().await.unwrap();

    let place_order = wait_for(&browser, "place-order").await;
    assert_eq!(browser.current_url().await.unwrap().as_str(), purchase_url);
    assert_eq!(text_of(&browser, "amount-due").await, "$9.67");
    let card = text_of(&browser, "card-on-file").await;
    assert!(card.starts_with("Visa ending in 4242"), "{card}");
    shots.take(&browser, "05-purchase-with-card").await;

    place_order.click().await.unwrap();
    let shown_key = wait_for(&browser, "activation-key").await.text().await.unwrap();
    assert!(!shown_key.is_empty() && shown_key.len() <= 30, "{shown_key:?}");
    shots.take(&browser, "06-confirmation").await;

    browser
        .find(Locator::Id("continue"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&browser, "welcome").await;
    let landed = browser.current_url().await.unwrap();
    assert_eq!(
        format!("{}{}", landed.origin().ascii_serialization(), landed.path()),
        site.url("/welcome"),
        "{landed}"
    );
    shots.take(&browser, "07-welcome").await;

    let received = site.queries();
    assert_eq!(received.len(), 1, "{received:?}");
    let query: Vec<(String, String)> = serde_urlencoded::from_str(&received[0]).unwrap();
    let field = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!(field("ActivationKey"), Some(shown_key), "{query:?}");
    assert_eq!(
        field("ProductCode").as_deref(),
        product["product_code"].as_str(),
        "{query:?}"
    );

    // Application Billing: the product with what was charged this month, the chart, and Cancel.
    let code = product["product_code"].as_str().unwrap();
    browser.goto(&billing_url).await.unwrap();
    let section = wait_for(&browser, &format!("product-{code}")).await;
    let fees = text_in(&section, "[data-fees]").await;
    assert_eq!(fees, "$9.67");
    assert!(
        browser.find(Locator::Id("usage-chart")).await.is_ok(),
        "the month's chart"
    );
    assert_eq!(text_of(&browser, "next-bill-date").await, "July 1, 2027");
    shots.take(&browser, "08-billing").await;

    section
        .find(Locator::LinkText("View/Cancel Application"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let cancel = wait_for(&browser, "cancel-subscription").await;
    assert_eq!(text_of(&browser, "seller-contact").await, "help@example.com");
    shots.take(&browser, "09-subscription").await;
    cancel.click().await.unwrap();
    // Canceled on June 17, day 17 of 30: 10.00 × 13/30 back.
    let notice = wait_for(&browser, "notice").await.text().await.unwrap();
    assert!(notice.contains("$4.33"), "{notice}");
    assert!(browser.find(Locator::Id("cancel-subscription")).await.is_err());
    shots.take(&browser, "10-canceled").await;

    browser.goto(&billing_url).await.unwrap();
    let section = wait_for(&browser, &format!("product-{code}")).await;
    let status = text_in(&section, ".status").await;
    assert_eq!(status, "canceled");
    let fees = text_in(&section, "[data-fees]").await;
    assert_eq!(fees, "$5.34", "9.67 less the 4.33 refund");

    // The month picker opens June's statement, to date: the sign-up, June's fee and its refund, without the site's
    // navigation, ready to print.
    browser
        .execute(
            "document.querySelector('#statements input[name=month]').value = '2027-06'",
            Vec::new(),
        )
        .await
        .unwrap();
    browser
        .find(Locator::Css("#statements button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        wait_for(&browser, "statement-month").await.text().await.unwrap(),
        "June 2027"
    );
    assert_eq!(text_of(&browser, "statement-total").await, "$5.34");
    assert!(browser.find(Locator::Css("header.top")).await.is_err(), "no navigation");
    shots.take(&browser, "11-statement").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_accepts_an_active_price_change_on_the_billing_page() {
    if std::env::var("TOLLGATE_E2E").as_deref() != Ok("1") {
        eprintln!("TOLLGATE_E2E is not 1: the browser test is skipped");
        return;
    }
    let driver = ChromeDriver::start();
    let (browser, (app, product, key)) = tokio::join!(driver.connect(), async {
        let app = TestApp::spawn(Backend::Sqlite).await;
        let key = app.create_seller("seller@example.com").await;
        let product = app.create_product(&key, contract_pricing()).await;
        let customer = app.customer("casey@example.com", Some(helpers::CARD)).await;
        let (status, html) = customer.buy(product["offering_code"].as_str().unwrap()).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{html}");
        let mut pricing = contract_pricing();
        pricing["monthly_fee"] = json!("12.00");
        let path = format!(
            "/api/v1/products/{}/price-changes",
            product["product_code"].as_str().unwrap()
        );
        let change = json!({"effective_at": "2027-07-01T00:00:00Z", "authorization": "active", "pricing": pricing,
                            "message": "New features, new price."});
        let (status, body) = app.seller_call(&key, Method::POST, &path, Some(change)).await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
        (app, product, key)
    });
    let code = product["product_code"].as_str().unwrap().to_owned();
    let login_then_billing = app.url(&format!("/login?next=%2Fbilling%3FproductCode%3D{code}"));
    let accepting = tokio::spawn(accept_price_change(browser.clone(), login_then_billing)).await;
    let _ = browser.close().await;
    if let Err(failure) = accepting {
        std::panic::resume_unwind(failure.into_panic());
    }
    let (_, shown) = app
        .seller_call(&key, Method::GET, &format!("/api/v1/products/{code}"), None)
        .await;
    assert_eq!(shown["pending_price_change"]["accepted_count"], 1, "{shown}");
    app.finish().await;
}

/// Logs in and lands on the product's billing page, as the price change e-mail's link does, and accepts there.
async fn accept_price_change(browser: Client, login_then_billing: String) {
    let shots = Screenshots::new();
    browser.goto(&login_then_billing).await.unwrap();
    let submit = wait_for(&browser, "login-submit").await;
    fill(&browser, "email", "casey@example.com").await;
    fill(&browser, "password", helpers::PASSWORD).await;
    submit.click().await.unwrap();
    let notice = wait_for(&browser, "pending-price-change").await;
    assert_eq!(
        notice.attr("data-authorization").await.unwrap().as_deref(),
        Some("active")
    );
    let text = notice.text().await.unwrap();
    assert!(
        text.contains("July 1, 2027") && text.contains("$12.00 a month"),
        "{text}"
    );
    assert!(text.contains("New features, new price."), "{text}");
    shots.take(&browser, "20-price-change").await;
    browser
        .find(Locator::Id("accept-price-change"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let accepted = wait_for(&browser, "price-change-accepted").await.text().await.unwrap();
    assert!(accepted.contains("You have accepted the new price"), "{accepted}");
    assert!(
        browser.find(Locator::Id("accept-price-change")).await.is_err(),
        "accepted once"
    );
    let notice = text_of(&browser, "notice").await;
    assert!(
        notice.contains("You accepted the new price, in effect from July 1, 2027"),
        "{notice}"
    );
    shots.take(&browser, "21-price-change-accepted").await;
}

async fn wait_for(browser: &Client, id: &str) -> Element {
    match browser
        .wait()
        .at_most(WAIT)
        .every(Duration::from_millis(20))
        .for_element(Locator::Id(id))
        .await
    {
        Ok(element) => element,
        Err(e) => {
            let url = browser.current_url().await.map(|u| u.to_string());
            let source = browser.source().await.unwrap_or_default();
            panic!("#{id} did not appear ({e}); the browser is at {url:?} showing:\n{source}")
        }
    }
}

async fn text_of(browser: &Client, id: &str) -> String {
    browser
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
        .text()
        .await
        .unwrap()
}

/// The text of the element that `css` finds inside `element`.
async fn text_in(element: &Element, css: &str) -> String {
    element
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Types into the field with this name, as a person does.
async fn fill(browser: &Client, name: &str, value: &str) {
    browser
        .find(Locator::Css(&format!("input[name='{name}']")))
        .await
        .unwrap_or_else(|e| panic!("field {name}: {e}"))
        .send_keys(value)
        .await
        .unwrap();
}

struct Screenshots {
    dir: PathBuf,
}

impl Screenshots {
    fn new() -> Screenshots {
        let dir = PathBuf::from(SCREENSHOTS);
        std::fs::create_dir_all(&dir).unwrap();
        Screenshots { dir }
    }

    async fn take(&self, browser: &Client, name: &str) {
        let png = browser.screenshot().await.unwrap();
        std::fs::write(self.dir.join(format!("{name}.png")), png).unwrap();
    }
}

/// The seller's own site: the page customers continue to, recording the query string each visit brought.
#[derive(Clone)]
struct SellerSite {
    address: std::net::SocketAddr,
    queries: Arc<Mutex<Vec<String>>>,
}

impl SellerSite {
    async fn start() -> SellerSite {
        let queries = Arc::new(Mutex::new(Vec::new()));
        let router = axum::Router::new()
            .route("/welcome", axum::routing::get(welcome))
            .with_state(queries.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        SellerSite { address, queries }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn queries(&self) -> Vec<String> {
        self.queries.lock().unwrap().clone()
    }
}

async fn welcome(State(queries): State<Arc<Mutex<Vec<String>>>>, RawQuery(query): RawQuery) -> Html<&'static str> {
    queries.lock().unwrap().push(query.unwrap_or_default());
    Html(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Welcome to Backup Pro</title></head>\
         <body><h1 id=\"welcome\">Welcome to Backup Pro</h1><p>Thank you for buying Backup Pro.</p></body></html>",
    )
}

/// chromedriver on a free port, with a profile folder of its own; both go when the test ends, passed or failed.
struct ChromeDriver {
    process: Child,
    port: u16,
    profile: PathBuf,
}

impl ChromeDriver {
    fn start() -> ChromeDriver {
        let binary = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = StdListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let profile = std::env::temp_dir().join(format!("tollgate-e2e-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&profile).unwrap();
        let process = Command::new(&binary)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {binary} (set CHROMEDRIVER): {e}"));
        let driver = ChromeDriver { process, port, profile };
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver is not listening on port {port}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        driver
    }

    async fn connect(&self) -> Client {
        let chrome = std::env::var("CHROME_BIN").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chrome,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--disable-quic",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", self.profile.display()),
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap_or_else(|e| panic!("a Chromium session (set CHROME_BIN): {e}"))
    }

    /// chromedriver's own way out: it quits the browser of any session still open, and then itself.
    fn shut_down(&self) -> std::io::Result<()> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.write_all(b"GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
        let _ = stream.read_to_end(&mut Vec::new());
        Ok(())
    }
}

impl Drop for ChromeDriver {
    /// A failed test leaves its session open, and killing chromedriver alone would leave that browser running and
    /// writing to its profile: chromedriver is asked to quit it first, and its process group (the browser's too)
    /// is killed in case it did not.
    fn drop(&mut self) {
        let _ = self.shut_down();
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.process.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.process.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
