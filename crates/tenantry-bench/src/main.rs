//! `tenantry-bench`: the benchmark harness behind `BENCHMARKS.md`.
//!
//! `cargo run --release -p tenantry-bench -- all` does, for SQLite and then PostgreSQL:
//!
//! 1. makes a throw-away database (a temporary SQLite file, or a fresh `tenantry_bench_*` PostgreSQL
//!    database) and seeds it with users straight through `tenantry-store` ([`seed`]);
//! 2. creates a backend API key with `tenantry api-key create` and starts the release `tenantry`
//!    binary as a child process on a free loopback port ([`server`]);
//! 3. drives each [`load::Scenario`] over keep-alive HTTP/1.1 connections from this process, after a
//!    warm-up, and records throughput, latency percentiles and errors ([`load`]), and where the CPU
//!    went meanwhile: server, load generator, everything else ([`cpu`]);
//! 4. reads the server's resident memory when idle and after the run, stops it, drops the database,
//!    and prints a table and a markdown table with every scenario as a ratio to the no-op route
//!    ([`report`]).
//!
//! Server and load generator share the machine's cores, and so does anything else running: the
//! harness warns when other processes were busy before the load started, and reports the server's
//! CPU time per request, which stays comparable between runs when throughput does not.
//!
//! `cargo run --release -p tenantry-bench -- webhooks all` measures webhook delivery instead: to a
//! receiver in this process, from one endpoint and from 100, the latency from a change to its
//! delivery, and the server's memory while a backlog drains ([`webhooks`]).
//!
//! The server is always the `tenantry` binary next to this one; when started through `cargo run`,
//! the harness first runs `cargo build --release -p tenantry-server` so the binary is current.

mod argon;
mod cpu;
mod database;
mod http;
mod load;
mod pages;
mod report;
mod saml;
mod seed;
mod server;
mod webhooks;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use tenantry_store::Engine;

use crate::cpu::CpuSnapshot;
use crate::database::BenchDatabase;
use crate::load::{LoadSpec, OrgTarget, Scenario, Target};

/// Invitees prepared per connection for the invite round trip (each accepts once).
const INVITES_PER_CONNECTION: usize = 250;
/// 2FA users the `login-totp` scenario cycles through: at the ~100 sign-ins/s Argon2id allows on
/// 2 cores, a cycle takes far longer than a 30-second step, so no code is presented twice.
const TOTP_LOGIN_USERS: usize = 5_000;
use crate::report::{EngineReport, ScenarioResult};
use crate::server::ServerBinary;

/// Benchmarks the `tenantry` server over loopback HTTP.
#[derive(Parser)]
#[command(about)]
struct Cli {
    #[command(subcommand)]
    engines: Engines,
    #[command(flatten)]
    options: Options,
}

#[derive(Subcommand, Clone)]
enum Engines {
    /// SQLite, then PostgreSQL.
    All,
    /// SQLite only.
    Sqlite,
    /// PostgreSQL only.
    Postgres,
    /// Webhook delivery instead of the HTTP scenarios: `webhooks sqlite|postgres|all`.
    Webhooks(webhooks::Args),
}

impl Engines {
    fn list(&self) -> Vec<Engine> {
        match self {
            Engines::All => vec![Engine::Sqlite, Engine::Postgres],
            Engines::Sqlite => vec![Engine::Sqlite],
            Engines::Postgres => vec![Engine::Postgres],
            Engines::Webhooks(args) => args.engines.list(),
        }
    }
}

