//! The monthly billing run, driven straight through the billing service with the sandbox gateway: for each size, a
//! fresh database with that many active subscriptions with usage, seeded through the store, then the July 1 run
//! (bills, lines, fee records, charges, ledger entries and "Your Bill" e-mails) timed from start to end.
//!
//! `cargo bench -p tollgate --bench billing` runs on SQLite with 10,000 and then 100,000 subscriptions. With
//! BENCH_DATABASE_URL=postgres://… (a URL that may create databases) on a PostgreSQL database made for each size and
//! dropped after it. BENCH_SIZES=1000,20000 picks other sizes; BENCH_MILLION=1 adds 1,000,000 after checking that
//! the disk has room for it. Without `--bench` (as `cargo test --benches` runs it) it bills 200 subscriptions only,
//! to show that it still works.

#[path = "support/database.rs"]
mod database;
#[path = "support/subscribers.rs"]
mod subscribers;
mod support;

use database::Database;
use subscribers::subscriber;
use support::{TempDir, cpu_time, machine};

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tokio::task::JoinSet;
use tollgate::state::AppState;
use tollgate_store::millis;
use tollgate_store::payments::PaymentMethod;
use tollgate_store::products::Product;
use tollgate_store::usage::UsageRecord;

const GOAL_PER_SECOND: f64 = 20_000.0;
const SIGNED_UP: &str = "2027-06-15T00:00:00Z";
const RUN_AT: &str = "2027-07-01T00:00:00Z";
/// Usage records per subscription: storage and exports on a few days of June.
const RECORDS_EACH: usize = 4;
/// Disk a million subscriptions take on SQLite, with room to spare (about 2 KiB each were measured at 100,000).
const MILLION_NEEDS_BYTES: u64 = 8 << 30;

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

fn sizes() -> anyhow::Result<Vec<usize>> {
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(vec![200]);
    }
    let mut sizes = match std::env::var("BENCH_SIZES") {
        Ok(text) => text
            .split(',')
            .map(|s| s.trim().parse().context("BENCH_SIZES: numbers separated by commas"))
            .collect::<anyhow::Result<Vec<usize>>>()?,
        Err(_) => vec![10_000, 100_000],
    };
    if std::env::var("BENCH_MILLION").is_ok_and(|v| v == "1") {
        let free = fs4::available_space(std::env::temp_dir()).context("reading the free disk space")?;
        ensure!(
            free >= MILLION_NEEDS_BYTES,
            "1,000,000 subscriptions need about {} GiB free in {}; {} GiB are",
            MILLION_NEEDS_BYTES >> 30,
            std::env::temp_dir().display(),
            free >> 30
        );
        sizes.push(1_000_000);
    }
    Ok(sizes)
}

/// One size's measurement.
struct Measured {
    subscriptions: usize,
    seeding: Duration,
    elapsed: Duration,
    cpu: Duration,
    bills: usize,
    /// The SQLite file with its WAL after the run, in bytes.
    database_bytes: Option<u64>,
}

async fn run() -> anyhow::Result<()> {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let mut results = Vec::new();
    let mut backend = "SQLite";
    for size in sizes()? {
        let database = Database::create().await?;
        backend = database.backend();
        let outcome = measure_size(&database, size).await;
        // Each size's database is removed before the next is made, also when the size failed.
        database.remove().await;
        results.push(outcome?);
    }
    report(smoke, backend, &results);
    Ok(())
}

