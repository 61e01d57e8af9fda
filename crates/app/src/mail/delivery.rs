//! Delivery of the outbox by SMTP, retried with backoff by the infrastructure clock (R1).

use chrono::Duration;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tollgate_store::millis;
use tollgate_store::outbox::Email;

use crate::state::AppState;

/// How long a claimed e-mail is reserved for the worker that claimed it.
const LEASE: Duration = Duration::minutes(5);
const BATCH: i64 = 20;

/// The wait before the next try after `failures` failed deliveries; `None`: give up and mark the e-mail failed.
pub fn retry_delay(failures: i64) -> Option<Duration> {
    match failures {
        1 => Some(Duration::minutes(1)),
        2 => Some(Duration::minutes(5)),
        3 => Some(Duration::minutes(30)),
        4 => Some(Duration::hours(2)),
        5 => Some(Duration::hours(12)),
        _ => None,
    }
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// `smtp://host:port` (plain, for a local relay) or `smtps://user:pass@host:port`.
    pub fn new(smtp_url: &str, from: &str) -> anyhow::Result<Mailer> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        Ok(Mailer {
            transport,
            from: from.parse()?,
        })
    }

    async fn send(&self, email: &Email) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(email.to_address.parse()?)
            .subject(&email.subject)
            .multipart(MultiPart::alternative_plain_html(
                email.text_body.clone(),
                email.html_body.clone(),
            ))?;
        self.transport.send(message).await?;
        Ok(())
    }
}

/// Sends every e-mail due now; returns how many were sent.
pub async fn deliver_due(state: &AppState, mailer: &Mailer) -> anyhow::Result<usize> {
    let mut sent = 0;
    loop {
        let now = state.infra_clock.now();
        let batch = state
            .store
            .claim_due_emails(millis(now), millis(now + LEASE), BATCH)
            .await?;
        if batch.is_empty() {
            return Ok(sent);
        }
        for email in batch {
            match mailer.send(&email).await {
                Ok(()) => {
                    state
                        .store
                        .mark_email_sent(&email.id, millis(state.infra_clock.now()))
                        .await?;
                    sent += 1;
                }
                Err(error) => {
                    let retry_at = retry_delay(email.attempts + 1).map(|d| millis(state.infra_clock.now() + d));
                    tracing::warn!(email = %email.id, error = %error, "e-mail delivery failed");
                    state
                        .store
                        .mark_email_attempt_failed(&email.id, &error.to_string(), retry_at)
                        .await?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_then_gives_up() {
        assert_eq!(retry_delay(1), Some(Duration::minutes(1)));
        assert!(retry_delay(2) < retry_delay(3));
        assert_eq!(retry_delay(6), None);
    }
}
