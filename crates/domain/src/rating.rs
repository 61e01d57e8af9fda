//! Rating usage through graduated tiers (R16), the one implementation behind the billing page, the monthly bills
//! and the reports. Tiers count per customer × product × dimension × calendar month; amounts stay unrounded until
//! a bill line is made of them (R5).

use rust_decimal::Decimal;

use crate::money::Money;
use crate::pricing::{COMPUTE_HOURS_PREFIX, PriceSchedule, Pricing, Tier};

/// The unrounded price of the first `quantity` units of a month: each band at its own rate.
fn graduated(tiers: &[Tier], quantity: Decimal) -> Decimal {
    let mut from = Decimal::ZERO;
    let mut amount = Decimal::ZERO;
    for tier in tiers {
        if quantity <= from {
            break;
        }
        let to = tier.up_to.map_or(quantity, |up_to| up_to.min(quantity));
        amount += (to - from) * tier.unit_price.value();
        match tier.up_to {
            Some(up_to) => from = up_to,
            None => break,
        }
    }
    amount
}

/// The unrounded price of `quantity` more units after `before` units of the same month: a late line's amount
/// continues the month's tier position (R14), as does usage after a resubscription (R16).
fn graduated_after(tiers: &[Tier], before: Decimal, quantity: Decimal) -> Decimal {
    graduated(tiers, before + quantity) - graduated(tiers, before)
}

/// The tiers a product prices a dimension with; `None` when it does not price it (R17: platform usage is then
/// rated at 0 for the customer).
fn tiers_for<'a>(pricing: &'a Pricing, dimension: &str) -> Option<&'a [Tier]> {
    pricing
        .usage
        .iter()
        .find(|u| u.dimension == dimension)
        .map(|u| u.tiers.as_slice())
}

/// One dimension's quantity over a month (instance hours per configuration, R18).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageTotal {
    pub dimension: String,
    /// `region/environment/instance_type` for instance hours.
    pub configuration: Option<String>,
    pub quantity: Decimal,
}

/// A usage line of a bill: its quantity rated and rounded once (R5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatedLine {
    pub dimension: String,
    pub configuration: Option<String>,
    pub quantity: Decimal,
    pub amount: Money,
}

/// The lines of `usage` after the units of the same month in `before`, one per dimension the product prices and
/// per configuration whose hours ran: a late line (R14) is rated as if it had arrived in time, its tiers
/// continuing from the month's usage that was billed, and usage from a price change's day on continues from the
/// usage before it (R26). Dimensions the product does not price are rated at 0 for the customer (R17) and make no
/// line.
pub fn lines_after(schedule: &PriceSchedule, before: &[UsageTotal], usage: &[UsageTotal]) -> Vec<RatedLine> {
    usage
        .iter()
        .filter_map(|u| {
            let before = before
                .iter()
                .find(|t| t.dimension == u.dimension && t.configuration == u.configuration)
                .map_or(Decimal::ZERO, |t| t.quantity);
            rated(schedule, u, before)
        })
        .collect()
}

/// A price in force from a day of the month on: a price change takes effect at 00:00 of a day (R25).
#[derive(Debug, Clone)]
pub struct PriceFrom {
    pub day: u32,
    pub schedule: PriceSchedule,
}

/// The price in force on a day of the month: the last that took effect by then.
pub fn price_on(prices: &[PriceFrom], day: u32) -> Option<&PriceFrom> {
    prices.iter().rev().find(|p| p.day <= day).or(prices.first())
}

/// One day's usage of one dimension (and configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayUsage {
    pub day: u32,
    pub usage: UsageTotal,
}

