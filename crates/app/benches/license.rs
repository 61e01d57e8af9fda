//! License checks under concurrency, the path every product takes at each start: the real server runs in this process
//! on a fresh database holding many active subscriptions, and a pool of HTTP connections over loopback asks it
//! whether random customers still pay, by persistent identifier (with the seller's API key) and by user token (with
//! a derived key pair). Everything is seeded through the store rather than through sign-ups and activations.
//!
//! `cargo bench -p tollgate --bench license` runs on SQLite. With `BENCH_DATABASE_URL=postgres://…` (a URL that may
//! create databases) it runs on a PostgreSQL database made for the run and dropped after it. BENCH_SUBSCRIPTIONS
//! changes the number of active subscriptions (100,000 by default). Without `--bench` (as `cargo test --benches`
//! runs it) it makes a small pass only, to show that it still works.

#[path = "support/database.rs"]
mod database;
#[path = "support/load.rs"]
mod load;
#[path = "support/subscribers.rs"]
mod subscribers;
mod support;

use database::Database;
use load::{Run, measure};
use subscribers::{Subscriber, subscriber};
use support::{TempDir, cpu_time, machine, seller_with_product};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tollgate::secrets::{random_token, sha256_hex};
use tollgate::state::AppState;
use tollgate_domain::codes::activation_key;
use tollgate_store::license::DerivedKey;
use tollgate_store::products::Product;
use tollgate_store::{Backend, millis};

/// The project's goal for license checks on SQLite at the higher concurrency.
const GOAL_SHARE_OF_HEALTHZ: f64 = 0.5;
const GOAL_P99: Duration = Duration::from_millis(5);
const HEALTHZ: &str = "GET /healthz";
const REFUSED: &str = "POST verify-…-by-pid, 401";
const READS_ONLY: &str = "by-pid's reads, no HTTP";

struct Plan {
    /// A quick pass that only shows the benchmark still works; its figures mean nothing.
    smoke: bool,
    /// Active subscriptions, one customer each.
    subscriptions: usize,
    /// How many of the active customers also get a derived key pair, spread evenly among them.
    derived_keys: usize,
    /// Customers whose subscription is canceled, with identities and a key pair: both checks must answer false.
    canceled: usize,
    requests: usize,
    /// Requests made one at a time, to show what a check costs without queueing.
    alone: usize,
    warm_up: usize,
    concurrency: usize,
}

impl Plan {
    fn from_env() -> anyhow::Result<Plan> {
        if !std::env::args().any(|a| a == "--bench") {
            return Ok(Plan {
                smoke: true,
                subscriptions: 200,
                derived_keys: 20,
                canceled: 4,
                requests: 400,
                alone: 50,
                warm_up: 20,
                concurrency: 8,
            });
        }
        let subscriptions = match std::env::var("BENCH_SUBSCRIPTIONS") {
            Ok(text) => text.parse().context("BENCH_SUBSCRIPTIONS must be a number")?,
            Err(_) => 100_000,
        };
        ensure!(subscriptions >= 1, "BENCH_SUBSCRIPTIONS must be at least 1");
        Ok(Plan {
            smoke: false,
            subscriptions,
            derived_keys: subscriptions.min(10_000),
            canceled: 100,
            requests: 50_000,
            alone: 3_000,
            warm_up: 2_000,
            concurrency: 64,
        })
    }

