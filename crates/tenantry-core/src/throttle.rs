//! Throttling as a pure decision: given a counter and the time, may this attempt be evaluated,
//! and what does the counter become? The store keeps the counter (shared by every node); this
//! module decides. Progressive delays, never a permanent lock an attacker could use on a victim.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

/// How many attempts are free, and how the delay grows after that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRule {
    /// Attempts allowed before any delay.
    pub free_attempts: u32,
    /// The first delay; each further attempt doubles it.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A counter with no attempt for this long starts over. Measured from the last attempt, not
    /// the first: an attacker who keeps guessing keeps the delays.
    pub reset_after: Duration,
}

impl ThrottleRule {
    /// Password logins per account: 5 free, then 1 s, 2 s, 4 s … up to 15 minutes.
    pub const LOGIN_ACCOUNT: ThrottleRule = ThrottleRule {
        free_attempts: 5,
        base_delay: Duration::seconds(1),
        max_delay: Duration::minutes(15),
        reset_after: Duration::hours(12),
    };
    /// Password logins per source address: more room, since offices share addresses.
    pub const LOGIN_IP: ThrottleRule = ThrottleRule {
        free_attempts: 50,
        base_delay: Duration::seconds(1),
        max_delay: Duration::minutes(15),
        reset_after: Duration::hours(1),
    };
    /// Emails to one address (verification, reset): 3, then a minute, growing to an hour.
    pub const EMAIL: ThrottleRule = ThrottleRule {
        free_attempts: 3,
        base_delay: Duration::minutes(1),
        max_delay: Duration::hours(1),
        reset_after: Duration::hours(1),
    };
    /// Emailed-link submissions (password reset) per source address: each bad token costs a
    /// password hash, so they are bounded like sign-ins from one address.
    pub const LINK_IP: ThrottleRule = ThrottleRule {
        free_attempts: 20,
        base_delay: Duration::seconds(1),
        max_delay: Duration::minutes(15),
        reset_after: Duration::hours(1),
    };
    /// Signups per source address.
    pub const SIGNUP_IP: ThrottleRule = ThrottleRule {
        free_attempts: 20,
        base_delay: Duration::seconds(30),
        max_delay: Duration::hours(1),
        reset_after: Duration::hours(1),
    };
}

/// A counter as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub failures: u32,
    /// When the last attempt was counted; the counter starts over `reset_after` later.
    pub last_attempt_at: DateTime<Utc>,
    pub blocked_until: Option<DateTime<Utc>>,
}

/// The decision for one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Evaluate the attempt; store `counter` first (the attempt counts as a failure until it succeeds).
    Allow { counter: Counter },
    /// Refuse without evaluating; retry after this many seconds.
    Refuse { retry_after_secs: u64 },
}

/// Decides an attempt at `now`. Counting happens *before* evaluation, so racing attempts cannot
/// slip past the limit: with N free attempts, at most N are evaluated before the first delay.
pub fn decide(rule: &ThrottleRule, current: Option<Counter>, now: DateTime<Utc>) -> Verdict {
    let current = current.filter(|c| now - c.last_attempt_at < rule.reset_after);
    let mut counter = current.unwrap_or(Counter { failures: 0, last_attempt_at: now, blocked_until: None });
    if counter.failures >= rule.free_attempts {
        if let Some(until) = counter.blocked_until.filter(|u| *u > now) {
            let secs = (until - now).num_milliseconds().max(0) as u64;
            return Verdict::Refuse { retry_after_secs: secs.div_ceil(1000).max(1) };
        }
    }
    counter.failures += 1;
    counter.last_attempt_at = now;
    if counter.failures >= rule.free_attempts {
        let doublings = (counter.failures - rule.free_attempts).min(30);
        let delay = rule.base_delay.checked_mul(1 << doublings.min(20)).unwrap_or(rule.max_delay).min(rule.max_delay);
        counter.blocked_until = Some(now + delay);
    }
    Verdict::Allow { counter }
}

/// The part of a client address that throttles count by: an IPv4 address, or the /64 network of
/// an IPv6 one (a single host usually holds a whole /64, so counting by address would let it
/// rotate through 2^64 of them). An IPv4-mapped IPv6 address counts as its IPv4 address.
pub fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn run(rule: &ThrottleRule, c: &mut Option<Counter>, now: DateTime<Utc>) -> bool {
        match decide(rule, *c, now) {
            Verdict::Allow { counter } => {
                *c = Some(counter);
                true
            }
            Verdict::Refuse { .. } => false,
        }
    }

    #[test]
    fn at_most_the_free_attempts_pass_at_once() {
        let rule = ThrottleRule::LOGIN_ACCOUNT;
        let mut c = None;
        let allowed = (0..50).filter(|_| run(&rule, &mut c, at(0))).count();
        assert_eq!(allowed, 5, "50 simultaneous attempts, 5 evaluated");
    }

    #[test]
    fn delays_grow_and_expire() {
        let rule = ThrottleRule::LOGIN_ACCOUNT;
        let mut c = None;
        for _ in 0..5 {
            assert!(run(&rule, &mut c, at(0)));
        }
        assert_eq!(decide(&rule, c, at(0)), Verdict::Refuse { retry_after_secs: 1 });
        assert!(run(&rule, &mut c, at(1)), "after the first delay, one more try");
        assert_eq!(decide(&rule, c, at(1)), Verdict::Refuse { retry_after_secs: 2 });
        assert!(!run(&rule, &mut c, at(2)));
        assert!(run(&rule, &mut c, at(3)));
        assert_eq!(decide(&rule, c, at(3)), Verdict::Refuse { retry_after_secs: 4 });
    }

    #[test]
    fn delay_is_capped_and_the_counter_resets_when_idle() {
        let rule = ThrottleRule::LOGIN_ACCOUNT;
        let mut c = Some(Counter { failures: 40, last_attempt_at: at(0), blocked_until: None });
        assert!(run(&rule, &mut c, at(10)));
        assert_eq!(c.unwrap().blocked_until, Some(at(10) + Duration::minutes(15)));
        assert!(run(&rule, &mut c, at(10 + 13 * 3600)), "idle past reset_after: a fresh start");
        assert_eq!(c.unwrap().failures, 1);
    }

    #[test]
    fn the_counter_starts_over_only_after_reset_after_without_attempts() {
        let rule = ThrottleRule::LOGIN_ACCOUNT;
        let mut c = None;
        // A failure every 11 hours: never 12 hours idle, so the count keeps growing.
        for i in 0..8 {
            assert!(run(&rule, &mut c, at(i * 11 * 3600)));
        }
        assert_eq!(c.unwrap().failures, 8, "twelve hours after the first failure is not a fresh start");
        assert!(run(&rule, &mut c, at(7 * 11 * 3600 + 12 * 3600)));
        assert_eq!(c.unwrap().failures, 1, "twelve hours after the last one is");
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_eq!(client_key(a), "2001:db8:1:2::/64");
        assert_ne!(client_key(a), client_key(other));
        assert_eq!(client_key("203.0.113.7".parse().unwrap()), "203.0.113.7");
        assert_eq!(client_key("::ffff:203.0.113.7".parse().unwrap()), "203.0.113.7");
    }
}
