//! What the benchmarks share: the load generator and its measurements, the process's CPU time, a description of
//! the machine, a temporary folder for the database, and the seller whose product is measured.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

pub struct Run {
    pub name: &'static str,
    pub concurrency: usize,
    /// Sorted, one per request.
    pub latencies: Vec<Duration>,
    pub elapsed: Duration,
    /// Of the whole process, the load generator's included.
    pub cpu: Duration,
    pub failed: usize,
}

impl Run {
    pub fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile(&self, p: f64) -> Duration {
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }
}

/// Makes `requests` requests with `concurrency` of them in flight at any time; `request(i)` makes the i-th and
/// tells whether its answer was the expected one.
pub async fn measure<F, Fut>(name: &'static str, concurrency: usize, requests: usize, request: F) -> Run
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<bool>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let cpu_before = cpu_time();
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        let (next, request) = (next.clone(), request.clone());
        workers.spawn(async move {
            let (mut latencies, mut failed) = (Vec::new(), 0);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let sent = Instant::now();
                let ok = request(i).await.unwrap_or(false);
                latencies.push(sent.elapsed());
                failed += usize::from(!ok);
            }
            (latencies, failed)
        });
    }
    let mut run = Run {
        name,
        concurrency,
        latencies: Vec::with_capacity(requests),
        elapsed: Duration::ZERO,
        cpu: Duration::ZERO,
        failed: 0,
    };
    while let Some(worker) = workers.join_next().await {
        let (latencies, failed) = worker.expect("a request task panicked");
        run.latencies.extend(latencies);
        run.failed += failed;
    }
    run.elapsed = started.elapsed();
    run.cpu = cpu_time().saturating_sub(cpu_before);
    run.latencies.sort_unstable();
    run
}

/// CPU time this process has used so far, from /proc/self/stat (in ticks of 10 ms, USER_HZ on Linux).
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // utime and stime are the 14th and 15th fields; the command name before them may hold spaces.
    let ticks: u64 = stat
        .rsplit_once(')')
        .map(|(_, fields)| {
            fields
                .split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|f| f.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// CPU model, cores and memory, as /proc tells them.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim())
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{model}, {cores} cores (nproc), {:.1} GiB RAM, Linux {}",
        memory_kib as f64 / 1024.0 / 1024.0,
        kernel.trim()
    )
}

/// The database's folder, removed when the run ends, also when it fails.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        TempDir(std::env::temp_dir().join(format!("tollgate-bench-{}", uuid::Uuid::now_v7().simple())))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One seller, made through the operator's service, and one product of theirs registered with `product` (the body
/// of `POST /api/v1/products`): the seller's API key and the product.
pub async fn seller_with_product(
    state: &tollgate::state::AppState,
    product: serde_json::Value,
) -> anyhow::Result<(String, tollgate_store::products::Product)> {
    let (seller, issued) = tollgate::services::sellers::create_by_operator(
        state,
        &serde_json::json!({
            "email": "seller@bench.example",
            "password": "correct horse battery",
            "company_name": "Acme Software",
            "public_contact": "help@acme.example",
        }),
    )
    .await?;
    let view = tollgate::services::products::register(state, &seller, &product).await?;
    Ok((issued.plain, view.product))
}