async fn measure_size(database: &Database, size: usize) -> anyhow::Result<Measured> {
    let app = database.start_server(Some(SIGNED_UP)).await?;
    let state = app.state.clone();
    let product = product(&state).await?;

    let seeding = Instant::now();
    seed(&state, &product, size).await?;
    let seeding = seeding.elapsed();

    let at: DateTime<Utc> = RUN_AT.parse()?;
    let progress = ProgressBar::new(size as u64).with_style(
        ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} bills, {per_sec}, {eta} left")?
            .progress_chars("=> "),
    );
    progress.set_prefix(format!("billing {size}"));
    let watcher = {
        let (state, progress) = (state.clone(), progress.clone());
        tokio::spawn(async move {
            loop {
                if let Ok(count) = state.store.monthly_bill_count("2027-06").await {
                    progress.set_position(u64::try_from(count).unwrap_or(0));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let cpu_before = cpu_time();
    let started = Instant::now();
    let summary = tollgate::services::monthly_billing::run(&state, at).await?;
    let elapsed = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_before);
    watcher.abort();
    progress.finish_and_clear();
    let violations = state.store.ledger_violations().await?;
    app.stop().await?;

    ensure!(
        summary.issued == size && summary.paid == size,
        "every subscription should be billed and paid once: {summary:?}"
    );
    ensure!(violations.is_empty(), "ledger invariants violated: {violations:?}");
    Ok(Measured {
        subscriptions: size,
        seeding,
        elapsed,
        cpu,
        bills: summary.issued,
        database_bytes: database.size(),
    })
}

async fn product(state: &AppState) -> anyhow::Result<Product> {
    let body = json!({
        "name": "Backup Pro",
        "description": "Encrypted backups for your laptop.",
        "kind": "hosted",
        "redirect_url": "https://example.com/welcome",
        "terms_url": null,
        "support_contact": "help@example.com",
        "pricing": {"signup_fee": "0.00", "monthly_fee": "10.00", "usage": [
            {"dimension": "storage.gb_month", "tiers": [{"up_to": null, "unit_price": "0.20"}]},
            {"dimension": "custom.exports", "tiers": [{"up_to": "100", "unit_price": "0.05"}, {"up_to": null, "unit_price": "0.01"}]}
        ]},
        "configurations": []
    });
    Ok(support::seller_with_product(state, body).await?.1)
}

/// `size` customers, each with an active subscription since June 15, a paying sandbox card and June usage.
async fn seed(state: &AppState, product: &Product, size: usize) -> anyhow::Result<()> {
    let at = millis(SIGNED_UP.parse()?);
    let progress = ProgressBar::new(size as u64).with_style(ProgressStyle::with_template(
        "{prefix} [{bar:40}] {pos}/{len} customers, {eta} left",
    )?);
    progress.set_prefix(format!("seeding {size}"));
    let workers = 8;
    let mut tasks = JoinSet::new();
    for worker in 0..workers {
        let (state, product, progress) = (state.clone(), product.clone(), progress.clone());
        tasks.spawn(async move {
            let mut usage = Vec::new();
            for i in (worker..size).step_by(workers) {
                let ids = customer(&state, &product, i, at).await?;
                usage.extend(records(&product, &ids, i));
                if usage.len() >= 1_000 {
                    state.store.insert_usage_batch(&usage).await?;
                    usage.clear();
                }
                progress.inc(1);
            }
            state.store.insert_usage_batch(&usage).await?;
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    progress.finish_and_clear();
    Ok(())
}

/// Customer `i`: account and subscription as the other benchmarks seed them, and a card; (customer id,
/// subscription id).
async fn customer(state: &AppState, product: &Product, i: usize, at: i64) -> anyhow::Result<(String, String)> {
    // Nobody signs in: any stored text does for the password hash.
    let seeded = subscriber(state, product, "not-a-hash", i, false, at).await?;
    state
        .store
        .set_payment_method(&PaymentMethod {
            customer_id: seeded.account.id.clone(),
            brand: "Visa".into(),
            last4: "4242".into(),
            exp_month: 12,
            exp_year: 2030,
            // The sandbox gateway charges a token of this form successfully.
            gateway_token: format!("sandbox_bench{i}"),
            added_at: at,
        })
        .await?;
    Ok((seeded.account.id, seeded.subscription_id))
}

/// June usage of customer `i`: storage on two days, exports on two.
fn records(product: &Product, (customer_id, subscription_id): &(String, String), i: usize) -> Vec<UsageRecord> {
    let june = |day: u32| {
        millis(
            format!("2027-06-{day:02}T12:00:00Z")
                .parse::<DateTime<Utc>>()
                .unwrap_or_default(),
        )
    };
    (0..RECORDS_EACH)
        .map(|r| {
            let (dimension, quantity) = match r % 2 {
                0 => ("storage.gb_month", "0.75"),
                _ => ("custom.exports", "60"),
            };
            let day = 16 + u32::try_from(r).unwrap_or(0) * 3;
            UsageRecord {
                product_id: product.id.clone(),
                record_id: format!("{i}-{r}"),
                customer_id: customer_id.clone(),
                subscription_id: subscription_id.clone(),
                dimension: dimension.into(),
                quantity: quantity.into(),
                configuration: None,
                occurred_at: june(day),
                month: "2027-06".into(),
                received_at: june(day),
            }
        })
        .collect()
}

fn report(smoke: bool, backend: &str, results: &[Measured]) {
    println!();
    println!("Tollgate monthly-billing benchmark: {backend}, the billing service driven directly, sandbox gateway");
    if smoke {
        println!("a small pass to check that the benchmark works (no --bench): these figures mean nothing");
    }
    println!("machine: {}", machine());
    println!(
        "each subscription: 10.00 a month, June storage and exports on four days; the July 1 run bills June's usage and July's fee"
    );
    println!();
    println!(
        "{:>13} {:>10} {:>10} {:>13} {:>7} {:>12} {:>12}",
        "subscriptions", "seeding s", "run s", "billed per s", "cores", "µs per bill", "database MiB"
    );
    for m in results {
        let per_second = m.bills as f64 / m.elapsed.as_secs_f64();
        let size = m
            .database_bytes
            .map_or("-".to_owned(), |b| format!("{:.0}", b as f64 / 1024.0 / 1024.0));
        println!(
            "{:>13} {:>10.1} {:>10.2} {:>13.0} {:>7.2} {:>12.0} {:>12}",
            m.subscriptions,
            m.seeding.as_secs_f64(),
            m.elapsed.as_secs_f64(),
            per_second,
            m.cpu.as_secs_f64() / m.elapsed.as_secs_f64(),
            m.elapsed.as_secs_f64() * 1e6 / m.bills as f64,
            size
        );
    }
    if let [first, .., last] = results {
        let growth = (last.elapsed.as_secs_f64() / first.elapsed.as_secs_f64())
            / (last.subscriptions as f64 / first.subscriptions as f64);
        println!(
            "time per subscription at {} against {}: {growth:.2}x (1.00 is linear)",
            last.subscriptions, first.subscriptions
        );
    }
    let rates: Vec<f64> = results
        .iter()
        .map(|m| m.bills as f64 / m.elapsed.as_secs_f64())
        .collect();
    let met = rates.iter().all(|r| *r >= GOAL_PER_SECOND);
    println!(
        "goal on SQLite: at least {GOAL_PER_SECOND:.0} subscriptions billed a second at every size: {}",
        if met { "met" } else { "not met" }
    );
}
