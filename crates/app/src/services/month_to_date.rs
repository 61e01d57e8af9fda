//! What the Application Billing page shows (reference 4.3): every product the customer has had this month, from
//! every seller, with the month's usage rated so far (R16, one rating for the page, the bills and the reports), the
//! fees charged in the month, unpaid bills, and an estimate of the next bill.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tollgate_domain::Money;
use tollgate_domain::billing::{BillStatus, LineKind};
use tollgate_domain::calendar::Month;
use tollgate_domain::rating::{DayUsage, PriceFrom, UsageTotal, lines_by_price, price_on, unrounded};
use tollgate_domain::subscription::SubscriptionState;
use tollgate_store::accounts::Account;
use tollgate_store::bills::Bill;
use tollgate_store::payments::PaymentMethod;
use tollgate_store::subscriptions::CustomerSubscription;
use tollgate_store::usage::DailyUsage;
use tollgate_store::{instant, millis};

use crate::error::{Error, Result};
use crate::services::products::{self, ProductView};
use crate::services::stored_decimal;
use crate::state::AppState;

pub struct MonthToDate {
    pub month: Month,
    pub now: DateTime<Utc>,
    pub products: Vec<ProductMonth>,
    pub unpaid: Vec<Bill>,
    pub next_bill_on: DateTime<Utc>,
    /// The next 1st's bill as it stands: this month's usage so far and next month's fees.
    pub next_bill_estimate: Money,
    pub card: Option<PaymentMethod>,
}

/// One product through the month: its subscriptions there (a cancel and resubscribe is one continuous month, R16).
pub struct ProductMonth {
    pub code: String,
    pub name: String,
    pub company_name: String,
    /// The state of the latest subscription.
    pub state: SubscriptionState,
    /// When the latest subscription began, and when it ended if it did.
    pub since: DateTime<Utc>,
    pub canceled_at: Option<DateTime<Utc>>,
    pub monthly_fee: Money,
    pub usage: Vec<DimensionUsage>,
    /// Sign-up, monthly and refund lines of bills issued in the month, void ones left out.
    pub fees: Money,
    pub usage_charges: Money,
    /// The usage charge each day of the month added, unrounded: the chart's bars.
    pub daily: Vec<Decimal>,
}

pub struct DimensionUsage {
    pub dimension: String,
    pub quantity: Decimal,
    pub charge: Money,
}

impl ProductMonth {
    pub fn is_open(&self) -> bool {
        self.state != SubscriptionState::Canceled
    }

    pub fn total(&self) -> Money {
        self.fees + self.usage_charges
    }
}

