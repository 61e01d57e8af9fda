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
    scheduler::run_due(state).await?;
    match state.store.set_sandbox_clock(millis(to)).await {
        Ok(()) => Ok(to),
        Err(StoreError::Conflict) => Err(Error::ClockMovedBackwards),
        Err(e) => Err(e.into()),
    }
}
