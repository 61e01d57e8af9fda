//! Bills, their lines, and payment attempts. A bill is charged through attempts: [`Store::begin_attempt`] opens
//! one (at most one at a time per bill), the gateway is called with the key `{bill}:{attempt}`, and
//! [`Store::finish_attempt`] records the outcome with everything that follows from it in one transaction.

use std::collections::HashSet;

use sqlx::{AssertSqlSafe, FromRow};

use crate::ledger::{LedgerQueries, LedgerTransaction};
use crate::outbox::{Email, OutboxQueries};
use crate::products::Product;
use crate::{
    Dialect, ROWS_PER_STATEMENT, Result, Store, StoreError, placeholders, queries, read, typed_placeholders, write,
};

#[derive(Debug, Clone, FromRow)]
pub struct Bill {
    pub id: String,
    pub customer_id: String,
    pub kind: String,
    pub period: String,
    pub subscription_id: Option<String>,
    pub event_key: Option<String>,
    pub issued_at: i64,
    pub total_cents: i64,
    pub status: String,
    pub attempts: i64,
    pub open_attempt: Option<i64>,
    pub paid_at: Option<i64>,
    /// For a refund bill: the bill whose charge it pays back.
    pub refund_of: Option<String>,
}

/// A bill with the subscription whose fee it carries.
#[derive(FromRow)]
struct FeeBill {
    fee_subscription_id: String,
    #[sqlx(flatten)]
    bill: Bill,
}

#[derive(Debug, Clone, FromRow)]
pub struct BillLine {
    pub bill_id: String,
    pub position: i64,
    pub product_id: String,
    pub subscription_id: String,
    pub kind: String,
    pub dimension: Option<String>,
    pub quantity: Option<String>,
    pub amount_cents: i64,
    pub description: String,
    /// The month of activity the line charges when it is not the bill's own: a usage line's month of usage
    /// (R14, R19), or the month a price change's fee increase covers (R26).
    pub usage_month: Option<String>,
}

/// A bill line with the product's code and seller, as reports and deposits need them.
#[derive(Debug, Clone, FromRow)]
pub struct BillLineView {
    pub bill_id: String,
    pub product_code: String,
    pub seller_id: String,
    pub kind: String,
    pub dimension: Option<String>,
    pub quantity: Option<String>,
    pub amount_cents: i64,
    pub description: String,
    pub usage_month: Option<String>,
}

impl BillLineView {
    /// A line about to be written, with its product's code and seller.
    pub fn of(line: &BillLine, product: &Product) -> BillLineView {
        BillLineView {
            bill_id: line.bill_id.clone(),
            product_code: product.code.clone(),
            seller_id: product.seller_id.clone(),
            kind: line.kind.clone(),
            dimension: line.dimension.clone(),
            quantity: line.quantity.clone(),
            amount_cents: line.amount_cents,
            description: line.description.clone(),
            usage_month: line.usage_month.clone(),
        }
    }
}

pub struct NewBill {
    pub bill: Bill,
    pub lines: Vec<BillLine>,
}

/// A gateway call about to be made.
#[derive(Debug, Clone)]
pub struct StartedAttempt {
    pub bill: Bill,
    pub attempt: i64,
    pub gateway_token: String,
}

impl StartedAttempt {
    /// The gateway's idempotency key (R20): the same attempt never charges twice, even when retried after a crash.
    pub fn idempotency_key(&self) -> String {
        format!("{}:{}", self.bill.id, self.attempt)
    }
}

/// The outcome of an attempt and what follows from it.
pub struct AttemptOutcome<'a> {
    pub bill_id: &'a str,
    pub attempt: i64,
    pub at: i64,
    pub succeeded: bool,
    pub gateway_reference: Option<&'a str>,
    pub message: Option<&'a str>,
    /// The collection, when the charge succeeded.
    pub ledger: Option<&'a LedgerTransaction>,
    /// A pending subscription that a successful sign-up charge activates.
    pub activate_subscription: Option<&'a str>,
    pub emails: &'a [Email],
}

