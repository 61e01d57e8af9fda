//! Price changes (docs/rules.md R25-R27, CONTRACT section 10): a seller schedules one per product, passive or
//! active, effective at 00:00 of a future day, and may withdraw it while it is pending; customers are told at each
//! step; at the effective instant every subscription moves to the new price at once.
//!
//! The new price is stored as a price version from the effective instant when the change is scheduled, so rating
//! and proration at any instant read the right price without knowing about changes. What happens at the instant
//! (cancellations of customers who did not accept, each subscription's fee difference, the confirmations) is once
//! per subscription by unique keys, so a repeated midnight repeats nothing.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Timelike, Utc};
use serde_json::{Value, json};
use tollgate_domain::Money;
use tollgate_domain::calendar::{Month, format_instant, long_date, parse_instant};
use tollgate_domain::json::Object;
use tollgate_domain::pricing::PriceSchedule;
use tollgate_domain::proration::remaining_including_today;
use tollgate_domain::subscription::SubscriptionState;
use tollgate_domain::validation::optional_text;
use tollgate_store::accounts::Account;
use tollgate_store::bills::{Bill, BillLineView};
use tollgate_store::outbox::Email;
use tollgate_store::price_changes::{Effect, FeeDifference, PriceChange};
use tollgate_store::products::{PriceVersion, Product};
use tollgate_store::sellers::Seller;
use tollgate_store::subscriptions::Subscription;
use tollgate_store::{StoreError, instant, millis, new_id};

use crate::error::{Error, Result};
use crate::mail::compose::{self, Moment, PriceChangeFacts, PriceChangeNotice};
use crate::services::cancellation::{self, GiveBack};
use crate::services::payments;
use crate::services::price_table::pricing_table;
use crate::services::products::{self, kind_of, schedule_of};
use crate::state::AppState;

/// R25: a passive change is announced at least this long before it takes effect.
const PASSIVE_NOTICE: Duration = Duration::days(14);

/// How a change reaches customers (R25, R27).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Customers are told and need do nothing.
    Passive,
    /// Customers must accept before the effective instant, or are canceled then.
    Active,
}

impl Mode {
    fn parse(text: &str) -> Option<Mode> {
        match text {
            "passive" => Some(Mode::Passive),
            "active" => Some(Mode::Active),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Passive => "passive",
            Mode::Active => "active",
        }
    }
}

/// A pending change as the API, the console and the customer's pages show it.
pub struct Pending {
    pub change: PriceChange,
    pub mode: Mode,
    pub schedule: PriceSchedule,
    /// How many customers accepted it so far.
    pub accepted: i64,
}

impl Pending {
    pub fn effective_at(&self) -> DateTime<Utc> {
        instant(self.change.effective_at)
    }

    pub fn effective_on(&self) -> String {
        long_date(self.effective_at())
    }

    pub fn to_json(&self) -> Value {
        json!({
            "effective_at": format_instant(self.effective_at()),
            "authorization": self.mode.as_str(),
            "pricing": self.schedule.pricing.to_json(),
            "configurations": self.schedule.configurations_json(),
            "message": self.change.message,
            "accepted_count": self.accepted,
        })
    }
}

fn schedule_of_change(product: &Product, change: &PriceChange) -> Result<PriceSchedule> {
    let version = PriceVersion {
        id: change.id.clone(),
        product_id: change.product_id.clone(),
        effective_at: change.effective_at,
        pricing: change.pricing.clone(),
        configurations: change.configurations.clone(),
    };
    schedule_of(kind_of(product)?, &version)
}

/// The product's pending change with how many accepted it, if it has one.
pub async fn pending(state: &AppState, product: &Product) -> Result<Option<Pending>> {
    let Some(change) = state.store.pending_price_change(&product.id).await? else {
        return Ok(None);
    };
    let mode = Mode::parse(&change.mode).ok_or_else(|| anyhow::anyhow!("price change mode {}", change.mode))?;
    let schedule = schedule_of_change(product, &change)?;
    let accepted = state.store.accepted_count(&change.id).await?;
    Ok(Some(Pending {
        change,
        mode,
        schedule,
        accepted,
    }))
}

