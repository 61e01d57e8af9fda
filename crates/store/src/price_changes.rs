//! Price changes (docs/rules.md R25-R27): scheduling with the new price version, withdrawal, acceptances, and
//! what a change does to each subscription when it takes effect.

use sqlx::FromRow;

use crate::bills::StartedAttempt;
use crate::outbox::{Email, OutboxQueries};
use crate::point_read::point_row;
use crate::subscriptions::{FeeSettlement, SubscriptionQueries};
use crate::{Result, Store, StoreError, read, write};

#[derive(Debug, Clone, FromRow)]
pub struct PriceChange {
    pub id: String,
    pub product_id: String,
    pub effective_at: i64,
    /// `passive` or `active`.
    pub mode: String,
    pub pricing: String,
    pub configurations: String,
    pub message: Option<String>,
    /// `pending`, `effective` or `withdrawn`.
    pub state: String,
    pub created_at: i64,
    pub closed_at: Option<i64>,
}

/// A change's effect on one subscription's fee for the month it took effect in (R26).
#[derive(Debug, Clone, FromRow)]
pub struct FeeDifference {
    pub subscription_id: String,
    pub change_id: String,
    pub customer_id: String,
    pub product_id: String,
    /// New minus old fee for the rest of the month: negative for a decrease.
    pub amount_cents: i64,
    pub description: String,
    /// The bill that settled it: the refund, the reduced bill, or the 1st's bill that carries an increase.
    pub bill_id: Option<String>,
}

point_row!(FeeDifference {
    subscription_id,
    change_id,
    customer_id,
    product_id,
    amount_cents,
    description,
    bill_id
});

/// Everything a change that takes effect does to one subscription that stays.
pub struct Effect<'a> {
    pub difference: &'a FeeDifference,
    /// How a decrease is given back; `Nothing` for an increase (the next 1st's bill carries it).
    pub settlement: FeeSettlement<'a>,
    pub at: i64,
    pub email: &'a Email,
}

impl Store {
    /// Schedules a change: its record, its price version (same id, from its effective instant) and the customers'
    /// notifications. [`StoreError::Conflict`], writing nothing, when the product has a pending change (R25).
    pub async fn schedule_price_change(&self, change: &PriceChange, emails: &[Email]) -> Result<()> {
        write!(self, |c| {
            sqlx::query(
                "INSERT INTO price_changes (id, product_id, effective_at, mode, pricing, configurations, message, state,
                                            created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8)",
            )
            .bind(&change.id)
            .bind(&change.product_id)
            .bind(change.effective_at)
            .bind(&change.mode)
            .bind(&change.pricing)
            .bind(&change.configurations)
            .bind(&change.message)
            .bind(change.created_at)
            .execute(&mut *c)
            .await?;
            sqlx::query(
                "INSERT INTO price_versions (id, product_id, effective_at, pricing, configurations)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&change.id)
            .bind(&change.product_id)
            .bind(change.effective_at)
            .bind(&change.pricing)
            .bind(&change.configurations)
            .execute(&mut *c)
            .await?;
            c.insert_emails(&emails.iter().collect::<Vec<_>>()).await?;
            Ok::<_, StoreError>(())
        })
    }

    /// Withdraws a pending change before its instant: its price version goes, the customers are told.
    /// [`StoreError::NotFound`] when it is no longer pending (it was withdrawn meanwhile) or its instant has come
    /// (it is taking effect).
    pub async fn withdraw_price_change(&self, change_id: &str, at: i64, emails: &[Email]) -> Result<()> {
        write!(self, |c| {
            let withdrawn = sqlx::query(
                "UPDATE price_changes SET state = 'withdrawn', closed_at = $1
                 WHERE id = $2 AND state = 'pending' AND effective_at > $1",
            )
            .bind(at)
            .bind(change_id)
            .execute(&mut *c)
            .await?;
            if withdrawn.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            sqlx::query("DELETE FROM price_versions WHERE id = $1")
                .bind(change_id)
                .execute(&mut *c)
                .await?;
            c.insert_emails(&emails.iter().collect::<Vec<_>>()).await?;
            Ok::<_, StoreError>(())
        })
    }

