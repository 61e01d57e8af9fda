//! The test server for Backup Pro's tests: the examples' shared harness, Backup Pro itself, and the activation key
//! an order's confirmation shows.

#[path = "../../../test-support/tollgate.rs"]
mod tollgate;

pub use tollgate::*;

use serde_json::{Value, json};

impl Tollgate {
    /// Backup Pro as the README's demo sells it: $5.00 once and $10.00 a month.
    pub async fn register_backup_pro(&self, api_key: &str) -> Value {
        let body = json!({
            "name": "Backup Pro",
            "kind": "desktop",
            "redirect_url": "https://backup-pro.example/welcome",
            "pricing": {"signup_fee": "5.00", "monthly_fee": "10.00"},
        });
        self.call(api_key, reqwest::Method::POST, "/api/v1/products", body)
            .await
    }
}

impl Customer {
    /// Places the order on the product's purchase page; returns the activation key from the confirmation page.
    pub async fn buy(&self, product: &Value) -> String {
        element_text(&self.order(product).await, "activation-key").expect("an activation key")
    }
}

fn element_text(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let start = html[at..].find('>')? + at + 1;
    let end = html[start..].find('<')? + start;
    Some(html[start..end].trim().to_owned())
}
