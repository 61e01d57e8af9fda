//! Customers seeded straight through the store, as the server knows them after buying and activating: for the
//! benchmarks that need many subscriptions and would spend their time on sign-ups otherwise.

use tollgate::secrets::{random_token, sha256_hex};
use tollgate::state::AppState;
use tollgate_domain::codes::activation_key;
use tollgate_store::accounts::Account;
use tollgate_store::license::{Identities, NewIdentities};
use tollgate_store::new_id;
use tollgate_store::products::Product;
use tollgate_store::subscriptions::{ActivationKey, NewOrder, Subscription};

pub struct Subscriber {
    pub account: Account,
    #[allow(
        dead_code,
        reason = "the license benchmark, which includes this file too, needs no subscription id"
    )]
    pub subscription_id: String,
    #[allow(
        dead_code,
        reason = "the billing benchmark, which includes this file too, bills customers without their identities"
    )]
    pub identities: Identities,
}

/// Customer `i`: an account (with a precomputed password hash), a subscription with its activation key (no bill,
/// no e-mail), active or canceled at `now`, and the customer's user token and persistent identifier.
pub async fn subscriber(
    state: &AppState,
    product: &Product,
    password_hash: &str,
    i: usize,
    canceled: bool,
    now: i64,
) -> anyhow::Result<Subscriber> {
    let email = format!("customer{i}@bench.example");
    let account = Account {
        id: new_id(),
        email: email.clone(),
        email_normalized: email,
        name: format!("Customer {i}"),
        password_hash: password_hash.to_owned(),
        created_at: now,
    };
    state.store.create_account(&account).await?;
    let subscription = Subscription {
        id: new_id(),
        customer_id: account.id.clone(),
        product_id: product.id.clone(),
        state: if canceled { "canceled" } else { "active" }.to_owned(),
        cancel_reason: canceled.then(|| "customer".to_owned()),
        created_at: now,
        activated_at: Some(now),
        canceled_at: canceled.then_some(now),
    };
    let key = ActivationKey {
        key_hash: sha256_hex(&activation_key(rand::random())),
        customer_id: account.id.clone(),
        product_id: product.id.clone(),
        created_at: now,
    };
    state
        .store
        .place_order(NewOrder {
            subscription: &subscription,
            activation_key: &key,
            bill: None,
            fee_months: &[],
            emails: &[],
            accepts_price_change: None,
        })
        .await?;
    let identities = state
        .store
        .identities(NewIdentities {
            customer_id: &account.id,
            product_id: &product.id,
            seller_id: &product.seller_id,
            user_token: &format!("{{UserToken}}{}", random_token::<32>()),
            persistent_identifier: &format!("pid_{}", random_token::<24>()),
            at: now,
        })
        .await?;
    Ok(Subscriber {
        account,
        subscription_id: subscription.id,
        identities,
    })
}
