//! Proration of monthly fees by whole days (docs/rules.md R8, R23).

use rust_decimal::Decimal;

use crate::calendar::{Instant, day_and_length};
use crate::money::Money;

/// The part of a monthly fee from day d through the month's end, day d included: monthly × (D − d + 1) / D (R8).
pub fn remaining_including_today(monthly_fee: Money, at: Instant) -> Money {
    let (d, days) = day_and_length(at);
    Money::round(monthly_fee.to_decimal() * Decimal::from(days - d + 1) / Decimal::from(days))
}

/// The unused part of a monthly fee after a cancellation on day c: monthly × (D − c) / D, the cancellation day being
/// paid for (R23).
pub fn unused_after_today(monthly_fee: Money, at: Instant) -> Money {
    let (c, days) = day_and_length(at);
    Money::round(monthly_fee.to_decimal() * Decimal::from(days - c) / Decimal::from(days))
}

/// What a customer pays at sign-up, line by line (R8): the one-time fee, and the monthly fee prorated from the
/// sign-up day. Each line is rounded on its own (R5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignupCharge {
    pub signup_fee: Money,
    pub prorated_monthly_fee: Money,
}

impl SignupCharge {
    pub fn at(signup_fee: Money, monthly_fee: Money, at: Instant) -> SignupCharge {
        SignupCharge {
            signup_fee,
            prorated_monthly_fee: remaining_including_today(monthly_fee, at),
        }
    }

    pub fn total(&self) -> Money {
        self.signup_fee + self.prorated_monthly_fee
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::parse_instant;

    fn at(s: &str) -> Instant {
        parse_instant(s).unwrap()
    }

    #[test]
    fn as3_cancelling_on_july_20_gives_back_days_21_to_31() {
        let monthly = Money::from_cents(1000);
        assert_eq!(
            unused_after_today(monthly, at("2027-07-20T23:59:59Z")),
            Money::from_cents(355)
        );
        assert_eq!(unused_after_today(monthly, at("2027-07-31T10:00:00Z")), Money::ZERO);
        assert_eq!(
            unused_after_today(monthly, at("2027-07-01T00:00:00Z")),
            Money::from_cents(968)
        );
    }

    #[test]
    fn as1_june_signups_are_prorated_from_the_signup_day() {
        let monthly = Money::from_cents(2000);
        assert_eq!(
            remaining_including_today(monthly, at("2027-06-03T09:00:00Z")),
            Money::from_cents(1867)
        );
        assert_eq!(
            remaining_including_today(monthly, at("2027-06-04T00:00:00Z")),
            Money::from_cents(1800)
        );
        assert_eq!(
            remaining_including_today(monthly, at("2027-06-05T23:59:59Z")),
            Money::from_cents(1733)
        );
    }

    #[test]
    fn as2_signup_on_the_17th_costs_9_67() {
        let charge = SignupCharge::at(
            Money::from_cents(500),
            Money::from_cents(1000),
            at("2027-06-17T00:00:00Z"),
        );
        assert_eq!(charge.prorated_monthly_fee, Money::from_cents(467));
        assert_eq!(charge.total(), Money::from_cents(967));
    }

    #[test]
    fn first_and_last_day_of_month() {
        let monthly = Money::from_cents(3100);
        assert_eq!(remaining_including_today(monthly, at("2027-07-01T00:00:00Z")), monthly);
        assert_eq!(
            remaining_including_today(monthly, at("2027-07-31T23:59:59Z")),
            Money::from_cents(100)
        );
        // 29-day February in a leap year.
        assert_eq!(
            remaining_including_today(Money::from_cents(2900), at("2028-02-29T12:00:00Z")),
            Money::from_cents(100)
        );
    }
}
