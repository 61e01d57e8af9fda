//! How errors reach clients: JSON `{"error": {"code", "message"}}` for the API, a page for people. Internal
//! errors are logged with their cause chain and shown without details.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::Error;

/// An error answered as JSON.
pub struct ApiError(pub Error);

impl<E: Into<Error>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        log_internal(&self.0);
        let body = json!({"error": {"code": self.0.code(), "message": self.0.public_message()}});
        (self.0.status(), Json(body)).into_response()
    }
}

pub fn log_internal(error: &Error) {
    if let Error::Internal(cause) = error {
        tracing::error!(error = format!("{cause:#}"), "internal error");
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
