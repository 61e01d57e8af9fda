//! Subscriptions, orders and activation keys.

use sqlx::FromRow;

use crate::bills::{BillLine, BillQueries, NewBill, StartedAttempt};
use crate::outbox::{Email, OutboxQueries};
use crate::point_read::point_row;
use crate::{Result, Store, StoreError, queries, read, write};

#[derive(Debug, Clone, FromRow)]
pub struct Subscription {
    pub id: String,
    pub customer_id: String,
    pub product_id: String,
    pub state: String,
    pub cancel_reason: Option<String>,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub canceled_at: Option<i64>,
}

point_row!(Subscription {
    id,
    customer_id,
    product_id,
    state,
    cancel_reason,
    created_at,
    activated_at,
    canceled_at
});

/// A subscription with what a customer's pages show of its product and seller.
#[derive(Debug, Clone, FromRow)]
pub struct CustomerSubscription {
    pub id: String,
    pub state: String,
    pub created_at: i64,
    pub canceled_at: Option<i64>,
    pub product_id: String,
    pub product_code: String,
    pub product_name: String,
    pub redirect_url: String,
    pub company_name: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct ActivationKey {
    pub key_hash: String,
    pub customer_id: String,
    pub product_id: String,
    pub created_at: i64,
}

/// Everything an order writes, in one transaction.
pub struct NewOrder<'a> {
    pub subscription: &'a Subscription,
    pub activation_key: &'a ActivationKey,
    pub bill: Option<&'a NewBill>,
    /// Months whose monthly fee this order's bill charges (R20).
    pub fee_months: &'a [String],
    pub emails: &'a [Email],
    /// The pending active price change the customer accepts by ordering (R27).
    pub accepts_price_change: Option<&'a str>,
}

