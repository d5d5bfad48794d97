//! The connection loop: accepts TCP connections and serves HTTP/1.1 on them with hyper, in front
//! of the poem endpoint. It exists for what poem's own server does not set (README, "Security"):
//! - a **header read timeout**: a client that trickles or stalls its request line and headers
//!   is disconnected after `http.header_read_timeout_ms` (hyper's HTTP/1 timer); idle keep-alive
//!   connections end after the same time;
//! - a **connection cap**: at most `http.max_connections` connections are served at once. The
//!   next is accepted only when one closes; until then it waits in the kernel's backlog.
//!
//! Only HTTP/1.1 is spoken (no cleartext HTTP/2): TLS and HTTP/2 end at the reverse proxy, and
//! hyper's header read timeout exists for HTTP/1 only, so every connection is covered by it.
//! The body read timeout is the shell's (`http.rs`), which reads every body before the handler.
//! On shutdown the loop stops accepting, lets in-flight requests finish for up to [`GRACE`], and
//! then drops what is left.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::Config;

/// How long in-flight requests may take to finish after a shutdown signal.
pub const GRACE: Duration = Duration::from_secs(20);

/// Limits on clients, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
}

impl Limits {
    pub fn of(config: &Config) -> Limits {
        Limits {
            header_read_timeout: Duration::from_millis(config.http.header_read_timeout_ms),
            max_connections: config.http.max_connections,
        }
    }
}

/// Serves `endpoint` on `listener` until `shutdown` is cancelled, then drains.
pub async fn serve_http<E>(listener: TcpListener, endpoint: E, limits: Limits, shutdown: CancellationToken)
where
    E: Endpoint + 'static,
{
    let endpoint = Arc::new(endpoint);
    let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
    let local = listener.local_addr().unwrap_or(unspecified);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    loop {
        // The permit first: over the cap, the next connection stays in the backlog, unserved.
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let local_addr = stream.local_addr().unwrap_or(local);
        let ep = endpoint.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let ep = ep.clone();
            async move {
                let (local, remote) = (LocalAddr(Addr::SocketAddr(local_addr)), RemoteAddr(Addr::SocketAddr(peer)));
                let req = poem::Request::from((req, local, remote, poem::http::uri::Scheme::HTTP));
                let resp = ep.get_response(req).await;
                Ok::<_, Infallible>(hyper::Response::from(resp))
            }
        });
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, peer = %peer, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(GRACE) => {
            tracing::warn!("requests still running after the shutdown grace period; dropping them");
        }
    }
}
