//! The purchase pipeline (reference 4.1): the offer a purchase page shows, and placing the order.

use chrono::{DateTime, Utc};
use tollgate_domain::Money;
use tollgate_domain::billing::{BillKind, BillStatus, LineKind};
use tollgate_domain::calendar::{Month, long_date};
use tollgate_domain::codes::is_product_code;
use tollgate_domain::proration::SignupCharge;
use tollgate_domain::subscription::SubscriptionState;
use tollgate_store::accounts::Account;
use tollgate_store::bills::{Bill, BillLine, NewBill};
use tollgate_store::payments::PaymentMethod;
use tollgate_store::products::Product;
use tollgate_store::sellers::Seller;
use tollgate_store::subscriptions::{NewOrder, Subscription};
use tollgate_store::{StoreError, millis, new_id};

use crate::error::{Error, Result};
use crate::mail::compose::{self, Moment, PriceChangeMention, SignupFacts};
use crate::services::activation::{self, IssuedActivationKey};
use crate::services::payments::{self, ChargeOutcome};
use crate::services::price_changes::{self, Mode, Pending};
use crate::services::price_table::pricing_table;
use crate::services::products::ProductView;
use crate::state::AppState;

/// What the purchase page shows at one instant.
pub struct Offer {
    pub product: ProductView,
    pub seller: Seller,
    pub charge: SignupCharge,
    pub at: DateTime<Utc>,
    /// A price change pending then: shown, and accepted by ordering when it is active (R27).
    pub price_change: Option<Pending>,
}

impl Offer {
    /// The pending change's id as the order form carries it ("" for none), so that an order placed on a page that
    /// did not show a change never accepts one.
    pub fn price_change_id(&self) -> &str {
        self.price_change.as_ref().map_or("", |p| p.change.id.as_str())
    }
}

impl Offer {
    /// R9: a card is needed unless nothing about the product costs money.
    pub fn requires_payment_method(&self) -> bool {
        self.product.price.requires_payment_method()
    }
}

pub async fn offer(state: &AppState, offering_code: &str) -> Result<Offer> {
    let product = match is_product_code(offering_code) {
        true => state.store.product_by_offering(offering_code).await?,
        false => None,
    };
    let product = product.ok_or(Error::NotFound("product"))?;
    let at = state.now().await?;
    offer_at(state, product, at).await
}

/// The offer of a product at an instant: its price then, its seller, and what signing up then costs.
async fn offer_at(state: &AppState, product: Product, at: DateTime<Utc>) -> Result<Offer> {
    let seller = state
        .store
        .seller(&product.seller_id)
        .await?
        .ok_or(Error::NotFound("seller"))?;
    let product = ProductView::load_at(state, product, at).await?;
    let pricing = &product.price.pricing;
    let charge = SignupCharge::at(pricing.signup_fee, pricing.monthly_fee, at);
    let price_change = price_changes::pending(state, &product.product).await?;
    Ok(Offer {
        product,
        seller,
        charge,
        at,
        price_change,
    })
}

pub enum PaymentStatus {
    NothingDue,
    Paid,
    Declined,
}

pub struct Confirmation {
    pub key: IssuedActivationKey,
    pub payment: PaymentStatus,
}

pub enum OrderResult {
    Placed(Confirmation),
    /// R8: the amount due changed since the page was shown; nothing was charged.
    AmountChanged(Box<Offer>),
    /// A price change was scheduled or withdrawn since the page was shown (R27); nothing was charged.
    PriceChangeChanged(Box<Offer>),
    NeedsPaymentMethod,
    /// R11: the customer has a pending or active subscription to this product already.
    AlreadySubscribed,
}

/// What the customer saw when they ordered: the amount due (R8) and the pending price change, if any (R27).
pub struct Shown<'a> {
    pub amount_due: &'a str,
    pub price_change: &'a str,
}

/// Places an order as the customer saw it: signs the customer up, makes the activation key, and charges the sign-up
/// bill at once (R10 when it is declined). Ordering accepts a pending active price change (R27).
pub async fn place_order(
    state: &AppState,
    customer: &Account,
    offering_code: &str,
    shown: Shown<'_>,
) -> Result<OrderResult> {
    let offer = offer(state, offering_code).await?;
    let total = offer.charge.total();
    if Money::parse_price(shown.amount_due.trim()).ok() != Some(total) {
        return Ok(OrderResult::AmountChanged(Box::new(offer)));
    }
    if shown.price_change != offer.price_change_id() {
        return Ok(OrderResult::PriceChangeChanged(Box::new(offer)));
    }
    if !total.is_zero() && state.gateway.is_none() {
        return Err(Error::GatewayUnavailable);
    }
    let card = state.store.payment_method(&customer.id).await?;
    if offer.requires_payment_method() && card.is_none() {
        return Ok(OrderResult::NeedsPaymentMethod);
    }
    if state
        .store
        .open_subscription(&customer.id, &offer.product.product.id)
        .await?
        .is_some()
    {
        return Ok(OrderResult::AlreadySubscribed);
    }

    let at = offer.at;
    let product = &offer.product.product;
    let subscription = Subscription {
        id: new_id(),
        customer_id: customer.id.clone(),
        product_id: product.id.clone(),
        // R9: nothing to pay means active at once; otherwise pending until the sign-up charge succeeds (R7).
        state: if total.is_zero() {
            SubscriptionState::Active
        } else {
            SubscriptionState::Pending
        }
        .as_str()
        .into(),
        cancel_reason: None,
        created_at: millis(at),
        activated_at: total.is_zero().then_some(millis(at)),
        canceled_at: None,
    };
    let (key, key_row) = activation::issue(&customer.id, product, at);
    let bill = (!total.is_zero()).then(|| signup_bill(&offer, customer, &subscription));
    let month = Month::of(at).to_string();
    let fee_months = if offer.charge.prorated_monthly_fee.is_zero() {
        vec![]
    } else {
        vec![month]
    };
    let emails = match bill {
        Some(_) => vec![],
        None => vec![signup_email(state, &offer, customer, &subscription, None, false).await?],
    };
    let order = NewOrder {
        subscription: &subscription,
        activation_key: &key_row,
        bill: bill.as_ref(),
        fee_months: &fee_months,
        emails: &emails,
        accepts_price_change: offer
            .price_change
            .as_ref()
            .filter(|p| p.mode == Mode::Active)
            .map(|p| p.change.id.as_str()),
    };
    let attempt = match state.store.place_order(order).await {
        Ok(attempt) => attempt,
        Err(StoreError::Conflict) => return Ok(OrderResult::AlreadySubscribed),
        Err(e) => return Err(e.into()),
    };
    let payment = match (bill, attempt) {
        (None, _) => PaymentStatus::NothingDue,
        (Some(_), None) => PaymentStatus::Declined,
        // The order stands whatever the charge does: the key is shown either way (R10). A gateway that cannot be
        // reached leaves the attempt open, to be finished with the same idempotency key by the scheduler.
        (Some(_), Some(started)) => match payments::make_attempt(state, started, at).await {
            Ok(ChargeOutcome::Paid) => PaymentStatus::Paid,
            Ok(ChargeOutcome::Declined | ChargeOutcome::NotCharged) | Err(Error::GatewayUnavailable) => {
                PaymentStatus::Declined
            }
            Err(other) => return Err(other),
        },
    };
    Ok(OrderResult::Placed(Confirmation { key, payment }))
}

