//! Seller settlement (docs/rules.md R29): at 00:00 on the 2nd of each month and on the day after each collection
//! day, each seller is charged, per customer × product × month, what it owes so far (the reference's 5.4 table:
//! base costs up to what was collected, the uncovered cost, and the percentage fee on collected value-add) less
//! what it was charged before, rounded cumulatively (R5). Nothing of a month is settled before the 2nd of the next.
//!
//! A run is once-only per seller and instant (its ledger transaction's unique key), and its positions are written
//! with it, so a repeated or concurrent run charges nothing more.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Days, Utc};
use rust_decimal::Decimal;
use tollgate_domain::Money;
use tollgate_domain::billing::{BillStatus, LineKind, activity_month};
use tollgate_domain::calendar::Month;
use tollgate_domain::fees::SettlementDue;
use tollgate_store::ledger::{LedgerTransaction, PLATFORM_BASE_COSTS, PLATFORM_FEES, seller_account};
use tollgate_store::settlement::{Position, SettlementLine, SettlementUsage};
use tollgate_store::{instant, millis, new_id};

use crate::error::Result;
use crate::services::stored_decimal;
use crate::state::AppState;

/// Months settled again at each run: the one just ended and the two before it, whose late usage (R14) and
/// retried bills (R22) can still be collected.
const MONTHS_OPEN: u32 = 3;

/// Whether `at` (a midnight) settles: the 2nd, or the day after a bill was collected.
pub async fn is_due(state: &AppState, at: DateTime<Utc>) -> Result<bool> {
    if at.day() == 2 {
        return Ok(true);
    }
    let day_before = at.checked_sub_days(Days::new(1)).unwrap_or(at);
    Ok(state.store.collected_between(millis(day_before), millis(at)).await?)
}

/// The sums of one customer × product × month (R29): revenue R, the part collected P, the base cost C, and what
/// the activity page shows besides (refunds, usage per dimension).
#[derive(Default)]
pub struct MonthSums {
    pub seller_id: String,
    pub revenue: Money,
    pub collected: Money,
    pub base_cost: Decimal,
    pub refunds: Money,
    pub usage: BTreeMap<String, Decimal>,
}

/// The bill lines and usage of the months from `first` to `last`, each in its month of activity (R19, R29), of one
/// seller's products when `seller_id` is given: what settlement, the activity page and the reports add up.
pub struct MonthsActivity {
    /// Lines of bills that are not void.
    pub lines: Vec<(Month, SettlementLine)>,
    pub usage: Vec<PricedUsage>,
}

/// A day's usage with its base cost at its month's prices (R31), unrounded.
pub struct PricedUsage {
    pub month: Month,
    pub day: SettlementUsage,
    pub quantity: Decimal,
    pub base_cost: Decimal,
}

/// Reads the months' activity, lines placed and usage priced.
pub async fn months_activity(
    state: &AppState,
    first: Month,
    last: Month,
    seller_id: Option<&str>,
) -> Result<MonthsActivity> {
    let lines = state
        .store
        .settlement_lines(millis(first.start()), seller_id)
        .await?
        .into_iter()
        .filter_map(|line| {
            let month = activity_month(
                &line.bill_kind,
                &line.period,
                Month::of(instant(line.issued_at)),
                &line.kind,
                line.usage_month.as_deref(),
            )
            .filter(|m| *m >= first && *m <= last)?;
            Some((month, line))
        })
        .collect();
    let mut costs: HashMap<Month, HashMap<String, Decimal>> = HashMap::new();
    for month in first.through(last) {
        costs.insert(month, base_costs(state, month).await?);
    }
    let mut usage = Vec::new();
    for day in state
        .store
        .settlement_usage(&first.to_string(), &last.to_string(), seller_id)
        .await?
    {
        let Ok(month) = day.month.parse::<Month>() else {
            continue;
        };
        let quantity = stored_decimal("usage quantity", &day.quantity)?;
        // Sellers' own custom.* dimensions cost nothing (R31).
        let cost = costs
            .get(&month)
            .and_then(|c| c.get(&day.dimension))
            .copied()
            .unwrap_or_default();
        usage.push(PricedUsage {
            month,
            day,
            quantity,
            base_cost: quantity * cost,
        });
    }
    Ok(MonthsActivity { lines, usage })
}

