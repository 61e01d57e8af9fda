//! The JSON API under `/api/v1` (CONTRACT sections 2, 3, 6, 9).

mod admin;
mod instances;
mod license;
mod list;
mod products;
pub(crate) mod reports;
mod seller;
mod usage;

use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiError;
use crate::error::Error;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    let (router, document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(admin::create_seller))
        .routes(routes!(admin::put_dimension))
        .routes(routes!(admin::get_clock, admin::set_clock))
        .routes(routes!(admin::customer_bills))
        .routes(routes!(admin::emails))
        .routes(routes!(products::dimensions))
        .routes(routes!(products::list, products::register))
        .routes(routes!(products::show, products::update))
        .routes(routes!(products::schedule_price_change))
        .routes(routes!(products::withdraw_price_change))
        .routes(routes!(seller::transactions))
        .routes(routes!(seller::withdraw))
        .routes(routes!(seller::activity))
        .routes(routes!(reports::subscriptions))
        .routes(routes!(reports::revenue))
        .routes(routes!(reports::usage))
        .routes(routes!(reports::transactions))
        .routes(routes!(instances::attach_image))
        .routes(routes!(instances::launch))
        .routes(routes!(instances::terminate))
        .routes(routes!(instances::confirm_product))
        .routes(routes!(license::activate_desktop))
        .routes(routes!(license::activate_hosted))
        .routes(routes!(license::verify_by_pid))
        .routes(routes!(license::verify_by_tokens))
        .routes(routes!(license::active_by_pid))
        .routes(routes!(license::refresh_user_token))
        .routes(routes!(usage::report))
        .split_for_parts();
    // Generated from the handlers' annotations once, at start-up.
    let document = Arc::new(document.to_json().expect("the OpenAPI document serializes"));
    router
        .route(
            "/openapi.json",
            get(move || {
                let document = Arc::clone(&document);
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        document.as_str().to_owned(),
                    )
                }
            }),
        )
        .fallback(|| async { ApiError(Error::NotFound("route")) })
        .layer(axum::middleware::map_response(method_not_allowed_as_json))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Tollgate", description = "Billing, licensing and metering. Errors are {\"error\": {\"code\", \"message\"}}."),
    servers((url = "/api/v1")),
    modifiers(&Credentials),
    tags((name = "products"), (name = "license"), (name = "machine images"), (name = "usage"), (name = "seller"), (name = "operator"))
)]
struct ApiDoc;

/// The three credentials of CONTRACT section 2.
struct Credentials;

impl Modify for Credentials {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            let mut scheme = Http::new(HttpAuthScheme::Bearer);
            scheme.description = Some(description.to_owned());
            SecurityScheme::Http(scheme)
        };
        components.add_security_scheme("operator", bearer("Bearer <TOLLGATE_OPERATOR_TOKEN>"));
        components.add_security_scheme("seller", bearer("Bearer <seller API key>"));
        let mut basic = Http::new(HttpAuthScheme::Basic);
        basic.description = Some("access_key_id:secret_access_key from activate-desktop-product".to_owned());
        components.add_security_scheme("derived_keys", SecurityScheme::Http(basic));
    }
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
