//! What the monthly run reads and writes (docs/rules.md R19-R22): who has something to pay, the month's usage of
//! many customers at once, and the bills, each issued once per customer and period.

use std::collections::HashSet;

use sqlx::FromRow;

use crate::bills::{BillQueries, NewBill, StartedAttempt};
use crate::point_read::point_row;
use crate::{Result, Store, StoreError, placeholders, read, write};

/// A customer's usage of one dimension on one day, as the monthly run rates it.
#[derive(Debug, Clone, FromRow)]
pub struct CustomerUsage {
    pub customer_id: String,
    pub product_id: String,
    pub subscription_id: String,
    pub dimension: String,
    pub configuration: Option<String>,
    pub month: String,
    pub day: i64,
    pub late: bool,
    pub quantity: String,
}

point_row!(CustomerUsage {
    customer_id,
    product_id,
    subscription_id,
    dimension,
    configuration,
    month,
    day,
    late,
    quantity
});

#[derive(FromRow)]
struct Id {
    id: String,
}

point_row!(Id { id });

/// A monthly bill with the months of fees it charges, to be issued.
pub struct MonthlyBill {
    pub bill: NewBill,
    /// (subscription, month) of each monthly fee on the bill (R20).
    pub fees: Vec<(String, String)>,
}

/// What issuing a bill did.
pub enum Issued {
    /// The customer's bill for the period existed already: nothing was written.
    Existed,
    /// Issued; its first attempt is opened and to be made, unless the bill has nothing to pay (R21).
    New(Option<Box<StartedAttempt>>),
}

impl Store {
    /// The customers the run at `at` bills (R19), in id order: those with a subscription active then that began
    /// before it, and those with usage to bill: `period`'s usage received in time, and the month before's usage
    /// that arrived late (R14).
    pub async fn customers_to_bill(&self, period: &str, previous: &str, at: i64) -> Result<Vec<String>> {
        read!(self, |c| {
            let rows: Vec<(String,)> = sqlx::query_as(
                "SELECT customer_id FROM subscriptions WHERE state = 'active' AND created_at < $1
                 UNION
                 SELECT customer_id FROM usage_daily WHERE (month = $2 AND late = FALSE) OR (month = $3 AND late = TRUE)
                 ORDER BY 1",
            )
            .bind(at)
            .bind(period)
            .bind(previous)
            .fetch_all(&mut *c)
            .await?;
            Ok(rows.into_iter().map(|(id,)| id).collect())
        })
    }

    /// These customers' usage in `months`, by day.
    pub async fn usage_of_customers(&self, customer_ids: &[&str], months: [&str; 2]) -> Result<Vec<CustomerUsage>> {
        if customer_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut params = customer_ids.to_vec();
        params.extend(months);
        let count = customer_ids.len();
        self.point_rows(
            |backend| {
                let months = format!(
                    "({}, {})",
                    last_parameter(backend, count + 1),
                    last_parameter(backend, count + 2)
                );
                format!(
                    "SELECT customer_id, product_id, subscription_id, dimension, configuration, month, day, late, quantity
                     FROM usage_daily WHERE customer_id IN {} AND month IN {months} ORDER BY customer_id, key",
                    placeholders(backend, 1, count)
                )
            },
            &params,
        )
        .await
    }

