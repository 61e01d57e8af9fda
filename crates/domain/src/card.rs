//! Payment cards as customers type them (CONTRACT section 4). Only the brand, last four digits and expiry are
//! kept after the gateway has the card.

use crate::calendar::{Instant, Month};
use crate::validation::FieldError;

/// A card number and expiry as typed, checked for shape, Luhn digit and expiry by the business clock.
#[derive(Clone, PartialEq, Eq)]
pub struct CardDetails {
    pub number: String,
    pub exp_month: u32,
    pub exp_year: i32,
    pub cvc: String,
}

impl std::fmt::Debug for CardDetails {
    /// Never prints the number or the CVC.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CardDetails({} •••• {}, {:02}/{})",
            self.brand(),
            self.last4(),
            self.exp_month,
            self.exp_year
        )
    }
}

impl CardDetails {
    pub fn parse(
        number: &str,
        exp_month: &str,
        exp_year: &str,
        cvc: &str,
        now: Instant,
    ) -> Result<CardDetails, FieldError> {
        let number: String = number.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if !(12..=19).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit()) || !luhn_valid(&number) {
            return Err(FieldError::new("card_number", "is not a valid card number"));
        }
        let exp_month: u32 = exp_month
            .trim()
            .parse()
            .ok()
            .filter(|m| (1..=12).contains(m))
            .ok_or_else(|| FieldError::new("exp_month", "must be a month from 1 to 12"))?;
        let exp_year: i32 = Some(exp_year.trim())
            .filter(|y| y.len() == 4)
            .and_then(|y| y.parse().ok())
            .ok_or_else(|| FieldError::new("exp_year", "must be a year of four digits"))?;
        let cvc = cvc.trim();
        if !(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new("cvc", "must be 3 or 4 digits"));
        }
        let expiry = Month::new(exp_year, exp_month).ok_or_else(|| FieldError::new("exp_year", "is out of range"))?;
        if expiry < Month::of(now) {
            return Err(FieldError::new("exp_year", "the card has expired"));
        }
        Ok(CardDetails {
            number,
            exp_month,
            exp_year,
            cvc: cvc.to_owned(),
        })
    }

    pub fn last4(&self) -> &str {
        &self.number[self.number.len() - 4..]
    }

    pub fn brand(&self) -> &'static str {
        let n = &self.number;
        let two: u32 = n[..2].parse().unwrap_or(0);
        let four: u32 = n[..4].parse().unwrap_or(0);
        match () {
            _ if n.starts_with('4') => "Visa",
            _ if (51..=55).contains(&two) || (2221..=2720).contains(&four) => "Mastercard",
            _ if two == 34 || two == 37 => "American Express",
            _ if n.starts_with("6011") || n.starts_with("65") => "Discover",
            _ => "Card",
        }
    }
}

pub fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::parse_instant;

    fn now() -> Instant {
        parse_instant("2027-06-17T00:00:00Z").unwrap()
    }

    #[test]
    fn accepts_the_sandbox_cards() {
        for number in ["4242424242424242", "4000 0000 0000 0002", "4000-0000-0000-0341"] {
            let card = CardDetails::parse(number, "12", "2030", "123", now()).unwrap();
            assert_eq!(card.brand(), "Visa");
        }
        assert_eq!(
            CardDetails::parse("4242424242424242", "6", "2027", "123", now())
                .unwrap()
                .last4(),
            "4242"
        );
    }

    #[test]
    fn refuses_bad_numbers_and_expired_cards() {
        assert_eq!(
            CardDetails::parse("4242424242424241", "12", "2030", "123", now())
                .unwrap_err()
                .path,
            "card_number"
        );
        assert_eq!(
            CardDetails::parse("abc", "12", "2030", "123", now()).unwrap_err().path,
            "card_number"
        );
        assert_eq!(
            CardDetails::parse("4242424242424242", "13", "2030", "123", now())
                .unwrap_err()
                .path,
            "exp_month"
        );
        assert_eq!(
            CardDetails::parse("4242424242424242", "12", "30", "123", now())
                .unwrap_err()
                .path,
            "exp_year"
        );
        assert_eq!(
            CardDetails::parse("4242424242424242", "5", "2027", "123", now())
                .unwrap_err()
                .path,
            "exp_year"
        );
        assert_eq!(
            CardDetails::parse("4242424242424242", "5", "2028", "12", now())
                .unwrap_err()
                .path,
            "cvc"
        );
    }

    #[test]
    fn debug_hides_the_number() {
        let card = CardDetails::parse("4242424242424242", "12", "2030", "123", now()).unwrap();
        let shown = format!("{card:?}");
        assert!(!shown.contains("424242424242") && !shown.contains("123,") && shown.contains("4242"));
    }
}
