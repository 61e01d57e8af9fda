//! Who is calling: the operator or a seller by bearer token (API), a person by session cookie (pages).

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use tollgate_store::accounts::Account;
use tollgate_store::sellers::Seller;

use super::error::ApiError;
use crate::error::Error;
use crate::services::{accounts, sellers};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "tg_session";
/// The CSRF token of a visitor without a session (double-submit: cookie and form field must match).
pub const CSRF_COOKIE: &str = "tg_csrf";

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The operator, by `Bearer <TOLLGATE_OPERATOR_TOKEN>`. A seller's key is the wrong role (403); anything else,
/// or any call while no token is configured, is 401.
pub struct Operator;

impl<S: Send + Sync> FromRequestParts<S> for Operator
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = bearer(parts).ok_or(Error::Unauthenticated)?;
        if sellers::is_operator_token(&state, token) {
            return Ok(Operator);
        }
        // Without a configured token the operator API answers 401 to every call (CONTRACT section 1).
        if state.settings.operator_token.is_none() {
            return Err(Error::Unauthenticated.into());
        }
        match sellers::authenticate(&state, token).await? {
            Some(_) => Err(Error::Forbidden("this route is for the operator").into()),
            None => Err(Error::Unauthenticated.into()),
        }
    }
}

/// The operator or a seller, for routes both may call (usage reports).
pub enum OperatorOrSeller {
    Operator,
    Seller(Seller),
}

impl<S: Send + Sync> FromRequestParts<S> for OperatorOrSeller
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = bearer(parts).ok_or(Error::Unauthenticated)?;
        if sellers::is_operator_token(&state, token) {
            return Ok(OperatorOrSeller::Operator);
        }
        match sellers::authenticate(&state, token).await? {
            Some(seller) => Ok(OperatorOrSeller::Seller(seller)),
            None => Err(Error::Unauthenticated.into()),
        }
    }
}

/// A bearer token not yet checked, for a route that checks it together with its own reads (the license
/// verification by PID); 401 when there is none.
pub struct Bearer(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match bearer(parts) {
            Some(token) => Ok(Bearer(token.to_owned())),
            None => Err(Error::Unauthenticated.into()),
        }
    }
}

/// A seller, by `Bearer <API key>`; the operator's token is the wrong role (403).
pub struct SellerAuth(pub Seller);

impl<S: Send + Sync> FromRequestParts<S> for SellerAuth
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = bearer(parts).ok_or(Error::Unauthenticated)?;
        match sellers::authenticate(&state, token).await? {
            Some(seller) => Ok(SellerAuth(seller)),
            None => Err(sellers::refusal(&state, token).into()),
        }
    }
}

/// A person on the pages: signed in or not, with the CSRF token their forms must carry.
#[derive(Clone)]
pub struct Visitor {
    pub account: Option<Account>,
    pub csrf_token: String,
    /// The page being shown, so that logging in from its header comes back to it.
    pub here: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor
where
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(visitor) = parts.extensions.get::<Visitor>() {
            return Ok(visitor.clone());
        }
        let state = AppState::from_ref(state);
        let jar = CookieJar::from_headers(&parts.headers);
        let here = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        let session = match jar.get(SESSION_COOKIE) {
            Some(cookie) => accounts::session(&state, cookie.value())
                .await
                .map_err(|e| super::pages::error_page(e, super::pages::Layout::anonymous(&state)))?,
            None => None,
        };
        let visitor = match session {
            Some((account, csrf_token)) => Visitor {
                account: Some(account),
                csrf_token,
                here,
            },
            None => Visitor {
                account: None,
                here,
                csrf_token: parts
                    .extensions
                    .get::<super::csrf::FreshCsrfToken>()
                    .map(|t| t.0.clone())
                    .or_else(|| jar.get(CSRF_COOKIE).map(|c| c.value().to_owned()))
                    .unwrap_or_default(),
            },
        };
        parts.extensions.insert(visitor.clone());
        Ok(visitor)
    }
}

/// A signed-in person; anyone else is sent to the login page and back.
pub struct User {
    pub account: Account,
}

impl<S: Send + Sync> FromRequestParts<S> for User
where
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let visitor = Visitor::from_request_parts(parts, state).await?;
        match visitor.account {
            Some(account) => Ok(User { account }),
            None => {
                let here = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                let target = if parts.method == axum::http::Method::GET {
                    here
                } else {
                    parts.uri.path()
                };
                let next: String = url_encode(target);
                Err(Redirect::to(&format!("/login?next={next}")).into_response())
            }
        }
    }
}

pub fn url_encode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)])
        .map(|s| s[1..].to_owned())
        .unwrap_or_default()
}

/// `?next=` is honoured only for local paths, never for another site (`//host`, `/\host`, `https://…`).
pub fn local_path(next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    let local =
        next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") && !next.contains(['\r', '\n']);
    local.then(|| next.to_owned())
}

/// The `?next=` of a page, if it is a local path; never fails, whatever the query holds.
pub struct Next(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Next {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        Ok(Next(local_path(
            pairs.iter().find(|(k, _)| k == "next").map(|(_, v)| v.as_str()),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(
            local_path(Some("/purchase/AB12CD34")).as_deref(),
            Some("/purchase/AB12CD34")
        );
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example", "evil", ""] {
            assert_eq!(local_path(Some(bad)), None, "{bad}");
        }
        assert_eq!(url_encode("/purchase/X?a=1&b=2"), "%2Fpurchase%2FX%3Fa%3D1%26b%3D2");
    }
}
