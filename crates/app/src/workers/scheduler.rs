//! Runs the work that falls due by the business clock, in the order of docs/rules.md R3, working only from the
//! database so that it resumes after a crash.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

use crate::error::Result;
use crate::services::{instances, payments};
use crate::state::AppState;

/// How often the server looks for due work when the business clock is real time.
const TICK: Duration = Duration::from_secs(30);

/// Carries out everything due by `now`: payments a crash interrupted (finished with their original idempotency
/// keys) and the instance-hours that have started (R18). The monthly run, retries and settlement join here, each
/// at its own instant.
pub async fn run_due(state: &AppState, now: DateTime<Utc>) -> Result<()> {
    // Each kind of work runs even when another fails (a gateway that is down must not stop the hours).
    let payments = payments::resume_interrupted(state).await;
    let hours = instances::record_due_hours(state, now).await;
    payments.and(hours)
}

/// Runs due work every few seconds while the server runs (the sandbox's clock moves only when the operator moves
/// it, and its move runs the work itself).
pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        loop {
            tick.tick().await;
            let round = async { run_due(&state, state.now().await?).await };
            if let Err(error) = round.await {
                tracing::warn!(%error, "scheduler round failed");
            }
        }
    })
}