#[derive(clap::Args)]
struct Options {
    /// Seconds each scenario is measured, after the warm-up.
    #[arg(long, default_value_t = 10, global = true)]
    duration_secs: u64,
    /// Seconds of load before measuring starts.
    #[arg(long, default_value_t = 2, global = true)]
    warmup_secs: u64,
    /// Concurrent keep-alive connections, one task each.
    #[arg(long, default_value_t = 64, global = true)]
    connections: usize,
    /// Users seeded before the server starts.
    #[arg(long, default_value_t = 1_000_000, global = true)]
    users: usize,
    /// Orgs seeded (each with an owner; the first with 100,000 members); 0 skips the org
    /// scenarios.
    #[arg(long, default_value_t = 100_000, global = true)]
    orgs: usize,
    /// A PostgreSQL URL whose user may create databases; a fresh one is made and dropped per run.
    #[arg(
        long,
        env = "TENANTRY_BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres",
        global = true
    )]
    postgres_url: String,
    /// Run only these scenarios (repeatable, e.g. `--only login`); the no-op ceiling is always run.
    #[arg(long, value_enum, global = true)]
    only: Vec<Scenario>,
    /// Users with 2FA whose pending sign-ins the `totp-step` scenario spends, one each (a code
    /// works once per user and step); besides the 5,000 that `login-totp` cycles through.
    #[arg(long, default_value_t = 20_000, global = true)]
    totp_step_users: usize,
    /// Signed responses made for the `saml-acs` scenario, one per sign-in: they cap its
    /// warm-up plus measured window (pysaml2 signs about 10 a second per core).
    #[arg(long, default_value_t = 3_000, global = true)]
    saml_responses: usize,
    /// The `tenantry` binary to benchmark. Default: the one next to this binary, rebuilt first when
    /// run through `cargo run`.
    #[arg(long, global = true)]
    server_bin: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if cfg!(debug_assertions) {
        bail!("benchmarks need an optimized build: cargo run --release -p tenantry-bench -- all");
    }
    let opts = &cli.options;
    if opts.connections == 0 || opts.duration_secs == 0 {
        bail!("--connections and --duration-secs must be at least 1");
    }
    let binary = ServerBinary::locate(opts.server_bin.clone())?;
    server::print_passed_through_env();
    if let Engines::Webhooks(args) = &cli.engines {
        return webhooks::run(args, &binary, &opts.postgres_url).await;
    }
    let mut reports = Vec::new();
    for engine in cli.engines.list() {
        let report =
            bench_engine(engine, &binary, opts).await.with_context(|| format!("{engine:?} benchmark failed"))?;
        println!("{}", report::text_table(&report));
        reports.push(report);
    }
    println!("{}", report::markdown(&reports, opts.connections, opts.users));
    Ok(())
}

/// One engine from an empty database to its report; the database is removed even on failure.
async fn bench_engine(engine: Engine, binary: &ServerBinary, opts: &Options) -> anyhow::Result<EngineReport> {
    eprintln!("== {engine:?}: preparing a database with {} users", opts.users);
    let db = BenchDatabase::create(engine, &opts.postgres_url).await?;
    let result = bench_on(engine, &db, binary, opts).await;
    if let Err(e) = db.remove().await {
        eprintln!("== warning: cannot remove the benchmark database: {e:#}");
    }
    result
}

