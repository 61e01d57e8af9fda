//! The card on file (CONTRACT section 4). Saving a card retries the customer's unpaid bills (R10).

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use tollgate_domain::card::CardDetails;

use super::{Layout, error_page, next_query, render, render_with};
use crate::error::Error;
use crate::http::auth::{Next, User, Visitor};
use crate::http::form::PageForm;
use crate::services::payments;
use crate::services::purchase::describe_card;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/payment_method.html")]
struct PaymentMethodPage {
    layout: Layout,
    current: Option<String>,
    error: Option<String>,
    saved: bool,
    retried: bool,
    next: Option<String>,
    next_query: String,
}

async fn page_for(
    state: &AppState,
    user: &User,
    visitor: &Visitor,
    next: Option<String>,
) -> Result<PaymentMethodPage, Error> {
    let current = state
        .store
        .payment_method(&user.account.id)
        .await?
        .map(|c| describe_card(&c));
    Ok(PaymentMethodPage {
        layout: Layout::new(state, visitor),
        current,
        error: None,
        saved: false,
        retried: false,
        next_query: next_query(&next),
        next,
    })
}

pub async fn page(State(state): State<AppState>, user: User, visitor: Visitor, next: Next) -> Response {
    match page_for(&state, &user, &visitor, next.0).await {
        Ok(page) => render(page),
        Err(error) => error_page(error, Layout::new(&state, &visitor)),
    }
}

pub async fn save(State(state): State<AppState>, user: User, next: Next, form: PageForm) -> Response {
    let layout = Layout::new(&state, &form.visitor);
    let attempt = async {
        let now = state.now().await?;
        let card = CardDetails::parse(
            form.get("card_number"),
            form.get("exp_month"),
            form.get("exp_year"),
            form.get("cvc"),
            now,
        )?;
        let unpaid = !state.store.collectible_bills(&user.account.id).await?.is_empty();
        payments::add_card(&state, &user.account, &card).await?;
        Ok::<_, Error>(unpaid)
    };
    match attempt.await {
        Ok(_) if next.0.is_some() => Redirect::to(next.0.as_deref().unwrap_or("/")).into_response(),
        Ok(retried) => match page_for(&state, &user, &form.visitor, None).await {
            Ok(page) => render(PaymentMethodPage {
                saved: true,
                retried,
                ..page
            }),
            Err(error) => error_page(error, layout),
        },
        Err(error @ Error::Field(_)) => match page_for(&state, &user, &form.visitor, next.0).await {
            Ok(page) => render_with(
                error.status(),
                PaymentMethodPage {
                    error: Some(error.to_string()),
                    ..page
                },
            ),
            Err(error) => error_page(error, layout),
        },
        Err(error) => error_page(error, layout),
    }
}
