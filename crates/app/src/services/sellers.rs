//! Sellers, their API keys, and their money as the ledger records it.

use serde_json::Value;
use tollgate_domain::json::Object;
use tollgate_domain::validation::required_text;
use tollgate_domain::{FieldError, Money};
use tollgate_store::accounts::Account;
use tollgate_store::ledger::{LedgerTransaction, SELLER_PAYOUTS, SellerTransaction, seller_account};
use tollgate_store::sellers::{ApiKey, NewSeller, Seller};
use tollgate_store::{StoreError, millis, new_id};

use crate::error::{Error, Result};
use crate::secrets::{constant_time_eq, random_token, sha256_hex};
use crate::services::accounts::{SignUp, new_account};
use crate::state::AppState;

/// Prefix of seller API keys, so that a leaked key is recognisable.
const API_KEY_PREFIX: &str = "tg_sk_";

pub struct SellerProfile {
    pub company_name: String,
    pub public_contact: String,
}

impl SellerProfile {
    pub fn parse(company_name: &str, public_contact: &str) -> Result<SellerProfile, FieldError> {
        Ok(SellerProfile {
            company_name: required_text("company_name", company_name, 200)?,
            public_contact: required_text("public_contact", public_contact, 200)?,
        })
    }
}

/// An API key as made: the plain key is shown once and never stored.
pub struct IssuedKey {
    pub key: ApiKey,
    pub plain: String,
}

fn issue_key(seller_id: &str, label: &str, at: i64) -> IssuedKey {
    let plain = format!("{API_KEY_PREFIX}{}", random_token::<32>());
    let key = ApiKey {
        id: new_id(),
        seller_id: seller_id.to_owned(),
        key_hash: sha256_hex(&plain),
        hint: plain[plain.len() - 4..].to_owned(),
        label: label.to_owned(),
        created_at: at,
        revoked_at: None,
    };
    IssuedKey { key, plain }
}

fn new_seller(account_id: &str, profile: SellerProfile, at: i64) -> Seller {
    Seller {
        id: new_id(),
        account_id: account_id.to_owned(),
        company_name: profile.company_name,
        public_contact: profile.public_contact,
        created_at: at,
    }
}

/// The operator's route (CONTRACT section 3): a new account that is a seller, with its first API key.
pub async fn create_by_operator(state: &AppState, body: &Value) -> Result<(Seller, IssuedKey)> {
    let mut obj = Object::new("", body)?;
    let email = obj.required_str("email")?;
    let password = obj.required_str("password")?;
    let company_name = obj.required_str("company_name")?;
    let public_contact = obj.required_str("public_contact")?;
    obj.finish()?;
    let profile = SellerProfile::parse(company_name, public_contact)?;
    let account = new_account(
        state,
        &SignUp {
            email,
            password,
            name: company_name,
        },
    )
    .await?;
    let seller = new_seller(&account.id, profile, account.created_at);
    let issued = issue_key(&seller.id, "first key", account.created_at);
    match state
        .store
        .create_seller(NewSeller {
            account: Some(&account),
            seller: &seller,
            api_key: Some(&issued.key),
        })
        .await
    {
        Ok(()) => Ok((seller, issued)),
        Err(StoreError::Conflict) => Err(Error::EmailTaken),
        Err(e) => Err(e.into()),
    }
}

/// A signed-in customer becomes a seller (the console's first page).
pub async fn become_seller(state: &AppState, account: &Account, profile: SellerProfile) -> Result<Seller> {
    let seller = new_seller(&account.id, profile, millis(state.now().await?));
    match state
        .store
        .create_seller(NewSeller {
            account: None,
            seller: &seller,
            api_key: None,
        })
        .await
    {
        Ok(()) => Ok(seller),
        Err(StoreError::Conflict) => Err(Error::Forbidden("this account is a seller already")),
        Err(e) => Err(e.into()),
    }
}

pub async fn create_api_key(state: &AppState, seller: &Seller, label: &str) -> Result<IssuedKey> {
    let label = tollgate_domain::validation::optional_text("label", label, 100)?.unwrap_or_else(|| "API key".into());
    let issued = issue_key(&seller.id, &label, millis(state.now().await?));
    state.store.add_api_key(&issued.key).await?;
    Ok(issued)
}

pub async fn revoke_api_key(state: &AppState, seller: &Seller, key_id: &str) -> Result<()> {
    match state
        .store
        .revoke_api_key(&seller.id, key_id, millis(state.now().await?))
        .await
    {
        Ok(()) => Ok(()),
        Err(StoreError::NotFound) => Err(Error::NotFound("API key")),
        Err(e) => Err(e.into()),
    }
}

/// The seller whose live key this is.
pub async fn authenticate(state: &AppState, plain_key: &str) -> Result<Option<Seller>> {
    match api_key_hash(plain_key) {
        Some(hash) => Ok(state.store.seller_by_api_key(&hash).await?),
        None => Ok(None),
    }
}

/// What an API key is looked up by; `None` for a token that cannot be one.
pub fn api_key_hash(plain_key: &str) -> Option<String> {
    plain_key.starts_with(API_KEY_PREFIX).then(|| sha256_hex(plain_key))
}

/// Whether a bearer token is the operator's.
pub fn is_operator_token(state: &AppState, token: &str) -> bool {
    state
        .settings
        .operator_token
        .as_deref()
        .is_some_and(|expected| constant_time_eq(expected, token))
}

/// Why a bearer token that is no seller's key is refused on a seller's route: the operator's is the wrong role
/// (403), anything else no credential (401).
pub fn refusal(state: &AppState, token: &str) -> Error {
    match is_operator_token(state, token) {
        true => Error::Forbidden("this route is for sellers"),
        false => Error::Unauthenticated,
    }
}

/// The seller's balance and transaction history (CONTRACT section 9).
pub async fn transactions(state: &AppState, seller: &Seller) -> Result<(Money, Vec<SellerTransaction>)> {
    let history = state.store.seller_transactions(&seller.id).await?;
    let balance = Money::from_cents(state.store.account_balance(&seller_account(&seller.id)).await?);
    Ok((balance, history))
}

/// A withdrawal of part of the seller's balance (R30): more than 0, at most the balance. The amount and the new
/// balance.
pub async fn withdraw(state: &AppState, seller: &Seller, body: &Value) -> Result<(Money, Money)> {
    let mut obj = Object::new("", body)?;
    let text = obj.required_str("amount")?;
    obj.finish()?;
    let amount = Money::parse_price(text).map_err(|e| Error::field("amount", &e.to_string()))?;
    if amount.is_zero() {
        return Err(Error::field("amount", "must be more than 0"));
    }
    let now = state.now().await?;
    let txn = LedgerTransaction {
        id: new_id(),
        unique_key: format!("withdrawal:{}", new_id()),
        at: millis(now),
        kind: "withdrawal",
        description: format!("withdrawal of {amount}"),
        bill_id: None,
        entries: vec![
            (seller_account(&seller.id), -amount.cents()),
            (SELLER_PAYOUTS.to_owned(), amount.cents()),
        ],
    };
    if !state.store.withdraw(&seller.id, amount.cents(), &txn).await? {
        return Err(Error::InsufficientBalance);
    }
    let balance = Money::from_cents(state.store.account_balance(&seller_account(&seller.id)).await?);
    Ok((amount, balance))
}
