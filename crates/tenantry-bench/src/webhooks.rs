//! `tenantry-bench webhooks`: webhook delivery from the release server to a receiver in this
//! process ([`receiver`]), per engine, each scenario on its own throw-away database:
//!
//! - **throughput, 1 endpoint / 100 endpoints**: with the workers off, the endpoints are created
//!   through the backend API and `--events` outbox events written into the database ([`seed`]);
//!   then the server starts with its workers and the receiver times the deliveries from the first
//!   to the last new `webhook-id`. Fan-out, signing, sending and recording all fall in the window;
//! - **raw HMAC-SHA256**: `tenantry_webhooks::sign::signature_header` with one secret over a body
//!   of the delivered size, on one core, the ceiling the delivery rate is compared to;
//! - **latency**: sequential `POST /api/backend/v1/users` to an idle server, each timed from just
//!   before the request is sent to the arrival of its `user.created` delivery;
//! - **backlog**: `--backlog` pending messages for one endpoint, drained while the server's RSS is
//!   sampled every second.

pub mod receiver;
pub mod report;
pub mod seed;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use http_body_util::Full;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::Request;
use tenantry_core::{Clock, SystemClock};
use tenantry_store::Engine;
use tenantry_webhooks::{sign, WebhookSecret};
use uuid::Uuid;

use crate::cpu::{CpuSnapshot, CpuUse};
use crate::database::BenchDatabase;
use crate::http::Connection;
use crate::server::{Mode, ServerBinary, ServerProcess};
use receiver::Receiver;
use report::{Backlog, Hmac, Latency, Throughput, WebhookReport};

/// Endpoints of the fan-out scenario, at `/e/0` … `/e/99`.
pub const ENDPOINTS: usize = receiver::PATHS;
/// Creates not measured before the latency samples: the worker's connection to the receiver, the
/// server's statement caches.
const LATENCY_WARMUP: usize = 5;
/// How long deliveries may stop coming before the harness gives up.
const STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the raw HMAC rate is measured.
const HMAC_WINDOW: Duration = Duration::from_secs(2);

/// Options of the `webhooks` subcommand.
#[derive(clap::Args, Clone, Debug)]
pub struct Args {
    /// Which engines.
    #[arg(value_enum)]
    pub engines: EngineChoice,
    /// Deliveries per throughput scenario (with 100 endpoints: events/100 events, each to all 100).
    #[arg(long, default_value_t = 20_000)]
    pub events: usize,
    /// Pending messages in the backlog scenario.
    #[arg(long, default_value_t = 1_000_000)]
    pub backlog: usize,
    /// Skip the backlog scenario.
    #[arg(long)]
    pub skip_backlog: bool,
    /// Sequential creates timed in the latency scenario.
    #[arg(long, default_value_t = 200)]
    pub latency_samples: usize,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum EngineChoice {
    All,
    Sqlite,
    Postgres,
}

impl EngineChoice {
    pub fn list(self) -> Vec<Engine> {
        match self {
            EngineChoice::All => vec![Engine::Sqlite, Engine::Postgres],
            EngineChoice::Sqlite => vec![Engine::Sqlite],
            EngineChoice::Postgres => vec![Engine::Postgres],
        }
    }
}

/// Runs every scenario on each chosen engine and prints the tables.
pub async fn run(args: &Args, binary: &ServerBinary, postgres_url: &str) -> anyhow::Result<()> {
    if args.events < ENDPOINTS {
        bail!("--events must be at least {ENDPOINTS} (the fan-out scenario sends events/{ENDPOINTS} to each)");
    }
    let mut reports = Vec::new();
    for engine in args.engines.list() {
        let report = bench_engine(engine, args, binary, postgres_url)
            .await
            .with_context(|| format!("{engine:?} webhook benchmark failed"))?;
        println!("{}", report::text(&report));
        reports.push(report);
    }
    println!("{}", report::markdown(&reports, args));
    Ok(())
}

async fn bench_engine(
    engine: Engine,
    args: &Args,
    binary: &ServerBinary,
    postgres_url: &str,
) -> anyhow::Result<WebhookReport> {
    let hmac = raw_hmac(&seed::user_data(0))?;
    eprintln!(
        "== raw HMAC-SHA256 signature header: {:.0}/s on one core, {:.2} µs each ({}-byte body)",
        hmac.per_second, hmac.micros, hmac.body_bytes
    );
    let scenario = Scenario { engine, binary, postgres_url };
    eprintln!("== {engine:?}: {} deliveries to 1 endpoint", args.events);
    let one = scenario.on_fresh_database(|db, dir| scenario.throughput(db, dir, 1, args.events)).await?;
    let per_endpoint = args.events / ENDPOINTS;
    eprintln!("== {engine:?}: {} deliveries over {ENDPOINTS} endpoints", per_endpoint * ENDPOINTS);
    let hundred = scenario.on_fresh_database(|db, dir| scenario.throughput(db, dir, ENDPOINTS, per_endpoint)).await?;
    eprintln!("== {engine:?}: latency of {} sequential creates on an idle server", args.latency_samples);
    let latency = scenario.on_fresh_database(|db, dir| scenario.latency(db, dir, args.latency_samples)).await?;
    let backlog = if args.skip_backlog {
        None
    } else {
        eprintln!("== {engine:?}: draining a backlog of {} messages", args.backlog);
        Some(scenario.on_fresh_database(|db, dir| scenario.backlog(db, dir, args.backlog)).await?)
    };
    Ok(WebhookReport { engine, hmac, one, hundred, latency, backlog })
}

/// What every scenario of one engine needs.
struct Scenario<'a> {
    engine: Engine,
    binary: &'a ServerBinary,
    postgres_url: &'a str,
}

