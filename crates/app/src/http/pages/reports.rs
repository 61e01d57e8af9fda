//! The seller console's reports (docs/rules.md R32): the same CSV files as the API's report routes, for the
//! signed-in seller.

use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use tollgate_domain::calendar::Month;

use super::seller::require_seller;
use super::{Layout, error_page};
use crate::error::Error;
use crate::http::api::reports::csv_response;
use crate::http::auth::{User, Visitor};
use crate::services::reports;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct MonthQuery {
    month: String,
}

pub async fn revenue(
    State(state): State<AppState>,
    user: User,
    visitor: Visitor,
    Query(q): Query<MonthQuery>,
) -> Response {
    let layout = Layout::new(&state, &visitor);
    let seller = match require_seller(&state, &user, &layout).await {
        Ok(seller) => seller,
        Err(response) => return response,
    };
    let report = async {
        let month = parse_month(&q.month)?;
        Ok::<_, Error>((month, reports::revenue_csv(&state, &seller, month).await?))
    };
    match report.await {
        Ok((month, body)) => csv_response(&format!("revenue-{month}.csv"), body),
        Err(error) => error_page(error, layout),
    }
}

pub async fn usage(
    State(state): State<AppState>,
    user: User,
    visitor: Visitor,
    Query(q): Query<MonthQuery>,
) -> Response {
    let layout = Layout::new(&state, &visitor);
    let seller = match require_seller(&state, &user, &layout).await {
        Ok(seller) => seller,
        Err(response) => return response,
    };
    let report = async {
        let month = parse_month(&q.month)?;
        Ok::<_, Error>((month, reports::usage_csv(&state, &seller, month).await?))
    };
    match report.await {
        Ok((month, body)) => csv_response(&format!("usage-{month}.csv"), body),
        Err(error) => error_page(error, layout),
    }
}

pub async fn transactions(State(state): State<AppState>, user: User, visitor: Visitor) -> Response {
    let layout = Layout::new(&state, &visitor);
    let seller = match require_seller(&state, &user, &layout).await {
        Ok(seller) => seller,
        Err(response) => return response,
    };
    match reports::transactions_csv(&state, &seller).await {
        Ok(body) => csv_response("transactions.csv", body),
        Err(error) => error_page(error, layout),
    }
}

fn parse_month(text: &str) -> Result<Month, Error> {
    text.parse()
        .map_err(|_| Error::field("month", "must be a month written as YYYY-MM"))
}
