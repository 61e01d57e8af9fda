//! The sandbox's simulated business clock (docs/rules.md R2, R3) as the operator moves it.

use chrono::{DateTime, Utc};
use tollgate_store::{StoreError, millis};

use crate::error::{Error, Result};
use crate::state::AppState;
use crate::workers::scheduler;

pub fn ensure_sandbox(state: &AppState) -> Result<()> {
    if state.clock.is_simulated() {
        Ok(())
    } else {
        Err(Error::NotFound("clock (the sandbox is off)"))
    }
}

/// Moves the clock forward to `to`, carrying out everything due up to that instant before answering (R2).
pub async fn advance(state: &AppState, to: DateTime<Utc>) -> Result<DateTime<Utc>> {
    ensure_sandbox(state)?;
    let now = state.now().await?;
    if to < now {
        return Err(Error::ClockMovedBackwards);
    }
    match state.store.set_sandbox_clock(millis(to)).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(Error::ClockMovedBackwards),
        Err(e) => return Err(e.into()),
    }
    // Work due by the new instant is done before answering; each item carries its own due instant.
    scheduler::run_due(state, to).await?;
    Ok(to)
}
