//! Everything a request, a service or a worker needs, built once at start-up and passed in.

use std::ops::Deref;
use std::sync::Arc;

use tollgate_domain::fees::FeeSchedule;
use tollgate_store::Store;

use crate::clock::{BusinessClock, SharedInfraClock};
use crate::gateway::PaymentGateway;
use crate::keyring::SecretKey;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Store,
    pub clock: BusinessClock,
    pub infra_clock: SharedInfraClock,
    /// `None` without `--sandbox` and without a real gateway: orders that need a charge are refused (503).
    pub gateway: Option<Arc<dyn PaymentGateway>>,
    /// Encrypts the secrets that must stay usable (derived secret access keys).
    pub secret_key: SecretKey,
    pub settings: Settings,
    /// Held by a round of the scheduler, so that the timer and a clock move do not run midnights side by side.
    pub scheduling: tokio::sync::Mutex<()>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Without a trailing slash.
    pub public_url: String,
    pub operator_name: String,
    pub mail_from: String,
    pub fees: FeeSchedule,
    pub operator_token: Option<String>,
    pub demo: bool,
}

impl Settings {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }

    /// Cookies are marked Secure when people reach Tollgate over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        AppState(Arc::new(inner))
    }

    /// The business clock's now (R1).
    pub async fn now(&self) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
        self.clock.now().await
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
