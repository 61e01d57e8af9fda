//! Cards and charges: adding a card retries unpaid bills (R10), and a bill is charged through attempts that can
//! never charge twice (R20): the attempt is opened in the database before the gateway is called with the key
//! `{bill}:{attempt}`, and its outcome is recorded with all its consequences in one transaction.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tollgate_domain::Money;
use tollgate_domain::billing::BillKind;
use tollgate_domain::calendar::{Month, long_date};
use tollgate_domain::card::CardDetails;
use tollgate_domain::fees::deposits;
use tollgate_store::accounts::Account;
use tollgate_store::bills::BillLineView;
use tollgate_store::bills::{AttemptOutcome, Bill, StartedAttempt};
use tollgate_store::ledger::{CUSTOMER_PAYMENTS, LedgerTransaction, PLATFORM_FEES, seller_account};
use tollgate_store::outbox::Email;
use tollgate_store::payments::PaymentMethod;
use tollgate_store::products::Product;
use tollgate_store::sellers::Seller;
use tollgate_store::{millis, new_id};

use crate::error::{Error, Result};
use crate::gateway::{Charge, ChargeResult, GatewayError, PaymentGateway, Refund};
use crate::mail::compose::{self, AlertFacts, BillFacts, BilledProduct, Moment};
use crate::services::{dunning, products, purchase};
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

/// An opened attempt, a charge or a refund, with what its outcome's consequences are made of.
pub struct Attempt<'a> {
    pub started: &'a StartedAttempt,
    pub customer: &'a Account,
    pub lines: &'a [BillLineView],
}

/// Makes many opened attempts, charges and refunds, as of `at` together, each as [`make_attempt`] makes one: one
/// call to the gateway for the charges and one for the refunds, and one transaction for all their outcomes. The
/// outcomes in the attempts' order; [`Error::GatewayUnavailable`] for an attempt whose answer did not come, which
/// stays open to be resumed.
pub async fn make_attempts(
    state: &AppState,
    attempts: &[Attempt<'_>],
    at: DateTime<Utc>,
    catalogue: &mut Catalogue,
) -> Result<Vec<Result<ChargeOutcome>>> {
    let gateway = gateway(state)?;
    let is_refund = |a: &Attempt<'_>| a.started.bill.kind == BillKind::Refund.as_str();
    let charges: Vec<Charge<'_>> = attempts
        .iter()
        .filter(|a| !is_refund(a))
        .map(|a| Charge {
            token: &a.started.gateway_token,
            amount: Money::from_cents(a.started.bill.total_cents),
            idempotency_key: a.started.idempotency_key(),
        })
        .collect();
    let mut references = Vec::new();
    for attempt in attempts.iter().filter(|a| is_refund(a)) {
        references.push(refunded_charge(state, &attempt.started.bill).await?);
    }
    let refunds: Vec<Refund<'_>> = attempts
        .iter()
        .filter(|a| is_refund(a))
        .zip(&references)
        .map(|(a, reference)| Refund {
            charge_reference: reference,
            amount: Money::from_cents(-a.started.bill.total_cents),
            idempotency_key: a.started.idempotency_key(),
        })
        .collect();
    let mut charged = gateway.charge_many(&charges, at).await.into_iter();
    let mut refunded = gateway.refund_many(&refunds, at).await.into_iter();
    let answers: Vec<_> = attempts
        .iter()
        .map(|a| match is_refund(a) {
            true => refunded.next(),
            false => charged.next(),
        })
        .map(|answer| answer.unwrap_or_else(|| Err(GatewayError::Unavailable("no answer".into()))))
        .collect();
    let mut recorded = Vec::with_capacity(attempts.len());
    let mut outcomes = Vec::with_capacity(attempts.len());
    for (attempt, answer) in attempts.iter().zip(answers) {
        match answered(&attempt.started.bill, answer) {
            Ok(result) => {
                let record = Recorded::new(
                    state,
                    attempt.started,
                    attempt.customer,
                    attempt.lines,
                    result,
                    at,
                    catalogue,
                )
                .await?;
                outcomes.push(Ok(record.charge_outcome()));
                recorded.push(record);
            }
            Err(error) => outcomes.push(Err(error)),
        }
    }
    let written: Vec<AttemptOutcome<'_>> = recorded.iter().map(Recorded::outcome).collect();
    state.store.finish_attempts(&written).await?;
    Ok(outcomes)
}

async fn finish_attempt(
    state: &AppState,
    gateway: &dyn PaymentGateway,
    started: StartedAttempt,
    now: DateTime<Utc>,
) -> Result<ChargeOutcome> {
    let bill = &started.bill;
    let refund = bill.kind == BillKind::Refund.as_str();
    let call = match refund {
        true => {
            let reference = refunded_charge(state, bill).await?;
            let amount = Money::from_cents(-bill.total_cents);
            gateway
                .refund(&reference, amount, &started.idempotency_key(), now)
                .await
        }
        false => {
            let amount = Money::from_cents(bill.total_cents);
            gateway
                .charge(&started.gateway_token, amount, &started.idempotency_key(), now)
                .await
        }
    };
    let result = answered(bill, call)?;
    let customer = state
        .store
        .account(&bill.customer_id)
        .await?
        .ok_or(Error::NotFound("customer"))?;
    let lines = state.store.bill_lines(&bill.id).await?;
    let recorded = Recorded::new(
        state,
        &started,
        &customer,
        &lines,
        result,
        now,
        &mut Catalogue::default(),
    )
    .await?;
    state.store.finish_attempt(recorded.outcome()).await?;
    Ok(recorded.charge_outcome())
}

/// The gateway's reference of the charge a refund bill pays back.
async fn refunded_charge(state: &AppState, bill: &Bill) -> Result<String> {
    let refunded = bill
        .refund_of
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("refund bill {} names no refunded bill", bill.id))?;
    state
        .store
        .charge_reference(refunded)
        .await?
        .ok_or(Error::NotFound("the refunded charge"))
}