impl Scenario<'_> {
    /// Runs `f` on a fresh database and server folder; the database is removed even on failure.
    async fn on_fresh_database<T, F, Fut>(&self, f: F) -> anyhow::Result<T>
    where
        F: FnOnce(String, PathBuf) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<T>>,
    {
        let db = BenchDatabase::create(self.engine, self.postgres_url).await?;
        let workdir = tempfile::Builder::new().prefix("tenantry-bench-server-").tempdir()?;
        let result = f(db.url().to_owned(), workdir.path().to_owned()).await;
        if let Err(e) = db.remove().await {
            eprintln!("== warning: cannot remove the benchmark database: {e:#}");
        }
        result
    }

    /// `endpoints` endpoints (one at `/`, or `/e/0` …), `per_endpoint` events each fanned out to
    /// all of them, delivered by a server started afterwards.
    async fn throughput(
        &self,
        db: String,
        workdir: PathBuf,
        endpoints: usize,
        events: usize,
    ) -> anyhow::Result<Throughput> {
        let receiver = Receiver::start().await?;
        let api_key = self.binary.create_api_key(&db, &workdir)?;
        let mut server = self.binary.start_in(&db, &workdir, Mode::WebhookSetup).await?;
        for n in 0..endpoints {
            let path = if endpoints == 1 { "/".to_owned() } else { format!("/e/{n}") };
            create_endpoint(server.addr(), &api_key, &receiver.url(&path)).await?;
        }
        server.stop()?;
        seed::seed_events(&db, events).await?;
        let expected = (events * endpoints) as u64;
        let mut server = self.binary.start_in(&db, &workdir, Mode::WebhookDelivery).await?;
        let drained = drain(&receiver, &server, expected, RssSampling::Off).await?;
        server.stop()?;
        let per_path = receiver.per_path();
        let uneven = if endpoints == 1 {
            None
        } else {
            let (min, max) = (per_path.iter().min().copied(), per_path.iter().max().copied());
            Some((min.unwrap_or(0), max.unwrap_or(0)))
        };
        Ok(Throughput {
            endpoints,
            deliveries: drained.in_window,
            seconds: drained.window.as_secs_f64(),
            cpu: drained.cpu,
            requests: receiver.requests(),
            distinct: receiver.distinct(),
            unidentified: receiver.unidentified(),
            per_path_min_max: uneven,
            expected_per_path: events as u64,
        })
    }

    /// Sequential creates on an idle server with its workers on: from just before each request to
    /// the arrival of its delivery.
    async fn latency(&self, db: String, workdir: PathBuf, samples: usize) -> anyhow::Result<Latency> {
        let receiver = Receiver::start().await?;
        let api_key = self.binary.create_api_key(&db, &workdir)?;
        let server = self.binary.start_in(&db, &workdir, Mode::WebhookDelivery).await?;
        create_endpoint(server.addr(), &api_key, &receiver.url("/")).await?;
        let mut conn = Connection::open(server.addr()).await?;
        let mut out = Vec::with_capacity(samples);
        for n in 0..LATENCY_WARMUP + samples {
            let seen = receiver.distinct();
            let t0 = Instant::now();
            create_user(&mut conn, server.addr(), &api_key, n).await?;
            let deadline = Instant::now() + STALL_TIMEOUT;
            while receiver.distinct() == seen {
                if Instant::now() > deadline {
                    bail!("the delivery of create {n} did not arrive within {STALL_TIMEOUT:?}");
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let t1 = receiver.last_new().context("a delivery arrived without a time")?;
            if n >= LATENCY_WARMUP {
                out.push(t1.saturating_duration_since(t0));
            }
        }
        drop(server);
        Ok(Latency::new(out))
    }

    /// A backlog of `count` pending messages for one endpoint, drained by a server started on it.
    async fn backlog(&self, db: String, workdir: PathBuf, count: usize) -> anyhow::Result<Backlog> {
        let receiver = Receiver::start().await?;
        let api_key = self.binary.create_api_key(&db, &workdir)?;
        let mut server = self.binary.start_in(&db, &workdir, Mode::WebhookSetup).await?;
        let endpoint_id = create_endpoint(server.addr(), &api_key, &receiver.url("/")).await?;
        server.stop()?;
        let payload = sign::body(seed::EVENT_TYPE, SystemClock.now(), &seed::user_data(0));
        seed::seed_backlog(self.engine, &db, endpoint_id, &payload, count).await?;
        let started = Instant::now();
        let mut server = self.binary.start_in(&db, &workdir, Mode::WebhookDelivery).await?;
        let healthy = Instant::now();
        let idle = server.memory()?;
        let drained = drain(&receiver, &server, count as u64, RssSampling::EverySecond).await?;
        let end = server.memory()?;
        server.stop()?;
        let last = receiver.last_new().unwrap_or(healthy);
        Ok(Backlog {
            messages: count as u64,
            start_up: healthy.saturating_duration_since(started),
            drain: last.saturating_duration_since(healthy),
            window_deliveries: drained.in_window,
            cpu: drained.cpu,
            rss_at_start: idle,
            rss_sampled_max_kib: drained.max_rss_kib.max(end.rss_kib),
            peak: end,
            requests: receiver.requests(),
        })
    }
}

/// Whether [`drain`] reads the server's RSS every second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RssSampling {
    Off,
    EverySecond,
}

