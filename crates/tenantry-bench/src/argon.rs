//! The ceiling for password logins: how many Argon2id verifications per second this machine does
//! with the server's parameters, on every core, with no server in the way.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tenantry_auth::{PasswordHasher, PasswordParams, PasswordVerdict};

use crate::load::LOGIN_PASSWORD;

/// The parameters the server hashes with by default (`[password]` in the configuration).
fn hasher() -> anyhow::Result<PasswordHasher> {
    PasswordHasher::new(PasswordParams::default()).context("invalid Argon2id parameters")
}

/// A hash of [`LOGIN_PASSWORD`] with the server's parameters.
pub fn bench_password_hash() -> anyhow::Result<String> {
    Ok(hasher()?.hash_blocking(LOGIN_PASSWORD)?)
}

/// Verifications of `hash` per second, one thread per core, for `duration`.
pub fn raw_rate(hash: &str, duration: Duration) -> anyhow::Result<f64> {
    let hasher = hasher()?;
    if hasher.verify_blocking(LOGIN_PASSWORD, Some(hash))? != PasswordVerdict::Match {
        bail!("the benchmark hash does not match its password");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (done, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
    let started = Instant::now();
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let (hasher, hash, done, stop) = (hasher.clone(), hash.to_owned(), done.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if hasher.verify_blocking(LOGIN_PASSWORD, Some(&hash)).is_ok() {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().map_err(|_| anyhow::anyhow!("an Argon2id thread panicked"))?;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}