    /// Which of these subscriptions have `month`'s fee charged on some bill already (R20).
    pub async fn fees_charged(&self, subscription_ids: &[&str], month: &str) -> Result<HashSet<String>> {
        if subscription_ids.is_empty() {
            return Ok(HashSet::new());
        }
        let mut params = subscription_ids.to_vec();
        params.push(month);
        let count = subscription_ids.len();
        let rows: Vec<Id> = self
            .point_rows(
                |backend| {
                    format!(
                        "SELECT subscription_id AS id FROM monthly_fees_charged WHERE subscription_id IN {} AND month = {}",
                        placeholders(backend, 1, count),
                        last_parameter(backend, count + 1)
                    )
                },
                &params,
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    /// Issues a customer's monthly bill with its fee records and opens its first attempt (slot `issue`), all in one
    /// transaction, so that a crash leaves either nothing or a bill whose charge the scheduler resumes.
    /// [`Issued::Existed`] when the customer's bill for the period was issued already, also by another process
    /// at the same moment.
    pub async fn issue_monthly_bill(&self, monthly: &MonthlyBill) -> Result<Issued> {
        let bill = &monthly.bill.bill;
        // In a block of its own, so that a refusal by a unique key anywhere in the transaction lands in `issued`.
        let issued = async {
            write!(self, |c| {
                let existing: Option<(String,)> =
                    sqlx::query_as("SELECT id FROM bills WHERE customer_id = $1 AND period = $2 AND kind = 'monthly'")
                        .bind(&bill.customer_id)
                        .bind(&bill.period)
                        .fetch_optional(&mut *c)
                        .await?;
                if existing.is_some() {
                    return Ok(Issued::Existed);
                }
                c.insert_bill(&monthly.bill).await?;
                for (subscription_id, month) in &monthly.fees {
                    c.record_fee_charged(subscription_id, month, &bill.id).await?;
                }
                let attempt = match bill.total_cents {
                    0 => None,
                    _ => c
                        .open_attempt(&bill.id, bill.issued_at, Some(ISSUE_SLOT))
                        .await?
                        .map(Box::new),
                };
                Ok::<_, StoreError>(Issued::New(attempt))
            })
        }
        .await;
        match issued {
            Err(StoreError::Conflict) => Ok(Issued::Existed),
            other => other,
        }
    }

    /// Subscriptions still `pending` that began before `at` (R10).
    pub async fn pending_subscriptions_before(&self, at: i64) -> Result<Vec<crate::subscriptions::Subscription>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT * FROM subscriptions WHERE state = 'pending' AND created_at < $1 ORDER BY created_at, id"
        )
        .bind(at)
        .fetch_all(&mut *c)
        .await?))
    }

    /// The monthly bills of a period in a status, oldest first.
    pub async fn monthly_bills(&self, period: &str, status: &str) -> Result<Vec<crate::bills::Bill>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT * FROM bills WHERE kind = 'monthly' AND period = $1 AND status = $2 ORDER BY issued_at, id"
        )
        .bind(period)
        .bind(status)
        .fetch_all(&mut *c)
        .await?))
    }

    /// How many monthly bills a period has, whatever their status.
    pub async fn monthly_bill_count(&self, period: &str) -> Result<i64> {
        read!(self, |c| {
            let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bills WHERE kind = 'monthly' AND period = $1")
                .bind(period)
                .fetch_one(&mut *c)
                .await?;
            Ok(count)
        })
    }

    /// The last midnight whose work the scheduler finished, if it has started.
    pub async fn schedule_done_through(&self, name: &str) -> Result<Option<i64>> {
        read!(self, |c| {
            let row: Option<(i64,)> = sqlx::query_as("SELECT done_through FROM schedule_progress WHERE name = $1")
                .bind(name)
                .fetch_optional(&mut *c)
                .await?;
            Ok(row.map(|(at,)| at))
        })
    }

    /// Records that the work due up to `at` is done; never moves backwards.
    pub async fn set_schedule_done_through(&self, name: &str, at: i64) -> Result<()> {
        write!(self, |c| {
            sqlx::query(
                "INSERT INTO schedule_progress (name, done_through) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET done_through = excluded.done_through
                 WHERE schedule_progress.done_through < excluded.done_through",
            )
            .bind(name)
            .bind(at)
            .execute(&mut *c)
            .await?;
            Ok::<_, StoreError>(())
        })
    }
}

/// The placeholder of the `n`th parameter (from 1) after a list made by [`placeholders`].
fn last_parameter(backend: crate::Backend, n: usize) -> String {
    match backend {
        crate::Backend::Sqlite => "?".to_owned(),
        crate::Backend::Postgres => format!("${n}"),
    }
}

/// The slot of a monthly bill's first charge, made when it is issued.
pub const ISSUE_SLOT: &str = "issue";
