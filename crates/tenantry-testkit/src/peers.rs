//! Real third-party peers on loopback: the Python interpreter that has them, and an SMTP sink.
//!
//! The interpreter is, in order: `$TENANTRY_PEERS_PYTHON`; `.venv-peers/bin/python` at the
//! workspace root; the venv `scripts/peers-venv.sh` makes (`$TENANTRY_PEERS_VENV`, by default
//! `~/.cache/tenantry-peers-venv`); `python3`. A missing peer fails the test under CI
//! ([`crate::under_ci`]) and skips it otherwise; so does a missing command ([`peer_command`]).
//! The peers' scripts see `CI` too, and fail there when an optional library is missing.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Python that can `import module`, or `None` (skip) outside CI.
///
/// # Panics
/// Under CI when no interpreter has the module.
pub fn peers_python(module: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let shared_venv = std::env::var_os("TENANTRY_PEERS_VENV")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache/tenantry-peers-venv")));
    let python = if let Some(p) = std::env::var_os("TENANTRY_PEERS_PYTHON") {
        PathBuf::from(p)
    } else if root.join(".venv-peers/bin/python").exists() {
        root.join(".venv-peers/bin/python")
    } else if let Some(venv) = shared_venv.filter(|v| v.join("bin/python").exists()) {
        venv.join("bin/python")
    } else {
        PathBuf::from("python3")
    };
    let importable = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if importable {
        return Some(python);
    }
    let why =
        format!("{} cannot import {module}; run scripts/peers-venv.sh or set TENANTRY_PEERS_PYTHON", python.display());
    missing(why)
}

/// The path of `command` (for example `xmlsec1`, or a browser) on `PATH`, or `None` (skip)
/// outside CI.
///
/// # Panics
/// Under CI when the command is not found.
pub fn peer_command(command: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|dir| dir.join(command)).find(|p| is_executable(p)));
    if found.is_some() {
        return found;
    }
    missing(format!("{command} is not on PATH; install it (see .ci/run for the packages)"))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A missing peer: a failure under CI, a skip (with the reason on stderr) elsewhere.
fn missing(why: String) -> Option<PathBuf> {
    if crate::under_ci() {
        panic!("CI is set and a test peer is missing: {why}");
    }
    eprintln!("skipped: {why}");
    None
}

/// A free loopback port.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// aiosmtpd on 127.0.0.1, storing mail in a Maildir; killed on drop.
pub struct SmtpSink {
    pub port: u16,
    child: Child,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    /// Starts a sink on a free port, or `None` when aiosmtpd is unavailable outside CI.
    pub fn start() -> Option<SmtpSink> {
        Self::start_on(free_port())
    }

    /// Starts a sink on `port` (for tests that start the server late).
    pub fn start_on(port: u16) -> Option<SmtpSink> {
        let python = peers_python("aiosmtpd")?;
        let dir = tempfile::tempdir().expect("temp dir");
        // Mailbox creates the Maildir itself; an existing folder without cur/new/tmp makes it fail.
        let maildir = dir.path().join("maildir");
        let log_path = dir.path().join("aiosmtpd.log");
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("spawn aiosmtpd");
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            if let Ok(Some(status)) = child.try_wait() {
                panic!("aiosmtpd exited ({status}) before accepting connections:\n{log}");
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("aiosmtpd did not accept connections on {addr} within 15 s:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(SmtpSink { port, child, maildir, _dir: dir })
    }

    /// `smtp://127.0.0.1:PORT` (plaintext: a loopback sink).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The raw messages received so far.
    pub fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else { return Vec::new() };
        entries.map(|e| std::fs::read_to_string(e.expect("maildir entry").path()).expect("read message")).collect()
    }

    /// Waits (at most 10 s) until `n` messages have arrived, and returns what has arrived.
    pub async fn wait_for_count(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let messages = self.messages();
            if messages.len() >= n || Instant::now() > deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (at most 10 s) for a message to `to` whose text contains `needle`, and returns it.
    ///
    /// # Panics
    /// When none arrives in time.
    pub async fn wait_for(&self, to: &str, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = self.messages().into_iter().find(|m| {
                let plain = unfold_quoted_printable(m);
                plain.contains(&format!("To: {to}")) && plain.contains(needle)
            });
            if let Some(m) = found {
                return unfold_quoted_printable(&m);
            }
            assert!(Instant::now() < deadline, "no mail to {to} containing {needle:?} arrived within 10 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Undoes quoted-printable soft line breaks and `=3D`, enough to find links in a message.
pub fn unfold_quoted_printable(raw: &str) -> String {
    raw.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
}

/// The first `https?://…?token=…` link in `text` that starts with `base`.
pub fn link_in(text: &str, base: &str) -> Option<String> {
    let start = text.find(base)?;
    let rest = &text[start..];
    let end = rest.find(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>').unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_on_path_is_found() {
        let sh = peer_command("sh").expect("sh is on PATH");
        assert!(sh.is_absolute() || sh.starts_with("."), "{}", sh.display());
        assert!(is_executable(&sh));
        assert!(!is_executable(Path::new(env!("CARGO_MANIFEST_DIR"))), "a folder is no command");
    }
}
