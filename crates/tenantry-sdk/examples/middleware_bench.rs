//! The latency the axum middleware adds to a request: the same handler behind `require_org`
//! (`OrgRule::path("org_id").min_role("Admin")`, a fresh cached JWKS) and without it, requests
//! served one at a time in process (`tower::ServiceExt::oneshot`, no sockets), in alternating slices
//! so that load from other processes weighs on both alike.
//!
//! ```text
//! cargo run --release -p tenantry-sdk --features axum --example middleware_bench
//! ```

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use tenantry_sdk::axum::{require_org, OrgGate};
use tenantry_sdk::{Guard, JwksCache, OrgRule};
use tower::ServiceExt as _;

const ISSUER: &str = "https://auth.example.com";
const NOW: i64 = 1_750_000_000;
const ORG: &str = "0197a5c2-3f4e-7b1a-9c2d-5e6f7a8b9c0d";

fn token(key: &SigningKey) -> String {
    let org = serde_json::json!({"org_id": ORG, "name": "Acme Corporation", "slug": "acme-corporation",
        "role": "Admin", "inherited_roles": ["Member", "Viewer"], "additional_roles": ["billing"],
        "permissions": ["org.read", "org.update", "org.members.read", "org.members.invite", "projects.write"]});
    let claims = serde_json::json!({"iss": ISSUER, "sub": "0197a5c2-1a2b-7c3d-8e4f-5a6b7c8d9e0f", "iat": NOW,
        "exp": NOW + 900, "jti": "0197a5c2-9f8e-7d6c-8b5a-4f3e2d1c0b9a", "sid": "0197a5c2-0a1b-7c2d-9e3f-4a5b6c7d8e9f",
        "email": "ada.lovelace@acme.example.com", "email_verified": true, "active_org_id": ORG, "orgs": {ORG: org}});
    let header = serde_json::json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "k1"});
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).to_bytes()))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let key = SigningKey::from_bytes(&[7; 32]);
    let x = URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes());
    let cache = JwksCache::new(ISSUER, reqwest::Client::new()).with_clock(Arc::new(|| NOW + 10));
    cache
        .set_jwks(&serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k1", "x": x}]}).to_string())
        .expect("JWKS");
    let guard = Guard::new(cache);
    let gate = OrgGate::new(guard, OrgRule::path("org_id").min_role("Admin"));
    let handler = || async { "ok" };
    let guarded: Router =
        Router::new().route("/orgs/{org_id}/settings", get(handler)).route_layer(from_fn_with_state(gate, require_org));
    let bare: Router = Router::new().route("/orgs/{org_id}/settings", get(handler));
    let bearer = format!("Bearer {}", token(&key));
    let path = format!("/orgs/{ORG}/settings");

    let request = || Request::get(&path).header("authorization", &bearer).body(Body::empty()).expect("request");
    for router in [&guarded, &bare] {
        let response = router.clone().oneshot(request()).await.expect("answer");
        assert_eq!(response.status(), 200);
    }

    let (mut with, mut without) = (Vec::new(), Vec::new());
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(6) {
        for (router, samples) in [(&guarded, &mut with), (&bare, &mut without)] {
            for _ in 0..200 {
                let request = request();
                let t = Instant::now();
                let response = black_box(router.clone().oneshot(request).await.expect("answer"));
                samples.push(t.elapsed());
                assert_eq!(response.status(), 200);
            }
        }
    }
    with.sort();
    without.sort();
    println!("{} requests each, one at a time, in process (no sockets)", with.len());
    for (name, samples) in [("without require_org", &without), ("with require_org", &with)] {
        println!(
            "{name:<20} p50 {:>7.1} µs   p90 {:>7.1} µs   p99 {:>7.1} µs",
            percentile(samples, 0.5).as_secs_f64() * 1e6,
            percentile(samples, 0.9).as_secs_f64() * 1e6,
            percentile(samples, 0.99).as_secs_f64() * 1e6
        );
    }
    println!(
        "added by the middleware: p50 {:+.1} µs",
        (percentile(&with, 0.5).as_secs_f64() - percentile(&without, 0.5).as_secs_f64()) * 1e6
    );
}
