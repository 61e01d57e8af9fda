//! What seller settlement reads and writes (docs/rules.md R29): each month's bill lines and usage per customer and
//! product, the positions charged so far, and each run's ledger transactions, written with the new positions.

use sqlx::{AssertSqlSafe, FromRow};

use crate::ledger::{LedgerQueries, LedgerTransaction};
use crate::{Result, Store, StoreError, read, write};

/// A bill line with what settlement needs to place it in its month and to know whether it was collected.
#[derive(Debug, Clone, FromRow)]
pub struct SettlementLine {
    pub customer_id: String,
    pub product_id: String,
    pub subscription_id: String,
    pub seller_id: String,
    pub bill_kind: String,
    pub period: String,
    pub issued_at: i64,
    pub status: String,
    pub kind: String,
    pub usage_month: Option<String>,
    pub dimension: Option<String>,
    pub quantity: Option<String>,
    pub amount_cents: i64,
}

/// A day's usage of one dimension, whose base cost the seller pays.
#[derive(Debug, Clone, FromRow)]
pub struct SettlementUsage {
    pub customer_id: String,
    pub product_id: String,
    pub subscription_id: String,
    pub seller_id: String,
    pub month: String,
    pub dimension: String,
    pub quantity: String,
}

/// What a customer × product × month has been charged to its seller so far.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct Position {
    pub customer_id: String,
    pub product_id: String,
    pub month: String,
    pub seller_id: String,
    pub cost_cents: i64,
    pub total_cents: i64,
}

impl Store {
    /// The lines of bills issued at or after `since` that are not void, with their customer, product and seller;
    /// of one seller's products only when `seller_id` is given.
    pub async fn settlement_lines(&self, since: i64, seller_id: Option<&str>) -> Result<Vec<SettlementLine>> {
        let sql = format!(
            "SELECT b.customer_id, l.product_id, l.subscription_id, p.seller_id, b.kind AS bill_kind, b.period,
                    b.issued_at, b.status, l.kind, l.usage_month, l.dimension, l.quantity, l.amount_cents
             FROM bill_lines l JOIN bills b ON b.id = l.bill_id JOIN products p ON p.id = l.product_id
             WHERE b.issued_at >= $1 AND b.status <> 'void'{}
             ORDER BY b.customer_id, l.product_id",
            seller_clause(seller_id, 2)
        );
        read!(self, |c| {
            let mut query = sqlx::query_as(AssertSqlSafe(sql)).bind(since);
            if let Some(seller_id) = seller_id {
                query = query.bind(seller_id);
            }
            Ok(query.fetch_all(&mut *c).await?)
        })
    }

    /// Every day total of usage in the months from `first` to `last` (`YYYY-MM`, inclusive), late ones included,
    /// with the seller of its product; of one seller's products only when `seller_id` is given.
    pub async fn settlement_usage(
        &self,
        first: &str,
        last: &str,
        seller_id: Option<&str>,
    ) -> Result<Vec<SettlementUsage>> {
        let sql = format!(
            "SELECT u.customer_id, u.product_id, u.subscription_id, p.seller_id, u.month, u.dimension, u.quantity
             FROM usage_daily u JOIN products p ON p.id = u.product_id
             WHERE u.month >= $1 AND u.month <= $2{}",
            seller_clause(seller_id, 3)
        );
        read!(self, |c| {
            let mut query = sqlx::query_as(AssertSqlSafe(sql)).bind(first).bind(last);
            if let Some(seller_id) = seller_id {
                query = query.bind(seller_id);
            }
            Ok(query.fetch_all(&mut *c).await?)
        })
    }

    /// The positions of the months from `first` to `last`.
    pub async fn settlement_positions(&self, first: &str, last: &str) -> Result<Vec<Position>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT * FROM settlement_positions WHERE month >= $1 AND month <= $2"
        )
        .bind(first)
        .bind(last)
        .fetch_all(&mut *c)
        .await?))
    }

    /// Per product of the seller: how many bills collected in `[from, to)` incur the per-bill fee for it (its
    /// lines on the bill total more than 0.00, R28).
    pub async fn fee_bill_counts(&self, seller_id: &str, from: i64, to: i64) -> Result<Vec<(String, i64)>> {
        read!(self, |c| {
            Ok(sqlx::query_as(
            "SELECT product_id, CAST(COUNT(*) AS BIGINT) FROM (
                 SELECT l.product_id, l.bill_id FROM bill_lines l
                 JOIN bills b ON b.id = l.bill_id JOIN products p ON p.id = l.product_id
                 WHERE p.seller_id = $1 AND b.status = 'paid' AND b.kind <> 'refund' AND b.paid_at >= $2 AND b.paid_at < $3
                 GROUP BY l.product_id, l.bill_id HAVING SUM(l.amount_cents) > 0) AS fee_bills
             GROUP BY product_id"
        )
        .bind(seller_id)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *c)
        .await?)
        })
    }

    /// Whether a bill was collected in `[from, to)`: the settlement after a collection day (R29).
    pub async fn collected_between(&self, from: i64, to: i64) -> Result<bool> {
        read!(self, |c| {
            let row: Option<(String,)> = sqlx::query_as(
                "SELECT id FROM ledger_transactions WHERE kind = 'collection' AND at >= $1 AND at < $2 LIMIT 1",
            )
            .bind(from)
            .bind(to)
            .fetch_optional(&mut *c)
            .await?;
            Ok(row.is_some())
        })
    }

    /// Books one seller's settlement charge with the positions it brings up to date, in one transaction. False,
    /// writing nothing, when that run's charge for the seller was booked already (its unique key).
    pub async fn settle_seller(&self, charge: &LedgerTransaction, positions: &[Position]) -> Result<bool> {
        let booked = write!(self, |c| {
            c.insert_ledger_transaction(charge).await?;
            for p in positions {
                sqlx::query(
                    "INSERT INTO settlement_positions (customer_id, product_id, month, seller_id, cost_cents, total_cents)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (customer_id, product_id, month)
                     DO UPDATE SET cost_cents = excluded.cost_cents, total_cents = excluded.total_cents",
                )
                .bind(&p.customer_id)
                .bind(&p.product_id)
                .bind(&p.month)
                .bind(&p.seller_id)
                .bind(p.cost_cents)
                .bind(p.total_cents)
                .execute(&mut *c)
                .await?;
            }
            Ok::<_, StoreError>(true)
        });
        match booked {
            Err(StoreError::Conflict) => Ok(false),
            other => other,
        }
    }
}

/// The condition on `p.seller_id`, parameter `n`, when the reads are for one seller; none when they are for all.
fn seller_clause(seller_id: Option<&str>, n: usize) -> String {
    match seller_id {
        Some(_) => format!(" AND p.seller_id = ${n}"),
        None => String::new(),
    }
}
