//! What the monthly run reads and writes (docs/rules.md R19-R22): who has something to pay, the month's usage of
//! many customers at once, and the bills, each issued once per customer and period.

use std::collections::{HashMap, HashSet};

use sqlx::{AssertSqlSafe, FromRow};

use crate::bills::{Bill, BillQueries, NewBill, StartedAttempt};
use crate::point_read::point_row;
use crate::{Dialect, ROWS_PER_STATEMENT, Result, Store, StoreError, placeholders, queries, read, write};

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
    /// (subscription, price change) of each owed fee increase the bill carries (R26).
    pub differences: Vec<(String, String)>,
}

/// What issuing a bill did.
pub enum Issued {
    /// The customer's bill for the period existed already: nothing was written.
    Existed,
    /// Issued; its first attempt is opened and to be made, unless the bill has nothing to pay (R21).
    New(Option<Box<StartedAttempt>>),
}

queries! {
    pub(crate) trait MonthlyQueries {
        /// Issues the bills of customers who have none for their period yet, each with its lines, fee records and,
        /// when it has something to pay and a card on file, its first attempt (slot `issue`): a few multi-row
        /// statements for the whole chunk.
        async fn issue_bills(&mut self, bills: &[MonthlyBill]) -> Result<Vec<Issued>> {
            let backend = <Self as Dialect>::BACKEND;
            let Some(first) = bills.first() else {
                return Ok(Vec::new());
            };
            let period = &first.bill.bill.period;
            let customers: Vec<&str> = bills.iter().map(|b| b.bill.bill.customer_id.as_str()).collect();
            let mut existing: HashSet<String> = HashSet::new();
            let mut tokens: HashMap<String, String> = HashMap::new();
            for ids in customers.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "SELECT customer_id FROM bills WHERE kind = 'monthly' AND customer_id IN {} AND period = {}",
                    placeholders(backend, 1, ids.len()),
                    parameter(backend, ids.len() + 1)
                );
                let mut query = sqlx::query_as::<_, (String,)>(AssertSqlSafe(sql));
                for id in ids {
                    query = query.bind(*id);
                }
                existing.extend(query.bind(period).fetch_all(&mut *self).await?.into_iter().map(|(id,)| id));
                let sql = format!(
                    "SELECT customer_id, gateway_token FROM payment_methods WHERE customer_id IN {}",
                    placeholders(backend, 1, ids.len())
                );
                let mut query = sqlx::query_as::<_, (String, String)>(AssertSqlSafe(sql));
                for id in ids {
                    query = query.bind(*id);
                }
                tokens.extend(query.fetch_all(&mut *self).await?);
            }
            let mut issued = Vec::with_capacity(bills.len());
            // Each new bill as it is written: with its first attempt opened when it is to be charged now.
            let mut new: Vec<(&MonthlyBill, Bill)> = Vec::new();
            for monthly in bills {
                let bill = &monthly.bill.bill;
                if existing.contains(&bill.customer_id) {
                    issued.push(Issued::Existed);
                    continue;
                }
                // Nothing to pay is paid at issue (R21); without a card the bill waits for one (R10).
                let token = tokens.get(&bill.customer_id).filter(|_| bill.total_cents != 0);
                let written = match token {
                    Some(_) => Bill {
                        attempts: 1,
                        open_attempt: Some(1),
                        ..bill.clone()
                    },
                    None => bill.clone(),
                };
                issued.push(Issued::New(token.map(|token| {
                    Box::new(StartedAttempt {
                        bill: written.clone(),
                        attempt: 1,
                        gateway_token: token.clone(),
                    })
                })));
                new.push((monthly, written));
            }
            self.insert_bills(&new.iter().map(|(_, bill)| bill).collect::<Vec<_>>()).await?;
            let attempts: Vec<&Bill> = new.iter().map(|(_, bill)| bill).filter(|b| b.open_attempt.is_some()).collect();
            for rows in attempts.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "INSERT INTO payment_attempts (bill_id, attempt, amount_cents, started_at, slot) VALUES {}",
                    placeholders(backend, rows.len(), 5)
                );
                let mut query = sqlx::query(AssertSqlSafe(sql));
                for b in rows {
                    query = query.bind(&b.id).bind(1_i64).bind(b.total_cents).bind(b.issued_at).bind(ISSUE_SLOT);
                }
                query.execute(&mut *self).await?;
            }
            self.insert_bill_lines(&new.iter().flat_map(|(m, _)| &m.bill.lines).collect::<Vec<_>>()).await?;
            let fees: Vec<(&str, &str, &str)> = new
                .iter()
                .flat_map(|(m, _)| m.fees.iter().map(|(s, month)| (s.as_str(), month.as_str(), m.bill.bill.id.as_str())))
                .collect();
            for rows in fees.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "INSERT INTO monthly_fees_charged (subscription_id, month, bill_id) VALUES {}",
                    placeholders(backend, rows.len(), 3)
                );
                let mut query = sqlx::query(AssertSqlSafe(sql));
                for (subscription, month, bill) in rows {
                    query = query.bind(*subscription).bind(*month).bind(*bill);
                }
                query.execute(&mut *self).await?;
            }
            for (monthly, bill) in &new {
                for (subscription, change) in &monthly.differences {
                    // Another bill carrying it first would be a second charge of the same increase.
                    let carried = sqlx::query(
                        "UPDATE fee_differences SET bill_id = $1
                         WHERE subscription_id = $2 AND change_id = $3 AND bill_id IS NULL",
                    )
                    .bind(&bill.id)
                    .bind(subscription)
                    .bind(change)
                    .execute(&mut *self)
                    .await?;
                    if carried.rows_affected() == 0 {
                        return Err(StoreError::Conflict);
                    }
                }
            }
            Ok(issued)
        }
    }
}

