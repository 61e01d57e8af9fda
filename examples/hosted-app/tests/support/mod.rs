//! The test server for Photo Lab's tests: the examples' shared harness, Photo Lab itself, and the confirmation's
//! Continue link that brings a customer to it.

#[path = "../../../test-support/tollgate.rs"]
mod tollgate;

pub use tollgate::*;

use serde_json::{Value, json};

impl Tollgate {
    /// Photo Lab, a hosted product for $8.00 a month, whose customers continue to `redirect_url`.
    pub async fn register_photo_lab(&self, api_key: &str, redirect_url: &str) -> Value {
        let body = json!({
            "name": "Photo Lab",
            "kind": "hosted",
            "redirect_url": redirect_url,
            "pricing": {"monthly_fee": "8.00"},
        });
        self.call(api_key, reqwest::Method::POST, "/api/v1/products", body)
            .await
    }
}

impl Customer {
    /// Opens any URL in this browser, Photo Lab's too, without following redirects.
    pub async fn visit(&self, url: &str) -> reqwest::Response {
        self.client.get(url).send().await.unwrap()
    }

    /// Places the order on the product's purchase page; returns the confirmation page's Continue link.
    pub async fn buy(&self, product: &Value) -> String {
        continue_link(&self.order(product).await).expect("a Continue link")
    }
}

/// The `href` of the element with id `continue`, as the page escapes it.
fn continue_link(html: &str) -> Option<String> {
    let at = html.find("id=\"continue\"")?;
    let tag = &html[html[..at].rfind('<')?..at + html[at..].find('>')?];
    let start = tag.find("href=\"")? + "href=\"".len();
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}
