//! The operator's catalogue of platform dimensions and their base costs (R31).

use sqlx::FromRow;

use crate::{Result, Store, StoreError, read, write};

#[derive(Debug, Clone, FromRow)]
pub struct Dimension {
    pub name: String,
    pub unit: String,
    /// The base cost in force at the instant asked about, as an exact decimal.
    pub base_cost: String,
}

impl Store {
    /// Every platform dimension with the base cost in force at `at` (0 before the dimension had one: nothing
    /// could use it then).
    pub async fn dimensions(&self, at: i64) -> Result<Vec<Dimension>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT d.name, d.unit,
                    COALESCE((SELECT k.base_cost FROM dimension_costs k
                              WHERE k.dimension = d.name AND k.effective_at <= $1
                              ORDER BY k.effective_at DESC LIMIT 1), '0') AS base_cost
             FROM dimensions d ORDER BY d.name",
        )
        .bind(at)
        .fetch_all(&mut *c)
        .await?))
    }

    /// Adds a dimension or changes its unit, and sets its base cost from `at` on.
    pub async fn put_dimension(&self, name: &str, unit: &str, base_cost: &str, at: i64) -> Result<()> {
        write!(self, |c| {
            sqlx::query(
                "INSERT INTO dimensions (name, unit) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET unit = $2",
            )
            .bind(name)
            .bind(unit)
            .execute(&mut *c)
            .await?;
            sqlx::query(
                "INSERT INTO dimension_costs (dimension, effective_at, base_cost) VALUES ($1, $2, $3)
                 ON CONFLICT (dimension, effective_at) DO UPDATE SET base_cost = $3",
            )
            .bind(name)
            .bind(at)
            .bind(base_cost)
            .execute(&mut *c)
            .await?;
            Ok::<_, StoreError>(())
        })
    }

    /// Adds a dimension with its first base cost unless it exists; an existing one is left as the operator set it.
    pub async fn ensure_dimension(&self, name: &str, unit: &str, base_cost: &str, at: i64) -> Result<()> {
        write!(self, |c| {
            let added =
                sqlx::query("INSERT INTO dimensions (name, unit) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                    .bind(name)
                    .bind(unit)
                    .execute(&mut *c)
                    .await?;
            if added.rows_affected() == 1 {
                sqlx::query("INSERT INTO dimension_costs (dimension, effective_at, base_cost) VALUES ($1, $2, $3)")
                    .bind(name)
                    .bind(at)
                    .bind(base_cost)
                    .execute(&mut *c)
                    .await?;
            }
            Ok::<_, StoreError>(())
        })
    }
}
