//! Activation keys (docs/rules.md R12): at most 30 characters, valid one hour by the business clock, for one
//! customer and product, stored only as a hash.

use chrono::{DateTime, Utc};
use tollgate_domain::codes::{activation_key, activation_redirect, is_product_code};
use tollgate_store::accounts::Account;
use tollgate_store::millis;
use tollgate_store::products::Product;
use tollgate_store::subscriptions::ActivationKey;

use crate::error::{Error, Result};
use crate::secrets::sha256_hex;
use crate::state::AppState;

/// A key as shown to its customer, once, with the link that carries it to the seller's site.
#[derive(Debug, Clone)]
pub struct IssuedActivationKey {
    pub key: String,
    pub product_code: String,
    pub product_name: String,
    pub continue_url: String,
}

/// Makes a key and the row that stores its hash.
pub fn issue(customer_id: &str, product: &Product, at: DateTime<Utc>) -> (IssuedActivationKey, ActivationKey) {
    let key = activation_key(rand::random());
    let row = ActivationKey {
        key_hash: sha256_hex(&key),
        customer_id: customer_id.to_owned(),
        product_id: product.id.clone(),
        created_at: millis(at),
    };
    let issued = IssuedActivationKey {
        continue_url: activation_redirect(&product.redirect_url, &key, &product.code),
        key,
        product_code: product.code.clone(),
        product_name: product.name.clone(),
    };
    (issued, row)
}

/// A new key for one of the customer's pending or active products (the /activate page, reference 4.2).
pub async fn new_key(state: &AppState, customer: &Account, product_code: &str) -> Result<IssuedActivationKey> {
    let product = match is_product_code(product_code) {
        true => state.store.product_by_code(product_code).await?,
        false => None,
    };
    let product = product.ok_or(Error::NotFound("product"))?;
    if state
        .store
        .open_subscription(&customer.id, &product.id)
        .await?
        .is_none()
    {
        return Err(Error::NotFound("subscription"));
    }
    let (issued, row) = issue(&customer.id, &product, state.now().await?);
    state.store.add_activation_key(&row).await?;
    Ok(issued)
}
