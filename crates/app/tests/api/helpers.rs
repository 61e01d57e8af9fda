//! The test harness: a real server on a free port over a fresh database (a temporary SQLite file, or a
//! PostgreSQL database cloned from a migrated template when TEST_DATABASE_URL is set), driven over HTTP with the
//! sandbox clock.

use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::OnceCell;
use tollgate::config::ServeArgs;
use tollgate::startup::{Application, RunningApp};

pub const OPERATOR_TOKEN: &str = "test-operator-token";
pub const PASSWORD: &str = "correct horse battery";

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named test once on SQLite and once on PostgreSQL (the latter only when TEST_DATABASE_URL is set).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => { $(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::helpers::postgres_url().is_some() {
                    super::$name($crate::helpers::Backend::Postgres).await
                } else {
                    eprintln!("TEST_DATABASE_URL is not set: the PostgreSQL run is skipped");
                }
            }
        }
    )* };
}

pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())
}

/// A database for one test, removed when the test ends (also when it fails).
pub struct TestDatabase {
    pub url: String,
    cleanup: Cleanup,
    dropped: AtomicBool,
}

enum Cleanup {
    File(std::path::PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    pub async fn new(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("tollgate-test-{}", uuid_like()));
                let url = format!("sqlite://{}", dir.join("tollgate.db").display());
                TestDatabase {
                    url,
                    cleanup: Cleanup::File(dir),
                    dropped: AtomicBool::new(false),
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_url().expect("TEST_DATABASE_URL");
                let template = template(&admin_url).await;
                let name = format!("tollgate_t_{}", uuid_like());
                let mut admin = PgConnection::connect(&admin_url)
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                // Cloning fails while another clone of the same template is starting; that passes in a moment.
                for attempt in 0.. {
                    let sql = format!("CREATE DATABASE {name} TEMPLATE {template}");
                    match admin.execute(sqlx::AssertSqlSafe(sql)).await {
                        Ok(_) => break,
                        Err(e) if attempt < 50 && e.to_string().contains("being accessed by other users") => {
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await
                        }
                        Err(e) => panic!("creating {name}: {e}"),
                    }
                }
                admin.close().await.ok();
                let url = with_database(&admin_url, &name);
                TestDatabase {
                    url,
                    cleanup: Cleanup::Postgres { admin_url, name },
                    dropped: AtomicBool::new(false),
                }
            }
        }
    }

    pub async fn drop_now(&self) {
        if self.dropped.swap(true, Ordering::SeqCst) {
            return;
        }
        match &self.cleanup {
            Cleanup::File(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { admin_url, name } => {
                if let Ok(mut admin) = PgConnection::connect(admin_url).await {
                    let _ = admin
                        .execute(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .await;
                    admin.close().await.ok();
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    /// A test that panicked still removes its database, from a thread of its own (drop cannot await).
    fn drop(&mut self) {
        if self.dropped.load(Ordering::SeqCst) {
            return;
        }
        let cleanup = std::mem::replace(&mut self.cleanup, Cleanup::File(std::path::PathBuf::new()));
        let db = TestDatabase {
            url: String::new(),
            cleanup,
            dropped: AtomicBool::new(false),
        };
        let _ = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                runtime.block_on(db.drop_now());
            }
        })
        .join();
    }
}

fn uuid_like() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let cut = base.rfind('/').expect("database URL with a path");
    let mut out = format!("{}/{name}", &base[..cut]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// The migrated template every PostgreSQL test clones, named after the migrations so that a schema change makes a
/// new one. Made once per test process, serialized across processes by an advisory lock.
async fn template(admin_url: &str) -> String {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            let fingerprint = migrations_fingerprint();
            let name = format!("tollgate_template_{fingerprint}");
            let mut admin = PgConnection::connect(admin_url)
                .await
                .expect("connect to TEST_DATABASE_URL");
            admin
                .execute("SELECT pg_advisory_lock(727274)")
                .await
                .expect("advisory lock");
            let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
                .bind(&name)
                .fetch_optional(&mut admin)
                .await
                .expect("look for the template");
            if exists.is_none() {
                let building = format!("{name}_building");
                admin
                    .execute(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {building} WITH (FORCE)"
                    )))
                    .await
                    .unwrap();
                admin
                    .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {building}")))
                    .await
                    .unwrap();
                let store = tollgate_store::Store::connect(&with_database(admin_url, &building))
                    .await
                    .unwrap();
                store.migrate().await.expect("migrate the template");
                store.close().await;
                admin
                    .execute(sqlx::AssertSqlSafe(format!(
                        "ALTER DATABASE {building} RENAME TO {name}"
                    )))
                    .await
                    .unwrap();
            }
            admin
                .execute("SELECT pg_advisory_unlock(727274)")
                .await
                .expect("advisory unlock");
            admin.close().await.ok();
            name
        })
        .await
        .clone()
}