async fn bench_on(
    engine: Engine,
    db: &BenchDatabase,
    binary: &ServerBinary,
    opts: &Options,
) -> anyhow::Result<EngineReport> {
    let wants = |s: Scenario| opts.only.is_empty() || opts.only.contains(&s);
    let user_ids = seed::seed_users(db.url(), opts.users).await?;
    let password_hash = argon::bench_password_hash()?;
    seed::seed_login_users(db.url(), &password_hash).await?;
    // The server's master key, made here so the 2FA seeds are sealed as enrollment seals them.
    let master_key = tenantry_auth::MasterKey::generate();
    let totp_users = if wants(Scenario::LoginTotp) || wants(Scenario::TotpStep) {
        seed::seed_totp_users(db.url(), &password_hash, &master_key, TOTP_LOGIN_USERS + opts.totp_step_users).await?
    } else {
        Vec::new()
    };
    let org_seed = match opts.orgs {
        0 => None,
        n => Some(seed::seed_orgs(db.url(), &user_ids, n).await?),
    };
    let workdir = tempfile::Builder::new().prefix("tenantry-bench-server-").tempdir()?;
    // Where the server reads its master key by default (`master_key_file`).
    std::fs::create_dir_all(workdir.path().join("data"))?;
    std::fs::write(workdir.path().join("data/master.key"), master_key.to_base64().as_bytes())?;
    let api_key = binary.create_api_key(db.url(), workdir.path())?;
    let mut process = binary.start(db.url(), workdir.path()).await?;
    // Refresh chains for users in no org: the seeded users after every org member.
    let free = org_seed.as_ref().map_or(0..user_ids.len(), |o| o.free_users.clone());
    let n = opts.connections;
    let free_users = &user_ids[free];
    if free_users.len() < n {
        bail!("seed more users: {} are in no org, {n} are needed", free_users.len());
    }
    let sessions = seed::open_sessions(process.addr(), &api_key, &free_users[..n]).await?;
    let mut target = Target::new(process.addr(), &api_key, user_ids.clone())?;
    target.totp_users = totp_users;
    target.totp_login_users = TOTP_LOGIN_USERS;
    let saml = if wants(Scenario::SamlAcs) {
        let python = saml::idp_python()?;
        let setup = saml::set_up(process.addr(), &api_key, &python).await?;
        target.saml_acs_path = setup.acs_path.clone();
        Some((python, setup))
    } else {
        None
    };
    target.refresh_tokens.insert(Scenario::Refresh, sessions.into_iter().map(|s| s.refresh).collect());
    if let Some(o) = &org_seed {
        for (scenario, user) in
            [(Scenario::RefreshOneOrg, o.single_org_user), (Scenario::RefreshFiftyOrgs, o.multi_org_user)]
        {
            let sessions = seed::open_sessions(process.addr(), &api_key, &vec![user; n]).await?;
            target.refresh_tokens.insert(scenario, sessions.into_iter().map(|s| s.refresh).collect());
        }
        let wanted = (n * INVITES_PER_CONNECTION).min(free_users.len() - n);
        eprintln!("== {engine:?}: signing in {wanted} invitees");
        let invitees = &free_users[n..n + wanted];
        let sessions = seed::open_sessions(process.addr(), &api_key, invitees).await?;
        let first_free = o.free_users.start + n;
        let mut per_task = vec![Vec::new(); n];
        for (i, s) in sessions.into_iter().enumerate() {
            per_task[i % n].push((seed::seeded_email(first_free + i), s.access));
        }
        target.orgs = Some(OrgTarget {
            org_ids: o.org_ids.clone(),
            big_org: o.big_org,
            deep_cursor: o.deep_cursor,
            invite_org: o.invite_org,
            invitees: per_task,
            db: tenantry_store::Db::connect(
                db.url(),
                &tenantry_store::DbOptions { max_connections: 4, ..Default::default() },
            )
            .await?,
        });
    }
    // Let start-up settle before calling the server idle; meanwhile, see what else runs.
    let before = CpuSnapshot::take(process.pid())?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let background = before.until(&CpuSnapshot::take(process.pid())?).other;
    if background > 0.2 {
        eprintln!("== warning: other processes use {background:.2} cores before the run; figures will be low");
    }
    let idle = process.memory()?;
    let target = Arc::new(target);
    let spec = LoadSpec {
        connections: opts.connections,
        warmup: Duration::from_secs(opts.warmup_secs),
        duration: Duration::from_secs(opts.duration_secs),
    };
    let mut results = Vec::new();
    let mut argon2_per_sec = None;
    let mut saml_verify = None;
    for scenario in Scenario::ALL {
        let org_scenario = matches!(
            scenario,
            Scenario::FetchOrg
                | Scenario::MembersFirstPage
                | Scenario::MembersDeepPage
                | Scenario::RefreshOneOrg
                | Scenario::RefreshFiftyOrgs
                | Scenario::InviteAccept
        );
        if org_scenario && target.orgs.is_none() {
            continue;
        }
        if !opts.only.is_empty() && scenario != Scenario::Noop && !opts.only.contains(&scenario) {
            continue;
        }
        let raw_window = spec.duration.min(Duration::from_secs(5));
        if scenario == Scenario::Login {
            // The ceiling for logins, on the same cores, while the server idles: measured right
            // before and right after the logins, since the host's speed drifts between minutes.
            let rate = argon::raw_rate(&password_hash, raw_window)?;
            eprintln!("== {engine:?}: raw Argon2id {rate:.1} verifications/s on all cores");
            argon2_per_sec = Some(rate);
        }
        let connections = scenario.connections(spec.connections);
        if scenario == Scenario::TotpStep {
            // The password steps, done before the window: the rows they leave, written directly.
            let step_users = &target.totp_users[TOTP_LOGIN_USERS..];
            let tokens = seed::seed_pending_sign_ins(db.url(), step_users).await?;
            let items = tokens
                .into_iter()
                .enumerate()
                .map(|(i, token)| load::Prepared::Pending { token, user: TOTP_LOGIN_USERS + i })
                .collect();
            target.prepare(scenario, connections, items);
        }
        let mut saml_raw_window = None;
        if let (Scenario::SamlAcs, Some((python, setup))) = (scenario, &saml) {
            let emails: Vec<String> = (0..=opts.saml_responses).map(saml::sso_email).collect();
            let mut responses = saml::responses(python, setup, &emails)?;
            // The last one is never posted: the raw rate verifies it, before and after the ACS runs.
            let probe = responses.pop().context("no responses")?;
            let rate = saml::raw_verify_rate(setup, &probe, raw_window)?;
            eprintln!(
                "== {engine:?}: raw verify_response {:.0}/s on all cores, {:.2} ms of CPU each",
                rate.per_sec, rate.cpu_ms
            );
            saml_raw_window = Some((setup, probe, rate));
            target.prepare(scenario, connections, responses.into_iter().map(load::Prepared::SamlResponse).collect());
        }
        eprintln!("== {engine:?}: {} ({connections} connections)", scenario.label());
        let pid = process.pid();
        let run = load::run(scenario, &target, &spec, || CpuSnapshot::take(pid)).await?;
        let cpu = run.window_start.until(&run.window_end);
        results.push(ScenarioResult { measurement: run.measurement, cpu });
        if scenario == Scenario::Login {
            let after = argon::raw_rate(&password_hash, raw_window)?;
            eprintln!("== {engine:?}: raw Argon2id after the logins {after:.1} verifications/s");
            argon2_per_sec = argon2_per_sec.map(|before| (before + after) / 2.0);
        }
        if let Some((setup, probe, before)) = saml_raw_window {
            let after = saml::raw_verify_rate(setup, &probe, raw_window)?;
            eprintln!(
                "== {engine:?}: raw verify_response after the ACS {:.0}/s, {:.2} ms of CPU each",
                after.per_sec, after.cpu_ms
            );
            saml_verify = Some(saml::RawRate {
                per_sec: (before.per_sec + after.per_sec) / 2.0,
                cpu_ms: (before.cpu_ms + after.cpu_ms) / 2.0,
            });
        }
    }
    if opts.only.is_empty() || opts.only.iter().any(|s| matches!(s, Scenario::PageSignIn | Scenario::PageSignInPost)) {
        match pages::weights(process.addr()).await {
            Ok(w) => println!("== {engine:?}: page weight (HTML + CSS, uncompressed)\n{}", pages::markdown(&w)),
            Err(e) => eprintln!("== warning: page weights not measured: {e:#}"),
        }
    }
    let after = process.memory()?;
    process.stop()?;
    Ok(EngineReport { engine, background, idle, after, results, argon2_per_sec, saml_verify })
}
