//! The two clocks (docs/rules.md R1, R2). Nothing else in Tollgate reads the system time.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tollgate_store::Store;

/// The business clock: money and entitlement (billing, key expiry, proration).
#[derive(Clone)]
pub enum BusinessClock {
    System,
    /// The sandbox's simulated clock, stored in the database so every process and restart sees one instant (R2).
    Simulated(Store),
}

impl BusinessClock {
    pub async fn now(&self) -> anyhow::Result<DateTime<Utc>> {
        match self {
            BusinessClock::System => Ok(Utc::now()),
            BusinessClock::Simulated(store) => Ok(tollgate_store::instant(store.sandbox_clock().await?)),
        }
    }

    pub fn is_simulated(&self) -> bool {
        matches!(self, BusinessClock::Simulated(_))
    }
}

/// The infrastructure clock: sessions, rate limits, delivery backoff. Always real time in the server; tests of
/// those rules pass their own.
pub trait InfraClock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl InfraClock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

pub type SharedInfraClock = Arc<dyn InfraClock>;
