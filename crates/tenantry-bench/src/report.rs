//! Reporting: a plain table per engine while the run goes on, and at the end one markdown block
//! (figures, memory, targets) to paste into `BENCHMARKS.md`. Memory is in MB (10^6 bytes).

use std::fmt::Write;

use tenantry_store::Engine;

use crate::cpu::CpuUse;
use crate::load::{Measurement, Scenario};
use crate::saml::RawRate;
use crate::server::Memory;

/// Targets from the benchmark issue.
const FETCH_MIN_RATIO: f64 = 0.40;
const CREATE_MIN_RATIO_POSTGRES: f64 = 0.15;
const IDLE_MAX_MB: f64 = 40.0;
const AFTER_MAX_MB: f64 = 150.0;
const LOGIN_MIN_RATIO_TO_ARGON2: f64 = 0.90;
const HEALTHZ_P99_MAX_MS_DURING_LOGINS: f64 = 20.0;
const REFRESH_MIN_PER_SEC: f64 = 1_500.0;
const FETCH_ORG_MIN_RATIO: f64 = 0.40;
const MEMBERS_P99_MAX_MS: f64 = 10.0;
const REFRESH_FIFTY_MIN_RATIO: f64 = 0.50;
const INVITE_ACCEPT_MIN_PER_SEC_POSTGRES: f64 = 300.0;

/// One scenario's figures and where the CPU went meanwhile (warm-up included).
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    pub measurement: Measurement,
    pub cpu: CpuUse,
}

/// Everything measured on one engine.
#[derive(Debug, Clone)]
pub struct EngineReport {
    pub engine: Engine,
    /// Cores used by other processes in the second before the load started.
    pub background: f64,
    /// After start-up, before any load.
    pub idle: Memory,
    /// After the last scenario.
    pub after: Memory,
    pub results: Vec<ScenarioResult>,
    /// Raw Argon2id verifications per second on all cores, with the server's parameters.
    pub argon2_per_sec: Option<f64>,
    /// Raw `verify_response` verifications per second on all cores, and the CPU of each, of one
    /// response like those the `saml-acs` scenario posts (mean of before and after it).
    pub saml_verify: Option<RawRate>,
}

impl EngineReport {
    fn result(&self, scenario: Scenario) -> Option<&Measurement> {
        self.results.iter().map(|r| &r.measurement).find(|m| m.scenario == scenario)
    }

    /// A scenario's throughput over the no-op route's.
    fn ratio(&self, scenario: Scenario) -> Option<f64> {
        let noop = self.result(Scenario::Noop)?.per_second();
        let it = self.result(scenario)?.per_second();
        (noop > 0.0).then(|| it / noop)
    }

    /// The server's CPU time per request of a scenario, in microseconds.
    fn server_micros(&self, scenario: Scenario) -> Option<f64> {
        self.results
            .iter()
            .find(|r| r.measurement.scenario == scenario)
            .map(|r| r.cpu.server_micros_per(r.measurement.requests()))
    }

    /// Logins per second over raw Argon2id verifications per second.
    fn login_ratio(&self) -> Option<f64> {
        let logins = self.result(Scenario::Login)?.per_second();
        let raw = self.argon2_per_sec?;
        (raw > 0.0).then(|| logins / raw)
    }

