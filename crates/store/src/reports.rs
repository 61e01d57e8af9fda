//! What the seller's reports read (docs/rules.md R32): subscription counts, and the subscriptions of a month with
//! who their customers are.

use sqlx::FromRow;

use crate::{Result, Store, read};

/// One product's line of the subscription report (reference 9.3).
#[derive(Debug, Clone, FromRow)]
pub struct SubscriptionCounts {
    pub product_code: String,
    pub product_name: String,
    /// Subscriptions not canceled, to date.
    pub not_canceled: i64,
    /// Of those, the ones that began this month.
    pub new_not_canceled: i64,
    /// Cancellations this month, each one counted (repeats by one customer too).
    pub canceled: i64,
}

/// A subscription to one of the seller's products, with its customer as the revenue report names them.
#[derive(Debug, Clone, FromRow)]
pub struct ReportSubscription {
    pub subscription_id: String,
    pub customer_id: String,
    pub customer_name: String,
    pub customer_email: String,
    pub persistent_identifier: Option<String>,
    pub product_id: String,
    pub product_code: String,
    pub created_at: i64,
    pub canceled_at: Option<i64>,
}

impl Store {
    /// Per product of the seller, the counts of the subscription report for the month that began at `month_start`.
    pub async fn subscription_counts(&self, seller_id: &str, month_start: i64) -> Result<Vec<SubscriptionCounts>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT p.code AS product_code, p.name AS product_name,
                    CAST(COALESCE(SUM(CASE WHEN s.state <> 'canceled' THEN 1 ELSE 0 END), 0) AS BIGINT) AS not_canceled,
                    CAST(COALESCE(SUM(CASE WHEN s.state <> 'canceled' AND s.created_at >= $2 THEN 1 ELSE 0 END), 0)
                         AS BIGINT) AS new_not_canceled,
                    CAST(COALESCE(SUM(CASE WHEN s.canceled_at >= $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS canceled
             FROM products p LEFT JOIN subscriptions s ON s.product_id = p.id
             WHERE p.seller_id = $1
             GROUP BY p.id, p.code, p.name, p.created_at
             ORDER BY p.created_at, p.id"
        )
        .bind(seller_id)
        .bind(month_start)
        .fetch_all(&mut *c)
        .await?))
    }

    /// The subscriptions to the seller's products that were open at some instant of `[from, to)`, oldest first.
    pub async fn subscriptions_during(&self, seller_id: &str, from: i64, to: i64) -> Result<Vec<ReportSubscription>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT s.id AS subscription_id, a.id AS customer_id, a.name AS customer_name, a.email AS customer_email,
                    i.pid AS persistent_identifier, p.id AS product_id, p.code AS product_code, s.created_at,
                    s.canceled_at
             FROM subscriptions s
             JOIN products p ON p.id = s.product_id
             JOIN accounts a ON a.id = s.customer_id
             LEFT JOIN persistent_identifiers i ON i.customer_id = s.customer_id AND i.seller_id = p.seller_id
             WHERE p.seller_id = $1 AND s.created_at < $3 AND (s.canceled_at IS NULL OR s.canceled_at >= $2)
             ORDER BY s.created_at, s.id"
        )
        .bind(seller_id)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *c)
        .await?))
    }
}
