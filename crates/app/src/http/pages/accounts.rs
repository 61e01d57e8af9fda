//! Sign-up, login and logout.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;

use super::{Layout, error_page, next_query, render_with};
use crate::error::Error;
use crate::http::auth::{CSRF_COOKIE, Next, SESSION_COOKIE, Visitor};
use crate::http::csrf::cookie;
use crate::http::form::PageForm;
use crate::services::accounts::{self, SignUp};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "pages/signup.html")]
struct SignupPage {
    layout: Layout,
    error: Option<String>,
    name: String,
    email: String,
    next_query: String,
}

#[derive(Template)]
#[template(path = "pages/login.html")]
struct LoginPage {
    layout: Layout,
    error: Option<String>,
    email: String,
    next_query: String,
}

fn destination(next: Next) -> String {
    next.0.unwrap_or_else(|| "/".into())
}

pub async fn signup_page(State(state): State<AppState>, visitor: Visitor, next: Next) -> Response {
    if visitor.account.is_some() {
        return Redirect::to(&destination(next)).into_response();
    }
    let page = SignupPage {
        layout: Layout::new(&state, &visitor),
        error: None,
        name: String::new(),
        email: String::new(),
        next_query: next_query(&next.0),
    };
    render_with(axum::http::StatusCode::OK, page)
}

pub async fn signup(State(state): State<AppState>, jar: CookieJar, next: Next, form: PageForm) -> Response {
    let fields = SignUp {
        email: form.get("email"),
        password: form.get("password"),
        name: form.get("name"),
    };
    match accounts::sign_up(&state, &fields).await {
        Ok(account) => signed_in(&state, jar, &account.id, destination(next)).await,
        Err(error @ (Error::Field(_) | Error::EmailTaken)) => {
            let message = match &error {
                Error::EmailTaken => "An account with this e-mail address exists already. Log in instead?".to_owned(),
                other => other.to_string(),
            };
            let page = SignupPage {
                layout: Layout::new(&state, &form.visitor),
                error: Some(message),
                name: fields.name.to_owned(),
                email: fields.email.to_owned(),
                next_query: next_query(&next.0),
            };
            render_with(error.status(), page)
        }
        Err(other) => error_page(other, Layout::new(&state, &form.visitor)),
    }
}

pub async fn login_page(State(state): State<AppState>, visitor: Visitor, next: Next) -> Response {
    if visitor.account.is_some() {
        return Redirect::to(&destination(next)).into_response();
    }
    let page = LoginPage {
        layout: Layout::new(&state, &visitor),
        error: None,
        email: String::new(),
        next_query: next_query(&next.0),
    };
    render_with(axum::http::StatusCode::OK, page)
}

pub async fn login(State(state): State<AppState>, jar: CookieJar, next: Next, form: PageForm) -> Response {
    match accounts::log_in(&state, form.get("email"), form.get("password")).await {
        Ok(account) => signed_in(&state, jar, &account.id, destination(next)).await,
        Err(error @ (Error::WrongCredentials | Error::RateLimited)) => {
            let page = LoginPage {
                layout: Layout::new(&state, &form.visitor),
                error: Some(error.to_string()),
                email: form.get("email").to_owned(),
                next_query: next_query(&next.0),
            };
            render_with(error.status(), page)
        }
        Err(other) => error_page(other, Layout::new(&state, &form.visitor)),
    }
}

async fn signed_in(state: &AppState, jar: CookieJar, account_id: &str, to: String) -> Response {
    match accounts::start_session(state, account_id).await {
        Ok(session) => {
            let jar = jar
                .add(cookie(SESSION_COOKIE, session.token, state.settings.secure_cookies()))
                .remove(Cookie::build(CSRF_COOKIE).path("/"));
            (jar, Redirect::to(&to)).into_response()
        }
        Err(error) => error_page(error, Layout::anonymous(state)),
    }
}

pub async fn logout(State(state): State<AppState>, jar: CookieJar, _form: PageForm) -> Response {
    if let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned())
        && let Err(error) = accounts::end_session(&state, &token).await
    {
        return error_page(error, Layout::anonymous(&state));
    }
    (jar.remove(Cookie::build(SESSION_COOKIE).path("/")), Redirect::to("/")).into_response()
}
