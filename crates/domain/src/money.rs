//! Exact money (docs/rules.md R4-R6): amounts in whole cents, prices and quantities as exact decimals.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub};
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

/// The largest price or fee a seller may set: keeps every sum far inside `i64` cents.
const MAX_PRICE: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// An amount of USD in whole cents, signed from the account holder's side (R6).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_cents(cents: i64) -> Self {
        Money(cents)
    }

    pub const fn cents(self) -> i64 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    /// Rounds an exact amount to cents, half away from zero (R5). The only way a computed amount becomes money.
    pub fn round(amount: Decimal) -> Money {
        let rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        let cents = rounded * Decimal::ONE_HUNDRED;
        Money(i64::try_from(cents).expect("amounts stay far inside i64 cents"))
    }

    /// Parses a non-negative price such as `"9.67"` or `"10"`: at most two decimals, at most 1,000,000,000.
    pub fn parse_price(text: &str) -> Result<Money, MoneyError> {
        let value = parse_decimal(text)?;
        if value.is_sign_negative() && !value.is_zero() {
            return Err(MoneyError::Negative);
        }
        if value.scale() > 2 && value.normalize().scale() > 2 {
            return Err(MoneyError::TooPrecise(2));
        }
        if value > MAX_PRICE {
            return Err(MoneyError::TooLarge);
        }
        Ok(Money::round(value))
    }
}

impl fmt::Display for Money {
    /// `"9.67"`, `"-3.55"`, `"20.00"`: exactly two decimals, as the API shows amounts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl Money {
    /// The amount as people read it on pages and in e-mails: `$9.67`, `-$3.55`.
    pub fn usd(self) -> Usd {
        Usd(self)
    }
}

/// An amount written for people, the sign before the dollar sign (R6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usd(Money);

impl fmt::Display for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0.0 < 0 { "-" } else { "" };
        write!(f, "{sign}${}", Money(self.0.0.abs()))
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

/// A price per unit (`"0.00001"`): exact, non-negative, at most 8 decimals. Never rounded before rating (R5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitPrice(Decimal);

impl UnitPrice {
    pub fn parse(text: &str) -> Result<UnitPrice, MoneyError> {
        let value = parse_decimal(text)?;
        if value.is_sign_negative() && !value.is_zero() {
            return Err(MoneyError::Negative);
        }
        let value = value.normalize();
        if value.scale() > 8 {
            return Err(MoneyError::TooPrecise(8));
        }
        if value > MAX_PRICE {
            return Err(MoneyError::TooLarge);
        }
        Ok(UnitPrice(value))
    }

    pub fn value(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl fmt::Display for UnitPrice {
    /// At least two decimals, as prices are written (`"0.20"`, `"0.00001"`, `"1.00"`), never trailing zeros past
    /// the cents.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let normalized = self.0.normalize();
        if normalized.scale() < 2 {
            write!(f, "{:.2}", normalized)
        } else {
            write!(f, "{normalized}")
        }
    }
}

impl FromStr for UnitPrice {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UnitPrice::parse(s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("must be a decimal number written as a string, such as \"9.99\"")]
    NotADecimal,
    #[error("must not be negative")]
    Negative,
    #[error("must have at most {0} decimal places")]
    TooPrecise(u32),
    #[error("is too large")]
    TooLarge,
}

/// Plain decimal notation only: no exponents, no signs other than a leading minus, no spaces.
fn parse_decimal(text: &str) -> Result<Decimal, MoneyError> {
    let plain = !text.is_empty()
        && text.len() <= 40
        && text
            .strip_prefix('-')
            .unwrap_or(text)
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.')
        && text.chars().filter(|&c| c == '.').count() <= 1
        && !text.ends_with('.')
        && !text.trim_start_matches('-').starts_with('.');
    if !plain {
        return Err(MoneyError::NotADecimal);
    }
    Decimal::from_str_exact(text).map_err(|_| MoneyError::NotADecimal)
}

/// A usage quantity: an exact, non-negative decimal (R13), never rounded before rating.
pub fn parse_quantity(text: &str) -> Result<Decimal, MoneyError> {
    let value = parse_decimal(text)?;
    if value.is_sign_negative() && !value.is_zero() {
        return Err(MoneyError::Negative);
    }
    if value > Decimal::from(1_000_000_000_000_i64) {
        return Err(MoneyError::TooLarge);
    }
    Ok(value.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(Money::round(Decimal::new(4665, 3)), Money::from_cents(467));
        assert_eq!(Money::round(Decimal::new(-4665, 3)), Money::from_cents(-467));
        assert_eq!(Money::round(Decimal::new(4664, 3)), Money::from_cents(466));
        assert_eq!(
            Money::round(Decimal::from(10) * Decimal::from(14) / Decimal::from(30)),
            Money::from_cents(467)
        );
    }

    #[test]
    fn people_read_the_sign_before_the_dollar_sign() {
        assert_eq!(Money::from_cents(-433).usd().to_string(), "-$4.33");
        assert_eq!(Money::from_cents(967).usd().to_string(), "$9.67");
        assert_eq!(Money::ZERO.usd().to_string(), "$0.00");
    }

    #[test]
    fn displays_two_decimals_with_sign() {
        assert_eq!(Money::from_cents(967).to_string(), "9.67");
        assert_eq!(Money::from_cents(2000).to_string(), "20.00");
        assert_eq!(Money::from_cents(-355).to_string(), "-3.55");
        assert_eq!(Money::from_cents(-5).to_string(), "-0.05");
        assert_eq!(Money::ZERO.to_string(), "0.00");
    }

    #[test]
    fn parses_prices() {
        assert_eq!(Money::parse_price("9.67"), Ok(Money::from_cents(967)));
        assert_eq!(Money::parse_price("10"), Ok(Money::from_cents(1000)));
        assert_eq!(Money::parse_price("0.30"), Ok(Money::from_cents(30)));
        assert_eq!(Money::parse_price("1.500"), Ok(Money::from_cents(150)));
        assert_eq!(Money::parse_price("1.505"), Err(MoneyError::TooPrecise(2)));
        assert_eq!(Money::parse_price("-1"), Err(MoneyError::Negative));
        assert_eq!(Money::parse_price("1000000001"), Err(MoneyError::TooLarge));
        for bad in ["", "abc", "1e3", "+1", " 1", "1.", ".5", "1.2.3", "NaN", "١"] {
            assert_eq!(Money::parse_price(bad), Err(MoneyError::NotADecimal), "{bad}");
        }
    }

    #[test]
    fn parses_unit_prices_to_eight_decimals() {
        assert_eq!(UnitPrice::parse("0.00001").unwrap().to_string(), "0.00001");
        assert_eq!(UnitPrice::parse("0.2").unwrap().to_string(), "0.20");
        assert_eq!(UnitPrice::parse("1").unwrap().to_string(), "1.00");
        assert_eq!(UnitPrice::parse("0.250").unwrap().to_string(), "0.25");
        assert_eq!(UnitPrice::parse("0.25").unwrap().value(), Decimal::new(25, 2));
        assert!(UnitPrice::parse("0.123456789").is_err());
        assert!(UnitPrice::parse("-0.1").is_err());
    }

    #[test]
    fn parses_quantities() {
        assert_eq!(parse_quantity("4.2").unwrap(), Decimal::new(42, 1));
        assert!(parse_quantity("-1").is_err());
        assert!(parse_quantity("1e99").is_err());
        assert!(parse_quantity("99999999999999999999").is_err());
    }
}
