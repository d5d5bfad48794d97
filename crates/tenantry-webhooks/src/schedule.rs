//! The retry schedule of docs/design.md §5: the first attempt at once, then after 5 s, 5 min, 30 min,
//! 2 h, 5 h, 10 h and 10 h; after the eighth attempt the message has failed for that endpoint.
//!
//! A receiver that answers `429` or `503` with `Retry-After` (seconds, or an HTTP date) is not
//! tried again before that time, as long as it is within the schedule's bounds: the wait is the
//! later of the scheduled delay and `Retry-After`, and never longer than [`MAX_DELAY`] (10 h). A
//! `Retry-After` of 0, in the past or unreadable leaves the schedule as it is. It never adds
//! attempts: the eighth failure is still the last.

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;

/// Attempts in all, the first one included.
pub const MAX_ATTEMPTS: i32 = 8;
/// The longest wait between two attempts, whatever the receiver asks.
pub const MAX_DELAY: TimeDelta = TimeDelta::hours(10);

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

/// The wait a `Retry-After` value asks for at `now`: delta-seconds or an HTTP date (RFC 9110
/// §10.2.3). `None` for a wait of zero, a date not in the future, or anything unreadable.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<TimeDelta> {
    let value = value.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Digits only; anything past the cap is the cap.
        TimeDelta::seconds(value.parse::<i64>().unwrap_or(i64::MAX).min(MAX_DELAY.num_seconds()))
    } else {
        DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc) - now
    };
    (wait > TimeDelta::zero()).then_some(wait)
}

/// When to try again after the `attempts`-th failure, given what the receiver asked for: the
/// schedule's time ([`next_attempt_at`]), or `now + retry_after` if that is later, capped at
/// [`MAX_DELAY`] from `now`. `None` after the last attempt.
pub fn next_attempt_honouring(
    attempts: i32,
    now: DateTime<Utc>,
    retry_after: Option<TimeDelta>,
) -> Option<DateTime<Utc>> {
    let scheduled = next_attempt_at(attempts, now)?;
    Some(match retry_after {
        Some(wait) => scheduled.max(now + wait.min(MAX_DELAY)),
        None => scheduled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(parse_retry_after("120", now), Some(TimeDelta::seconds(120)));
        assert_eq!(parse_retry_after(" 7 ", now), Some(TimeDelta::seconds(7)));
        assert_eq!(parse_retry_after("Thu, 03 Dec 2026 11:00:00 GMT", now), Some(TimeDelta::hours(1)));
        assert_eq!(parse_retry_after("99999999999999999999999", now), Some(MAX_DELAY), "huge: the cap");
        for garbage in ["0", "", "-5", "1.5", "soon", "Thu, 03 Dec 2026 09:00:00 GMT", "3 Dec 2026"] {
            assert_eq!(parse_retry_after(garbage, now), None, "{garbage:?}");
        }
    }

    #[test]
    fn retry_after_only_postpones_and_is_capped() {
        let now = Utc::now();
        // Shorter than the schedule: the schedule wins (5 s + jitter after the first attempt).
        let at = next_attempt_honouring(1, now, Some(TimeDelta::seconds(1))).unwrap();
        assert!(at >= now + TimeDelta::seconds(5) && at <= now + TimeDelta::milliseconds(5500));
        // Longer: not before it.
        let at = next_attempt_honouring(1, now, Some(TimeDelta::minutes(20))).unwrap();
        assert_eq!(at, now + TimeDelta::minutes(20));
        // Beyond the schedule's longest delay: capped at 10 h.
        let at = next_attempt_honouring(2, now, Some(TimeDelta::days(3))).unwrap();
        assert_eq!(at, now + MAX_DELAY);
        // Never an attempt more.
        assert_eq!(next_attempt_honouring(MAX_ATTEMPTS, now, Some(TimeDelta::minutes(1))), None);
    }

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
