//! The seller's reports (docs/rules.md R32, reference 9.3): the live subscription report, and for a past month
//! the revenue report (a row per subscription: who the customer is, revenue, what was collected, base cost) and the
//! usage report (a row per revenue item), as CSV; and the transaction history as CSV.
//!
//! A month's revenue is placed as settlement places it (R29): its sign-up fees, the fees covering it, its usage
//! whichever bill charges it, less refunds. Rows are per subscription, so a customer who canceled and subscribed
//! again in the month has two, the second with the later Customer Since.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use tollgate_domain::Money;
use tollgate_domain::billing::{BillStatus, LineKind};
use tollgate_domain::calendar::{Month, format_instant};
use tollgate_store::reports::{ReportSubscription, SubscriptionCounts};
use tollgate_store::sellers::Seller;
use tollgate_store::settlement::SettlementLine;
use tollgate_store::{instant, millis};

use crate::error::{Error, Result};
use crate::services::sellers;
use crate::services::settlement;
use crate::state::AppState;

/// The subscription report: the current month to date, per product.
pub struct SubscriptionReport {
    pub month: Month,
    pub as_of: DateTime<Utc>,
    pub products: Vec<SubscriptionCounts>,
}

impl SubscriptionReport {
    /// The counts of all the seller's products together.
    pub fn total(&self) -> (i64, i64, i64) {
        self.products.iter().fold((0, 0, 0), |(a, b, c), p| {
            (a + p.not_canceled, b + p.new_not_canceled, c + p.canceled)
        })
    }
}

/// The live subscription report (reference 9.3), of one product when `product_code` is given.
pub async fn subscriptions(
    state: &AppState,
    seller: &Seller,
    product_code: Option<&str>,
) -> Result<SubscriptionReport> {
    let now = state.now().await?;
    let month = Month::of(now);
    let mut products = state
        .store
        .subscription_counts(&seller.id, millis(month.start()))
        .await?;
    if let Some(code) = product_code {
        products.retain(|p| p.product_code == code);
        if products.is_empty() {
            return Err(Error::NotFound("product"));
        }
    }
    Ok(SubscriptionReport {
        month,
        as_of: now,
        products,
    })
}

/// R32: a month's revenue and usage reports exist from 00:00 on the 15th of the next month.
pub fn available_from(month: Month) -> DateTime<Utc> {
    month.next().start() + Duration::days(14)
}

/// The latest month whose reports are out at `now`: the previous one from the 15th, else the one before.
pub fn latest_available(now: DateTime<Utc>) -> Month {
    let previous = Month::of(now).previous();
    match now >= available_from(previous) {
        true => previous,
        false => previous.previous(),
    }
}

async fn ready(state: &AppState, month: Month) -> Result<()> {
    let from = available_from(month);
    if state.now().await? < from {
        return Err(Error::ReportNotReady(format!(
            "the reports for {} are available from {}",
            month.long_name(),
            format_instant(from)
        )));
    }
    Ok(())
}

/// One subscription's month in the revenue report.
pub struct RevenueRow {
    pub subscription: ReportSubscription,
    pub revenue: Money,
    pub collected: Money,
    pub base_cost: Money,
}

impl RevenueRow {
    pub fn value_add(&self) -> Money {
        self.revenue - self.base_cost
    }

    /// Who has not paid (reference 9.3).
    pub fn payment_status(&self) -> &'static str {
        if self.revenue <= Money::ZERO {
            "nothing due"
        } else if self.collected >= self.revenue {
            "paid"
        } else if self.collected <= Money::ZERO {
            "unpaid"
        } else {
            "partly paid"
        }
    }
}

/// One revenue item of a subscription's month in the usage report.
pub struct UsageRow<'s> {
    pub subscription: &'s ReportSubscription,
    /// `signup_fee`, `monthly_fee`, `refund` or `usage`.
    pub item: &'static str,
    pub dimension: Option<String>,
    pub quantity: Option<Decimal>,
    pub amount: Money,
    /// The base cost of a usage item (R29), rounded for the row.
    pub base_cost: Option<Money>,
}

/// A month of the seller's business, per subscription: what the revenue and usage reports are made of.
pub struct MonthOfSubscriptions {
    pub subscriptions: Vec<ReportSubscription>,
    /// The month's bill lines per subscription, in the order they were billed.
    lines: HashMap<String, Vec<SettlementLine>>,
    /// The month's usage per subscription and dimension, with its unrounded base cost.
    usage: HashMap<String, BTreeMap<String, (Decimal, Decimal)>>,
}

