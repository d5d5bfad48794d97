//! How close `Verifier::verify`, and `JwksCache::verify` (what the middleware calls), come to the
//! Ed25519 verification they cannot avoid, on one thread.
//!
//! ```text
//! CARGO_TARGET_DIR=$HOME/.cache/tenantry-bench-target cargo run --release -p tenantry-sdk --example verify_bench
//! ```
//!
//! The baseline is `verify_strict` (what the `Verifier` uses) over a message as long as the token's
//! signing input. For comparison it also times jsonwebtoken's `decode` (RustCrypto backend, the
//! decoding key kept) on the same token, and signing: raw Ed25519 against jsonwebtoken's `encode`, which
//! is how Tenantry's server signs.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _};
use futures_util::FutureExt as _;
use tenantry_sdk::{AccessClaims, JwksCache, OrgClaim, Verifier};

const ISSUER: &str = "https://auth.example.com";
const IAT: i64 = 1_750_000_000;
const RUN: Duration = Duration::from_secs(3);

/// Operations per second of each op, over `run` of time each. The ops take turns in short slices so
/// that load from other processes weighs on all of them alike; time is this thread's CPU time where
/// Linux tells it (`/proc/thread-self/schedstat`), so that time spent descheduled does not count; and
/// the figure is the median over slices, so that a burst of load on a few slices does not either.
fn rates(run: Duration, ops: &mut [&mut dyn FnMut() -> bool]) -> Vec<f64> {
    const SLICE: Duration = Duration::from_millis(20);
    let mut slices: Vec<Vec<f64>> = vec![Vec::new(); ops.len()];
    for op in ops.iter_mut() {
        let warm_up = Instant::now();
        while warm_up.elapsed() < Duration::from_millis(200) {
            assert!(op());
        }
    }
    let started = Instant::now();
    while started.elapsed() < run * ops.len() as u32 {
        for (i, op) in ops.iter_mut().enumerate() {
            let (wall, cpu) = (Instant::now(), thread_cpu_time());
            let mut count = 0u32;
            while wall.elapsed() < SLICE {
                for _ in 0..16 {
                    assert!(op());
                }
                count += 16;
            }
            let time = match (cpu, thread_cpu_time()) {
                (Some(before), Some(after)) if after > before => after - before,
                _ => wall.elapsed(),
            };
            slices[i].push(f64::from(count) / time.as_secs_f64());
        }
    }
    slices
        .into_iter()
        .map(|mut rates| {
            rates.sort_by(f64::total_cmp);
            rates[rates.len() / 2]
        })
        .collect()
}

/// The CPU time this thread has run, on Linux.
fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(stat.split_whitespace().next()?.parse().ok()?))
}

fn claims() -> AccessClaims {
    let org_id = "0197a5c2-3f4e-7b1a-9c2d-5e6f7a8b9c0d".to_owned();
    let org = OrgClaim {
        org_id: org_id.clone(),
        name: "Acme Corporation".into(),
        slug: "acme-corporation".into(),
        role: "admin".into(),
        inherited_roles: vec!["member".into()],
        additional_roles: vec!["billing".into()],
        permissions: [
            "org:read",
            "org:update",
            "org:members:read",
            "org:members:invite",
            "org:members:remove",
            "org:members:change_role",
            "org:billing:read",
            "org:billing:update",
        ]
        .map(String::from)
        .to_vec(),
        mfa_required: false,
    };
    AccessClaims {
        iss: ISSUER.into(),
        sub: "0197a5c2-1a2b-7c3d-8e4f-5a6b7c8d9e0f".into(),
        aud: None,
        iat: IAT,
        exp: IAT + 900,
        nbf: None,
        jti: "0197a5c2-9f8e-7d6c-8b5a-4f3e2d1c0b9a".into(),
        sid: "0197a5c2-0a1b-7c2d-9e3f-4a5b6c7d8e9f".into(),
        email: "ada.lovelace@acme.example.com".into(),
        email_verified: true,
        orgs: BTreeMap::from([(org_id.clone(), org)]),
        active_org_id: Some(org_id),
        orgs_truncated: false,
        amr: vec![],
    }
}

