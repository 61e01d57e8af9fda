//! The HTML pages (CONTRACT section 4): server-rendered, plain forms, working without JavaScript.

mod accounts;
mod activate;
mod billing;
mod chart;
mod mailbox;
mod payment_method;
mod price_change;
mod purchase;
mod reports;
mod seller;
mod statement;

use askama::Template;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use super::auth::Visitor;
use crate::error::Error;
use crate::state::AppState;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/assets/style.css", get(stylesheet))
        .route("/signup", get(accounts::signup_page).post(accounts::signup))
        .route("/login", get(accounts::login_page).post(accounts::login))
        .route("/logout", post(accounts::logout))
        .route(
            "/account/payment-method",
            get(payment_method::page).post(payment_method::save),
        )
        .route("/purchase/{offering}", get(purchase::page).post(purchase::order))
        .route("/activate", get(activate::page).post(activate::new_key))
        .route("/billing", get(billing::page))
        .route("/billing/subscriptions/{code}", get(billing::subscription))
        .route("/billing/subscriptions/{code}/cancel", post(billing::cancel))
        .route(
            "/billing/price-changes/{code}/accept",
            post(billing::accept_price_change),
        )
        .route("/billing/statements", get(statement::pick))
        .route("/billing/statements/{month}", get(statement::page))
        .route("/seller", get(seller::console))
        .route("/seller/join", post(seller::join))
        .route("/seller/api-keys", post(seller::create_key))
        .route("/seller/withdrawals", post(seller::withdraw))
        .route("/seller/api-keys/{id}/revoke", post(seller::revoke_key))
        .route(
            "/seller/products/new",
            get(seller::new_product_page).post(seller::register_product),
        )
        .route(
            "/seller/products/{code}",
            get(seller::edit_product_page).post(seller::update_product),
        )
        .route(
            "/seller/products/{code}/price-change",
            get(price_change::page).post(price_change::schedule),
        )
        .route(
            "/seller/products/{code}/price-change/withdraw",
            post(price_change::withdraw),
        )
        .route("/seller/reports/revenue", get(reports::revenue))
        .route("/seller/reports/usage", get(reports::usage))
        .route("/seller/transactions.csv", get(reports::transactions))
        .route("/dev/mailbox", get(mailbox::page))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state, super::csrf::ensure_token))
}

/// What every page's frame shows: the operator's name, who is signed in, and the CSRF token for its forms.
#[derive(Clone)]
pub struct Layout {
    pub operator_name: String,
    pub account_name: Option<String>,
    pub csrf_token: String,
    /// `?next=` for the header's login and sign-up links: back to this page.
    pub back_here: String,
}

impl Layout {
    pub fn new(state: &AppState, visitor: &Visitor) -> Layout {
        let here = visitor.here.as_str();
        let stays = here == "/" || here.starts_with("/login") || here.starts_with("/signup");
        Layout {
            operator_name: state.settings.operator_name.clone(),
            account_name: visitor.account.as_ref().map(|a| a.name.clone()),
            csrf_token: visitor.csrf_token.clone(),
            back_here: if stays {
                String::new()
            } else {
                next_query(&Some(here.to_owned()))
            },
        }
    }

    pub fn anonymous(state: &AppState) -> Layout {
        Layout {
            operator_name: state.settings.operator_name.clone(),
            account_name: None,
            csrf_token: String::new(),
            back_here: String::new(),
        }
    }
}

/// Renders a page; a template that fails to render is an internal error, logged.
pub fn render(page: impl Template) -> Response {
    render_with(StatusCode::OK, page)
}

pub fn render_with(status: StatusCode, page: impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "pages/error.html")]
struct ErrorPage {
    layout: Layout,
    heading: String,
    message: String,
}

/// An error as a page, with its status code; internal errors show no details.
pub fn error_page(error: Error, layout: Layout) -> Response {
    super::error::log_internal(&error);
    let heading = match error.status() {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => "Not allowed",
        StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE => "That did not work",
        StatusCode::SERVICE_UNAVAILABLE => "Payments are unavailable",
        _ => "Something went wrong",
    };
    render_with(
        error.status(),
        ErrorPage {
            layout,
            heading: heading.into(),
            message: error.public_message(),
        },
    )
}

#[derive(Template)]
#[template(path = "pages/home.html")]
struct Home {
    layout: Layout,
}

async fn home(axum::extract::State(state): axum::extract::State<AppState>, visitor: Visitor) -> Response {
    render(Home {
        layout: Layout::new(&state, &visitor),
    })
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../assets/style.css"),
    )
        .into_response()
}

async fn not_found(axum::extract::State(state): axum::extract::State<AppState>, visitor: Visitor) -> Response {
    error_page(Error::NotFound("page"), Layout::new(&state, &visitor))
}

/// `?next=` carried through a page's links and form actions.
pub fn next_query(next: &Option<String>) -> String {
    next.as_deref()
        .map(|n| format!("?next={}", super::auth::url_encode(n)))
        .unwrap_or_default()
}
