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
use axum::extract::DefaultBodyLimit;
use axum::routing::get;

use crate::state::AppState;

/// Bodies over 4 MiB are refused (413 `RequestTooLarge`, CONTRACT section 2).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .nest("/api/v1", api::router())
        .merge(pages::router(state.clone()))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
