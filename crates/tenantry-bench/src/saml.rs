//! The `saml-acs` scenario's setup: an org with a live SAML connection that accepts IdP-initiated
//! responses, set up through the backend API from the metadata of the test IdP
//! (`tests/peers/saml_idp.py`, pysaml2 signing with the xmlsec1 command); signed responses made by
//! that IdP before the measured window, one per sign-in (each assertion is single-use); and the raw
//! rate of verifying one of them through `tenantry_sso::verify_response`, the function the ACS
//! runs, in this process.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use serde_json::{json, Value};
use tenantry_sso::metadata::normalize_certificate;
use tenantry_sso::{verify_response, Expectations};

use crate::cpu::{process_ticks, TICKS_PER_SEC};
use crate::http::Connection;

/// The IdP's entity id (its responses' `Issuer`).
const IDP_ENTITY_ID: &str = "https://idp.example.test/metadata";
/// The org's domain: every signed-in email is at it.
pub const SSO_DOMAIN: &str = "bench-sso.test";
/// The clock skew the ACS allows (`MAX_SKEW_MINUTES` in tenantry-app).
const MAX_SKEW_MINUTES: i64 = 3;

/// The workspace root, where the IdP script, its key and the peers' virtualenv script are.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> PathBuf {
    workspace().join("crates/tenantry-sso/tests/fixtures").join(name)
}

/// The Python with pysaml2: `TENANTRY_PEERS_PYTHON`, else the virtualenv that
/// `scripts/peers-venv.sh` makes (and prints).
pub fn idp_python() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("TENANTRY_PEERS_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    let out = Command::new("bash")
        .arg(workspace().join("scripts/peers-venv.sh"))
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run scripts/peers-venv.sh")?;
    if !out.status.success() {
        bail!("scripts/peers-venv.sh failed with {}", out.status);
    }
    let venv = String::from_utf8(out.stdout)?.lines().last().unwrap_or_default().trim().to_owned();
    Ok(Path::new(&venv).join("bin/python"))
}

/// The live connection the scenario signs in through.
#[derive(Debug, Clone)]
pub struct SamlSetup {
    pub sp_entity_id: String,
    pub acs_url: String,
    /// The path of `acs_url`, which the load generator posts to on the server's loopback address.
    pub acs_path: String,
}

/// Creates an owner and an org at [`SSO_DOMAIN`], sets up its SAML connection from the IdP's
/// metadata with IdP-initiated sign-in allowed, and makes it live; all through the backend API.
pub async fn set_up(addr: SocketAddr, api_key: &str, python: &Path) -> anyhow::Result<SamlSetup> {
    let mut conn = Connection::open(addr).await?;
    let mut call = Backend { conn: &mut conn, addr, api_key };
    let owner = call
        .send(Method::POST, "/users", json!({ "email": format!("owner@{SSO_DOMAIN}"), "email_verified": true }))
        .await?;
    let org = call.send(
        Method::POST,
        "/orgs",
        json!({ "name": "Bench SSO", "slug": "bench-sso", "owner_user_id": owner["user_id"], "domains": [SSO_DOMAIN] }),
    )
    .await?;
    let org_id = org["org_id"].as_str().context("no org_id")?.to_owned();
    let metadata = run_idp(python, "urn:unused", "https://unused.test/acs", &[])?.0;
    let saml = call
        .send(
            Method::PUT,
            &format!("/orgs/{org_id}/saml"),
            json!({ "metadata_xml": metadata, "allow_idp_initiated": true }),
        )
        .await?;
    call.send(Method::POST, &format!("/orgs/{org_id}/saml/live"), json!({})).await?;
    let acs_url = saml["acs_url"].as_str().context("no acs_url")?.to_owned();
    let sp_entity_id = saml["sp_entity_id"].as_str().context("no sp_entity_id")?.to_owned();
    let acs_path = format!("/{}", acs_url.splitn(4, '/').nth(3).context("the ACS URL has no path")?);
    Ok(SamlSetup { sp_entity_id, acs_url, acs_path })
}

/// Backend API calls on one connection.
struct Backend<'a> {
    conn: &'a mut Connection,
    addr: SocketAddr,
    api_key: &'a str,
}

impl Backend<'_> {
    async fn send(&mut self, method: Method, path: &str, body: Value) -> anyhow::Result<Value> {
        let req = Request::builder()
            .method(method)
            .uri(format!("/api/backend/v1{path}"))
            .header(HOST, self.addr.to_string())
            .header(AUTHORIZATION, format!("Bearer {}", self.api_key))
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(serde_json::to_vec(&body)?)))?;
        let (status, body) = self.conn.exchange(req).await?;
        if !status.is_success() {
            bail!("{path} answered {status}: {}", String::from_utf8_lossy(&body));
        }
        Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
    }
}

/// The email of the `n`-th person who signs in through SSO (created just in time).
pub fn sso_email(n: usize) -> String {
    format!("sso-{n}@{SSO_DOMAIN}")
}

