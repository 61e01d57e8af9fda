//! Runs the work that falls due by the business clock, in the order of docs/rules.md R3, working only from the
//! database so that it resumes after a crash.

use crate::error::Result;
use crate::services::payments;
use crate::state::AppState;

/// Carries out everything that is due. Today that is finishing payments a crash interrupted (with their original
/// idempotency keys); the monthly run, retries and settlement join here, each at its own instant.
pub async fn run_due(state: &AppState) -> Result<()> {
    payments::resume_interrupted(state).await
}
