//! Usage ingestion over HTTP, the path every metered service and seller takes to report usage: the real server runs
//! in this process on a fresh database with many subscribed customers, and a pool of HTTP connections over loopback
//! posts batches of 1,000 records, a tenth of each batch resent from before. Next to it, in the same run, the raw
//! rate of the store inserting the same rows, in the same batches, straight from Rust.
//!
//! `cargo bench -p tollgate --bench usage` runs on SQLite; with `BENCH_DATABASE_URL=postgres://…` (a URL that may
//! create databases) on a PostgreSQL database made for the run and dropped after it. BENCH_BATCHES changes the
//! number of batches measured (200 by default, 200,000 records). Without `--bench` (as `cargo test --benches` runs
//! it) it makes a small pass only, to show that it still works.

#[path = "support/database.rs"]
mod database;
#[path = "support/load.rs"]
mod load;
#[path = "support/subscribers.rs"]
mod subscribers;
mod support;

use database::Database;
use load::{Run, measure};
use subscribers::subscriber;
use support::{TempDir, machine, seller_with_product};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tollgate::state::AppState;
use tollgate_domain::calendar::{Month, format_instant};
use tollgate_store::products::Product;
use tollgate_store::usage::UsageRecord;

const BATCH: usize = 1_000;
/// Records of each batch that repeat one sent before, as a retrying client's would.
const RESENT: usize = BATCH / 10;
const GOAL_RECORDS_PER_SECOND: f64 = 200_000.0;
const GOAL_SHARE_OF_RAW: f64 = 0.5;
const HTTP: &str = "POST /api/v1/usage";
const RAW: &str = "Store::insert_usage_batch";

struct Plan {
    /// A quick pass that only shows the benchmark still works; its figures mean nothing.
    smoke: bool,
    customers: usize,
    batches: usize,
    /// Batches sent before the measurement; the measured batches resend records of these.
    warm_up: usize,
    concurrency: usize,
}

impl Plan {
    fn from_env() -> anyhow::Result<Plan> {
        if !std::env::args().any(|a| a == "--bench") {
            return Ok(Plan {
                smoke: true,
                customers: 20,
                batches: 4,
                warm_up: 2,
                concurrency: 2,
            });
        }
        let batches = match std::env::var("BENCH_BATCHES") {
            Ok(text) => text.parse().context("BENCH_BATCHES must be a number")?,
            Err(_) => 200,
        };
        Ok(Plan {
            smoke: false,
            customers: 2_000,
            batches,
            warm_up: 10,
            concurrency: 4,
        })
    }
}

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(Plan::from_env()?))
}

async fn run(plan: Plan) -> anyhow::Result<()> {
    let database = Database::create().await?;
    let outcome = bench(&plan, &database).await;
    database.remove().await;
    outcome
}

/// A seeded customer: who the records name, and what the store's rows need.
struct Customer {
    user_token: String,
    customer_id: String,
    subscription_id: String,
}

