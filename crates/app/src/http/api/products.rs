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

pub async fn dimensions(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let dimensions: Vec<Value> = products::dimensions(&state)
        .await?
        .into_iter()
        .map(|d| json!({"name": d.name, "unit": d.unit, "base_cost": d.base_cost}))
        .collect();
    Ok(Json(json!({ "dimensions": dimensions })))
}

pub async fn register(
    State(state): State<AppState>,
    SellerAuth(seller): SellerAuth,
    ApiJson(body): ApiJson,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let view = products::register(&state, &seller, &body).await?;
    Ok((StatusCode::CREATED, Json(view.to_json())))
}

pub async fn list(State(state): State<AppState>, SellerAuth(seller): SellerAuth, page: Page) -> ApiResult<Json<Value>> {
    let views = products::list(&state, &seller).await?;
    Ok(Json(
        page.of("products", views.iter().map(ProductView::to_json).collect()),
    ))
}

pub async fn show(
    State(state): State<AppState>,
    SellerAuth(seller): SellerAuth,
    Path(code): Path<String>,
) -> ApiResult<Json<Value>> {
    let product = products::owned(&state, &seller, &code).await?;
    Ok(Json(ProductView::load(&state, product).await?.to_json()))
}

pub async fn update(
    State(state): State<AppState>,
    SellerAuth(seller): SellerAuth,
    Path(code): Path<String>,
    ApiJson(body): ApiJson,
) -> ApiResult<Json<Value>> {
    Ok(Json(products::update(&state, &seller, &code, &body).await?.to_json()))
}
