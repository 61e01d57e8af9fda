//! A price written out for people: the purchase and subscription pages' pricing table and the price-change
//! e-mails' list of new prices.

use std::collections::HashMap;

use tollgate_domain::pricing::{CUSTOM_PREFIX, PriceSchedule, Tier};

use crate::error::Result;
use crate::services::products;
use crate::state::AppState;

/// The pricing table: fees, usage tiers in their units, hourly prices per configuration.
pub async fn pricing_table(state: &AppState, schedule: &PriceSchedule) -> Result<Vec<(String, String)>> {
    let units: HashMap<String, String> = products::dimensions(state)
        .await?
        .into_iter()
        .map(|d| (d.name, d.unit))
        .collect();
    Ok(pricing_rows(schedule, &units))
}

fn pricing_rows(schedule: &PriceSchedule, units: &HashMap<String, String>) -> Vec<(String, String)> {
    let pricing = &schedule.pricing;
    let mut rows = vec![
        ("One-time fee".to_owned(), format!("${}", pricing.signup_fee)),
        ("Monthly fee".to_owned(), format!("${} a month", pricing.monthly_fee)),
    ];
    for usage in &pricing.usage {
        // Platform dimensions have the operator's unit; a seller's own dimension is counted in its own units.
        let (label, unit) = match units.get(&usage.dimension) {
            Some(unit) => (format!("{} ({unit})", usage.dimension), unit.clone()),
            None => (
                usage.dimension.trim_start_matches(CUSTOM_PREFIX).replace('_', " "),
                "unit".to_owned(),
            ),
        };
        rows.push((label, describe_tiers(&usage.tiers, &unit)));
    }
    for c in &schedule.configurations {
        rows.push((
            format!("{} {} {}", c.region, c.environment, c.instance_type),
            format!("${} an hour", c.hourly_price),
        ));
    }
    rows
}

fn describe_tiers(tiers: &[Tier], unit: &str) -> String {
    if let [only] = tiers {
        return format!("${} per {unit}", only.unit_price);
    }
    let mut from = rust_decimal::Decimal::ZERO;
    tiers
        .iter()
        .map(|t| {
            let text = match t.up_to {
                Some(to) => format!(
                    "${} per {unit} from {} to {}",
                    t.unit_price,
                    from.normalize(),
                    to.normalize()
                ),
                None => format!("${} per {unit} above {}", t.unit_price, from.normalize()),
            };
            from = t.up_to.unwrap_or(from);
            text
        })
        .collect::<Vec<_>>()
        .join("; ")
}