/// Reads a past month's subscriptions of the seller with their bill lines and usage, once the month's reports are
/// available (R32).
pub async fn month_of(state: &AppState, seller: &Seller, month: Month) -> Result<MonthOfSubscriptions> {
    ready(state, month).await?;
    let subscriptions = state
        .store
        .subscriptions_during(&seller.id, millis(month.start()), millis(month.next().start()))
        .await?;
    let activity = settlement::months_activity(state, month, month, Some(&seller.id)).await?;
    let mut lines: HashMap<String, Vec<SettlementLine>> = HashMap::new();
    for (_, line) in activity.lines {
        lines.entry(line.subscription_id.clone()).or_default().push(line);
    }
    let mut usage: HashMap<String, BTreeMap<String, (Decimal, Decimal)>> = HashMap::new();
    for priced in activity.usage {
        let entry = usage
            .entry(priced.day.subscription_id)
            .or_default()
            .entry(priced.day.dimension)
            .or_default();
        entry.0 += priced.quantity;
        entry.1 += priced.base_cost;
    }
    Ok(MonthOfSubscriptions {
        subscriptions,
        lines,
        usage,
    })
}

impl MonthOfSubscriptions {
    /// The revenue report's rows; `NoReport` when the seller had no customers in the month (R32).
    pub fn revenue(self) -> Result<Vec<RevenueRow>> {
        if self.subscriptions.is_empty() {
            return Err(Error::NoReport("no customers had the seller's products that month"));
        }
        let MonthOfSubscriptions {
            subscriptions,
            lines,
            usage,
        } = self;
        Ok(subscriptions
            .into_iter()
            .map(|subscription| {
                let lines = lines.get(&subscription.subscription_id).map_or(&[][..], Vec::as_slice);
                let revenue = lines.iter().map(|l| Money::from_cents(l.amount_cents)).sum();
                let collected = lines
                    .iter()
                    .filter(|l| l.status == BillStatus::Paid.as_str())
                    .map(|l| Money::from_cents(l.amount_cents))
                    .sum();
                let cost: Decimal = usage
                    .get(&subscription.subscription_id)
                    .map_or(Decimal::ZERO, |u| u.values().map(|(_, cost)| *cost).sum());
                RevenueRow {
                    subscription,
                    revenue,
                    collected,
                    base_cost: Money::round(cost),
                }
            })
            .collect())
    }

    /// The usage report's rows, a revenue item each: the sign-up, monthly and refund amounts, and each dimension
    /// used; `NoReport` when the month had no usage and no revenue (R32).
    pub fn usage_rows(&self) -> Result<Vec<UsageRow<'_>>> {
        let mut rows = Vec::new();
        for subscription in &self.subscriptions {
            let id = &subscription.subscription_id;
            let lines = self.lines.get(id).map_or(&[][..], Vec::as_slice);
            for (kind, item) in [
                (LineKind::SignupFee, "signup_fee"),
                (LineKind::MonthlyFee, "monthly_fee"),
                (LineKind::Refund, "refund"),
            ] {
                let of_kind: Vec<&SettlementLine> = lines.iter().filter(|l| l.kind == kind.as_str()).collect();
                if !of_kind.is_empty() {
                    rows.push(UsageRow {
                        subscription,
                        item,
                        dimension: None,
                        quantity: None,
                        amount: of_kind.iter().map(|l| Money::from_cents(l.amount_cents)).sum(),
                        base_cost: None,
                    });
                }
            }
            // Only dimensions used appear; one a product does not price is used at no charge (R17).
            for (dimension, (quantity, cost)) in self.usage.get(id).into_iter().flatten() {
                let amount = lines
                    .iter()
                    .filter(|l| l.kind == LineKind::Usage.as_str() && l.dimension.as_deref() == Some(dimension))
                    .map(|l| Money::from_cents(l.amount_cents))
                    .sum();
                rows.push(UsageRow {
                    subscription,
                    item: "usage",
                    dimension: Some(dimension.clone()),
                    quantity: Some(*quantity),
                    amount,
                    base_cost: Some(Money::round(*cost)),
                });
            }
        }
        if rows.is_empty() {
            return Err(Error::NoReport("there was no usage and no revenue that month"));
        }
        Ok(rows)
    }
}

