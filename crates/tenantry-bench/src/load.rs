//! The load generator: one task per connection, each sending a scenario's requests back to back
//! (closed loop), so the concurrency is exactly the number of connections.
//!
//! Every task runs through a warm-up and then a measured window. A request counts when it *starts*
//! inside the window; throughput is the count of 2xx answers divided by the time from the window's
//! start to the last answer. Anything else (a non-2xx status, a broken connection) is an error.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, COOKIE, HOST};
use hyper::Request;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tenantry_store::mail_queue::latest_mail_to;
use tenantry_store::Db;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::http::{Connection, Req};
use crate::seed::TotpUser;

/// What is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Scenario {
    /// `GET /healthz`: a constant JSON body, no database; the ceiling the others are compared to.
    Noop,
    /// `GET /api/backend/v1/users/{id}` of a random seeded user.
    FetchUser,
    /// `POST /api/backend/v1/users` with a fresh email and no password.
    CreateUser,
    /// `POST /api/v1/token/refresh`: each connection rotates its own session's refresh token.
    Refresh,
    /// `POST /api/v1/login` with the right password of a random seeded user, each connection
    /// from its own loopback address; `/healthz` is probed meanwhile.
    Login,
    /// `GET /api/backend/v1/orgs/{id}` of a random seeded org.
    FetchOrg,
    /// The first page (50) of the big org's member list, over one connection: latency.
    MembersFirstPage,
    /// Page 1,000 of the big org's member list, by cursor, over one connection: latency.
    MembersDeepPage,
    /// Refresh rotation for a user in one org.
    RefreshOneOrg,
    /// Refresh rotation for a user in 50 orgs (every org in the token).
    RefreshFiftyOrgs,
    /// Backend invite, then the invitee accepts with the emailed token: one round trip.
    InviteAccept,
    /// `GET /sign-in`, the hosted sign-in page, by a browser that holds its pre-session cookie.
    PageSignIn,
    /// The hosted sign-in form posted with its CSRF token and cookie and a login user's right
    /// password (a 303 into the app), each connection from its own loopback address like `Login`.
    PageSignInPost,
    /// Password + TOTP: `POST /api/v1/login` (202 and a pending token), then
    /// `POST /api/v1/login/second-factor` with the code of the current step; one iteration is one
    /// sign-in. Each user signs in at most once per cycle through the 2FA users, so a code is never
    /// presented twice.
    LoginTotp,
    /// The code step alone: `POST /api/v1/login/second-factor` on pending sign-ins prepared before
    /// the window (one user each), so the server's CPU is that of the code step only.
    TotpStep,
    /// `POST /sso/saml/{id}/acs` with a signed IdP-initiated Response made before the window (one
    /// each: an assertion is single-use); a 303 with a session cookie is a sign-in.
    SamlAcs,
}

impl Scenario {
    /// Run in this order: the ceiling first, and creation last because it grows the database.
    pub const ALL: [Scenario; 16] = [
        Scenario::Noop,
        Scenario::PageSignIn,
        Scenario::FetchUser,
        Scenario::FetchOrg,
        Scenario::MembersFirstPage,
        Scenario::MembersDeepPage,
        Scenario::Refresh,
        Scenario::RefreshOneOrg,
        Scenario::RefreshFiftyOrgs,
        Scenario::Login,
        Scenario::LoginTotp,
        Scenario::TotpStep,
        Scenario::PageSignInPost,
        Scenario::SamlAcs,
        Scenario::InviteAccept,
        Scenario::CreateUser,
    ];

