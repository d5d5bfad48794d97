//! A bare HTTP/1.1 keep-alive connection: no pool, no redirects, no decompression, so the load
//! generator spends as little CPU as possible on the 2 cores it shares with the server.

use std::net::SocketAddr;

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The request type every connection sends.
pub type Req = Request<Full<Bytes>>;

/// One open connection; requests on it run one at a time.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(addr).await.with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        // The connection task ends when the sender is dropped or the server closes the socket.
        tokio::spawn(conn);
        Ok(Connection { sender })
    }

    /// Sends `req` and reads the whole response body; returns the status.
    pub async fn send(&mut self, req: Req) -> anyhow::Result<StatusCode> {
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status();
        resp.into_body().collect().await?;
        Ok(status)
    }
}
