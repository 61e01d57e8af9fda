//! The license service's routes (CONTRACT section 5).

use axum::Json;
use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::error::Error;
use crate::http::auth::{Bearer, SellerAuth};
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::ApiJson;
use crate::services::license::{self, DerivedCredential};
use crate::state::AppState;

/// A derived key pair as presented, by HTTP Basic `access_key_id:secret_access_key`, not yet checked: 401 when
/// there is none.
pub struct KeyPair {
    access_key_id: String,
    secret: String,
}

impl<S: Send + Sync> FromRequestParts<S> for KeyPair {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let basic = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split_once(' ')
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
            })
            .and_then(|(_, encoded)| STANDARD.decode(encoded.trim()).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok());
        match basic.as_deref().and_then(|b| b.split_once(':')) {
            Some((id, secret)) => Ok(KeyPair {
                access_key_id: id.to_owned(),
                secret: secret.to_owned(),
            }),
            None => Err(Error::Unauthenticated.into()),
        }
    }
}

/// A desktop product's derived key pair, proven by its secret.
pub struct DerivedAuth(DerivedCredential);

impl<S: Send + Sync> FromRequestParts<S> for DerivedAuth
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let pair = KeyPair::from_request_parts(parts, state).await?;
        let state = AppState::from_ref(state);
        match license::authenticate_derived(&state, &pair.access_key_id, &pair.secret).await? {
            Some(credential) => Ok(DerivedAuth(credential)),
            None => Err(Error::Unauthenticated.into()),
        }
    }
}

/// Activate a desktop product with an activation key: a user token and a new derived key pair.
#[utoipa::path(post, path = "/license/activate-desktop-product", tag = "license",
    request_body(content = Value, example = json!({"activation_key": "ADMAY7DVLJTWHJ76MMBMQEXAMPLE", "product_token": "{ProductToken}…"})),
    responses((status = 200, body = Value, example = json!({"user_token": "{UserToken}…", "access_key_id": "TGAK…", "secret_access_key": "…"})),
        (status = 400, description = "MissingParameter, InvalidProductToken, InvalidActivationKey, IncorrectActivationKey, ExpiredActivationKey"),
        (status = 403, description = "UserNotSubscribed")))]
pub async fn activate_desktop(State(state): State<AppState>, ApiJson(body): ApiJson) -> ApiResult<Json<Value>> {
    let activation = license::activate_desktop(&state, &body).await?;
    Ok(Json(json!({
        "user_token": activation.user_token,
        "access_key_id": activation.access_key_id,
        "secret_access_key": activation.secret_access_key,
    })))
}

/// Activate a hosted product as its seller: the customer's user token and persistent identifier.
#[utoipa::path(post, path = "/license/activate-hosted-product", tag = "license", security(("seller" = [])),
    request_body(content = Value, example = json!({"activation_key": "ADMAY7DVLJTWHJ76MMBMQEXAMPLE", "product_token": "{ProductToken}…"})),
    responses((status = 200, body = Value, example = json!({"user_token": "{UserToken}…", "persistent_identifier": "pid_…"})),
        (status = 400, description = "MissingParameter, InvalidProductToken, InvalidActivationKey, IncorrectActivationKey, ExpiredActivationKey"),
        (status = 401), (status = 403, description = "UserNotSubscribed")))]
pub async fn activate_hosted(
    State(state): State<AppState>,
    SellerAuth(seller): SellerAuth,
    ApiJson(body): ApiJson,
) -> ApiResult<Json<Value>> {
    let activation = license::activate_hosted(&state, &seller, &body).await?;
    Ok(Json(json!({
        "user_token": activation.user_token,
        "persistent_identifier": activation.persistent_identifier,
    })))
}

/// Whether the customer behind a persistent identifier has an active subscription to the product.
#[utoipa::path(post, path = "/license/verify-product-subscription-by-pid", tag = "license", security(("seller" = [])),
    request_body(content = Value, example = json!({"persistent_identifier": "pid_…", "product_code": "774F4FF8"})),
    responses((status = 200, body = Value, example = json!({"subscribed": true})),
        (status = 400, description = "MissingParameter, InvalidPersistentIdentifier"), (status = 401),
        (status = 403, description = "another seller's product"), (status = 404)))]
pub async fn verify_by_pid(
    State(state): State<AppState>,
    Bearer(token): Bearer,
    ApiJson(body): ApiJson,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({"subscribed": license::verify_by_pid(&state, &token, &body).await?}),
    ))
}

/// Whether the user token's customer has an active subscription, asked with the derived keys.
#[utoipa::path(post, path = "/license/verify-product-subscription-by-tokens", tag = "license", security(("derived_keys" = [])),
    request_body(content = Value, example = json!({"product_token": "{ProductToken}…", "user_token": "{UserToken}…"})),
    responses((status = 200, body = Value, example = json!({"subscribed": true})),
        (status = 400, description = "MissingParameter, InvalidProductToken, InvalidUserToken"), (status = 401),
        (status = 403, description = "another product's token or another customer's user token")))]
pub async fn verify_by_tokens(
    State(state): State<AppState>,
    pair: KeyPair,
    ApiJson(body): ApiJson,
) -> ApiResult<Json<Value>> {
    let subscribed = license::verify_by_tokens(&state, &pair.access_key_id, &pair.secret, &body).await?;
    Ok(Json(json!({ "subscribed": subscribed })))
}

/// The seller's products the customer is actively subscribed to.
#[utoipa::path(post, path = "/license/get-active-subscriptions-by-pid", tag = "license", security(("seller" = [])),
    request_body(content = Value, example = json!({"persistent_identifier": "pid_…"})),
    responses((status = 200, body = Value, example = json!({"product_codes": ["774F4FF8"]})),
        (status = 400, description = "MissingParameter, InvalidPersistentIdentifier"), (status = 401)))]
pub async fn active_by_pid(
    State(state): State<AppState>,
    SellerAuth(seller): SellerAuth,
    ApiJson(body): ApiJson,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({"product_codes": license::active_by_pid(&state, &seller, &body).await?}),
    ))
}

/// The current user token.
#[utoipa::path(post, path = "/license/refresh-user-token", tag = "license", security(("derived_keys" = [])),
    request_body(content = Value, example = json!({"user_token": "{UserToken}…"})),
    responses((status = 200, body = Value), (status = 400, description = "MissingParameter, InvalidUserToken"), (status = 401),
        (status = 403, description = "UserNotSubscribed, or another customer's token")))]
pub async fn refresh_user_token(
    State(state): State<AppState>,
    DerivedAuth(credential): DerivedAuth,
    ApiJson(body): ApiJson,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({"user_token": license::refresh_user_token(&state, &credential, &body).await?}),
    ))
}