/// Signed IdP-initiated Responses (Response and Assertion signed, RSA-SHA256), one per email, each
/// with its own assertion id, issued now: base64, as the IdP's form posts them. pysaml2 signs
/// through the xmlsec1 command (about 0.1 s a response), so the emails are split between one
/// process per core.
pub fn responses(python: &Path, setup: &SamlSetup, emails: &[String]) -> anyhow::Result<Vec<String>> {
    let started = Instant::now();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = emails.len().div_ceil(cores).max(1);
    let now = chrono::Utc::now().timestamp();
    let out = std::thread::scope(|s| {
        let workers: Vec<_> = emails
            .chunks(per)
            .map(|chunk| {
                let jobs: Vec<Value> = chunk
                    .iter()
                    .enumerate()
                    .map(|(i, email)| {
                        json!({
                            "name": format!("{i:06}"), "now": now, "in_response_to": null, "name_id": email,
                            "attributes": { "email": email, "givenName": "Sam", "sn": "Sso" },
                        })
                    })
                    .collect();
                s.spawn(move || run_idp(python, &setup.sp_entity_id, &setup.acs_url, &jobs).map(|(_, r)| r))
            })
            .collect();
        let mut all = Vec::with_capacity(emails.len());
        for w in workers {
            all.extend(w.join().map_err(|_| anyhow::anyhow!("an IdP thread panicked"))??);
        }
        anyhow::Ok(all)
    })?;
    eprintln!("== signed {} SAML responses in {:.1} s", out.len(), started.elapsed().as_secs_f64());
    Ok(out)
}

/// One run of the IdP: its metadata, and the responses `jobs` asks for (base64), in order.
fn run_idp(python: &Path, sp_entity: &str, acs: &str, jobs: &[Value]) -> anyhow::Result<(String, Vec<String>)> {
    let job = json!({
        "idp": {
            "entity_id": IDP_ENTITY_ID,
            "sso_url": "https://idp.example.test/sso",
            "key": fixture("idp.key"),
            "cert": fixture("idp.crt"),
        },
        "sp": { "entity_id": sp_entity, "acs": acs },
        "responses": jobs,
    });
    let mut child = Command::new(python)
        .arg(workspace().join("tests/peers/saml_idp.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot run {}", python.display()))?;
    child.stdin.take().context("stdin")?.write_all(job.to_string().as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("saml_idp.py failed with {}", out.status);
    }
    let answer: Value = serde_json::from_slice(&out.stdout).context("the IdP did not answer JSON")?;
    let metadata = answer["metadata"].as_str().context("no metadata")?.to_owned();
    let by_name = answer["responses"].as_object().context("no responses")?;
    let mut names: Vec<&String> = by_name.keys().collect();
    names.sort();
    let responses = names
        .into_iter()
        .map(|n| by_name[n].as_str().map(str::to_owned).context("a response is not a string"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((metadata, responses))
}

/// What the raw verifier did.
#[derive(Debug, Clone, Copy)]
pub struct RawRate {
    /// Verifications per second.
    pub per_sec: f64,
    /// This process's CPU time per verification, in milliseconds.
    pub cpu_ms: f64,
}

/// Verifications of `response` per second through `verify_response`, one thread per core, for
/// `duration`, with what the ACS expects of this connection; and the CPU each took.
pub fn raw_verify_rate(setup: &SamlSetup, response: &str, duration: Duration) -> anyhow::Result<RawRate> {
    let cert = std::fs::read_to_string(fixture("idp.crt"))?;
    let certs = vec![normalize_certificate(&cert).map_err(|e| anyhow::anyhow!("the IdP certificate: {e}"))?];
    let verify = |certs: &[String]| {
        let expect = Expectations {
            idp_entity_id: IDP_ENTITY_ID,
            certificates: certs,
            sp_entity_id: &setup.sp_entity_id,
            acs_url: &setup.acs_url,
            allow_sha1: false,
            max_skew: chrono::Duration::minutes(MAX_SKEW_MINUTES),
        };
        verify_response(response, &expect, chrono::Utc::now())
    };
    verify(&certs).map_err(|e| anyhow::anyhow!("the benchmark response does not verify: {e}"))?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (done, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
    let started = Instant::now();
    let ticks_before = process_ticks("/proc/self/stat")?;
    std::thread::scope(|s| {
        for _ in 0..cores {
            let (done, stop, certs, verify) = (&done, &stop, &certs, &verify);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if verify(certs).is_ok() {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
    });
    let ticks = process_ticks("/proc/self/stat")?.saturating_sub(ticks_before);
    let done = done.load(Ordering::Relaxed).max(1) as f64;
    Ok(RawRate { per_sec: done / started.elapsed().as_secs_f64(), cpu_ms: ticks as f64 / TICKS_PER_SEC / done * 1e3 })
}
