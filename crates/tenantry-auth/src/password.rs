//! Argon2id password hashing (PHC strings), off the async runtime.
//!
//! At most one hash per core runs at a time; further callers wait for a permit. Without the bound,
//! a burst of sign-ins would start one 19 MiB hash per request on the blocking pool: memory would
//! grow with the burst, and the runtime's worker threads would compete with dozens of hashing
//! threads for the cores, so every other request (health checks included) would wait on them.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;

/// Argon2id cost parameters. The default is OWASP's first recommendation (19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for PasswordParams {
    fn default() -> Self {
        PasswordParams { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 }
    }
}

/// What checking a password found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordVerdict {
    /// Wrong password (or no password set).
    Mismatch,
    /// Right password, hashed with the current parameters.
    Match,
    /// Right password; here is a re-hash with the current parameters to store.
    MatchRehashed(String),
}

/// Hashes and verifies passwords with fixed parameters.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    argon: Argon2<'static>,
    params: PasswordParams,
    /// A hash of a random password, verified against when the user is unknown so that an unknown
    /// email costs the same time as a wrong password.
    dummy: OnceLock<String>,
    /// One permit per core: the hashes that may run at once.
    running: Semaphore,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").field("params", &self.inner.params).finish()
    }
}

/// The hasher could not run (invalid parameters, or the blocking task died).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

impl PasswordHasher {
    pub fn new(params: PasswordParams) -> Result<Self, HashError> {
        let p = Params::new(params.memory_kib, params.iterations, params.parallelism, None)
            .map_err(|e| HashError(e.to_string()))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let inner = Inner { argon, params, dummy: OnceLock::new(), running: Semaphore::new(cores) };
        Ok(PasswordHasher { inner: Arc::new(inner) })
    }

    pub fn params(&self) -> PasswordParams {
        self.inner.params
    }

    /// Hashes synchronously. Call from blocking contexts only (CLI, benchmarks, `spawn_blocking`).
    pub fn hash_blocking(&self, password: &str) -> Result<String, HashError> {
        let salt = SaltString::generate(&mut OsRng);
        self.inner
            .argon
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError(e.to_string()))
    }

    /// Hashes on the blocking pool, once a core is free for it.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let this = self.clone();
        self.off_runtime(move || this.hash_blocking(&password)).await
    }

    /// Runs one hash's work on the blocking pool while holding a per-core permit.
    async fn off_runtime<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self.inner.running.acquire().await.map_err(|e| HashError(e.to_string()))?;
        tokio::task::spawn_blocking(work).await.map_err(|e| HashError(e.to_string()))?
    }

    /// Verifies synchronously; see [`PasswordHasher::verify`]. Call from blocking contexts only
    /// (benchmarks measure the raw rate with it).
    pub fn verify_blocking(&self, password: &str, stored: Option<&str>) -> Result<PasswordVerdict, HashError> {
        let Some(stored) = stored else {
            // Same work as a real check, same answer as a wrong password.
            let dummy =
                self.inner.dummy.get_or_init(|| self.hash_blocking("tenantry-dummy-password").unwrap_or_default());
            let _ = PasswordHash::new(dummy).map(|h| self.inner.argon.verify_password(password.as_bytes(), &h));
            return Ok(PasswordVerdict::Mismatch);
        };
        let parsed = PasswordHash::new(stored).map_err(|e| HashError(e.to_string()))?;
        if self.inner.argon.verify_password(password.as_bytes(), &parsed).is_err() {
            return Ok(PasswordVerdict::Mismatch);
        }
        let current = Params::try_from(&parsed).ok().is_some_and(|p| {
            parsed.algorithm == argon2::ARGON2ID_IDENT
                && p.m_cost() == self.inner.params.memory_kib
                && p.t_cost() == self.inner.params.iterations
                && p.p_cost() == self.inner.params.parallelism
        });
        if current {
            Ok(PasswordVerdict::Match)
        } else {
            Ok(PasswordVerdict::MatchRehashed(self.hash_blocking(password)?))
        }
    }

    /// Verifies on the blocking pool. `stored = None` (unknown user, or no password set) still
    /// spends one hash's time and answers [`PasswordVerdict::Mismatch`].
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<PasswordVerdict, HashError> {
        let this = self.clone();
        self.off_runtime(move || this.verify_blocking(&password, stored.as_deref())).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordParams {
        PasswordParams { memory_kib: 256, iterations: 1, parallelism: 1 }
    }

    #[tokio::test]
    async fn hashes_are_salted_argon2id_phc_strings() {
        let h = PasswordHasher::new(cheap()).unwrap();
        let a = h.hash("correct horse".into()).await.unwrap();
        let b = h.hash("correct horse".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{a}");
        assert_ne!(a, b, "per-hash salt");
        assert_eq!(h.verify("correct horse".into(), Some(a.clone())).await.unwrap(), PasswordVerdict::Match);
        for wrong in ["correct hors", "Correct horse", "correct horse!", ""] {
            assert_eq!(h.verify(wrong.into(), Some(a.clone())).await.unwrap(), PasswordVerdict::Mismatch, "{wrong:?}");
        }
        assert_eq!(h.verify("x".into(), None).await.unwrap(), PasswordVerdict::Mismatch);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_one_hash_per_core_runs_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let h = PasswordHasher::new(cheap()).unwrap();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let tasks: Vec<_> = (0..cores * 4)
            .map(|_| {
                let (h, running, most) = (h.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    h.off_runtime(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                        Ok(())
                    })
                    .await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert!(
            most.load(Ordering::SeqCst) <= cores,
            "{} hashes ran at once on {cores} cores",
            most.load(Ordering::SeqCst)
        );
    }

    #[tokio::test]
    async fn changed_parameters_rehash_on_success() {
        let old = PasswordHasher::new(cheap()).unwrap();
        let stored = old.hash("passphrase".into()).await.unwrap();
        let new = PasswordHasher::new(PasswordParams { memory_kib: 512, ..cheap() }).unwrap();
        match new.verify("passphrase".into(), Some(stored)).await.unwrap() {
            PasswordVerdict::MatchRehashed(h) => assert!(h.contains("m=512"), "{h}"),
            other => panic!("expected a re-hash, got {other:?}"),
        }
    }
}
