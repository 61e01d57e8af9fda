//! The Tollgate calls of a hosted product, each signed with the seller's API key: `activate-hosted-product`
//! when a customer arrives with an activation key, `verify-product-subscription-by-pid` on each visit.

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::config::Config;

/// Tollgate's answer when it refuses a call: `{"error": {"code", "message"}}` and the status.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

#[derive(Debug)]
pub enum Error {
    Refused(Refusal),
    /// Tollgate could not be reached, or answered something that is not its API.
    Unavailable(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Refused(r) => write!(
                f,
                "Tollgate refused the request ({} {}): {}",
                r.status, r.code, r.message
            ),
            Error::Unavailable(why) => write!(f, "Tollgate is unavailable: {why}"),
        }
    }
}

impl std::error::Error for Error {}

#[derive(Debug, Deserialize)]
pub struct Activation {
    pub user_token: String,
    pub persistent_identifier: String,
}

/// The parts of the product Photo Lab needs from `GET /api/v1/products/{code}`.
#[derive(Debug, Deserialize)]
pub struct Product {
    pub product_token: String,
    pub purchase_url: String,
}

#[derive(Deserialize)]
struct Verification {
    subscribed: bool,
}

pub struct LicenseClient {
    http: reqwest::Client,
    base: String,
    api_key: String,
    product_token: String,
    product_code: String,
}

impl LicenseClient {
    pub fn new(config: &Config) -> LicenseClient {
        LicenseClient {
            http: reqwest::Client::new(),
            base: format!("{}/api/v1", config.tollgate_url()),
            api_key: config.api_key.clone(),
            product_token: config.product_token.clone(),
            product_code: config.product_code.clone(),
        }
    }

    pub async fn product(&self) -> Result<Product, Error> {
        self.call(Method::GET, &format!("/products/{}", self.product_code), None)
            .await
    }

    /// Turns the activation key a customer arrived with into the customer's PID, the same for every product of
    /// this seller, and the user token of this product.
    pub async fn activate(&self, activation_key: &str) -> Result<Activation, Error> {
        let body = json!({"activation_key": activation_key, "product_token": self.product_token});
        self.call(Method::POST, "/license/activate-hosted-product", Some(body))
            .await
    }

    /// Whether the customer's subscription is active now: false while the sign-up payment is pending and after a
    /// cancellation.
    pub async fn subscribed(&self, pid: &str) -> Result<bool, Error> {
        let body = json!({"persistent_identifier": pid, "product_code": self.product_code});
        let answer: Verification = self
            .call(Method::POST, "/license/verify-product-subscription-by-pid", Some(body))
            .await?;
        Ok(answer.subscribed)
    }

    async fn call<T: DeserializeOwned>(&self, method: Method, path: &str, body: Option<Value>) -> Result<T, Error> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.api_key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| Error::Unavailable(e.to_string()))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| Error::Unavailable(e.to_string()))?;
        if status.is_success() {
            return serde_json::from_str(&text).map_err(|e| Error::Unavailable(format!("unexpected answer: {e}")));
        }
        let body: Value = serde_json::from_str(&text).unwrap_or_default();
        match (body["error"]["code"].as_str(), body["error"]["message"].as_str()) {
            (Some(code), Some(message)) => Err(Error::Refused(Refusal {
                status,
                code: code.to_owned(),
                message: message.to_owned(),
            })),
            _ => Err(Error::Unavailable(format!("answered {status}"))),
        }
    }
}
