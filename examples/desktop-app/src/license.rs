//! The two license routes a desktop product calls: `activate-desktop-product` once per computer and
//! `verify-product-subscription-by-tokens` at every start.

use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::credentials::Credentials;

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

#[derive(Deserialize)]
struct Verification {
    subscribed: bool,
}

pub struct LicenseClient {
    http: reqwest::Client,
    base: String,
    product_token: String,
}

impl LicenseClient {
    pub fn new(tollgate_url: &str, product_token: &str) -> LicenseClient {
        LicenseClient {
            http: reqwest::Client::new(),
            base: format!("{tollgate_url}/api/v1/license"),
            product_token: product_token.to_owned(),
        }
    }

    /// Exchanges an activation key (valid for an hour after the customer got it) for this computer's credentials.
    /// Each call makes a new key pair; the user token stays the customer's.
    pub async fn activate(&self, activation_key: &str) -> Result<Credentials, Error> {
        let body = json!({"activation_key": activation_key, "product_token": self.product_token});
        let request = self
            .http
            .post(format!("{}/activate-desktop-product", self.base))
            .json(&body);
        answer(request).await
    }

    /// Whether the customer's subscription is active, proven with the key pair by HTTP Basic. False while the
    /// sign-up payment is pending and after a cancellation.
    pub async fn verify(&self, credentials: &Credentials) -> Result<bool, Error> {
        let body = json!({"product_token": self.product_token, "user_token": credentials.user_token});
        let request = self
            .http
            .post(format!("{}/verify-product-subscription-by-tokens", self.base))
            .basic_auth(&credentials.access_key_id, Some(&credentials.secret_access_key))
            .json(&body);
        answer::<Verification>(request).await.map(|v| v.subscribed)
    }
}

async fn answer<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder) -> Result<T, Error> {
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
