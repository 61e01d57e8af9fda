//! Usage metering (CONTRACT section 7).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::http::auth::OperatorOrSeller;
use crate::http::error::ApiResult;
use crate::http::json::ApiJson;
use crate::services::usage::{self, Meter, Outcome};
use crate::state::AppState;

/// Report usage: up to 1,000 records, each answered on its own.
#[utoipa::path(post, path = "/usage", tag = "usage", security(("seller" = []), ("operator" = [])),
    request_body(content = Value, example = json!({"records": [{"id": "evt-0001", "product_code": "774F4FF8",
        "user_token": "{UserToken}…", "dimension": "custom.exports", "quantity": "3", "timestamp": "2027-06-18T09:00:00Z"}]})),
    responses((status = 200, body = Value, example = json!({"results": [{"id": "evt-0001", "status": "accepted"}]})),
        (status = 400, description = "InvalidParameterValue, TooManyRecords"), (status = 401), (status = 413)))]
pub async fn report(
    State(state): State<AppState>,
    caller: OperatorOrSeller,
    ApiJson(body): ApiJson,
) -> ApiResult<Json<Value>> {
    let meter = match &caller {
        OperatorOrSeller::Seller(seller) => Meter::Seller(seller),
        OperatorOrSeller::Operator => Meter::Operator,
    };
    let results = usage::ingest(&state, &meter, &body).await?;
    let results: Vec<Value> = results
        .into_iter()
        .map(|r| match r.outcome {
            Outcome::Accepted => json!({"id": r.id, "status": "accepted"}),
            Outcome::Duplicate => json!({"id": r.id, "status": "duplicate"}),
            Outcome::Rejected(error) => json!({"id": r.id, "status": "rejected",
                "error": {"code": error.code(), "message": error.public_message()}}),
        })
        .collect();
    Ok(Json(json!({"results": results})))
}
