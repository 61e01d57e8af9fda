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
use crate::services::reports::{self, MonthReport};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct MonthQuery {
    month: String,
}

pub async fn revenue(state: State<AppState>, user: User, visitor: Visitor, query: Query<MonthQuery>) -> Response {
    month_report(state, user, visitor, query, MonthReport::Revenue).await
}

pub async fn usage(state: State<AppState>, user: User, visitor: Visitor, query: Query<MonthQuery>) -> Response {
    month_report(state, user, visitor, query, MonthReport::Usage).await
}

async fn month_report(
    State(state): State<AppState>,
    user: User,
    visitor: Visitor,
    Query(query): Query<MonthQuery>,
    report: MonthReport,
) -> Response {
    let layout = Layout::new(&state, &visitor);
    let seller = match require_seller(&state, &user, &layout).await {
        Ok(seller) => seller,
        Err(response) => return response,
    };
    let made = async {
        let month: Month = query
            .month
            .parse()
            .map_err(|_| Error::field("month", "must be a month written as YYYY-MM"))?;
        Ok::<_, Error>((month, report.csv(&state, &seller, month).await?))
    };
    match made.await {
        Ok((month, body)) => csv_response(&report.file_name(month), body),
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
