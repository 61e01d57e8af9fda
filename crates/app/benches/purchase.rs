//! The purchase page and the order path under concurrency, on SQLite: the real server runs in this process and is
//! driven over loopback by a pool of HTTP connections, as signed-in customers use it. Customers are seeded through
//! the store rather than the sign-up route, since one argon2 hash per customer would dwarf what is measured.
//!
//! `cargo bench -p tollgate --bench purchase`; BENCH_CUSTOMERS changes the number of customers (2,000 by default).
//! Without `--bench` (as `cargo test --benches` runs it) it makes a small pass only, to show that it still works.

#[path = "support/load.rs"]
mod load;
mod support;

use load::{Run, measure};
use support::{TempDir, machine, seller_with_product};

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use reqwest::header::COOKIE;
use reqwest::{Client, StatusCode};
use serde_json::json;
use tokio::task::JoinSet;
use tollgate::config::ServeArgs;
use tollgate::services::{accounts, payments};
use tollgate::startup::Application;
use tollgate::state::AppState;
use tollgate_domain::card::CardDetails;
use tollgate_store::accounts::Account;
use tollgate_store::{millis, new_id};

const SANDBOX_START: &str = "2027-06-17T00:00:00Z";
/// What the contract's example product costs on the 17th of a 30-day month: 5.00 + 10.00 × 14/30.
const AMOUNT_DUE: &str = "9.67";

struct Plan {
    /// A quick pass that only shows the benchmark still works; its figures mean nothing.
    smoke: bool,
    customers: usize,
    page_requests: usize,
    warm_up: usize,
    page_concurrency: usize,
    order_concurrency: [usize; 2],
}

impl Plan {
    fn from_env() -> anyhow::Result<Plan> {
        if !std::env::args().any(|a| a == "--bench") {
            return Ok(Plan {
                smoke: true,
                customers: 40,
                page_requests: 200,
                warm_up: 20,
                page_concurrency: 8,
                order_concurrency: [4, 8],
            });
        }
        let customers = match std::env::var("BENCH_CUSTOMERS") {
            Ok(text) => text.parse().context("BENCH_CUSTOMERS must be a number")?,
            Err(_) => 2_000,
        };
        ensure!(customers >= 2, "BENCH_CUSTOMERS must be at least 2");
        Ok(Plan {
            smoke: false,
            customers,
            page_requests: 20_000,
            warm_up: 1_000,
            page_concurrency: 64,
            order_concurrency: [16, 64],
        })
    }
}

/// A signed-in customer with a card on file, as the server knows them after sign-up.
struct Customer {
    id: String,
    cookie: String,
    csrf_token: String,
}

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(Plan::from_env()?))
}

async fn run(plan: Plan) -> anyhow::Result<()> {
    let started = Instant::now();
    let data = TempDir::new();
    let mut args = ServeArgs::for_database(&format!("sqlite://{}", data.0.join("tollgate.db").display()));
    args.sandbox = true;
    args.sandbox_start = Some(SANDBOX_START.to_owned());
    let app = Application::build(args).await?.spawn();
    let state = app.state.clone();
    let base = format!("http://{}", app.address);

    let offering = example_product(&state).await?;
    let seeding = Instant::now();
    let customers = Arc::new(seed_customers(&state, plan.customers).await?);
    let seeding = seeding.elapsed();

    let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let page_url = Arc::new(format!("{base}/purchase/{offering}"));
    let health_url = Arc::new(format!("{base}/healthz"));

    let health = {
        let (client, url) = (client.clone(), health_url.clone());
        move |_: usize| {
            let request = client.get(url.as_str());
            async move {
                let response = request.send().await?;
                Ok(response.status() == StatusCode::OK && response.text().await? == "ok")
            }
        }
    };
    let page = {
        let (client, url, customers) = (client.clone(), page_url.clone(), customers.clone());
        move |i: usize| {
            let customer = &customers[i % customers.len()];
            let request = client.get(url.as_str()).header(COOKIE, &customer.cookie);
            async move {
                let response = request.send().await?;
                Ok(response.status() == StatusCode::OK && response.text().await?.contains("id=\"place-order\""))
            }
        }
    };
    // Connections are opened and the database's pages cached before anything is timed.
    measure("warm-up", plan.page_concurrency, plan.warm_up, health.clone()).await;
    measure("warm-up", plan.page_concurrency, plan.warm_up, page.clone()).await;

    let mut runs = vec![
        measure("GET /healthz", plan.page_concurrency, plan.page_requests, health).await,
        measure(
            "GET /purchase/{offering}",
            plan.page_concurrency,
            plan.page_requests,
            page.clone(),
        )
        .await,
        // One at a time: what a page costs without queueing.
        measure("GET /purchase/{offering}", 1, plan.page_requests / 10, page).await,
    ];

    // Each customer orders once: the first half at the lower concurrency, the second half at the higher.
    let half = customers.len() / 2;
    for (batch, concurrency) in [(0..half), (half..customers.len())]
        .into_iter()
        .zip(plan.order_concurrency)
    {
        let (client, url, customers) = (client.clone(), page_url.clone(), customers.clone());
        let first = batch.start;
        let order = move |i: usize| {
            let customer = &customers[first + i];
            let request = client
                .post(url.as_str())
                .header(COOKIE, &customer.cookie)
                .form(&[("csrf_token", customer.csrf_token.as_str()), ("amount_due", AMOUNT_DUE)]);
            async move {
                let response = request.send().await?;
                let ok = response.status() == StatusCode::OK;
                let html = response.text().await?;
                Ok(ok && html.contains("id=\"activation-key\"") && !html.contains("id=\"payment-warning\""))
            }
        };
        runs.push(measure("POST /purchase/{offering} (order)", concurrency, batch.len(), order).await);
    }

    let checked = check_orders(&state, &customers).await?;
    let violations = state.store.ledger_violations().await?;
    app.stop().await?;

    print_report(&plan, seeding, &runs, checked, &violations);
    println!("total time: {:.1} s", started.elapsed().as_secs_f64());
    let failed: usize = runs.iter().map(|r| r.failed).sum();
    ensure!(failed == 0, "{failed} requests failed");
    ensure!(violations.is_empty(), "ledger invariants violated: {violations:#?}");
    Ok(())
}

