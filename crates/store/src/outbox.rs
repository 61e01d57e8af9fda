//! The outbox: every e-mail composed, written in the same transaction as the event that caused it, and delivered
//! later by the mail worker. A natural unique key per e-mail makes composing it exactly-once.

use sqlx::{AssertSqlSafe, FromRow};

use crate::{Dialect, ROWS_PER_STATEMENT, Result, Store, StoreError, placeholders, queries, read, write};

#[derive(Debug, Clone, FromRow)]
pub struct Email {
    pub id: String,
    /// What makes this e-mail unique, e.g. `signup:{subscription}`: composing it again does nothing.
    pub unique_key: String,
    pub to_address: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub template: String,
    pub state: String,
    pub attempts: i64,
    /// Infrastructure-clock milliseconds of the next delivery attempt.
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    /// Business-clock milliseconds of composition.
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

queries! {
    pub(crate) trait OutboxQueries {
        async fn insert_email(&mut self, email: &Email) -> Result<()> {
            self.insert_emails(&[email]).await
        }

        /// Puts e-mails in the outbox with a few multi-row statements; one whose key is there already is skipped.
        async fn insert_emails(&mut self, emails: &[&Email]) -> Result<()> {
            for rows in emails.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "INSERT INTO emails (id, unique_key, to_address, subject, text_body, html_body, template, state,
                                         attempts, next_attempt_at, created_at)
                     VALUES {} ON CONFLICT (unique_key) DO NOTHING",
                    placeholders(<Self as Dialect>::BACKEND, rows.len(), 11)
                );
                let mut query = sqlx::query(AssertSqlSafe(sql));
                for email in rows {
                    query = query
                        .bind(&email.id)
                        .bind(&email.unique_key)
                        .bind(&email.to_address)
                        .bind(&email.subject)
                        .bind(&email.text_body)
                        .bind(&email.html_body)
                        .bind(&email.template)
                        .bind("pending")
                        .bind(0_i64)
                        .bind(email.next_attempt_at)
                        .bind(email.created_at);
                }
                query.execute(&mut *self).await?;
            }
            Ok(())
        }
    }
}

impl Store {
    pub async fn compose_email(&self, email: &Email) -> Result<()> {
        write!(self, |c| c.insert_email(email).await)
    }

    /// Every e-mail to an address (any case), oldest first.
    pub async fn emails_to(&self, address: &str) -> Result<Vec<Email>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT * FROM emails WHERE lower(to_address) = lower($1) ORDER BY created_at, id"
        )
        .bind(address)
        .fetch_all(&mut *c)
        .await?))
    }

    /// The newest e-mails, newest first, for the demo mailbox.
    pub async fn recent_emails(&self, limit: i64) -> Result<Vec<Email>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT * FROM emails ORDER BY created_at DESC, id DESC LIMIT $1"
        )
        .bind(limit)
        .fetch_all(&mut *c)
        .await?))
    }

    /// Claims up to `limit` e-mails due for delivery at `now` by pushing their next attempt to `lease_until`, so
    /// that another worker does not send them meanwhile. The outer `next_attempt_at <= $2` makes a concurrent
    /// claimer on PostgreSQL skip rows the first one took.
    pub async fn claim_due_emails(&self, now: i64, lease_until: i64, limit: i64) -> Result<Vec<Email>> {
        write!(self, |c| Ok::<_, StoreError>(
            sqlx::query_as(
                "UPDATE emails SET next_attempt_at = $1
                 WHERE state = 'pending' AND next_attempt_at <= $2 AND id IN
                     (SELECT id FROM emails WHERE state = 'pending' AND next_attempt_at <= $2
                      ORDER BY next_attempt_at, id LIMIT $3)
                 RETURNING *",
            )
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?
        ))
    }

    pub async fn mark_email_sent(&self, id: &str, at: i64) -> Result<()> {
        write!(self, |c| {
            sqlx::query("UPDATE emails SET state = 'sent', attempts = attempts + 1, sent_at = $1, last_error = NULL WHERE id = $2")
                .bind(at)
                .bind(id)
                .execute(&mut *c)
                .await?;
            Ok::<_, StoreError>(())
        })
    }

    /// Records a failed delivery: retried at `retry_at`, or given up (`failed`) when `retry_at` is `None`.
    pub async fn mark_email_attempt_failed(&self, id: &str, error: &str, retry_at: Option<i64>) -> Result<()> {
        write!(self, |c| {
            sqlx::query(
                "UPDATE emails SET attempts = attempts + 1, last_error = $1,
                                   state = CASE WHEN $2 IS NULL THEN 'failed' ELSE 'pending' END,
                                   next_attempt_at = COALESCE($2, next_attempt_at)
                 WHERE id = $3",
            )
            .bind(error)
            .bind(retry_at)
            .bind(id)
            .execute(&mut *c)
            .await?;
            Ok::<_, StoreError>(())
        })
    }
}
