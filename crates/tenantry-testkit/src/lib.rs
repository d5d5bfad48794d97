//! Test support for Tenantry.
//!
//! - [`TestDb`]: a database of its own for each test: a temporary SQLite file, or a fresh
//!   PostgreSQL database (when `TENANTRY_TEST_DATABASE_URL` names a server) dropped afterwards.
//! - [`TestApp`]: the real server on a free loopback port over such a database, with a manual
//!   clock, a backend API key, and request helpers that assert the status of every call.
//! - [`engine_tests!`]: runs each named `async fn(Engine)` once per engine.
//!
//! Test code: panics are the point here, so `expect` with a message is used freely.

mod app;
mod db;
pub mod peers;

pub use app::{expect_status, test_password_config, TestApp};
pub use db::{postgres_url, TestDb};
pub use tenantry_store::Engine;

/// Whether the tests run under CI: `CI` is set to anything but empty, `0` or `false` (CI systems
/// set `CI=true`; `.ci/run` runs under it). Under CI a missing peer (PostgreSQL, a Python module, a
/// command such as `xmlsec1`) fails the test that needs it instead of skipping it, so a green run
/// means every test ran.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim().to_ascii_lowercase().as_str(), "" | "0" | "false"))
}

/// For each `name`, generates `mod name { sqlite, postgres }` tests calling `name(Engine::…)`.
///
/// The PostgreSQL variant needs `TENANTRY_TEST_DATABASE_URL`. Without it, it reports itself
/// skipped, except under CI ([`under_ci`]), where a missing PostgreSQL is a failure.
#[macro_export]
macro_rules! engine_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::Engine::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::postgres_url().is_some() {
                        super::$name($crate::Engine::Postgres).await
                    } else {
                        eprintln!("skipped: set TENANTRY_TEST_DATABASE_URL to run on PostgreSQL");
                    }
                }
            }
        )*
    };
}
