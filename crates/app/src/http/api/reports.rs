//! The seller's reports (docs/rules.md R32, CONTRACT section 9): the live subscription report as JSON, and the
//! revenue and usage reports of a past month and the transaction history as CSV.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tollgate_domain::calendar::{Month, format_instant};

use crate::error::Error;
use crate::http::auth::SellerAuth;
use crate::http::error::ApiResult;
use crate::http::json::ApiQuery;
use crate::services::reports::{self, MonthReport, SubscriptionReport};
use crate::state::AppState;

#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct SubscriptionsQuery {
    /// One product's counts only.
    product_code: Option<String>,
}

/// The subscription report: per product, subscriptions not canceled to date, new ones this month not canceled,
/// and this month's cancellations.
#[utoipa::path(get, path = "/seller/reports/subscriptions", tag = "seller", security(("seller" = [])),
    params(SubscriptionsQuery), responses((status = 200, body = Value), (status = 401), (status = 404)))]
pub async fn subscriptions(
    State(state): State<AppState>,
    SellerAuth(seller): SellerAuth,
    ApiQuery(query): ApiQuery<SubscriptionsQuery>,
) -> ApiResult<Json<Value>> {
    let report = reports::subscriptions(&state, &seller, query.product_code.as_deref()).await?;
    Ok(Json(subscriptions_json(&report)))
}

fn subscriptions_json(report: &SubscriptionReport) -> Value {
    let counts = |(not_canceled, new_not_canceled, canceled): (i64, i64, i64)| json!({"not_canceled": not_canceled, "new_not_canceled": new_not_canceled, "canceled_this_month": canceled});
    let products: Vec<Value> = report
        .products
        .iter()
        .map(|p| {
            let mut row = counts((p.not_canceled, p.new_not_canceled, p.canceled));
            row["product_code"] = json!(p.product_code);
            row["name"] = json!(p.product_name);
            row
        })
        .collect();
    json!({
        "month": report.month.to_string(),
        "as_of": format_instant(report.as_of),
        "products": products,
        "total": counts(report.total()),
    })
}

pub fn csv_response(file_name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// A past month's revenue report: a row per subscription with its customer, revenue, collection and base cost.
#[utoipa::path(get, path = "/seller/reports/revenue/{file}", tag = "seller", security(("seller" = [])),
    params(("file" = String, Path, description = "the month, as YYYY-MM.csv")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401),
        (status = 404, description = "NotFound, ReportNotReady, NoReport")))]
pub async fn revenue(state: State<AppState>, seller: SellerAuth, file: Path<String>) -> ApiResult<Response> {
    month_report(state, seller, file, MonthReport::Revenue).await
}

/// A past month's usage report: a row per revenue item (sign-up, monthly fee, refund, each dimension used).
#[utoipa::path(get, path = "/seller/reports/usage/{file}", tag = "seller", security(("seller" = [])),
    params(("file" = String, Path, description = "the month, as YYYY-MM.csv")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401),
        (status = 404, description = "NotFound, ReportNotReady, NoReport")))]
pub async fn usage(state: State<AppState>, seller: SellerAuth, file: Path<String>) -> ApiResult<Response> {
    month_report(state, seller, file, MonthReport::Usage).await
}

async fn month_report(
    State(state): State<AppState>,
    SellerAuth(seller): SellerAuth,
    Path(file): Path<String>,
    report: MonthReport,
) -> ApiResult<Response> {
    // The month from the file name, `YYYY-MM.csv`.
    let month: Month = file
        .strip_suffix(".csv")
        .and_then(|month| month.parse().ok())
        .ok_or(Error::NotFound("report"))?;
    let body = report.csv(&state, &seller, month).await?;
    Ok(csv_response(&report.file_name(month), body))
}

/// The transaction history as CSV, oldest first, with the balance after each transaction.
#[utoipa::path(get, path = "/seller/transactions.csv", tag = "seller", security(("seller" = [])),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401)))]
pub async fn transactions(State(state): State<AppState>, SellerAuth(seller): SellerAuth) -> ApiResult<Response> {
    let body = reports::transactions_csv(&state, &seller).await?;
    Ok(csv_response("transactions.csv", body))
}
