//! The webhook figures: a plain summary per engine, and one markdown block (figures, targets) to
//! paste into `BENCHMARKS.md`. Memory is in MB (10^6 bytes).

use std::fmt::Write;
use std::time::Duration;

use tenantry_store::Engine;

use super::Args;
use crate::cpu::CpuUse;
use crate::server::Memory;

/// Targets from the signed-webhooks issue.
const DELIVERIES_MIN_PER_SEC: f64 = 1_000.0;
const LATENCY_P99_MAX_MS: f64 = 250.0;
const BACKLOG_RSS_MAX_MB: f64 = 200.0;

/// Raw signing on one core.
#[derive(Debug, Clone)]
pub struct Hmac {
    pub per_second: f64,
    pub micros: f64,
    pub body_bytes: usize,
}

/// One throughput scenario.
#[derive(Debug, Clone)]
pub struct Throughput {
    pub endpoints: usize,
    /// Deliveries inside the measured window, and its length.
    pub deliveries: u64,
    pub seconds: f64,
    pub cpu: CpuUse,
    /// Everything the receiver saw, start-up included: requests (retries too) and distinct ids.
    pub requests: u64,
    pub distinct: u64,
    pub unidentified: u64,
    /// With several endpoints: the fewest and most requests one path got.
    pub per_path_min_max: Option<(u64, u64)>,
    pub expected_per_path: u64,
}

impl Throughput {
    pub fn per_second(&self) -> f64 {
        self.deliveries as f64 / self.seconds.max(f64::MIN_POSITIVE)
    }

    pub fn server_micros(&self) -> f64 {
        self.cpu.server_micros_per(self.deliveries)
    }

    fn label(&self) -> String {
        match self.endpoints {
            1 => "1 endpoint".to_owned(),
            n => format!("{n} endpoints"),
        }
    }

    /// Retries, missing ids and an uneven spread, if any.
    fn anomalies(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.requests > self.distinct {
            out.push(format!("{} requests repeated a webhook-id", self.requests - self.distinct));
        }
        if self.unidentified > 0 {
            out.push(format!("{} requests had no webhook-id", self.unidentified));
        }
        if let Some((min, max)) = self.per_path_min_max {
            if min != self.expected_per_path || max != self.expected_per_path {
                out.push(format!("paths got {min}–{max} requests each, {} expected", self.expected_per_path));
            }
        }
        out
    }
}

/// Commit-to-delivery latency samples, sorted.
#[derive(Debug, Clone)]
pub struct Latency {
    samples: Vec<Duration>,
}

impl Latency {
    pub fn new(mut samples: Vec<Duration>) -> Latency {
        samples.sort();
        Latency { samples }
    }

    fn millis(&self, p: f64) -> f64 {
        if self.samples.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.samples.len() as f64).ceil() as usize;
        self.samples[rank.clamp(1, self.samples.len()) - 1].as_secs_f64() * 1e3
    }
}

/// The backlog scenario.
#[derive(Debug, Clone)]
pub struct Backlog {
    pub messages: u64,
    /// From spawning the server to `/healthz` answering.
    pub start_up: Duration,
    /// From `/healthz` answering to the last new delivery.
    pub drain: Duration,
    /// Deliveries from the first to the last, the window [`Backlog::cpu`] covers.
    pub window_deliveries: u64,
    pub cpu: CpuUse,
    pub rss_at_start: Memory,
    pub rss_sampled_max_kib: u64,
    /// `VmHWM` at the end: the most ever resident.
    pub peak: Memory,
    pub requests: u64,
}

impl Backlog {
    fn per_second(&self) -> f64 {
        self.messages as f64 / self.drain.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// Everything measured on one engine.
#[derive(Debug, Clone)]
pub struct WebhookReport {
    pub engine: Engine,
    pub hmac: Hmac,
    pub one: Throughput,
    pub hundred: Throughput,
    pub latency: Latency,
    pub backlog: Option<Backlog>,
}

fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "SQLite",
        Engine::Postgres => "PostgreSQL",
    }
}

fn megabytes(kib: u64) -> f64 {
    (kib * 1024) as f64 / 1e6
}

fn cores(c: &CpuUse) -> String {
    format!("{:.2} / {:.2} / {:.2}", c.server, c.generator, c.other)
}

/// One engine's figures, readable.
pub fn text(r: &WebhookReport) -> String {
    let mut out = format!("\n{} webhooks\n", engine_name(r.engine));
    let h = &r.hmac;
    let _ = writeln!(
        out,
        "raw HMAC-SHA256 (signature_header, 1 secret, {}-byte body, 1 core): {:.0}/s, {:.2} µs each",
        h.body_bytes, h.per_second, h.micros
    );
    let _ = writeln!(
        out,
        "{:<14} {:>11} {:>10} {:>14} {:>10} {:>11}  CPU cores: server / receiver / other",
        "scenario", "timed", "per s", "server µs/del", "vs HMAC", "HMAC share"
    );
    for t in [&r.one, &r.hundred] {
        let _ = writeln!(
            out,
            "{:<14} {:>11} {:>10.0} {:>14.0} {:>9.2}% {:>10.2}%  {}",
            t.label(),
            t.deliveries,
            t.per_second(),
            t.server_micros(),
            t.per_second() / h.per_second * 100.0,
            h.micros / t.server_micros().max(f64::MIN_POSITIVE) * 100.0,
            cores(&t.cpu),
        );
        for a in t.anomalies() {
            let _ = writeln!(out, "    note: {a}");
        }
    }
    let l = &r.latency;
    let _ = writeln!(
        out,
        "create user → delivery ({} sequential, idle server): p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms \
         (t0 is taken before the request, so before the commit: an upper bound)",
        l.samples.len(),
        l.millis(50.0),
        l.millis(90.0),
        l.millis(99.0),
        l.millis(100.0),
    );
    if let Some(b) = &r.backlog {
        let _ = writeln!(
            out,
            "backlog of {}: drained in {:.1} s after /healthz ({:.0}/s; start-up {:.2} s; {:.0} server µs/delivery, \
             cores {}), RSS at start {:.1} MB, sampled max {:.1} MB, peak (VmHWM) {:.1} MB{}",
            b.messages,
            b.drain.as_secs_f64(),
            b.per_second(),
            b.start_up.as_secs_f64(),
            b.cpu.server_micros_per(b.window_deliveries),
            cores(&b.cpu),
            megabytes(b.rss_at_start.rss_kib),
            megabytes(b.rss_sampled_max_kib),
            megabytes(b.peak.peak_kib),
            if b.requests > b.messages {
                format!("; {} repeated requests", b.requests - b.messages)
            } else {
                String::new()
            },
        );
    }
    out
}

