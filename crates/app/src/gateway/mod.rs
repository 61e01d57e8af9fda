//! The payment gateway: one trait, with the sandbox built in (CONTRACT section 4). A real gateway implements the
//! same trait.

mod sandbox;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tollgate_domain::Money;
use tollgate_domain::card::CardDetails;

pub use sandbox::SandboxGateway;

/// A card the gateway accepted: what Tollgate may keep of it.
#[derive(Debug, Clone)]
pub struct StoredCard {
    pub token: String,
    pub brand: String,
    pub last4: String,
}

#[derive(Debug, Clone)]
pub struct ChargeResult {
    pub succeeded: bool,
    pub reference: String,
    pub message: Option<String>,
}

/// One charge of a batch: a stored card, an amount and the charge's idempotency key.
#[derive(Debug, Clone)]
pub struct Charge<'a> {
    pub token: &'a str,
    pub amount: Money,
    pub idempotency_key: String,
}

/// One refund of a batch: the earlier charge it pays back, by the gateway's reference, the amount and the refund's
/// idempotency key.
#[derive(Debug, Clone)]
pub struct Refund<'a> {
    pub charge_reference: &'a str,
    pub amount: Money,
    pub idempotency_key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("the card was refused: {0}")]
    CardRefused(String),
    /// The gateway could not be reached or answered nonsense; whether money moved is unknown, so the attempt
    /// stays open and is retried with the same idempotency key.
    #[error("payment gateway unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Checks a card and returns the gateway's opaque token for it.
    async fn add_card(&self, card: &CardDetails, at: DateTime<Utc>) -> Result<StoredCard, GatewayError>;

    /// Charges a stored card. The same idempotency key always gives the first answer and moves money at most once.
    async fn charge(
        &self,
        token: &str,
        amount: Money,
        idempotency_key: &str,
        at: DateTime<Utc>,
    ) -> Result<ChargeResult, GatewayError>;

    /// Makes several charges as of the same instant, each as [`PaymentGateway::charge`] makes one: the answers in
    /// the charges' order. A gateway with a batch interface (or that takes concurrent calls) overrides this.
    async fn charge_many(&self, charges: &[Charge<'_>], at: DateTime<Utc>) -> Vec<Result<ChargeResult, GatewayError>> {
        let mut results = Vec::with_capacity(charges.len());
        for charge in charges {
            results.push(
                self.charge(charge.token, charge.amount, &charge.idempotency_key, at)
                    .await,
            );
        }
        results
    }

    /// Pays back `amount` of an earlier charge, named by the reference the gateway gave it. The same idempotency
    /// key always gives the first answer and moves money at most once.
    async fn refund(
        &self,
        charge_reference: &str,
        amount: Money,
        idempotency_key: &str,
        at: DateTime<Utc>,
    ) -> Result<ChargeResult, GatewayError>;

    /// Makes several refunds as of the same instant, each as [`PaymentGateway::refund`] makes one: the answers in
    /// the refunds' order.
    async fn refund_many(&self, refunds: &[Refund<'_>], at: DateTime<Utc>) -> Vec<Result<ChargeResult, GatewayError>> {
        let mut results = Vec::with_capacity(refunds.len());
        for refund in refunds {
            results.push(
                self.refund(refund.charge_reference, refund.amount, &refund.idempotency_key, at)
                    .await,
            );
        }
        results
    }
}