fn migrations_fingerprint() -> String {
    use std::hash::{Hash, Hasher};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../store/migrations/postgres");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for file in files {
        std::fs::read(&file).unwrap().hash(&mut hasher);
    }
    format!("{:016x}", hasher.finish())
}

/// Options for a test server beyond the defaults (sandbox on, operator token set).
pub struct Options {
    pub sandbox: bool,
    pub start: &'static str,
    pub smtp_url: Option<String>,
    pub operator_token: Option<&'static str>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sandbox: true,
            start: "2027-06-17T00:00:00Z",
            smtp_url: None,
            operator_token: Some(OPERATOR_TOKEN),
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub app: Option<RunningApp>,
    pub db: TestDatabase,
    /// A client without cookies, for the JSON API.
    pub api: Client,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::spawn_with(backend, Options::default()).await
    }

    /// The server in the sandbox with its clock starting at `start`.
    pub async fn starting(backend: Backend, start: &'static str) -> TestApp {
        TestApp::spawn_with(
            backend,
            Options {
                start,
                ..Options::default()
            },
        )
        .await
    }

    pub async fn spawn_with(backend: Backend, options: Options) -> TestApp {
        let db = TestDatabase::new(backend).await;
        let mut args = ServeArgs::for_database(&db.url);
        args.sandbox = options.sandbox;
        args.sandbox_start = Some(options.start.to_owned());
        args.operator_token = options.operator_token.map(str::to_owned);
        // PostgreSQL needs a configured key; SQLite makes its own beside the database.
        if let Backend::Postgres = backend {
            args.secret_key = Some("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=".to_owned());
        }
        args.smtp_url = options.smtp_url;
        let app = Application::build(args).await.expect("build the application").spawn();
        let base = format!("http://{}", app.address);
        TestApp {
            base,
            app: Some(app),
            db,
            api: Client::builder().redirect(Policy::none()).build().unwrap(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn running(&self) -> &RunningApp {
        self.app.as_ref().expect("running")
    }

    /// Stops the server and hands over its database, for a test that goes on with other processes.
    pub async fn stop_keeping_database(mut self) -> TestDatabase {
        if let Some(app) = self.app.take() {
            app.stop().await.expect("server stopped cleanly");
        }
        self.db
    }

    /// Ends the test: checks the ledger's invariants, stops the server and removes the database.
    pub async fn finish(mut self) {
        let violations = self
            .running()
            .state
            .store
            .ledger_violations()
            .await
            .expect("check the ledger");
        assert!(violations.is_empty(), "ledger invariants violated: {violations:#?}");
        if let Some(app) = self.app.take() {
            app.stop().await.expect("server stopped cleanly");
        }
        self.db.drop_now().await;
    }

    pub async fn operator(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.api.request(method, self.url(path)).bearer_auth(OPERATOR_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        json_of(request.send().await.unwrap()).await
    }

    pub async fn seller_call(
        &self,
        key: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.api.request(method, self.url(path)).bearer_auth(key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        json_of(request.send().await.unwrap()).await
    }

    /// A seller made through the operator route; returns its API key.
    pub async fn create_seller(&self, email: &str) -> String {
        let (status, body) = self
            .operator(
                reqwest::Method::POST,
                "/api/v1/admin/sellers",
                Some(json!({"email": email, "password": PASSWORD, "company_name": "Acme Software", "public_contact": "help@acme.example"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["api_key"].as_str().unwrap().to_owned()
    }

    /// Registers the contract's example product (5.00 one-time, 10.00 a month, storage and exports priced).
    pub async fn create_product(&self, key: &str, pricing: Value) -> Value {
        let (status, body) = self
            .seller_call(
                key,
                reqwest::Method::POST,
                "/api/v1/products",
                Some(product_body(pricing)),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    pub async fn set_clock(&self, now: &str) {
        let (status, body) = self
            .operator(reqwest::Method::POST, "/api/v1/admin/clock", Some(json!({"now": now})))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    pub async fn bills_of(&self, email: &str) -> Vec<Value> {
        let (status, body) = self
            .operator(
                reqwest::Method::GET,
                &format!("/api/v1/admin/customers/{email}/bills"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["bills"].as_array().unwrap().clone()
    }

    pub async fn emails_to(&self, email: &str) -> Vec<Value> {
        let (status, body) = self
            .operator(reqwest::Method::GET, &format!("/api/v1/admin/emails?to={email}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["emails"].as_array().unwrap().clone()
    }

    /// A browser-like visitor with its own cookie jar.
    pub fn browser(&self) -> Browser {
        Browser {
            base: self.base.clone(),
            client: Client::builder()
                .cookie_store(true)
                .redirect(Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// A new customer, signed in, optionally with a card on file.
    pub async fn customer(&self, email: &str, card: Option<&str>) -> Browser {
        let browser = self.browser();
        let response = browser
            .submit(
                "/signup",
                &[("email", email), ("password", PASSWORD), ("name", "Casey Customer")],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{}",
            response.text().await.unwrap()
        );
        if let Some(number) = card {
            browser.add_card(number).await;
        }
        browser
    }
}

pub fn product_body(pricing: Value) -> Value {
    json!({
        "name": "Backup Pro",
        "description": "Encrypted backups for your laptop.",
        "kind": "desktop",
        "redirect_url": "https://example.com/welcome",
        "terms_url": null,
        "support_contact": "help@example.com",
        "pricing": pricing,
        "configurations": []
    })
}

pub fn contract_pricing() -> Value {
    json!({
        "signup_fee": "5.00",
        "monthly_fee": "10.00",
        "usage": [
            {"dimension": "storage.gb_month", "tiers": [{"up_to": "10", "unit_price": "0.25"}, {"up_to": null, "unit_price": "0.20"}]},
            {"dimension": "custom.exports", "tiers": [{"up_to": null, "unit_price": "0.05"}]}
        ]
    })
}

pub async fn json_of(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

pub struct Browser {
    pub base: String,
    pub client: Client,
}

impl Browser {
    pub async fn get(&self, path: &str) -> Response {
        self.client.get(format!("{}{path}", self.base)).send().await.unwrap()
    }

    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let response = self.get(path).await;
        (response.status(), response.text().await.unwrap())
    }

    /// The visitor's CSRF token, as any page with a form shows it: the logout form once signed in, the login
    /// form before.
    pub async fn csrf(&self) -> String {
        let (_, home) = self.page("/").await;
        if let Some(token) = csrf_token(&home) {
            return token;
        }
        let (_, login) = self.page("/login").await;
        csrf_token(&login).expect("a CSRF token on the login page")
    }

    /// Posts a form with the visitor's CSRF token, as a browser submits it.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf().await;
        self.post_with_token(path, fields, &token).await
    }

    pub async fn post_with_token(&self, path: &str, fields: &[(&str, &str)], token: &str) -> Response {
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token)];
        all.extend_from_slice(fields);
        self.client
            .post(format!("{}{path}", self.base))
            .form(&all)
            .send()
            .await
            .unwrap()
    }

    pub async fn add_card(&self, number: &str) -> Response {
        let card = [
            ("card_number", number),
            ("exp_month", "12"),
            ("exp_year", "2030"),
            ("cvc", "123"),
        ];
        self.submit("/account/payment-method", &card).await
    }

    /// Opens the purchase page and places the order for the amount shown; returns the confirmation page.
    pub async fn buy(&self, offering_code: &str) -> (StatusCode, String) {
        let (status, html) = self.page(&format!("/purchase/{offering_code}")).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let amount = hidden_value(&html, "amount_due").expect("amount_due on the purchase page");
        let change = hidden_value(&html, "price_change").expect("price_change on the purchase page");
        let token = csrf_token(&html).unwrap();
        let response = self
            .post_with_token(
                &format!("/purchase/{offering_code}"),
                &[("amount_due", &amount), ("price_change", &change)],
                &token,
            )
            .await;
        (response.status(), response.text().await.unwrap())
    }
}

pub fn csrf_token(html: &str) -> Option<String> {
    hidden_value(html, "csrf_token")
}

/// The value of a form's input by name (hidden or not).
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// The text of the element with this id (first text node), as a test reads a page.
pub fn element_text(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\"");
    let at = html.find(&marker)?;
    let start = html[at..].find('>')? + at + 1;
    let end = html[start..].find('<')? + start;
    Some(unescape(html[start..end].trim()))
}

pub fn element_attr(html: &str, id: &str, attr: &str) -> Option<String> {
    let marker = format!("id=\"{id}\"");
    let at = html.find(&marker)?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = html[at..].find('>')? + at;
    let tag = &html[tag_start..tag_end];
    let attr_marker = format!("{attr}=\"");
    let start = tag.find(&attr_marker)? + attr_marker.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

/// Text as the templates escape it into HTML.
pub fn escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

pub fn unescape(html: &str) -> String {
    html.replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// Announces a 5 MiB body and reads the answer before sending it, as the server refuses on the announced length:
/// sending the body first would race the server closing the connection.
pub async fn oversized_post(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.running().address;
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nhost: {address}\r\ncontent-length: {}\r\n",
        5 * 1024 * 1024
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("connection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server answered before the body was sent");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

pub const CARD: &str = "4242424242424242";

/// AS-2's product: 5.00 one-time, 10.00 a month, storage at 0.20 a GB-Month, exports at 0.05 each.
pub fn as2_pricing() -> Value {
    json!({
        "signup_fee": "5.00",
        "monthly_fee": "10.00",
        "usage": [
            {"dimension": "storage.gb_month", "tiers": [{"up_to": null, "unit_price": "0.20"}]},
            {"dimension": "custom.exports", "tiers": [{"up_to": "100", "unit_price": "0.05"}, {"up_to": null, "unit_price": "0.01"}]}
        ]
    })
}

pub fn statuses(answer: &Value) -> Vec<(String, String)> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let outcome = match r["status"].as_str().unwrap() {
                "rejected" => r["error"]["code"].as_str().unwrap().to_owned(),
                other => other.to_owned(),
            };
            (r["id"].as_str().unwrap().to_owned(), outcome)
        })
        .collect()
}

/// A customer who bought the product and activated it as a hosted product: (browser, user token, PID).
pub async fn subscribed(app: &TestApp, seller: &str, product: &Value, email: &str) -> (Browser, String, String) {
    let customer = app.customer(email, Some(CARD)).await;
    let (status, html) = customer.buy(product["offering_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let (user_token, pid) = activate(app, seller, product, &html).await;
    (customer, user_token, pid)
}

/// Activates the key on a confirmation page as the seller: (user token, PID).
pub async fn activate(app: &TestApp, seller: &str, product: &Value, confirmation: &str) -> (String, String) {
    let key = element_text(confirmation, "activation-key").expect("an activation key");
    let (status, ids) = app
        .seller_call(
            seller,
            reqwest::Method::POST,
            "/api/v1/license/activate-hosted-product",
            Some(json!({"activation_key": key, "product_token": product["product_token"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ids}");
    (
        ids["user_token"].as_str().unwrap().to_owned(),
        ids["persistent_identifier"].as_str().unwrap().to_owned(),
    )
}

/// (kind, period, total, status) of each of the customer's bills, oldest first.
pub async fn bill_summary(app: &TestApp, email: &str) -> Vec<Value> {
    app.bills_of(email)
        .await
        .iter()
        .map(|b| json!([b["kind"], b["period"], b["total"], b["status"]]))
        .collect()
}

pub fn monthly_bills(bills: &[Value]) -> Vec<&Value> {
    bills.iter().filter(|b| b["kind"] == "monthly").collect()
}

/// (kind, amount, description) of a bill's lines.
pub fn lines(bill: &Value) -> Vec<(String, String, String)> {
    bill["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap().to_owned(),
                l["amount"].as_str().unwrap().to_owned(),
                l["description"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

pub fn subjects(emails: &[Value]) -> Vec<String> {
    emails
        .iter()
        .map(|e| e["subject"].as_str().unwrap().to_owned())
        .collect()
}

/// Storage reported by the operator's storage service for a customer's user token.
pub async fn store_usage(app: &TestApp, product: &Value, user_token: &str, id: &str, quantity: &str, at: &str) {
    let record = json!({"id": id, "product_code": product["product_code"], "user_token": user_token,
                        "dimension": "storage.gb_month", "quantity": quantity, "timestamp": at});
    let (status, answer) = app
        .operator(
            reqwest::Method::POST,
            "/api/v1/usage",
            Some(json!({"records": [record]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["results"][0]["status"], "accepted", "{answer}");
}

/// Whether the license service says the customer behind a PID is subscribed to the product.
pub async fn verify(app: &TestApp, seller: &str, pid: &str, product: &Value) -> Value {
    let (status, answer) = app
        .seller_call(
            seller,
            reqwest::Method::POST,
            "/api/v1/license/verify-product-subscription-by-pid",
            Some(json!({"persistent_identifier": pid, "product_code": product["product_code"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["subscribed"].clone()
}