/// A cell of text people typed (a name, an e-mail address, a description), kept from being read as a formula by a
/// spreadsheet that opens the file: one starting with `=`, `+`, `-`, `@` or a control character gets a `'` first.
fn text_cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

fn csv_text(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header).map_err(anyhow::Error::from)?;
    for row in rows {
        writer.write_record(&row).map_err(anyhow::Error::from)?;
    }
    let bytes = writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(String::from_utf8(bytes).map_err(anyhow::Error::from)?)
}

fn since_and_until(s: &ReportSubscription) -> (String, String) {
    (
        format_instant(instant(s.created_at)),
        s.canceled_at.map(|at| format_instant(instant(at))).unwrap_or_default(),
    )
}

/// The two reports of a past month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonthReport {
    Revenue,
    Usage,
}

impl MonthReport {
    /// The report of `month` as CSV.
    pub async fn csv(self, state: &AppState, seller: &Seller, month: Month) -> Result<String> {
        match self {
            MonthReport::Revenue => revenue_csv(state, seller, month).await,
            MonthReport::Usage => usage_csv(state, seller, month).await,
        }
    }

    /// The file a download is named: `revenue-2027-06.csv`.
    pub fn file_name(self, month: Month) -> String {
        let kind = match self {
            MonthReport::Revenue => "revenue",
            MonthReport::Usage => "usage",
        };
        format!("{kind}-{month}.csv")
    }
}

/// The revenue report of a past month as CSV.
async fn revenue_csv(state: &AppState, seller: &Seller, month: Month) -> Result<String> {
    let rows = month_of(state, seller, month).await?.revenue()?;
    csv_text(
        &[
            "Customer Name",
            "Customer E-mail",
            "Persistent Identifier",
            "Product Code",
            "Customer Since",
            "Canceled At",
            "Revenue",
            "Collected",
            "Base Cost",
            "Value Add",
            "Payment Status",
        ],
        rows.iter().map(|r| {
            let s = &r.subscription;
            let (since, until) = since_and_until(s);
            vec![
                text_cell(&s.customer_name),
                text_cell(&s.customer_email),
                s.persistent_identifier.clone().unwrap_or_default(),
                s.product_code.clone(),
                since,
                until,
                r.revenue.to_string(),
                r.collected.to_string(),
                r.base_cost.to_string(),
                r.value_add().to_string(),
                r.payment_status().to_owned(),
            ]
        }),
    )
}

/// The usage report of a past month as CSV.
async fn usage_csv(state: &AppState, seller: &Seller, month: Month) -> Result<String> {
    let month = month_of(state, seller, month).await?;
    let rows = month.usage_rows()?;
    csv_text(
        &[
            "Customer E-mail",
            "Persistent Identifier",
            "Product Code",
            "Customer Since",
            "Item",
            "Dimension",
            "Quantity",
            "Amount",
            "Base Cost",
        ],
        rows.iter().map(|r| {
            let s = r.subscription;
            vec![
                text_cell(&s.customer_email),
                s.persistent_identifier.clone().unwrap_or_default(),
                s.product_code.clone(),
                since_and_until(s).0,
                r.item.to_owned(),
                r.dimension.clone().unwrap_or_default(),
                r.quantity.map(|q| q.normalize().to_string()).unwrap_or_default(),
                r.amount.to_string(),
                r.base_cost.map(|c| c.to_string()).unwrap_or_default(),
            ]
        }),
    )
}

/// The seller's transaction history (reference 9.2) as CSV, oldest first, with the balance after each.
pub async fn transactions_csv(state: &AppState, seller: &Seller) -> Result<String> {
    let (_, history) = sellers::transactions(state, seller).await?;
    let mut balance = Money::ZERO;
    csv_text(
        &["At", "Kind", "Amount", "Balance", "Description"],
        history.into_iter().map(|t| {
            let amount = Money::from_cents(t.amount_cents);
            balance += amount;
            vec![
                format_instant(instant(t.at)),
                t.kind,
                amount.to_string(),
                balance.to_string(),
                text_cell(&t.description),
            ]
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_text_is_never_a_formula() {
        assert_eq!(text_cell("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
        assert_eq!(text_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text_cell("-1+2"), "'-1+2");
        assert_eq!(text_cell("Casey Customer"), "Casey Customer");
        assert_eq!(text_cell(""), "");
    }
}