fn main() {
    let key = SigningKey::from_bytes(&[7; 32]);
    let kid = "bench-key";
    let der = key.to_pkcs8_der().expect("PKCS#8");
    let encoding_key = jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes());
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.typ = Some("at+jwt".into());
    header.kid = Some(kid.into());
    let token = jsonwebtoken::encode(&header, &claims(), &encoding_key).expect("sign");

    let x = URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes());
    let verifier = Verifier::new(ISSUER);
    verifier
        .set_jwks(&serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid}]}).to_string())
        .expect("JWKS");
    let now = IAT + 10;
    assert_eq!(verifier.verify(&token, now), Ok(claims()));

    // The JWKS cache a middleware uses: keys fresh, so `verify` completes without awaiting anything.
    let jwks = serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid}]}).to_string();
    let cache = JwksCache::new(ISSUER, reqwest::Client::new()).with_clock(std::sync::Arc::new(move || now));
    cache.set_jwks(&jwks).expect("JWKS");
    assert_eq!(cache.verify(&token).now_or_never(), Some(Ok(claims())));

    let signing_input_len = token.rfind('.').expect("three parts");
    let message = vec![b'e'; signing_input_len];
    let signature = key.sign(&message);
    let public = key.verifying_key();

    let decoding_key = jsonwebtoken::DecodingKey::from_ed_components(&x).expect("key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();

    println!("token: {} bytes (signing input {signing_input_len} bytes), a user in 1 org", token.len());
    let clock = if thread_cpu_time().is_some() { "thread CPU time" } else { "wall time" };
    println!("single thread, {} s per verify line in 20 ms turns, median per-slice rate by {clock}\n", RUN.as_secs());

    let [raw, sdk, cached, raw_lax, jwt] = rates(
        RUN,
        &mut [
            &mut || public.verify_strict(black_box(&message), black_box(&signature)).is_ok(),
            &mut || verifier.verify(black_box(&token), black_box(now)).is_ok(),
            &mut || cache.verify(black_box(&token)).now_or_never().is_some_and(|r| r.is_ok()),
            &mut || public.verify(black_box(&message), black_box(&signature)).is_ok(),
            &mut || jsonwebtoken::decode::<AccessClaims>(black_box(&token), &decoding_key, &validation).is_ok(),
        ],
    )[..] else {
        unreachable!("five ops")
    };
    println!("raw Ed25519 verify_strict:        {raw:>9.0} /s");
    println!("Verifier::verify:                 {sdk:>9.0} /s   {:.1}% of raw", 100.0 * sdk / raw);
    println!("JwksCache::verify:                {cached:>9.0} /s   {:.1}% of raw", 100.0 * cached / raw);
    println!("raw Ed25519 verify (non-strict):  {raw_lax:>9.0} /s   {:.1}% of raw", 100.0 * raw_lax / raw);
    println!("jsonwebtoken::decode:             {jwt:>9.0} /s   {:.1}% of raw", 100.0 * jwt / raw);

    let encoded_claims = token.split('.').nth(1).expect("three parts");
    let [parse] = rates(
        Duration::from_secs(1),
        &mut [&mut || {
            let json = URL_SAFE_NO_PAD.decode(black_box(encoded_claims)).expect("base64");
            serde_json::from_slice::<AccessClaims>(&json).is_ok()
        }],
    )[..] else {
        unreachable!("one op")
    };
    println!(
        "of which claims (base64 + JSON):  {:>9.1} µs each (Verifier - raw: {:.1} µs)",
        1e6 / parse,
        1e6 / sdk - 1e6 / raw
    );

    let [raw_sign, jwt_sign] = rates(
        Duration::from_secs(1),
        &mut [&mut || !key.sign(black_box(&message)).to_bytes().is_empty(), &mut || {
            jsonwebtoken::encode(&header, black_box(&claims()), &encoding_key).is_ok()
        }],
    )[..] else {
        unreachable!("two ops")
    };
    println!("\nraw Ed25519 sign:                 {raw_sign:>9.0} /s");
    println!("jsonwebtoken::encode:             {jwt_sign:>9.0} /s   {:.1}% of raw", 100.0 * jwt_sign / raw_sign);

    println!("\nVerifier / raw verify_strict: {:.3}", sdk / raw);
    println!("JwksCache / raw verify_strict: {:.3}", cached / raw);
}
