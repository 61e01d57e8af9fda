//! Tollgate started in this process on a fresh SQLite database in the sandbox, with a seller and customers driven
//! over HTTP as the server's own integration tests drive it. Shared by the examples' tests, each of which adds
//! its own product and what it reads from an order's confirmation.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tollgate::config::ServeArgs;
use tollgate::startup::{Application, RunningApp};

const OPERATOR_TOKEN: &str = "example-operator-token";
const PASSWORD: &str = "correct horse battery";
pub const GOOD_CARD: &str = "4242424242424242";
/// Accepted when added; every charge to it is declined, so a sign-up stays pending.
pub const DECLINING_CARD: &str = "4000000000000341";

/// A directory of its own for one test, removed when the test ends.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(purpose: &str) -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::UNIX_EPOCH.elapsed().unwrap().as_nanos();
        let name = format!(
            "{purpose}-{}-{nanos}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Tollgate {
    pub base: String,
    app: RunningApp,
    api: Client,
    _data: TempDir,
}

impl Tollgate {
    pub async fn start() -> Tollgate {
        let data = TempDir::new("tollgate-example-server");
        let mut args = ServeArgs::for_database(&format!("sqlite://{}", data.0.join("tollgate.db").display()));
        args.sandbox = true;
        args.sandbox_start = Some("2027-06-17T10:00:00Z".to_owned());
        args.operator_token = Some(OPERATOR_TOKEN.to_owned());
        let app = Application::build(args).await.expect("build Tollgate").spawn();
        Tollgate {
            base: format!("http://{}", app.address),
            app,
            api: Client::builder().redirect(Policy::none()).build().unwrap(),
            _data: data,
        }
    }

    pub async fn stop(self) {
        self.app.stop().await.expect("Tollgate stopped cleanly");
    }

    pub async fn call(&self, credential: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
        let response = self
            .api
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(credential)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// A seller made through the operator API; returns its API key.
    pub async fn seller(&self) -> String {
        let body = json!({"email": "sales@acme.example", "password": PASSWORD, "company_name": "Acme Software", "public_contact": "help@acme.example"});
        let seller = self
            .call(OPERATOR_TOKEN, reqwest::Method::POST, "/api/v1/admin/sellers", body)
            .await;
        seller["api_key"].as_str().unwrap().to_owned()
    }

    pub async fn set_clock(&self, now: &str) {
        self.call(
            OPERATOR_TOKEN,
            reqwest::Method::POST,
            "/api/v1/admin/clock",
            json!({"now": now}),
        )
        .await;
    }

    /// A new customer, signed in, with this card on file.
    pub async fn customer(&self, email: &str, card: &str) -> Customer {
        let customer = Customer {
            base: self.base.clone(),
            client: Client::builder()
                .cookie_store(true)
                .redirect(Policy::none())
                .build()
                .unwrap(),
        };
        let signup = [("email", email), ("password", PASSWORD), ("name", "Casey Customer")];
        assert_eq!(customer.submit("/signup", &signup).await.0, StatusCode::SEE_OTHER);
        customer.add_card(card).await;
        customer
    }
}

/// A customer in a browser: a cookie jar, and forms posted with the page's CSRF token.
pub struct Customer {
    base: String,
    pub client: Client,
}

impl Customer {
    async fn page(&self, path: &str) -> String {
        let response = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.text().await.unwrap()
    }

    /// Posts a form as the browser would from the page at the same path.
    async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let form = self.page(path).await;
        self.post(path, &form, fields).await
    }

    async fn post(&self, path: &str, form: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let token = hidden_value(form, "csrf_token").expect("a CSRF token");
        let mut all = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&all)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// Putting a card on file also retries the customer's unpaid bills at once.
    pub async fn add_card(&self, number: &str) {
        let card = [
            ("card_number", number),
            ("exp_month", "12"),
            ("exp_year", "2030"),
            ("cvc", "123"),
        ];
        let (status, html) = self.submit("/account/payment-method", &card).await;
        assert!(
            status.is_success() || status == StatusCode::SEE_OTHER,
            "{status}: {html}"
        );
    }

    /// Places the order on the product's purchase page for the amount it shows; returns the confirmation page.
    pub async fn order(&self, product: &Value) -> String {
        let path = format!("/purchase/{}", product["offering_code"].as_str().unwrap());
        let page = self.page(&path).await;
        let amount = hidden_value(&page, "amount_due").expect("the amount due");
        let (status, confirmation) = self.post(&path, &page, &[("amount_due", &amount)]).await;
        assert_eq!(status, StatusCode::OK, "{confirmation}");
        confirmation
    }
}

fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}
