//! The load generator of the benchmarks that measure requests: concurrent workers, each request's latency, and the
//! process's CPU time over the run.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::support::cpu_time;

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
