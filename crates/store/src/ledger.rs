//! The double-entry ledger: every movement of money is a transaction whose entries sum to zero. Balances are
//! derived from it, never stored.
//!
//! Accounts: `customer_payments` (money in from customers' cards, negative as it flows in), `seller:{id}` (what
//! Tollgate owes a seller), `platform:fees` (the operator's fees), `platform:base_costs`, `seller_payouts`.

use sqlx::{AssertSqlSafe, FromRow};

use crate::{Dialect, ROWS_PER_STATEMENT, Result, Store, StoreError, placeholders, queries, read, write};

pub const CUSTOMER_PAYMENTS: &str = "customer_payments";
pub const PLATFORM_FEES: &str = "platform:fees";
pub const PLATFORM_BASE_COSTS: &str = "platform:base_costs";
pub const SELLER_PAYOUTS: &str = "seller_payouts";

pub fn seller_account(seller_id: &str) -> String {
    format!("seller:{seller_id}")
}

#[derive(Debug, Clone)]
pub struct LedgerTransaction {
    pub id: String,
    /// What makes the movement unique, e.g. `collect:{bill}`: booking it twice is refused by the database.
    pub unique_key: String,
    pub at: i64,
    pub kind: &'static str,
    pub description: String,
    pub bill_id: Option<String>,
    pub entries: Vec<(String, i64)>,
}

/// One line of a seller's transaction history (CONTRACT section 9).
#[derive(Debug, Clone, FromRow)]
pub struct SellerTransaction {
    pub at: i64,
    pub kind: String,
    pub amount_cents: i64,
    pub description: String,
}

queries! {
    pub(crate) trait LedgerQueries {
        async fn insert_ledger_transaction(&mut self, txn: &LedgerTransaction) -> Result<()> {
            self.insert_ledger_transactions(&[txn]).await
        }

        /// Books transactions with a few multi-row statements; each must balance.
        async fn insert_ledger_transactions(&mut self, txns: &[&LedgerTransaction]) -> Result<()> {
            let backend = <Self as Dialect>::BACKEND;
            if let Some(txn) = txns.iter().find(|t| t.entries.iter().map(|(_, cents)| cents).sum::<i64>() != 0) {
                return Err(StoreError::Corrupt(format!("unbalanced ledger transaction {}", txn.unique_key)));
            }
            for rows in txns.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "INSERT INTO ledger_transactions (id, unique_key, at, kind, description, bill_id) VALUES {}",
                    placeholders(backend, rows.len(), 6)
                );
                let mut query = sqlx::query(AssertSqlSafe(sql));
                for txn in rows {
                    query = query
                        .bind(&txn.id)
                        .bind(&txn.unique_key)
                        .bind(txn.at)
                        .bind(txn.kind)
                        .bind(&txn.description)
                        .bind(&txn.bill_id);
                }
                query.execute(&mut *self).await?;
            }
            let entries: Vec<(&str, &str, i64)> = txns
                .iter()
                .flat_map(|t| t.entries.iter().map(|(account, cents)| (t.id.as_str(), account.as_str(), *cents)))
                .collect();
            for rows in entries.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "INSERT INTO ledger_entries (transaction_id, account, amount_cents) VALUES {}",
                    placeholders(backend, rows.len(), 3)
                );
                let mut query = sqlx::query(AssertSqlSafe(sql));
                for (transaction, account, cents) in rows {
                    query = query.bind(*transaction).bind(*account).bind(*cents);
                }
                query.execute(&mut *self).await?;
            }
            Ok(())
        }
    }
}