    /// Connections for this scenario: latency scenarios use one, so the figure is service time
    /// rather than queueing behind 63 other requests on 2 cores.
    pub fn connections(self, default: usize) -> usize {
        match self {
            Scenario::MembersFirstPage | Scenario::MembersDeepPage => 1,
            _ => default,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Scenario::Noop => "no-op JSON (GET /healthz)",
            Scenario::FetchUser => "fetch user by id",
            Scenario::CreateUser => "create user (no password)",
            Scenario::Refresh => "token refresh (rotate + sign)",
            Scenario::Login => "password login (Argon2id)",
            Scenario::FetchOrg => "fetch org by id",
            Scenario::MembersFirstPage => "members of a 100k org, page 1",
            Scenario::MembersDeepPage => "members of a 100k org, page 1000",
            Scenario::RefreshOneOrg => "refresh, user in 1 org",
            Scenario::RefreshFiftyOrgs => "refresh, user in 50 orgs",
            Scenario::InviteAccept => "invite + accept round trip",
            Scenario::PageSignIn => "sign-in page (GET /sign-in)",
            Scenario::PageSignInPost => "sign-in form POST (Argon2id)",
            Scenario::LoginTotp => "password + TOTP login",
            Scenario::TotpStep => "TOTP code step only",
            Scenario::SamlAcs => "SAML ACS (verify + sign in)",
        }
    }
}

/// Users seeded with a password for [`Scenario::Login`]; their emails are [`login_email`].
pub const LOGIN_USERS: usize = 1_000;

/// The password of every login user.
pub const LOGIN_PASSWORD: &str = "bench correct horse battery";

/// The email of the `n`-th login user.
pub fn login_email(n: usize) -> String {
    format!("login-{n}@bench.example.com")
}

/// How often the probe asks `/healthz` while logins load the server.
const PROBE_EVERY: Duration = Duration::from_millis(10);

/// The server under load and what requests need to address it.
pub struct Target {
    addr: SocketAddr,
    host: HeaderValue,
    authorization: HeaderValue,
    user_ids: Vec<Uuid>,
    /// Per refresh scenario, one refresh token per connection, each its own rotation chain.
    pub refresh_tokens: HashMap<Scenario, Vec<String>>,
    pub orgs: Option<OrgTarget>,
    /// Users with 2FA: the first [`Target::totp_login_users`] sign in through
    /// [`Scenario::LoginTotp`], the rest are for the pending sign-ins of [`Scenario::TotpStep`].
    pub totp_users: Vec<TotpUser>,
    pub totp_login_users: usize,
    /// The next of the login users, shared by every connection so none signs in twice in a row.
    totp_next: AtomicUsize,
    /// The path the `saml-acs` scenario posts to.
    pub saml_acs_path: String,
    /// Per scenario, per connection: what was prepared for it just before it runs (pending
    /// sign-ins, signed responses), each used once.
    pub prepared: Mutex<HashMap<Scenario, Vec<VecDeque<Prepared>>>>,
}

/// One single-use thing a connection spends.
pub enum Prepared {
    /// A pending sign-in's token and the index of its user in [`Target::totp_users`].
    Pending { token: String, user: usize },
    /// A signed SAML Response, base64.
    SamlResponse(String),
}

/// What the organization scenarios address.
pub struct OrgTarget {
    pub org_ids: Vec<Uuid>,
    pub big_org: Uuid,
    pub deep_cursor: Uuid,
    pub invite_org: Uuid,
    /// Per connection: invitees as (email, access token), used once each.
    pub invitees: Vec<Vec<(String, String)>>,
    /// Where the benchmark reads the invitation emails the server queues.
    pub db: Db,
}

impl Target {
    pub fn new(addr: SocketAddr, api_key: &str, user_ids: Vec<Uuid>) -> anyhow::Result<Target> {
        Ok(Target {
            addr,
            host: HeaderValue::from_str(&addr.to_string())?,
            authorization: HeaderValue::from_str(&format!("Bearer {api_key}"))
                .context("the API key is not a header")?,
            user_ids,
            refresh_tokens: HashMap::new(),
            orgs: None,
            totp_users: Vec::new(),
            totp_login_users: 0,
            totp_next: AtomicUsize::new(0),
            saml_acs_path: String::new(),
            prepared: Mutex::new(HashMap::new()),
        })
    }

