//! Cancellation (reference 4.4, docs/rules.md R23): access ends at that instant; the unused part of the month's fee
//! goes back to the customer, refunded through the gateway when it was collected, taken off the unpaid bill
//! carrying it when it was not; one-time fees never; the customer is told by e-mail.

use chrono::{DateTime, Utc};
use tollgate_domain::Money;
use tollgate_domain::billing::{BillKind, BillStatus, LineKind};
use tollgate_domain::calendar::{Month, long_date};
use tollgate_domain::proration::unused_after_today;
use tollgate_domain::subscription::{CancelReason, SubscriptionState};
use tollgate_store::accounts::Account;
use tollgate_store::bills::{Bill, BillLine, NewBill};
use tollgate_store::outbox::Email;
use tollgate_store::products::Product;
use tollgate_store::subscriptions::{Cancellation, FeeSettlement, Subscription};
use tollgate_store::{StoreError, millis, new_id};

use crate::error::{Error, Result};
use crate::mail::compose::{self, CancellationFacts, Moment};
use crate::services::payments;
use crate::services::products::{self, ProductView};
use crate::state::AppState;

/// A refund bill's event key: one cancellation per subscription (R20).
const CANCELLATION_EVENT: &str = "cancellation";

/// What a cancellation did with the month's fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Nothing,
    Refunded(Money),
    Reduced(Money),
}

/// The customer cancels their pending or active subscription to a product.
pub async fn cancel_by_customer(state: &AppState, customer: &Account, product_code: &str) -> Result<Settled> {
    let product = products::by_code(state, product_code).await?;
    let subscription = state
        .store
        .open_subscription(&customer.id, &product.id)
        .await?
        .ok_or(Error::NotFound("subscription"))?;
    let now = state.now().await?;
    cancel(state, customer, &product, &subscription, CancelReason::Customer, now).await
}

/// Cancels a subscription for any reason at `now` (the request's instant, or the due instant of scheduled work), in
/// one transaction with its settlement and e-mail. A refund is then paid through the gateway; if the gateway cannot
/// be reached the refund's attempt stays open and the scheduler finishes it with the same idempotency key.
pub async fn cancel(
    state: &AppState,
    customer: &Account,
    product: &Product,
    subscription: &Subscription,
    reason: CancelReason,
    now: DateTime<Utc>,
) -> Result<Settled> {
    cancel_giving_back(state, customer, product, subscription, reason, now, None).await
}

/// Cancels an active subscription whose customer did not accept an active price change, at its effective instant
/// (R27): the old fee's `unused` part, the effective day included, goes back as any cancellation's does.
pub async fn cancel_unaccepted(
    state: &AppState,
    customer: &Account,
    product: &Product,
    subscription: &Subscription,
    now: DateTime<Utc>,
    unused: Money,
) -> Result<Settled> {
    let reason = CancelReason::UnacceptedPriceChange;
    cancel_giving_back(state, customer, product, subscription, reason, now, Some(unused)).await
}

/// Cancels, giving back `unused` of the month's fee, or by default its part after today at the fee in force (R23).
async fn cancel_giving_back(
    state: &AppState,
    customer: &Account,
    product: &Product,
    subscription: &Subscription,
    reason: CancelReason,
    now: DateTime<Utc>,
    unused: Option<Money>,
) -> Result<Settled> {
    let mut given = GiveBack::Nothing;
    let mut void = None;
    if subscription.state == SubscriptionState::Pending.as_str() {
        // R10: nothing was collected; the sign-up bill is closed uncollected.
        void = state
            .store
            .signup_bill(&subscription.id)
            .await?
            .filter(|b| BillStatus::parse(&b.status).is_some_and(BillStatus::is_collectible))
            .map(|b| b.id);
    } else if let Some(fee_bill) = state
        .store
        .fee_bill(&subscription.id, &Month::of(now).to_string())
        .await?
    {
        let unused = match unused {
            Some(unused) => unused,
            None => {
                let price = ProductView::load_at(state, product.clone(), now).await?.price;
                unused_after_today(price.pricing.monthly_fee, now)
            }
        };
        let event = CANCELLATION_EVENT.to_owned();
        let description = unused_description(product, now);
        given = give_back(&fee_bill, subscription, unused, now, event, description);
    }
    let settled = match &given {
        GiveBack::Refund(bill) => Settled::Refunded(Money::from_cents(-bill.bill.total_cents)),
        GiveBack::Reduce(line) => Settled::Reduced(Money::from_cents(-line.amount_cents)),
        GiveBack::Nothing => Settled::Nothing,
    };
    let email = cancellation_email(state, customer, product, subscription, reason, settled, now).await?;
    let settlement = match (&given, void.as_deref()) {
        (GiveBack::Nothing, Some(bill_id)) => FeeSettlement::VoidSignup { bill_id },
        _ => given.settlement(),
    };
    let started = state
        .store
        .cancel_subscription(Cancellation {
            subscription_id: &subscription.id,
            reason: reason.as_str(),
            at: millis(now),
            settlement,
            emails: std::slice::from_ref(&email),
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict => Error::Busy("the subscription changed while it was being canceled"),
            other => other.into(),
        })?;
    if let Some(started) = started
        && let Err(error) = payments::make_attempt(state, started, now).await
    {
        tracing::warn!(%error, subscription = %subscription.id, "refund not paid yet; it will be resumed");
    }
    Ok(settled)
}

