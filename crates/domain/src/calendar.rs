//! Calendar months and days in UTC, the frame of every billing rule (docs/rules.md, "Time").

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};

/// Every instant in Tollgate is UTC.
pub type Instant = DateTime<Utc>;

/// A calendar month such as `2027-06`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    pub fn new(year: i32, month: u32) -> Option<Month> {
        ((1..=12).contains(&month) && (1..=9999).contains(&year)).then_some(Month { year, month })
    }

    pub fn of(instant: Instant) -> Month {
        Month {
            year: instant.year(),
            month: instant.month(),
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    pub fn days(self) -> u32 {
        let next = self.next();
        let first_of_next = NaiveDate::from_ymd_opt(next.year, next.month, 1).expect("valid month");
        first_of_next.pred_opt().expect("valid date").day()
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                month: self.month + 1,
                ..self
            }
        }
    }

    pub fn previous(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                month: self.month - 1,
                ..self
            }
        }
    }

    /// The month `months` months before this one.
    pub fn earlier(self, months: u32) -> Month {
        (0..months).fold(self, |month, _| month.previous())
    }

    /// This month and every one after it up to `last`, inclusive.
    pub fn through(self, last: Month) -> impl Iterator<Item = Month> {
        std::iter::successors(Some(self), |m| Some(m.next())).take_while(move |m| *m <= last)
    }

    /// 00:00:00 on the 1st.
    pub fn start(self) -> Instant {
        Utc.with_ymd_and_hms(self.year, self.month, 1, 0, 0, 0)
            .single()
            .expect("valid month")
    }

    /// "June 2027", as e-mails write a bill's period.
    pub fn long_name(self) -> String {
        const NAMES: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        format!("{} {}", NAMES[self.month as usize - 1], self.year)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = InvalidMonth;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (y, m) = s.split_once('-').ok_or(InvalidMonth)?;
        if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(InvalidMonth);
        }
        Month::new(
            y.parse().map_err(|_| InvalidMonth)?,
            m.parse().map_err(|_| InvalidMonth)?,
        )
        .ok_or(InvalidMonth)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be a month written as YYYY-MM")]
pub struct InvalidMonth;

/// Day d of the month, counted from 1, and D, the month's length: the two numbers of every proration (R8, R23).
pub fn day_and_length(instant: Instant) -> (u32, u32) {
    (instant.day(), Month::of(instant).days())
}

/// Parses an RFC 3339 instant and brings it to UTC.
pub fn parse_instant(text: &str) -> Option<Instant> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// A day as pages and e-mails write it: "July 7, 2027".
pub fn long_date(instant: Instant) -> String {
    instant.format("%B %-d, %Y").to_string()
}

/// `2027-06-17T10:00:00Z`: RFC 3339 in UTC with whole seconds, as the API writes instants; sub-second parts are
/// shown only when present.
pub fn format_instant(instant: Instant) -> String {
    instant.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_lengths_include_leap_years() {
        assert_eq!(Month::new(2027, 6).unwrap().days(), 30);
        assert_eq!(Month::new(2027, 7).unwrap().days(), 31);
        assert_eq!(Month::new(2028, 2).unwrap().days(), 29);
        assert_eq!(Month::new(2027, 2).unwrap().days(), 28);
        assert_eq!(Month::new(2100, 2).unwrap().days(), 28);
        assert_eq!(Month::new(2027, 12).unwrap().days(), 31);
    }

    #[test]
    fn months_parse_print_and_step() {
        let june: Month = "2027-06".parse().unwrap();
        assert_eq!(june.to_string(), "2027-06");
        assert_eq!(june.long_name(), "June 2027");
        assert_eq!("2027-12".parse::<Month>().unwrap().next().to_string(), "2028-01");
        assert_eq!("2027-01".parse::<Month>().unwrap().previous().to_string(), "2026-12");
        for bad in ["2027-13", "2027-6", "27-06", "2027/06", "abcd-ef", ""] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
    }

    #[test]
    fn instants_round_trip_in_utc() {
        let t = parse_instant("2027-06-17T12:00:00+02:00").unwrap();
        assert_eq!(format_instant(t), "2027-06-17T10:00:00Z");
        assert_eq!(day_and_length(t), (17, 30));
        assert!(parse_instant("2027-06-17").is_none());
    }

    #[test]
    fn ranges_of_months_cross_years() {
        let march: Month = "2027-03".parse().unwrap();
        assert_eq!(march.earlier(3).to_string(), "2026-12");
        assert_eq!(march.earlier(0), march);
        let months: Vec<String> = march.earlier(3).through(march).map(|m| m.to_string()).collect();
        assert_eq!(months, ["2026-12", "2027-01", "2027-02", "2027-03"]);
        assert_eq!(march.through(march.previous()).count(), 0);
    }
}
