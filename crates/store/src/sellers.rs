//! Sellers and their API keys (stored as SHA-256 hashes; the key itself is shown once).

use sqlx::FromRow;

use crate::accounts::{Account, AccountQueries};
use crate::point_read::point_row;
use crate::{Result, Store, StoreError, queries, read, write};

#[derive(Debug, Clone, FromRow)]
pub struct Seller {
    pub id: String,
    pub account_id: String,
    pub company_name: String,
    pub public_contact: String,
    pub created_at: i64,
}

point_row!(Seller {
    id,
    account_id,
    company_name,
    public_contact,
    created_at
});

#[derive(Debug, Clone, FromRow)]
pub struct ApiKey {
    pub id: String,
    pub seller_id: String,
    pub key_hash: String,
    /// The key's last characters, so that a seller can tell keys apart.
    pub hint: String,
    pub label: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

queries! {
    pub(crate) trait SellerQueries {
        async fn insert_seller(&mut self, seller: &Seller) -> Result<()> {
            sqlx::query(
                "INSERT INTO sellers (id, account_id, company_name, public_contact, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&seller.id)
            .bind(&seller.account_id)
            .bind(&seller.company_name)
            .bind(&seller.public_contact)
            .bind(seller.created_at)
            .execute(&mut *self)
            .await?;
            Ok(())
        }

        async fn insert_api_key(&mut self, key: &ApiKey) -> Result<()> {
            sqlx::query(
                "INSERT INTO api_keys (id, seller_id, key_hash, hint, label, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&key.id)
            .bind(&key.seller_id)
            .bind(&key.key_hash)
            .bind(&key.hint)
            .bind(&key.label)
            .bind(key.created_at)
            .execute(&mut *self)
            .await?;
            Ok(())
        }
    }
}

/// What a new seller is made of: a new or existing account, the seller, and its first API key.
pub struct NewSeller<'a> {
    pub account: Option<&'a Account>,
    pub seller: &'a Seller,
    pub api_key: Option<&'a ApiKey>,
}

impl Store {
    /// Creates a seller in one transaction; [`StoreError::Conflict`] when the e-mail is taken or the account is a
    /// seller already.
    pub async fn create_seller(&self, new: NewSeller<'_>) -> Result<()> {
        write!(self, |c| {
            if let Some(account) = new.account {
                c.insert_account(account).await?;
            }
            c.insert_seller(new.seller).await?;
            if let Some(key) = new.api_key {
                c.insert_api_key(key).await?;
            }
            Ok::<_, StoreError>(())
        })
    }

    pub async fn seller_of_account(&self, account_id: &str) -> Result<Option<Seller>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT * FROM sellers WHERE account_id = $1"
        )
        .bind(account_id)
        .fetch_optional(&mut *c)
        .await?))
    }

    pub async fn seller(&self, id: &str) -> Result<Option<Seller>> {
        read!(self, |c| Ok(sqlx::query_as("SELECT * FROM sellers WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *c)
            .await?))
    }

    /// The seller owning a live (unrevoked) key with this hash; a point read, as every seller's call makes it.
    pub async fn seller_by_api_key(&self, key_hash: &str) -> Result<Option<Seller>> {
        self.point_read(
            "SELECT s.id, s.account_id, s.company_name, s.public_contact, s.created_at
             FROM api_keys k JOIN sellers s ON s.id = k.seller_id WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
            &[key_hash],
        )
        .await
    }

    pub async fn add_api_key(&self, key: &ApiKey) -> Result<()> {
        write!(self, |c| c.insert_api_key(key).await)
    }

    pub async fn api_keys(&self, seller_id: &str) -> Result<Vec<ApiKey>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT * FROM api_keys WHERE seller_id = $1 ORDER BY created_at, id"
        )
        .bind(seller_id)
        .fetch_all(&mut *c)
        .await?))
    }

    /// Revokes one of the seller's keys; [`StoreError::NotFound`] when the seller has no such live key.
    pub async fn revoke_api_key(&self, seller_id: &str, key_id: &str, at: i64) -> Result<()> {
        write!(self, |c| {
            let done = sqlx::query(
                "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND seller_id = $3 AND revoked_at IS NULL",
            )
            .bind(at)
            .bind(key_id)
            .bind(seller_id)
            .execute(&mut *c)
            .await?;
            if done.rows_affected() == 1 {
                Ok(())
            } else {
                Err(StoreError::NotFound)
            }
        })
    }
}