/// One seller and the contract's example product (5.00 one-time, 10.00 a month, storage and exports priced);
/// returns the product's offering code.
async fn example_product(state: &AppState) -> anyhow::Result<String> {
    let (_, product) = seller_with_product(
        state,
        json!({
            "name": "Backup Pro",
            "description": "Encrypted backups for your laptop.",
            "kind": "desktop",
            "redirect_url": "https://example.com/welcome",
            "terms_url": null,
            "support_contact": "help@example.com",
            "pricing": {
                "signup_fee": "5.00",
                "monthly_fee": "10.00",
                "usage": [
                    {"dimension": "storage.gb_month", "tiers": [
                        {"up_to": "10", "unit_price": "0.25"},
                        {"up_to": null, "unit_price": "0.20"}
                    ]},
                    {"dimension": "custom.exports", "tiers": [{"up_to": null, "unit_price": "0.05"}]}
                ]
            },
            "configurations": []
        }),
    )
    .await?;
    Ok(product.offering_code)
}

/// Customers with a paying sandbox card and a session each, eight at a time so that their reads overlap the one
/// writer's work.
async fn seed_customers(state: &AppState, count: usize) -> anyhow::Result<Vec<Customer>> {
    let password_hash = tollgate::secrets::hash_password("correct horse battery".into()).await?;
    let now = state.now().await?;
    let card = CardDetails::parse("4242424242424242", "12", "2030", "123", now)?;
    let mut tasks = JoinSet::new();
    let workers = 8;
    for worker in 0..workers {
        let (state, password_hash, card) = (state.clone(), password_hash.clone(), card.clone());
        tasks.spawn(async move {
            let mut made = Vec::new();
            for i in (worker..count).step_by(workers) {
                let email = format!("customer{i}@bench.example");
                let account = Account {
                    id: new_id(),
                    email: email.clone(),
                    email_normalized: email,
                    name: format!("Customer {i}"),
                    password_hash: password_hash.clone(),
                    created_at: millis(now),
                };
                state.store.create_account(&account).await?;
                payments::add_card(&state, &account, &card).await?;
                let session = accounts::start_session(&state, &account.id).await?;
                made.push(Customer {
                    id: account.id,
                    cookie: format!("tg_session={}", session.token),
                    csrf_token: session.csrf_token,
                });
            }
            anyhow::Ok(made)
        });
    }
    let mut customers = Vec::with_capacity(count);
    while let Some(made) = tasks.join_next().await {
        customers.extend(made??);
    }
    Ok(customers)
}

/// Every customer ordered once: each must have exactly one bill, the paid sign-up bill for the amount shown.
async fn check_orders(state: &AppState, customers: &[Customer]) -> anyhow::Result<usize> {
    for customer in customers {
        let bills = state.store.bills_of_customer(&customer.id).await?;
        let described: Vec<_> = bills
            .iter()
            .map(|b| (b.kind.as_str(), b.status.as_str(), b.total_cents))
            .collect();
        ensure!(
            described == [("signup", "paid", 967)],
            "customer {} has the bills {described:?}",
            customer.id
        );
    }
    Ok(customers.len())
}

fn print_report(plan: &Plan, seeding: Duration, runs: &[Run], checked: usize, violations: &[String]) {
    let build = if cfg!(debug_assertions) { "debug" } else { "release" };
    println!();
    println!("Tollgate purchase benchmark: SQLite, in-process server over loopback, {build} build");
    if plan.smoke {
        println!("a small pass to check that the benchmark works (no --bench): these figures mean nothing");
    }
    println!("machine: {}", machine());
    println!(
        "seeded {} customers (account, card, session) in {:.2} s",
        plan.customers,
        seeding.as_secs_f64()
    );
    println!();
    println!(
        "{:<34} {:>5} {:>8} {:>9} {:>9} {:>9} {:>9} {:>6} {:>7}",
        "scenario", "conc", "requests", "per s", "p50 ms", "p99 ms", "max ms", "cores", "failed"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for run in runs {
        println!(
            "{:<34} {:>5} {:>8} {:>9.0} {:>9.2} {:>9.2} {:>9.2} {:>6.2} {:>7}",
            run.name,
            run.concurrency,
            run.latencies.len(),
            run.per_second(),
            ms(run.percentile(50.0)),
            ms(run.percentile(99.0)),
            ms(run.latencies.last().copied().unwrap_or_default()),
            run.cpu.as_secs_f64() / run.elapsed.as_secs_f64(),
            run.failed
        );
    }
    println!("cores: CPU time of the whole process (server and load generator) over the run's wall time");
    println!();
    println!("orders checked: {checked} customers, each with exactly one paid sign-up bill of ${AMOUNT_DUE}");
    println!(
        "ledger invariants: {}",
        match violations.len() {
            0 => "hold".to_owned(),
            n => format!("{n} violated"),
        }
    );
}
