//! A [`Verifier`] that keeps its own keys: it fetches the JWKS when it has none, refreshes it when it
//! is older than [`JwksCache::with_max_age`], and fetches it again when a token names a `kid` it does
//! not know (a rotation it missed), at most once per [`JwksCache::with_min_refetch_interval`] so that
//! tokens with made-up `kid`s cannot make it hammer Tenantry. When Tenantry cannot be reached, the
//! keys it already has stay in use: tokens keep verifying through an outage.
//!
//! **Invariant:** at most one fetch runs at a time, and a refused token costs no fetch unless its
//! `kid` is unknown and the last attempt is older than the interval.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use crate::claims::AccessClaims;
use crate::jose::VerifyError;
use crate::verifier::{unix_now, JwksError, Verifier};

/// Seconds since the Unix epoch, as a function: [`unix_now`] unless a test or a deployment with its
/// own clock sets one.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Refresh keys older than this (Tenantry publishes a new key well before it signs with it).
pub const DEFAULT_MAX_AGE_SECS: i64 = 5 * 60;
/// At most one fetch caused by unknown `kid`s, or one retry after a failure, per this many seconds.
pub const DEFAULT_MIN_REFETCH_SECS: i64 = 30;

/// Verifies access tokens against the issuer's JWKS, fetching and refreshing it itself.
///
/// ```no_run
/// use tenantry_sdk::JwksCache;
///
/// # async fn run(token: &str) -> Result<(), tenantry_sdk::VerifyError> {
/// let cache = JwksCache::new("https://auth.example.com", reqwest::Client::new());
/// let claims = cache.verify(token).await?; // fetches the JWKS on first use
/// println!("signed in as {}", claims.email);
/// # Ok(())
/// # }
/// ```
pub struct JwksCache {
    verifier: Verifier,
    http: reqwest::Client,
    clock: Clock,
    max_age: i64,
    min_refetch: i64,
    /// When the keys were last loaded; `i64::MIN` before the first success.
    loaded_at: AtomicI64,
    /// When a fetch was last started; `i64::MIN` before the first. Held across the fetch, so that
    /// concurrent callers wait for one fetch instead of each starting theirs.
    fetching: tokio::sync::Mutex<i64>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("verifier", &self.verifier)
            .field("max_age", &self.max_age)
            .field("min_refetch", &self.min_refetch)
            .field("loaded_at", &self.loaded_at.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl JwksCache {
    /// For tokens issued by `issuer` (the Tenantry instance's public URL); keys come from
    /// `{issuer}/.well-known/jwks.json` through `http`.
    pub fn new(issuer: impl Into<String>, http: reqwest::Client) -> Self {
        Self::from_verifier(Verifier::new(issuer), http)
    }

    /// Around a configured [`Verifier`] (e.g. [`Verifier::with_audience`]).
    pub fn from_verifier(verifier: Verifier, http: reqwest::Client) -> Self {
        JwksCache {
            verifier,
            http,
            clock: Arc::new(unix_now),
            max_age: DEFAULT_MAX_AGE_SECS,
            min_refetch: DEFAULT_MIN_REFETCH_SECS,
            loaded_at: AtomicI64::new(i64::MIN),
            fetching: tokio::sync::Mutex::new(i64::MIN),
        }
    }

    /// Token times and the cache's ages are read from `clock` (seconds since the Unix epoch).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Refresh keys older than `secs` on the next verification.
    pub fn with_max_age(mut self, secs: i64) -> Self {
        self.max_age = secs;
        self
    }

    /// Fetch at most once per `secs` because of an unknown `kid` or after a failed fetch.
    pub fn with_min_refetch_interval(mut self, secs: i64) -> Self {
        self.min_refetch = secs;
        self
    }

    /// The verifier and its cached keys.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The current time by this cache's clock.
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Fetches the JWKS now, whatever its age (e.g. at start-up, to fail early). Counts as an
    /// attempt for the rate limit.
    pub async fn refresh(&self) -> Result<(), JwksError> {
        let mut last_attempt = self.fetching.lock().await;
        self.fetch(&mut last_attempt).await
    }

    /// Installs the keys of a JWKS document as if just fetched (for a deployment that ships its keys,
    /// and for tests).
    pub fn set_jwks(&self, json: &str) -> Result<(), JwksError> {
        self.verifier.set_jwks(json)?;
        self.loaded_at.store(self.now(), Ordering::Release);
        Ok(())
    }

    async fn fetch(&self, last_attempt: &mut i64) -> Result<(), JwksError> {
        let now = self.now();
        *last_attempt = now;
        self.verifier.refresh(&self.http).await?;
        self.loaded_at.store(now, Ordering::Release);
        Ok(())
    }

    /// Fetches unless another caller did while this one waited, or an attempt was made less than the
    /// minimum interval ago. `loaded_before` is the load time the caller saw.
    async fn refetch(&self, loaded_before: i64) {
        let mut last_attempt = self.fetching.lock().await;
        if self.loaded_at.load(Ordering::Acquire) != loaded_before {
            return; // someone else fetched meanwhile
        }
        if *last_attempt != i64::MIN && self.now().saturating_sub(*last_attempt) < self.min_refetch {
            return;
        }
        // A failure keeps the keys already cached; the next attempt waits for the interval.
        let _ = self.fetch(&mut last_attempt).await;
    }

    /// Verifies `token` at the clock's time, loading or refreshing the keys first when needed.
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        let loaded = self.loaded_at.load(Ordering::Acquire);
        let now = self.now();
        if loaded == i64::MIN || now.saturating_sub(loaded) >= self.max_age {
            self.refetch(loaded).await;
        }
        let loaded = self.loaded_at.load(Ordering::Acquire);
        match self.verifier.verify(token, self.now()) {
            Err(VerifyError::UnknownKey) if !names_no_kid(token) => {
                self.refetch(loaded).await;
                self.verifier.verify(token, self.now())
            }
            result => result,
        }
    }
}

/// A token whose header has no `kid` will not verify with any key: no fetch for it.
fn names_no_kid(token: &str) -> bool {
    use base64::Engine as _;
    #[derive(serde::Deserialize)]
    struct Header {
        #[serde(default)]
        kid: Option<String>,
    }
    let Some(header) = token.split('.').next() else { return true };
    let Ok(json) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header) else { return true };
    serde_json::from_slice::<Header>(&json).map_or(true, |h| h.kid.is_none())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;

    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use ed25519_dalek::{Signer as _, SigningKey};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    const NOW: i64 = 1_750_000_000;