/// The sign-up bill (R8): the one-time fee and the prorated monthly fee, each its own line, rounded on its own (R5).
fn signup_bill(offer: &Offer, customer: &Account, subscription: &Subscription) -> NewBill {
    let bill_id = new_id();
    let product = &offer.product.product;
    let month = Month::of(offer.at);
    let candidates = [
        (
            LineKind::SignupFee,
            offer.charge.signup_fee,
            format!("{} one-time fee", product.name),
        ),
        (
            LineKind::MonthlyFee,
            offer.charge.prorated_monthly_fee,
            format!(
                "{} monthly fee, {} (prorated from day {})",
                product.name,
                month.long_name(),
                offer.at.format("%-d")
            ),
        ),
    ];
    let lines: Vec<BillLine> = candidates
        .into_iter()
        .filter(|(_, amount, _)| !amount.is_zero())
        .enumerate()
        .map(|(position, (kind, amount, description))| BillLine {
            bill_id: bill_id.clone(),
            position: position as i64,
            product_id: product.id.clone(),
            subscription_id: subscription.id.clone(),
            kind: kind.as_str().into(),
            dimension: None,
            quantity: None,
            amount_cents: amount.cents(),
            description,
            usage_month: None,
        })
        .collect();
    NewBill {
        bill: Bill {
            id: bill_id,
            customer_id: customer.id.clone(),
            kind: BillKind::Signup.as_str().into(),
            period: month.to_string(),
            subscription_id: Some(subscription.id.clone()),
            event_key: None,
            issued_at: millis(offer.at),
            total_cents: offer.charge.total().cents(),
            status: BillStatus::Pending.as_str().into(),
            attempts: 0,
            open_attempt: None,
            paid_at: None,
            refund_of: None,
        },
        lines,
    }
}

/// The "Your {product} Purchase" e-mail (CONTRACT section 11): with the charge when there was one (R9).
pub async fn signup_email(
    state: &AppState,
    offer: &Offer,
    customer: &Account,
    subscription: &Subscription,
    charged: Option<(DateTime<Utc>, Money)>,
    payment_pending: bool,
) -> Result<tollgate_store::outbox::Email> {
    let product = &offer.product.product;
    let facts = SignupFacts {
        customer_name: customer.name.clone(),
        product_name: product.name.clone(),
        company_name: offer.seller.company_name.clone(),
        support_contact: product
            .support_contact
            .clone()
            .unwrap_or_else(|| offer.seller.public_contact.clone()),
        charged: charged.map(|(at, amount)| (long_date(at), amount)),
        payment_pending,
        monthly_fee: offer.product.price.pricing.monthly_fee,
        price_change: match &offer.price_change {
            Some(pending) => Some(PriceChangeMention {
                effective_on: pending.effective_on(),
                accepted: pending.mode == Mode::Active,
                new_prices: pricing_table(state, &pending.schedule).await?,
            }),
            None => None,
        },
        activate_url: state.settings.url("/activate"),
        billing_url: state.settings.url(&format!("/billing?productCode={}", product.code)),
        operator_name: state.settings.operator_name.clone(),
    };
    let moment = Moment {
        business: offer.at,
        infra: state.infra_clock.now(),
    };
    Ok(compose::signup(&subscription.id, &customer.email, &facts, moment)?)
}

/// The offer as it stood for a subscription's sign-up, for e-mails composed after the charge.
pub async fn offer_for_subscription(state: &AppState, subscription: &Subscription) -> Result<Offer> {
    let product = state
        .store
        .product(&subscription.product_id)
        .await?
        .ok_or(Error::NotFound("product"))?;
    offer_at(state, product, tollgate_store::instant(subscription.created_at)).await
}

/// The card on file as pages show it.
pub fn describe_card(card: &PaymentMethod) -> String {
    format!(
        "{} ending in {} (expires {:02}/{})",
        card.brand, card.last4, card.exp_month, card.exp_year
    )
}
