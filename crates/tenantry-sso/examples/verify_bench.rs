//! The raw rate of verifying one pysaml2-signed Response (Response and Assertion both signed,
//! RSA-SHA256) through `verify_response`, on one thread:
//! `cargo run --release -p tenantry-sso --example verify_bench [iterations]`.
//! The ACS's own rate (request, replay cache, user, session) is measured against this figure.

use std::time::Instant;

use chrono::{DateTime, Duration};
use tenantry_sso::metadata::normalize_certificate;
use tenantry_sso::{verify_response, Expectations};

fn main() {
    let iterations: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let corpus: serde_json::Value =
        serde_json::from_str(include_str!("../tests/fixtures/corpus.json")).expect("corpus.json");
    let response = corpus["responses"]["valid"].as_str().expect("the valid response").to_owned();
    let certs = vec![normalize_certificate(include_str!("../tests/fixtures/idp.crt")).expect("cert")];
    let expect = Expectations {
        idp_entity_id: "https://idp.example.test/metadata",
        certificates: &certs,
        sp_entity_id: "https://auth.example.test/sso/saml/c1/metadata",
        acs_url: "https://auth.example.test/sso/saml/c1/acs",
        allow_sha1: false,
        max_skew: Duration::minutes(3),
    };
    let at = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
    verify_response(&response, &expect, at).expect("the response verifies");
    let started = Instant::now();
    for _ in 0..iterations {
        verify_response(&response, &expect, at).expect("the response verifies");
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "verify_response: {iterations} in {secs:.2} s = {:.0}/s ({:.3} ms each, {} bytes of base64)",
        f64::from(iterations) / secs,
        secs * 1000.0 / f64::from(iterations),
        response.len()
    );
}