/// A month's usage lines when its price changed during the month (R26): each price rates the usage of its own days
/// in lines of its own, the tiers counting on from everything before (the month's usage billed already, `billed`,
/// and the earlier prices' days). Each line comes with the index of its price and the days it covers.
pub fn lines_by_price(prices: &[PriceFrom], days: &[DayUsage], billed: &[UsageTotal]) -> Vec<PricedLine> {
    let mut before: Vec<UsageTotal> = billed.to_vec();
    let mut lines = Vec::new();
    for (i, price) in prices.iter().enumerate() {
        let last_day = prices.get(i + 1).map_or(u32::MAX, |next| next.day - 1);
        let mut part: Vec<UsageTotal> = Vec::new();
        for day in days.iter().filter(|d| (price.day..=last_day).contains(&d.day)) {
            add(&mut part, &day.usage);
        }
        part.sort_by(|a, b| (&a.dimension, &a.configuration).cmp(&(&b.dimension, &b.configuration)));
        lines.extend(
            lines_after(&price.schedule, &before, &part)
                .into_iter()
                .map(|line| PricedLine {
                    price: i,
                    days: price.day..=last_day,
                    line,
                }),
        );
        for total in &part {
            add(&mut before, total);
        }
    }
    lines
}

/// A usage line with the price that rated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    /// The index of the price in force.
    pub price: usize,
    /// The days of the month that price covers.
    pub days: std::ops::RangeInclusive<u32>,
    pub line: RatedLine,
}

fn add(totals: &mut Vec<UsageTotal>, usage: &UsageTotal) {
    match totals
        .iter_mut()
        .find(|t| t.dimension == usage.dimension && t.configuration == usage.configuration)
    {
        Some(total) => total.quantity += usage.quantity,
        None => totals.push(usage.clone()),
    }
}

/// The line of `usage` after `before` units of the same month; `None` when the product does not price it.
fn rated(schedule: &PriceSchedule, usage: &UsageTotal, before: Decimal) -> Option<RatedLine> {
    Some(RatedLine {
        dimension: usage.dimension.clone(),
        configuration: usage.configuration.clone(),
        quantity: usage.quantity,
        amount: Money::round(unrounded(schedule, usage, before)?),
    })
}

