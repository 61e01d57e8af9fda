//! The license service's routes (CONTRACT section 5).

use axum::Json;
use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::error::Error;
use crate::http::auth::SellerAuth;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::ApiJson;
use crate::services::license::{self, DerivedCredential};
use crate::state::AppState;

/// A desktop product's derived key pair, by HTTP Basic `access_key_id:secret_access_key`.
pub struct DerivedAuth(DerivedCredential);

impl<S: Send + Sync> FromRequestParts<S> for DerivedAuth
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
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
        let Some((id, secret)) = basic.as_deref().and_then(|b| b.split_once(':')) else {
            return Err(Error::Unauthenticated.into());
        };
        match license::authenticate_derived(&state, id, secret).await? {
            Some(credential) => Ok(DerivedAuth(credential)),
            None => Err(Error::Unauthenticated.into()),
        }
    }
}

pub async fn activate_desktop(State(state): State<AppState>, ApiJson(body): ApiJson) -> ApiResult<Json<Value>> {
    let activation = license::activate_desktop(&state, &body).await?;
    Ok(Json(json!({
        "user_token": activation.user_token,
        "access_key_id": activation.access_key_id,
        "secret_access_key": activation.secret_access_key,
    })))
}

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

pub async fn verify_by_pid(
    State(state): State<AppState>,
    SellerAuth(seller): SellerAuth,
    ApiJson(body): ApiJson,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({"subscribed": license::verify_by_pid(&state, &seller, &body).await?}),
    ))
}

pub async fn verify_by_tokens(
    State(state): State<AppState>,
    DerivedAuth(credential): DerivedAuth,
    ApiJson(body): ApiJson,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({"subscribed": license::verify_by_tokens(&state, &credential, &body).await?}),
    ))
}

pub async fn active_by_pid(
    State(state): State<AppState>,
    SellerAuth(seller): SellerAuth,
    ApiJson(body): ApiJson,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({"product_codes": license::active_by_pid(&state, &seller, &body).await?}),
    ))
}

pub async fn refresh_user_token(
    State(state): State<AppState>,
    DerivedAuth(credential): DerivedAuth,
    ApiJson(body): ApiJson,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({"user_token": license::refresh_user_token(&state, &credential, &body).await?}),
    ))
}