async fn bench(plan: &Plan, database: &Database) -> anyhow::Result<()> {
    // Not in the sandbox: the records are stamped with the system's clock, the business clock.
    let app = database.start_server(None).await?;
    let state = app.state.clone();
    let url = Arc::new(format!("http://{}/api/v1/usage", app.address));

    let (api_key, product) = seller_and_product(&state).await?;
    let seeding = Instant::now();
    let customers = Arc::new(seed(&state, plan, &product).await?);
    let seeding = seeding.elapsed();

    // Stamped a minute ago: inside R14's window, after every subscription began.
    let stamp = Utc::now() - chrono::Duration::minutes(1);
    let timestamp = format_instant(stamp);
    let body = |prefix: &str, batch: usize| -> Vec<u8> {
        let records: Vec<Value> = (0..BATCH)
            .map(|r| {
                let (id, customer) = record_of(prefix, plan.warm_up, batch, r, customers.len());
                json!({"id": id, "product_code": product.code, "user_token": customers[customer].user_token,
                       "dimension": "custom.exports", "quantity": "1.5", "timestamp": timestamp})
            })
            .collect();
        serde_json::to_vec(&json!({"records": records})).expect("a batch serializes")
    };
    // Serialized before the clock starts: the load generator only sends.
    let warm_up: Arc<Vec<Vec<u8>>> = Arc::new((0..plan.warm_up).map(|b| body("warm", b)).collect());
    let batches: Arc<Vec<Vec<u8>>> = Arc::new((0..plan.batches).map(|b| body("http", b)).collect());

    let client = Client::builder().build()?;
    let post = |bodies: Arc<Vec<Vec<u8>>>, fresh: usize| {
        let (client, url, key) = (client.clone(), url.clone(), api_key.clone());
        move |i: usize| {
            let request = client
                .post(url.as_str())
                .bearer_auth(&*key)
                .header("content-type", "application/json")
                .body(bodies[i].clone());
            async move {
                let response = request.send().await?;
                let ok = response.status() == StatusCode::OK;
                let answer: Value = serde_json::from_slice(&response.bytes().await?).unwrap_or_default();
                let accepted = answer["results"]
                    .as_array()
                    .map_or(0, |r| r.iter().filter(|r| r["status"] == "accepted").count());
                Ok(ok && accepted == fresh)
            }
        }
    };
    let warmed = measure("warm-up", plan.concurrency, plan.warm_up, post(warm_up, BATCH)).await;
    let http = measure(HTTP, plan.concurrency, plan.batches, post(batches, BATCH - RESENT)).await;

    // The same rows, straight into the store: the warm-up's first, then the measured batches with their resends.
    let now = tollgate_store::millis(Utc::now());
    let rows = |prefix: &str, batch: usize| -> Vec<UsageRecord> {
        (0..BATCH)
            .map(|r| {
                let (id, customer) = record_of(prefix, plan.warm_up, batch, r, customers.len());
                let customer = &customers[customer];
                UsageRecord {
                    product_id: product.id.clone(),
                    record_id: id,
                    customer_id: customer.customer_id.clone(),
                    subscription_id: customer.subscription_id.clone(),
                    dimension: "custom.exports".into(),
                    quantity: "1.5".into(),
                    configuration: None,
                    occurred_at: tollgate_store::millis(stamp),
                    month: Month::of(stamp).to_string(),
                    received_at: now,
                }
            })
            .collect()
    };
    let raw_warm_up: Arc<Vec<Vec<UsageRecord>>> = Arc::new((0..plan.warm_up).map(|b| rows("rawwarm", b)).collect());
    let raw_batches: Arc<Vec<Vec<UsageRecord>>> = Arc::new((0..plan.batches).map(|b| rows("raw", b)).collect());
    let insert = |batches: Arc<Vec<Vec<UsageRecord>>>, fresh: usize| {
        let state = state.clone();
        move |i: usize| {
            let (state, batches) = (state.clone(), batches.clone());
            async move {
                let new = state.store.insert_usage_batch(&batches[i]).await?;
                Ok(new.iter().filter(|n| **n).count() == fresh)
            }
        }
    };
    let raw_warmed = measure("warm-up", plan.concurrency, plan.warm_up, insert(raw_warm_up, BATCH)).await;
    let raw = measure(RAW, plan.concurrency, plan.batches, insert(raw_batches, BATCH - RESENT)).await;
    app.stop().await?;

    anyhow::ensure!(
        warmed.failed == 0 && raw_warmed.failed == 0,
        "the warm-up failed: every record of a warm-up batch is new"
    );
    let failed = http.failed + raw.failed;
    print_report(plan, database, seeding, &[http, raw]);
    if let Some(bytes) = database.size() {
        println!("database file with its WAL: {:.0} MiB", bytes as f64 / 1024.0 / 1024.0);
    }
    anyhow::ensure!(failed == 0, "{failed} batches were not answered as expected");
    Ok(())
}

/// Record `r` of batch `batch`: its id, and the index of the customer it names. The first tenth of a measured
/// batch repeats records of a warm-up batch, which are stored already.
fn record_of(prefix: &str, warm_up: usize, batch: usize, r: usize, customers: usize) -> (String, usize) {
    let resent = !prefix.contains("warm") && r < RESENT;
    let (prefix, batch) = match resent {
        true => (if prefix == "raw" { "rawwarm" } else { "warm" }, batch % warm_up),
        false => (prefix, batch),
    };
    (format!("{prefix}-{batch}-{r}"), (batch * BATCH + r) % customers)
}