pub async fn month_to_date(state: &AppState, customer: &Account) -> Result<MonthToDate> {
    let now = state.now().await?;
    let month = Month::of(now);
    let subscriptions = state
        .store
        .subscriptions_of_customer_since(&customer.id, millis(month.start()))
        .await?;
    let usage = state.store.usage_of_customer(&customer.id, &month.to_string()).await?;
    let bills = state.store.bills_of_customer(&customer.id).await?;
    let lines = state.store.bill_lines_of_customer(&customer.id).await?;
    // Fees of void bills were never owed (R10).
    let issued_this_month: HashMap<&str, &Bill> = bills
        .iter()
        .filter(|b| Month::of(instant(b.issued_at)) == month && b.status != BillStatus::Void.as_str())
        .map(|b| (b.id.as_str(), b))
        .collect();

    // One entry per product, in the order the customer first subscribed; the latest subscription speaks for it.
    let mut by_product: Vec<(String, Vec<&CustomerSubscription>)> = Vec::new();
    for s in &subscriptions {
        match by_product.iter_mut().find(|(id, _)| *id == s.product_id) {
            Some((_, list)) => list.push(s),
            None => by_product.push((s.product_id.clone(), vec![s])),
        }
    }
    let mut products = Vec::with_capacity(by_product.len());
    let mut next_bill_estimate = Money::ZERO;
    for (product_id, subs) in by_product {
        let latest = subs.last().ok_or(Error::NotFound("subscription"))?;
        let product = state
            .store
            .product(&product_id)
            .await?
            .ok_or(Error::NotFound("product"))?;
        let prices = products::prices_in(state, &product, month).await?;
        let view = ProductView::load_at(state, product, now).await?;
        let (usage_rows, daily) = rate(&prices, usage.iter().filter(|u| u.product_id == product_id), month)?;
        let usage_charges = usage_rows.iter().map(|u| u.charge).sum();
        let fees = lines
            .iter()
            .filter(|l| l.product_code == view.product.code && issued_this_month.contains_key(l.bill_id.as_str()))
            .filter(|l| l.kind != LineKind::Usage.as_str())
            .map(|l| Money::from_cents(l.amount_cents))
            .sum();
        let state_now = SubscriptionState::parse(&latest.state).unwrap_or(SubscriptionState::Canceled);
        let monthly_fee = view.price.pricing.monthly_fee;
        next_bill_estimate += usage_charges;
        if state_now == SubscriptionState::Active {
            next_bill_estimate += monthly_fee;
        }
        products.push(ProductMonth {
            code: view.product.code.clone(),
            name: view.product.name.clone(),
            company_name: latest.company_name.clone(),
            state: state_now,
            since: instant(latest.created_at),
            canceled_at: latest.canceled_at.map(instant),
            monthly_fee,
            usage: usage_rows,
            fees,
            usage_charges,
            daily,
        });
    }
    let unpaid = bills
        .into_iter()
        .filter(|b| BillStatus::parse(&b.status).is_some_and(BillStatus::is_collectible) && b.total_cents > 0)
        .collect();
    Ok(MonthToDate {
        month,
        now,
        products,
        unpaid,
        next_bill_on: month.next().start(),
        next_bill_estimate,
        card: state.store.payment_method(&customer.id).await?,
    })
}

/// The month's usage of one product per dimension (instance hours per configuration), rated as the monthly bill
/// will rate it (each day at the price in force that day, R26), and the charge each day added.
fn rate<'u>(
    prices: &[PriceFrom],
    days: impl Iterator<Item = &'u DailyUsage>,
    month: Month,
) -> Result<(Vec<DimensionUsage>, Vec<Decimal>)> {
    let mut daily = vec![Decimal::ZERO; month.days() as usize];
    let mut totals: BTreeMap<(String, Option<String>), Decimal> = BTreeMap::new();
    let mut by_day = Vec::new();
    // Days come in order: each day's charge is what its usage adds at the month's tier position so far.
    for usage in days {
        let quantity = stored_decimal("usage quantity", &usage.quantity)?;
        let day = u32::try_from(usage.day).map_err(anyhow::Error::from)?;
        let total = totals
            .entry((usage.dimension.clone(), usage.configuration.clone()))
            .or_default();
        let day_usage = UsageTotal {
            dimension: usage.dimension.clone(),
            configuration: usage.configuration.clone(),
            quantity,
        };
        if let Some(price) = price_on(prices, day)
            && let Some(charge) = unrounded(&price.schedule, &day_usage, *total)
            && let Some(slot) = daily.get_mut(day as usize - 1)
        {
            *slot += charge;
        }
        *total += quantity;
        by_day.push(DayUsage { day, usage: day_usage });
    }
    let rated = lines_by_price(prices, &by_day, &[]);
    let usage = totals
        .into_iter()
        .map(|((dimension, configuration), quantity)| {
            let charge = rated
                .iter()
                .filter(|r| r.line.dimension == dimension && r.line.configuration == configuration)
                .map(|r| r.line.amount)
                .sum();
            DimensionUsage {
                dimension: match &configuration {
                    Some(configuration) => format!("{dimension} ({configuration})"),
                    None => dimension,
                },
                quantity,
                charge,
            }
        })
        .collect();
    Ok((usage, daily))
}