/// Schedules a change of one of the seller's products from the body of CONTRACT section 10, checked in R25's order,
/// and tells every subscriber. Nothing is written and nobody is told when it is refused.
pub async fn schedule(state: &AppState, seller: &Seller, code: &str, body: &Value) -> Result<Pending> {
    let product = products::owned(state, seller, code).await?;
    let kind = kind_of(&product)?;
    let platform = products::platform_dimensions(state).await?;
    let mut obj = Object::new("", body)?;
    let effective_text = obj.required_str("effective_at")?;
    let effective_at = parse_instant(effective_text).ok_or_else(|| {
        Error::field(
            "effective_at",
            "must be an RFC 3339 instant such as 2027-07-01T00:00:00Z",
        )
    })?;
    let mode = Mode::parse(obj.required_str("authorization")?)
        .ok_or_else(|| Error::field("authorization", "must be passive or active"))?;
    let pricing = obj.required("pricing")?;
    let configurations = obj.optional_array("configurations")?;
    let schedule = PriceSchedule::parse(kind, pricing, configurations, &|name| platform.contains(name))?;
    let message = obj
        .optional_str("message")?
        .map(|m| optional_text("message", m, 2000))
        .transpose()?
        .flatten();
    obj.finish()?;

    let now = state.now().await?;
    if effective_at <= now
        || effective_at.num_seconds_from_midnight() != 0
        || effective_at.timestamp_subsec_nanos() != 0
    {
        return Err(Error::InvalidEffectiveAt);
    }
    if state.store.pending_price_change(&product.id).await?.is_some() {
        return Err(Error::PendingPriceChangeExists);
    }
    if mode == Mode::Passive && effective_at - now < PASSIVE_NOTICE {
        return Err(Error::NoticeTooShort);
    }
    let change = PriceChange {
        id: new_id(),
        product_id: product.id.clone(),
        effective_at: millis(effective_at),
        mode: mode.as_str().into(),
        pricing: schedule.pricing.to_json().to_string(),
        configurations: schedule.configurations_json().to_string(),
        message,
        state: "pending".into(),
        created_at: millis(now),
        closed_at: None,
    };
    let pending = Pending {
        change,
        mode,
        schedule,
        accepted: 0,
    };
    let emails = notices(state, &product, &pending, PriceChangeNotice::Scheduled, now).await?;
    match state.store.schedule_price_change(&pending.change, &emails).await {
        Err(StoreError::Conflict) => Err(Error::PendingPriceChangeExists),
        other => Ok(other?),
    }?;
    Ok(pending)
}

/// Withdraws the product's pending change and tells every subscriber it will not happen.
pub async fn withdraw(state: &AppState, seller: &Seller, code: &str) -> Result<()> {
    let product = products::owned(state, seller, code).await?;
    let now = state.now().await?;
    // A change whose instant has come is taking effect: too late to withdraw.
    let pending = pending(state, &product)
        .await?
        .filter(|p| p.effective_at() > now)
        .ok_or(Error::NoPendingPriceChange)?;
    let emails = notices(state, &product, &pending, PriceChangeNotice::Withdrawn, now).await?;
    match state
        .store
        .withdraw_price_change(&pending.change.id, millis(now), &emails)
        .await
    {
        Err(StoreError::NotFound) => Err(Error::NoPendingPriceChange),
        other => Ok(other?),
    }
}

/// The customer accepts the pending active change of a product they subscribe to (R27).
pub async fn accept(state: &AppState, customer: &Account, code: &str) -> Result<Pending> {
    let product = products::by_code(state, code).await?;
    state
        .store
        .open_subscription(&customer.id, &product.id)
        .await?
        .ok_or(Error::NotFound("subscription"))?;
    let now = state.now().await?;
    // Accepting is possible until the instant, not while the change is taking effect.
    let pending = pending(state, &product)
        .await?
        .filter(|p| p.mode == Mode::Active && p.effective_at() > now)
        .ok_or(Error::NoPendingPriceChange)?;
    state
        .store
        .accept_price_change(&pending.change.id, &customer.id, millis(now))
        .await?;
    Ok(pending)
}