/// How part of a month's fee goes back to the customer (R23, R26).
pub(crate) enum GiveBack {
    /// Nothing to give back, or nothing collected or owed on a void bill.
    Nothing,
    /// The fee was collected: a refund bill pays it back through the gateway.
    Refund(NewBill),
    /// The bill carrying the fee is unpaid: a negative line reduces it.
    Reduce(BillLine),
}

impl GiveBack {
    pub(crate) fn settlement(&self) -> FeeSettlement<'_> {
        match self {
            GiveBack::Nothing => FeeSettlement::Nothing,
            GiveBack::Refund(bill) => FeeSettlement::Refund(bill),
            GiveBack::Reduce(line) => FeeSettlement::Reduce(line),
        }
    }
}

/// Gives back `amount` of the fee `fee_bill` carries: refunded when it was collected, taken off it while it is
/// unpaid, not at all from a void bill. A refund bill is once per subscription and `event` (R20).
pub(crate) fn give_back(
    fee_bill: &Bill,
    subscription: &Subscription,
    amount: Money,
    now: DateTime<Utc>,
    event: String,
    description: String,
) -> GiveBack {
    match BillStatus::parse(&fee_bill.status) {
        _ if amount.is_zero() => GiveBack::Nothing,
        Some(BillStatus::Paid) => GiveBack::Refund(refund(fee_bill, subscription, amount, now, event, description)),
        Some(BillStatus::Pending | BillStatus::Failed) => {
            GiveBack::Reduce(reducing_line(fee_bill, subscription, amount, description))
        }
        Some(BillStatus::Void) | None => GiveBack::Nothing,
    }
}

/// A refund bill giving back `amount` of the fee collected on `fee_bill` (R6: negative).
fn refund(
    fee_bill: &Bill,
    subscription: &Subscription,
    amount: Money,
    now: DateTime<Utc>,
    event: String,
    description: String,
) -> NewBill {
    let id = new_id();
    NewBill {
        lines: vec![BillLine {
            bill_id: id.clone(),
            position: 0,
            product_id: subscription.product_id.clone(),
            subscription_id: subscription.id.clone(),
            kind: LineKind::Refund.as_str().into(),
            dimension: None,
            quantity: None,
            amount_cents: -amount.cents(),
            description,
            usage_month: None,
        }],
        bill: Bill {
            id,
            customer_id: subscription.customer_id.clone(),
            kind: BillKind::Refund.as_str().into(),
            period: Month::of(now).to_string(),
            subscription_id: Some(subscription.id.clone()),
            event_key: Some(event),
            issued_at: millis(now),
            total_cents: -amount.cents(),
            status: BillStatus::Pending.as_str().into(),
            attempts: 0,
            open_attempt: None,
            paid_at: None,
            refund_of: Some(fee_bill.id.clone()),
        },
    }
}

/// The negative `monthly_fee` line that takes `amount` off the unpaid bill carrying the fee (R23).
fn reducing_line(fee_bill: &Bill, subscription: &Subscription, amount: Money, description: String) -> BillLine {
    BillLine {
        bill_id: fee_bill.id.clone(),
        position: 0,
        product_id: subscription.product_id.clone(),
        subscription_id: subscription.id.clone(),
        kind: LineKind::MonthlyFee.as_str().into(),
        dimension: None,
        quantity: None,
        amount_cents: -amount.cents(),
        description,
        usage_month: None,
    }
}

fn unused_description(product: &Product, now: DateTime<Utc>) -> String {
    format!(
        "{}: unused part of the {} monthly fee after cancellation on {}",
        product.name,
        Month::of(now).long_name(),
        long_date(now)
    )
}

async fn cancellation_email(
    state: &AppState,
    customer: &Account,
    product: &Product,
    subscription: &Subscription,
    reason: CancelReason,
    settled: Settled,
    now: DateTime<Utc>,
) -> Result<Email> {
    let seller = state
        .store
        .seller(&product.seller_id)
        .await?
        .ok_or(Error::NotFound("seller"))?;
    let facts = CancellationFacts {
        customer_name: customer.name.clone(),
        product_name: product.name.clone(),
        company_name: seller.company_name.clone(),
        support_contact: product
            .support_contact
            .clone()
            .unwrap_or_else(|| seller.public_contact.clone()),
        canceled_at: now.format("%B %-d, %Y at %H:%M UTC").to_string(),
        reason: match reason {
            CancelReason::Customer => "You canceled it.",
            CancelReason::Nonpayment => "We could not collect payment for it after three retries.",
            CancelReason::UnpaidSignup => "The payment for the sign-up never succeeded.",
            CancelReason::UnacceptedPriceChange => "You did not accept its new price before it took effect.",
            CancelReason::Operator => "It was canceled by the operator.",
        }
        .into(),
        refund: match settled {
            Settled::Refunded(amount) => Some(amount),
            _ => None,
        },
        reduction: match settled {
            Settled::Reduced(amount) => Some(amount),
            _ => None,
        },
        usage_billed_on: long_date(Month::of(now).next().start()),
        purchase_url: state.settings.url(&format!("/purchase/{}", product.offering_code)),
        billing_url: state.settings.url("/billing"),
        operator_name: state.settings.operator_name.clone(),
    };
    let moment = Moment {
        business: now,
        infra: state.infra_clock.now(),
    };
    Ok(compose::cancellation(
        &subscription.id,
        &customer.email,
        &facts,
        moment,
    )?)
}
