//! Rating usage through graduated tiers (R16), the one implementation behind the billing page, the monthly bills
//! and the reports. Tiers count per customer × product × dimension × calendar month; amounts stay unrounded until
//! a bill line is made of them (R5).

use rust_decimal::Decimal;

use crate::money::Money;
use crate::pricing::{Pricing, Tier};

/// The unrounded price of the first `quantity` units of a month: each band at its own rate.
pub fn graduated(tiers: &[Tier], quantity: Decimal) -> Decimal {
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
pub fn graduated_after(tiers: &[Tier], before: Decimal, quantity: Decimal) -> Decimal {
    graduated(tiers, before + quantity) - graduated(tiers, before)
}

/// The tiers a product prices a dimension with; `None` when it does not price it (R17: platform usage is then
/// rated at 0 for the customer).
pub fn tiers_for<'a>(pricing: &'a Pricing, dimension: &str) -> Option<&'a [Tier]> {
    pricing
        .usage
        .iter()
        .find(|u| u.dimension == dimension)
        .map(|u| u.tiers.as_slice())
}

/// A usage line's amount: the month's quantity of one dimension rated and rounded once (R5).
pub fn usage_charge(pricing: &Pricing, dimension: &str, quantity: Decimal) -> Money {
    tiers_for(pricing, dimension).map_or(Money::ZERO, |tiers| Money::round(graduated(tiers, quantity)))
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
        let pricing = Pricing {
            signup_fee: Money::ZERO,
            monthly_fee: Money::ZERO,
            usage: vec![UsagePrice {
                dimension: "custom.exports".into(),
                tiers: tiers.to_vec(),
            }],
        };
        assert_eq!(
            usage_charge(&pricing, "custom.exports", d("123456.789")),
            Money::from_cents(123)
        );
        assert_eq!(usage_charge(&pricing, "storage.gb_month", d("99")), Money::ZERO);
    }
}