impl Store {
    /// A seller's history, oldest first: collections are deposits, settlements charges (R6 signs).
    pub async fn seller_transactions(&self, seller_id: &str) -> Result<Vec<SellerTransaction>> {
        read!(self, |c| {
            Ok(sqlx::query_as(
            "SELECT t.at,
                    CASE t.kind WHEN 'collection' THEN 'deposit' WHEN 'settlement' THEN 'charge' ELSE t.kind END AS kind,
                    e.amount_cents, t.description
             FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
             WHERE e.account = $1 ORDER BY t.at, t.id",
        )
        .bind(seller_account(seller_id))
        .fetch_all(&mut *c)
        .await?)
        })
    }

    /// Books a seller's withdrawal of `amount_cents` if the balance covers it (R30): false, writing nothing, when it
    /// does not. The seller's row is locked first, so that two withdrawals at once cannot both pass the check.
    pub async fn withdraw(&self, seller_id: &str, amount_cents: i64, txn: &LedgerTransaction) -> Result<bool> {
        write!(self, |c| {
            sqlx::query("UPDATE sellers SET id = id WHERE id = $1")
                .bind(seller_id)
                .execute(&mut *c)
                .await?;
            let (balance,): (Option<i64>,) =
                sqlx::query_as("SELECT CAST(SUM(amount_cents) AS BIGINT) FROM ledger_entries WHERE account = $1")
                    .bind(seller_account(seller_id))
                    .fetch_one(&mut *c)
                    .await?;
            if balance.unwrap_or(0) < amount_cents {
                return Ok(false);
            }
            c.insert_ledger_transaction(txn).await?;
            Ok::<_, StoreError>(true)
        })
    }

    pub async fn account_balance(&self, account: &str) -> Result<i64> {
        read!(self, |c| {
            let (sum,): (Option<i64>,) =
                sqlx::query_as("SELECT CAST(SUM(amount_cents) AS BIGINT) FROM ledger_entries WHERE account = $1")
                    .bind(account)
                    .fetch_one(&mut *c)
                    .await?;
            Ok(sum.unwrap_or(0))
        })
    }

    /// Checks the ledger against itself and against the bills; returns every violation found (empty when sound).
    pub async fn ledger_violations(&self) -> Result<Vec<String>> {
        const CHECKS: [(&str, &str); 5] = [
            (
                "unbalanced transaction",
                "SELECT t.unique_key FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id
                 GROUP BY t.unique_key HAVING SUM(e.amount_cents) <> 0",
            ),
            (
                "bill total differs from its lines",
                "SELECT b.id FROM bills b LEFT JOIN bill_lines l ON l.bill_id = b.id
                 GROUP BY b.id, b.total_cents HAVING COALESCE(SUM(l.amount_cents), 0) <> b.total_cents",
            ),
            (
                "collected bill not booked exactly once for its total",
                // From the bill's transactions to their entries: the other way round, SQLite walks every
                // customer_payments entry for each bill.
                "SELECT b.id FROM bills b WHERE b.status = 'paid' AND b.total_cents > 0 AND 1 <> (
                     SELECT COUNT(*) FROM ledger_transactions t
                     WHERE t.bill_id = b.id AND t.kind = 'collection' AND EXISTS (
                         SELECT 1 FROM ledger_entries e WHERE e.transaction_id = t.id
                         AND e.account = 'customer_payments' AND e.amount_cents = -b.total_cents))",
            ),
            (
                "money booked for a bill that was not collected",
                "SELECT t.unique_key FROM ledger_transactions t JOIN bills b ON b.id = t.bill_id
                 WHERE t.kind = 'collection' AND (b.status <> 'paid' OR b.total_cents <= 0)",
            ),
            (
                "bill charged successfully more than once",
                "SELECT bill_id FROM payment_attempts WHERE outcome = 'succeeded' GROUP BY bill_id HAVING COUNT(*) > 1",
            ),
        ];
        read!(self, |c| {
            let mut violations = Vec::new();
            for (what, sql) in CHECKS {
                let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(&mut *c).await?;
                violations.extend(rows.into_iter().map(|(key,)| format!("{what}: {key}")));
            }
            Ok::<_, StoreError>(violations)
        })
    }
}
