//! Products and the dimension catalogue.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::list::Page;
use crate::http::auth::SellerAuth;
use crate::http::error::ApiResult;
use crate::http::json::ApiJson;
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
    Ok(Json(ProductView::load(&state, product).await?.to_json()))
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
