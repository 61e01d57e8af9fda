//! The monthly run at 00:00 on the 1st (docs/rules.md R19-R21): one bill per customer with the previous month's
//! usage in arrears (and the month before's late usage, R14) and the new month's fees in advance, one charge, and
//! "Your Bill" when it succeeds. Sign-ups still pending then are canceled first (R10).
//!
//! Everything is decided from the database, so the run can be repeated or resumed after a crash: a customer's bill
//! is issued at most once per period (a unique key), with its fee records and its first attempt in the same
//! transaction, and the attempt carries the bill's idempotency key to the gateway.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tollgate_domain::Money;
use tollgate_domain::billing::{BillKind, BillStatus, LineKind};
use tollgate_domain::calendar::Month;
use tollgate_domain::rating::{DayUsage, PriceFrom, RatedLine, UsageTotal, lines_by_price};
use tollgate_domain::subscription::{CancelReason, SubscriptionState};
use tollgate_store::accounts::Account;
use tollgate_store::bills::{Bill, BillLine, BillLineView, NewBill};
use tollgate_store::monthly::{CustomerUsage, Issued, MonthlyBill};
use tollgate_store::price_changes::FeeDifference;
use tollgate_store::products::Product;
use tollgate_store::subscriptions::Subscription;
use tollgate_store::{StoreError, millis, new_id};

use crate::error::{Error, Result};
use crate::services::cancellation;
use crate::services::payments;
use crate::services::products::{self, ProductView};
use crate::services::stored_decimal;
use crate::state::AppState;

/// Customers read and billed together: their subscriptions, usage and fee records come in a few reads.
const CHUNK: usize = 200;

/// What a run did, for the log and the benchmark.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    pub issued: usize,
    pub zero: usize,
    pub paid: usize,
    pub declined: usize,
}

impl RunSummary {
    fn add(&mut self, other: RunSummary) {
        self.issued += other.issued;
        self.zero += other.zero;
        self.paid += other.paid;
        self.declined += other.declined;
    }
}