    /// A JWKS endpoint on loopback whose document can be swapped, or made to fail, and that counts
    /// the requests it gets.
    struct Jwks {
        base: String,
        body: Arc<Mutex<Option<String>>>,
        hits: Arc<AtomicUsize>,
    }

    impl Jwks {
        async fn start() -> Self {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let body: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
            let hits = Arc::new(AtomicUsize::new(0));
            let (served, counted) = (body.clone(), hits.clone());
            tokio::spawn(async move {
                loop {
                    let (mut socket, _) = listener.accept().await.unwrap();
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        let n = socket.read(&mut buf).await.unwrap();
                        if n == 0 {
                            break;
                        }
                        request.extend_from_slice(&buf[..n]);
                    }
                    counted.fetch_add(1, Ordering::SeqCst);
                    let current = served.lock().unwrap().clone();
                    let (status, body) = match current {
                        Some(body) => ("200 OK", body),
                        None => ("503 Service Unavailable", "{}".to_owned()),
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                }
            });
            Jwks { base, body, hits }
        }

        fn publish(&self, keys: &[&Key]) {
            let keys: Vec<_> = keys
                .iter()
                .map(|k| {
                    serde_json::json!({"kty": "OKP", "crv": "Ed25519", "kid": k.kid,
                    "x": URL_SAFE_NO_PAD.encode(k.key.verifying_key().as_bytes())})
                })
                .collect();
            *self.body.lock().unwrap() = Some(serde_json::json!({ "keys": keys }).to_string());
        }

        fn go_down(&self) {
            *self.body.lock().unwrap() = None;
        }

        fn hits(&self) -> usize {
            self.hits.load(Ordering::SeqCst)
        }
    }

    struct Key {
        key: SigningKey,
        kid: &'static str,
    }

    impl Key {
        fn new(seed: u8, kid: &'static str) -> Self {
            Key { key: SigningKey::from_bytes(&[seed; 32]), kid }
        }