    /// Notes under the tables: the login ceiling and the probe.
    fn notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let (Some(raw), Some(ratio)) = (self.argon2_per_sec, self.login_ratio()) {
            out.push(format!(
                "raw Argon2id: {raw:.1} verifications/s on all cores (mean of before and after the logins); logins reach {:.0} % of it",
                ratio * 100.0
            ));
        }
        if let Some(m) = self.result(Scenario::Login) {
            if let (Some(p50), Some(p99)) = (m.probe_percentile(50.0), m.probe_percentile(99.0)) {
                out.push(format!(
                    "/healthz during the logins: p50 {:.2} ms, p99 {:.2} ms",
                    p50.as_secs_f64() * 1e3,
                    p99.as_secs_f64() * 1e3
                ));
            }
        }
        if let (Some(totp), Some(password)) = (self.result(Scenario::LoginTotp), self.result(Scenario::Login)) {
            let (t, p) = (totp.per_second(), password.per_second());
            out.push(format!(
                "password + TOTP sign-ins {t:.1}/s against password-only {p:.1}/s in the same run: ratio {:.2}; \
                 server CPU per sign-in {:.1} ms against {:.1} ms",
                if p > 0.0 { t / p } else { 0.0 },
                self.server_micros(Scenario::LoginTotp).unwrap_or(0.0) / 1e3,
                self.server_micros(Scenario::Login).unwrap_or(0.0) / 1e3,
            ));
        }
        if let Some(step) = self.server_micros(Scenario::TotpStep) {
            out.push(format!("the code step alone: {step:.0} µs of server CPU per `POST /api/v1/login/second-factor`"));
        }
        if let (Some(acs), Some(raw)) = (self.result(Scenario::SamlAcs), self.saml_verify) {
            out.push(format!(
                "SAML: ACS {:.0} sign-ins/s against raw verify_response {:.0}/s on all cores (mean of before and \
                 after): {:.0} %; server CPU per SSO sign-in {:.2} ms against {:.2} ms of CPU per raw verification",
                acs.per_second(),
                raw.per_sec,
                acs.per_second() / raw.per_sec * 100.0,
                self.server_micros(Scenario::SamlAcs).unwrap_or(0.0) / 1e3,
                raw.cpu_ms,
            ));
        }
        out
    }
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

fn millis(m: &Measurement, p: f64) -> f64 {
    m.percentile(p).as_secs_f64() * 1e3
}

/// Cores used by the server / the load generator / everything else.
fn cpu(c: &CpuUse) -> String {
    format!("{:.2} / {:.2} / {:.2}", c.server, c.generator, c.other)
}

fn percent(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "-".to_owned(), |r| format!("{:.0} %", r * 100.0))
}

/// One engine's figures as an aligned table.
pub fn text_table(r: &EngineReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{}: server RSS idle {:.1} MB, after the run {:.1} MB (peak {:.1} MB); other processes used {:.2} \
         cores before the run",
        engine_name(r.engine),
        megabytes(r.idle.rss_kib),
        megabytes(r.after.rss_kib),
        megabytes(r.after.peak_kib),
        r.background,
    );
    let _ = writeln!(
        out,
        "{:<28} {:>10} {:>8} {:>8} {:>9} {:>7} {:>12}  CPU cores: server / load gen / other",
        "scenario", "req/s", "p50 ms", "p99 ms", "vs no-op", "errors", "server µs/req"
    );
    for ScenarioResult { measurement: m, cpu: c } in &r.results {
        let _ = writeln!(
            out,
            "{:<28} {:>10.0} {:>8.2} {:>8.2} {:>9} {:>7} {:>12.0}  {}",
            m.scenario.label(),
            m.per_second(),
            millis(m, 50.0),
            millis(m, 99.0),
            percent(r.ratio(m.scenario)),
            m.errors,
            c.server_micros_per(m.requests()),
            cpu(c),
        );
        if let Some(e) = &m.first_error {
            let _ = writeln!(out, "    first error: {e}");
        }
    }
    for note in r.notes() {
        let _ = writeln!(out, "{note}");
    }
    out
}

/// The whole run as markdown: figures, memory, and each target met or missed.
pub fn markdown(reports: &[EngineReport], connections: usize, users: usize) -> String {
    let mut out = format!("\n<!-- tenantry-bench: {connections} connections, {users} users seeded -->\n\n");
    out.push_str("| engine | scenario | req/s | p50 (ms) | p99 (ms) | vs no-op | errors | server CPU (µs/req) | CPU cores: server / load gen / other |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---|\n");
    for r in reports {
        for ScenarioResult { measurement: m, cpu: c } in &r.results {
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {:.0} | {} |",
                engine_name(r.engine),
                m.scenario.label(),
                m.per_second(),
                millis(m, 50.0),
                millis(m, 99.0),
                percent(r.ratio(m.scenario)),
                m.errors,
                c.server_micros_per(m.requests()),
                cpu(c),
            );
        }
    }
    for r in reports {
        for note in r.notes() {
            let _ = writeln!(out, "\n{}: {note}", engine_name(r.engine));
        }
    }
    out.push_str("\n| engine | RSS idle (MB) | RSS after the run (MB) | peak RSS (MB) |\n|---|---:|---:|---:|\n");
    for r in reports {
        let _ = writeln!(
            out,
            "| {} | {:.1} | {:.1} | {:.1} |",
            engine_name(r.engine),
            megabytes(r.idle.rss_kib),
            megabytes(r.after.rss_kib),
            megabytes(r.after.peak_kib),
        );
    }
    out.push_str("\n| target | engine | measured | met |\n|---|---|---:|---|\n");
    for r in reports {
        for check in checks(r) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                check.target,
                engine_name(r.engine),
                check.measured,
                if check.met { "yes" } else { "**no**" }
            );
        }
    }
    out
}