/// How a cancellation settles the month's fee (R23, R10).
pub enum FeeSettlement<'a> {
    /// Nothing to give back: no fee this month, or none of it unused.
    Nothing,
    /// The fee was collected: a refund bill pays the unused part back through the gateway.
    Refund(&'a NewBill),
    /// The bill carrying the fee is unpaid: a negative line reduces it, and nothing is refunded.
    Reduce(&'a BillLine),
    /// A pending subscription's unpaid sign-up bill is closed uncollected.
    VoidSignup { bill_id: &'a str },
}

/// Everything a cancellation writes, in one transaction.
pub struct Cancellation<'a> {
    pub subscription_id: &'a str,
    pub reason: &'a str,
    pub at: i64,
    pub settlement: FeeSettlement<'a>,
    pub emails: &'a [Email],
}

queries! {
    pub(crate) trait SubscriptionQueries {
        /// Settles a month's fee as a cancellation or a price change decided (R23, R26): refunds it, reduces the unpaid
        /// bill carrying it, or voids an unpaid sign-up. [`StoreError::Conflict`] when the bill to reduce or void is
        /// no longer unpaid or has a charge under way. Returns a refund's first attempt, to be made by the caller.
        async fn settle_fee(&mut self, settlement: &FeeSettlement<'_>, at: i64) -> Result<Option<StartedAttempt>> {
            let mut attempt = None;
            match settlement {
                FeeSettlement::Nothing => {}
                FeeSettlement::Refund(bill) => {
                    self.insert_bill(bill).await?;
                    attempt = self.open_attempt(&bill.bill.id, at, None).await?;
                }
                FeeSettlement::Reduce(line) => {
                    let reduced = sqlx::query(
                        "UPDATE bills SET total_cents = total_cents + $1
                         WHERE id = $2 AND status IN ('pending', 'failed') AND open_attempt IS NULL",
                    )
                    .bind(line.amount_cents)
                    .bind(&line.bill_id)
                    .execute(&mut *self)
                    .await?;
                    if reduced.rows_affected() == 0 {
                        return Err(StoreError::Conflict);
                    }
                    let (position,): (i64,) =
                        sqlx::query_as("SELECT COALESCE(MAX(position), -1) + 1 FROM bill_lines WHERE bill_id = $1")
                            .bind(&line.bill_id)
                            .fetch_one(&mut *self)
                            .await?;
                    self.insert_bill_line(&BillLine {
                        position,
                        ..(*line).clone()
                    })
                    .await?;
                }
                FeeSettlement::VoidSignup { bill_id } => {
                    let voided = sqlx::query(
                        "UPDATE bills SET status = 'void'
                         WHERE id = $1 AND status IN ('pending', 'failed') AND open_attempt IS NULL",
                    )
                    .bind(bill_id)
                    .execute(&mut *self)
                    .await?;
                    if voided.rows_affected() == 0 {
                        return Err(StoreError::Conflict);
                    }
                }
            }
            Ok(attempt)
        }

        async fn insert_activation_key(&mut self, key: &ActivationKey) -> Result<()> {
            sqlx::query("INSERT INTO activation_keys (key_hash, customer_id, product_id, created_at) VALUES ($1, $2, $3, $4)")
                .bind(&key.key_hash)
                .bind(&key.customer_id)
                .bind(&key.product_id)
                .bind(key.created_at)
                .execute(&mut *self)
                .await?;
            Ok(())
        }
    }
}

impl Store {
    /// Places an order; [`StoreError::Conflict`] when the customer already has a pending or active subscription to
    /// the product (R11), and then nothing is written.
    ///
    /// A sign-up bill's first attempt is opened in the same transaction, so no other worker can take the bill for
    /// one never attempted while the order's own charge is under way; the attempt is returned to be made.
    pub async fn place_order(&self, order: NewOrder<'_>) -> Result<Option<StartedAttempt>> {
        write!(self, |c| {
            let s = order.subscription;
            sqlx::query(
                "INSERT INTO subscriptions (id, customer_id, product_id, state, created_at, activated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&s.id)
            .bind(&s.customer_id)
            .bind(&s.product_id)
            .bind(&s.state)
            .bind(s.created_at)
            .bind(s.activated_at)
            .execute(&mut *c)
            .await?;
            c.insert_activation_key(order.activation_key).await?;
            let mut attempt = None;
            if let Some(bill) = order.bill {
                c.insert_bill(bill).await?;
                for month in order.fee_months {
                    c.record_fee_charged(&s.id, month, &bill.bill.id).await?;
                }
                attempt = c.open_attempt(&bill.bill.id, s.created_at, None).await?;
            }
            if let Some(change) = order.accepts_price_change {
                sqlx::query(
                    "INSERT INTO price_change_acceptances (change_id, customer_id, accepted_at) VALUES ($1, $2, $3)
                     ON CONFLICT (change_id, customer_id) DO NOTHING",
                )
                .bind(change)
                .bind(&s.customer_id)
                .bind(s.created_at)
                .execute(&mut *c)
                .await?;
            }
            for email in order.emails {
                c.insert_email(email).await?;
            }
            Ok::<_, StoreError>(attempt)
        })
    }

    /// Cancels a pending or active subscription with its settlement, and opens a refund bill's first attempt (to be
    /// made by the caller). [`StoreError::Conflict`], writing nothing, when the subscription is canceled already or
    /// the bill to reduce or void is no longer unpaid or has a charge under way.
    pub async fn cancel_subscription(&self, cancellation: Cancellation<'_>) -> Result<Option<StartedAttempt>> {
        write!(self, |c| {
            let canceled = sqlx::query(
                "UPDATE subscriptions SET state = 'canceled', cancel_reason = $1, canceled_at = $2
                 WHERE id = $3 AND state <> 'canceled'",
            )
            .bind(cancellation.reason)
            .bind(cancellation.at)
            .bind(cancellation.subscription_id)
            .execute(&mut *c)
            .await?;
            if canceled.rows_affected() == 0 {
                return Err(StoreError::Conflict);
            }
            let attempt = c.settle_fee(&cancellation.settlement, cancellation.at).await?;
            for email in cancellation.emails {
                c.insert_email(email).await?;
            }
            Ok::<_, StoreError>(attempt)
        })
    }

    /// The customer's pending or active subscription to a product.
    pub async fn open_subscription(&self, customer_id: &str, product_id: &str) -> Result<Option<Subscription>> {
        read!(self, |c| {
            Ok(sqlx::query_as(
                "SELECT * FROM subscriptions WHERE customer_id = $1 AND product_id = $2 AND state <> 'canceled'",
            )
            .bind(customer_id)
            .bind(product_id)
            .fetch_optional(&mut *c)
            .await?)
        })
    }

    pub async fn subscription(&self, id: &str) -> Result<Option<Subscription>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT * FROM subscriptions WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(&mut *c)
        .await?))
    }

    /// The customer's pending and active subscriptions, oldest first.
    pub async fn open_subscriptions_of_customer(&self, customer_id: &str) -> Result<Vec<CustomerSubscription>> {
        read!(self, |c| {
            Ok(sqlx::query_as(
                "SELECT s.id, s.state, s.created_at, s.canceled_at, p.id AS product_id, p.code AS product_code,
                    p.name AS product_name, p.redirect_url, v.company_name
             FROM subscriptions s JOIN products p ON p.id = s.product_id JOIN sellers v ON v.id = p.seller_id
             WHERE s.customer_id = $1 AND s.state <> 'canceled' ORDER BY s.created_at, s.id",
            )
            .bind(customer_id)
            .fetch_all(&mut *c)
            .await?)
        })
    }

    /// The customer's subscriptions that were open at some instant at or after `since`, oldest first: what the
    /// billing page shows for the month starting then.
    pub async fn subscriptions_of_customer_since(
        &self,
        customer_id: &str,
        since: i64,
    ) -> Result<Vec<CustomerSubscription>> {
        read!(self, |c| {
            Ok(sqlx::query_as(
                "SELECT s.id, s.state, s.created_at, s.canceled_at, p.id AS product_id, p.code AS product_code,
                    p.name AS product_name, p.redirect_url, v.company_name
             FROM subscriptions s JOIN products p ON p.id = s.product_id JOIN sellers v ON v.id = p.seller_id
             WHERE s.customer_id = $1 AND (s.canceled_at IS NULL OR s.canceled_at >= $2)
             ORDER BY s.created_at, s.id",
            )
            .bind(customer_id)
            .bind(since)
            .fetch_all(&mut *c)
            .await?)
        })
    }

    /// Every subscription of these customers, oldest first.
    pub async fn subscriptions_of_customers(&self, customer_ids: &[&str]) -> Result<Vec<Subscription>> {
        if customer_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.point_rows(
            |backend| {
                format!(
                    "SELECT id, customer_id, product_id, state, cancel_reason, created_at, activated_at, canceled_at
                     FROM subscriptions WHERE customer_id IN {} ORDER BY created_at, id",
                    crate::placeholders(backend, 1, customer_ids.len())
                )
            },
            customer_ids,
        )
        .await
    }

    /// How many pending and active subscriptions a product has.
    pub async fn open_subscription_count(&self, product_id: &str) -> Result<i64> {
        read!(self, |c| {
            let (count,): (i64,) = sqlx::query_as(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM subscriptions WHERE product_id = $1 AND state <> 'canceled'",
            )
            .bind(product_id)
            .fetch_one(&mut *c)
            .await?;
            Ok(count)
        })
    }

    /// A product's pending and active subscriptions, oldest first.
    pub async fn open_subscriptions_to_product(&self, product_id: &str) -> Result<Vec<Subscription>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT * FROM subscriptions WHERE product_id = $1 AND state <> 'canceled' ORDER BY created_at, id"
        )
        .bind(product_id)
        .fetch_all(&mut *c)
        .await?))
    }

    /// The customer's subscriptions to a product, oldest first.
    pub async fn subscriptions_to_product(&self, customer_id: &str, product_id: &str) -> Result<Vec<Subscription>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT * FROM subscriptions WHERE customer_id = $1 AND product_id = $2 ORDER BY created_at, id"
        )
        .bind(customer_id)
        .bind(product_id)
        .fetch_all(&mut *c)
        .await?))
    }

    pub async fn add_activation_key(&self, key: &ActivationKey) -> Result<()> {
        write!(self, |c| c.insert_activation_key(key).await)
    }

    pub async fn activation_key(&self, key_hash: &str) -> Result<Option<ActivationKey>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT * FROM activation_keys WHERE key_hash = $1"
        )
        .bind(key_hash)
        .fetch_optional(&mut *c)
        .await?))
    }
}