queries! {
    pub(crate) trait BillQueries {
        async fn insert_bill(&mut self, new: &NewBill) -> Result<()> {
            self.insert_bills(&[&new.bill]).await?;
            self.insert_bill_lines(&new.lines.iter().collect::<Vec<_>>()).await
        }

        async fn insert_bill_line(&mut self, line: &BillLine) -> Result<()> {
            self.insert_bill_lines(&[line]).await
        }

        /// Writes bills as they are, attempt counters included, with multi-row statements.
        async fn insert_bills(&mut self, bills: &[&Bill]) -> Result<()> {
            for rows in bills.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "INSERT INTO bills (id, customer_id, kind, period, subscription_id, event_key, issued_at, total_cents,
                                        status, attempts, open_attempt, paid_at, refund_of) VALUES {}",
                    placeholders(<Self as Dialect>::BACKEND, rows.len(), 13)
                );
                let mut query = sqlx::query(AssertSqlSafe(sql));
                for b in rows {
                    query = query
                        .bind(&b.id)
                        .bind(&b.customer_id)
                        .bind(&b.kind)
                        .bind(&b.period)
                        .bind(&b.subscription_id)
                        .bind(&b.event_key)
                        .bind(b.issued_at)
                        .bind(b.total_cents)
                        .bind(&b.status)
                        .bind(b.attempts)
                        .bind(b.open_attempt)
                        .bind(b.paid_at)
                        .bind(&b.refund_of);
                }
                query.execute(&mut *self).await?;
            }
            Ok(())
        }

        async fn insert_bill_lines(&mut self, lines: &[&BillLine]) -> Result<()> {
            for rows in lines.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "INSERT INTO bill_lines (bill_id, position, product_id, subscription_id, kind, dimension, quantity,
                                             amount_cents, description, usage_month) VALUES {}",
                    placeholders(<Self as Dialect>::BACKEND, rows.len(), 10)
                );
                let mut query = sqlx::query(AssertSqlSafe(sql));
                for l in rows {
                    query = query
                        .bind(&l.bill_id)
                        .bind(l.position)
                        .bind(&l.product_id)
                        .bind(&l.subscription_id)
                        .bind(&l.kind)
                        .bind(&l.dimension)
                        .bind(&l.quantity)
                        .bind(l.amount_cents)
                        .bind(&l.description)
                        .bind(&l.usage_month);
                }
                query.execute(&mut *self).await?;
            }
            Ok(())
        }

        /// Opens the next attempt on a collectible bill (a charge) or an unsettled refund bill with a card on file;
        /// `None` when there is nothing to do, an attempt is under way, or an attempt in `slot` was made already.
        async fn open_attempt(&mut self, bill_id: &str, at: i64, slot: Option<&str>) -> Result<Option<StartedAttempt>> {
            if let Some(slot) = slot {
                let made: Option<(i64,)> =
                    sqlx::query_as("SELECT attempt FROM payment_attempts WHERE bill_id = $1 AND slot = $2")
                        .bind(bill_id)
                        .bind(slot)
                        .fetch_optional(&mut *self)
                        .await?;
                if made.is_some() {
                    return Ok(None);
                }
            }
            let token: Option<(String,)> = sqlx::query_as(
                "SELECT m.gateway_token FROM payment_methods m JOIN bills b ON b.customer_id = m.customer_id WHERE b.id = $1",
            )
            .bind(bill_id)
            .fetch_optional(&mut *self)
            .await?;
            let Some((gateway_token,)) = token else {
                return Ok(None);
            };
            // The row lock of this UPDATE, and its re-checked condition, let only one opener win on PostgreSQL.
            let bill: Option<Bill> = sqlx::query_as(
                "UPDATE bills SET attempts = attempts + 1, open_attempt = attempts + 1
                 WHERE id = $1 AND status IN ('pending', 'failed') AND total_cents <> 0 AND open_attempt IS NULL
                 RETURNING *",
            )
            .bind(bill_id)
            .fetch_optional(&mut *self)
            .await?;
            let Some(bill) = bill else { return Ok(None) };
            let attempt = bill.attempts;
            // Two workers that both passed the check above meet here: the slot's unique index refuses the second.
            sqlx::query(
                "INSERT INTO payment_attempts (bill_id, attempt, amount_cents, started_at, slot) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(bill_id)
            .bind(attempt)
            .bind(bill.total_cents)
            .bind(at)
            .bind(slot)
            .execute(&mut *self)
            .await?;
            Ok(Some(StartedAttempt {
                bill,
                attempt,
                gateway_token,
            }))
        }

        async fn record_fee_charged(&mut self, subscription_id: &str, month: &str, bill_id: &str) -> Result<()> {
            sqlx::query("INSERT INTO monthly_fees_charged (subscription_id, month, bill_id) VALUES ($1, $2, $3)")
                .bind(subscription_id)
                .bind(month)
                .bind(bill_id)
                .execute(&mut *self)
                .await?;
            Ok(())
        }

        async fn record_outcomes(&mut self, outcomes: &[AttemptOutcome<'_>]) -> Result<Vec<bool>> {
            let backend = <Self as Dialect>::BACKEND;
            let mut recorded: HashSet<(String, i64)> = HashSet::new();
            // Only attempts still open are finished, and only theirs are the consequences written below.
            for rows in outcomes.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "WITH done (bill_id, attempt, finished_at, outcome, gateway_reference, message) AS (VALUES {})
                     UPDATE payment_attempts SET finished_at = done.finished_at, outcome = done.outcome,
                                                 gateway_reference = done.gateway_reference, message = done.message
                     FROM done
                     WHERE payment_attempts.bill_id = done.bill_id AND payment_attempts.attempt = done.attempt
                       AND payment_attempts.outcome IS NULL
                     RETURNING payment_attempts.bill_id, payment_attempts.attempt",
                    typed_placeholders(backend, rows.len(), &["text", "bigint", "bigint", "text", "text", "text"])
                );
                let mut query = sqlx::query_as::<_, (String, i64)>(AssertSqlSafe(sql));
                for o in rows {
                    query = query
                        .bind(o.bill_id)
                        .bind(o.attempt)
                        .bind(o.at)
                        .bind(if o.succeeded { "succeeded" } else { "declined" })
                        .bind(o.gateway_reference)
                        .bind(o.message);
                }
                recorded.extend(query.fetch_all(&mut *self).await?);
            }
            let was_recorded: Vec<bool> = outcomes
                .iter()
                .map(|o| recorded.contains(&(o.bill_id.to_owned(), o.attempt)))
                .collect();
            let now: Vec<&AttemptOutcome<'_>> =
                outcomes.iter().zip(&was_recorded).filter(|(_, r)| **r).map(|(o, _)| o).collect();
            for rows in now.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "WITH done (bill_id, status, paid_at) AS (VALUES {})
                     UPDATE bills SET status = done.status, open_attempt = NULL, paid_at = COALESCE(done.paid_at, bills.paid_at)
                     FROM done WHERE bills.id = done.bill_id",
                    typed_placeholders(backend, rows.len(), &["text", "text", "bigint"])
                );
                let mut query = sqlx::query(AssertSqlSafe(sql));
                for o in rows {
                    query = query
                        .bind(o.bill_id)
                        .bind(if o.succeeded { "paid" } else { "failed" })
                        .bind(o.succeeded.then_some(o.at));
                }
                query.execute(&mut *self).await?;
            }
            let ledger: Vec<&LedgerTransaction> = now.iter().filter_map(|o| o.ledger).collect();
            self.insert_ledger_transactions(&ledger).await?;
            for o in &now {
                if let Some(subscription_id) = o.activate_subscription {
                    sqlx::query(
                        "UPDATE subscriptions SET state = 'active', activated_at = $1 WHERE id = $2 AND state = 'pending'",
                    )
                    .bind(o.at)
                    .bind(subscription_id)
                    .execute(&mut *self)
                    .await?;
                }
            }
            let emails: Vec<&Email> = now.iter().flat_map(|o| o.emails).collect();
            self.insert_emails(&emails).await?;
            Ok(was_recorded)
        }
    }
}