/// The e-mails of one moment of a change, one per open subscription of the product.
async fn notices(
    state: &AppState,
    product: &Product,
    pending: &Pending,
    notice: PriceChangeNotice,
    now: DateTime<Utc>,
) -> Result<Vec<Email>> {
    let subscriptions = state.store.open_subscriptions_to_product(&product.id).await?;
    let customers = customers_of(state, &subscriptions).await?;
    let told = Told::new(state, product, pending).await?;
    subscriptions
        .iter()
        .zip(&customers)
        .map(|(subscription, customer)| {
            // Nobody has accepted a change being scheduled, and the withdrawal notice does not ask.
            let facts = told.facts(customer, false, Difference::None);
            told.email(notice, subscription, customer, &facts, now)
        })
        .collect()
}

async fn customers_of(state: &AppState, subscriptions: &[Subscription]) -> Result<Vec<Account>> {
    let ids: Vec<&str> = subscriptions.iter().map(|s| s.customer_id.as_str()).collect();
    let accounts = state.store.accounts(&ids).await?;
    subscriptions
        .iter()
        .map(|s| {
            accounts
                .iter()
                .find(|a| a.id == s.customer_id)
                .cloned()
                .ok_or(Error::NotFound("customer"))
        })
        .collect()
}

/// What a change did to one subscription's fee for the rest of its month (R26).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Difference {
    None,
    Refunded(Money),
    Reduced(Money),
    Owed(Money),
}

/// What every e-mail of one change shares.
struct Told<'a> {
    state: &'a AppState,
    product: &'a Product,
    pending: &'a Pending,
    company_name: String,
    support_contact: String,
    new_prices: Vec<(String, String)>,
}