/// One seller and one hosted product pricing a custom dimension.
async fn seller_and_product(state: &AppState) -> anyhow::Result<(Arc<str>, Product)> {
    let (api_key, product) = seller_with_product(
        state,
        json!({
            "name": "Photo Lab",
            "description": "Photo editing in the browser.",
            "kind": "hosted",
            "redirect_url": "https://example.com/welcome",
            "terms_url": null,
            "support_contact": "help@example.com",
            "pricing": {"signup_fee": "0.00", "monthly_fee": "10.00", "usage": [
                {"dimension": "custom.exports", "tiers": [{"up_to": "100", "unit_price": "0.05"}, {"up_to": null, "unit_price": "0.01"}]}
            ]},
            "configurations": []
        }),
    )
    .await?;
    Ok((api_key.into(), product))
}

/// The customers, eight at a time.
async fn seed(state: &AppState, plan: &Plan, product: &Product) -> anyhow::Result<Vec<Customer>> {
    let password_hash: Arc<str> = tollgate::secrets::hash_password("correct horse battery".into())
        .await?
        .into();
    let now = tollgate_store::millis(Utc::now() - chrono::Duration::minutes(5));
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..8 {
        let (state, product, password_hash, next) =
            (state.clone(), product.clone(), password_hash.clone(), next.clone());
        let total = plan.customers;
        tasks.spawn(async move {
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let s = subscriber(&state, &product, &password_hash, i, false, now).await?;
                made.push((
                    i,
                    Customer {
                        user_token: s.identities.user_token,
                        customer_id: s.account.id,
                        subscription_id: s.subscription_id,
                    },
                ));
            }
            anyhow::Ok(made)
        });
    }
    let mut all = Vec::with_capacity(plan.customers);
    while let Some(made) = tasks.join_next().await {
        all.extend(made??);
    }
    all.sort_unstable_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, c)| c).collect())
}

fn print_report(plan: &Plan, database: &Database, seeding: Duration, runs: &[Run]) {
    let build = if cfg!(debug_assertions) { "debug" } else { "release" };
    println!();
    println!(
        "Tollgate usage-ingestion benchmark: {}, in-process server over loopback, {build} build",
        database.backend()
    );
    if plan.smoke {
        println!("a small pass to check that the benchmark works (no --bench): these figures mean nothing");
    }
    println!("machine: {}", machine());
    println!(
        "{} customers subscribed, seeded in {:.1} s; batches of {BATCH} records, {RESENT} of each resent from before",
        plan.customers,
        seeding.as_secs_f64(),
    );
    println!();
    println!(
        "{:<28} {:>4} {:>8} {:>9} {:>10} {:>8} {:>8} {:>6} {:>6} {:>7}",
        "scenario", "conc", "batches", "records", "records/s", "p50 ms", "p99 ms", "cores", "/raw", "failed"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let rate = |run: &Run| run.per_second() * BATCH as f64;
    let raw = runs.iter().find(|r| r.name == RAW).map_or(f64::NAN, rate);
    for run in runs {
        println!(
            "{:<28} {:>4} {:>8} {:>9} {:>10.0} {:>8.2} {:>8.2} {:>6.2} {:>6.2} {:>7}",
            run.name,
            run.concurrency,
            run.latencies.len(),
            run.latencies.len() * BATCH,
            rate(run),
            ms(run.percentile(50.0)),
            ms(run.percentile(99.0)),
            run.cpu.as_secs_f64() / run.elapsed.as_secs_f64(),
            rate(run) / raw,
            run.failed
        );
    }
    println!("p50, p99: time per batch; /raw: records per second as a share of the store's raw insert rate");
    if let Some(http) = runs.iter().find(|r| r.name == HTTP) {
        let (records, share) = (rate(http), rate(http) / raw);
        let sqlite = if database.is_postgres() {
            ", the rate stated for SQLite"
        } else {
            ""
        };
        println!(
            "goal: at least {GOAL_RECORDS_PER_SECOND:.0} records a second and half the raw rate{sqlite}: {}",
            if (database.is_postgres() || records >= GOAL_RECORDS_PER_SECOND) && share >= GOAL_SHARE_OF_RAW {
                "met"
            } else {
                "not met"
            }
        );
    }
}
