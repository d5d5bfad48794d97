//! What the process tests share: a `tenantry serve` child process on free ports, the command
//! that runs the binary against a database, and an API key made through the CLI.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tenantry_testkit::peers::free_port;

const BIN: &str = env!("CARGO_BIN_EXE_tenantry");

/// A `tenantry serve` child process; killed (SIGKILL) on drop.
pub struct Node {
    pub child: Child,
    pub base: String,
    /// The management listener (`/metrics`).
    pub management: String,
    pub client: reqwest::Client,
}

impl Node {
    /// Starts a node on free ports in `workdir` (where `data/master.key` lives, so nodes and
    /// restarts in one folder share the master key), with `env` on top of the defaults, and
    /// waits for `/healthz`.
    pub async fn start(database_url: &str, workdir: &Path, env: &[(&str, &str)]) -> Node {
        let (port, management_port) = (free_port(), free_port());
        let child = command(database_url, workdir)
            .arg("serve")
            .env("TENANTRY_LISTEN", format!("127.0.0.1:{port}"))
            .env("TENANTRY_HTTP__MANAGEMENT_LISTEN", format!("127.0.0.1:{management_port}"))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tenantry");
        let node = Node {
            child,
            base: format!("http://127.0.0.1:{port}"),
            management: format!("http://127.0.0.1:{management_port}"),
            client: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = node.client.get(format!("{}/healthz", node.base)).send().await {
                if r.status().is_success() {
                    return node;
                }
            }
            assert!(Instant::now() < deadline, "tenantry did not answer /healthz within 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown, no flushing, leases left behind.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill tenantry");
        self.child.wait().expect("reap tenantry");
    }

    /// This node's `/metrics` text, from its management listener.
    pub async fn metrics(&self) -> String {
        self.client.get(format!("{}/metrics", self.management)).send().await.unwrap().text().await.unwrap()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `tenantry` binary against `database_url`, in `workdir`, with only the environment the test
/// gives it.
pub fn command(database_url: &str, workdir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(workdir)
        .env("TENANTRY_DATABASE_URL", database_url)
        .env("TENANTRY_LOG_LEVEL", "warn")
        .env_remove("TENANTRY_CONFIG")
        .env_remove("TENANTRY_SMTP_URL")
        .env_remove("TENANTRY_WORKERS_ENABLED");
    cmd
}

/// A backend API key made with `tenantry api-key create`.
pub fn create_api_key(database_url: &str, workdir: &Path) -> String {
    let out = command(database_url, workdir).args(["api-key", "create", "--name", "nodes"]).output().unwrap();
    assert!(out.status.success(), "api-key create: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}
