//! Usage records, the metering store that the billing page, the monthly bills and the reports share. A record
//! counts once per product and record id, forever (R15): the primary key decides, also between racing retries.

use std::collections::HashSet;
use std::sync::LazyLock;

use sqlx::{AssertSqlSafe, FromRow};

use crate::{Result, Store, StoreError, queries, read, write};

#[derive(Debug, Clone)]
pub struct UsageRecord {
    pub product_id: String,
    pub record_id: String,
    pub customer_id: String,
    pub subscription_id: String,
    pub dimension: String,
    pub quantity: String,
    pub configuration: Option<String>,
    pub occurred_at: i64,
    pub month: String,
    pub received_at: i64,
}

/// One record as a month's usage is added up.
#[derive(Debug, Clone, FromRow)]
pub struct UsageAmount {
    pub product_id: String,
    pub dimension: String,
    pub quantity: String,
    pub occurred_at: i64,
}

const COLUMNS: usize = 10;
/// Rows per INSERT statement: one statement text, prepared once, for the full chunks of every batch.
const ROWS_PER_INSERT: usize = 250;

/// `INSERT … VALUES ($1, …), …, ($…) ON CONFLICT DO NOTHING RETURNING product_id, record_id` for `rows` rows.
fn insert_statement(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO usage_records (product_id, record_id, customer_id, subscription_id, dimension, quantity,
                                    configuration, occurred_at, month, received_at) VALUES ",
    );
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..COLUMNS {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", row * COLUMNS + column + 1));
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (product_id, record_id) DO NOTHING RETURNING product_id, record_id");
    sql
}

static FULL_CHUNK: LazyLock<String> = LazyLock::new(|| insert_statement(ROWS_PER_INSERT));

queries! {
    pub(crate) trait UsageQueries {
        /// Inserts a record once; a second insert of the same (product, record id) does nothing (R15).
        async fn insert_usage(&mut self, record: &UsageRecord) -> Result<bool> {
            let done = sqlx::query(
                "INSERT INTO usage_records (product_id, record_id, customer_id, subscription_id, dimension, quantity,
                                            configuration, occurred_at, month, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (product_id, record_id) DO NOTHING",
            )
            .bind(&record.product_id)
            .bind(&record.record_id)
            .bind(&record.customer_id)
            .bind(&record.subscription_id)
            .bind(&record.dimension)
            .bind(&record.quantity)
            .bind(&record.configuration)
            .bind(record.occurred_at)
            .bind(&record.month)
            .bind(record.received_at)
            .execute(&mut *self)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        /// Inserts up to [`ROWS_PER_INSERT`] records in one statement; returns the keys of those that were new.
        async fn insert_usage_chunk(&mut self, records: &[UsageRecord]) -> Result<Vec<(String, String)>> {
            let sql = match records.len() {
                ROWS_PER_INSERT => FULL_CHUNK.clone(),
                rows => insert_statement(rows),
            };
            let mut query = sqlx::query_as::<_, (String, String)>(AssertSqlSafe(sql));
            for r in records {
                query = query
                    .bind(&r.product_id)
                    .bind(&r.record_id)
                    .bind(&r.customer_id)
                    .bind(&r.subscription_id)
                    .bind(&r.dimension)
                    .bind(&r.quantity)
                    .bind(&r.configuration)
                    .bind(r.occurred_at)
                    .bind(&r.month)
                    .bind(r.received_at);
            }
            Ok(query.fetch_all(&mut *self).await?)
        }
    }
}

impl Store {
    /// Inserts a batch of records with distinct (product, record id) in one transaction; returns, for each, whether
    /// it was new (`false`: a duplicate of one stored before, whose content stays).
    pub async fn insert_usage_batch(&self, records: &[UsageRecord]) -> Result<Vec<bool>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let inserted: HashSet<(String, String)> = write!(self, |c| {
            let mut inserted = HashSet::with_capacity(records.len());
            for chunk in records.chunks(ROWS_PER_INSERT) {
                inserted.extend(c.insert_usage_chunk(chunk).await?);
            }
            Ok::<_, StoreError>(inserted)
        })?;
        Ok(records
            .iter()
            .map(|r| inserted.contains(&(r.product_id.clone(), r.record_id.clone())))
            .collect())
    }

    /// The usage records of a customer's product, oldest first.
    pub async fn usage_records(
        &self,
        customer_id: &str,
        product_id: &str,
    ) -> Result<Vec<(String, String, String, i64)>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT record_id, dimension, quantity, occurred_at FROM usage_records
             WHERE customer_id = $1 AND product_id = $2 ORDER BY occurred_at, record_id",
        )
        .bind(customer_id)
        .bind(product_id)
        .fetch_all(&mut *c)
        .await?))
    }

    /// A customer's usage in a month (`2027-06`), of every product, in time order.
    pub async fn usage_of_customer(&self, customer_id: &str, month: &str) -> Result<Vec<UsageAmount>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT product_id, dimension, quantity, occurred_at FROM usage_records
             WHERE customer_id = $1 AND month = $2 ORDER BY occurred_at, product_id, record_id",
        )
        .bind(customer_id)
        .bind(month)
        .fetch_all(&mut *c)
        .await?))
    }
}
