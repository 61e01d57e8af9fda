//! Statements (R19): `/billing/statements/{YYYY-MM}` for any past month, a page of its own that prints without the
//! site's navigation; `/billing/statements?month=YYYY-MM` is the month picker's target.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tollgate_domain::Money;
use tollgate_domain::calendar::Month;

use super::{Layout, error_page, render};
use crate::error::Error;
use crate::http::auth::{User, Visitor};
use crate::services::statement::{StatementProduct, statement};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/statement.html")]
struct StatementPage {
    operator_name: String,
    customer_name: String,
    customer_email: String,
    month_name: String,
    products: Vec<StatementProduct>,
    total: Money,
}

pub async fn page(State(state): State<AppState>, user: User, visitor: Visitor, Path(month): Path<String>) -> Response {
    let layout = Layout::new(&state, &visitor);
    let Ok(month) = month.parse::<Month>() else {
        return error_page(Error::NotFound("statement"), layout);
    };
    match statement(&state, &user.account, month).await {
        Ok(found) => render(StatementPage {
            operator_name: state.settings.operator_name.clone(),
            customer_name: user.account.name.clone(),
            customer_email: user.account.email.clone(),
            month_name: found.month.long_name(),
            products: found.products,
            total: found.total,
        }),
        Err(error) => error_page(error, layout),
    }
}

#[derive(Deserialize)]
pub struct Picked {
    month: String,
}

/// The picker's form (an `<input type="month">`) sends `?month=2027-06`.
pub async fn pick(_user: User, Query(picked): Query<Picked>) -> Response {
    match picked.month.parse::<Month>() {
        Ok(month) => Redirect::to(&format!("/billing/statements/{month}")).into_response(),
        Err(_) => Redirect::to("/billing#statements").into_response(),
    }
}