/// R10: sign-ups still pending at the run are canceled (`unpaid_signup`), their bills voided, the customers told.
pub async fn cancel_unpaid_signups(state: &AppState, at: DateTime<Utc>) -> Result<()> {
    for subscription in state.store.pending_subscriptions_before(millis(at)).await? {
        let customer = state
            .store
            .account(&subscription.customer_id)
            .await?
            .ok_or(Error::NotFound("customer"))?;
        let product = state
            .store
            .product(&subscription.product_id)
            .await?
            .ok_or(Error::NotFound("product"))?;
        match cancellation::cancel(
            state,
            &customer,
            &product,
            &subscription,
            CancelReason::UnpaidSignup,
            at,
        )
        .await
        {
            // Canceled or paid meanwhile, by the customer or another worker.
            Ok(_) | Err(Error::Busy(_)) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Bills every customer with something to pay at `at`, the 1st's 00:00, a chunk of customers at a time.
pub async fn run(state: &AppState, at: DateTime<Utc>) -> Result<RunSummary> {
    let period = Month::of(at).previous();
    let customers = state
        .store
        .customers_to_bill(&period.to_string(), &period.previous().to_string(), millis(at))
        .await?;
    let mut prices = Prices::default();
    let mut catalogue = payments::Catalogue::default();
    let mut summary = RunSummary::default();
    for ids in customers.chunks(CHUNK) {
        let prepared = prepare(state, &mut prices, ids, at).await?;
        summary.add(issue_and_charge(state, &prepared, at, &mut catalogue).await?);
    }
    tracing::info!(period = %period, ?summary, "monthly run");
    Ok(summary)
}

/// A chunk of customers' bills, rated and ready to be issued, with what their charges' outcomes need.
struct Prepared {
    bills: Vec<MonthlyBill>,
    /// Each bill's lines with their products' codes and sellers.
    lines: Vec<Vec<BillLineView>>,
    customers: HashMap<String, Account>,
}

/// Reads a chunk of customers' subscriptions, usage and fees charged, and rates their bills.
async fn prepare(state: &AppState, prices: &mut Prices, ids: &[String], at: DateTime<Utc>) -> Result<Prepared> {
    let month = Month::of(at);
    let period = month.previous();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let subscriptions = state.store.subscriptions_of_customers(&ids).await?;
    let usage = state
        .store
        .usage_of_customers(&ids, [&period.to_string(), &period.previous().to_string()])
        .await?;
    let due: Vec<&str> = subscriptions
        .iter()
        .filter(|s| fee_due(s, at))
        .map(|s| s.id.as_str())
        .collect();
    let charged = state.store.fees_charged(&due, &month.to_string()).await?;
    let owed = state.store.owed_fee_differences(&ids).await?;
    let mut bills = Vec::new();
    for customer_id in &ids {
        let usage: Vec<&CustomerUsage> = usage.iter().filter(|u| u.customer_id == *customer_id).collect();
        let fees_due: Vec<&Subscription> = subscriptions
            .iter()
            .filter(|s| s.customer_id == *customer_id && fee_due(s, at) && !charged.contains(&s.id))
            .collect();
        let owed: Vec<&FeeDifference> = owed.iter().filter(|d| d.customer_id == *customer_id).collect();
        let owes = Owes {
            fees: &fees_due,
            differences: &owed,
            usage: &usage,
        };
        if let Some(bill) = bill_for(state, prices, customer_id, owes, at).await? {
            bills.push(bill);
        }
    }
    let lines = bills
        .iter()
        .map(|bill| prices.line_views(&bill.bill.lines))
        .collect::<Result<_>>()?;
    let billed: Vec<&str> = bills.iter().map(|b| b.bill.bill.customer_id.as_str()).collect();
    let customers = state
        .store
        .accounts(&billed)
        .await?
        .into_iter()
        .map(|account| (account.id.clone(), account))
        .collect();
    Ok(Prepared {
        bills,
        lines,
        customers,
    })
}

/// Issues a prepared chunk's bills and makes their first charges together.
async fn issue_and_charge(
    state: &AppState,
    prepared: &Prepared,
    at: DateTime<Utc>,
    catalogue: &mut payments::Catalogue,
) -> Result<RunSummary> {
    let mut summary = RunSummary::default();
    let mut attempts = Vec::new();
    let issued = issue(state, &prepared.bills).await?;
    for ((bill, lines), issued) in prepared.bills.iter().zip(&prepared.lines).zip(&issued) {
        let Issued::New(attempt) = issued else {
            continue;
        };
        summary.issued += 1;
        summary.zero += usize::from(bill.bill.bill.total_cents == 0);
        if let Some(started) = attempt {
            attempts.push(payments::Attempt {
                started,
                customer: prepared
                    .customers
                    .get(&bill.bill.bill.customer_id)
                    .ok_or(Error::NotFound("customer"))?,
                lines,
            });
        }
    }
    for outcome in payments::make_attempts(state, &attempts, at, catalogue).await? {
        match outcome {
            Ok(payments::ChargeOutcome::Paid) => summary.paid += 1,
            Ok(_) => summary.declined += 1,
            // The attempt stays open and the scheduler finishes it with the same key.
            Err(Error::GatewayUnavailable) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(summary)
}

/// Issues a chunk's bills together; when another process issued some of them at the same moment, one by one, so
/// that each customer's is issued once whoever wins (R20).
async fn issue(state: &AppState, bills: &[MonthlyBill]) -> Result<Vec<Issued>> {
    match state.store.issue_monthly_bills(bills).await {
        Err(StoreError::Conflict) => {
            let mut issued = Vec::with_capacity(bills.len());
            for bill in bills {
                issued.push(state.store.issue_monthly_bill(bill).await?);
            }
            Ok(issued)
        }
        other => Ok(other?),
    }
}

/// Whether the new month's fee of a subscription is due at the run (R19): active then, begun strictly before.
fn fee_due(subscription: &Subscription, at: DateTime<Utc>) -> bool {
    subscription.state == SubscriptionState::Active.as_str() && subscription.created_at < millis(at)
}

/// The products' prices, read once per run: usage is rated at the price of the month it was used in, fees at
/// the price in force at the run.
#[derive(Default)]
struct Prices {
    products: HashMap<String, Arc<Priced>>,
}

struct Priced {
    product: Product,
    /// The prices in force in the billed month, and in the month before for its late usage.
    usage: Vec<PriceFrom>,
    late: Vec<PriceFrom>,
    monthly_fee: Money,
}

impl Prices {
    async fn of(&mut self, state: &AppState, product_id: &str, at: DateTime<Utc>) -> Result<Arc<Priced>> {
        if let Some(priced) = self.products.get(product_id) {
            return Ok(priced.clone());
        }
        let product = state
            .store
            .product(product_id)
            .await?
            .ok_or(Error::NotFound("product"))?;
        let period = Month::of(at).previous();
        let usage = products::prices_in(state, &product, period).await?;
        let late = products::prices_in(state, &product, period.previous()).await?;
        let monthly_fee = ProductView::load_at(state, product.clone(), at)
            .await?
            .price
            .pricing
            .monthly_fee;
        let priced = Arc::new(Priced {
            product,
            usage,
            late,
            monthly_fee,
        });
        self.products.insert(product_id.to_owned(), priced.clone());
        Ok(priced)
    }

    /// A bill's lines with their products' codes and sellers, as the collection and its e-mail need them.
    fn line_views(&self, lines: &[BillLine]) -> Result<Vec<BillLineView>> {
        lines
            .iter()
            .map(|line| {
                let product = &self
                    .products
                    .get(&line.product_id)
                    .ok_or(Error::NotFound("product"))?
                    .product;
                Ok(BillLineView::of(line, product))
            })
            .collect()
    }
}

/// What a customer owes at the run: the new month's fees, fee increases of price changes, and usage.
struct Owes<'a> {
    fees: &'a [&'a Subscription],
    differences: &'a [&'a FeeDifference],
    usage: &'a [&'a CustomerUsage],
}

/// A customer's bill at `at`, or `None` when they have nothing on it.
async fn bill_for(
    state: &AppState,
    prices: &mut Prices,
    customer_id: &str,
    owes: Owes<'_>,
    at: DateTime<Utc>,
) -> Result<Option<MonthlyBill>> {
    let month = Month::of(at);
    let period = month.previous();
    let id = new_id();
    let mut lines = Vec::new();
    let mut fees = Vec::new();
    let mut differences = Vec::new();
    // Products in the order the customer's charges name them: fees first, then increases and usage by product.
    let mut products: Vec<&str> = owes.fees.iter().map(|s| s.product_id.as_str()).collect();
    let named = owes
        .differences
        .iter()
        .map(|d| d.product_id.as_str())
        .chain(owes.usage.iter().map(|u| u.product_id.as_str()));
    for product_id in named {
        if !products.contains(&product_id) {
            products.push(product_id);
        }
    }
    for product_id in products {
        let priced = prices.of(state, product_id, at).await?;
        let name = &priced.product.name;
        for subscription in owes.fees.iter().filter(|s| s.product_id == product_id) {
            if priced.monthly_fee.is_zero() {
                continue;
            }
            let description = format!("{name}: monthly fee for {}", month.long_name());
            lines.push(fee_line(
                &id,
                &subscription.id,
                product_id,
                priced.monthly_fee,
                description,
            ));
            fees.push((subscription.id.clone(), month.to_string()));
        }
        // R26: a mid-month increase, on the first bill after it.
        for owed in owes.differences.iter().filter(|d| d.product_id == product_id) {
            let amount = Money::from_cents(owed.amount_cents);
            let mut line = fee_line(&id, &owed.subscription_id, product_id, amount, owed.description.clone());
            // It covers the month the change took effect in, the period: a change on a 1st makes no difference.
            line.usage_month = Some(period.to_string());
            lines.push(line);
            differences.push((owed.subscription_id.clone(), owed.change_id.clone()));
        }
        let of_product: Vec<&CustomerUsage> = owes
            .usage
            .iter()
            .copied()
            .filter(|u| u.product_id == product_id)
            .collect();
        let in_time = usage_lines(&priced.usage, &of_product, period, false, &[])?;
        for (rated, subscription, when) in in_time {
            let description = usage_description(name, &rated, &format!("in {}{when}", period.long_name()));
            lines.push(usage_line(&id, product_id, &subscription, period, &rated, description));
        }
        let earlier = period.previous();
        if of_product.iter().any(|u| u.late && u.month == earlier.to_string()) {
            let billed = month_totals(&of_product, earlier, false)?;
            for (rated, subscription, when) in usage_lines(&priced.late, &of_product, earlier, true, &billed)? {
                let when = format!("late usage for {}{when}", earlier.long_name());
                lines.push(usage_line(
                    &id,
                    product_id,
                    &subscription,
                    earlier,
                    &rated,
                    usage_description(name, &rated, &when),
                ));
            }
        }
    }
    if lines.is_empty() {
        return Ok(None);
    }
    for (position, line) in lines.iter_mut().enumerate() {
        line.position = i64::try_from(position).map_err(anyhow::Error::from)?;
    }
    let total: i64 = lines.iter().map(|l| l.amount_cents).sum();
    // R21: nothing to pay is paid at issue, without the gateway or an e-mail.
    let (status, paid_at) = match total {
        0 => (BillStatus::Paid, Some(millis(at))),
        _ => (BillStatus::Pending, None),
    };
    Ok(Some(MonthlyBill {
        bill: NewBill {
            bill: Bill {
                id,
                customer_id: customer_id.to_owned(),
                kind: BillKind::Monthly.as_str().into(),
                period: period.to_string(),
                subscription_id: None,
                event_key: None,
                issued_at: millis(at),
                total_cents: total,
                status: status.as_str().into(),
                attempts: 0,
                open_attempt: None,
                paid_at,
                refund_of: None,
            },
            lines,
        },
        fees,
        differences,
    }))
}

/// One product's usage lines for a month, each price in force rating the usage of its days (R26), after `billed`
/// units of the month billed already (R14). Each line comes with its subscription (that of the latest usage it
/// charges: a cancel and resubscribe bills the later one) and, when a change split the month, which part it is.
fn usage_lines(
    prices: &[PriceFrom],
    usage: &[&CustomerUsage],
    month: Month,
    late: bool,
    billed: &[UsageTotal],
) -> Result<Vec<(RatedLine, String, String)>> {
    let month_text = month.to_string();
    let rows: Vec<&CustomerUsage> = usage
        .iter()
        .copied()
        .filter(|u| u.month == month_text && u.late == late)
        .collect();
    let days = rows
        .iter()
        .map(|u| {
            Ok(DayUsage {
                day: u32::try_from(u.day).map_err(anyhow::Error::from)?,
                usage: UsageTotal {
                    dimension: u.dimension.clone(),
                    configuration: u.configuration.clone(),
                    quantity: stored_decimal("usage quantity", &u.quantity)?,
                },
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(lines_by_price(prices, &days, billed)
        .into_iter()
        .map(|priced| {
            let subscription = rows
                .iter()
                .rev()
                .find(|u| {
                    u32::try_from(u.day).is_ok_and(|day| priced.days.contains(&day))
                        && u.dimension == priced.line.dimension
                        && u.configuration == priced.line.configuration
                })
                .map_or_else(String::new, |u| u.subscription_id.clone());
            let when = match (priced.price, prices.len()) {
                (_, 1) => String::new(),
                (0, _) => format!(" before {} (earlier price)", day_of(month, priced.days.end() + 1)),
                _ => format!(" from {} (new price)", day_of(month, *priced.days.start())),
            };
            (priced.line, subscription, when)
        })
        .collect())
}

/// One product's usage of a month added up per dimension and configuration.
fn month_totals(usage: &[&CustomerUsage], month: Month, late: bool) -> Result<Vec<UsageTotal>> {
    let month = month.to_string();
    let mut by_key: BTreeMap<(String, Option<String>), Decimal> = BTreeMap::new();
    for u in usage.iter().filter(|u| u.month == month && u.late == late) {
        *by_key
            .entry((u.dimension.clone(), u.configuration.clone()))
            .or_default() += stored_decimal("usage quantity", &u.quantity)?;
    }
    Ok(by_key
        .into_iter()
        .map(|((dimension, configuration), quantity)| UsageTotal {
            dimension,
            configuration,
            quantity,
        })
        .collect())
}

/// A day of a month written out ("June 20").
fn day_of(month: Month, day: u32) -> String {
    (month.start() + chrono::Duration::days(i64::from(day) - 1))
        .format("%B %-d")
        .to_string()
}

fn usage_description(product: &str, rated: &RatedLine, when: &str) -> String {
    match &rated.configuration {
        Some(configuration) => format!("{product}: {} ({configuration}) {when}", rated.dimension),
        None => format!("{product}: {} {when}", rated.dimension),
    }
}

fn fee_line(bill_id: &str, subscription_id: &str, product_id: &str, amount: Money, description: String) -> BillLine {
    BillLine {
        bill_id: bill_id.to_owned(),
        position: 0,
        product_id: product_id.to_owned(),
        subscription_id: subscription_id.to_owned(),
        kind: LineKind::MonthlyFee.as_str().into(),
        dimension: None,
        quantity: None,
        amount_cents: amount.cents(),
        description,
        usage_month: None,
    }
}

fn usage_line(
    bill_id: &str,
    product_id: &str,
    subscription_id: &str,
    month: Month,
    rated: &RatedLine,
    description: String,
) -> BillLine {
    BillLine {
        bill_id: bill_id.to_owned(),
        position: 0,
        product_id: product_id.to_owned(),
        subscription_id: subscription_id.to_owned(),
        kind: LineKind::Usage.as_str().into(),
        dimension: Some(rated.dimension.clone()),
        quantity: Some(rated.quantity.normalize().to_string()),
        amount_cents: rated.amount.cents(),
        description,
        usage_month: Some(month.to_string()),
    }
}
