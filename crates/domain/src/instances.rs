//! Machine-image instance hours (docs/rules.md R18): hour k covers [launch + k h, launch + (k + 1) h) and is counted
//! when it starts, so 2 h 10 min is 3 hours and no hour is counted twice across a month boundary.

use std::ops::Range;

pub const HOUR_MS: i64 = 3_600_000;

/// The hours that have started by `now` and before `stop` (termination or cancellation), from `recorded` on: the
/// numbers k to record next.
pub fn hours_due(launched_at: i64, stop: Option<i64>, now: i64, recorded: i64) -> Range<i64> {
    let horizon = match stop {
        // An hour starting exactly at the stop instant does not start: the instance is gone.
        Some(stop) if stop <= now => stop - 1,
        _ => now,
    };
    let started = if horizon < launched_at {
        0
    } else {
        (horizon - launched_at) / HOUR_MS + 1
    };
    recorded..started.max(recorded)
}

/// The instant hour k starts.
pub fn hour_start(launched_at: i64, k: i64) -> i64 {
    launched_at + k * HOUR_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAUNCH: i64 = 1_000 * HOUR_MS;

    #[test]
    fn as19_two_hours_ten_minutes_are_three_hours() {
        let terminated = LAUNCH + 2 * HOUR_MS + 10 * 60_000;
        assert_eq!(hours_due(LAUNCH, Some(terminated), terminated, 0), 0..3);
        assert_eq!(
            hours_due(LAUNCH, Some(terminated), terminated + 5 * HOUR_MS, 0),
            0..3,
            "none after termination"
        );
    }

    #[test]
    fn hours_start_as_the_clock_passes() {
        assert_eq!(
            hours_due(LAUNCH, None, LAUNCH, 0),
            0..1,
            "the first hour starts at launch"
        );
        assert_eq!(hours_due(LAUNCH, None, LAUNCH + HOUR_MS - 1, 1), 1..1);
        assert_eq!(hours_due(LAUNCH, None, LAUNCH + HOUR_MS, 1), 1..2);
        assert_eq!(hours_due(LAUNCH, None, LAUNCH + 5 * HOUR_MS + 1, 2), 2..6);
        assert_eq!(hours_due(LAUNCH, None, LAUNCH - 1, 0), 0..0);
    }

    #[test]
    fn a_stop_on_the_hour_does_not_start_that_hour() {
        assert_eq!(
            hours_due(LAUNCH, Some(LAUNCH + 2 * HOUR_MS), LAUNCH + 9 * HOUR_MS, 0),
            0..2
        );
        assert_eq!(hours_due(LAUNCH, Some(LAUNCH + 30 * 60_000), LAUNCH + HOUR_MS, 0), 0..1);
        assert_eq!(hour_start(LAUNCH, 2), LAUNCH + 2 * HOUR_MS);
    }
}
