//! The license service's identities: user tokens, persistent identifiers and derived key pairs (R12), and the
//! lookups every license check makes.

use sqlx::FromRow;

use crate::point_read::point_row;
use crate::products::Product;
use crate::{Result, Store, StoreError, read, write};

#[derive(Debug, Clone, FromRow)]
pub struct DerivedKey {
    pub access_key_id: String,
    pub customer_id: String,
    pub product_id: String,
    pub secret_hash: String,
    pub secret_encrypted: String,
    pub created_at: i64,
}

point_row!(DerivedKey {
    access_key_id,
    customer_id,
    product_id,
    secret_hash,
    secret_encrypted,
    created_at
});

/// The identities of a customer with a product and its seller, made on first activation and stable after (R12).
#[derive(Debug, Clone)]
pub struct Identities {
    pub user_token: String,
    pub persistent_identifier: String,
}

/// Who a user token or persistent identifier belongs to.
#[derive(Debug, Clone, FromRow)]
pub struct Owner {
    pub customer_id: String,
    /// The product of a user token, the seller of a persistent identifier.
    pub scope_id: String,
}

/// The owner of one of several user tokens or persistent identifiers looked up at once.
#[derive(Debug, Clone, FromRow)]
pub struct KeyOwner {
    /// The token or identifier.
    pub key: String,
    pub customer_id: String,
    /// The product of a user token, the seller of a persistent identifier.
    pub scope_id: String,
}

point_row!(KeyOwner {
    key,
    customer_id,
    scope_id
});

/// Candidates for a customer's new identities, kept only when the customer has none yet.
pub struct NewIdentities<'a> {
    pub customer_id: &'a str,
    pub product_id: &'a str,
    pub seller_id: &'a str,
    pub user_token: &'a str,
    pub persistent_identifier: &'a str,
    pub at: i64,
}

impl Store {
    pub async fn product_by_token(&self, token: &str) -> Result<Option<Product>> {
        read!(self, |c| Ok(sqlx::query_as("SELECT * FROM products WHERE token = $1")
            .bind(token)
            .fetch_optional(&mut *c)
            .await?))
    }

    /// The customer's user token for the product and persistent identifier with its seller, made from the
    /// candidates the first time and returned unchanged ever after, also when two activations race.
    pub async fn identities(&self, new: NewIdentities<'_>) -> Result<Identities> {
        write!(self, |c| {
            sqlx::query(
                "INSERT INTO user_tokens (customer_id, product_id, token, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (customer_id, product_id) DO NOTHING",
            )
            .bind(new.customer_id)
            .bind(new.product_id)
            .bind(new.user_token)
            .bind(new.at)
            .execute(&mut *c)
            .await?;
            sqlx::query(
                "INSERT INTO persistent_identifiers (customer_id, seller_id, pid, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (customer_id, seller_id) DO NOTHING",
            )
            .bind(new.customer_id)
            .bind(new.seller_id)
            .bind(new.persistent_identifier)
            .bind(new.at)
            .execute(&mut *c)
            .await?;
            let (user_token,): (String,) =
                sqlx::query_as("SELECT token FROM user_tokens WHERE customer_id = $1 AND product_id = $2")
                    .bind(new.customer_id)
                    .bind(new.product_id)
                    .fetch_one(&mut *c)
                    .await?;
            let (persistent_identifier,): (String,) =
                sqlx::query_as("SELECT pid FROM persistent_identifiers WHERE customer_id = $1 AND seller_id = $2")
                    .bind(new.customer_id)
                    .bind(new.seller_id)
                    .fetch_one(&mut *c)
                    .await?;
            Ok::<_, StoreError>(Identities {
                user_token,
                persistent_identifier,
            })
        })
    }

