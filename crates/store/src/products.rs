//! Products and their price versions.

use sqlx::FromRow;

use crate::{Result, Store, StoreError, queries, read, write};

#[derive(Debug, Clone, FromRow)]
pub struct Product {
    pub id: String,
    pub seller_id: String,
    pub code: String,
    pub offering_code: String,
    pub token: String,
    pub kind: String,
    pub name: String,
    pub description: String,
    pub redirect_url: String,
    pub terms_url: Option<String>,
    pub support_contact: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A product's price from an instant on: pricing and configurations as validated JSON.
#[derive(Debug, Clone, FromRow)]
pub struct PriceVersion {
    pub id: String,
    pub product_id: String,
    pub effective_at: i64,
    pub pricing: String,
    pub configurations: String,
}

/// The fields of a product that may change after registration (never its price: that takes a price change).
#[derive(Debug, Clone)]
pub struct ProductDetails {
    pub name: String,
    pub description: String,
    pub redirect_url: String,
    pub terms_url: Option<String>,
    pub support_contact: Option<String>,
}

queries! {
    pub(crate) trait ProductQueries {
        async fn product_where(&mut self, column: ProductKey, value: &str) -> Result<Option<Product>> {
            let sql = match column {
                ProductKey::Id => "SELECT * FROM products WHERE id = $1",
                ProductKey::Code => "SELECT * FROM products WHERE code = $1",
                ProductKey::Offering => "SELECT * FROM products WHERE offering_code = $1",
            };
            Ok(sqlx::query_as(sql).bind(value).fetch_optional(&mut *self).await?)
        }

        async fn price_at(&mut self, product_id: &str, at: i64) -> Result<PriceVersion> {
            // Before its first price takes effect (a clock behind the registration), a product shows that first
            // price rather than none.
            Ok(sqlx::query_as(
                "SELECT * FROM price_versions WHERE product_id = $1
                 ORDER BY CASE WHEN effective_at <= $2 THEN 0 ELSE 1 END,
                          CASE WHEN effective_at <= $2 THEN -effective_at ELSE effective_at END
                 LIMIT 1",
            )
            .bind(product_id)
            .bind(at)
            .fetch_one(&mut *self)
            .await?)
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum ProductKey {
    Id,
    Code,
    Offering,
}

impl Store {
    /// Registers a product with its first price; [`StoreError::Conflict`] if a generated code collided.
    pub async fn create_product(&self, product: &Product, price: &PriceVersion) -> Result<()> {
        write!(self, |c| {
            sqlx::query(
                "INSERT INTO products (id, seller_id, code, offering_code, token, kind, name, description, redirect_url,
                                       terms_url, support_contact, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(&product.id)
            .bind(&product.seller_id)
            .bind(&product.code)
            .bind(&product.offering_code)
            .bind(&product.token)
            .bind(&product.kind)
            .bind(&product.name)
            .bind(&product.description)
            .bind(&product.redirect_url)
            .bind(&product.terms_url)
            .bind(&product.support_contact)
            .bind(product.created_at)
            .bind(product.updated_at)
            .execute(&mut *c)
            .await?;
            sqlx::query(
                "INSERT INTO price_versions (id, product_id, effective_at, pricing, configurations) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&price.id)
            .bind(&price.product_id)
            .bind(price.effective_at)
            .bind(&price.pricing)
            .bind(&price.configurations)
            .execute(&mut *c)
            .await?;
            Ok::<_, StoreError>(())
        })
    }

    pub async fn products_of_seller(&self, seller_id: &str) -> Result<Vec<Product>> {
        read!(self, |c| Ok(sqlx::query_as(
            "SELECT * FROM products WHERE seller_id = $1 ORDER BY created_at, id"
        )
        .bind(seller_id)
        .fetch_all(&mut *c)
        .await?))
    }

    pub async fn product(&self, id: &str) -> Result<Option<Product>> {
        read!(self, |c| c.product_where(ProductKey::Id, id).await)
    }

    pub async fn product_by_code(&self, code: &str) -> Result<Option<Product>> {
        read!(self, |c| c.product_where(ProductKey::Code, code).await)
    }

    pub async fn product_by_offering(&self, offering_code: &str) -> Result<Option<Product>> {
        read!(self, |c| c.product_where(ProductKey::Offering, offering_code).await)
    }

    /// The price in force at `at`.
    pub async fn price_at(&self, product_id: &str, at: i64) -> Result<PriceVersion> {
        read!(self, |c| c.price_at(product_id, at).await)
    }

    /// The prices in force over `[from, to)`: the one in force at `from`, then each that took effect after it.
    pub async fn prices_during(&self, product_id: &str, from: i64, to: i64) -> Result<Vec<PriceVersion>> {
        read!(self, |c| {
            let first = c.price_at(product_id, from).await?;
            let later: Vec<PriceVersion> = sqlx::query_as(
                "SELECT * FROM price_versions WHERE product_id = $1 AND effective_at > $2 AND effective_at < $3
                 ORDER BY effective_at",
            )
            .bind(product_id)
            .bind(from)
            .bind(to)
            .fetch_all(&mut *c)
            .await?;
            // A product registered during the range has its first price in force from `from` already.
            let later: Vec<PriceVersion> = later.into_iter().filter(|v| v.id != first.id).collect();
            Ok(std::iter::once(first).chain(later).collect())
        })
    }

    pub async fn update_product(&self, product_id: &str, details: &ProductDetails, at: i64) -> Result<()> {
        write!(self, |c| {
            sqlx::query(
                "UPDATE products SET name = $1, description = $2, redirect_url = $3, terms_url = $4, support_contact = $5,
                                     updated_at = $6
                 WHERE id = $7",
            )
            .bind(&details.name)
            .bind(&details.description)
            .bind(&details.redirect_url)
            .bind(&details.terms_url)
            .bind(&details.support_contact)
            .bind(at)
            .bind(product_id)
            .execute(&mut *c)
            .await?;
            Ok::<_, StoreError>(())
        })
    }
}
