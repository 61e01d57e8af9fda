//! The web layer: axum routes for the HTML pages and the JSON API. Handlers are thin: parse, call a service,
//! render.

pub mod api;
mod auth;
mod csrf;
mod error;
mod form;
mod json;
pub mod pages;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::Error;
use crate::state::AppState;

/// Bodies over 4 MiB are refused (413 `RequestTooLarge`, CONTRACT section 2).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .nest("/api/v1", api::router())
        .merge(pages::router(state.clone()))
        .layer(axum::middleware::from_fn_with_state(state.clone(), refuse_oversized))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Refuses a body whose announced length is over the limit before reading any of it; bodies without a length are
/// cut off by [`DefaultBodyLimit`] as they arrive.
async fn refuse_oversized(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let announced = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_none_or(|length| length <= MAX_BODY as u64) {
        return next.run(request).await;
    }
    if request.uri().path().starts_with("/api/") {
        error::ApiError(Error::TooLarge).into_response()
    } else {
        pages::error_page(Error::TooLarge, pages::Layout::anonymous(&state))
    }
}
