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

/// Attach one of the seller's machine-image products to an image, for good.
#[utoipa::path(post, path = "/images", tag = "machine images", security(("seller" = [])),
    request_body(content = Value, example = json!({"image_id": "ami-5bae4b32", "product_code": "774F4FF8"})),
    responses((status = 201, body = Value), (status = 400, description = "InvalidParameterValue"), (status = 401),
        (status = 403, description = "another seller's product"), (status = 404), (status = 409, description = "ImageAlreadyAttached")))]
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

/// Launch an instance of an image for a customer (called by the compute host).
#[utoipa::path(post, path = "/instances", tag = "machine images", security(("operator" = [])),
    request_body(content = Value, example = json!({"image_id": "ami-5bae4b32", "customer_email": "ana@example.com", "region": "us-east", "environment": "linux", "instance_type": "small"})),
    responses((status = 201, body = Value, example = json!({"instance_id": "i-…"})), (status = 400, description = "UnsupportedConfiguration"),
        (status = 401), (status = 403, description = "UserNotSubscribed"), (status = 404, description = "unknown image")))]
pub async fn launch(
    State(state): State<AppState>,
    _: Operator,
    ApiJson(body): ApiJson,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let instance = instances::launch(&state, &body).await?;
    Ok((StatusCode::CREATED, Json(json!({"instance_id": instance.id}))))
}

/// Terminate an instance; calling it again changes nothing.
#[utoipa::path(post, path = "/instances/{id}/terminate", tag = "machine images", security(("operator" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Value), (status = 401), (status = 404)))]
pub async fn terminate(State(state): State<AppState>, _: Operator, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let instance = instances::terminate(&state, &id).await?;
    Ok(Json(json!({
        "instance_id": instance.id,
        "terminated_at": instance.terminated_at.map(|t| format_instant(instant(t))),
        "hours": instance.hours_recorded,
    })))
}

/// Whether an instance runs the seller's product, and the launching customer's persistent identifier.
#[utoipa::path(post, path = "/instances/{id}/confirm-product", tag = "machine images", security(("seller" = [])),
    params(("id" = String, Path)), request_body(content = Value, example = json!({"product_code": "774F4FF8"})),
    responses((status = 200, body = Value, example = json!({"confirmed": true, "owner_id": "pid_…"})), (status = 401),
        (status = 403, description = "another seller's product")))]
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