/// One target against one engine's figures.
struct Check {
    target: &'static str,
    measured: String,
    met: bool,
}

fn checks(r: &EngineReport) -> Vec<Check> {
    let mut out = Vec::new();
    if let Some(ratio) = r.ratio(Scenario::FetchUser) {
        out.push(Check {
            target: "fetch user ≥ 40 % of no-op",
            measured: percent(Some(ratio)),
            met: ratio >= FETCH_MIN_RATIO,
        });
    }
    if r.engine == Engine::Postgres {
        if let Some(ratio) = r.ratio(Scenario::CreateUser) {
            out.push(Check {
                target: "create user ≥ 15 % of no-op (PostgreSQL)",
                measured: percent(Some(ratio)),
                met: ratio >= CREATE_MIN_RATIO_POSTGRES,
            });
        }
    }
    if let Some(ratio) = r.login_ratio() {
        out.push(Check {
            target: "password logins ≥ 90 % of raw Argon2id",
            measured: percent(Some(ratio)),
            met: ratio >= LOGIN_MIN_RATIO_TO_ARGON2,
        });
    }
    if let Some(p99) = r.result(Scenario::Login).and_then(|m| m.probe_percentile(99.0)) {
        let ms = p99.as_secs_f64() * 1e3;
        out.push(Check {
            target: "/healthz p99 < 20 ms while logins load the CPU",
            measured: format!("{ms:.2} ms"),
            met: ms < HEALTHZ_P99_MAX_MS_DURING_LOGINS,
        });
    }
    if let Some(m) = r.result(Scenario::Refresh) {
        let rate = m.per_second();
        out.push(Check {
            target: "token refresh ≥ 1,500/s (64 clients)",
            measured: format!("{rate:.0}/s"),
            met: rate >= REFRESH_MIN_PER_SEC,
        });
    }
    if let Some(ratio) = r.ratio(Scenario::FetchOrg) {
        out.push(Check {
            target: "fetch org ≥ 40 % of no-op",
            measured: percent(Some(ratio)),
            met: ratio >= FETCH_ORG_MIN_RATIO,
        });
    }
    for (scenario, target) in [
        (Scenario::MembersFirstPage, "member list page 1 p99 ≤ 10 ms"),
        (Scenario::MembersDeepPage, "member list page 1000 p99 ≤ 10 ms"),
    ] {
        if let Some(m) = r.result(scenario) {
            let ms = millis(m, 99.0);
            out.push(Check { target, measured: format!("{ms:.2} ms"), met: ms <= MEMBERS_P99_MAX_MS });
        }
    }
    if let (Some(one), Some(fifty)) = (r.result(Scenario::RefreshOneOrg), r.result(Scenario::RefreshFiftyOrgs)) {
        let ratio = fifty.per_second() / one.per_second().max(f64::MIN_POSITIVE);
        out.push(Check {
            target: "refresh in 50 orgs ≥ 50 % of refresh in 1 org",
            measured: percent(Some(ratio)),
            met: ratio >= REFRESH_FIFTY_MIN_RATIO,
        });
    }
    if r.engine == Engine::Postgres {
        if let Some(m) = r.result(Scenario::InviteAccept) {
            let rate = m.per_second();
            out.push(Check {
                target: "invite + accept ≥ 300/s (PostgreSQL)",
                measured: format!("{rate:.0}/s"),
                met: rate >= INVITE_ACCEPT_MIN_PER_SEC_POSTGRES,
            });
        }
    }
    let (idle, after) = (megabytes(r.idle.rss_kib), megabytes(r.after.rss_kib));
    out.push(Check { target: "idle RSS ≤ 40 MB", measured: format!("{idle:.1} MB"), met: idle <= IDLE_MAX_MB });
    out.push(Check {
        target: "RSS after the run ≤ 150 MB",
        measured: format!("{after:.1} MB"),
        met: after <= AFTER_MAX_MB,
    });
    out
}
