//! Cards on file (only what the contract allows: brand, last four, expiry, the gateway's token) and the sandbox
//! gateway's record of charges.

use std::collections::HashMap;

use sqlx::{AssertSqlSafe, FromRow};

use crate::{ROWS_PER_STATEMENT, Result, Store, StoreError, placeholders, read, write};

#[derive(Debug, Clone, FromRow)]
pub struct PaymentMethod {
    pub customer_id: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
    pub gateway_token: String,
    pub added_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct SandboxCharge {
    pub idempotency_key: String,
    pub payment_token: String,
    pub amount_cents: i64,
    pub succeeded: bool,
    pub reference: String,
    pub created_at: i64,
}

impl Store {
    /// Puts a card on file, replacing the customer's previous one.
    pub async fn set_payment_method(&self, method: &PaymentMethod) -> Result<()> {
        write!(self, |c| {
            sqlx::query(
                "INSERT INTO payment_methods (customer_id, brand, last4, exp_month, exp_year, gateway_token, added_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (customer_id) DO UPDATE SET brand = $2, last4 = $3, exp_month = $4, exp_year = $5,
                                                         gateway_token = $6, added_at = $7",
            )
            .bind(&method.customer_id)
            .bind(&method.brand)
            .bind(&method.last4)
            .bind(method.exp_month)
            .bind(method.exp_year)
            .bind(&method.gateway_token)
            .bind(method.added_at)
            .execute(&mut *c)
            .await?;
            Ok::<_, StoreError>(())
        })
    }

    pub async fn payment_method(&self, customer_id: &str) -> Result<Option<PaymentMethod>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT * FROM payment_methods WHERE customer_id = $1"
        )
        .bind(customer_id)
        .fetch_optional(&mut *c)
        .await?))
    }

    /// Records sandbox charges under their idempotency keys in one transaction, each unless a charge was recorded
    /// under its key before: the charges as recorded first, in order.
    pub async fn sandbox_charges(&self, charges: &[SandboxCharge]) -> Result<Vec<SandboxCharge>> {
        let backend = self.backend();
        let recorded: Vec<SandboxCharge> = write!(self, |c| {
            let mut recorded = Vec::with_capacity(charges.len());
            for rows in charges.chunks(ROWS_PER_STATEMENT) {
                let sql = format!(
                    "INSERT INTO sandbox_charges (idempotency_key, payment_token, amount_cents, succeeded, reference, created_at)
                     VALUES {} ON CONFLICT (idempotency_key) DO NOTHING",
                    placeholders(backend, rows.len(), 6)
                );
                let mut query = sqlx::query(AssertSqlSafe(sql));
                for charge in rows {
                    query = query
                        .bind(&charge.idempotency_key)
                        .bind(&charge.payment_token)
                        .bind(charge.amount_cents)
                        .bind(charge.succeeded)
                        .bind(&charge.reference)
                        .bind(charge.created_at);
                }
                query.execute(&mut *c).await?;
                let sql = format!(
                    "SELECT * FROM sandbox_charges WHERE idempotency_key IN {}",
                    placeholders(backend, 1, rows.len())
                );
                let mut query = sqlx::query_as::<_, SandboxCharge>(AssertSqlSafe(sql));
                for charge in rows {
                    query = query.bind(&charge.idempotency_key);
                }
                recorded.extend(query.fetch_all(&mut *c).await?);
            }
            Ok::<_, StoreError>(recorded)
        })?;
        let mut by_key: HashMap<String, SandboxCharge> =
            recorded.into_iter().map(|r| (r.idempotency_key.clone(), r)).collect();
        charges
            .iter()
            .map(|charge| by_key.remove(&charge.idempotency_key).ok_or(StoreError::NotFound))
            .collect()
    }
}
