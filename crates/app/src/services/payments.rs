//! Cards and charges: adding a card retries unpaid bills (R10), and a bill is charged through attempts that can
//! never charge twice (R20): the attempt is opened in the database before the gateway is called with the key
//! `{bill}:{attempt}`, and its outcome is recorded with all its consequences in one transaction.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tollgate_domain::Money;
use tollgate_domain::billing::BillKind;
use tollgate_domain::calendar::Month;
use tollgate_domain::card::CardDetails;
use tollgate_domain::fees::deposits;
use tollgate_store::accounts::Account;
use tollgate_store::bills::BillLineView;
use tollgate_store::bills::{AttemptOutcome, Bill, StartedAttempt};
use tollgate_store::ledger::{CUSTOMER_PAYMENTS, LedgerTransaction, PLATFORM_FEES, seller_account};
use tollgate_store::outbox::Email;
use tollgate_store::payments::PaymentMethod;
use tollgate_store::{millis, new_id};

use crate::error::{Error, Result};
use crate::gateway::{GatewayError, PaymentGateway};
use crate::mail::compose::{self, AlertFacts, BillFacts, BilledProduct, Moment};
use crate::services::{products, purchase};
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargeOutcome {
    Paid,
    Declined,
    /// Nothing to do: paid, void, free, already being charged, or no card on file.
    NotCharged,
}

fn gateway(state: &AppState) -> Result<&Arc<dyn PaymentGateway>> {
    state.gateway.as_ref().ok_or(Error::GatewayUnavailable)
}

/// Puts a card on file and retries every unpaid bill of the customer at once (R10).
pub async fn add_card(state: &AppState, customer: &Account, card: &CardDetails) -> Result<()> {
    let gateway = gateway(state)?;
    let now = state.now().await?;
    let stored = gateway.add_card(card, now).await.map_err(|e| match e {
        GatewayError::CardRefused(reason) => Error::field("card_number", &format!("the card was refused: {reason}")),
        GatewayError::Unavailable(_) => Error::GatewayUnavailable,
    })?;
    state
        .store
        .set_payment_method(&PaymentMethod {
            customer_id: customer.id.clone(),
            brand: stored.brand,
            last4: stored.last4,
            exp_month: i64::from(card.exp_month),
            exp_year: i64::from(card.exp_year),
            gateway_token: stored.token,
            added_at: millis(now),
        })
        .await?;
    for bill in state.store.collectible_bills(&customer.id).await? {
        charge_bill(state, &bill.id).await?;
    }
    Ok(())
}

/// Charges a bill once more, if it can be charged.
pub async fn charge_bill(state: &AppState, bill_id: &str) -> Result<ChargeOutcome> {
    let gateway = gateway(state)?;
    let now = state.now().await?;
    match state.store.begin_attempt(bill_id, millis(now)).await? {
        Some(started) => finish_attempt(state, gateway.as_ref(), started, now).await,
        None => Ok(ChargeOutcome::NotCharged),
    }
}

/// Charges a bill for a dated reason (a dunning retry, R22) as of `at`, unless an attempt in that slot was made
/// already: doing a day's work twice charges once.
pub async fn charge_in_slot(state: &AppState, bill_id: &str, slot: &str, at: DateTime<Utc>) -> Result<ChargeOutcome> {
    let gateway = gateway(state)?;
    match state.store.begin_attempt_in_slot(bill_id, millis(at), slot).await? {
        Some(started) => finish_attempt(state, gateway.as_ref(), started, at).await,
        None => Ok(ChargeOutcome::NotCharged),
    }
}

/// Finishes what a crash interrupted: attempts left open are finished with their original idempotency keys. An
/// attempt still under way in another request is finished twice at worst, which the key makes harmless: the
/// gateway answers the same, and the outcome is recorded once.
pub async fn resume_interrupted(state: &AppState) -> Result<()> {
    let Some(gateway) = state.gateway.as_ref() else {
        return Ok(());
    };
    let now = state.now().await?;
    for started in state.store.open_attempts().await? {
        finish_attempt(state, gateway.as_ref(), started, now).await?;
    }
    Ok(())
}

/// Makes an attempt that was opened with its order, its bill or its cancellation, as of `at`.
pub async fn make_attempt(state: &AppState, started: StartedAttempt, at: DateTime<Utc>) -> Result<ChargeOutcome> {
    finish_attempt(state, gateway(state)?.as_ref(), started, at).await
}

