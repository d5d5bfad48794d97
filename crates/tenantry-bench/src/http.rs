//! A bare HTTP/1.1 keep-alive connection: no pool, no redirects, no decompression, so the load
//! generator spends as little CPU as possible on the 2 cores it shares with the server.

use std::net::{IpAddr, SocketAddr};

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpSocket, TcpStream};

/// The request type every connection sends.
pub type Req = Request<Full<Bytes>>;

/// One open connection; requests on it run one at a time.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(addr).await.with_context(|| format!("cannot connect to {addr}"))?;
        Connection::handshake(stream).await
    }

    /// Opens a connection from the source address `from` (any 127.0.0.0/8 address is local on
    /// Linux), so the server sees a distinct client, as it would from separate machines.
    pub async fn open_from(addr: SocketAddr, from: IpAddr) -> anyhow::Result<Connection> {
        let socket = if from.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        socket.bind(SocketAddr::new(from, 0)).with_context(|| format!("cannot bind {from}"))?;
        let stream = socket.connect(addr).await.with_context(|| format!("cannot connect to {addr} from {from}"))?;
        Connection::handshake(stream).await
    }

    async fn handshake(stream: TcpStream) -> anyhow::Result<Connection> {
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        // The connection task ends when the sender is dropped or the server closes the socket.
        tokio::spawn(conn);
        Ok(Connection { sender })
    }

    /// Sends `req` and reads the whole response body; returns the status.
    pub async fn send(&mut self, req: Req) -> anyhow::Result<StatusCode> {
        Ok(self.exchange(req).await?.0)
    }

    /// Sends `req`; returns the status and the whole body.
    pub async fn exchange(&mut self, req: Req) -> anyhow::Result<(StatusCode, Bytes)> {
        let (status, _, body) = self.exchange_with_headers(req).await?;
        Ok((status, body))
    }

    /// Sends `req`; returns the status, the headers (cookies, `Location`) and the whole body.
    pub async fn exchange_with_headers(&mut self, req: Req) -> anyhow::Result<(StatusCode, HeaderMap, Bytes)> {
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, headers, body))
    }
}
