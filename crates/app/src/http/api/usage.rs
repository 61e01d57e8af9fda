//! Usage metering (CONTRACT section 7).

use axum::Json;
use axum::extract::State;
use serde::Serialize;

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
) -> ApiResult<Json<Answer>> {
    let meter = match &caller {
        OperatorOrSeller::Seller(seller) => Meter::Seller(seller),
        OperatorOrSeller::Operator => Meter::Operator,
    };
    let results = usage::ingest(&state, &meter, &body).await?;
    let results = results
        .into_iter()
        .map(|r| {
            let (status, error) = match r.outcome {
                Outcome::Accepted => ("accepted", None),
                Outcome::Duplicate => ("duplicate", None),
                Outcome::Rejected(error) => (
                    "rejected",
                    Some(RecordError {
                        code: error.code(),
                        message: error.public_message(),
                    }),
                ),
            };
            RecordAnswer {
                id: r.id,
                status,
                error,
            }
        })
        .collect();
    Ok(Json(Answer { results }))
}

/// The answer, typed: a batch's thousand results serialize without a tree of JSON values in between.
#[derive(Serialize)]
pub struct Answer {
    results: Vec<RecordAnswer>,
}

#[derive(Serialize)]
struct RecordAnswer {
    id: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<RecordError>,
}

#[derive(Serialize)]
struct RecordError {
    code: &'static str,
    message: String,
}
