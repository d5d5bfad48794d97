//! The webhook receiver: a bare hyper HTTP/1.1 server on 127.0.0.1 inside the harness that answers
//! every request with 204 at once. It counts requests per path (`/e/0` … `/e/99`, anything else
//! in one bucket) and notes when each distinct `webhook-id` first arrived at each path (one event
//! fanned out to 100 endpoints has one id), so the harness can tell deliveries from retries and
//! time them. Cheap on purpose: it shares the cores with the server.

use std::collections::HashMap;
use std::convert::Infallible;
use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Paths `/e/0` … `/e/{PATHS - 1}` are counted one by one.
pub const PATHS: usize = 100;
/// Shards of the first-arrival map, so concurrent deliveries rarely wait for each other.
const SHARDS: usize = 64;

/// What the receiver saw, shared with its connection tasks.
struct State {
    epoch: Instant,
    requests: AtomicU64,
    distinct: AtomicU64,
    /// Nanoseconds after `epoch` of the latest first arrival of a `webhook-id`.
    last_new: AtomicU64,
    /// Requests per path index; the last bucket is every other path.
    per_path: Vec<AtomicU64>,
    /// Requests without a `webhook-id` (or with one that is not a UUID).
    unidentified: AtomicU64,
    hasher: RandomState,
    /// (path index, `webhook-id`) → nanoseconds after `epoch` of its first arrival.
    first_arrivals: Vec<Mutex<HashMap<(usize, Uuid), u64>>>,
}

impl State {
    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    fn instant(&self, nanos: u64) -> Instant {
        self.epoch + Duration::from_nanos(nanos)
    }

    fn note(&self, path: &str, id: Option<Uuid>, at: Instant) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let path = path_index(path);
        self.per_path[path].fetch_add(1, Ordering::Relaxed);
        let Some(id) = id else {
            self.unidentified.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let key = (path, id);
        let nanos = self.nanos(at);
        let shard = self.hasher.hash_one(key) as usize % SHARDS;
        let new = {
            let mut map = self.first_arrivals[shard].lock().unwrap_or_else(|e| e.into_inner());
            match map.entry(key) {
                std::collections::hash_map::Entry::Occupied(_) => false,
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(nanos);
                    true
                }
            }
        };
        if new {
            self.last_new.fetch_max(nanos, Ordering::Relaxed);
            // Last, so a reader that sees the count also sees the times.
            self.distinct.fetch_add(1, Ordering::Release);
        }
    }
}

/// `/e/{n}` with `n` < [`PATHS`] → `n`; anything else → [`PATHS`].
fn path_index(path: &str) -> usize {
    path.strip_prefix("/e/").and_then(|n| n.parse::<usize>().ok()).filter(|n| *n < PATHS).unwrap_or(PATHS)
}

/// A running receiver; it stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Receiver {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> anyhow::Result<Receiver> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.context("cannot bind the webhook receiver")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            epoch: Instant::now(),
            requests: AtomicU64::new(0),
            distinct: AtomicU64::new(0),
            last_new: AtomicU64::new(0),
            per_path: (0..=PATHS).map(|_| AtomicU64::new(0)).collect(),
            unidentified: AtomicU64::new(0),
            hasher: RandomState::new(),
            first_arrivals: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        });
        let task = tokio::spawn(accept(listener, state.clone()));
        Ok(Receiver { addr, state, task })
    }

    /// The URL of path `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests received, retries included.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// Distinct (path, `webhook-id`) pairs received: deliveries.
    pub fn distinct(&self) -> u64 {
        self.state.distinct.load(Ordering::Acquire)
    }

    /// Requests that came without a usable `webhook-id`.
    pub fn unidentified(&self) -> u64 {
        self.state.unidentified.load(Ordering::Relaxed)
    }

    /// When the latest new `webhook-id` arrived.
    pub fn last_new(&self) -> Option<Instant> {
        if self.distinct() == 0 {
            return None;
        }
        Some(self.state.instant(self.state.last_new.load(Ordering::Relaxed)))
    }

    /// Requests to `/e/{n}` for each `n` < [`PATHS`].
    pub fn per_path(&self) -> Vec<u64> {
        self.state.per_path[..PATHS].iter().map(|c| c.load(Ordering::Relaxed)).collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept(listener: TcpListener, state: Arc<State>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                eprintln!("== webhook receiver: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| answer(state.clone(), req));
            // A connection ends when the worker closes it; errors then are of no interest.
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// Notes the request as its head arrives, reads the (small) body so the connection stays usable,
/// and answers 204.
async fn answer(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Empty<Bytes>>, Infallible> {
    let at = Instant::now();
    let id = req
        .headers()
        .get(tenantry_webhooks::sign::WEBHOOK_ID)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok());
    state.note(req.uri().path(), id, at);
    let _ = req.into_body().collect().await;
    let mut response = Response::new(Empty::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_buckets() {
        assert_eq!(path_index("/e/0"), 0);
        assert_eq!(path_index("/e/99"), 99);
        assert_eq!(path_index("/e/100"), PATHS);
        assert_eq!(path_index("/"), PATHS);
        assert_eq!(path_index("/e/x"), PATHS);
    }
}
