//! The server under test: the release `tenantry` binary, run as a child process exactly as an
//! operator would run it, configured only through `TENANTRY_*` variables.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use http_body_util::Full;
use hyper::header::HOST;
use hyper::Request;

use crate::http::Connection;

/// Variables the harness sets (or, for the config file, removes); any other `TENANTRY_*` variable
/// reaches the server as is.
const CONTROLLED_BY_HARNESS: [&str; 8] = [
    "TENANTRY_DATABASE_URL",
    "TENANTRY_LISTEN",
    "TENANTRY_LOG_LEVEL",
    "TENANTRY_CONFIG",
    "TENANTRY_WORKERS_ENABLED",
    "TENANTRY_WEBHOOKS__ALLOW_PRIVATE_TARGETS",
    "TENANTRY_ORGS__TOKEN_MAX_ORGS",
    "TENANTRY_HTTP__MANAGEMENT_ENABLED",
];

/// How the server is configured beyond the harness's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The HTTP scenarios: no worker runs. The invite round trip reads invitation emails from the
    /// queue, as a mailbox would, and nothing sends (and empties) them meanwhile.
    Http,
    /// Setting up webhooks: still no worker, but endpoints may be on loopback addresses, where the
    /// harness's receiver listens (`webhooks.allow_private_targets`, never for production).
    WebhookSetup,
    /// Delivering webhooks: the workers run, and may deliver to loopback addresses.
    WebhookDelivery,
}

/// How long the server may take to answer `/healthz` after being spawned.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the `tenantry` binary is.
#[derive(Debug, Clone)]
pub struct ServerBinary(PathBuf);

impl ServerBinary {
    /// `explicit` if given; otherwise `tenantry` next to this binary, after `cargo build --release
    /// -p tenantry-server` when run through cargo (so it is never stale).
    pub fn locate(explicit: Option<PathBuf>) -> anyhow::Result<ServerBinary> {
        if let Some(path) = explicit {
            return ServerBinary::existing(path);
        }
        let here = std::env::current_exe().context("cannot find the tenantry-bench binary")?;
        let dir = here.parent().context("the tenantry-bench binary has no folder")?;
        if let Some(cargo) = std::env::var_os("CARGO") {
            build_server(Path::new(&cargo))?;
        }
        ServerBinary::existing(dir.join(format!("tenantry{}", std::env::consts::EXE_SUFFIX)))
    }

    fn existing(path: PathBuf) -> anyhow::Result<ServerBinary> {
        if !path.is_file() {
            bail!(
                "no server binary at {}; build it with `cargo build --release -p tenantry-server` \
                 or pass --server-bin",
                path.display()
            );
        }
        // Absolute, since the server runs in another folder.
        Ok(ServerBinary(path.canonicalize()?))
    }

    /// A command run in `workdir`, so files the server creates by default (`data/master.key`)
    /// land there and not in the caller's folder.
    fn command(&self, database_url: &str, workdir: &Path, mode: Mode) -> Command {
        let (workers, loopback) = match mode {
            Mode::Http => ("false", "false"),
            Mode::WebhookSetup => ("false", "true"),
            Mode::WebhookDelivery => ("true", "true"),
        };
        let mut cmd = Command::new(&self.0);
        cmd.current_dir(workdir)
            .env("TENANTRY_DATABASE_URL", database_url)
            .env("TENANTRY_LOG_LEVEL", "warn")
            .env("TENANTRY_WORKERS_ENABLED", workers)
            .env("TENANTRY_WEBHOOKS__ALLOW_PRIVATE_TARGETS", loopback)
            // The user in 50 orgs gets all 50 in the token, so the refresh scenario measures them.
            .env("TENANTRY_ORGS__TOKEN_MAX_ORGS", "50")
            // The harness reads no metrics; no management port to collide with a local one.
            .env("TENANTRY_HTTP__MANAGEMENT_ENABLED", "false")
            .env_remove("TENANTRY_CONFIG");
        cmd
    }