/// Every engine as markdown: throughput, latency, backlog, targets.
pub fn markdown(reports: &[WebhookReport], args: &Args) -> String {
    let backlog = if args.skip_backlog { "no backlog".to_owned() } else { format!("backlog {}", args.backlog) };
    let mut out = format!(
        "\n<!-- tenantry-bench webhooks: --events {} ({backlog}), {} latency samples -->\n\n",
        args.events, args.latency_samples
    );
    out.push_str(
        "| engine | scenario | deliveries timed | per s | server CPU (µs/delivery) | vs raw HMAC rate | HMAC share of server CPU | CPU cores: server / receiver / other |\n\
         |---|---|---:|---:|---:|---:|---:|---|\n",
    );
    for r in reports {
        for t in [&r.one, &r.hundred] {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.0} | {:.0} | {:.2} % | {:.2} % | {} |",
                engine_name(r.engine),
                t.label(),
                t.deliveries,
                t.per_second(),
                t.server_micros(),
                t.per_second() / r.hmac.per_second * 100.0,
                r.hmac.micros / t.server_micros().max(f64::MIN_POSITIVE) * 100.0,
                cores(&t.cpu),
            );
        }
    }
    out.push_str(
        "\nDeliveries timed: from the first new delivery after start-up to the last (the first, and any sent \
         before `/healthz` answered, start the window and are not counted); server CPU over the same window.\n",
    );
    for r in reports {
        let _ = write!(
            out,
            "\n{}: raw HMAC-SHA256 `signature_header` (1 secret, {}-byte body) on one core: {:.0}/s, {:.2} µs each",
            engine_name(r.engine),
            r.hmac.body_bytes,
            r.hmac.per_second,
            r.hmac.micros
        );
        for t in [&r.one, &r.hundred] {
            for a in t.anomalies() {
                let _ = write!(out, "; {}: {a}", t.label());
            }
        }
        out.push('\n');
    }
    out.push_str(
        "\nCommit to first delivery attempt, idle server, sequential `POST /api/backend/v1/users` (t0 just before \
         the request is sent, so before the commit: an upper bound):\n\n\
         | engine | samples | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for r in reports {
        let l = &r.latency;
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            engine_name(r.engine),
            l.samples.len(),
            l.millis(50.0),
            l.millis(90.0),
            l.millis(99.0),
            l.millis(100.0)
        );
    }
    if reports.iter().any(|r| r.backlog.is_some()) {
        out.push_str(
            "\n| engine | backlog | drain (s) | per s | server CPU (µs/delivery) | RSS at start (MB) | sampled max RSS (MB) | peak RSS, VmHWM (MB) |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for r in reports {
            if let Some(b) = &r.backlog {
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.1} | {:.0} | {:.0} | {:.1} | {:.1} | {:.1} |",
                    engine_name(r.engine),
                    b.messages,
                    b.drain.as_secs_f64(),
                    b.per_second(),
                    b.cpu.server_micros_per(b.window_deliveries),
                    megabytes(b.rss_at_start.rss_kib),
                    megabytes(b.rss_sampled_max_kib),
                    megabytes(b.peak.peak_kib)
                );
            }
        }
    }
    out.push_str("\n| target | engine | measured | met |\n|---|---|---:|---|\n");
    for r in reports {
        for (target, measured, met) in checks(r) {
            let _ = writeln!(
                out,
                "| {target} | {} | {measured} | {} |",
                engine_name(r.engine),
                if met { "yes" } else { "**no**" }
            );
        }
    }
    out
}

/// (target, measured, met) for one engine.
fn checks(r: &WebhookReport) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    for t in [&r.one, &r.hundred] {
        let rate = t.per_second();
        out.push((
            format!("≥ 1,000 deliveries/s, {}", t.label()),
            format!("{rate:.0}/s"),
            rate >= DELIVERIES_MIN_PER_SEC,
        ));
    }
    let p99 = r.latency.millis(99.0);
    out.push((
        "commit → first attempt p99 ≤ 250 ms (idle)".to_owned(),
        format!("{p99:.1} ms"),
        p99 <= LATENCY_P99_MAX_MS,
    ));
    if let Some(b) = &r.backlog {
        let peak = megabytes(b.peak.peak_kib);
        out.push((
            format!("backlog of {} drains with RSS ≤ 200 MB", b.messages),
            format!("{peak:.1} MB"),
            peak <= BACKLOG_RSS_MAX_MB,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_rank() {
        let l = Latency::new((1..=200).rev().map(Duration::from_millis).collect());
        assert_eq!(l.millis(50.0), 100.0);
        assert_eq!(l.millis(99.0), 198.0);
        assert_eq!(l.millis(100.0), 200.0);
        assert!(Latency::new(Vec::new()).millis(50.0).is_nan());
    }
}