    fn write_transactions(&self) -> usize {
        // Account, order and identities for everyone, a derived key for some.
        3 * (self.subscriptions + self.canceled) + self.derived_keys + self.canceled
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

/// What a product keeps to check its customer: the PID (hosted) or a user token and key pair (desktop).
#[derive(Clone)]
struct Ids {
    persistent_identifier: String,
    user_token: String,
    /// Access key id and secret access key.
    key_pair: Option<(String, String)>,
}

/// The one seller and product every subscription is to.
struct Catalogue {
    api_key: String,
    product: Product,
}

async fn bench(plan: &Plan, database: &Database) -> anyhow::Result<()> {
    let started = Instant::now();
    let app = database.start_server(None).await?;
    let state = app.state.clone();
    let base = format!("http://{}", app.address);

    let catalogue = Arc::new(seller_and_product(&state).await?);
    let (seeding, seeding_cpu) = (Instant::now(), cpu_time());
    let seeded = seed(&state, plan, &catalogue.product).await?;
    let seeding = (seeding.elapsed(), cpu_time().saturating_sub(seeding_cpu));
    let database_size = database.size();
    let active = Arc::new(seeded.active);
    let keyed: Arc<Vec<Ids>> = Arc::new(active.iter().filter(|c| c.key_pair.is_some()).cloned().collect());

    let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let health_url = Arc::new(format!("{base}/healthz"));
    let pid_url = Arc::new(format!("{base}/api/v1/license/verify-product-subscription-by-pid"));
    let tokens_url = Arc::new(format!("{base}/api/v1/license/verify-product-subscription-by-tokens"));
    // Each request draws the next customer from one pseudo-random sequence, warm-up included, so that a run does
    // not meet the customers its warm-up cached.
    let draws = Arc::new(AtomicUsize::new(0));

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
    let by_pid = {
        let (client, url, catalogue, active, draws) = (
            client.clone(),
            pid_url.clone(),
            catalogue.clone(),
            active.clone(),
            draws.clone(),
        );
        move |_: usize| {
            let customer = &active[pick(draws.fetch_add(1, Ordering::Relaxed), active.len())];
            let request = pid_request(&client, &url, &catalogue, customer);
            async move { Ok(subscribed(request).await? == Some(true)) }
        }
    };
    let by_tokens = {
        let (client, url, catalogue, keyed, draws) = (
            client.clone(),
            tokens_url.clone(),
            catalogue.clone(),
            keyed.clone(),
            draws.clone(),
        );
        move |_: usize| {
            let customer = &keyed[pick(draws.fetch_add(1, Ordering::Relaxed), keyed.len())];
            let request = tokens_request(&client, &url, &catalogue, customer);
            async move { Ok(subscribed(request).await? == Some(true)) }
        }
    };

    // The same request refused before any read (a key of the wrong form is not looked up): what HTTP, routing and
    // JSON cost on this route without the database.
    let refused = {
        let (client, url, catalogue, active, draws) = (
            client.clone(),
            pid_url.clone(),
            catalogue.clone(),
            active.clone(),
            draws.clone(),
        );
        move |_: usize| {
            let customer = &active[pick(draws.fetch_add(1, Ordering::Relaxed), active.len())];
            let request = client.post(url.as_str()).bearer_auth("not-a-key").json(&json!({
                "persistent_identifier": customer.persistent_identifier,
                "product_code": catalogue.product.code,
            }));
            async move { Ok(request.send().await?.status() == StatusCode::UNAUTHORIZED) }
        }
    };

    // The by-PID check's read straight through the store, without HTTP: the database's share of a check.
    let reads_only = {
        let (state, catalogue, active, draws) = (state.clone(), catalogue.clone(), active.clone(), draws.clone());
        let key_hash = tollgate::secrets::sha256_hex(&catalogue.api_key);
        move |_: usize| {
            let customer = active[pick(draws.fetch_add(1, Ordering::Relaxed), active.len())].clone();
            let (state, catalogue, key_hash) = (state.clone(), catalogue.clone(), key_hash.clone());
            async move {
                let check = state
                    .store
                    .pid_check(&key_hash, &customer.persistent_identifier, &catalogue.product.code)
                    .await?;
                Ok(check.key_seller_id.is_some() && check.active)
            }
        }
    };

    // HTTP and database connections are opened before anything is timed.
    measure("warm-up", plan.concurrency, plan.warm_up, health.clone()).await;
    measure("warm-up", plan.concurrency, plan.warm_up, by_pid.clone()).await;
    measure("warm-up", plan.concurrency, plan.warm_up, by_tokens.clone()).await;

    let runs = vec![
        measure(HEALTHZ, plan.concurrency, plan.requests, health.clone()).await,
        measure(REFUSED, plan.concurrency, plan.requests, refused.clone()).await,
        measure("POST verify-…-by-pid", plan.concurrency, plan.requests, by_pid.clone()).await,
        measure(
            "POST verify-…-by-tokens",
            plan.concurrency,
            plan.requests,
            by_tokens.clone(),
        )
        .await,
        measure(READS_ONLY, plan.concurrency, plan.requests, reads_only.clone()).await,
        measure(HEALTHZ, 1, plan.alone, health).await,
        measure(REFUSED, 1, plan.alone, refused).await,
        measure("POST verify-…-by-pid", 1, plan.alone, by_pid).await,
        measure("POST verify-…-by-tokens", 1, plan.alone, by_tokens).await,
        measure(READS_ONLY, 1, plan.alone, reads_only).await,
    ];

    // Canceled subscriptions must read false on both routes: a check that answered true whatever the state would
    // pass everything above.
    let mut wrong_controls = 0;
    for customer in &seeded.canceled {
        let by_pid = subscribed(pid_request(&client, &pid_url, &catalogue, customer)).await?;
        let by_tokens = subscribed(tokens_request(&client, &tokens_url, &catalogue, customer)).await?;
        wrong_controls += usize::from(by_pid != Some(false)) + usize::from(by_tokens != Some(false));
    }
    app.stop().await?;

    print_report(plan, database, seeding, database_size, &runs, wrong_controls);
    println!("total time: {:.1} s", started.elapsed().as_secs_f64());
    let failed: usize = runs.iter().map(|r| r.failed).sum();
    ensure!(failed == 0, "{failed} requests failed");
    ensure!(
        wrong_controls == 0,
        "{wrong_controls} checks of canceled subscriptions did not answer false"
    );
    Ok(())
}

fn pid_request(client: &Client, url: &str, catalogue: &Catalogue, customer: &Ids) -> RequestBuilder {
    client.post(url).bearer_auth(&catalogue.api_key).json(&json!({
        "persistent_identifier": customer.persistent_identifier,
        "product_code": catalogue.product.code,
    }))
}

fn tokens_request(client: &Client, url: &str, catalogue: &Catalogue, customer: &Ids) -> RequestBuilder {
    let (id, secret) = customer.key_pair.as_ref().expect("a customer with a key pair");
    client.post(url).basic_auth(id, Some(secret)).json(&json!({
        "product_token": catalogue.product.token,
        "user_token": customer.user_token,
    }))
}

/// The answer's `subscribed` when the status is 200 and the body `{"subscribed": <bool>}`, else `None`.
async fn subscribed(request: RequestBuilder) -> anyhow::Result<Option<bool>> {
    let response = request.send().await?;
    let ok = response.status() == StatusCode::OK;
    let body: Value = serde_json::from_slice(&response.bytes().await?).unwrap_or_default();
    Ok(match (ok, body.as_object()) {
        (true, Some(object)) if object.len() == 1 => object.get("subscribed").and_then(Value::as_bool),
        _ => None,
    })
}

/// The `n`-th draw of a fixed pseudo-random sequence (SplitMix64), as an index below `len`.
fn pick(n: usize, len: usize) -> usize {
    let mut z = (n as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) % len as u64) as usize
}

/// One seller and one desktop product of theirs.
async fn seller_and_product(state: &AppState) -> anyhow::Result<Catalogue> {
    let (api_key, product) = seller_with_product(
        state,
        json!({
            "name": "Backup Pro",
            "description": "Encrypted backups for your laptop.",
            "kind": "desktop",
            "redirect_url": "https://example.com/welcome",
            "terms_url": null,
            "support_contact": "help@example.com",
            "pricing": {"signup_fee": "5.00", "monthly_fee": "10.00", "usage": []},
            "configurations": []
        }),
    )
    .await?;
    Ok(Catalogue { api_key, product })
}

struct Seeded {
    active: Vec<Ids>,
    canceled: Vec<Ids>,
}

/// The customers, several at a time: on SQLite enough that its one writer always has the next transaction waiting
/// (more do not help), on PostgreSQL as many as the pool has connections.
async fn seed(state: &AppState, plan: &Plan, product: &Product) -> anyhow::Result<Seeded> {
    let workers = match state.store.backend() {
        Backend::Sqlite => 8,
        Backend::Postgres => 32,
    };
    let password_hash: Arc<str> = tollgate::secrets::hash_password("correct horse battery".into())
        .await?
        .into();
    let now = millis(state.now().await?);
    let total = plan.subscriptions + plan.canceled;
    let (subscriptions, derived_keys) = (plan.subscriptions, plan.derived_keys);
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for worker in 0..workers {
        let (state, product, password_hash, done) =
            (state.clone(), product.clone(), password_hash.clone(), done.clone());
        tasks.spawn(async move {
            let mut made = Vec::new();
            for i in (worker..total).step_by(workers) {
                let canceled = i >= subscriptions;
                // Exactly `derived_keys` of the active customers, evenly spread; every canceled one.
                let keyed = canceled || (i * derived_keys) % subscriptions < derived_keys;
                let ids = seed_customer(&state, &product, &password_hash, i, canceled, keyed, now).await?;
                made.push((i, ids));
                let count = done.fetch_add(1, Ordering::Relaxed) + 1;
                if count % (total / 10).max(1) == 0 {
                    println!(
                        "seeding: {count} of {total} customers, {:.1} s",
                        started.elapsed().as_secs_f64()
                    );
                }
            }
            anyhow::Ok(made)
        });
    }
    let mut all = Vec::with_capacity(total);
    while let Some(made) = tasks.join_next().await {
        all.extend(made??);
    }
    all.sort_unstable_by_key(|(i, _)| *i);
    let mut active: Vec<Ids> = all.into_iter().map(|(_, ids)| ids).collect();
    let canceled = active.split_off(subscriptions);
    Ok(Seeded { active, canceled })
}

/// A customer as the server knows them after buying and activating: an account, a subscription with its
/// activation key (no bill, no e-mail), a user token and PID, and maybe a derived key pair.
async fn seed_customer(
    state: &AppState,
    product: &Product,
    password_hash: &str,
    i: usize,
    canceled: bool,
    keyed: bool,
    now: i64,
) -> anyhow::Result<Ids> {
    let Subscriber {
        account, identities, ..
    } = subscriber(state, product, password_hash, i, canceled, now).await?;
    let key_pair = match keyed {
        true => {
            let secret = random_token::<30>();
            let key = DerivedKey {
                access_key_id: format!("TGAK{}", activation_key(rand::random())),
                customer_id: account.id.clone(),
                product_id: product.id.clone(),
                secret_hash: sha256_hex(&secret),
                secret_encrypted: state.secret_key.encrypt(&secret)?,
                created_at: now,
            };
            state.store.add_derived_key(&key).await?;
            Some((key.access_key_id, secret))
        }
        false => None,
    };
    Ok(Ids {
        persistent_identifier: identities.persistent_identifier,
        user_token: identities.user_token,
        key_pair,
    })
}

fn print_report(
    plan: &Plan,
    database: &Database,
    (seeding, seeding_cpu): (Duration, Duration),
    database_size: Option<u64>,
    runs: &[Run],
    wrong_controls: usize,
) {
    let build = if cfg!(debug_assertions) { "debug" } else { "release" };
    println!();
    println!(
        "Tollgate license-check benchmark: {}, in-process server over loopback, {build} build",
        database.backend()
    );
    if plan.smoke {
        println!("a small pass to check that the benchmark works (no --bench): these figures mean nothing");
    }
    println!("machine: {}", machine());
    let transactions = plan.write_transactions();
    println!(
        "seeded {} active subscriptions ({} with a derived key pair) and {} canceled ones in {:.1} s: \
         {transactions} write transactions, {:.0} per second, {:.2} cores",
        plan.subscriptions,
        plan.derived_keys,
        plan.canceled,
        seeding.as_secs_f64(),
        transactions as f64 / seeding.as_secs_f64(),
        seeding_cpu.as_secs_f64() / seeding.as_secs_f64()
    );
    if let Some(bytes) = database_size {
        println!("database file with its WAL: {:.0} MiB", bytes as f64 / 1024.0 / 1024.0);
    }
    println!();
    println!(
        "{:<26} {:>5} {:>8} {:>9} {:>8} {:>8} {:>8} {:>6} {:>8} {:>7}",
        "scenario", "conc", "requests", "per s", "p50 ms", "p99 ms", "max ms", "cores", "/healthz", "failed"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    // GET /healthz at the same concurrency, the ceiling of the HTTP stack and the load generator.
    let health = |concurrency: usize| {
        runs.iter()
            .find(|r| r.name == HEALTHZ && r.concurrency == concurrency)
            .map_or(f64::NAN, Run::per_second)
    };
    for run in runs {
        println!(
            "{:<26} {:>5} {:>8} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>6.2} {:>8.2} {:>7}",
            run.name,
            run.concurrency,
            run.latencies.len(),
            run.per_second(),
            ms(run.percentile(50.0)),
            ms(run.percentile(99.0)),
            ms(run.latencies.last().copied().unwrap_or_default()),
            run.cpu.as_secs_f64() / run.elapsed.as_secs_f64(),
            run.per_second() / health(run.concurrency),
            run.failed
        );
    }
    println!("/healthz: requests per second as a share of GET /healthz's at the same concurrency");
    match database.is_postgres() {
        false => println!("cores: CPU time of the whole process (server and load generator) over the run's wall time"),
        true => println!(
            "cores: CPU time of this process (server and load generator, not PostgreSQL's processes) over the \
             run's wall time"
        ),
    }
    println!();
    let goal = format!(
        "at least {:.0}% of /healthz's rate and p99 under {} ms with {} in flight{}",
        GOAL_SHARE_OF_HEALTHZ * 100.0,
        GOAL_P99.as_millis(),
        plan.concurrency,
        if database.is_postgres() {
            ", stated for SQLite"
        } else {
            ""
        }
    );
    println!("goal: {goal}");
    for run in runs
        .iter()
        .filter(|r| ![HEALTHZ, REFUSED, READS_ONLY].contains(&r.name) && r.concurrency == plan.concurrency)
    {
        let share = run.per_second() / health(run.concurrency);
        let p99 = run.percentile(99.0);
        let met = share >= GOAL_SHARE_OF_HEALTHZ && p99 < GOAL_P99;
        println!(
            "  {:<26} {} ({:.0}% of /healthz, p99 {:.2} ms)",
            run.name,
            if met { "met" } else { "not met" },
            share * 100.0,
            ms(p99)
        );
    }
    println!(
        "canceled subscriptions: {} checked on both routes, {}",
        plan.canceled,
        match wrong_controls {
            0 => "all answered false".to_owned(),
            n => format!("{n} answers were not false"),
        }
    );
}
