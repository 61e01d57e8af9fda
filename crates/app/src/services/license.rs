//! The license service (CONTRACT section 5, reference section 6): products activate themselves with an activation
//! key and check, at every start, that their customer still pays. Checks run in the contract's order: credential,
//! missing fields, product token, key format, key's product, key expiry, subscription state.

use serde_json::Value;
use tollgate_domain::codes::{
    activation_key as base32_key, activation_key_is_live, is_activation_key, normalize_activation_key,
};
use tollgate_domain::json::Object;
use tollgate_domain::subscription::SubscriptionState;
use tollgate_store::license::{DerivedKey, NewIdentities};
use tollgate_store::millis;
use tollgate_store::products::Product;
use tollgate_store::sellers::Seller;
use tollgate_store::subscriptions::ActivationKey;

use crate::error::{Error, LicenseError, Result};
use crate::secrets::{constant_time_eq, random_token, sha256_hex};
use crate::services::sellers;
use crate::state::AppState;

const USER_TOKEN_PREFIX: &str = "{UserToken}";
const PID_PREFIX: &str = "pid_";
const ACCESS_KEY_PREFIX: &str = "TGAK";

/// What a desktop product keeps after activating (R12): its user token and a derived key pair.
pub struct DesktopActivation {
    pub user_token: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

pub struct HostedActivation {
    pub user_token: String,
    pub persistent_identifier: String,
}

/// A derived key pair presented with HTTP Basic, proven by its secret.
pub struct DerivedCredential {
    pub key: DerivedKey,
}

/// Reads the body's required string fields in order, refusing unknown ones; a missing one is `MissingParameter`.
fn fields<'a, const N: usize>(body: &'a Value, names: [&'a str; N]) -> Result<[&'a str; N]> {
    let mut obj = Object::new("", body)?;
    let mut values = [""; N];
    for (value, name) in values.iter_mut().zip(names) {
        *value = obj.required_str(name)?;
    }
    obj.finish()?;
    Ok(values)
}

async fn product_by_token(state: &AppState, token: &str) -> Result<Product> {
    state
        .store
        .product_by_token(token)
        .await?
        .ok_or(Error::License(LicenseError::InvalidProductToken))
}

/// The activation key's record after the format, product and expiry checks (R12).
async fn live_key(state: &AppState, text: &str, product: &Product) -> Result<ActivationKey> {
    let key = normalize_activation_key(text);
    if !is_activation_key(&key) {
        return Err(Error::License(LicenseError::InvalidActivationKey));
    }
    let record = state
        .store
        .activation_key(&sha256_hex(&key))
        .await?
        .ok_or(Error::License(LicenseError::InvalidActivationKey))?;
    if record.product_id != product.id {
        return Err(Error::License(LicenseError::IncorrectActivationKey));
    }
    if !activation_key_is_live(record.created_at, millis(state.now().await?)) {
        return Err(Error::License(LicenseError::ExpiredActivationKey));
    }
    Ok(record)
}

/// Activation works for pending and active subscriptions, never for canceled ones (CONTRACT section 5).
async fn ensure_activatable(state: &AppState, customer_id: &str, product_id: &str) -> Result<()> {
    match state
        .store
        .subscription_state(customer_id, product_id)
        .await?
        .as_deref()
        .and_then(SubscriptionState::parse)
    {
        Some(SubscriptionState::Pending | SubscriptionState::Active) => Ok(()),
        _ => Err(Error::License(LicenseError::UserNotSubscribed)),
    }
}

pub(crate) async fn identities(
    state: &AppState,
    customer_id: &str,
    product: &Product,
) -> Result<tollgate_store::license::Identities> {
    let user_token = format!("{USER_TOKEN_PREFIX}{}", random_token::<32>());
    let pid = format!("{PID_PREFIX}{}", random_token::<24>());
    let at = millis(state.now().await?);
    Ok(state
        .store
        .identities(NewIdentities {
            customer_id,
            product_id: &product.id,
            seller_id: &product.seller_id,
            user_token: &user_token,
            persistent_identifier: &pid,
            at,
        })
        .await?)
}

/// `activate-desktop-product`: no credential; each activation adds a derived key pair (R12).
pub async fn activate_desktop(state: &AppState, body: &Value) -> Result<DesktopActivation> {
    let [activation_key, product_token] = fields(body, ["activation_key", "product_token"])?;
    let product = product_by_token(state, product_token).await?;
    let key = live_key(state, activation_key, &product).await?;
    ensure_activatable(state, &key.customer_id, &product.id).await?;
    let ids = identities(state, &key.customer_id, &product).await?;
    let secret_access_key = random_token::<30>();
    let derived = DerivedKey {
        // Base32 like activation keys: 140 random bits in characters any client can put in a header.
        access_key_id: format!("{ACCESS_KEY_PREFIX}{}", base32_key(rand::random())),
        customer_id: key.customer_id.clone(),
        product_id: product.id.clone(),
        secret_hash: sha256_hex(&secret_access_key),
        secret_encrypted: state.secret_key.encrypt(&secret_access_key)?,
        created_at: millis(state.now().await?),
    };
    state.store.add_derived_key(&derived).await?;
    Ok(DesktopActivation {
        user_token: ids.user_token,
        access_key_id: derived.access_key_id,
        secret_access_key,
    })
}

/// `activate-hosted-product`: the seller activates on the customer's behalf and gets the PID to keep (R12).
pub async fn activate_hosted(state: &AppState, seller: &Seller, body: &Value) -> Result<HostedActivation> {
    let [activation_key, product_token] = fields(body, ["activation_key", "product_token"])?;
    let product = product_by_token(state, product_token).await?;
    if product.seller_id != seller.id {
        return Err(Error::License(LicenseError::InvalidProductToken));
    }
    let key = live_key(state, activation_key, &product).await?;
    ensure_activatable(state, &key.customer_id, &product.id).await?;
    let ids = identities(state, &key.customer_id, &product).await?;
    Ok(HostedActivation {
        user_token: ids.user_token,
        persistent_identifier: ids.persistent_identifier,
    })
}

/// The customer behind one of this seller's persistent identifiers.
async fn pid_customer(state: &AppState, seller: &Seller, pid: &str) -> Result<String> {
    match state.store.pid_owner(pid).await? {
        Some(owner) if owner.scope_id == seller.id => Ok(owner.customer_id),
        _ => Err(Error::License(LicenseError::InvalidPersistentIdentifier)),
    }
}

/// `verify-product-subscription-by-pid`: true only while the subscription is active (R7). The hottest read path:
/// the seller's key is checked in the same statement as the rest, whose answer also tells the refusals apart; the
/// contract's order (credential, then fields) is kept by checking the key alone when the fields are wrong.
pub async fn verify_by_pid(state: &AppState, token: &str, body: &Value) -> Result<bool> {
    let Some(key_hash) = sellers::api_key_hash(token) else {
        return Err(sellers::refusal(state, token));
    };
    let [pid, product_code] = match fields(body, ["persistent_identifier", "product_code"]) {
        Ok(fields) => fields,
        Err(error) => {
            return match sellers::authenticate(state, token).await? {
                Some(_) => Err(error),
                None => Err(sellers::refusal(state, token)),
            };
        }
    };
    let check = state.store.pid_check(&key_hash, pid, product_code).await?;
    let Some(seller_id) = check.key_seller_id else {
        return Err(sellers::refusal(state, token));
    };
    if check.pid_seller_id.as_deref() != Some(seller_id.as_str()) {
        return Err(Error::License(LicenseError::InvalidPersistentIdentifier));
    }
    match check.product_seller_id {
        None => Err(Error::NotFound("product")),
        Some(owner) if owner != seller_id => Err(Error::Forbidden("the product belongs to another seller")),
        Some(_) => Ok(check.active),
    }
}

/// `get-active-subscriptions-by-pid`: the seller's own products the customer is actively subscribed to.
pub async fn active_by_pid(state: &AppState, seller: &Seller, body: &Value) -> Result<Vec<String>> {
    let [pid] = fields(body, ["persistent_identifier"])?;
    let customer_id = pid_customer(state, seller, pid).await?;
    Ok(state.store.active_product_codes(&customer_id, &seller.id).await?)
}

/// Authenticates a derived key pair (HTTP Basic `access_key_id:secret_access_key`).
pub async fn authenticate_derived(
    state: &AppState,
    access_key_id: &str,
    secret: &str,
) -> Result<Option<DerivedCredential>> {
    let Some(key) = state.store.derived_key(access_key_id).await? else {
        return Ok(None);
    };
    Ok(constant_time_eq(&key.secret_hash, &sha256_hex(secret)).then_some(DerivedCredential { key }))
}

/// The user token's owner, which must be the derived key's customer and product (CONTRACT section 5).
async fn token_customer(state: &AppState, credential: &DerivedCredential, user_token: &str) -> Result<()> {
    let owner = state
        .store
        .user_token_owner(user_token)
        .await?
        .ok_or(Error::License(LicenseError::InvalidUserToken))?;
    if owner.customer_id != credential.key.customer_id || owner.scope_id != credential.key.product_id {
        return Err(Error::Forbidden(
            "the user token belongs to another customer or product",
        ));
    }
    Ok(())
}

/// `verify-product-subscription-by-tokens`: derived keys keep authenticating after a cancellation (R12), and
/// the answer is then false. Checked in one statement with the key pair, like the verification by PID.
pub async fn verify_by_tokens(state: &AppState, access_key_id: &str, secret: &str, body: &Value) -> Result<bool> {
    let [product_token, user_token] = match fields(body, ["product_token", "user_token"]) {
        Ok(fields) => fields,
        Err(error) => {
            return match authenticate_derived(state, access_key_id, secret).await? {
                Some(_) => Err(error),
                None => Err(Error::Unauthenticated),
            };
        }
    };
    let check = state
        .store
        .token_check(access_key_id, product_token, user_token)
        .await?;
    let proven = check
        .secret_hash
        .as_deref()
        .is_some_and(|hash| constant_time_eq(hash, &sha256_hex(secret)));
    let (true, Some(key_customer), Some(key_product)) = (proven, check.key_customer_id, check.key_product_id) else {
        return Err(Error::Unauthenticated);
    };
    let product_id = check
        .product_id
        .ok_or(Error::License(LicenseError::InvalidProductToken))?;
    if product_id != key_product {
        return Err(Error::Forbidden("the key pair belongs to another product"));
    }
    let (Some(customer), Some(product)) = (check.token_customer_id, check.token_product_id) else {
        return Err(Error::License(LicenseError::InvalidUserToken));
    };
    if customer != key_customer || product != key_product {
        return Err(Error::Forbidden(
            "the user token belongs to another customer or product",
        ));
    }
    Ok(check.active)
}

/// `refresh-user-token`: the current token; refused once the subscription has ended.
pub async fn refresh_user_token(state: &AppState, credential: &DerivedCredential, body: &Value) -> Result<String> {
    let [user_token] = fields(body, ["user_token"])?;
    token_customer(state, credential, user_token).await?;
    ensure_activatable(state, &credential.key.customer_id, &credential.key.product_id).await?;
    let current = state
        .store
        .user_token_of(&credential.key.customer_id, &credential.key.product_id)
        .await?;
    current.ok_or(Error::License(LicenseError::InvalidUserToken))
}