impl Store {
    /// Issues a chunk of customers' monthly bills in one transaction, as [`Store::issue_monthly_bill`] does one:
    /// each customer's bill at most once per period, with its lines, fee records and first attempt. When another
    /// process issues one of them at the same moment the whole chunk is refused ([`StoreError::Conflict`]) and
    /// nothing is written; issuing the chunk's bills one by one then sorts out which exist.
    pub async fn issue_monthly_bills(&self, bills: &[MonthlyBill]) -> Result<Vec<Issued>> {
        write!(self, |c| c.issue_bills(bills).await)
    }

    /// The customers the run at `at` bills (R19), in id order: those with a subscription active then that began
    /// before it, those with usage to bill (`period`'s usage received in time, and the month before's usage that
    /// arrived late, R14), and those owing a fee increase (R26).
    pub async fn customers_to_bill(&self, period: &str, previous: &str, at: i64) -> Result<Vec<String>> {
        read!(self, |c| {
            let rows: Vec<(String,)> = sqlx::query_as(
                "SELECT customer_id FROM subscriptions WHERE state = 'active' AND created_at < $1
                 UNION
                 SELECT customer_id FROM usage_daily WHERE (month = $2 AND late = FALSE) OR (month = $3 AND late = TRUE)
                 UNION
                 SELECT customer_id FROM fee_differences WHERE bill_id IS NULL AND amount_cents > 0
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
                    parameter(backend, count + 1),
                    parameter(backend, count + 2)
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
                        parameter(backend, count + 1)
                    )
                },
                &params,
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    /// Issues one customer's monthly bill as [`Store::issue_monthly_bills`] does a chunk's; [`Issued::Existed`] also
    /// when another process issues it at the same moment.
    pub async fn issue_monthly_bill(&self, monthly: &MonthlyBill) -> Result<Issued> {
        match self.issue_monthly_bills(std::slice::from_ref(monthly)).await {
            Ok(mut issued) => Ok(issued.pop().unwrap_or(Issued::Existed)),
            Err(StoreError::Conflict) => Ok(Issued::Existed),
            Err(other) => Err(other),
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

/// The placeholder of the `n`th parameter, counted from 1.
fn parameter(backend: crate::Backend, n: usize) -> String {
    match backend {
        crate::Backend::Sqlite => "?".to_owned(),
        crate::Backend::Postgres => format!("${n}"),
    }
}

/// The slot of a monthly bill's first charge, made when it is issued.
pub const ISSUE_SLOT: &str = "issue";
