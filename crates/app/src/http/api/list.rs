//! Lists in the API (CONTRACT section 2): `{"<things>": [...], "next": cursor | null}`, `?limit=` (default 100, at
//! most 1,000) and `?after=`, a cursor taken from a previous page's `next`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde_json::{Value, json};

use crate::error::Error;
use crate::http::error::ApiError;

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

/// Which page of a list is asked for. The cursor is opaque to clients: today it is the position after the
/// previous page.
pub struct Page {
    limit: usize,
    start: usize,
}

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).unwrap_or_default();
        let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let limit = match get("limit") {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .parse()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| Error::field("limit", "must be a whole number from 1 to 1000"))?,
        };
        let start = match get("after") {
            None | Some("") => 0,
            Some(cursor) => cursor
                .parse()
                .map_err(|_| Error::field("after", "is not a cursor this list gave"))?,
        };
        Ok(Page { limit, start })
    }
}

impl Page {
    /// The page of `items` as the list's JSON body under `name`.
    pub fn of(&self, name: &str, items: Vec<Value>) -> Value {
        let total = items.len();
        let end = self.start.saturating_add(self.limit).min(total);
        let page: Vec<Value> = items.into_iter().skip(self.start).take(self.limit).collect();
        let next = (end < total).then(|| end.to_string());
        json!({ name: page, "next": next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_through_a_list() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let first = Page { limit: 2, start: 0 }.of("things", items.clone());
        assert_eq!(first, json!({"things": [0, 1], "next": "2"}));
        let last = Page { limit: 2, start: 4 }.of("things", items.clone());
        assert_eq!(last, json!({"things": [4], "next": null}));
        assert_eq!(
            Page { limit: 2, start: 9 }.of("things", items),
            json!({"things": [], "next": null})
        );
    }
}
