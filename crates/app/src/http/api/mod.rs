//! The JSON API under `/api/v1` (CONTRACT sections 2, 3, 6, 9).

mod admin;
mod instances;
mod license;
mod list;
mod products;
mod seller;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};

use super::error::ApiError;
use crate::error::Error;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/sellers", post(admin::create_seller))
        .route("/admin/dimensions/{name}", put(admin::put_dimension))
        .route("/admin/clock", get(admin::get_clock).post(admin::set_clock))
        .route("/admin/customers/{email}/bills", get(admin::customer_bills))
        .route("/admin/emails", get(admin::emails))
        .route("/dimensions", get(products::dimensions))
        .route("/products", get(products::list).post(products::register))
        .route("/products/{code}", get(products::show).patch(products::update))
        .route("/seller/transactions", get(seller::transactions))
        .route("/images", post(instances::attach_image))
        .route("/instances", post(instances::launch))
        .route("/instances/{id}/terminate", post(instances::terminate))
        .route("/instances/{id}/confirm-product", post(instances::confirm_product))
        .route("/license/activate-desktop-product", post(license::activate_desktop))
        .route("/license/activate-hosted-product", post(license::activate_hosted))
        .route(
            "/license/verify-product-subscription-by-pid",
            post(license::verify_by_pid),
        )
        .route(
            "/license/verify-product-subscription-by-tokens",
            post(license::verify_by_tokens),
        )
        .route("/license/get-active-subscriptions-by-pid", post(license::active_by_pid))
        .route("/license/refresh-user-token", post(license::refresh_user_token))
        .fallback(|| async { ApiError(Error::NotFound("route")) })
        .layer(axum::middleware::map_response(method_not_allowed_as_json))
}

/// axum answers a known path with the wrong method by a bare 405; the contract wants its error body.
async fn method_not_allowed_as_json(response: Response) -> Response {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED || response.headers().contains_key(header::CONTENT_TYPE) {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let body =
        serde_json::json!({"error": {"code": "MethodNotAllowed", "message": "this route does not take that method"}});
    let mut replaced = (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response();
    if let Some(allow) = allow {
        replaced.headers_mut().insert(header::ALLOW, allow);
    }
    replaced
}
