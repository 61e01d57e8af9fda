//! Products and the dimension catalogue.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::list::Page;
use crate::http::auth::SellerAuth;
use crate::http::error::ApiResult;
use crate::http::json::ApiJson;
use crate::services::price_changes;
use crate::services::products::{self, ProductView};
use crate::state::AppState;

/// The operator's dimension catalogue with current base costs.
#[utoipa::path(get, path = "/dimensions", tag = "products", responses((status = 200, body = Value)))]
pub async fn dimensions(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let dimensions: Vec<Value> = products::dimensions(&state)
        .await?
        .into_iter()
        .map(|d| json!({"name": d.name, "unit": d.unit, "base_cost": d.base_cost}))
        .collect();
    Ok(Json(json!({ "dimensions": dimensions })))
}

/// Register a product.
#[utoipa::path(post, path = "/products", tag = "products", security(("seller" = [])),
    request_body(content = Value, example = json!({"name": "Backup Pro", "description": "Encrypted backups for your laptop.", "kind": "desktop",
        "redirect_url": "https://example.com/welcome", "terms_url": null, "support_contact": "help@example.com",
        "pricing": {"signup_fee": "5.00", "monthly_fee": "10.00", "usage": [{"dimension": "storage.gb_month", "tiers": [{"up_to": "10", "unit_price": "0.25"}, {"up_to": null, "unit_price": "0.20"}]}]},
        "configurations": []})),
    responses((status = 201, body = Value), (status = 400, description = "MissingParameter, InvalidParameterValue, UnknownDimension"), (status = 401), (status = 403)))]
pub async fn register(
    State(state): State<AppState>,
    SellerAuth(seller): SellerAuth,
    ApiJson(body): ApiJson,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let view = products::register(&state, &seller, &body).await?;
    Ok((StatusCode::CREATED, Json(view.to_json())))
}

/// The seller's products.
#[utoipa::path(get, path = "/products", tag = "products", security(("seller" = [])),
    params(("limit" = Option<u32>, Query), ("after" = Option<String>, Query)), responses((status = 200, body = Value), (status = 401)))]
pub async fn list(State(state): State<AppState>, SellerAuth(seller): SellerAuth, page: Page) -> ApiResult<Json<Value>> {
    let views = products::list(&state, &seller).await?;
    Ok(Json(
        page.of("products", views.iter().map(ProductView::to_json).collect()),
    ))
}

/// One of the seller's products.
#[utoipa::path(get, path = "/products/{code}", tag = "products", security(("seller" = [])),
    params(("code" = String, Path)), responses((status = 200, body = Value), (status = 401), (status = 403), (status = 404)))]
pub async fn show(
    State(state): State<AppState>,
    SellerAuth(seller): SellerAuth,
    Path(code): Path<String>,
) -> ApiResult<Json<Value>> {
    let product = products::owned(&state, &seller, &code).await?;
    let pending = price_changes::pending(&state, &product).await?;
    let mut json = ProductView::load(&state, product).await?.to_json();
    json["pending_price_change"] = pending.map_or(Value::Null, |p| p.to_json());
    Ok(Json(json))
}

/// Change a product's name, description, redirect URL, terms URL or support contact.
#[utoipa::path(patch, path = "/products/{code}", tag = "products", security(("seller" = [])),
    params(("code" = String, Path)), request_body(content = Value, example = json!({"name": "Backup Pro 2"})),
    responses((status = 200, body = Value), (status = 400, description = "InvalidParameterValue"), (status = 401), (status = 403), (status = 404)))]
pub async fn update(
    State(state): State<AppState>,
    SellerAuth(seller): SellerAuth,
    Path(code): Path<String>,
    ApiJson(body): ApiJson,
) -> ApiResult<Json<Value>> {
    Ok(Json(products::update(&state, &seller, &code, &body).await?.to_json()))
}

/// Schedule a price change (docs/rules.md R25-R27).
#[utoipa::path(post, path = "/products/{code}/price-changes", tag = "products", security(("seller" = [])),
    params(("code" = String, Path)),
    request_body(content = Value, example = json!({"effective_at": "2027-07-01T00:00:00Z", "authorization": "passive",
        "pricing": {"signup_fee": "5.00", "monthly_fee": "12.00", "usage": [{"dimension": "storage.gb_month", "tiers": [{"up_to": null, "unit_price": "0.25"}]}]},
        "message": "Storage costs us more this year."})),
    responses((status = 201, body = Value), (status = 400, description = "MissingParameter, InvalidParameterValue, UnknownDimension"),
        (status = 401), (status = 403), (status = 404), (status = 409, description = "PendingPriceChangeExists"),
        (status = 422, description = "InvalidEffectiveAt, NoticeTooShort")))]
pub async fn schedule_price_change(
    State(state): State<AppState>,
    SellerAuth(seller): SellerAuth,
    Path(code): Path<String>,
    ApiJson(body): ApiJson,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let pending = price_changes::schedule(&state, &seller, &code, &body).await?;
    Ok((StatusCode::CREATED, Json(pending.to_json())))
}

/// Withdraw the pending price change; its customers are told it will not happen.
#[utoipa::path(delete, path = "/products/{code}/price-changes/pending", tag = "products", security(("seller" = [])),
    params(("code" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404, description = "NotFound, NoPendingPriceChange")))]
pub async fn withdraw_price_change(
    State(state): State<AppState>,
    SellerAuth(seller): SellerAuth,
    Path(code): Path<String>,
) -> ApiResult<StatusCode> {
    price_changes::withdraw(&state, &seller, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}
