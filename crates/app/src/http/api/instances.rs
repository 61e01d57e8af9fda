//! Machine images and instances (CONTRACT section 8).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use tollgate_domain::calendar::format_instant;
use tollgate_store::instant;

use crate::http::auth::{Operator, SellerAuth};
use crate::http::error::ApiResult;
use crate::http::json::ApiJson;
use crate::services::instances;
use crate::state::AppState;

pub async fn attach_image(
    State(state): State<AppState>,
    SellerAuth(seller): SellerAuth,
    ApiJson(body): ApiJson,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let image = instances::attach_image(&state, &seller, &body).await?;
    let code = body["product_code"].clone();
    Ok((
        StatusCode::CREATED,
        Json(json!({"image_id": image.image_id, "product_code": code})),
    ))
}

pub async fn launch(
    State(state): State<AppState>,
    _: Operator,
    ApiJson(body): ApiJson,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let instance = instances::launch(&state, &body).await?;
    Ok((StatusCode::CREATED, Json(json!({"instance_id": instance.id}))))
}

pub async fn terminate(State(state): State<AppState>, _: Operator, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let instance = instances::terminate(&state, &id).await?;
    Ok(Json(json!({
        "instance_id": instance.id,
        "terminated_at": instance.terminated_at.map(|t| format_instant(instant(t))),
        "hours": instance.hours_recorded,
    })))
}

pub async fn confirm_product(
    State(state): State<AppState>,
    SellerAuth(seller): SellerAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson,
) -> ApiResult<Json<Value>> {
    Ok(Json(match instances::confirm(&state, &seller, &id, &body).await? {
        Some(owner) => json!({"confirmed": true, "owner_id": owner}),
        None => json!({"confirmed": false}),
    }))
}
