//! Application activation (reference 4.2): the customer's pending and active products, and a new key for any.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use tollgate_store::subscriptions::CustomerSubscription;

use super::purchase::Confirmation;
use super::{Layout, error_page, render, render_with};
use crate::error::Error;
use crate::http::auth::{User, Visitor};
use crate::http::form::PageForm;
use crate::services::activation;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/activate.html")]
struct ActivatePage {
    layout: Layout,
    error: Option<String>,
    subscriptions: Vec<CustomerSubscription>,
}

pub async fn page(State(state): State<AppState>, user: User, visitor: Visitor) -> Response {
    let layout = Layout::new(&state, &visitor);
    match state.store.open_subscriptions_of_customer(&user.account.id).await {
        Ok(subscriptions) => render(ActivatePage {
            layout,
            error: None,
            subscriptions,
        }),
        Err(error) => error_page(error.into(), layout),
    }
}

pub async fn new_key(State(state): State<AppState>, user: User, form: PageForm) -> Response {
    let layout = Layout::new(&state, &form.visitor);
    match activation::new_key(&state, &user.account, form.get("product_code")).await {
        Ok(key) => render(Confirmation::new(layout, key, false, false)),
        Err(error @ Error::NotFound(_)) => match state.store.open_subscriptions_of_customer(&user.account.id).await {
            Ok(subscriptions) => render_with(
                error.status(),
                ActivatePage {
                    layout,
                    error: Some("You have no such product.".into()),
                    subscriptions,
                },
            ),
            Err(e) => error_page(e.into(), Layout::new(&state, &form.visitor)),
        },
        Err(error) => error_page(error, layout),
    }
}
