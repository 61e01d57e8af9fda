//! Runs the work that falls due by the business clock, in the order of docs/rules.md R3, working only from the
//! database so that it resumes after a crash.
//!
//! Work due at a midnight (the monthly run on the 1st, dunning retries on the 7th, 14th and 21st) is carried out
//! midnight by midnight, each as of its own instant, and the last midnight done is recorded; a crash part-way
//! through a midnight repeats it, which its own unique keys make harmless (R20). Two processes on one database may
//! both do a midnight: the same keys let only one bill or charge.

use std::time::Duration;

use chrono::{DateTime, Datelike, Days, Utc};
use tokio::task::JoinHandle;
use tollgate_store::{instant, millis};

use crate::error::Result;
use crate::services::{dunning, instances, monthly_billing, payments, price_changes, settlement};
use crate::state::AppState;

/// How often the server looks for due work when the business clock is real time.
const TICK: Duration = Duration::from_secs(30);

/// The progress record of the midnights' work.
const MIDNIGHTS: &str = "midnights";

/// Carries out everything due by `now`: payments a crash interrupted (finished with their original idempotency
/// keys), each midnight's work up to `now`, and the instance-hours that have started (R18).
pub async fn run_due(state: &AppState, now: DateTime<Utc>) -> Result<()> {
    // One round at a time in this process: a clock move and the timer must not interleave midnights.
    let _round = state.scheduling.lock().await;
    // Each kind of work runs even when another fails (a gateway that is down must not stop the hours).
    let payments = payments::resume_interrupted(state).await;
    let midnights = run_midnights(state, now).await;
    let hours = instances::record_due_hours(state, now).await;
    payments.and(midnights).and(hours)
}

/// The work of every midnight after the last one done, up to `now`. The first round ever starts with the current
/// day's midnight: nothing older can be due on a new database, and a database that comes from an earlier version
/// on a 1st still gets that day's run.
async fn run_midnights(state: &AppState, now: DateTime<Utc>) -> Result<()> {
    let today = now.date_naive().and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let done = match state.store.schedule_done_through(MIDNIGHTS).await? {
        Some(done) => instant(done),
        None => today.checked_sub_days(Days::new(1)).unwrap_or(today),
    };
    let mut midnight = done;
    while let Some(next) = midnight.checked_add_days(Days::new(1)).filter(|next| *next <= today) {
        midnight = next;
        // Hours that started before the midnight belong to the usage it bills.
        instances::record_due_hours(state, midnight).await?;
        run_midnight(state, midnight).await?;
        state
            .store
            .set_schedule_done_through(MIDNIGHTS, millis(midnight))
            .await?;
    }
    Ok(())
}

/// One midnight's work in R3's order: price changes, cancellations, the monthly run, payment retries, seller
/// settlement. E-mails are composed with the work that causes them.
async fn run_midnight(state: &AppState, at: DateTime<Utc>) -> Result<()> {
    price_changes::take_effect(state, at).await?;
    if at.day() == 1 {
        monthly_billing::cancel_unpaid_signups(state, at).await?;
        monthly_billing::run(state, at).await?;
    }
    if dunning::RETRY_DAYS.contains(&at.day()) {
        dunning::retry(state, at).await?;
    }
    if settlement::is_due(state, at).await? {
        settlement::settle(state, at).await?;
    }
    Ok(())
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
