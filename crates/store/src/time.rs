//! Instants are stored as Unix milliseconds, portable across both dialects.

use chrono::{DateTime, Utc};

pub fn millis(instant: DateTime<Utc>) -> i64 {
    instant.timestamp_millis()
}

pub fn instant(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).unwrap_or_default()
}
