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

pub async fn get_clock(State(state): State<AppState>, _: Operator) -> ApiResult<Json<Value>> {
    clock::ensure_sandbox(&state)?;
    Ok(Json(json!({"now": format_instant(state.now().await?)})))
}

pub async fn set_clock(State(state): State<AppState>, _: Operator, ApiJson(body): ApiJson) -> ApiResult<Json<Value>> {
    clock::ensure_sandbox(&state)?;
    let mut obj = Object::new("", &body)?;
    let text = obj.required_str("now")?;
    obj.finish()?;
    let to = parse_instant(text).ok_or_else(|| Error::field("now", "must be an RFC 3339 instant"))?;
    let now = clock::advance(&state, to).await?;
    Ok(Json(json!({"now": format_instant(now)})))
}

pub async fn customer_bills(
    State(state): State<AppState>,
    _: Operator,
    Path(email): Path<String>,
    page: Page,
) -> ApiResult<Json<Value>> {
    Ok(Json(page.of("bills", bills::customer_bills(&state, &email).await?)))
}

/// Every e-mail composed to an address, oldest first, whatever its delivery (CONTRACT section 9).
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