impl<'a> Told<'a> {
    async fn new(state: &'a AppState, product: &'a Product, pending: &'a Pending) -> Result<Told<'a>> {
        let seller = state
            .store
            .seller(&product.seller_id)
            .await?
            .ok_or(Error::NotFound("seller"))?;
        Ok(Told {
            state,
            product,
            pending,
            support_contact: product
                .support_contact
                .clone()
                .unwrap_or_else(|| seller.public_contact.clone()),
            company_name: seller.company_name,
            new_prices: pricing_table(state, &pending.schedule).await?,
        })
    }

    fn facts(&self, customer: &Account, accepted: bool, difference: Difference) -> PriceChangeFacts {
        let effective_at = self.pending.effective_at();
        PriceChangeFacts {
            customer_name: customer.name.clone(),
            product_name: self.product.name.clone(),
            company_name: self.company_name.clone(),
            support_contact: self.support_contact.clone(),
            effective_on: self.pending.effective_on(),
            active: self.pending.mode == Mode::Active,
            accepted,
            new_prices: self.new_prices.clone(),
            message: self.pending.change.message.clone(),
            refund: match difference {
                Difference::Refunded(amount) => Some(amount),
                _ => None,
            },
            reduction: match difference {
                Difference::Reduced(amount) => Some(amount),
                _ => None,
            },
            owed: match difference {
                Difference::Owed(amount) => Some(amount),
                _ => None,
            },
            next_bill_on: long_date(Month::of(effective_at).next().start()),
            product_billing_url: self
                .state
                .settings
                .url(&format!("/billing/subscriptions/{}", self.product.code)),
            operator_name: self.state.settings.operator_name.clone(),
        }
    }

    fn email(
        &self,
        notice: PriceChangeNotice,
        subscription: &Subscription,
        customer: &Account,
        facts: &PriceChangeFacts,
        now: DateTime<Utc>,
    ) -> Result<Email> {
        let moment = Moment {
            business: now,
            infra: self.state.infra_clock.now(),
        };
        Ok(compose::price_change(
            notice,
            &self.pending.change.id,
            &subscription.id,
            &customer.email,
            facts,
            moment,
        )?)
    }
}

/// Puts into effect every pending change due by `at` (R3: before any other work of the same instant).
pub async fn take_effect(state: &AppState, at: DateTime<Utc>) -> Result<()> {
    for change in state.store.price_changes_due(millis(at)).await? {
        let product = state
            .store
            .product(&change.product_id)
            .await?
            .ok_or(Error::NotFound("product"))?;
        let Some(pending) = pending(state, &product).await? else {
            continue;
        };
        put_in_effect(state, &product, &pending).await?;
        state
            .store
            .close_price_change(&pending.change.id, pending.change.effective_at)
            .await?;
    }
    Ok(())
}

/// Subscriptions moved to a new price together: their effects in one transaction, their refunds in one batch.
const CHUNK: usize = 200;

/// One change at its instant: customers who did not accept an active change are canceled (R27); everyone else moves
/// to the new price with their fee difference settled (R26) and is told, a chunk of subscriptions at a time.
async fn put_in_effect(state: &AppState, product: &Product, pending: &Pending) -> Result<()> {
    let at = pending.effective_at();
    let old = schedule_of(
        kind_of(product)?,
        &state
            .store
            .price_at(&product.id, pending.change.effective_at - 1)
            .await?,
    )?;
    let old_fee = old.pricing.monthly_fee;
    // On the 1st the month's fee is not charged yet: that day's run charges the new one (R26).
    let first_of_month = Month::of(at).start() == at;
    let rest_of_month = |fee: Money| match first_of_month {
        true => Money::ZERO,
        false => remaining_including_today(fee, at),
    };
    let subscriptions = state.store.open_subscriptions_to_product(&product.id).await?;
    let customers = customers_of(state, &subscriptions).await?;
    let acceptances: HashSet<String> = state
        .store
        .price_change_acceptances(&pending.change.id)
        .await?
        .into_iter()
        .collect();
    let mut staying = Vec::new();
    for (subscription, customer) in subscriptions.iter().zip(&customers) {
        if subscription.created_at >= pending.change.effective_at {
            continue;
        }
        let accepted = acceptances.contains(&customer.id);
        if pending.mode == Mode::Active && !accepted {
            let unused = rest_of_month(old_fee);
            match cancellation::cancel_unaccepted(state, customer, product, subscription, at, unused).await {
                Ok(_) | Err(Error::Busy(_)) => {}
                Err(error) => return Err(error),
            }
            continue;
        }
        staying.push(Staying {
            subscription,
            customer,
            accepted,
        });
    }
    let amount = rest_of_month(pending.schedule.pricing.monthly_fee - old_fee);
    let fee_bills: HashMap<String, Bill> = state
        .store
        .fee_bills_of_product(&product.id, &Month::of(at).to_string())
        .await?
        .into_iter()
        .collect();
    let told = Told::new(state, product, pending).await?;
    let mut catalogue = payments::Catalogue::default();
    for chunk in staying.chunks(CHUNK) {
        let decided: Vec<Decided> = chunk
            .iter()
            .map(|s| {
                decide(
                    product,
                    pending,
                    s.subscription,
                    amount,
                    fee_bills.get(&s.subscription.id),
                )
            })
            .collect();
        let emails = chunk
            .iter()
            .zip(&decided)
            .map(|(s, d)| {
                let facts = told.facts(s.customer, s.accepted, d.difference);
                told.email(PriceChangeNotice::InEffect, s.subscription, s.customer, &facts, at)
            })
            .collect::<Result<Vec<Email>>>()?;
        let effects: Vec<Effect<'_>> = decided
            .iter()
            .zip(&emails)
            .map(|(d, email)| Effect {
                difference: &d.record,
                settlement: d.given.settlement(),
                at: millis(at),
                email,
            })
            .collect();
        let applied = match state.store.apply_price_change(&effects).await {
            Ok(applied) => applied,
            Err(StoreError::Conflict) => {
                return Err(Error::Busy("a bill this price change reduces has a charge under way"));
            }
            Err(error) => return Err(error.into()),
        };
        // The decreases' refunds, paid back together; one the gateway does not answer stays open and is resumed.
        let lines: Vec<Vec<BillLineView>> = decided.iter().map(|d| refund_lines(product, d)).collect();
        let attempts: Vec<payments::Attempt<'_>> = applied
            .iter()
            .zip(chunk)
            .zip(&lines)
            .filter_map(|((applied, s), lines)| {
                let started = applied.as_ref()?.as_ref()?;
                Some(payments::Attempt {
                    started,
                    customer: s.customer,
                    lines,
                })
            })
            .collect();
        if !attempts.is_empty()
            && let Err(error) = payments::make_attempts(state, &attempts, at, &mut catalogue).await
        {
            tracing::warn!(%error, change = %pending.change.id, "refunds not paid yet; they will be resumed");
        }
    }
    Ok(())
}

/// A subscription that stays through the change, with its customer.
struct Staying<'a> {
    subscription: &'a Subscription,
    customer: &'a Account,
    accepted: bool,
}