/// A drain timed from the first delivery seen after start-up to the last.
struct Drained {
    /// Deliveries (new `webhook-id`s) inside the window.
    in_window: u64,
    window: Duration,
    /// Where the CPU went in the window (the last up to 5 ms after it).
    cpu: CpuUse,
    max_rss_kib: u64,
}

/// Waits until `expected` distinct `webhook-id`s arrived. The window starts at the first arrival
/// (or, when deliveries began before `/healthz` answered, at once, not counting those) and ends at
/// the last new arrival.
async fn drain(
    receiver: &Receiver,
    server: &ServerProcess,
    expected: u64,
    sampling: RssSampling,
) -> anyhow::Result<Drained> {
    let mut max_rss_kib = 0;
    let mut next_sample = Instant::now();
    let mut sample = |server: &ServerProcess, max: &mut u64| -> anyhow::Result<()> {
        if sampling == RssSampling::EverySecond && Instant::now() >= next_sample {
            *max = (*max).max(server.memory()?.rss_kib);
            next_sample += Duration::from_secs(1);
        }
        Ok(())
    };
    let mut progress = (0, Instant::now());
    let mut stalled = |seen: u64| {
        if seen != progress.0 {
            progress = (seen, Instant::now());
        }
        progress.1.elapsed() > STALL_TIMEOUT
    };
    while receiver.distinct() == 0 {
        if stalled(0) {
            bail!("no delivery arrived within {STALL_TIMEOUT:?} of the server's start");
        }
        sample(server, &mut max_rss_kib)?;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let before = CpuSnapshot::take(server.pid())?;
    let started = Instant::now();
    let at_start = receiver.distinct();
    loop {
        let seen = receiver.distinct();
        if seen >= expected {
            break;
        }
        if stalled(seen) {
            bail!(
                "deliveries stopped at {seen} of {expected} ({} requests received); see the server's log above",
                receiver.requests()
            );
        }
        sample(server, &mut max_rss_kib)?;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let after = CpuSnapshot::take(server.pid())?;
    let end = receiver.last_new().unwrap_or(started).max(started);
    Ok(Drained {
        in_window: receiver.distinct().min(expected) - at_start,
        window: end.saturating_duration_since(started),
        cpu: before.until(&after),
        max_rss_kib,
    })
}

/// Raw signing cost on one core: one secret, a `webhook-id` and a body as the worker signs them.
fn raw_hmac(data: &serde_json::Value) -> anyhow::Result<Hmac> {
    let secrets = [WebhookSecret::generate()];
    let body = sign::body(seed::EVENT_TYPE, SystemClock.now(), data);
    let id = Uuid::now_v7().to_string();
    let timestamp = SystemClock.now().timestamp();
    let started = Instant::now();
    let mut signs = 0u64;
    while started.elapsed() < HMAC_WINDOW {
        for _ in 0..1_000 {
            std::hint::black_box(sign::signature_header(
                std::hint::black_box(&secrets),
                &id,
                timestamp,
                body.as_bytes(),
            ));
        }
        signs += 1_000;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(Hmac { per_second: signs as f64 / seconds, micros: seconds * 1e6 / signs as f64, body_bytes: body.len() })
}

/// `POST /api/backend/v1/webhooks/endpoints` for `url`, subscribed to the seeded event type only;
/// returns the endpoint's id.
async fn create_endpoint(addr: SocketAddr, api_key: &str, url: &str) -> anyhow::Result<Uuid> {
    let body = serde_json::json!({ "url": url, "event_types": [seed::EVENT_TYPE] }).to_string();
    let req = Request::post("/api/backend/v1/webhooks/endpoints")
        .header(HOST, addr.to_string())
        .header(AUTHORIZATION, format!("Bearer {api_key}"))
        .header(CONTENT_TYPE, "application/json")
        .body(Full::from(body))?;
    let (status, body) = Connection::open(addr).await?.exchange(req).await?;
    if !status.is_success() {
        bail!("creating a webhook endpoint answered {status}: {}", String::from_utf8_lossy(&body));
    }
    let out: serde_json::Value = serde_json::from_slice(&body)?;
    let id = out["endpoint"]["endpoint_id"].as_str().context("no endpoint.endpoint_id in the answer")?;
    Ok(Uuid::parse_str(id)?)
}

/// `POST /api/backend/v1/users` with a fresh email: one `user.created` event.
async fn create_user(conn: &mut Connection, addr: SocketAddr, api_key: &str, n: usize) -> anyhow::Result<()> {
    let body = format!(r#"{{"email":"latency-{n}@bench.example.com","first_name":"Bench"}}"#);
    let req = Request::post("/api/backend/v1/users")
        .header(HOST, addr.to_string())
        .header(AUTHORIZATION, format!("Bearer {api_key}"))
        .header(CONTENT_TYPE, "application/json")
        .body(Full::from(body))?;
    let (status, body) = conn.exchange(req).await?;
    if !status.is_success() {
        bail!("creating a user answered {status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(())
}
