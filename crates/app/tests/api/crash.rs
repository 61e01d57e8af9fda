//! Exactly once across crashes (R20): a charge interrupted between the gateway and the database is finished with
//! its original idempotency key, never made twice; a monthly run killed half-way (kill -9 of the real binary) and
//! restarted bills and charges every customer exactly once; two processes running the same 1st do too; and a price
//! change's instant killed half-way refunds every customer exactly once.

use chrono::Utc;
use reqwest::{Method, StatusCode};
use tollgate::gateway::{PaymentGateway, SandboxGateway};
use tollgate_domain::Money;
use tollgate_store::payments::PaymentMethod;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_charge_interrupted_after_the_gateway_is_finished_once,
    a_monthly_run_killed_half_way_bills_everyone_once_after_a_restart,
    a_price_changes_instant_killed_half_way_refunds_everyone_once_after_a_restart,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_running_the_same_1st_bill_everyone_once() {
    if postgres_url().is_none() {
        eprintln!("TEST_DATABASE_URL is not set: the PostgreSQL run is skipped");
        return;
    }
    let seeded = Seeded::new(Backend::Postgres, 600).await;
    let (first, second) = (seeded.process(), seeded.process());
    let (a, b) = tokio::join!(first.move_clock(JULY_1ST), second.move_clock(JULY_1ST));
    assert_eq!((a, b), (StatusCode::OK, StatusCode::OK), "both processes ran the 1st");
    seeded.check_everyone_billed_once().await;
    drop((first, second));
    seeded.db.drop_now().await;
}

