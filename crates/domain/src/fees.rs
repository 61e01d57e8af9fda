//! What the operator keeps from collected money (docs/rules.md R28, R31).

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::money::Money;

/// The operator's fees (R31): a percentage of value-add and a fixed fee per product per collected bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeSchedule {
    pub percent: Decimal,
    pub per_bill: Money,
}

impl Default for FeeSchedule {
    fn default() -> Self {
        FeeSchedule {
            percent: Decimal::from(3),
            per_bill: Money::from_cents(30),
        }
    }
}

/// One seller's share of a collected bill (R28).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deposit<S> {
    pub seller: S,
    /// The bill's lines for this seller.
    pub gross: Money,
    /// The per-bill fee times the number of this seller's products whose lines total more than 0.00.
    pub fees: Money,
}

impl<S> Deposit<S> {
    pub fn net(&self) -> Money {
        self.gross - self.fees
    }
}

/// Splits a collected bill's lines, given as (seller, product, amount), into one deposit per seller (R28).
pub fn deposits<S: Ord + Clone, P: Ord>(
    lines: impl IntoIterator<Item = (S, P, Money)>,
    per_bill: Money,
) -> Vec<Deposit<S>> {
    let mut by_product: BTreeMap<(S, P), Money> = BTreeMap::new();
    for (seller, product, amount) in lines {
        *by_product.entry((seller, product)).or_default() += amount;
    }
    let mut by_seller: BTreeMap<S, Deposit<S>> = BTreeMap::new();
    for ((seller, _), total) in by_product {
        let deposit = by_seller.entry(seller.clone()).or_insert(Deposit {
            seller,
            gross: Money::ZERO,
            fees: Money::ZERO,
        });
        deposit.gross += total;
        if total > Money::ZERO {
            deposit.fees += per_bill;
        }
    }
    by_seller.into_values().collect()
}

/// What a seller owes for one customer × product × month so far (R29, the reference's 5.4 table), unrounded and
/// in two parts: the base cost, up to what was collected plus whatever cost the revenue does not cover; and the
/// percentage fee on the value-add collected, only when the month's value-add is not negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettlementDue {
    pub cost: Decimal,
    pub fee: Decimal,
}

impl SettlementDue {
    /// `revenue` R (the month's fees and usage charges less refunds), `base_cost` C (what the platform charges for
    /// the usage), `collected` P (the part of R collected so far).
    pub fn of(revenue: Money, base_cost: Decimal, collected: Money, percent: Decimal) -> SettlementDue {
        let (r, p) = (revenue.to_decimal(), collected.to_decimal());
        let cost = base_cost.min(p).max(Decimal::ZERO) + (base_cost - r).max(Decimal::ZERO);
        let fee = match r >= base_cost {
            true => percent / Decimal::ONE_HUNDRED * (p - base_cost).max(Decimal::ZERO),
            false => Decimal::ZERO,
        };
        SettlementDue { cost, fee }
    }

    pub fn total(&self) -> Decimal {
        self.cost + self.fee
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as2_signup_deposit_is_9_37() {
        let split = deposits(
            [("s", "p", Money::from_cents(500)), ("s", "p", Money::from_cents(467))],
            Money::from_cents(30),
        );
        assert_eq!(split.len(), 1);
        assert_eq!(split[0].gross, Money::from_cents(967));
        assert_eq!(split[0].net(), Money::from_cents(937));
    }

    #[test]
    fn as9_two_products_pay_two_fees() {
        let split = deposits(
            [("s", "x", Money::from_cents(1000)), ("s", "y", Money::from_cents(500))],
            Money::from_cents(30),
        );
        assert_eq!(split[0].net(), Money::from_cents(1440));
        assert_eq!(split[0].fees, Money::from_cents(60));
    }

    #[test]
    fn products_totalling_zero_pay_no_fee_and_sellers_are_split() {
        let split = deposits(
            [
                ("a", "x", Money::from_cents(1000)),
                ("a", "z", Money::ZERO),
                ("b", "y", Money::from_cents(500)),
            ],
            Money::from_cents(30),
        );
        assert_eq!(
            split[0],
            Deposit {
                seller: "a",
                gross: Money::from_cents(1000),
                fees: Money::from_cents(30)
            }
        );
        assert_eq!(split[1].net(), Money::from_cents(470));
    }

    fn due(revenue: &str, cost: &str, collected: &str) -> SettlementDue {
        let money = |m: &str| Money::round(m.parse().unwrap());
        SettlementDue::of(
            money(revenue),
            cost.parse().unwrap(),
            money(collected),
            Decimal::from(3),
        )
    }

    #[test]
    fn as6_positive_value_add_pays_cost_and_three_percent() {
        assert_eq!(
            Money::round(due("25.00", "10.00", "25.00").total()),
            Money::from_cents(1045)
        );
    }

    #[test]
    fn as7_negative_value_add_pays_the_uncovered_cost_paid_or_not() {
        let paid = due("10.00", "15.00", "10.00");
        assert_eq!((paid.cost, paid.fee), ("15".parse().unwrap(), Decimal::ZERO));
        let unpaid = due("10.00", "15.00", "0.00");
        assert_eq!(Money::round(unpaid.total()), Money::from_cents(500));
    }

    #[test]
    fn as4_the_fee_follows_what_is_collected() {
        // June: 9.67 collected at sign-up, the July 1 bill's 0.84 of June usage not yet.
        let before = due("10.51", "0.63", "9.67");
        assert_eq!(Money::round(before.cost), Money::from_cents(63));
        assert_eq!(Money::round(before.total()), Money::from_cents(90));
        let after = due("10.51", "0.63", "10.51");
        assert_eq!(
            Money::round(after.total()) - Money::round(before.total()),
            Money::from_cents(3)
        );
    }
}