impl Store {
    pub async fn bill(&self, id: &str) -> Result<Option<Bill>> {
        read!(self, |c| Ok(sqlx::query_as("SELECT * FROM bills WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *c)
            .await?))
    }

    /// The customer's bills, oldest first.
    pub async fn bills_of_customer(&self, customer_id: &str) -> Result<Vec<Bill>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT * FROM bills WHERE customer_id = $1 ORDER BY issued_at, id"
        )
        .bind(customer_id)
        .fetch_all(&mut *c)
        .await?))
    }

    /// The lines of the customer's bills, in bill and line order.
    pub async fn bill_lines_of_customer(&self, customer_id: &str) -> Result<Vec<BillLineView>> {
        read!(self, |c| {
            Ok(sqlx::query_as(
            "SELECT l.bill_id, p.code AS product_code, p.seller_id, l.kind, l.dimension, l.quantity, l.amount_cents,
                    l.description, l.usage_month
             FROM bill_lines l JOIN bills b ON b.id = l.bill_id JOIN products p ON p.id = l.product_id
             WHERE b.customer_id = $1 ORDER BY b.issued_at, b.id, l.position",
        )
        .bind(customer_id)
        .fetch_all(&mut *c)
        .await?)
        })
    }

    pub async fn bill_lines(&self, bill_id: &str) -> Result<Vec<BillLineView>> {
        read!(self, |c| {
            Ok(sqlx::query_as(
            "SELECT l.bill_id, p.code AS product_code, p.seller_id, l.kind, l.dimension, l.quantity, l.amount_cents,
                    l.description, l.usage_month
             FROM bill_lines l JOIN products p ON p.id = l.product_id WHERE l.bill_id = $1 ORDER BY l.position",
        )
        .bind(bill_id)
        .fetch_all(&mut *c)
        .await?)
        })
    }

    /// The bill that carries a subscription's fee for a month (R20), if one does.
    pub async fn fee_bill(&self, subscription_id: &str, month: &str) -> Result<Option<Bill>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT b.* FROM monthly_fees_charged f JOIN bills b ON b.id = f.bill_id
             WHERE f.subscription_id = $1 AND f.month = $2"
        )
        .bind(subscription_id)
        .bind(month)
        .fetch_optional(&mut *c)
        .await?))
    }

    /// The bills that carry the fees of a product's subscriptions for a month (R20), by subscription.
    pub async fn fee_bills_of_product(&self, product_id: &str, month: &str) -> Result<Vec<(String, Bill)>> {
        read!(self, |c| {
            let rows: Vec<FeeBill> = sqlx::query_as(
                "SELECT f.subscription_id AS fee_subscription_id, b.*
                 FROM monthly_fees_charged f
                 JOIN subscriptions s ON s.id = f.subscription_id
                 JOIN bills b ON b.id = f.bill_id
                 WHERE s.product_id = $1 AND f.month = $2",
            )
            .bind(product_id)
            .bind(month)
            .fetch_all(&mut *c)
            .await?;
            Ok(rows.into_iter().map(|r| (r.fee_subscription_id, r.bill)).collect())
        })
    }

    /// A subscription's sign-up bill, if it had one.
    pub async fn signup_bill(&self, subscription_id: &str) -> Result<Option<Bill>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT * FROM bills WHERE subscription_id = $1 AND kind = 'signup'"
        )
        .bind(subscription_id)
        .fetch_optional(&mut *c)
        .await?))
    }

    /// The gateway's reference for the charge that paid a bill, which a refund of it names.
    pub async fn charge_reference(&self, bill_id: &str) -> Result<Option<String>> {
        read!(self, |c| {
            let row: Option<(Option<String>,)> = sqlx::query_as(
                "SELECT gateway_reference FROM payment_attempts WHERE bill_id = $1 AND outcome = 'succeeded'",
            )
            .bind(bill_id)
            .fetch_optional(&mut *c)
            .await?;
            Ok(row.and_then(|(reference,)| reference))
        })
    }

    /// The customer's bills that a new card retries (R10): issued, unpaid, not void, with something to pay.
    pub async fn collectible_bills(&self, customer_id: &str) -> Result<Vec<Bill>> {
        read!(self, |c| {
            Ok(sqlx::query_as(
                "SELECT * FROM bills WHERE customer_id = $1 AND status IN ('pending', 'failed') AND total_cents > 0
             ORDER BY issued_at, id",
            )
            .bind(customer_id)
            .fetch_all(&mut *c)
            .await?)
        })
    }

    /// Attempts left open by a crash between the gateway call and its record, to be finished with the same key.
    pub async fn open_attempts(&self) -> Result<Vec<StartedAttempt>> {
        let bills: Vec<Bill> = read!(self, |c| Ok::<_, StoreError>(
            sqlx::query_as("SELECT * FROM bills WHERE open_attempt IS NOT NULL ORDER BY issued_at, id")
                .fetch_all(&mut *c)
                .await?
        ))?;
        let mut started = Vec::with_capacity(bills.len());
        for bill in bills {
            let token: Option<(String,)> = read!(self, |c| Ok::<_, StoreError>(
                sqlx::query_as("SELECT gateway_token FROM payment_methods WHERE customer_id = $1")
                    .bind(&bill.customer_id)
                    .fetch_optional(&mut *c)
                    .await?
            ))?;
            if let (Some(attempt), Some((gateway_token,))) = (bill.open_attempt, token) {
                started.push(StartedAttempt {
                    attempt,
                    gateway_token,
                    bill,
                });
            }
        }
        Ok(started)
    }

    /// Opens the next attempt on a collectible or refund bill with a card on file. `None` when the bill is paid,
    /// void, free, already being charged, or the customer has no card.
    pub async fn begin_attempt(&self, bill_id: &str, at: i64) -> Result<Option<StartedAttempt>> {
        write!(self, |c| c.open_attempt(bill_id, at, None).await)
    }

    /// As [`Store::begin_attempt`], for an attempt made for a dated reason (`slot`, as `retry:2027-07-07`): `None`
    /// also when that slot's attempt was made already, so that doing a day's work twice charges once (R20, R22).
    pub async fn begin_attempt_in_slot(&self, bill_id: &str, at: i64, slot: &str) -> Result<Option<StartedAttempt>> {
        match write!(self, |c| c.open_attempt(bill_id, at, Some(slot)).await) {
            Err(StoreError::Conflict) => Ok(None),
            other => other,
        }
    }

    /// Records an attempt's outcome with its consequences. Returns false, writing nothing, when it was recorded
    /// already (a resumed attempt that another worker finished).
    pub async fn finish_attempt(&self, outcome: AttemptOutcome<'_>) -> Result<bool> {
        Ok(self
            .finish_attempts(std::slice::from_ref(&outcome))
            .await?
            .contains(&true))
    }

    /// Records the outcomes of many attempts with their consequences in one transaction of multi-row statements,
    /// as [`Store::finish_attempt`] does one: whether each was recorded now, in order. The consequences of an
    /// attempt that was recorded already are not written again.
    pub async fn finish_attempts(&self, outcomes: &[AttemptOutcome<'_>]) -> Result<Vec<bool>> {
        write!(self, |c| c.record_outcomes(outcomes).await)
    }
}
