//! The seller's activity (reference 9.1, CONTRACT section 9): for a month, per product, the usage by dimension,
//! the revenue expected and collected, the base costs and fees it incurs (R29), the refunds, and how many collected
//! bills took the per-bill fee (R28); and the revenue collected month by month, for the console's chart.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tollgate_domain::Money;
use tollgate_domain::calendar::Month;
use tollgate_domain::fees::SettlementDue;
use tollgate_store::millis;
use tollgate_store::sellers::Seller;

use crate::error::Result;
use crate::services::products;
use crate::services::settlement::month_sums;
use crate::state::AppState;

pub struct ProductActivity {
    pub code: String,
    pub name: String,
    pub usage: Vec<(String, Decimal)>,
    pub revenue_expected: Money,
    pub revenue_collected: Money,
    pub base_costs: Money,
    /// The percentage fee on the value-add collected so far.
    pub fees: Money,
    pub refunds: Money,
    pub fee_bills: i64,
}

/// The seller's products in `month`, each with its figures so far.
pub async fn activity(state: &AppState, seller: &Seller, month: Month) -> Result<Vec<ProductActivity>> {
    let sums = month_sums(state, month, month, Some(&seller.id)).await?;
    let counts: BTreeMap<String, i64> = state
        .store
        .fee_bill_counts(&seller.id, millis(month.start()), millis(month.next().start()))
        .await?
        .into_iter()
        .collect();
    let mut out = Vec::new();
    for view in products::list(state, seller).await? {
        let product_id = &view.product.id;
        let mut figures = Figures::default();
        for (_, m) in sums.iter().filter(|((_, p, _), _)| p == product_id) {
            let due = SettlementDue::of(m.revenue, m.base_cost, m.collected, state.settings.fees.percent);
            figures.expected += m.revenue;
            figures.collected += m.collected;
            figures.base_cost += m.base_cost;
            figures.fee += due.fee;
            figures.refunds += m.refunds;
            for (dimension, quantity) in &m.usage {
                *figures.usage.entry(dimension.clone()).or_default() += quantity;
            }
        }
        out.push(ProductActivity {
            code: view.product.code.clone(),
            name: view.product.name.clone(),
            usage: figures.usage.into_iter().collect(),
            revenue_expected: figures.expected,
            revenue_collected: figures.collected,
            base_costs: Money::round(figures.base_cost),
            fees: Money::round(figures.fee),
            refunds: figures.refunds,
            fee_bills: counts.get(product_id).copied().unwrap_or(0),
        });
    }
    Ok(out)
}

#[derive(Default)]
struct Figures {
    expected: Money,
    collected: Money,
    base_cost: Decimal,
    fee: Decimal,
    refunds: Money,
    usage: BTreeMap<String, Decimal>,
}

/// The revenue collected for each of the `months` months up to `last`, oldest first, all products together.
pub async fn revenue_by_month(
    state: &AppState,
    seller: &Seller,
    last: Month,
    months: u32,
) -> Result<Vec<(Month, Money)>> {
    let first = last.earlier(months - 1);
    let mut by_month: BTreeMap<Month, Money> = first.through(last).map(|m| (m, Money::ZERO)).collect();
    for ((_, _, month), m) in month_sums(state, first, last, Some(&seller.id)).await? {
        *by_month.entry(month).or_default() += m.collected;
    }
    Ok(by_month.into_iter().collect())
}
