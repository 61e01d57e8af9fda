//! Usage records, the metering store that the billing page, the monthly bills and the reports share. A record
//! counts once per product and record id, forever (R15): the primary key decides, also between racing retries.
//! Each new record is also added to its day's total in `usage_daily`, which is what everything else reads.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

use rust_decimal::Decimal;
use sqlx::{AssertSqlSafe, FromRow};
use tollgate_domain::calendar::Month;

use crate::point_read::point_row;
use crate::{Backend, Db, Dialect, Result, Store, StoreError, instant, placeholders, queries, read, write};

#[derive(Debug, Clone, FromRow)]
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

/// A day's usage of one dimension by one subscription.
#[derive(Debug, Clone, FromRow)]
pub struct DailyUsage {
    pub product_id: String,
    pub subscription_id: String,
    pub dimension: String,
    pub configuration: Option<String>,
    pub day: i64,
    /// Received after its month had been billed (R14).
    pub late: bool,
    pub quantity: String,
}

/// What the SQLite writer of a batch read before its transaction, under the store's usage lock (see
/// [`Store::insert_usage_batch`]), so that the transaction itself only writes.
#[derive(Default)]
pub(crate) struct Known {
    records: HashSet<(String, String)>,
    totals: HashMap<String, Decimal>,
}

#[derive(FromRow)]
struct StoredRecord {
    product_id: String,
    record_id: String,
}

point_row!(StoredRecord { product_id, record_id });

#[derive(FromRow)]
struct StoredTotal {
    key: String,
    quantity: String,
}

point_row!(StoredTotal { key, quantity });

const COLUMNS: usize = 10;
const DAILY_COLUMNS: usize = 10;
/// Rows per INSERT statement: one statement text, prepared once, for the full chunks of every batch.
const ROWS_PER_INSERT: usize = 250;

/// `INSERT … ON CONFLICT DO NOTHING` for `rows` rows; on PostgreSQL `RETURNING` the keys of the new ones.
fn insert_statement(backend: Backend, rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO usage_records (product_id, record_id, customer_id, subscription_id, dimension, quantity,
                                    configuration, occurred_at, month, received_at) VALUES ",
    );
    sql.push_str(&placeholders(backend, rows, COLUMNS));
    sql.push_str(" ON CONFLICT (product_id, record_id) DO NOTHING");
    if backend == Backend::Postgres {
        sql.push_str(" RETURNING product_id, record_id");
    }
    sql
}

/// The statement for full chunks, made once per backend.
fn full_chunk(backend: Backend) -> &'static str {
    static SQLITE: LazyLock<String> = LazyLock::new(|| insert_statement(Backend::Sqlite, ROWS_PER_INSERT));
    static POSTGRES: LazyLock<String> = LazyLock::new(|| insert_statement(Backend::Postgres, ROWS_PER_INSERT));
    match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    }
}

/// Upserts day totals. SQLite writes the totals summed in Rust (its writer is exclusive, so nothing changes them
/// meanwhile, and it has no exact decimal type); PostgreSQL adds in SQL as exact numerics, so that concurrent
/// transactions never lose each other's additions.
fn daily_statement(backend: Backend, rows: usize) -> String {
    let set = match backend {
        Backend::Sqlite => "excluded.quantity",
        Backend::Postgres => "CAST(CAST(usage_daily.quantity AS NUMERIC) + CAST(excluded.quantity AS NUMERIC) AS TEXT)",
    };
    format!(
        "INSERT INTO usage_daily (key, month, day, late, customer_id, product_id, subscription_id, dimension,
                                  configuration, quantity) VALUES {}
         ON CONFLICT (key) DO UPDATE SET quantity = {set}",
        placeholders(backend, rows, DAILY_COLUMNS)
    )
}

/// One day total to add to.
struct DayTotal<'r> {
    record: &'r UsageRecord,
    day: i64,
    late: bool,
    quantity: Decimal,
}

/// The day totals the new records add up to, keyed so that a day's totals sort together.
fn day_totals<'r>(records: impl Iterator<Item = &'r UsageRecord>) -> Result<BTreeMap<String, DayTotal<'r>>> {
    let mut totals: BTreeMap<String, DayTotal<'r>> = BTreeMap::new();
    for record in records {
        let quantity: Decimal = record
            .quantity
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("usage quantity {:?}", record.quantity)))?;
        let month: Month = record
            .month
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("usage month {:?}", record.month)))?;
        let day = i64::from(chrono::Datelike::day(&instant(record.occurred_at)));
        // R14: usage received once its month's bill was due is billed later, on a line of its own.
        let late = record.received_at >= crate::millis(month.next().start());
        let key = format!(
            "{}|{day:02}|{}|{}|{}|{}|{}|{}",
            record.month,
            u8::from(late),
            record.customer_id,
            record.product_id,
            record.subscription_id,
            record.dimension,
            record.configuration.as_deref().unwrap_or("")
        );
        totals
            .entry(key)
            .and_modify(|t| t.quantity += quantity)
            .or_insert(DayTotal {
                record,
                day,
                late,
                quantity,
            });
    }
    Ok(totals)
}