    /// Runs `tenantry api-key create` in `workdir` and returns the key it prints.
    pub fn create_api_key(&self, database_url: &str, workdir: &Path) -> anyhow::Result<String> {
        let out = self
            .command(database_url, workdir, Mode::Http)
            .args(["api-key", "create", "--name", "bench"])
            .stderr(Stdio::inherit())
            .output()
            .context("cannot run `tenantry api-key create`")?;
        if !out.status.success() {
            bail!("`tenantry api-key create` failed with {}", out.status);
        }
        let key = String::from_utf8(out.stdout).context("the API key is not UTF-8")?.trim().to_owned();
        if key.is_empty() {
            bail!("`tenantry api-key create` printed no key");
        }
        Ok(key)
    }

    /// Starts `tenantry serve` in `workdir` on a free loopback port, for the HTTP scenarios, and
    /// waits until `/healthz` answers.
    pub async fn start(&self, database_url: &str, workdir: &Path) -> anyhow::Result<ServerProcess> {
        self.start_in(database_url, workdir, Mode::Http).await
    }

    /// [`ServerBinary::start`] in the given mode.
    pub async fn start_in(&self, database_url: &str, workdir: &Path, mode: Mode) -> anyhow::Result<ServerProcess> {
        let addr = free_loopback_addr()?;
        let child = self
            .command(database_url, workdir, mode)
            .arg("serve")
            .env("TENANTRY_LISTEN", addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", self.0.display()))?;
        let mut process = ServerProcess { child, addr };
        process.wait_healthy().await?;
        Ok(process)
    }
}

/// Runs `cargo build --release -p tenantry-server` in this workspace; cheap when nothing changed.
fn build_server(cargo: &Path) -> anyhow::Result<()> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    eprintln!("== building the server: cargo build --release -p tenantry-server");
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "tenantry-server"])
        .current_dir(workspace)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("`cargo build --release -p tenantry-server` failed with {status}");
    }
    Ok(())
}

/// Prints the `TENANTRY_*` variables the server inherits, since they change what is measured;
/// values of names that look secret are not shown.
pub fn print_passed_through_env() {
    for (name, value) in std::env::vars() {
        if name.starts_with("TENANTRY_")
            && !name.starts_with("TENANTRY_BENCH_")
            && !CONTROLLED_BY_HARNESS.contains(&&*name)
        {
            let secret = ["KEY", "SECRET", "PASSWORD", "TOKEN", "URL"].iter().any(|w| name.contains(w));
            let shown = if secret { "<hidden>" } else { &value };
            eprintln!("== passing {name}={shown} to the server");
        }
    }
}

/// A port the OS just handed out; it is released again for the server to bind.
fn free_loopback_addr() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).context("cannot find a free port")?;
    Ok(listener.local_addr()?)
}

/// Resident memory of a process, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss_kib: u64,
    /// `VmHWM`: the most ever resident.
    pub peak_kib: u64,
}

impl Memory {
    fn parse(status: &str) -> Option<Memory> {
        let field = |name: &str| {
            status.lines().find_map(|l| l.strip_prefix(name)?.trim().strip_suffix("kB")?.trim().parse().ok())
        };
        Some(Memory { rss_kib: field("VmRSS:")?, peak_kib: field("VmHWM:")? })
    }
}

/// A running server; killed when dropped.
pub struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl ServerProcess {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn memory(&self) -> anyhow::Result<Memory> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        Memory::parse(&status).with_context(|| format!("no VmRSS/VmHWM in {path}"))
    }

    async fn wait_healthy(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("the server exited during start-up with {status}");
            }
            if self.healthz().await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the server did not answer /healthz within {START_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn healthz(&self) -> anyhow::Result<()> {
        let mut conn = Connection::open(self.addr).await?;
        let req = Request::get("/healthz").header(HOST, self.addr.to_string()).body(Full::default())?;
        let status = conn.send(req).await?;
        if !status.is_success() {
            bail!("/healthz answered {status}");
        }
        Ok(())
    }

    /// Kills the server and reaps it.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if self.child.try_wait()?.is_none() {
            self.child.kill().context("cannot stop the server")?;
            self.child.wait()?;
        }
        Ok(())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("warning: {e:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_from_proc_status() {
        let status = "Name:\ttenantry\nVmHWM:\t   31200 kB\nVmRSS:\t   20480 kB\nThreads:\t4\n";
        assert_eq!(Memory::parse(status), Some(Memory { rss_kib: 20480, peak_kib: 31200 }));
        assert_eq!(Memory::parse("Name:\ttenantry\n"), None);
    }
}
