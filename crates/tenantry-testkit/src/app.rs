//! A real Tenantry server on a free port, for end-to-end tests.

use std::sync::Arc;

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tenantry_app::{Actor, App, Ctx};
use tenantry_auth::MasterKey;
use tenantry_core::ManualClock;
use tenantry_server::{Config, MailSettings, PasswordConfig, Running};
use tenantry_store::Engine;

use crate::TestDb;

/// A running server with its own database, a manual clock and a backend API key.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    /// A live backend API key.
    pub api_key: String,
    pub config: Config,
    running: Running,
    db: TestDb,
}

/// Cheap Argon2 parameters: the tests exercise the flows, not the cost.
pub fn test_password_config() -> PasswordConfig {
    PasswordConfig { memory_kib: 1024, iterations: 1, parallelism: 1, ..PasswordConfig::default() }
}

impl TestApp {
    /// Starts a server on `engine` with the default test configuration.
    pub async fn spawn(engine: Engine) -> TestApp {
        Self::spawn_with(engine, |_| {}).await
    }

    /// Starts a server on `engine`, letting `configure` adjust the configuration first.
    pub async fn spawn_with(engine: Engine, configure: impl FnOnce(&mut Config)) -> TestApp {
        let db = TestDb::new(engine).await;
        let mut config = Config {
            database_url: db.url().to_owned(),
            listen: "127.0.0.1:0".parse().expect("loopback address"),
            password: test_password_config(),
            master_key: Some(MasterKey::generate().to_base64().to_string()),
            // Tests read queued mail from the database; a test that wants delivery turns this on.
            workers_enabled: false,
            mail: MailSettings {
                outbox_dir: db.scratch_dir().join("mail").display().to_string(),
                ..MailSettings::default()
            },
            ..Config::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let base = format!("http://{}", listener.local_addr().expect("bound address"));
        config.public_url = base.clone();
        // Test receivers listen on 127.0.0.1; production refuses such webhook targets.
        config.webhooks.allow_private_targets = true;
        // `/metrics` on a free port of its own (see `metrics`), never the shared default 9090.
        config.http.management_listen = "127.0.0.1:0".parse().expect("loopback address");
        configure(&mut config);
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let running = tenantry_server::start_on(config.clone(), listener, clock.clone()).await.expect("server starts");
        let api_key = running
            .app
            .create_api_key(&Ctx::new(Actor::System), "test")
            .await
            .expect("API key")
            .secret
            .expose()
            .to_owned();
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        TestApp { base, client, clock, api_key, config, running, db }
    }

    /// The use cases behind the server, for arranging state and inspecting the database.
    pub fn app(&self) -> &App {
        &self.running.app
    }

    pub fn engine(&self) -> Engine {
        self.db.engine()
    }

    /// The server's time, as unix seconds.
    pub fn clock_now(&self) -> i64 {
        tenantry_core::Clock::now(&*self.clock).timestamp()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The public listener's address, for raw TCP clients.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.running.addr
    }

    /// The management listener's address (`/metrics`), unless the test turned it off.
    pub fn management_addr(&self) -> Option<std::net::SocketAddr> {
        self.running.management_addr
    }

    /// `http://MANAGEMENT_ADDR{path}`.
    pub fn management_url(&self, path: &str) -> String {
        format!("http://{}{}", self.management_addr().expect("the management listener is on"), path)
    }

    /// The Prometheus text of `/metrics`, from the management listener.
    pub async fn metrics(&self) -> String {
        let resp = self.client.get(self.management_url("/metrics")).send().await.expect("GET /metrics");
        assert_eq!(resp.status(), StatusCode::OK, "GET /metrics on the management listener");
        resp.text().await.expect("metrics text")
    }

    /// Sends a request with the backend API key and asserts the status. Returns the JSON body
    /// (`Value::Null` when empty).
    pub async fn backend(&self, method: Method, path: &str, body: Option<Value>, expected: u16) -> Value {
        let mut req = self.client.request(method.clone(), self.url(path)).bearer_auth(&self.api_key);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request sent");
        expect_status(resp, &format!("{method} {path}"), expected).await
    }

    /// `GET` with the backend key.
    pub async fn get(&self, path: &str, expected: u16) -> Value {
        self.backend(Method::GET, path, None, expected).await
    }

    /// `POST` of a JSON body with the backend key.
    pub async fn post(&self, path: &str, body: Value, expected: u16) -> Value {
        self.backend(Method::POST, path, Some(body), expected).await
    }

    /// `PATCH` of a JSON body with the backend key.
    pub async fn patch(&self, path: &str, body: Value, expected: u16) -> Value {
        self.backend(Method::PATCH, path, Some(body), expected).await
    }

    /// `DELETE` with the backend key.
    pub async fn delete(&self, path: &str, expected: u16) -> Value {
        self.backend(Method::DELETE, path, None, expected).await
    }

    /// Stops the server and waits for it to drain.
    pub async fn stop(self) {
        self.running.shutdown.cancel();
        let _ = self.running.task.await;
    }
}

/// Asserts `resp` has status `expected`; on a mismatch the panic shows the body. Error bodies
/// must be problem+json.
pub async fn expect_status(resp: reqwest::Response, what: &str, expected: u16) -> Value {
    let status = resp.status();
    let content_type =
        resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = resp.text().await.expect("response body");
    assert_eq!(status, StatusCode::from_u16(expected).expect("status"), "{what}: unexpected status; body: {text}");
    if status.is_client_error() || status.is_server_error() {
        assert_eq!(content_type, "application/problem+json", "{what}: error bodies are problem+json");
    }
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: body is not JSON ({e}): {text}"))
    }
}
