//! A seller's money.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use tollgate_domain::Money;
use tollgate_domain::calendar::{Month, format_instant};
use tollgate_store::instant;

use super::list::Page;
use crate::error::Error;
use crate::http::auth::SellerAuth;
use crate::http::error::ApiResult;
use crate::http::json::{ApiJson, ApiQuery};
use crate::services::{activity, sellers};
use crate::state::AppState;

/// The seller's balance and transactions, oldest first.
#[utoipa::path(get, path = "/seller/transactions", tag = "seller", security(("seller" = [])),
    params(("limit" = Option<u32>, Query), ("after" = Option<String>, Query)), responses((status = 200, body = Value), (status = 401)))]
pub async fn transactions(
    State(state): State<AppState>,
    SellerAuth(seller): SellerAuth,
    page: Page,
) -> ApiResult<Json<Value>> {
    let (balance, history) = sellers::transactions(&state, &seller).await?;
    let transactions: Vec<Value> = history
        .into_iter()
        .map(|t| {
            json!({
                "at": format_instant(instant(t.at)),
                "kind": t.kind,
                "amount": Money::from_cents(t.amount_cents).to_string(),
                "description": t.description,
            })
        })
        .collect();
    let mut body = page.of("transactions", transactions);
    body["balance"] = json!(balance.to_string());
    Ok(Json(body))
}

/// Withdraws part of the seller's balance (R30): more than 0 and at most the balance.
#[utoipa::path(post, path = "/seller/withdrawals", tag = "seller", security(("seller" = [])),
    request_body(content = Value, example = json!({"amount": "100.00"})),
    responses((status = 201, body = Value, example = json!({"amount": "100.00", "balance": "166.20"})),
        (status = 400, description = "MissingParameter, InvalidParameterValue"), (status = 401),
        (status = 422, description = "InsufficientBalance")))]
pub async fn withdraw(
    State(state): State<AppState>,
    SellerAuth(seller): SellerAuth,
    ApiJson(body): ApiJson,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (amount, balance) = sellers::withdraw(&state, &seller, &body).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"amount": amount.to_string(), "balance": balance.to_string()})),
    ))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct ActivityQuery {
    /// `YYYY-MM`; the current month when absent.
    month: Option<String>,
}

/// The month's activity per product, to date: usage, revenue expected and collected, base costs, fees, refunds, and
/// the number of collected bills that took the per-bill fee.
#[utoipa::path(get, path = "/seller/activity", tag = "seller", security(("seller" = [])), params(ActivityQuery),
    responses((status = 200, body = Value), (status = 400, description = "InvalidParameterValue"), (status = 401)))]
pub async fn activity(
    State(state): State<AppState>,
    SellerAuth(seller): SellerAuth,
    ApiQuery(query): ApiQuery<ActivityQuery>,
) -> ApiResult<Json<Value>> {
    let month = match query.month {
        Some(text) => text
            .parse::<Month>()
            .map_err(|_| Error::field("month", "must be a month written as YYYY-MM"))?,
        None => Month::of(state.now().await?),
    };
    let products: Vec<Value> = activity::activity(&state, &seller, month)
        .await?
        .into_iter()
        .map(|p| {
            json!({
                "product_code": p.code,
                "name": p.name,
                "usage": p.usage.iter().map(|(dimension, quantity)| json!({
                    "dimension": dimension, "quantity": quantity.normalize().to_string()
                })).collect::<Vec<_>>(),
                "revenue_expected": p.revenue_expected.to_string(),
                "revenue_collected": p.revenue_collected.to_string(),
                "base_costs": p.base_costs.to_string(),
                "fees": p.fees.to_string(),
                "refunds": p.refunds.to_string(),
                "fee_bills": p.fee_bills,
            })
        })
        .collect();
    Ok(Json(json!({"month": month.to_string(), "products": products})))
}
