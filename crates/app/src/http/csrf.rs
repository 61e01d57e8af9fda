//! CSRF protection for the pages: a cross-site request (by `Sec-Fetch-Site`, or by an `Origin` that is neither the
//! public URL nor the request's host) is refused, and every form must carry the visitor's token, which is the
//! session's or, before signing in, a cookie's (double submit). Plain HTTP clients that send neither header are
//! judged by the token alone.

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

use super::auth::CSRF_COOKIE;
use crate::secrets::random_token;
use crate::services::accounts::SESSION_LIFETIME;
use crate::state::AppState;

/// A CSRF token made for this request because the visitor had none yet.
#[derive(Clone)]
pub struct FreshCsrfToken(pub String);

/// Gives every visitor a CSRF cookie, so that the login and sign-up forms are protected before there is a session;
/// also a visitor whose session cookie has expired, whose forms would otherwise carry no token at all.
pub async fn ensure_token(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let jar = CookieJar::from_headers(request.headers());
    if jar.get(CSRF_COOKIE).is_some() {
        return next.run(request).await;
    }
    let token = random_token::<32>();
    request.extensions_mut().insert(FreshCsrfToken(token.clone()));
    let response = next.run(request).await;
    let cookie = cookie(CSRF_COOKIE, token, state.settings.secure_cookies());
    let mut response = response;
    if let Ok(value) = cookie.encoded().to_string().parse() {
        response.headers_mut().append(axum::http::header::SET_COOKIE, value);
    }
    response
}

/// An HttpOnly, SameSite=Lax cookie for the whole site, Secure behind https, kept as long as a session lives.
pub fn cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    let max_age = cookie::time::Duration::seconds(SESSION_LIFETIME.num_seconds());
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(max_age)
        .build()
}

/// Whether the request's headers show it came from another site.
pub fn is_cross_site(headers: &HeaderMap, public_url: &str) -> bool {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
    };
    if header("sec-fetch-site") == Some("cross-site") {
        return true;
    }
    let Some(origin) = header(ORIGIN.as_str()) else {
        return false;
    };
    let public_origin = origin_of(public_url);
    let host_matches = header(HOST.as_str()).is_some_and(|host| {
        origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            == Some(host)
    });
    !(origin == public_origin || host_matches)
}

fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn tells_cross_site_requests() {
        let public = "https://billing.example.com";
        assert!(!is_cross_site(&headers(&[]), public));
        assert!(!is_cross_site(
            &headers(&[("origin", "https://billing.example.com")]),
            public
        ));
        assert!(!is_cross_site(
            &headers(&[("origin", "http://127.0.0.1:8080"), ("host", "127.0.0.1:8080")]),
            public
        ));
        assert!(is_cross_site(&headers(&[("origin", "https://evil.example")]), public));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "cross-site")]), public));
        assert!(!is_cross_site(&headers(&[("sec-fetch-site", "same-origin")]), public));
    }
}
