//! Request metrics in the Prometheus text format, per server instance (no global recorder, so
//! several servers in one test process keep their own numbers).
//!
//! Routes are labelled by OpenAPI operation id, or a fixed name for the few plain routes, so the
//! label set stays bounded whatever paths clients send.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::Duration;

use tenantry_app::webhooks::QueueStats;
use tenantry_webhooks::WebhookMetrics;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

#[derive(Default)]
struct Series {
    by_status: RwLock<HashMap<u16, AtomicU64>>,
    latency: Histogram,
}

/// Counters and latency histograms keyed by (method, route).
#[derive(Default)]
pub struct HttpMetrics {
    series: RwLock<HashMap<(String, &'static str), Series>>,
}

impl HttpMetrics {
    pub fn record(&self, method: &str, route: &'static str, status: u16, elapsed: Duration) {
        let key = (method.to_owned(), route);
        {
            let map = self.series.read().unwrap_or_else(|p| p.into_inner());
            if let Some(s) = map.get(&key) {
                s.observe(status, elapsed);
                return;
            }
        }
        let mut map = self.series.write().unwrap_or_else(|p| p.into_inner());
        map.entry(key).or_default().observe(status, elapsed);
    }

    /// The Prometheus exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let map = self.series.read().unwrap_or_else(|p| p.into_inner());
        let mut keys: Vec<_> = map.keys().collect();
        keys.sort();
        out.push_str("# HELP tenantry_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE tenantry_http_requests_total counter\n");
        for key in &keys {
            let statuses = map[*key].by_status.read().unwrap_or_else(|p| p.into_inner());
            let mut codes: Vec<_> = statuses.iter().collect();
            codes.sort_by_key(|(c, _)| **c);
            for (code, n) in codes {
                let _ = writeln!(
                    out,
                    "tenantry_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{code}\"}} {}",
                    key.0,
                    key.1,
                    n.load(Ordering::Relaxed)
                );
            }
        }
        out.push_str("# HELP tenantry_http_request_duration_seconds HTTP request latency by method and route.\n");
        out.push_str("# TYPE tenantry_http_request_duration_seconds histogram\n");
        for key in &keys {
            let h = &map[*key].latency;
            let labels = format!("method=\"{}\",route=\"{}\"", key.0, key.1);
            let mut cumulative = 0;
            for (i, le) in BUCKETS.iter().enumerate() {
                cumulative += h.buckets[i].load(Ordering::Relaxed);
                let _ =
                    writeln!(out, "tenantry_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}");
            }
            let count = h.count.load(Ordering::Relaxed);
            let _ = writeln!(out, "tenantry_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}");
            let sum = h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "tenantry_http_request_duration_seconds_sum{{{labels}}} {sum}");
            let _ = writeln!(out, "tenantry_http_request_duration_seconds_count{{{labels}}} {count}");
        }
        out
    }
}

/// Appends the webhook queue (from the database, so every node shows the same) and this node's
/// attempt outcomes.
pub fn render_webhooks(out: &mut String, queue: &QueueStats, attempts: Option<&WebhookMetrics>) {
    out.push_str("# HELP tenantry_webhook_messages Webhook messages by state.\n");
    out.push_str("# TYPE tenantry_webhook_messages gauge\n");
    for (state, n) in &queue.by_state {
        let _ = writeln!(out, "tenantry_webhook_messages{{state=\"{state}\"}} {n}");
    }
    out.push_str("# HELP tenantry_webhook_oldest_pending_age_seconds Age of the oldest pending webhook message.\n");
    out.push_str("# TYPE tenantry_webhook_oldest_pending_age_seconds gauge\n");
    let _ = writeln!(out, "tenantry_webhook_oldest_pending_age_seconds {:.3}", queue.oldest_pending_age_secs);
    out.push_str("# HELP tenantry_webhook_events_awaiting_fanout Committed events not yet turned into messages.\n");
    out.push_str("# TYPE tenantry_webhook_events_awaiting_fanout gauge\n");
    let _ = writeln!(out, "tenantry_webhook_events_awaiting_fanout {}", queue.events_awaiting_fanout);
    if let Some(m) = attempts {
        out.push_str("# HELP tenantry_webhook_attempts_total Webhook delivery attempts on this node by outcome.\n");
        out.push_str("# TYPE tenantry_webhook_attempts_total counter\n");
        for (outcome, n) in [("delivered", &m.delivered), ("retried", &m.retried), ("failed", &m.failed)] {
            let _ =
                writeln!(out, "tenantry_webhook_attempts_total{{outcome=\"{outcome}\"}} {}", n.load(Ordering::Relaxed));
        }
        out.push_str(
            "# HELP tenantry_webhook_endpoints_disabled_total Endpoints this node disabled for failing continuously.\n",
        );
        out.push_str("# TYPE tenantry_webhook_endpoints_disabled_total counter\n");
        let _ =
            writeln!(out, "tenantry_webhook_endpoints_disabled_total {}", m.endpoints_disabled.load(Ordering::Relaxed));
    }
}

/// Appends what this node's sweeper removed (README, "Housekeeping").
pub fn render_sweeper(out: &mut String, sweeper: &tenantry_app::housekeeping::SweepMetrics) {
    out.push_str("# HELP tenantry_sweeper_runs_total Sweeps this node ran while holding the sweeper lease.\n");
    out.push_str("# TYPE tenantry_sweeper_runs_total counter\n");
    let _ = writeln!(out, "tenantry_sweeper_runs_total {}", sweeper.runs());
    out.push_str("# HELP tenantry_sweeper_deleted_total Rows this node's sweeper removed, by kind.\n");
    out.push_str("# TYPE tenantry_sweeper_deleted_total counter\n");
    for (kind, n) in sweeper.deleted() {
        let _ = writeln!(out, "tenantry_sweeper_deleted_total{{kind=\"{kind}\"}} {n}");
    }
}

impl Series {
    fn observe(&self, status: u16, elapsed: Duration) {
        let counted = {
            let s = self.by_status.read().unwrap_or_else(|p| p.into_inner());
            s.get(&status).map(|n| n.fetch_add(1, Ordering::Relaxed)).is_some()
        };
        if !counted {
            let mut s = self.by_status.write().unwrap_or_else(|p| p.into_inner());
            s.entry(status).or_default().fetch_add(1, Ordering::Relaxed);
        }
        let secs = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|le| secs <= *le) {
            self.latency.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.latency.count.fetch_add(1, Ordering::Relaxed);
        self.latency.sum_micros.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = HttpMetrics::default();
        m.record("GET", "get_user", 200, Duration::from_micros(800));
        m.record("GET", "get_user", 200, Duration::from_millis(20));
        m.record("GET", "get_user", 404, Duration::from_millis(2));
        let text = m.render();
        assert!(
            text.contains("tenantry_http_requests_total{method=\"GET\",route=\"get_user\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(text.contains("status=\"404\"} 1"));
        assert!(text.contains("route=\"get_user\",le=\"0.001\"} 1"));
        assert!(text.contains("route=\"get_user\",le=\"0.025\"} 3"));
        assert!(text.contains("tenantry_http_request_duration_seconds_count{method=\"GET\",route=\"get_user\"} 3"));
    }
}
