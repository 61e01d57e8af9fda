//! What the benchmarks share: the process's CPU time, a description of the machine, a temporary folder for the
//! database, and the seller whose product is measured. The load generator is in `load.rs`, for those that measure
//! requests.

use std::path::PathBuf;
use std::time::Duration;

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