queries! {
    pub(crate) trait UsageQueries {
        /// Stores records with distinct keys, each once (R15), and adds the new ones to their day totals; returns
        /// for each whether it was new.
        async fn add_usage(&mut self, records: &[UsageRecord], known: Option<&Known>) -> Result<Vec<bool>> {
            let backend = <Self as Dialect>::BACKEND;
            // In key order, so that concurrent PostgreSQL transactions lock rows in the same order.
            let mut order: Vec<usize> = (0..records.len()).collect();
            order.sort_by(|&a, &b| {
                (&records[a].product_id, &records[a].record_id).cmp(&(&records[b].product_id, &records[b].record_id))
            });
            let sorted: Vec<&UsageRecord> = order.iter().map(|&i| &records[i]).collect();
            // Which records are new: on SQLite those not found before the insert, in a transaction that holds the
            // one write lock from its start, so no other writer comes between; on PostgreSQL, where a concurrent
            // transaction could, those the insert itself returns.
            let mut keys: HashSet<(String, String)> = known.map(|k| k.records.clone()).unwrap_or_default();
            for chunk in sorted.chunks(ROWS_PER_INSERT) {
                if backend == Backend::Sqlite && known.is_none() {
                    // Per product: SQLite searches `product_id = ? AND record_id IN (…)` by the primary key, where
                    // a row-value IN would scan it.
                    for same in chunk.chunk_by(|a, b| a.product_id == b.product_id) {
                        let sql = format!(
                            "SELECT product_id, record_id FROM usage_records WHERE product_id = ? AND record_id IN {}",
                            placeholders(backend, 1, same.len())
                        );
                        let mut query = sqlx::query_as::<_, (String, String)>(AssertSqlSafe(sql)).bind(&same[0].product_id);
                        for r in same {
                            query = query.bind(&r.record_id);
                        }
                        keys.extend(query.fetch_all(&mut *self).await?);
                    }
                }
                let sql = match chunk.len() {
                    ROWS_PER_INSERT => full_chunk(backend).to_owned(),
                    rows => insert_statement(backend, rows),
                };
                let mut query = sqlx::query_as::<_, (String, String)>(AssertSqlSafe(sql));
                for r in chunk {
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
                let returned = query.fetch_all(&mut *self).await?;
                if backend == Backend::Postgres {
                    keys.extend(returned);
                }
            }
            // SQLite's keys are the ones stored before, PostgreSQL's the ones new now.
            let new_if_found = backend == Backend::Postgres;
            let new: Vec<bool> = records
                .iter()
                .map(|r| keys.contains(&(r.product_id.clone(), r.record_id.clone())) == new_if_found)
                .collect();
            let fresh = records.iter().zip(&new).filter(|(_, new)| **new).map(|(r, _)| r).collect();
            self.add_day_totals(fresh, known.map(|k| &k.totals)).await?;
            Ok(new)
        }

        /// Adds records, stored just now, to their day totals.
        async fn add_day_totals(&mut self, records: Vec<&UsageRecord>, known: Option<&HashMap<String, Decimal>>) -> Result<()> {
            let backend = <Self as Dialect>::BACKEND;
            let totals: Vec<(String, DayTotal<'_>)> = day_totals(records.into_iter())?.into_iter().collect();
            for chunk in totals.chunks(ROWS_PER_INSERT) {
                let mut stored: HashMap<String, Decimal> = HashMap::new();
                if let Some(known) = known {
                    stored.extend(chunk.iter().filter_map(|(key, _)| Some((key.clone(), *known.get(key)?))));
                } else if backend == Backend::Sqlite {
                    let sql = format!(
                        "SELECT key, quantity FROM usage_daily WHERE key IN ({})",
                        vec!["?"; chunk.len()].join(", ")
                    );
                    let mut query = sqlx::query_as::<_, (String, String)>(AssertSqlSafe(sql));
                    for (key, _) in chunk {
                        query = query.bind(key);
                    }
                    for (key, quantity) in query.fetch_all(&mut *self).await? {
                        let quantity = quantity
                            .parse()
                            .map_err(|_| StoreError::Corrupt(format!("day total {quantity:?}")))?;
                        stored.insert(key, quantity);
                    }
                }
                // Totals known to exist only need their quantity set; SQLite's totals come summed (see
                // `daily_statement`), so two values a row instead of ten.
                let (existing, new): (Vec<_>, Vec<_>) = match backend {
                    Backend::Sqlite => chunk.iter().partition(|(key, _)| stored.contains_key(key)),
                    Backend::Postgres => (Vec::new(), chunk.iter().collect()),
                };
                if !existing.is_empty() {
                    let sql = format!(
                        "UPDATE usage_daily SET quantity = v.column2 FROM (VALUES {}) AS v WHERE usage_daily.key = v.column1",
                        placeholders(backend, existing.len(), 2)
                    );
                    let mut query = sqlx::query(AssertSqlSafe(sql));
                    for (key, t) in existing {
                        query = query.bind(key).bind((stored[key] + t.quantity).normalize().to_string());
                    }
                    query.execute(&mut *self).await?;
                }
                if !new.is_empty() {
                    let mut query = sqlx::query(AssertSqlSafe(daily_statement(backend, new.len())));
                    for (key, t) in new {
                        let quantity = stored.get(key).copied().unwrap_or_default() + t.quantity;
                        query = query
                            .bind(key)
                            .bind(&t.record.month)
                            .bind(t.day)
                            .bind(t.late)
                            .bind(&t.record.customer_id)
                            .bind(&t.record.product_id)
                            .bind(&t.record.subscription_id)
                            .bind(&t.record.dimension)
                            .bind(&t.record.configuration)
                            .bind(quantity.normalize().to_string());
                    }
                    query.execute(&mut *self).await?;
                }
            }
            Ok(())
        }
    }
}

impl Store {
    /// Adds up the day totals of usage stored before they existed (migration 0005), once.
    pub(crate) async fn backfill_day_totals(&self) -> Result<()> {
        write!(self, |c| {
            let totals: Option<(String,)> = sqlx::query_as("SELECT key FROM usage_daily LIMIT 1")
                .fetch_optional(&mut *c)
                .await?;
            if totals.is_some() {
                return Ok(());
            }
            let records: Vec<UsageRecord> = sqlx::query_as(
                "SELECT product_id, record_id, customer_id, subscription_id, dimension, quantity, configuration,
                        occurred_at, month, received_at FROM usage_records",
            )
            .fetch_all(&mut *c)
            .await?;
            c.add_day_totals(records.iter().collect(), None).await
        })
    }

    /// Stores a batch of records with distinct (product, record id) in one transaction; returns, for each, whether
    /// it was new (`false`: a duplicate of one stored before, whose content stays).
    pub async fn insert_usage_batch(&self, records: &[UsageRecord]) -> Result<Vec<bool>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let _one_writer = self.usage_guard().await;
        let known = match self.backend() {
            // Read on this thread rather than through the writer's connection, row by row: nothing changes usage
            // meanwhile, as every SQLite usage writer holds the usage lock until it commits.
            Backend::Sqlite => Some(self.known_usage(records).await?),
            Backend::Postgres => None,
        };
        write!(self, |c| c.add_usage(records, known.as_ref()).await)
    }

    /// On SQLite, the lock every usage writer holds from before its reads until its commit; none on PostgreSQL,
    /// whose writers read in their transactions.
    pub(crate) async fn usage_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.db {
            Db::Sqlite { usage_lock, .. } => Some(usage_lock.lock().await),
            Db::Postgres(_) => None,
        }
    }

    /// Which of `records` are stored already, and the day totals the new ones add to.
    async fn known_usage(&self, records: &[UsageRecord]) -> Result<Known> {
        let mut known = Known::default();
        let mut by_product: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for r in records {
            by_product.entry(&r.product_id).or_default().push(&r.record_id);
        }
        for (product_id, ids) in by_product {
            for chunk in ids.chunks(ROWS_PER_INSERT) {
                let mut params = vec![product_id];
                params.extend_from_slice(chunk);
                let stored: Vec<StoredRecord> = self
                    .point_rows(
                        |backend| {
                            format!(
                                "SELECT product_id, record_id FROM usage_records WHERE product_id = ? AND record_id IN {}",
                                placeholders(backend, 1, chunk.len())
                            )
                        },
                        &params,
                    )
                    .await?;
                known
                    .records
                    .extend(stored.into_iter().map(|s| (s.product_id, s.record_id)));
            }
        }
        let fresh = records
            .iter()
            .filter(|r| !known.records.contains(&(r.product_id.clone(), r.record_id.clone())));
        let keys: Vec<String> = day_totals(fresh)?.into_keys().collect();
        for chunk in keys.chunks(ROWS_PER_INSERT) {
            let params: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let stored: Vec<StoredTotal> = self
                .point_rows(
                    |backend| {
                        format!(
                            "SELECT key, quantity FROM usage_daily WHERE key IN {}",
                            placeholders(backend, 1, chunk.len())
                        )
                    },
                    &params,
                )
                .await?;
            for total in stored {
                let quantity = total
                    .quantity
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("day total {:?}", total.quantity)))?;
                known.totals.insert(total.key, quantity);
            }
        }
        Ok(known)
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

    /// A customer's usage in a month (`2027-06`) by day, of every product, in day order.
    pub async fn usage_of_customer(&self, customer_id: &str, month: &str) -> Result<Vec<DailyUsage>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT product_id, subscription_id, dimension, configuration, day, late, quantity FROM usage_daily
             WHERE customer_id = $1 AND month = $2 ORDER BY day, key",
        )
        .bind(customer_id)
        .bind(month)
        .fetch_all(&mut *c)
        .await?))
    }
}
