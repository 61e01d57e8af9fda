//! Photo Lab's two routes: `/welcome`, where Tollgate's Continue link brings a customer after ordering, and `/`,
//! which checks the customer's subscription on each visit.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::Deserialize;

use crate::license::{Error, LicenseClient};
use crate::users::Users;

const USER_COOKIE: &str = "photo_lab_user";

pub struct App {
    pub tollgate: LicenseClient,
    pub users: Users,
    pub tollgate_url: String,
    pub product_code: String,
    pub purchase_url: String,
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/welcome", get(welcome))
        .with_state(app)
}

/// The Continue link's parameters, named as Tollgate appends them to the product's redirect URL.
#[derive(Deserialize)]
struct ContinueLink {
    #[serde(rename = "ActivationKey")]
    activation_key: Option<String>,
    #[serde(rename = "ProductCode")]
    product_code: Option<String>,
}

async fn welcome(State(app): State<Arc<App>>, jar: CookieJar, Query(link): Query<ContinueLink>) -> Response {
    let (Some(key), Some(code)) = (link.activation_key, link.product_code) else {
        let text = "Photo Lab opens with the Continue link of Tollgate's order confirmation, which carries an \
                    activation key. This link has none.";
        return page(StatusCode::BAD_REQUEST, "This link is incomplete", &error_message(text));
    };
    if code != app.product_code {
        let text = "This activation key is for another product.";
        return page(StatusCode::BAD_REQUEST, "Wrong product", &error_message(text));
    }
    let activation = match app.tollgate.activate(&key).await {
        Ok(activation) => activation,
        Err(e) => return activation_refused(&app, e),
    };
    match app
        .users
        .sign_in(&activation.persistent_identifier, &activation.user_token)
    {
        Ok(user) => {
            let cookie = Cookie::build((USER_COOKIE, user.id))
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .max_age(cookie::time::Duration::days(30));
            (jar.add(cookie), Redirect::to("/")).into_response()
        }
        Err(e) => failure(&format!("keeping the user: {e:#}")),
    }
}

fn activation_refused(app: &App, error: Error) -> Response {
    let new_key = format!(
        "Make a new activation key at {} and follow its Continue link.",
        link("activate", &format!("{}/activate", app.tollgate_url))
    );
    let Error::Refused(refusal) = error else {
        return failure(&error.to_string());
    };
    let (title, reason) = match refusal.code.as_str() {
        "ExpiredActivationKey" => ("This activation key has expired", "Activation keys work for one hour."),
        "InvalidActivationKey" | "IncorrectActivationKey" => (
            "This activation key is not valid",
            "It is not a Photo Lab activation key.",
        ),
        "UserNotSubscribed" => {
            let text = format!(
                "To use Photo Lab again, {}.",
                link_text("buy", &app.purchase_url, "buy it again")
            );
            return page(
                StatusCode::FORBIDDEN,
                "Your subscription has ended",
                &error_message(&text),
            );
        }
        // The API key or product token is wrong: the seller has to fix Photo Lab's configuration.
        _ => return failure(&Error::Refused(refusal).to_string()),
    };
    page(
        StatusCode::BAD_REQUEST,
        title,
        &error_message(&format!("{reason} {new_key}")),
    )
}

async fn home(State(app): State<Arc<App>>, jar: CookieJar) -> Response {
    let user = jar.get(USER_COOKIE).and_then(|c| app.users.by_id(c.value()));
    let Some(user) = user else {
        let body = format!(
            "<p>Edit and share photos in your browser. To use Photo Lab, {}; after your order its Continue link \
             brings you back here, signed in.</p>",
            link_text("buy", &app.purchase_url, "buy it through Tollgate")
        );
        return page(StatusCode::OK, "Photo Lab", &body);
    };
    match app.tollgate.subscribed(&user.pid).await {
        Ok(true) => page(
            StatusCode::OK,
            "Photo Lab",
            "<p id=\"app\">Welcome back. Your photos are ready to edit.</p>",
        ),
        Ok(false) => {
            let body = format!(
                "<p id=\"not-active\">Your Photo Lab subscription is not active: its payment is pending, or it was \
                 canceled. See {} on Tollgate, or make a new activation key at {} and follow its Continue link.</p>",
                link_text("billing", &format!("{}/billing", app.tollgate_url), "your billing"),
                link("activate", &format!("{}/activate", app.tollgate_url)),
            );
            page(StatusCode::FORBIDDEN, "Subscription not active", &body)
        }
        Err(e) => failure(&e.to_string()),
    }
}

/// The visitor learns that the fault is not theirs; the details go to the log.
fn failure(detail: &str) -> Response {
    eprintln!("photo-lab: {detail}");
    let text = "Something went wrong on Photo Lab's side. Please try again later.";
    page(StatusCode::BAD_GATEWAY, "Please try again", &error_message(text))
}

fn error_message(html: &str) -> String {
    format!("<p id=\"error-message\">{html}</p>")
}

fn link(id: &str, url: &str) -> String {
    link_text(id, url, url)
}

fn link_text(id: &str, url: &str, text: &str) -> String {
    format!("<a id=\"{id}\" href=\"{}\">{}</a>", escape(url), escape(text))
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let title = escape(title);
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body><h1>{title}</h1>\n{body}\n</body></html>\n"
    );
    (status, Html(html)).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