/// How one subscription's fee difference is settled, ready to be written.
struct Decided {
    difference: Difference,
    record: FeeDifference,
    given: GiveBack,
}

/// A refund bill's lines as its repayment is booked: with the product's code and seller.
fn refund_lines(product: &Product, decided: &Decided) -> Vec<BillLineView> {
    match &decided.given {
        GiveBack::Refund(bill) => bill.lines.iter().map(|line| BillLineView::of(line, product)).collect(),
        _ => Vec::new(),
    }
}

/// R26: a decrease is given back as a cancellation's unused fee is (`fee_bill` is the bill carrying the month's
/// fee); an increase is owed until the next 1st's bill.
fn decide(
    product: &Product,
    pending: &Pending,
    subscription: &Subscription,
    amount: Money,
    fee_bill: Option<&Bill>,
) -> Decided {
    let at = pending.effective_at();
    let description = difference_description(product, amount, at);
    let mut given = GiveBack::Nothing;
    let (difference, bill_id) = match fee_bill {
        _ if amount.is_zero() => (Difference::None, None),
        // A sign-up still unpaid keeps the old fee for its first month: it may never be paid (R10).
        _ if amount > Money::ZERO && subscription.state == SubscriptionState::Pending.as_str() => {
            (Difference::None, None)
        }
        _ if amount > Money::ZERO => (Difference::Owed(amount), None),
        Some(bill) => {
            let event = format!("price-change:{}", pending.change.id);
            given = cancellation::give_back(bill, subscription, -amount, at, event, description.clone());
            match &given {
                GiveBack::Refund(refund) => (Difference::Refunded(-amount), Some(refund.bill.id.clone())),
                GiveBack::Reduce(_) => (Difference::Reduced(-amount), Some(bill.id.clone())),
                GiveBack::Nothing => (Difference::None, None),
            }
        }
        None => (Difference::None, None),
    };
    let record = FeeDifference {
        subscription_id: subscription.id.clone(),
        change_id: pending.change.id.clone(),
        customer_id: subscription.customer_id.clone(),
        product_id: product.id.clone(),
        amount_cents: match difference {
            Difference::None => 0,
            _ => amount.cents(),
        },
        description,
        bill_id,
    };
    Decided {
        difference,
        record,
        given,
    }
}

fn difference_description(product: &Product, amount: Money, at: DateTime<Utc>) -> String {
    let direction = if amount > Money::ZERO { "higher" } else { "lower" };
    format!(
        "{}: {direction} monthly fee for {} from the price change on {}",
        product.name,
        Month::of(at).long_name(),
        long_date(at)
    )
}