/// The unrounded amount of `usage` after `before` units of the same month; `None` when the product does not
/// price it.
pub fn unrounded(schedule: &PriceSchedule, usage: &UsageTotal, before: Decimal) -> Option<Decimal> {
    if usage.dimension.starts_with(COMPUTE_HOURS_PREFIX) {
        let configuration = usage.configuration.as_deref()?;
        let hourly = schedule
            .configurations
            .iter()
            .find(|c| format!("{}/{}/{}", c.region, c.environment, c.instance_type) == configuration)?;
        return Some(usage.quantity * hourly.hourly_price.value());
    }
    tiers_for(&schedule.pricing, &usage.dimension).map(|tiers| graduated_after(tiers, before, usage.quantity))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::UnitPrice;
    use crate::pricing::UsagePrice;

    fn tier(up_to: Option<&str>, price: &str) -> Tier {
        Tier {
            up_to: up_to.map(|u| u.parse().unwrap()),
            unit_price: UnitPrice::parse(price).unwrap(),
        }
    }

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn a_single_tier_is_a_unit_price() {
        let tiers = [tier(None, "0.20")];
        assert_eq!(graduated(&tiers, d("4.2")), d("0.84"));
        assert_eq!(graduated(&tiers, Decimal::ZERO), Decimal::ZERO);
    }

    #[test]
    fn graduated_bands_each_at_their_rate() {
        let tiers = [
            tier(Some("100"), "0.10"),
            tier(Some("1000"), "0.05"),
            tier(None, "0.01"),
        ];
        assert_eq!(graduated(&tiers, d("50")), d("5"));
        assert_eq!(graduated(&tiers, d("100")), d("10"));
        assert_eq!(graduated(&tiers, d("150")), d("12.5"));
        assert_eq!(graduated(&tiers, d("2000")), d("65"));
    }

    #[test]
    fn late_and_resubscribed_usage_continue_the_tier_position() {
        let tiers = [tier(Some("100"), "0.10"), tier(None, "0.05")];
        assert_eq!(graduated_after(&tiers, d("90"), d("20")), d("1.5"));
        assert_eq!(
            graduated_after(&tiers, d("90"), d("20")) + graduated(&tiers, d("90")),
            graduated(&tiers, d("110"))
        );
    }

    #[test]
    fn quantities_are_never_rounded_before_rating() {
        let tiers = [tier(None, "0.00001")];
        assert_eq!(graduated(&tiers, d("123456.789")), d("1.23456789"));
        let schedule = PriceSchedule {
            pricing: Pricing {
                signup_fee: Money::ZERO,
                monthly_fee: Money::ZERO,
                usage: vec![UsagePrice {
                    dimension: "custom.exports".into(),
                    tiers: tiers.to_vec(),
                }],
            },
            configurations: Vec::new(),
        };
        let lines = lines_after(&schedule, &[], &[total("custom.exports", None, "123456.789")]);
        assert_eq!(lines[0].amount, Money::from_cents(123), "rounded once, on the line");
    }

    fn total(dimension: &str, configuration: Option<&str>, quantity: &str) -> UsageTotal {
        UsageTotal {
            dimension: dimension.into(),
            configuration: configuration.map(Into::into),
            quantity: d(quantity),
        }
    }

    fn machine_image() -> PriceSchedule {
        PriceSchedule {
            pricing: Pricing {
                signup_fee: Money::ZERO,
                monthly_fee: Money::ZERO,
                usage: vec![UsagePrice {
                    dimension: "transfer.out_gb".into(),
                    tiers: vec![tier(Some("10"), "0.20"), tier(None, "0.10")],
                }],
            },
            configurations: vec![crate::pricing::Configuration {
                region: "us-east".into(),
                environment: "linux".into(),
                instance_type: "small".into(),
                hourly_price: UnitPrice::parse("0.20").unwrap(),
            }],
        }
    }

    #[test]
    fn a_month_has_a_line_per_priced_dimension_and_configuration() {
        let lines = lines_after(
            &machine_image(),
            &[],
            &[
                total("compute.hours.small", Some("us-east/linux/small"), "3"),
                total("transfer.out_gb", None, "12"),
                // Not priced by the product: rated 0, no line (R17).
                total("storage.gb_month", None, "5"),
            ],
        );
        let amounts: Vec<(&str, Money)> = lines.iter().map(|l| (l.dimension.as_str(), l.amount)).collect();
        assert_eq!(
            amounts,
            vec![
                ("compute.hours.small", Money::from_cents(60)),
                ("transfer.out_gb", Money::from_cents(220))
            ]
        );
    }

    #[test]
    fn a_change_during_the_month_rates_each_part_at_its_price_with_the_tiers_counting_on() {
        let mut dearer = machine_image();
        dearer.pricing.usage[0].tiers = vec![tier(Some("10"), "0.40"), tier(None, "0.30")];
        let prices = [
            PriceFrom {
                day: 1,
                schedule: machine_image(),
            },
            PriceFrom {
                day: 21,
                schedule: dearer,
            },
        ];
        let day = |day, quantity| DayUsage {
            day,
            usage: total("transfer.out_gb", None, quantity),
        };
        let lines = lines_by_price(&prices, &[day(3, "6"), day(20, "2"), day(21, "4"), day(30, "1")], &[]);
        let amounts: Vec<(usize, Money)> = lines.iter().map(|l| (l.price, l.line.amount)).collect();
        // 8 GB before the 21st at 0.20; from it, 2 GB left in the first band at 0.40 and 3 more at 0.30.
        assert_eq!(amounts, vec![(0, Money::from_cents(160)), (1, Money::from_cents(170))]);
        assert_eq!(lines[1].days, 21..=u32::MAX);
        assert_eq!(price_on(&prices, 20).unwrap().day, 1);
        assert_eq!(price_on(&prices, 21).unwrap().day, 21);
    }

    #[test]
    fn late_lines_continue_from_the_usage_billed_in_time() {
        let schedule = machine_image();
        let in_time = [total("transfer.out_gb", None, "8")];
        let late = [total("transfer.out_gb", None, "4"), total("custom.unknown", None, "1")];
        let lines = lines_after(&schedule, &in_time, &late);
        // 2 GB left in the first band at 0.20, 2 more at 0.10.
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].amount, Money::from_cents(60));
    }
}