    pub async fn add_derived_key(&self, key: &DerivedKey) -> Result<()> {
        write!(self, |c| {
            sqlx::query(
                "INSERT INTO derived_keys (access_key_id, customer_id, product_id, secret_hash, secret_encrypted, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&key.access_key_id)
            .bind(&key.customer_id)
            .bind(&key.product_id)
            .bind(&key.secret_hash)
            .bind(&key.secret_encrypted)
            .bind(key.created_at)
            .execute(&mut *c)
            .await?;
            Ok::<_, StoreError>(())
        })
    }

    pub async fn derived_key(&self, access_key_id: &str) -> Result<Option<DerivedKey>> {
        self.point_read(
            "SELECT access_key_id, customer_id, product_id, secret_hash, secret_encrypted, created_at
             FROM derived_keys WHERE access_key_id = $1",
            &[access_key_id],
        )
        .await
    }

    /// The customer and product of a user token.
    pub async fn user_token_owner(&self, token: &str) -> Result<Option<Owner>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT customer_id, product_id AS scope_id FROM user_tokens WHERE token = $1"
        )
        .bind(token)
        .fetch_optional(&mut *c)
        .await?))
    }

    /// The owners of the user tokens among `tokens`; unknown ones are left out.
    pub async fn user_token_owners(&self, tokens: &[&str]) -> Result<Vec<KeyOwner>> {
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        self.point_rows(
            |backend| {
                format!(
                    "SELECT token AS key, customer_id, product_id AS scope_id FROM user_tokens WHERE token IN {}",
                    crate::placeholders(backend, 1, tokens.len())
                )
            },
            tokens,
        )
        .await
    }

    /// The owners of the persistent identifiers among `pids`; unknown ones are left out.
    pub async fn pid_owners(&self, pids: &[&str]) -> Result<Vec<KeyOwner>> {
        if pids.is_empty() {
            return Ok(Vec::new());
        }
        self.point_rows(
            |backend| {
                format!(
                    "SELECT pid AS key, customer_id, seller_id AS scope_id FROM persistent_identifiers WHERE pid IN {}",
                    crate::placeholders(backend, 1, pids.len())
                )
            },
            pids,
        )
        .await
    }

    /// The current user token of a customer for a product.
    pub async fn user_token_of(&self, customer_id: &str, product_id: &str) -> Result<Option<String>> {
        read!(self, |c| {
            let row: Option<(String,)> =
                sqlx::query_as("SELECT token FROM user_tokens WHERE customer_id = $1 AND product_id = $2")
                    .bind(customer_id)
                    .bind(product_id)
                    .fetch_optional(&mut *c)
                    .await?;
            Ok(row.map(|(token,)| token))
        })
    }

    /// The customer and seller of a persistent identifier.
    pub async fn pid_owner(&self, pid: &str) -> Result<Option<Owner>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT customer_id, seller_id AS scope_id FROM persistent_identifiers WHERE pid = $1"
        )
        .bind(pid)
        .fetch_optional(&mut *c)
        .await?))
    }

    /// The state of the customer's current subscription to a product: the pending or active one, else the latest.
    pub async fn subscription_state(&self, customer_id: &str, product_id: &str) -> Result<Option<String>> {
        read!(self, |c| {
            let row: Option<(String,)> = sqlx::query_as(
                "SELECT state FROM subscriptions WHERE customer_id = $1 AND product_id = $2
                 ORDER BY CASE WHEN state = 'canceled' THEN 1 ELSE 0 END, created_at DESC LIMIT 1",
            )
            .bind(customer_id)
            .bind(product_id)
            .fetch_optional(&mut *c)
            .await?;
            Ok(row.map(|(state,)| state))
        })
    }

    /// Codes of the seller's products the customer has an active subscription to, in code order.
    pub async fn active_product_codes(&self, customer_id: &str, seller_id: &str) -> Result<Vec<String>> {
        read!(self, |c| {
            let rows: Vec<(String,)> = sqlx::query_as(
                "SELECT p.code FROM subscriptions s JOIN products p ON p.id = s.product_id
                 WHERE s.customer_id = $1 AND p.seller_id = $2 AND s.state = 'active' ORDER BY p.code",
            )
            .bind(customer_id)
            .bind(seller_id)
            .fetch_all(&mut *c)
            .await?;
            Ok(rows.into_iter().map(|(code,)| code).collect())
        })
    }

    /// Everything a verification by persistent identifier needs, in one statement: the seller of the live API key
    /// with this hash, who the PID belongs to, the product named by its code, and whether the customer has an
    /// active subscription to it. One statement, not one for the key and one for the rest: on SQLite each read
    /// takes and drops the database's file locks. `EXISTS` rather than the latest subscription's state: ordering
    /// the customer's subscriptions made SQLite build a sort for every check, which cost half of the statement.
    pub async fn pid_check(&self, key_hash: &str, pid: &str, product_code: &str) -> Result<PidCheck> {
        self.point_read(
            "SELECT k.seller_id AS key_seller_id, i.seller_id AS pid_seller_id, p.seller_id AS product_seller_id,
                    EXISTS (SELECT 1 FROM subscriptions s
                            WHERE s.customer_id = i.customer_id AND s.product_id = p.id AND s.state = 'active') AS active
             FROM (SELECT 1 AS one) AS x
             LEFT JOIN api_keys k ON k.key_hash = $1 AND k.revoked_at IS NULL
             LEFT JOIN persistent_identifiers i ON i.pid = $2
             LEFT JOIN products p ON p.code = $3",
            &[key_hash, pid, product_code],
        )
        .await?
        .ok_or(StoreError::NotFound)
    }

    /// Everything a verification by tokens needs, in one statement (as [`Store::pid_check`]): the derived key
    /// pair, the product of a product token, the owner of a user token, and whether the key's customer has an
    /// active subscription to that product.
    pub async fn token_check(&self, access_key_id: &str, product_token: &str, user_token: &str) -> Result<TokenCheck> {
        self.point_read(
            "SELECT d.secret_hash, d.customer_id AS key_customer_id, d.product_id AS key_product_id,
                    p.id AS product_id, u.customer_id AS token_customer_id, u.product_id AS token_product_id,
                    EXISTS (SELECT 1 FROM subscriptions s
                            WHERE s.customer_id = d.customer_id AND s.product_id = p.id AND s.state = 'active') AS active
             FROM (SELECT 1 AS one) AS x
             LEFT JOIN derived_keys d ON d.access_key_id = $1
             LEFT JOIN products p ON p.token = $2
             LEFT JOIN user_tokens u ON u.token = $3",
            &[access_key_id, product_token, user_token],
        )
        .await?
        .ok_or(StoreError::NotFound)
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct PidCheck {
    /// The seller of the live API key, if the key is one.
    pub key_seller_id: Option<String>,
    pub pid_seller_id: Option<String>,
    pub product_seller_id: Option<String>,
    /// Whether the PID's customer has an active subscription to the product.
    pub active: bool,
}

point_row!(PidCheck {
    key_seller_id,
    pid_seller_id,
    product_seller_id,
    active
});

#[derive(Debug, Clone, FromRow)]
pub struct TokenCheck {
    /// The key pair's secret hash, customer and product, if the access key id is one.
    pub secret_hash: Option<String>,
    pub key_customer_id: Option<String>,
    pub key_product_id: Option<String>,
    pub product_id: Option<String>,
    pub token_customer_id: Option<String>,
    pub token_product_id: Option<String>,
    /// Whether the key's customer has an active subscription to the product.
    pub active: bool,
}

point_row!(TokenCheck {
    secret_hash,
    key_customer_id,
    key_product_id,
    product_id,
    token_customer_id,
    token_product_id,
    active
});
