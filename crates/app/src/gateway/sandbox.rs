//! The sandbox gateway and its test cards (CONTRACT section 4): `4000000000000002` is refused when added,
//! `4000000000000341` is accepted and every charge to it declined, any other valid number always succeeds.
//! Charges and refunds are recorded in the database by idempotency key, so a retried call returns its first answer
//! even across restarts. A refund always succeeds: money goes back whatever the card does with new charges.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tollgate_domain::Money;
use tollgate_domain::card::CardDetails;
use tollgate_store::Store;
use tollgate_store::payments::SandboxCharge;

use super::{Charge, ChargeResult, GatewayError, PaymentGateway, Refund, StoredCard};
use crate::secrets::random_token;

const REFUSED_ON_ADD: &str = "4000000000000002";
const DECLINES_CHARGES: &str = "4000000000000341";
/// The token's prefix carries the card's behaviour, as a real gateway keeps it on its side.
const DECLINING_PREFIX: &str = "sandbox_declining_";
const PAYING_PREFIX: &str = "sandbox_";

pub struct SandboxGateway {
    store: Store,
}

impl SandboxGateway {
    pub fn new(store: Store) -> Self {
        SandboxGateway { store }
    }

    /// Records the calls by their keys: each answer is the first one given under its key.
    async fn record(&self, calls: &[SandboxCharge]) -> Vec<Result<ChargeResult, GatewayError>> {
        match self.store.sandbox_charges(calls).await {
            Ok(recorded) => recorded
                .into_iter()
                .map(|r| {
                    Ok(ChargeResult {
                        succeeded: r.succeeded,
                        message: (!r.succeeded).then(|| "the card was declined".to_owned()),
                        reference: r.reference,
                    })
                })
                .collect(),
            Err(error) => calls
                .iter()
                .map(|_| Err(GatewayError::Unavailable(error.to_string())))
                .collect(),
        }
    }

    async fn record_one(&self, call: SandboxCharge) -> Result<ChargeResult, GatewayError> {
        let mut answers = self.record(std::slice::from_ref(&call)).await;
        answers
            .pop()
            .unwrap_or_else(|| Err(GatewayError::Unavailable("no answer recorded".into())))
    }
}

/// A charge as the sandbox decides it: the card's token says whether it pays.
fn sandbox_charge(token: &str, amount: Money, idempotency_key: &str, at: DateTime<Utc>) -> SandboxCharge {
    SandboxCharge {
        idempotency_key: idempotency_key.to_owned(),
        payment_token: token.to_owned(),
        amount_cents: amount.cents(),
        succeeded: !token.starts_with(DECLINING_PREFIX),
        reference: format!("sbx_ch_{}", random_token::<12>()),
        created_at: tollgate_store::millis(at),
    }
}

#[async_trait]
impl PaymentGateway for SandboxGateway {
    async fn add_card(&self, card: &CardDetails, _at: DateTime<Utc>) -> Result<StoredCard, GatewayError> {
        if card.number == REFUSED_ON_ADD {
            return Err(GatewayError::CardRefused("the card was declined by its issuer".into()));
        }
        let prefix = if card.number == DECLINES_CHARGES {
            DECLINING_PREFIX
        } else {
            PAYING_PREFIX
        };
        Ok(StoredCard {
            token: format!("{prefix}{}", random_token::<16>()),
            brand: card.brand().to_owned(),
            last4: card.last4().to_owned(),
        })
    }

    async fn charge(
        &self,
        token: &str,
        amount: Money,
        idempotency_key: &str,
        at: DateTime<Utc>,
    ) -> Result<ChargeResult, GatewayError> {
        self.record_one(sandbox_charge(token, amount, idempotency_key, at))
            .await
    }

    async fn charge_many(&self, charges: &[Charge<'_>], at: DateTime<Utc>) -> Vec<Result<ChargeResult, GatewayError>> {
        let calls: Vec<SandboxCharge> = charges
            .iter()
            .map(|c| sandbox_charge(c.token, c.amount, &c.idempotency_key, at))
            .collect();
        self.record(&calls).await
    }

    async fn refund(
        &self,
        charge_reference: &str,
        amount: Money,
        idempotency_key: &str,
        at: DateTime<Utc>,
    ) -> Result<ChargeResult, GatewayError> {
        self.record_one(sandbox_refund(charge_reference, amount, idempotency_key, at))
            .await
    }

    async fn refund_many(&self, refunds: &[Refund<'_>], at: DateTime<Utc>) -> Vec<Result<ChargeResult, GatewayError>> {
        let calls: Vec<SandboxCharge> = refunds
            .iter()
            .map(|r| sandbox_refund(r.charge_reference, r.amount, &r.idempotency_key, at))
            .collect();
        self.record(&calls).await
    }
}

/// A refund as the sandbox records it: with the charges, negative, against the charge it pays back.
fn sandbox_refund(charge_reference: &str, amount: Money, idempotency_key: &str, at: DateTime<Utc>) -> SandboxCharge {
    SandboxCharge {
        idempotency_key: idempotency_key.to_owned(),
        payment_token: charge_reference.to_owned(),
        amount_cents: -amount.cents(),
        succeeded: true,
        reference: format!("sbx_re_{}", random_token::<12>()),
        created_at: tollgate_store::millis(at),
    }
}
