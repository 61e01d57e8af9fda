//! The mail worker: delivers the outbox every few seconds while the server runs. A message being sent when the
//! server stops keeps its lease and is retried when the lease ends.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::mail::delivery::{Mailer, deliver_due};
use crate::state::AppState;

const POLL: Duration = Duration::from_secs(2);

pub fn spawn(state: AppState, mailer: Arc<Mailer>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        loop {
            tick.tick().await;
            if let Err(error) = deliver_due(&state, &mailer).await {
                tracing::warn!(%error, "mail delivery round failed");
            }
        }
    })
}