        fn sign(&self, issuer: &str) -> String {
            let header = serde_json::json!({"alg": "EdDSA", "typ": "at+jwt", "kid": self.kid});
            let claims = serde_json::json!({"iss": issuer, "sub": "u", "iat": NOW, "exp": NOW + 900, "jti": "j",
                "sid": "s", "email": "ada@example.com", "email_verified": true, "orgs": {}});
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(self.key.sign(input.as_bytes()).to_bytes()))
        }
    }

    fn cache(jwks: &Jwks) -> (JwksCache, Arc<AtomicI64>) {
        let time = Arc::new(AtomicI64::new(NOW));
        let clock = time.clone();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let cache = JwksCache::new(&jwks.base, http).with_clock(Arc::new(move || clock.load(Ordering::SeqCst)));
        (cache, time)
    }

    #[tokio::test]
    async fn the_first_verification_loads_the_keys_and_later_ones_use_the_cache() {
        let jwks = Jwks::start().await;
        let key = Key::new(1, "k1");
        jwks.publish(&[&key]);
        let (cache, _) = cache(&jwks);
        let token = key.sign(&jwks.base);
        assert_eq!(cache.verify(&token).await.unwrap().sub, "u");
        for _ in 0..5 {
            assert!(cache.verify(&token).await.is_ok());
        }
        assert_eq!(jwks.hits(), 1);
    }

    #[tokio::test]
    async fn an_unknown_kid_fetches_the_rotated_keys_at_most_once_per_interval() {
        let jwks = Jwks::start().await;
        let (old, new, newer) = (Key::new(1, "k1"), Key::new(2, "k2"), Key::new(3, "k3"));
        jwks.publish(&[&old]);
        let (cache, time) = cache(&jwks);
        assert!(cache.verify(&old.sign(&jwks.base)).await.is_ok());

        // Tenantry rotates: a token signed with the new key makes the cache fetch again.
        jwks.publish(&[&new, &old]);
        time.fetch_add(DEFAULT_MIN_REFETCH_SECS, Ordering::SeqCst);
        assert!(cache.verify(&new.sign(&jwks.base)).await.is_ok());
        assert_eq!(jwks.hits(), 2);
        assert!(cache.verify(&old.sign(&jwks.base)).await.is_ok(), "the old key stays while published");

        // Within the interval, unknown kids (made up or not) cost no fetch.
        jwks.publish(&[&newer, &new]);
        for _ in 0..10 {
            assert_eq!(cache.verify(&Key::new(9, "made-up").sign(&jwks.base)).await, Err(VerifyError::UnknownKey));
        }
        assert_eq!(cache.verify(&newer.sign(&jwks.base)).await, Err(VerifyError::UnknownKey));
        assert_eq!(jwks.hits(), 2);
        time.fetch_add(DEFAULT_MIN_REFETCH_SECS, Ordering::SeqCst);
        assert!(cache.verify(&newer.sign(&jwks.base)).await.is_ok());
        assert_eq!(jwks.hits(), 3);

        // A token with no kid at all never fetches.
        time.fetch_add(DEFAULT_MIN_REFETCH_SECS, Ordering::SeqCst);
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","typ":"at+jwt"}"#);
        assert_eq!(cache.verify(&format!("{header}.e30.AAAA")).await, Err(VerifyError::UnknownKey));
        assert_eq!(jwks.hits(), 3);
    }

    #[tokio::test]
    async fn stale_keys_stay_in_use_while_tenantry_is_unreachable() {
        let jwks = Jwks::start().await;
        let key = Key::new(1, "k1");
        jwks.publish(&[&key]);
        let (cache, time) = cache(&jwks);
        let token = key.sign(&jwks.base);
        assert!(cache.verify(&token).await.is_ok());

        jwks.go_down();
        time.fetch_add(DEFAULT_MAX_AGE_SECS, Ordering::SeqCst);
        assert!(cache.verify(&token).await.is_ok(), "the refresh failed; the cached key still verifies");
        assert_eq!(jwks.hits(), 2);
        // The failed refresh is retried once per interval, not on every request.
        for _ in 0..5 {
            assert!(cache.verify(&token).await.is_ok());
        }
        assert_eq!(jwks.hits(), 2);
        time.fetch_add(DEFAULT_MIN_REFETCH_SECS, Ordering::SeqCst);
        assert!(cache.verify(&token).await.is_ok());
        assert_eq!(jwks.hits(), 3);

        // Back up: the next attempt loads and the age starts over.
        jwks.publish(&[&key]);
        time.fetch_add(DEFAULT_MIN_REFETCH_SECS, Ordering::SeqCst);
        assert!(cache.verify(&token).await.is_ok());
        assert_eq!(jwks.hits(), 4);
        assert!(cache.verify(&token).await.is_ok());
        assert_eq!(jwks.hits(), 4);
    }

    #[tokio::test]
    async fn concurrent_verifications_share_one_fetch() {
        let jwks = Jwks::start().await;
        let key = Key::new(1, "k1");
        jwks.publish(&[&key]);
        let (cache, _) = cache(&jwks);
        let cache = Arc::new(cache);
        let token = Arc::new(key.sign(&jwks.base));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (cache, token) = (cache.clone(), token.clone());
                tokio::spawn(async move { cache.verify(&token).await.is_ok() })
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap());
        }
        assert_eq!(jwks.hits(), 1);
    }

    #[tokio::test]
    async fn with_no_keys_and_no_server_every_token_is_refused() {
        let jwks = Jwks::start().await;
        let (cache, _) = cache(&jwks);
        assert_eq!(cache.verify(&Key::new(1, "k1").sign(&jwks.base)).await, Err(VerifyError::UnknownKey));
        assert!(cache.refresh().await.is_err());
    }
}
