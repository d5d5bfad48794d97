//! A small SaaS backend protected by Tenantry: every route below checks the caller's access token
//! locally (signature against Tenantry's JWKS, issuer, expiry) and then the rule of the route,
//! with `tenantry-sdk`'s axum integration. Nothing here calls Tenantry per request.
//!
//! | route | who may call it |
//! |---|---|
//! | `GET /` | anyone: where to sign in |
//! | `GET /api/me` | a signed-in user |
//! | `GET /api/orgs/{org_id}` | a member of the org |
//! | `GET /api/orgs/{org_id}/projects` | a member of the org |
//! | `POST /api/orgs/{org_id}/projects` | a member whose roles grant `projects.write` |
//! | `GET /api/orgs/{org_id}/settings` | an Admin of the org, or a role above Admin |
//!
//! A refused request gets 401 (no or a bad token) or 403 (the token is fine, the access is not)
//! with a problem+json body that says why. Projects live in memory: it is an example.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tenantry_sdk::axum::{require_org, OrgGate, OrgMember, User};
use tenantry_sdk::{Clock, Guard, JwksCache, OrgRule};

/// How to reach Tenantry and where to listen.
#[derive(Clone)]
pub struct Config {
    /// Tenantry's public URL: the tokens' issuer, and where the JWKS and hosted pages are.
    pub tenantry_url: String,
    /// This app's own public URL, where the hosted sign-in page sends the user back.
    pub public_url: String,
    /// Token times are checked against this clock (the system clock unless a test sets one).
    pub clock: Option<Clock>,
}

impl Config {
    /// From `TENANTRY_URL` (default `http://localhost:8080`) and `SAAS_PUBLIC_URL` (default
    /// `http://localhost:3000`).
    pub fn from_env() -> Self {
        let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
        Config {
            tenantry_url: var("TENANTRY_URL", "http://localhost:8080"),
            public_url: var("SAAS_PUBLIC_URL", "http://localhost:3000"),
            clock: None,
        }
    }
}

#[derive(Clone)]
struct AppState {
    guard: Guard,
    config: Arc<Config>,
    /// Project names by org id.
    projects: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

impl FromRef<AppState> for Guard {
    fn from_ref(state: &AppState) -> Guard {
        state.guard.clone()
    }
}

/// The whole app.
pub fn app(config: Config) -> Router {
    let http = reqwest::Client::new();
    let mut cache = JwksCache::new(config.tenantry_url.trim_end_matches('/'), http);
    if let Some(clock) = config.clock.clone() {
        cache = cache.with_clock(clock);
    }
    let guard = Guard::new(cache);
    let state = AppState { guard: guard.clone(), config: Arc::new(config), projects: Arc::default() };
    let gate = |rule: OrgRule| from_fn_with_state(OrgGate::new(guard.clone(), rule), require_org);

    let members = Router::new()
        .route("/api/orgs/{org_id}", get(org))
        .route("/api/orgs/{org_id}/projects", get(list_projects))
        .route_layer(gate(OrgRule::path("org_id")));
    let writers = Router::new()
        .route("/api/orgs/{org_id}/projects", axum::routing::post(create_project))
        .route_layer(gate(OrgRule::path("org_id").permission("projects.write")));
    let admins = Router::new()
        .route("/api/orgs/{org_id}/settings", get(settings))
        .route_layer(gate(OrgRule::path("org_id").min_role("Admin")));

    Router::new()
        .route("/", get(home))
        .route("/api/me", get(me))
        .merge(members)
        .merge(writers)
        .merge(admins)
        .with_state(state)
}

/// Serves [`app`] on `listener` until `shutdown` completes.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(config)).with_graceful_shutdown(shutdown).await
}

/// Where this app listens: `SAAS_LISTEN` (default `127.0.0.1:3000`).
pub fn listen_addr() -> Result<SocketAddr, std::net::AddrParseError> {
    std::env::var("SAAS_LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_owned()).parse()
}

async fn home(State(state): State<AppState>) -> Html<String> {
    let sign_in = format!(
        "{}/sign-in?return_to={}",
        state.config.tenantry_url.trim_end_matches('/'),
        percent_encode(&state.config.public_url)
    );
    Html(format!(
        "<!doctype html><title>saas-axum</title><h1>saas-axum</h1>\
         <p><a href=\"{sign_in}\">Sign in with Tenantry</a>, then call <code>/api/…</code> with \
         <code>Authorization: Bearer &lt;access token&gt;</code>.</p>"
    ))
}

async fn me(User(claims): User) -> Json<Value> {
    let orgs: Vec<Value> = claims
        .orgs
        .values()
        .map(|o| json!({"org_id": o.org_id, "name": o.name, "role": o.role, "mfa_required": o.mfa_required}))
        .collect();
    Json(json!({"user_id": claims.sub, "email": claims.email, "active_org_id": claims.active_org_id, "orgs": orgs}))
}

async fn org(member: OrgMember) -> Json<Value> {
    Json(json!({"org_id": member.org.org_id, "name": member.org.name, "your_role": member.org.role,
        "your_permissions": member.org.permissions}))
}

async fn list_projects(State(state): State<AppState>, member: OrgMember) -> Json<Value> {
    let projects = state.projects.lock().unwrap_or_else(PoisonError::into_inner);
    Json(json!({"projects": projects.get(&member.org.org_id).cloned().unwrap_or_default()}))
}

#[derive(Deserialize)]
struct NewProject {
    name: String,
}

async fn create_project(
    State(state): State<AppState>,
    member: OrgMember,
    Json(project): Json<NewProject>,
) -> impl IntoResponse {
    let name = project.name.trim().to_owned();
    if name.is_empty() || name.len() > 100 {
        let problem = json!({"type": "urn:saas-axum:problem:invalid-name", "title": "Unprocessable Entity",
            "status": 422, "detail": "A project name has 1 to 100 characters."});
        return (StatusCode::UNPROCESSABLE_ENTITY, [("content-type", "application/problem+json")], problem.to_string())
            .into_response();
    }
    let mut projects = state.projects.lock().unwrap_or_else(PoisonError::into_inner);
    projects.entry(member.org.org_id.clone()).or_default().push(name.clone());
    (StatusCode::CREATED, Json(json!({"name": name, "created_by": member.claims.email}))).into_response()
}

async fn settings(member: OrgMember) -> Json<Value> {
    Json(json!({"org_id": member.org.org_id, "settings": {"plan": "team"}, "seen_by": member.org.role}))
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
