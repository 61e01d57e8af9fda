//! The form extractor of the pages: an urlencoded body, checked against CSRF before any handler sees it.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::response::Response;

use super::auth::Visitor;
use super::csrf::is_cross_site;
use super::pages::{Layout, error_page};
use crate::error::Error;
use crate::services::accounts::csrf_matches;
use crate::state::AppState;

/// A submitted form whose CSRF checks passed. Fields are read by name; a missing field reads as empty.
pub struct PageForm {
    fields: Vec<(String, String)>,
    pub visitor: Visitor,
}

impl PageForm {
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> FromRequest<S> for PageForm
where
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        let (mut parts, body) = req.into_parts();
        let visitor = Visitor::from_request_parts(&mut parts, state).await?;
        let layout = || Layout::anonymous(&app);
        let forbidden = || {
            error_page(
                Error::Forbidden("the form expired or came from another site; please try again"),
                layout(),
            )
        };
        if is_cross_site(&parts.headers, &app.settings.public_url) {
            return Err(forbidden());
        }
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|rejection| {
                let error = match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => Error::TooLarge,
                    _ => Error::field("form", "could not be read"),
                };
                error_page(error, layout())
            })?;
        // Percent-decoding replaces invalid UTF-8 rather than failing, so hostile bytes become harmless text.
        let fields: Vec<(String, String)> = form_fields(&bytes);
        let submitted = fields
            .iter()
            .find(|(k, _)| k == "csrf_token")
            .map_or("", |(_, v)| v.as_str());
        if !csrf_matches(&visitor.csrf_token, submitted) {
            return Err(forbidden());
        }
        Ok(PageForm { fields, visitor })
    }
}

fn form_fields(bytes: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes).unwrap_or_else(|_| {
        let lossy = String::from_utf8_lossy(bytes).into_owned();
        serde_urlencoded::from_str(&lossy).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_hostile_bodies_without_failing() {
        assert_eq!(
            super::form_fields(b"a=1&b=%FF%FE"),
            vec![("a".into(), "1".into()), ("b".into(), "\u{FFFD}\u{FFFD}".into())]
        );
        assert_eq!(super::form_fields(b"a=\xff"), vec![("a".into(), "\u{FFFD}".into())]);
    }
}
