//! The retry schedule of docs/design.md §5: the first attempt at once, then after 5 s, 5 min, 30 min,
//! 2 h, 5 h, 10 h and 10 h; after the eighth attempt the message has failed for that endpoint.

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;

/// Attempts in all, the first one included.
pub const MAX_ATTEMPTS: i32 = 8;

/// The nominal wait after the `attempts`-th failed attempt; `None` after the last.
pub fn retry_delay(attempts: i32) -> Option<TimeDelta> {
    Some(match attempts {
        ..=1 => TimeDelta::seconds(5),
        2 => TimeDelta::minutes(5),
        3 => TimeDelta::minutes(30),
        4 => TimeDelta::hours(2),
        5 => TimeDelta::hours(5),
        6 | 7 => TimeDelta::hours(10),
        _ => return None,
    })
}

/// When to try again after the `attempts`-th failure: the nominal delay plus up to 10 % jitter,
/// so that receivers coming back from an outage are not hit by every retry at once.
pub fn next_attempt_at(attempts: i32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let delay = retry_delay(attempts)?;
    let spread = delay.num_milliseconds() / 10;
    let jitter = rand::thread_rng().gen_range(0..=spread);
    Some(now + delay + TimeDelta::milliseconds(jitter))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_the_designs() {
        let delays: Vec<Option<i64>> = (1..=MAX_ATTEMPTS).map(|n| retry_delay(n).map(|d| d.num_seconds())).collect();
        assert_eq!(
            delays,
            vec![Some(5), Some(300), Some(1800), Some(7200), Some(18000), Some(36000), Some(36000), None]
        );
    }

    #[test]
    fn jitter_stays_within_ten_percent_after_the_nominal_time() {
        let now = Utc::now();
        for attempts in 1..MAX_ATTEMPTS {
            let nominal = retry_delay(attempts).unwrap();
            let at = next_attempt_at(attempts, now).unwrap();
            assert!(at >= now + nominal && at <= now + nominal + nominal / 10, "attempt {attempts}: {at}");
        }
        assert_eq!(next_attempt_at(MAX_ATTEMPTS, now), None);
    }
}
