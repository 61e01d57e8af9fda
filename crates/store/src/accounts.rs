//! People's accounts, their browser sessions, and failed logins (for the login rate limit).

use sqlx::FromRow;

use crate::point_read::point_row;
use crate::{Result, Store, StoreError, queries, read, write};

#[derive(Debug, Clone, FromRow)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub email_normalized: String,
    pub name: String,
    pub password_hash: String,
    pub created_at: i64,
}

point_row!(Account {
    id,
    email,
    email_normalized,
    name,
    password_hash,
    created_at
});

#[derive(Debug, Clone, FromRow)]
pub struct Session {
    pub account_id: String,
    pub csrf_token: String,
    pub expires_at: i64,
}

queries! {
    pub(crate) trait AccountQueries {
        async fn insert_account(&mut self, account: &Account) -> Result<()> {
            sqlx::query(
                "INSERT INTO accounts (id, email, email_normalized, name, password_hash, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&account.id)
            .bind(&account.email)
            .bind(&account.email_normalized)
            .bind(&account.name)
            .bind(&account.password_hash)
            .bind(account.created_at)
            .execute(&mut *self)
            .await?;
            Ok(())
        }

        async fn account_where(&mut self, column: Column, value: &str) -> Result<Option<Account>> {
            let sql = match column {
                Column::Id => "SELECT * FROM accounts WHERE id = $1",
                Column::Email => "SELECT * FROM accounts WHERE email_normalized = $1",
            };
            Ok(sqlx::query_as(sql).bind(value).fetch_optional(&mut *self).await?)
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Column {
    Id,
    Email,
}

impl Store {
    /// Creates an account; [`StoreError::Conflict`] when the e-mail is taken.
    pub async fn create_account(&self, account: &Account) -> Result<()> {
        write!(self, |c| c.insert_account(account).await)
    }

    pub async fn account(&self, id: &str) -> Result<Option<Account>> {
        read!(self, |c| c.account_where(Column::Id, id).await)
    }

    /// The accounts of these ids, in no particular order.
    pub async fn accounts(&self, ids: &[&str]) -> Result<Vec<Account>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.point_rows(
            |backend| {
                format!(
                    "SELECT * FROM accounts WHERE id IN {}",
                    crate::placeholders(backend, 1, ids.len())
                )
            },
            ids,
        )
        .await
    }

    pub async fn account_by_email(&self, email_normalized: &str) -> Result<Option<Account>> {
        read!(self, |c| c.account_where(Column::Email, email_normalized).await)
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        account_id: &str,
        csrf_token: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        write!(self, |c| {
            // Expired sessions are swept as new ones are made, so the table never grows without bound.
            sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
                .bind(now)
                .execute(&mut *c)
                .await?;
            sqlx::query(
                "INSERT INTO sessions (token_hash, account_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token_hash)
            .bind(account_id)
            .bind(csrf_token)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *c)
            .await
            .map(|_| ())
            .map_err(StoreError::from)
        })
    }

    pub async fn session(&self, token_hash: &str, now: i64) -> Result<Option<Session>> {
        read!(self, |c| {
            Ok(sqlx::query_as(
                "SELECT account_id, csrf_token, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *c)
            .await?)
        })
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        write!(self, |c| {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(&mut *c)
                .await?;
            Ok(())
        })
    }

    /// Records a failed login; failures older than `forget_before` are swept, so the table stays small.
    pub async fn record_login_failure(&self, email_normalized: &str, at: i64, forget_before: i64) -> Result<()> {
        write!(self, |c| {
            sqlx::query("DELETE FROM login_failures WHERE at < $1")
                .bind(forget_before)
                .execute(&mut *c)
                .await?;
            sqlx::query("INSERT INTO login_failures (email_normalized, at) VALUES ($1, $2)")
                .bind(email_normalized)
                .bind(at)
                .execute(&mut *c)
                .await?;
            Ok(())
        })
    }

    pub async fn login_failures_since(&self, email_normalized: &str, since: i64) -> Result<i64> {
        read!(self, |c| {
            let (count,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM login_failures WHERE email_normalized = $1 AND at >= $2")
                    .bind(email_normalized)
                    .bind(since)
                    .fetch_one(&mut *c)
                    .await?;
            Ok(count)
        })
    }

    pub async fn clear_login_failures(&self, email_normalized: &str) -> Result<()> {
        write!(self, |c| {
            sqlx::query("DELETE FROM login_failures WHERE email_normalized = $1")
                .bind(email_normalized)
                .execute(&mut *c)
                .await?;
            Ok(())
        })
    }
}