async fn finish_attempt(
    state: &AppState,
    gateway: &dyn PaymentGateway,
    started: StartedAttempt,
    now: DateTime<Utc>,
) -> Result<ChargeOutcome> {
    let bill = &started.bill;
    let refund = bill.kind == BillKind::Refund.as_str();
    let call = match (refund, &bill.refund_of) {
        (true, Some(refunded)) => {
            let reference = state
                .store
                .charge_reference(refunded)
                .await?
                .ok_or(Error::NotFound("the refunded charge"))?;
            let amount = Money::from_cents(-bill.total_cents);
            gateway
                .refund(&reference, amount, &started.idempotency_key(), now)
                .await
        }
        (true, None) => return Err(anyhow::anyhow!("refund bill {} names no refunded bill", bill.id).into()),
        (false, _) => {
            let amount = Money::from_cents(bill.total_cents);
            gateway
                .charge(&started.gateway_token, amount, &started.idempotency_key(), now)
                .await
        }
    };
    let result = match call {
        Ok(result) => result,
        Err(GatewayError::CardRefused(reason)) => crate::gateway::ChargeResult {
            succeeded: false,
            reference: String::new(),
            message: Some(reason),
        },
        // Whether money moved is unknown: the attempt stays open and is resumed with the same key.
        Err(GatewayError::Unavailable(reason)) => {
            tracing::warn!(bill = %bill.id, %reason, "payment gateway unavailable; the attempt will be resumed");
            return Err(Error::GatewayUnavailable);
        }
    };
    let customer = state
        .store
        .account(&bill.customer_id)
        .await?
        .ok_or(Error::NotFound("customer"))?;
    let lines = state.store.bill_lines(&bill.id).await?;
    let (ledger, emails) = match refund {
        // The cancellation's e-mail told the customer about the refund already.
        true => (result.succeeded.then(|| repayment(bill, &lines, now)), Vec::new()),
        false => (
            result.succeeded.then(|| collection(state, bill, &lines, now)),
            consequences_by_mail(state, &started, &lines, &customer, result.succeeded, now).await?,
        ),
    };
    let signup = bill.kind == BillKind::Signup.as_str();
    let outcome = AttemptOutcome {
        bill_id: &bill.id,
        attempt: started.attempt,
        at: millis(now),
        succeeded: result.succeeded,
        gateway_reference: Some(&result.reference).filter(|r| !r.is_empty()).map(String::as_str),
        message: result.message.as_deref(),
        ledger: ledger.as_ref(),
        activate_subscription: bill.subscription_id.as_deref().filter(|_| signup && result.succeeded),
        emails: &emails,
    };
    state.store.finish_attempt(outcome).await?;
    Ok(if result.succeeded {
        ChargeOutcome::Paid
    } else {
        ChargeOutcome::Declined
    })
}

/// The collection of a bill in the ledger (R28): the customer's payment, each seller's deposit less the per-bill
/// fee for each of its products with a positive total, and the operator's fees.
fn collection(state: &AppState, bill: &Bill, lines: &[BillLineView], at: DateTime<Utc>) -> LedgerTransaction {
    let split = deposits(
        lines.iter().map(|l| {
            (
                l.seller_id.clone(),
                l.product_code.clone(),
                Money::from_cents(l.amount_cents),
            )
        }),
        state.settings.fees.per_bill,
    );
    let mut entries = vec![(CUSTOMER_PAYMENTS.to_owned(), -bill.total_cents)];
    let fees: Money = split.iter().map(|d| d.fees).sum();
    entries.extend(split.iter().map(|d| (seller_account(&d.seller), d.net().cents())));
    if !fees.is_zero() {
        entries.push((PLATFORM_FEES.to_owned(), fees.cents()));
    }
    let products: Vec<&str> = {
        let mut codes: Vec<&str> = lines.iter().map(|l| l.product_code.as_str()).collect();
        codes.dedup();
        codes
    };
    LedgerTransaction {
        id: new_id(),
        unique_key: format!("collect:{}", bill.id),
        at: millis(at),
        kind: "collection",
        description: format!(
            "{} bill {} collected ({}), less {} per product",
            bill.kind,
            bill.id,
            products.join(", "),
            state.settings.fees.per_bill
        ),
        bill_id: Some(bill.id.clone()),
        entries,
    }
}