async fn a_charge_interrupted_after_the_gateway_is_finished_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.create_seller("seller@example.com").await;
    let product = app.create_product(&key, contract_pricing()).await;
    let customer = app.customer("wes@example.com", Some("4000000000000341")).await;
    let (status, _) = customer.buy(product["offering_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let store = &app.running().state.store;
    let account = store.account_by_email("wes@example.com").await.unwrap().unwrap();
    let bill = store.bills_of_customer(&account.id).await.unwrap().remove(0);
    assert_eq!(bill.status, "failed");

    // A working card lands in the database, then the process opens the next attempt and the gateway charges it,
    // and the process dies before recording the outcome.
    let gateway = SandboxGateway::new(store.clone());
    let card = tollgate_domain::card::CardDetails::parse("4242424242424242", "12", "2030", "123", Utc::now()).unwrap();
    let stored = gateway.add_card(&card, Utc::now()).await.unwrap();
    let method = PaymentMethod {
        customer_id: account.id.clone(),
        brand: stored.brand,
        last4: stored.last4,
        exp_month: 12,
        exp_year: 2030,
        gateway_token: stored.token,
        added_at: 0,
    };
    store.set_payment_method(&method).await.unwrap();
    let started = store
        .begin_attempt(&bill.id, tollgate_store::millis(Utc::now()))
        .await
        .unwrap()
        .expect("opened");
    let idempotency_key = started.idempotency_key();
    let charged = gateway
        .charge(
            &started.gateway_token,
            Money::from_cents(967),
            &idempotency_key,
            Utc::now(),
        )
        .await;
    assert!(charged.unwrap().succeeded);
    assert!(
        store.begin_attempt(&bill.id, 0).await.unwrap().is_none(),
        "one attempt at a time"
    );

    // The next scheduler round (here: a clock move) finishes the open attempt with the same key.
    app.set_clock("2027-06-17T01:00:00Z").await;
    let bills = app.bills_of("wes@example.com").await;
    assert_eq!(
        (bills[0]["status"].as_str(), bills[0]["attempts"].as_i64()),
        (Some("paid"), Some(2))
    );
    let (_, money) = app
        .seller_call(&key, Method::GET, "/api/v1/seller/transactions", None)
        .await;
    assert_eq!(
        (
            money["balance"].as_str(),
            money["transactions"].as_array().unwrap().len()
        ),
        (Some("9.37"), 1)
    );
    let (_, html) = customer.page("/activate").await;
    assert!(html.contains("active"));
    // Another round changes nothing.
    app.set_clock("2027-06-17T02:00:00Z").await;
    assert_eq!(app.bills_of("wes@example.com").await[0]["attempts"], 2);
    app.finish().await;
}

const JULY_1ST: &str = "2027-07-01T00:00:00Z";
const SECRET_KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

async fn a_monthly_run_killed_half_way_bills_everyone_once_after_a_restart(backend: Backend) {
    let seeded = Seeded::new(backend, 2000).await;
    let server = seeded.process();
    let mover = {
        let server_url = server.url.clone();
        tokio::spawn(async move { move_clock(&server_url, JULY_1ST).await })
    };
    // Killed once a tenth of the customers are billed: the run is under way, far from its end.
    let store = tollgate_store::Store::connect(&seeded.db.url).await.unwrap();
    let mut billed = 0;
    for _ in 0..6000 {
        billed = store.monthly_bills("2027-06", "paid").await.unwrap().len();
        if billed >= seeded.customers / 10 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    drop(server);
    let _ = mover.await;
    let after_kill = store.monthly_bills("2027-06", "paid").await.unwrap().len();
    assert!(
        billed >= seeded.customers / 10 && after_kill < seeded.customers,
        "killed during the run ({after_kill} of {} billed)",
        seeded.customers
    );
    store.close().await;
    // The restarted process finishes the 1st before it serves.
    let restarted = seeded.process();
    drop(restarted);
    seeded.check_everyone_billed_once().await;
    seeded.db.drop_now().await;
}

async fn a_price_changes_instant_killed_half_way_refunds_everyone_once_after_a_restart(backend: Backend) {
    let seeded = Seeded::new(backend, 2000).await;
    let server = seeded.process();
    assert_eq!(server.move_clock(JULY_1ST).await, StatusCode::OK);
    seeded.check_everyone_billed_once().await;
    // From July 21 the fee is 5.00: (5 - 10) × 11/31 = -1.774… back to everyone at that instant.
    let change = serde_json::json!({"effective_at": "2027-07-21T00:00:00Z", "authorization": "passive",
        "pricing": {"signup_fee": "0.00", "monthly_fee": "5.00", "usage": []}});
    let response = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/products/{}/price-changes",
            server.url, seeded.product_code
        ))
        .bearer_auth(&seeded.seller_key)
        .json(&change)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let mover = {
        let server_url = server.url.clone();
        tokio::spawn(async move { move_clock(&server_url, "2027-07-21T00:00:00Z").await })
    };
    // Killed once a tenth of the refunds are paid back.
    let store = tollgate_store::Store::connect(&seeded.db.url).await.unwrap();
    let seller = seeded.seller(&store).await;
    let refunds = |transactions: Vec<tollgate_store::ledger::SellerTransaction>| {
        transactions
            .into_iter()
            .filter(|t| t.kind == "refund")
            .collect::<Vec<_>>()
    };
    let mut refunded = 0;
    for _ in 0..3000 {
        refunded = refunds(store.seller_transactions(&seller.id).await.unwrap()).len();
        if refunded >= seeded.customers / 10 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    drop(server);
    let _ = mover.await;
    let after_kill = refunds(store.seller_transactions(&seller.id).await.unwrap()).len();
    assert!(
        refunded >= seeded.customers / 10 && after_kill < seeded.customers,
        "killed during the instant ({after_kill} of {} refunded)",
        seeded.customers
    );
    // The restarted process finishes the instant before it serves.
    let restarted = seeded.process();
    drop(restarted);
    let refunds = refunds(store.seller_transactions(&seller.id).await.unwrap());
    assert_eq!(refunds.len(), seeded.customers, "one refund per customer");
    assert!(refunds.iter().all(|t| t.amount_cents == -177), "each 1.77");
    let emails = store.recent_emails(i64::MAX).await.unwrap();
    let confirmations = emails
        .iter()
        .filter(|e| e.subject.starts_with("Price Change in Effect"))
        .count();
    assert_eq!(confirmations, seeded.customers, "one confirmation each");
    let product = store.product_by_code(&seeded.product_code).await.unwrap().unwrap();
    assert!(
        store.pending_price_change(&product.id).await.unwrap().is_none(),
        "the change is in effect"
    );
    assert_eq!(store.ledger_violations().await.unwrap(), Vec::<String>::new());
    store.close().await;
    seeded.db.drop_now().await;
}

/// A database with one seller, a 10.00-a-month product and `customers` active subscribers with paying cards, seeded
/// through the store on June 15, served by no process yet.
struct Seeded {
    backend: Backend,
    db: TestDatabase,
    customers: usize,
    seller_key: String,
    product_code: String,
}

impl Seeded {
    async fn new(backend: Backend, customers: usize) -> Seeded {
        let app = TestApp::starting(backend, "2027-06-15T00:00:00Z").await;
        let seller_key = app.create_seller("seller@example.com").await;
        let created = app
            .create_product(
                &seller_key,
                serde_json::json!({"signup_fee": "0.00", "monthly_fee": "10.00", "usage": []}),
            )
            .await;
        let store = app.running().state.store.clone();
        let product = store
            .product_by_code(created["product_code"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        let at = tollgate_store::millis(
            chrono::DateTime::parse_from_rfc3339("2027-06-15T00:00:00Z")
                .unwrap()
                .to_utc(),
        );
        let mut workers = tokio::task::JoinSet::new();
        for worker in 0..8 {
            let (store, product) = (store.clone(), product.clone());
            workers.spawn(async move {
                for i in (worker..customers).step_by(8) {
                    seed_customer(&store, &product, i, at).await;
                }
            });
        }
        while let Some(done) = workers.join_next().await {
            done.unwrap();
        }
        Seeded {
            backend,
            db: app.stop_keeping_database().await,
            customers,
            seller_key,
            product_code: product.code,
        }
    }

    /// The real binary serving the database, started after its start-up work is done.
    fn process(&self) -> ServerProcess {
        ServerProcess::start(&self.db.url, self.backend)
    }

    async fn seller(&self, store: &tollgate_store::Store) -> tollgate_store::sellers::Seller {
        store
            .seller_by_api_key(&tollgate::secrets::sha256_hex(&self.seller_key))
            .await
            .unwrap()
            .unwrap()
    }

    /// Every customer has exactly one monthly bill for June, paid with one attempt; the seller got one deposit
    /// each; every "Your Bill" e-mail was composed once; the ledger balances.
    async fn check_everyone_billed_once(&self) {
        let store = tollgate_store::Store::connect(&self.db.url).await.unwrap();
        let bills = store.monthly_bills("2027-06", "paid").await.unwrap();
        assert_eq!(bills.len(), self.customers, "every customer billed");
        let mut customers: Vec<&str> = bills.iter().map(|b| b.customer_id.as_str()).collect();
        customers.sort_unstable();
        customers.dedup();
        assert_eq!(customers.len(), self.customers, "one bill per customer");
        for bill in &bills {
            assert_eq!((bill.total_cents, bill.attempts), (1000, 1), "bill {}", bill.id);
        }
        for status in ["pending", "failed", "void"] {
            assert!(
                store.monthly_bills("2027-06", status).await.unwrap().is_empty(),
                "{status} bills"
            );
        }
        let seller = self.seller(&store).await;
        let deposits = store.seller_transactions(&seller.id).await.unwrap();
        assert_eq!(deposits.len(), self.customers, "one deposit per bill");
        let balance = store
            .account_balance(&tollgate_store::ledger::seller_account(&seller.id))
            .await
            .unwrap();
        assert_eq!(balance, 970 * i64::try_from(self.customers).unwrap());
        let emails = store.recent_emails(i64::MAX).await.unwrap();
        let bill_emails = emails.iter().filter(|e| e.subject.starts_with("Your Bill")).count();
        assert_eq!(bill_emails, self.customers);
        assert_eq!(store.ledger_violations().await.unwrap(), Vec::<String>::new());
        store.close().await;
    }
}

async fn seed_customer(store: &tollgate_store::Store, product: &tollgate_store::products::Product, i: usize, at: i64) {
    use tollgate_store::accounts::Account;
    use tollgate_store::subscriptions::{ActivationKey, NewOrder, Subscription};
    let email = format!("customer{i}@example.com");
    let account = Account {
        id: tollgate_store::new_id(),
        email: email.clone(),
        email_normalized: email,
        name: format!("Customer {i}"),
        // Nobody signs in: any stored text will do.
        password_hash: "not-a-hash".into(),
        created_at: at,
    };
    store.create_account(&account).await.unwrap();
    store
        .set_payment_method(&PaymentMethod {
            customer_id: account.id.clone(),
            brand: "Visa".into(),
            last4: "4242".into(),
            exp_month: 12,
            exp_year: 2030,
            // The sandbox gateway charges a token of this form successfully.
            gateway_token: format!("sandbox_seeded{i}"),
            added_at: at,
        })
        .await
        .unwrap();
    let subscription = Subscription {
        id: tollgate_store::new_id(),
        customer_id: account.id.clone(),
        product_id: product.id.clone(),
        state: "active".into(),
        cancel_reason: None,
        created_at: at,
        activated_at: Some(at),
        canceled_at: None,
    };
    let key = ActivationKey {
        key_hash: tollgate::secrets::sha256_hex(&format!("seeded-key-{i}")),
        customer_id: account.id.clone(),
        product_id: product.id.clone(),
        created_at: at,
    };
    store
        .place_order(NewOrder {
            subscription: &subscription,
            activation_key: &key,
            bill: None,
            fee_months: &[],
            emails: &[],
            accepts_price_change: None,
        })
        .await
        .unwrap();
}

/// The `tollgate` binary serving a database in the sandbox, killed with SIGKILL when dropped.
struct ServerProcess {
    child: std::process::Child,
    url: String,
}

impl ServerProcess {
    /// Starts `serve` and waits for the line that says where it listens, printed once the start-up work is done.
    fn start(database_url: &str, backend: Backend) -> ServerProcess {
        use std::io::{BufRead, BufReader};
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"));
        command
            .args([
                "serve",
                "--sandbox",
                "--addr",
                "127.0.0.1:0",
                "--database-url",
                database_url,
            ])
            .env("TOLLGATE_OPERATOR_TOKEN", OPERATOR_TOKEN)
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .env_remove("TOLLGATE_ADDR")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        if let Backend::Postgres = backend {
            command.env("TOLLGATE_SECRET_KEY", SECRET_KEY);
        }
        let child = command.spawn().expect("start tollgate");
        // Owned from here on, so that a failure below still kills and reaps it.
        let mut server = ServerProcess {
            child,
            url: String::new(),
        };
        let mut reader = BufReader::new(server.child.stdout.take().unwrap());
        let mut line = String::new();
        while server.url.is_empty() {
            line.clear();
            assert!(
                reader.read_line(&mut line).expect("read stdout") > 0,
                "tollgate stopped before listening"
            );
            match line.trim_end().strip_prefix("listening on ") {
                Some(address) => server.url = address.to_owned(),
                None => eprint!("tollgate: {line}"),
            }
        }
        // The log goes on on standard output: read to the end, so that the server never writes into a closed pipe,
        // and shown with the test's output if it fails.
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                eprintln!("tollgate: {line}");
            }
        });
        server
    }

    async fn move_clock(&self, to: &str) -> StatusCode {
        move_clock(&self.url, to).await
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // SIGKILL: no shutdown, as in a crash.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn move_clock(server_url: &str, to: &str) -> StatusCode {
    let response = reqwest::Client::new()
        .post(format!("{server_url}/api/v1/admin/clock"))
        .bearer_auth(OPERATOR_TOKEN)
        .json(&serde_json::json!({"now": to}))
        .send()
        .await;
    response.map_or(StatusCode::SERVICE_UNAVAILABLE, |r| r.status())
}