/// Every customer × product × month from `first` to `last` with revenue or usage, of one seller's products when
/// `seller_id` is given.
pub async fn month_sums(
    state: &AppState,
    first: Month,
    last: Month,
    seller_id: Option<&str>,
) -> Result<BTreeMap<(String, String, Month), MonthSums>> {
    let activity = months_activity(state, first, last, seller_id).await?;
    let mut sums: BTreeMap<(String, String, Month), MonthSums> = BTreeMap::new();
    for (month, line) in activity.lines {
        let entry = sums
            .entry((line.customer_id, line.product_id, month))
            .or_insert_with(|| MonthSums::of(line.seller_id));
        let amount = Money::from_cents(line.amount_cents);
        entry.revenue += amount;
        if line.status == BillStatus::Paid.as_str() {
            entry.collected += amount;
        }
        if line.kind == LineKind::Refund.as_str() {
            entry.refunds += amount;
        }
    }
    for priced in activity.usage {
        let day = priced.day;
        // Usage with no bill line (not priced by the product, say) still costs the seller (R17).
        let entry = sums
            .entry((day.customer_id, day.product_id, priced.month))
            .or_insert_with(|| MonthSums::of(day.seller_id));
        entry.base_cost += priced.base_cost;
        *entry.usage.entry(day.dimension).or_default() += priced.quantity;
    }
    Ok(sums)
}

impl MonthSums {
    fn of(seller_id: String) -> MonthSums {
        MonthSums {
            seller_id,
            ..MonthSums::default()
        }
    }
}

/// Charges every seller what its customers' months owe so far, as of `at`.
pub async fn settle(state: &AppState, at: DateTime<Utc>) -> Result<()> {
    // The months whose 2nd of the next month has come: the last one is the month before `at`'s, from its 2nd on.
    let last = match at.day() >= 2 {
        true => Month::of(at).previous(),
        false => Month::of(at).previous().previous(),
    };
    let first = last.earlier(MONTHS_OPEN - 1);
    let sums = month_sums(state, first, last, None).await?;
    let charged: HashMap<(String, String, String), Position> = state
        .store
        .settlement_positions(&first.to_string(), &last.to_string())
        .await?
        .into_iter()
        .map(|p| ((p.customer_id.clone(), p.product_id.clone(), p.month.clone()), p))
        .collect();

    // Per seller: the positions that move, and the sums of their moves.
    let mut by_seller: BTreeMap<String, (Vec<Position>, i64, i64)> = BTreeMap::new();
    for ((customer_id, product_id, month), month_sums) in sums {
        let due = SettlementDue::of(
            month_sums.revenue,
            month_sums.base_cost,
            month_sums.collected,
            state.settings.fees.percent,
        );
        let (cost, total) = (Money::round(due.cost).cents(), Money::round(due.total()).cents());
        let before = charged.get(&(customer_id.clone(), product_id.clone(), month.to_string()));
        let (cost_before, total_before) = before.map_or((0, 0), |p| (p.cost_cents, p.total_cents));
        if (cost, total) == (cost_before, total_before) {
            continue;
        }
        let seller = by_seller.entry(month_sums.seller_id.clone()).or_default();
        seller.1 += cost - cost_before;
        seller.2 += total - total_before;
        seller.0.push(Position {
            customer_id,
            product_id,
            month: month.to_string(),
            seller_id: month_sums.seller_id,
            cost_cents: cost,
            total_cents: total,
        });
    }
    for (seller_id, (positions, cost, total)) in by_seller {
        let fee = total - cost;
        let mut entries = vec![(seller_account(&seller_id), -total)];
        if cost != 0 {
            entries.push((PLATFORM_BASE_COSTS.to_owned(), cost));
        }
        if fee != 0 {
            entries.push((PLATFORM_FEES.to_owned(), fee));
        }
        let charge = LedgerTransaction {
            id: new_id(),
            unique_key: format!("settlement:{seller_id}:{}", millis(at)),
            at: millis(at),
            kind: "settlement",
            description: format!(
                "base costs {} and fees {} for {} to {}",
                Money::from_cents(cost),
                Money::from_cents(fee),
                first.long_name(),
                last.long_name()
            ),
            bill_id: None,
            entries,
        };
        state.store.settle_seller(&charge, &positions).await?;
    }
    Ok(())
}

/// The base cost per unit of each dimension at the end of `month` (R31).
async fn base_costs(state: &AppState, month: Month) -> Result<HashMap<String, Decimal>> {
    let end = millis(month.next().start()) - 1;
    let mut costs = HashMap::new();
    for dimension in state.store.dimensions(end).await? {
        costs.insert(dimension.name, stored_decimal("base cost", &dimension.base_cost)?);
    }
    Ok(costs)
}