/// A refund in the ledger (R23, R28): the customer is paid back, and each seller is charged its part; the per-bill
/// fee taken at collection is not returned.
fn repayment(bill: &Bill, lines: &[BillLineView], at: DateTime<Utc>) -> LedgerTransaction {
    let mut entries = vec![(CUSTOMER_PAYMENTS.to_owned(), -bill.total_cents)];
    for line in lines {
        let account = seller_account(&line.seller_id);
        match entries.iter_mut().find(|(a, _)| *a == account) {
            Some((_, amount)) => *amount += line.amount_cents,
            None => entries.push((account, line.amount_cents)),
        }
    }
    LedgerTransaction {
        id: new_id(),
        unique_key: format!("refund:{}", bill.id),
        at: millis(at),
        kind: "refund",
        description: format!(
            "refund bill {} paid back ({})",
            bill.id,
            lines
                .iter()
                .map(|l| l.product_code.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        bill_id: Some(bill.id.clone()),
        entries,
    }
}

/// The e-mails an attempt's outcome causes: the sign-up e-mail after a sign-up bill's first attempt, and a
/// "Billing Alert" for every failed attempt (R10).
async fn consequences_by_mail(
    state: &AppState,
    started: &StartedAttempt,
    lines: &[BillLineView],
    customer: &Account,
    succeeded: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Email>> {
    let bill = &started.bill;
    let mut emails = Vec::new();
    if let (true, Some(subscription_id)) = (bill.kind == BillKind::Signup.as_str(), &bill.subscription_id) {
        let subscription = state
            .store
            .subscription(subscription_id)
            .await?
            .ok_or(Error::NotFound("subscription"))?;
        let offer = purchase::offer_for_subscription(state, &subscription).await?;
        let charged = succeeded.then_some((now, Money::from_cents(bill.total_cents)));
        // Unique per subscription: composed after the first attempt only.
        emails.push(purchase::signup_email(
            state,
            &offer,
            customer,
            &subscription,
            charged,
            !succeeded,
        )?);
    }
    if succeeded && bill.kind == BillKind::Monthly.as_str() {
        emails.push(monthly_bill_email(state, bill, lines, customer, now).await?);
    }
    if !succeeded {
        let mut products: Vec<String> = Vec::new();
        for line in lines {
            if let Some(product) = state.store.product_by_code(&line.product_code).await?
                && !products.contains(&product.name)
            {
                products.push(product.name);
            }
        }
        let facts = AlertFacts {
            customer_name: customer.name.clone(),
            amount: Money::from_cents(bill.total_cents),
            products,
            period: period_name(&bill.period),
            payment_method_url: state.settings.url("/account/payment-method"),
            billing_url: state.settings.url("/billing"),
            operator_name: state.settings.operator_name.clone(),
        };
        let moment = Moment {
            business: now,
            infra: state.infra_clock.now(),
        };
        emails.push(compose::billing_alert(
            &state.settings,
            &bill.id,
            started.attempt,
            &customer.email,
            &facts,
            moment,
        )?);
    }
    Ok(emails)
}

/// "Your Bill" for a monthly bill whose charge succeeded: each product with its amount, seller and contact.
async fn monthly_bill_email(
    state: &AppState,
    bill: &Bill,
    lines: &[BillLineView],
    customer: &Account,
    now: DateTime<Utc>,
) -> Result<Email> {
    let mut products: Vec<(String, BilledProduct)> = Vec::new();
    for line in lines {
        let amount = Money::from_cents(line.amount_cents);
        if let Some((_, billed)) = products.iter_mut().find(|(code, _)| *code == line.product_code) {
            billed.amount += amount;
            continue;
        }
        let (product, seller) = products::with_seller(state, &line.product_code).await?;
        let billed = BilledProduct {
            name: product.name,
            company_name: seller.company_name,
            support_contact: product.support_contact.unwrap_or(seller.public_contact),
            amount,
        };
        products.push((line.product_code.clone(), billed));
    }
    let facts = BillFacts {
        customer_name: customer.name.clone(),
        charged_on: now.format("%B %-d, %Y").to_string(),
        amount: Money::from_cents(bill.total_cents),
        period: period_name(&bill.period),
        products: products.into_iter().map(|(_, billed)| billed).collect(),
        billing_url: state.settings.url("/billing"),
        operator_name: state.settings.operator_name.clone(),
    };
    let moment = Moment {
        business: now,
        infra: state.infra_clock.now(),
    };
    Ok(compose::monthly_bill(
        &state.settings,
        &bill.id,
        &customer.email,
        &facts,
        moment,
    )?)
}

/// A bill's period as the e-mails write it ("June 2027").
fn period_name(period: &str) -> String {
    period.parse::<Month>().map(Month::long_name).unwrap_or_default()
}
