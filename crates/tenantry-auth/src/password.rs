//! Argon2id password hashing (PHC strings), off the async runtime.
//!
//! Hashes run on a pool of dedicated threads, one per core, and each thread keeps its Argon2
//! memory (19 MiB by default) from one hash to the next. So at most one hash per core runs at a
//! time and further callers queue; the async runtime's threads never compete with dozens of
//! hashing threads for the cores (health checks stay fast during a burst of sign-ins); resident
//! memory stays at one Argon2 buffer per core however large the burst; and no hash pays for
//! faulting in fresh pages, which on a virtual machine costs about a third of a hash.

use std::cell::RefCell;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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
    argon_params: Params,
    params: PasswordParams,
    /// A hash of a random password, verified against when the user is unknown so that an unknown
    /// email costs the same time as a wrong password.
    dummy: OnceLock<String>,
    /// The hashing threads' queue; they stop when it closes (the hasher is dropped).
    jobs: Mutex<mpsc::Sender<Job>>,
}

type Job = Box<dyn FnOnce() + Send>;

thread_local! {
    /// This thread's Argon2 memory, kept between hashes.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with at least `blocks` Argon2 blocks of this thread's memory.
fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    MEMORY.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() < blocks {
            m.resize(blocks, Block::default());
        }
        f(&mut m[..blocks])
    })
}

/// Starts `threads` hashing threads fed by one queue.
fn start_pool(threads: usize) -> Result<mpsc::Sender<Job>, HashError> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for n in 0..threads {
        let rx = rx.clone();
        std::thread::Builder::new()
            .name(format!("tenantry-hash-{n}"))
            .spawn(move || loop {
                let job = {
                    let queue = rx.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    match queue.recv() {
                        Ok(job) => job,
                        Err(_) => return,
                    }
                };
                // A panicking job must not take the thread with it; its caller sees the loss.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            })
            .map_err(|e| HashError(format!("cannot start a hashing thread: {e}")))?;
    }
    Ok(tx)
}

fn hash_error(e: impl std::fmt::Display) -> HashError {
    HashError(e.to_string())
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").field("params", &self.inner.params).finish()
    }
}

/// The hasher could not run (invalid parameters, or the hashing threads died).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

impl PasswordHasher {
    pub fn new(params: PasswordParams) -> Result<Self, HashError> {
        let p = Params::new(params.memory_kib, params.iterations, params.parallelism, None).map_err(hash_error)?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p.clone());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let jobs = Mutex::new(start_pool(cores)?);
        let inner = Inner { argon, argon_params: p, params, dummy: OnceLock::new(), jobs };
        Ok(PasswordHasher { inner: Arc::new(inner) })
    }

    pub fn params(&self) -> PasswordParams {
        self.inner.params
    }

    /// Hashes synchronously. Call from blocking contexts only (CLI, benchmarks, the hashing pool).
    pub fn hash_blocking(&self, password: &str) -> Result<String, HashError> {
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt.as_salt().decode_b64(&mut salt_buf).map_err(hash_error)?;
        let params = &self.inner.argon_params;
        let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
        with_memory(params.block_count(), |memory| {
            self.inner.argon.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, memory)
        })
        .map_err(hash_error)?;
        let phc = PasswordHash {
            algorithm: argon2::ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(params).map_err(hash_error)?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(hash_error)?),
        };
        Ok(phc.to_string())
    }

    /// Hashes on the hashing pool, once a thread is free for it.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let this = self.clone();
        self.off_runtime(move || this.hash_blocking(&password)).await
    }

    /// Runs one hash's work on the hashing pool and waits for it without blocking the runtime.
    async fn off_runtime<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(work());
        });
        self.inner
            .jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(job)
            .map_err(|_| HashError("the hashing threads have stopped".to_owned()))?;
        rx.await.map_err(|_| HashError("a hash was lost (its job panicked)".to_owned()))?
    }

    /// Whether `password` matches the PHC string `stored`: the stored hash's own algorithm,
    /// version and parameters, this thread's memory, a constant-time comparison.
    fn matches(password: &str, stored: &PasswordHash<'_>) -> Result<bool, HashError> {
        let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
            return Ok(false);
        };
        let algorithm = Algorithm::try_from(stored.algorithm).map_err(hash_error)?;
        let version = stored.version.map(Version::try_from).transpose().map_err(hash_error)?.unwrap_or_default();
        let params = Params::try_from(stored).map_err(hash_error)?;
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(hash_error)?;
        let mut out = vec![0u8; expected.len()];
        let argon = Argon2::new(algorithm, version, params.clone());
        with_memory(params.block_count(), |memory| {
            argon.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, memory)
        })
        .map_err(hash_error)?;
        // `Output`'s equality is constant-time.
        Ok(Output::new(&out).map_err(hash_error)? == *expected)
    }

    /// Verifies synchronously; see [`PasswordHasher::verify`]. Call from blocking contexts only
    /// (benchmarks measure the raw rate with it).
    pub fn verify_blocking(&self, password: &str, stored: Option<&str>) -> Result<PasswordVerdict, HashError> {
        let Some(stored) = stored else {
            // Same work as a real check, same answer as a wrong password.
            let dummy =
                self.inner.dummy.get_or_init(|| self.hash_blocking("tenantry-dummy-password").unwrap_or_default());
            if let Ok(h) = PasswordHash::new(dummy) {
                let _ = Self::matches(password, &h);
            }
            return Ok(PasswordVerdict::Mismatch);
        };
        let parsed = PasswordHash::new(stored).map_err(hash_error)?;
        if !Self::matches(password, &parsed)? {
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

    /// Verifies on the hashing pool. `stored = None` (unknown user, or no password set) still
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

    #[test]
    fn phc_strings_interoperate_with_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let ours = PasswordHasher::new(cheap()).unwrap();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(256, 1, 1, None).unwrap());
        let mine = ours.hash_blocking("correct horse").unwrap();
        assert!(theirs.verify_password(b"correct horse", &PasswordHash::new(&mine).unwrap()).is_ok());
        assert!(theirs.verify_password(b"correct hors", &PasswordHash::new(&mine).unwrap()).is_err());
        let salt = SaltString::generate(&mut OsRng);
        let made_elsewhere = theirs.hash_password(b"battery staple", &salt).unwrap().to_string();
        assert_eq!(ours.verify_blocking("battery staple", Some(&made_elsewhere)).unwrap(), PasswordVerdict::Match);
        assert_eq!(ours.verify_blocking("battery stapl", Some(&made_elsewhere)).unwrap(), PasswordVerdict::Mismatch);
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
