//! The operator's routes.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use tollgate_domain::calendar::{format_instant, parse_instant};
use tollgate_domain::json::Object;
use tollgate_store::instant;

use super::list::Page;
use crate::error::Error;
use crate::http::auth::Operator;
use crate::http::error::ApiResult;
use crate::http::json::ApiJson;
use crate::services::{bills, clock, products, sellers};
use crate::state::AppState;

/// Create a seller with its first API key (shown once).
#[utoipa::path(post, path = "/admin/sellers", tag = "operator", security(("operator" = [])),
    request_body(content = Value, example = json!({"email": "sales@acme.example", "password": "a long password", "company_name": "Acme Software", "public_contact": "help@acme.example"})),
    responses((status = 201, body = Value, example = json!({"seller_id": "0199…", "api_key": "tg_sk_…"})),
        (status = 400, description = "MissingParameter, InvalidParameterValue"), (status = 401), (status = 403),
        (status = 409, description = "EmailTaken")))]
pub async fn create_seller(
    State(state): State<AppState>,
    _: Operator,
    ApiJson(body): ApiJson,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (seller, key) = sellers::create_by_operator(&state, &body).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"seller_id": seller.id, "api_key": key.plain})),
    ))
}

/// Add a platform dimension, or change its unit and base cost from now on.
#[utoipa::path(put, path = "/admin/dimensions/{name}", tag = "operator", security(("operator" = [])),
    params(("name" = String, Path, description = "e.g. storage.gb_month; never custom.*")),
    request_body(content = Value, example = json!({"unit": "GB-Month", "base_cost": "0.15"})),
    responses((status = 200, body = Value), (status = 400, description = "InvalidParameterValue"), (status = 401), (status = 403)))]
pub async fn put_dimension(
    State(state): State<AppState>,
    _: Operator,
    Path(name): Path<String>,
    ApiJson(body): ApiJson,
) -> ApiResult<Json<Value>> {
    let dimension = products::put_dimension(&state, &name, &body).await?;
    Ok(Json(
        json!({"name": dimension.name, "unit": dimension.unit, "base_cost": dimension.base_cost}),
    ))
}

/// The sandbox's business clock.
#[utoipa::path(get, path = "/admin/clock", tag = "operator", security(("operator" = [])),
    responses((status = 200, body = Value, example = json!({"now": "2027-06-17T10:00:00Z"})), (status = 401), (status = 404, description = "not in the sandbox")))]
pub async fn get_clock(State(state): State<AppState>, _: Operator) -> ApiResult<Json<Value>> {
    clock::ensure_sandbox(&state)?;
    Ok(Json(json!({"now": format_instant(state.now().await?)})))
}

/// Move the sandbox's clock forward, carrying out everything due up to then before answering.
#[utoipa::path(post, path = "/admin/clock", tag = "operator", security(("operator" = [])),
    request_body(content = Value, example = json!({"now": "2027-07-01T00:00:00Z"})),
    responses((status = 200, body = Value), (status = 400, description = "InvalidParameterValue"), (status = 401),
        (status = 404, description = "not in the sandbox"), (status = 409, description = "ClockMovedBackwards")))]
pub async fn set_clock(State(state): State<AppState>, _: Operator, ApiJson(body): ApiJson) -> ApiResult<Json<Value>> {
    clock::ensure_sandbox(&state)?;
    let mut obj = Object::new("", &body)?;
    let text = obj.required_str("now")?;
    obj.finish()?;
    let to = parse_instant(text).ok_or_else(|| Error::field("now", "must be an RFC 3339 instant"))?;
    let now = clock::advance(&state, to).await?;
    Ok(Json(json!({"now": format_instant(now)})))
}

/// A customer's bills, oldest first, with their lines.
#[utoipa::path(get, path = "/admin/customers/{email}/bills", tag = "operator", security(("operator" = [])),
    params(("email" = String, Path), ("limit" = Option<u32>, Query), ("after" = Option<String>, Query)),
    responses((status = 200, body = Value), (status = 401), (status = 404, description = "NotFound")))]
pub async fn customer_bills(
    State(state): State<AppState>,
    _: Operator,
    Path(email): Path<String>,
    page: Page,
) -> ApiResult<Json<Value>> {
    Ok(Json(page.of("bills", bills::customer_bills(&state, &email).await?)))
}

/// Every e-mail composed to an address, oldest first, whatever its delivery.
#[utoipa::path(get, path = "/admin/emails", tag = "operator", security(("operator" = [])),
    params(("to" = String, Query), ("limit" = Option<u32>, Query), ("after" = Option<String>, Query)),
    responses((status = 200, body = Value), (status = 400, description = "MissingParameter"), (status = 401)))]
pub async fn emails(
    State(state): State<AppState>,
    _: Operator,
    RawQuery(query): RawQuery,
    page: Page,
) -> ApiResult<Json<Value>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let to = pairs
        .into_iter()
        .find(|(k, v)| k == "to" && !v.trim().is_empty())
        .map(|(_, v)| v)
        .ok_or_else(|| Error::Field(tollgate_domain::FieldError::missing("to")))?;
    let emails: Vec<Value> = state
        .store
        .emails_to(to.trim())
        .await?
        .into_iter()
        .map(|e| {
            json!({
                "to": e.to_address,
                "subject": e.subject,
                "text": e.text_body,
                "created_at": format_instant(instant(e.created_at)),
                "state": e.state,
            })
        })
        .collect();
    Ok(Json(page.of("emails", emails)))
}