    /// Hands `items` to `scenario`'s connections, round robin.
    pub fn prepare(&self, scenario: Scenario, connections: usize, items: Vec<Prepared>) {
        let mut per_task: Vec<VecDeque<Prepared>> = (0..connections).map(|_| VecDeque::new()).collect();
        for (i, item) in items.into_iter().enumerate() {
            per_task[i % connections.max(1)].push_back(item);
        }
        self.prepared.lock().unwrap_or_else(|e| e.into_inner()).insert(scenario, per_task);
    }
}

/// How hard and how long to push.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

/// What one scenario measured.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub scenario: Scenario,
    /// Non-2xx answers and broken connections inside the window.
    pub errors: u64,
    /// The first error seen (warm-up included), to say what went wrong.
    pub first_error: Option<String>,
    /// From the window's start to the last answer.
    pub elapsed: Duration,
    /// Latency of every 2xx answer in the window, in microseconds, sorted.
    latencies_us: Vec<u32>,
    /// Latencies of the `/healthz` probe that ran beside the scenario, sorted; empty without one.
    probe_latencies_us: Vec<u32>,
}

impl Measurement {
    /// Successful answers in the window.
    pub fn requests(&self) -> u64 {
        self.latencies_us.len() as u64
    }

    pub fn per_second(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p`-th percentile latency (nearest rank), or zero without answers.
    pub fn percentile(&self, p: f64) -> Duration {
        Duration::from_micros(u64::from(nearest_rank(&self.latencies_us, p)))
    }

    /// The `p`-th percentile of the `/healthz` probe, if one ran.
    pub fn probe_percentile(&self, p: f64) -> Option<Duration> {
        (!self.probe_latencies_us.is_empty())
            .then(|| Duration::from_micros(u64::from(nearest_rank(&self.probe_latencies_us, p))))
    }
}

/// The nearest-rank percentile of sorted values.
fn nearest_rank(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A scenario's figures, with whatever the caller sampled as the measured window opened and after
/// its last answer (CPU counters), so those samples cover the same window as the figures.
pub struct Run<S> {
    pub measurement: Measurement,
    pub window_start: S,
    pub window_end: S,
}

/// Runs `scenario` against `target` and collects every task's figures.
pub async fn run<S>(
    scenario: Scenario,
    target: &Arc<Target>,
    spec: &LoadSpec,
    sample: impl Fn() -> anyhow::Result<S>,
) -> anyhow::Result<Run<S>> {
    let start = Instant::now();
    let window = Window { measure_from: start + spec.warmup, end: start + spec.warmup + spec.duration };
    let mut tasks = JoinSet::new();
    for task in 0..scenario.connections(spec.connections) {
        tasks.spawn(drive(RequestSource::new(scenario, task, target.clone())?, window));
    }
    let probe = matches!(scenario, Scenario::Login | Scenario::PageSignInPost | Scenario::LoginTotp)
        .then(|| tokio::spawn(probe_healthz(target.clone(), window)));
    tokio::time::sleep_until(window.measure_from.into()).await;
    let window_start = sample()?;
    let mut total = TaskStats::new(window.measure_from);
    while let Some(joined) = tasks.join_next().await {
        total.absorb(joined.context("a load task panicked")??);
    }
    let window_end = sample()?;
    let mut probe_latencies_us = match probe {
        Some(p) => p.await.context("the probe panicked")??,
        None => Vec::new(),
    };
    probe_latencies_us.sort_unstable();
    total.latencies_us.sort_unstable();
    let elapsed = total.last_answer.saturating_duration_since(window.measure_from);
    let measurement = Measurement {
        scenario,
        errors: total.errors,
        first_error: total.first_error,
        elapsed: if elapsed.is_zero() { spec.duration } else { elapsed },
        latencies_us: total.latencies_us,
        probe_latencies_us,
    };
    Ok(Run { measurement, window_start, window_end })
}

/// Asks `/healthz` every [`PROBE_EVERY`] on a connection of its own, during the measured window,
/// and returns each answer's latency: how responsive the server stays while others load it.
async fn probe_healthz(target: Arc<Target>, window: Window) -> anyhow::Result<Vec<u32>> {
    let mut conn = Connection::open(target.addr).await?;
    let mut latencies = Vec::new();
    tokio::time::sleep_until(window.measure_from.into()).await;
    let mut ticks = tokio::time::interval(PROBE_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let sent = Instant::now();
        if sent >= window.end {
            return Ok(latencies);
        }
        let req = Request::get("/healthz").header(HOST, target.host.clone()).body(Full::default())?;
        let status = conn.send(req).await?;
        if !status.is_success() {
            anyhow::bail!("/healthz answered {status} during the load");
        }
        latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
    }
}

/// When measuring starts and when tasks stop sending.
#[derive(Debug, Clone, Copy)]
struct Window {
    measure_from: Instant,
    end: Instant,
}

/// One task's figures.
struct TaskStats {
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
    last_answer: Instant,
}

impl TaskStats {
    fn new(measure_from: Instant) -> TaskStats {
        TaskStats { latencies_us: Vec::new(), errors: 0, first_error: None, last_answer: measure_from }
    }

    fn success(&mut self, sent: Instant, answered: Instant) {
        let micros = answered.duration_since(sent).as_micros();
        self.latencies_us.push(u32::try_from(micros).unwrap_or(u32::MAX));
        self.last_answer = self.last_answer.max(answered);
    }

    fn error(&mut self, measured: bool, what: impl FnOnce() -> String) {
        if measured {
            self.errors += 1;
        }
        if self.first_error.is_none() {
            self.first_error = Some(what());
        }
    }

    fn absorb(&mut self, other: TaskStats) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
        self.first_error = self.first_error.take().or(other.first_error);
        self.last_answer = self.last_answer.max(other.last_answer);
    }
}

/// One connection sending back to back until the window ends; a broken connection is reopened.
async fn drive(mut source: RequestSource, window: Window) -> anyhow::Result<TaskStats> {
    let mut conn = source.connect().await?;
    let mut stats = TaskStats::new(window.measure_from);
    loop {
        let sent = Instant::now();
        if sent >= window.end {
            return Ok(stats);
        }
        let outcome = source.step(&mut conn).await;
        let answered = Instant::now();
        let measured = sent >= window.measure_from;
        match outcome {
            Ok(Step::Done) if measured => stats.success(sent, answered),
            Ok(Step::Done) => {}
            Ok(Step::Exhausted) => return Ok(stats),
            Ok(Step::Refused(what)) => stats.error(measured, || format!("{}: {what}", source.scenario.label())),
            Err(e) => {
                stats.error(measured, || format!("{}: {e:#}", source.scenario.label()));
                conn = source.connect().await?;
            }
        }
    }
}

/// How one iteration of a scenario ended (a broken connection is an `Err` instead).
enum Step {
    Done,
    /// A non-2xx answer or an unusable body.
    Refused(String),
    /// The task used up what was prepared for it (invitees).
    Exhausted,
}

fn refused(status: hyper::StatusCode, body: &[u8]) -> Step {
    Step::Refused(format!("HTTP {status}: {}", String::from_utf8_lossy(body)))
}

/// The requests of one task: random seeded ids to fetch, unique emails to create, the next
/// refresh token of its chain, or a random login user.
struct RequestSource {
    scenario: Scenario,
    task: usize,
    target: Arc<Target>,
    rng: StdRng,
    sequence: u64,
    /// [`Scenario::Refresh`]: the token to present next.
    refresh_token: String,
    /// The page scenarios: this browser's pre-session cookie (`name=value`) and the CSRF token its
    /// sign-in form carries, read from the first page.
    page: Option<(String, String)>,
    /// What was prepared for this connection ([`Target::prepare`]).
    queue: VecDeque<Prepared>,
}

impl RequestSource {
    fn new(scenario: Scenario, task: usize, target: Arc<Target>) -> anyhow::Result<RequestSource> {
        let refresh_token = match target.refresh_tokens.get(&scenario) {
            Some(tokens) => tokens.get(task).cloned().context("one refresh token per connection")?,
            None if matches!(scenario, Scenario::Refresh | Scenario::RefreshOneOrg | Scenario::RefreshFiftyOrgs) => {
                anyhow::bail!("no refresh tokens prepared for {}", scenario.label())
            }
            None => String::new(),
        };
        let queue = target
            .prepared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&scenario)
            .and_then(|q| q.get_mut(task))
            .map(std::mem::take)
            .unwrap_or_default();
        Ok(RequestSource {
            scenario,
            task,
            target,
            queue,
            rng: StdRng::seed_from_u64(task as u64),
            sequence: 0,
            refresh_token,
            page: None,
        })
    }

    /// A connection for this task: logins come from an address of their own (127.0.1.x), as
    /// separate clients would, so the per-address sign-in throttle sees each client's own count.
    async fn connect(&self) -> anyhow::Result<Connection> {
        match self.scenario {
            Scenario::Login
            | Scenario::PageSignInPost
            | Scenario::LoginTotp
            | Scenario::TotpStep
            | Scenario::SamlAcs => Connection::open_from(self.target.addr, client_address(self.task)).await,
            _ => Connection::open(self.target.addr).await,
        }
    }

    /// One iteration: a request (two for the invite round trip) and what its answer hands on.
    async fn step(&mut self, conn: &mut Connection) -> anyhow::Result<Step> {
        if self.scenario == Scenario::InviteAccept {
            return self.invite_round_trip(conn).await;
        }
        if matches!(self.scenario, Scenario::PageSignIn | Scenario::PageSignInPost) {
            return self.page_step(conn).await;
        }
        match self.scenario {
            Scenario::LoginTotp => return self.login_totp(conn).await,
            Scenario::TotpStep => {
                let Some(Prepared::Pending { token, user }) = self.queue.pop_front() else {
                    return Ok(Step::Exhausted);
                };
                return self.second_factor(conn, &token, user).await;
            }
            Scenario::SamlAcs => return self.saml_acs(conn).await,
            _ => {}
        }
        let (status, body) = conn.exchange(self.next()?).await?;
        if !status.is_success() {
            return Ok(refused(status, &body));
        }
        Ok(match self.observe(&body) {
            Ok(()) => Step::Done,
            Err(e) => Step::Refused(format!("{e:#}")),
        })
    }

    /// The backend invites the next invitee; the benchmark reads the token from the queued
    /// email (as the invitee would from their mailbox); the invitee accepts with it.
    async fn invite_round_trip(&mut self, conn: &mut Connection) -> anyhow::Result<Step> {
        let t = self.target.clone();
        let orgs = t.orgs.as_ref().context("no organizations seeded")?;
        let Some((email, access_token)) = orgs.invitees.get(self.task).and_then(|l| l.get(self.sequence as usize))
        else {
            return Ok(Step::Exhausted);
        };
        self.sequence += 1;
        let invite = Request::post(format!("/api/backend/v1/orgs/{}/invites", orgs.invite_org))
            .header(HOST, t.host.clone())
            .header(AUTHORIZATION, t.authorization.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(Full::new(Bytes::from(serde_json::to_vec(&serde_json::json!({ "email": email }))?)))?;
        let (status, body) = conn.exchange(invite).await?;
        if !status.is_success() {
            return Ok(refused(status, &body));
        }
        let mail = {
            let mut c = orgs.db.acquire().await?;
            latest_mail_to(c.ex(), email, "org_invite").await?
        };
        let link = mail.as_ref().and_then(|m| m.vars.0.get("link")).and_then(|l| l.as_str()).unwrap_or_default();
        let Some(token) = link.split("token=").nth(1) else {
            return Ok(Step::Refused(format!("no invitation email queued for {email}")));
        };
        let accept = Request::post("/api/v1/invites/accept")
            .header(HOST, t.host.clone())
            .header(AUTHORIZATION, format!("Bearer {access_token}"))
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(Full::new(Bytes::from(serde_json::to_vec(&serde_json::json!({ "token": token }))?)))?;
        let (status, body) = conn.exchange(accept).await?;
        Ok(if status.is_success() { Step::Done } else { refused(status, &body) })
    }

    /// A password + TOTP sign-in of the next 2FA user: the password, then the code.
    async fn login_totp(&mut self, conn: &mut Connection) -> anyhow::Result<Step> {
        let t = self.target.clone();
        let user = t.totp_next.fetch_add(1, Ordering::Relaxed) % t.totp_login_users.max(1);
        let u = t.totp_users.get(user).context("no 2FA users seeded")?;
        let login =
            json_post(&t, "/api/v1/login", &serde_json::json!({ "email": u.email, "password": LOGIN_PASSWORD }))?;
        let (status, body) = conn.exchange(login).await?;
        if status != hyper::StatusCode::ACCEPTED {
            return Ok(refused(status, &body));
        }
        let answer: serde_json::Value = serde_json::from_slice(&body).context("the 202 is not JSON")?;
        let token = answer["pending_token"].as_str().context("the 202 has no pending_token")?;
        self.second_factor(conn, token, user).await
    }

    /// The code step: the code the user's app shows now, with the pending sign-in's token.
    async fn second_factor(&mut self, conn: &mut Connection, token: &str, user: usize) -> anyhow::Result<Step> {
        let t = self.target.clone();
        let u = t.totp_users.get(user).context("no such 2FA user")?;
        let code = u.secret.code_at_step(current_step());
        let req =
            json_post(&t, "/api/v1/login/second-factor", &serde_json::json!({ "pending_token": token, "code": code }))?;
        let (status, body) = conn.exchange(req).await?;
        Ok(if status == hyper::StatusCode::OK { Step::Done } else { refused(status, &body) })
    }

    /// The IdP's form POST of the next prepared response; a 303 that sets a session cookie is a
    /// sign-in.
    async fn saml_acs(&mut self, conn: &mut Connection) -> anyhow::Result<Step> {
        let Some(Prepared::SamlResponse(response)) = self.queue.pop_front() else {
            return Ok(Step::Exhausted);
        };
        let t = self.target.clone();
        let req = Request::post(t.saml_acs_path.as_str())
            .header(HOST, t.host.clone())
            .header(hyper::header::ORIGIN, HeaderValue::from_static("https://idp.example.test"))
            .header(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"))
            .body(Full::new(Bytes::from(crate::pages::form(&[("SAMLResponse", &response)]))))?;
        let (status, headers, body) = conn.exchange_with_headers(req).await?;
        let session = headers
            .get_all(hyper::header::SET_COOKIE)
            .iter()
            .any(|c| c.to_str().is_ok_and(|c| c.contains("tenantry_session=") && !c.contains("Max-Age=0")));
        Ok(if status == hyper::StatusCode::SEE_OTHER && session { Step::Done } else { refused(status, &body) })
    }

    /// The page scenarios: the first visit reads the cookie and token a browser would keep; then
    /// the page again, or the form posted with them (a 303 away from the sign-in page is a success).
    async fn page_step(&mut self, conn: &mut Connection) -> anyhow::Result<Step> {
        let t = self.target.clone();
        let (cookie, csrf) = match &self.page {
            Some(p) => p.clone(),
            None => {
                let first = Request::get("/sign-in").header(HOST, t.host.clone()).body(Full::default())?;
                let (status, headers, body) = conn.exchange_with_headers(first).await?;
                if status != hyper::StatusCode::OK {
                    return Ok(refused(status, &body));
                }
                let kept = crate::pages::pre_session_cookie(&headers).context("no pre-session cookie")?;
                let csrf = crate::pages::csrf_of(&body).context("no csrf input on the sign-in page")?;
                self.page = Some((kept, csrf));
                self.page.clone().context("kept")?
            }
        };
        self.sequence += 1;
        if self.scenario == Scenario::PageSignIn {
            let req =
                Request::get("/sign-in").header(HOST, t.host.clone()).header(COOKIE, cookie).body(Full::default())?;
            let (status, body) = conn.exchange(req).await?;
            return Ok(if status == hyper::StatusCode::OK { Step::Done } else { refused(status, &body) });
        }
        let email = login_email(self.rng.gen_range(0..LOGIN_USERS));
        let form = crate::pages::form(&[("csrf", &csrf), ("email", &email), ("password", LOGIN_PASSWORD)]);
        let req = Request::post("/sign-in")
            .header(HOST, t.host.clone())
            .header(COOKIE, cookie)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"))
            .body(Full::new(Bytes::from(form)))?;
        let (status, headers, body) = conn.exchange_with_headers(req).await?;
        let location = headers.get(hyper::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        Ok(if status == hyper::StatusCode::SEE_OTHER && !location.starts_with("/sign-in") {
            Step::Done
        } else {
            refused(status, &body)
        })
    }

    /// Takes what a successful answer hands on: the next refresh token of the chain.
    fn observe(&mut self, body: &[u8]) -> anyhow::Result<()> {
        if matches!(self.scenario, Scenario::Refresh | Scenario::RefreshOneOrg | Scenario::RefreshFiftyOrgs) {
            let tokens: serde_json::Value = serde_json::from_slice(body).context("the refresh answer is not JSON")?;
            self.refresh_token =
                tokens["refresh_token"].as_str().context("the refresh answer has no refresh_token")?.to_owned();
        }
        Ok(())
    }

    fn next(&mut self) -> anyhow::Result<Req> {
        self.sequence += 1;
        let t = &self.target;
        let req = match self.scenario {
            Scenario::Noop => Request::get("/healthz").header(HOST, t.host.clone()).body(Full::default())?,
            Scenario::FetchUser => {
                let id = t.user_ids.get(self.rng.gen_range(0..t.user_ids.len().max(1))).context("no seeded users")?;
                Request::get(format!("/api/backend/v1/users/{id}"))
                    .header(HOST, t.host.clone())
                    .header(AUTHORIZATION, t.authorization.clone())
                    .body(Full::default())?
            }
            Scenario::CreateUser => {
                let body = serde_json::json!({
                    "email": created_email(self.task, self.sequence),
                    "first_name": "Bench",
                });
                Request::post("/api/backend/v1/users")
                    .header(HOST, t.host.clone())
                    .header(AUTHORIZATION, t.authorization.clone())
                    .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .body(Full::new(Bytes::from(serde_json::to_vec(&body)?)))?
            }
            Scenario::Refresh | Scenario::RefreshOneOrg | Scenario::RefreshFiftyOrgs => {
                json_post(t, "/api/v1/token/refresh", &serde_json::json!({ "refresh_token": self.refresh_token }))?
            }
            Scenario::FetchOrg => {
                let orgs = t.orgs.as_ref().context("no organizations seeded")?;
                let id = orgs.org_ids.get(self.rng.gen_range(0..orgs.org_ids.len().max(1))).context("no orgs")?;
                backend_get(t, &format!("/api/backend/v1/orgs/{id}"))?
            }
            Scenario::MembersFirstPage => {
                let orgs = t.orgs.as_ref().context("no organizations seeded")?;
                backend_get(t, &format!("/api/backend/v1/orgs/{}/members?limit=50", orgs.big_org))?
            }
            Scenario::MembersDeepPage => {
                let orgs = t.orgs.as_ref().context("no organizations seeded")?;
                let path =
                    format!("/api/backend/v1/orgs/{}/members?limit=50&cursor={}", orgs.big_org, orgs.deep_cursor);
                backend_get(t, &path)?
            }
            Scenario::InviteAccept => anyhow::bail!("the invite round trip is two requests"),
            Scenario::PageSignIn | Scenario::PageSignInPost => anyhow::bail!("the page scenarios keep a cookie"),
            Scenario::LoginTotp | Scenario::TotpStep | Scenario::SamlAcs => {
                anyhow::bail!("the 2FA and SSO scenarios are handled in `step`")
            }
            Scenario::Login => json_post(
                t,
                "/api/v1/login",
                &serde_json::json!({
                    "email": login_email(self.rng.gen_range(0..LOGIN_USERS)),
                    "password": LOGIN_PASSWORD,
                }),
            )?,
        };
        Ok(req)
    }
}

/// A backend API `GET`.
fn backend_get(t: &Target, path: &str) -> anyhow::Result<Req> {
    Ok(Request::get(path)
        .header(HOST, t.host.clone())
        .header(AUTHORIZATION, t.authorization.clone())
        .body(Full::default())?)
}

/// An end-user API `POST` with a JSON body and no credentials beyond the body.
fn json_post(t: &Target, path: &str, body: &serde_json::Value) -> anyhow::Result<Req> {
    Ok(Request::post(path)
        .header(HOST, t.host.clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .body(Full::new(Bytes::from(serde_json::to_vec(body)?)))?)
}

/// The TOTP time step of now (`unix_secs / 30`), as an authenticator app computes it.
fn current_step() -> i64 {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    i64::try_from(secs / tenantry_auth::totp::STEP_SECS).unwrap_or(0)
}

/// The source address of the `task`-th login connection: 127.0.1.1, 127.0.1.2, …
fn client_address(task: usize) -> IpAddr {
    let n = task % 254 + 1;
    IpAddr::V4(Ipv4Addr::new(127, 0, 1 + (task / 254) as u8, n as u8))
}

/// The email of the `sequence`-th user a task creates; seeded users are `seed-*`, so none collide.
fn created_email(task: usize, sequence: u64) -> String {
    format!("new-{task}-{sequence}@bench.example.com")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(nearest_rank(&v, 50.0), 50);
        assert_eq!(nearest_rank(&v, 99.0), 99);
        assert_eq!(nearest_rank(&v, 100.0), 100);
        assert_eq!(nearest_rank(&v, 0.0), 1);
        assert_eq!(nearest_rank(&[7], 99.0), 7);
        assert_eq!(nearest_rank(&[], 50.0), 0);
    }

    #[test]
    fn login_clients_have_distinct_loopback_addresses() {
        let addrs: std::collections::HashSet<IpAddr> = (0..600).map(client_address).collect();
        assert_eq!(addrs.len(), 600);
        assert!(addrs.iter().all(IpAddr::is_loopback));
    }

    #[test]
    fn prepared_items_go_round_robin_and_each_connection_takes_its_own() {
        let target = Arc::new(Target::new("127.0.0.1:9".parse().unwrap(), "key", Vec::new()).unwrap());
        let items = (0..5).map(|n| Prepared::SamlResponse(n.to_string())).collect();
        target.prepare(Scenario::SamlAcs, 2, items);
        let taken = |task| {
            let source = RequestSource::new(Scenario::SamlAcs, task, target.clone()).unwrap();
            source
                .queue
                .into_iter()
                .map(|p| match p {
                    Prepared::SamlResponse(r) => r,
                    Prepared::Pending { token, .. } => token,
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(taken(0), ["0", "2", "4"]);
        assert_eq!(taken(1), ["1", "3"]);
        assert!(taken(0).is_empty(), "a queue is handed out once");
    }

    #[test]
    fn created_emails_never_repeat() {
        let emails: std::collections::HashSet<String> =
            [(0, 1), (0, 2), (1, 1), (1, 11), (11, 1)].into_iter().map(|(t, n)| created_email(t, n)).collect();
        assert_eq!(emails.len(), 5);
        assert!(!emails.iter().any(|e| e.starts_with("seed-")));
    }
}
