//! The sandbox's simulated business clock (R2): one stored instant that every process reads.

use crate::{Result, Store, StoreError, read, write};

impl Store {
    /// The stored instant, storing `start` first when none is.
    pub async fn sandbox_clock_init(&self, start: i64) -> Result<i64> {
        write!(self, |c| {
            sqlx::query("INSERT INTO sandbox_clock (id, now_ms) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
                .bind(start)
                .execute(&mut *c)
                .await?;
            let (now,): (i64,) = sqlx::query_as("SELECT now_ms FROM sandbox_clock WHERE id = 1")
                .fetch_one(&mut *c)
                .await?;
            Ok::<_, StoreError>(now)
        })
    }

    pub async fn sandbox_clock(&self) -> Result<i64> {
        read!(self, |c| {
            let (now,): (i64,) = sqlx::query_as("SELECT now_ms FROM sandbox_clock WHERE id = 1")
                .fetch_one(&mut *c)
                .await?;
            Ok(now)
        })
    }

    /// Moves the clock to `to`; [`StoreError::Conflict`] when that would move it backwards.
    pub async fn set_sandbox_clock(&self, to: i64) -> Result<()> {
        write!(self, |c| {
            let moved = sqlx::query("UPDATE sandbox_clock SET now_ms = $1 WHERE id = 1 AND now_ms <= $1")
                .bind(to)
                .execute(&mut *c)
                .await?;
            if moved.rows_affected() == 1 {
                Ok(())
            } else {
                Err(StoreError::Conflict)
            }
        })
    }
}