/// The gateway's answer as an attempt's result: a refused card is a declined charge; an unavailable gateway leaves
/// whether money moved unknown, so the attempt stays open and is resumed with the same key.
fn answered(bill: &Bill, answer: std::result::Result<ChargeResult, GatewayError>) -> Result<ChargeResult> {
    match answer {
        Ok(result) => Ok(result),
        Err(GatewayError::CardRefused(reason)) => Ok(ChargeResult {
            succeeded: false,
            reference: String::new(),
            message: Some(reason),
        }),
        Err(GatewayError::Unavailable(reason)) => {
            tracing::warn!(bill = %bill.id, %reason, "payment gateway unavailable; the attempt will be resumed");
            Err(Error::GatewayUnavailable)
        }
    }
}

/// An attempt's outcome with everything that follows from it, ready to be recorded.
struct Recorded {
    bill_id: String,
    attempt: i64,
    at: i64,
    result: ChargeResult,
    ledger: Option<LedgerTransaction>,
    activate_subscription: Option<String>,
    emails: Vec<Email>,
}

impl Recorded {
    async fn new(
        state: &AppState,
        started: &StartedAttempt,
        customer: &Account,
        lines: &[BillLineView],
        result: ChargeResult,
        now: DateTime<Utc>,
        catalogue: &mut Catalogue,
    ) -> Result<Self> {
        let bill = &started.bill;
        let (ledger, emails) = match bill.kind == BillKind::Refund.as_str() {
            // The cancellation's e-mail told the customer about the refund already.
            true => (result.succeeded.then(|| repayment(bill, lines, now)), Vec::new()),
            false => (
                result.succeeded.then(|| collection(state, bill, lines, now)),
                consequences_by_mail(state, started, lines, customer, result.succeeded, now, catalogue).await?,
            ),
        };
        let signup = bill.kind == BillKind::Signup.as_str();
        Ok(Recorded {
            bill_id: bill.id.clone(),
            attempt: started.attempt,
            at: millis(now),
            activate_subscription: bill.subscription_id.clone().filter(|_| signup && result.succeeded),
            result,
            ledger,
            emails,
        })
    }

    fn outcome(&self) -> AttemptOutcome<'_> {
        AttemptOutcome {
            bill_id: &self.bill_id,
            attempt: self.attempt,
            at: self.at,
            succeeded: self.result.succeeded,
            gateway_reference: Some(&self.result.reference)
                .filter(|r| !r.is_empty())
                .map(String::as_str),
            message: self.result.message.as_deref(),
            ledger: self.ledger.as_ref(),
            activate_subscription: self.activate_subscription.as_deref(),
            emails: &self.emails,
        }
    }

    fn charge_outcome(&self) -> ChargeOutcome {
        if self.result.succeeded {
            ChargeOutcome::Paid
        } else {
            ChargeOutcome::Declined
        }
    }
}

/// The products that bills name, with their sellers, each read once for all the bills and e-mails of a run.
#[derive(Default)]
pub struct Catalogue {
    by_code: HashMap<String, Arc<(Product, Seller)>>,
}

impl Catalogue {
    async fn get(&mut self, state: &AppState, code: &str) -> Result<Arc<(Product, Seller)>> {
        if let Some(found) = self.by_code.get(code) {
            return Ok(found.clone());
        }
        let found = Arc::new(products::with_seller(state, code).await?);
        self.by_code.insert(code.to_owned(), found.clone());
        Ok(found)
    }
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
    catalogue: &mut Catalogue,
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
        emails.push(purchase::signup_email(state, &offer, customer, &subscription, charged, !succeeded).await?);
    }
    if succeeded && bill.kind == BillKind::Monthly.as_str() {
        emails.push(monthly_bill_email(state, bill, lines, customer, now, catalogue).await?);
    }
    if !succeeded {
        let mut products: Vec<String> = Vec::new();
        for line in lines {
            let named = catalogue.get(state, &line.product_code).await?;
            if !products.contains(&named.0.name) {
                products.push(named.0.name.clone());
            }
        }
        let facts = AlertFacts {
            customer_name: customer.name.clone(),
            amount: Money::from_cents(bill.total_cents),
            products,
            period: period_name(&bill.period),
            next_retry: dunning::next_retry(bill, now).map(long_date),
            unpaid_signup_canceled_on: (bill.kind == BillKind::Signup.as_str())
                .then(|| long_date(Month::of(now).next().start())),
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
    catalogue: &mut Catalogue,
) -> Result<Email> {
    let mut products: Vec<(String, BilledProduct)> = Vec::new();
    for line in lines {
        let amount = Money::from_cents(line.amount_cents);
        if let Some((_, billed)) = products.iter_mut().find(|(code, _)| *code == line.product_code) {
            billed.amount += amount;
            continue;
        }
        let named = catalogue.get(state, &line.product_code).await?;
        let (product, seller) = &*named;
        let billed = BilledProduct {
            name: product.name.clone(),
            company_name: seller.company_name.clone(),
            support_contact: product
                .support_contact
                .clone()
                .unwrap_or_else(|| seller.public_contact.clone()),
            amount,
        };
        products.push((line.product_code.clone(), billed));
    }
    let facts = BillFacts {
        customer_name: customer.name.clone(),
        charged_on: long_date(now),
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
