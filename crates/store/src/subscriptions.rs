//! Subscriptions, orders and activation keys.

use sqlx::FromRow;

use crate::bills::{BillQueries, NewBill, StartedAttempt};
use crate::outbox::{Email, OutboxQueries};
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

/// A subscription with what a customer's pages show of its product and seller.
#[derive(Debug, Clone, FromRow)]
pub struct CustomerSubscription {
    pub id: String,
    pub state: String,
    pub created_at: i64,
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
}

queries! {
    pub(crate) trait SubscriptionQueries {
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
                attempt = c.open_attempt(&bill.bill.id, s.created_at).await?;
            }
            for email in order.emails {
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
            "SELECT s.id, s.state, s.created_at, p.id AS product_id, p.code AS product_code, p.name AS product_name,
                    p.redirect_url, v.company_name
             FROM subscriptions s JOIN products p ON p.id = s.product_id JOIN sellers v ON v.id = p.seller_id
             WHERE s.customer_id = $1 AND s.state <> 'canceled' ORDER BY s.created_at, s.id",
        )
        .bind(customer_id)
        .fetch_all(&mut *c)
        .await?)
        })
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