    /// The product's pending change, if any.
    pub async fn pending_price_change(&self, product_id: &str) -> Result<Option<PriceChange>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT * FROM price_changes WHERE product_id = $1 AND state = 'pending'"
        )
        .bind(product_id)
        .fetch_optional(&mut *c)
        .await?))
    }

    /// Pending changes due by `at`, in the order they fall due.
    pub async fn price_changes_due(&self, at: i64) -> Result<Vec<PriceChange>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT * FROM price_changes WHERE state = 'pending' AND effective_at <= $1 ORDER BY effective_at, id"
        )
        .bind(at)
        .fetch_all(&mut *c)
        .await?))
    }

    /// Records that a customer accepted a change; accepting twice is accepting once.
    pub async fn accept_price_change(&self, change_id: &str, customer_id: &str, at: i64) -> Result<()> {
        write!(self, |c| {
            sqlx::query(
                "INSERT INTO price_change_acceptances (change_id, customer_id, accepted_at) VALUES ($1, $2, $3)
                 ON CONFLICT (change_id, customer_id) DO NOTHING",
            )
            .bind(change_id)
            .bind(customer_id)
            .bind(at)
            .execute(&mut *c)
            .await?;
            Ok::<_, StoreError>(())
        })
    }

    /// How many customers accepted a change.
    pub async fn accepted_count(&self, change_id: &str) -> Result<i64> {
        read!(self, |c| {
            let (count,): (i64,) =
                sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM price_change_acceptances WHERE change_id = $1")
                    .bind(change_id)
                    .fetch_one(&mut *c)
                    .await?;
            Ok(count)
        })
    }

    /// Whether a customer accepted a change.
    pub async fn has_accepted(&self, change_id: &str, customer_id: &str) -> Result<bool> {
        read!(self, |c| {
            let row: Option<(String,)> = sqlx::query_as(
                "SELECT customer_id FROM price_change_acceptances WHERE change_id = $1 AND customer_id = $2",
            )
            .bind(change_id)
            .bind(customer_id)
            .fetch_optional(&mut *c)
            .await?;
            Ok(row.is_some())
        })
    }

    /// The customers who accepted a change.
    pub async fn price_change_acceptances(&self, change_id: &str) -> Result<Vec<String>> {
        read!(self, |c| {
            let rows: Vec<(String,)> =
                sqlx::query_as("SELECT customer_id FROM price_change_acceptances WHERE change_id = $1")
                    .bind(change_id)
                    .fetch_all(&mut *c)
                    .await?;
            Ok(rows.into_iter().map(|(id,)| id).collect())
        })
    }

    /// Applies a change to subscriptions that stay, in one transaction: for each, records its fee difference,
    /// settles a decrease, and puts the confirmation in the outbox. Each answer is `None` when that subscription's
    /// effect was applied already (a repeated midnight), else the refund's first attempt when there is one to make.
    /// A process applying the same change at the same moment makes this fail, and everything here is rolled back.
    pub async fn apply_price_change(&self, effects: &[Effect<'_>]) -> Result<Vec<Option<Option<StartedAttempt>>>> {
        write!(self, |c| {
            let mut applied = Vec::with_capacity(effects.len());
            for effect in effects {
                let d = effect.difference;
                let done: Option<(String,)> = sqlx::query_as(
                    "SELECT subscription_id FROM fee_differences WHERE subscription_id = $1 AND change_id = $2",
                )
                .bind(&d.subscription_id)
                .bind(&d.change_id)
                .fetch_optional(&mut *c)
                .await?;
                if done.is_some() {
                    applied.push(None);
                    continue;
                }
                // The settlement first: the record names the bill it writes.
                let attempt = c.settle_fee(&effect.settlement, effect.at).await?;
                sqlx::query(
                    "INSERT INTO fee_differences (subscription_id, change_id, customer_id, product_id, amount_cents,
                                                  description, bill_id)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&d.subscription_id)
                .bind(&d.change_id)
                .bind(&d.customer_id)
                .bind(&d.product_id)
                .bind(d.amount_cents)
                .bind(&d.description)
                .bind(&d.bill_id)
                .execute(&mut *c)
                .await?;
                c.insert_email(effect.email).await?;
                applied.push(Some(attempt));
            }
            Ok::<_, StoreError>(applied)
        })
    }

    /// Marks a change as in effect, once every subscription has had its effect.
    pub async fn close_price_change(&self, change_id: &str, at: i64) -> Result<()> {
        write!(self, |c| {
            sqlx::query(
                "UPDATE price_changes SET state = 'effective', closed_at = $1 WHERE id = $2 AND state = 'pending'",
            )
            .bind(at)
            .bind(change_id)
            .execute(&mut *c)
            .await?;
            Ok::<_, StoreError>(())
        })
    }

    /// Increases owed by these customers that no bill carries yet (R26).
    pub async fn owed_fee_differences(&self, customer_ids: &[&str]) -> Result<Vec<FeeDifference>> {
        if customer_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.point_rows(
            |backend| {
                format!(
                    "SELECT subscription_id, change_id, customer_id, product_id, amount_cents, description, bill_id
                     FROM fee_differences
                     WHERE customer_id IN {} AND bill_id IS NULL AND amount_cents > 0
                     ORDER BY customer_id, subscription_id, change_id",
                    crate::placeholders(backend, 1, customer_ids.len())
                )
            },
            customer_ids,
        )
        .await
    }
}
