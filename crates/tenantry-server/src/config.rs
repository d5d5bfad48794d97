//! Configuration: built-in defaults, then an optional TOML file, then `TENANTRY_*` environment
//! variables (nested keys with `__`, e.g. `TENANTRY_PASSWORD__MIN_LENGTH`). Validated once into a
//! typed [`Config`] that is passed explicitly; nothing reads the environment later.
//! `tenantry.example.toml` at the repository root is the commented reference.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{bail, Context};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Argon2id and length rules for passwords.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordConfig {
    /// Minimum length in characters (NIST SP 800-63B: at least 8).
    pub min_length: usize,
    /// Argon2id memory in KiB.
    pub memory_kib: u32,
    /// Argon2id passes.
    pub iterations: u32,
    /// Argon2id lanes.
    pub parallelism: u32,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        PasswordConfig { min_length: 8, memory_kib: 19 * 1024, iterations: 2, parallelism: 1 }
    }
}

/// Everything the server reads at start-up.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `sqlite://path` (created if missing) or `postgres://user:pass@host/db`.
    pub database_url: String,
    /// Pool size; about 8 suits PostgreSQL on a 2-core machine.
    pub database_max_connections: u32,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The URL users reach Tenantry at; links in emails and token issuers use it, never the
    /// request's `Host` header.
    pub public_url: String,
    pub log_format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `tenantry=debug,info`.
    pub log_level: String,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// The HTTP edge: slow-client timeouts, the connection cap, trusted proxies, allowed origins
    /// and the management listener.
    pub http: HttpConfig,
    pub password: PasswordConfig,
    /// Base64 of 32 bytes that seal secrets at rest (signing keys). Never stored in the database.
    /// When unset, `master_key_file` is read, or created with a fresh key on first start.
    pub master_key: Option<String>,
    pub master_key_file: String,
    /// Whether people may create their own accounts through `/api/v1/signup`.
    pub signup_enabled: bool,
    /// Sign-ups one source address may make before each further one waits (30 s, doubling up to
    /// an hour); its count starts over after an hour without a sign-up from it.
    pub signup_limit_per_ip: u32,
    /// Access token lifetime in seconds.
    pub access_token_ttl_secs: i64,
    /// A session's absolute lifetime in seconds: sign in again after it, however active.
    pub session_lifetime_secs: i64,
    /// A session unused for this many seconds ends.
    pub session_idle_timeout_secs: i64,
    /// Run the background workers (mail and webhook delivery) in this process.
    pub workers_enabled: bool,
    pub mail: MailSettings,
    pub orgs: OrgsConfig,
    pub webhooks: WebhooksConfig,
    pub housekeeping: HousekeepingConfig,
    pub mfa: MfaConfig,
    pub pages: PagesConfig,
}

/// The HTTP edge (README, "Security"): how long a client may take to send a request, how many
/// connections are served at once, which peers may say who the client is, which other origins
/// may use the session cookie, and where `/metrics` is served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// The most a client may take to send a request's line and headers, in milliseconds; then
    /// the connection is closed. Also how long an idle keep-alive connection is kept (HTTP/1).
    pub header_read_timeout_ms: u64,
    /// The most a client may take to send a request's body, in milliseconds; then it gets a
    /// `408 request-timeout` and the connection is closed.
    pub body_read_timeout_ms: u64,
    /// The most connections served at once on the public listener; further ones wait in the
    /// operating system's queue until one closes.
    pub max_connections: usize,
    /// Proxies (CIDRs, e.g. `10.0.0.0/8`, `2001:db8::/32`, or single addresses) whose
    /// `X-Forwarded-For` (else `Forwarded`) names the client. Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<String>,
    /// Origins besides `public_url`'s own (`https://app.example.com`) whose pages may make
    /// state-changing requests with the session cookie.
    pub allowed_origins: Vec<String>,
    /// Serve `/metrics` on `management_listen`. When off, `/metrics` is not served at all.
    pub management_enabled: bool,
    /// The management address, for `/metrics` only; keep it off the public network.
    pub management_listen: SocketAddr,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout_ms: 30_000,
            body_read_timeout_ms: 30_000,
            max_connections: 4096,
            trusted_proxies: Vec::new(),
            allowed_origins: Vec::new(),
            management_enabled: true,
            management_listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
        }
    }
}

/// Webhook delivery (docs/design.md §5, docs/security.md §11–12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Allow endpoints on loopback, private, link-local and metadata addresses. Never in
    /// production: it lets API callers reach the machine's own network. For tests and local setups.
    pub allow_private_targets: bool,
    /// The most one delivery attempt may take, in milliseconds (connect, send, first 1 KiB of the answer).
    pub timeout_ms: u64,
    /// How long a rotated-out secret keeps signing beside the new one, in seconds.
    pub secret_overlap_secs: i64,
    /// How long an endpoint may fail without a single success before it is disabled, in seconds.
    pub disable_after_failing_secs: i64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            allow_private_targets: false,
            timeout_ms: 15_000,
            secret_overlap_secs: 24 * 3600,
            disable_after_failing_secs: 5 * 24 * 3600,
        }
    }
}

/// Background upkeep (README, "Housekeeping"): the sweeper, which one node at a time runs when
/// `workers_enabled` is set, and the reload of every node's API-key cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HousekeepingConfig {
    /// Seconds between sweeps (expired sessions and tokens, idle throttles, old webhook messages).
    pub interval_secs: u64,
    /// How long delivered webhook messages and their attempts are kept, in seconds.
    pub webhook_retention_secs: i64,
    /// Rows removed per statement.
    pub batch_size: u32,
    /// Seconds between full reloads of a node's API-key cache, the safety net behind the
    /// revocation notifications (and the only way another SQLite process hears of one).
    pub api_key_reload_secs: u64,
}

impl Default for HousekeepingConfig {
    fn default() -> Self {
        HousekeepingConfig {
            interval_secs: 60,
            webhook_retention_secs: 7 * 24 * 3600,
            batch_size: 1000,
            api_key_reload_secs: 30,
        }
    }
}

/// Which orgs an access token lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TokenOrgsMode {
    /// Every org of the user, up to `token_max_orgs`.
    #[default]
    All,
    /// Only the org the session has selected.
    Active,
}

/// Organizations (docs/design.md §4.10–4.11). The word for "Organization" is `mail.org_word`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrgsConfig {
    /// Whether users may create organizations themselves.
    pub users_can_create: bool,
    /// Whether every user must belong to an organization (sign-in then asks to create or join one).
    pub require_membership: bool,
    /// Whether each new user gets a personal organization at signup.
    pub personal_org_at_signup: bool,
    /// The most organizations one user may belong to; unset is no cap.
    pub max_orgs_per_user: Option<u32>,
    /// Invitation lifetime in hours.
    pub invite_ttl_hours: i64,
    /// How long an ownership transfer waits for the owner's confirmation, in hours.
    pub transfer_ttl_hours: i64,
    pub token_orgs: TokenOrgsMode,
    /// The most organizations an access token lists.
    pub token_max_orgs: u32,
    /// The role hierarchy, additional roles and app permissions; unset: Owner > Admin > Member >
    /// Viewer. Once set through the backend API, the stored roles win.
    pub roles: Option<tenantry_app::roles::RolesSpec>,
}

impl Default for OrgsConfig {
    fn default() -> Self {
        OrgsConfig {
            users_can_create: true,
            require_membership: false,
            personal_org_at_signup: false,
            max_orgs_per_user: None,
            invite_ttl_hours: 24 * 7,
            transfer_ttl_hours: 24,
            token_orgs: TokenOrgsMode::All,
            token_max_orgs: 25,
            roles: None,
        }
    }
}

/// The hosted pages' branding (README, "Hosted pages"). The product name and the org word are
/// `mail.product_name` and `mail.org_word`, shared with the emails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PagesConfig {
    /// Serve the hosted pages (sign-in, sign-up, orgs, account) at `/`.
    pub enabled: bool,
    /// A logo shown on every page: an https URL or a path on this origin.
    pub logo_url: Option<String>,
    /// The primary colour of buttons and links, `#rgb` or `#rrggbb`.
    pub primary_color: String,
    /// Shown in the pages' footer as the address to ask for help.
    pub support_email: Option<String>,
    /// The strings file, `hosted-pages/strings/<language>.json`.
    pub language: String,
    /// Where a person lands after signing in when no `return_to` says otherwise: a path on this
    /// origin or a URL on an allowed origin (`http.allowed_origins`).
    pub home_url: String,
}

impl Default for PagesConfig {
    fn default() -> Self {
        PagesConfig {
            enabled: true,
            logo_url: None,
            primary_color: "#4f46e5".into(),
            support_email: None,
            language: "en".into(),
            home_url: "/orgs".into(),
        }
    }
}

/// Two-factor authentication (docs/design.md §3, §4.14).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MfaConfig {
    /// Whether an org's Owner (or the backend API) may require 2FA of its members.
    pub orgs_may_require: bool,
    /// Every user must have 2FA to act in any org, as if every org required it at once.
    pub require_for_everyone: bool,
    /// How often the job that emails members about their orgs' 2FA requirements runs (one node
    /// at a time), in seconds.
    pub notifier_interval_secs: u64,
}

impl Default for MfaConfig {
    fn default() -> Self {
        MfaConfig { orgs_may_require: true, require_for_everyone: false, notifier_interval_secs: 300 }
    }
}

/// Outgoing email.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailSettings {
    /// `smtp://user:pass@host:587?tls=required`, `smtps://…`, or unset to write `.eml` files.
    pub smtp_url: Option<String>,
    pub from: String,
    /// Where messages go when no SMTP server is configured.
    pub outbox_dir: String,
    /// The product name shown in every email.
    pub product_name: String,
    /// The deployment's word for an organization (Team, Workspace, …).
    pub org_word: String,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            smtp_url: None,
            from: "Tenantry <no-reply@localhost>".into(),
            outbox_dir: "data/mail".into(),
            product_name: "Tenantry".into(),
            org_word: "Organization".into(),
        }
    }
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("smtp_url", &self.smtp_url.as_deref().map(tenantry_store::redact_url))
            .field("from", &self.from)
            .field("outbox_dir", &self.outbox_dir)
            .field("product_name", &self.product_name)
            .field("org_word", &self.org_word)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://data/tenantry.db".into(),
            database_max_connections: 8,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://localhost:8080".into(),
            log_format: LogFormat::Text,
            log_level: "info".into(),
            body_limit_bytes: 1024 * 1024,
            http: HttpConfig::default(),
            password: PasswordConfig::default(),
            master_key: None,
            master_key_file: "data/master.key".into(),
            signup_enabled: true,
            signup_limit_per_ip: 20,
            access_token_ttl_secs: 900,
            session_lifetime_secs: 30 * 24 * 3600,
            session_idle_timeout_secs: 7 * 24 * 3600,
            workers_enabled: true,
            mail: MailSettings::default(),
            orgs: OrgsConfig::default(),
            webhooks: WebhooksConfig::default(),
            housekeeping: HousekeepingConfig::default(),
            mfa: MfaConfig::default(),
            pages: PagesConfig::default(),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &tenantry_store::redact_url(&self.database_url))
            .field("database_max_connections", &self.database_max_connections)
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("log_format", &self.log_format)
            .field("log_level", &self.log_level)
            .field("body_limit_bytes", &self.body_limit_bytes)
            .field("http", &self.http)
            .field("password", &self.password)
            .field("master_key", &self.master_key.as_ref().map(|_| "<redacted>"))
            .field("master_key_file", &self.master_key_file)
            .field("signup_enabled", &self.signup_enabled)
            .field("signup_limit_per_ip", &self.signup_limit_per_ip)
            .field("access_token_ttl_secs", &self.access_token_ttl_secs)
            .field("session_lifetime_secs", &self.session_lifetime_secs)
            .field("session_idle_timeout_secs", &self.session_idle_timeout_secs)
            .field("workers_enabled", &self.workers_enabled)
            .field("mail", &self.mail)
            .field("orgs", &self.orgs)
            .field("webhooks", &self.webhooks)
            .field("housekeeping", &self.housekeeping)
            .finish()
    }
}

impl Config {
    /// Loads defaults, then `file` (if given), then the environment, and validates.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                bail!("configuration file {} does not exist", file.display());
            }
            figment = figment.merge(Toml::file(file));
        }
        let config: Config = figment
            .merge(Env::prefixed("TENANTRY_").split("__").ignore(&["config", "test_database_url", "smtp_url"]))
            // The documented short form of `TENANTRY_MAIL__SMTP_URL`.
            .merge(Env::raw().only(&["TENANTRY_SMTP_URL"]).map(|_| "mail.smtp_url".into()))
            .extract()
            .context("invalid configuration")?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        if tenantry_store::Engine::of_url(&self.database_url).is_none() {
            bail!("database_url must start with sqlite:// or postgres://");
        }
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            bail!("public_url must be an http:// or https:// URL");
        }
        if self.database_max_connections == 0 {
            bail!("database_max_connections must be at least 1");
        }
        if self.password.min_length < 8 {
            bail!("password.min_length must be at least 8 (NIST SP 800-63B)");
        }
        if !(1..=100_000).contains(&self.signup_limit_per_ip) {
            bail!("signup_limit_per_ip must be between 1 and 100000");
        }
        if !(60..=3600).contains(&self.access_token_ttl_secs) {
            bail!("access_token_ttl_secs must be between 60 and 3600");
        }
        if !(3600..=30 * 24 * 3600).contains(&self.session_lifetime_secs) {
            bail!("session_lifetime_secs must be between 3600 (an hour) and 2592000 (30 days)");
        }
        if !(300..=self.session_lifetime_secs).contains(&self.session_idle_timeout_secs) {
            bail!("session_idle_timeout_secs must be at least 300 and at most session_lifetime_secs");
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log_level).is_err() {
            bail!("log_level is not a valid filter (e.g. `info` or `tenantry=debug,info`)");
        }
        if self.body_limit_bytes < 1024 {
            bail!("body_limit_bytes must be at least 1024");
        }
        self.http.validate()?;
        if !(1..=24 * 90).contains(&self.orgs.invite_ttl_hours)
            || !(1..=24 * 30).contains(&self.orgs.transfer_ttl_hours)
        {
            bail!("orgs.invite_ttl_hours must be 1 to 2160 and orgs.transfer_ttl_hours 1 to 720");
        }
        if !(1..=1000).contains(&self.orgs.token_max_orgs) {
            bail!("orgs.token_max_orgs must be between 1 and 1000");
        }
        if !(100..=60_000).contains(&self.webhooks.timeout_ms) {
            bail!("webhooks.timeout_ms must be between 100 and 60000");
        }
        if !(0..=30 * 24 * 3600).contains(&self.webhooks.secret_overlap_secs) {
            bail!("webhooks.secret_overlap_secs must be between 0 and 2592000 (30 days)");
        }
        if !(60..=365 * 24 * 3600).contains(&self.webhooks.disable_after_failing_secs) {
            bail!("webhooks.disable_after_failing_secs must be between 60 and 31536000 (a year)");
        }
        let h = &self.housekeeping;
        if !(1..=24 * 3600).contains(&h.interval_secs) || !(1..=10_000).contains(&h.batch_size) {
            bail!("housekeeping.interval_secs must be 1 to 86400 and housekeeping.batch_size 1 to 10000");
        }
        if !(3600..=10 * 365 * 24 * 3600).contains(&h.webhook_retention_secs) {
            bail!("housekeeping.webhook_retention_secs must be between 3600 and 315360000 (ten years)");
        }
        if !(1..=3600).contains(&h.api_key_reload_secs) {
            bail!("housekeeping.api_key_reload_secs must be between 1 and 3600");
        }
        if !tenantry_pages::Branding::check_color(&self.pages.primary_color) {
            bail!("pages.primary_color must be #rgb or #rrggbb");
        }
        if let Some(logo) = &self.pages.logo_url {
            let local = logo.starts_with('/') && !logo.starts_with("//");
            if !(local || logo.starts_with("https://")) || logo.chars().any(|c| c.is_control() || c == '"') {
                bail!("pages.logo_url must be an https:// URL or a path on this origin");
            }
        }
        let origins = tenantry_api::security::TrustedOrigins::new(&self.public_url, &self.http.allowed_origins);
        if self.pages.home_url == "/" || tenantry_pages::safe_return_to(&self.pages.home_url, &origins).is_none() {
            bail!("pages.home_url must be a path on this origin other than / or a URL on an allowed origin");
        }
        if let Some(roles) = &self.orgs.roles {
            roles.build().map_err(|e| anyhow::anyhow!("orgs.roles: {}", e.detail))?;
        }
        Ok(())
    }

    /// The public URL without a trailing slash.
    pub fn public_base(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }

    /// Whether the deployment is served over https (`public_url`): then the session cookie is
    /// `__Host-` and `Secure`, and responses carry `Strict-Transport-Security`.
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

impl HttpConfig {
    fn validate(&self) -> anyhow::Result<()> {
        if !(100..=600_000).contains(&self.header_read_timeout_ms) {
            bail!("http.header_read_timeout_ms must be between 100 and 600000");
        }
        if !(100..=600_000).contains(&self.body_read_timeout_ms) {
            bail!("http.body_read_timeout_ms must be between 100 and 600000");
        }
        if self.max_connections == 0 {
            bail!("http.max_connections must be at least 1");
        }
        for cidr in &self.trusted_proxies {
            crate::proxy::Cidr::parse(cidr).map_err(|e| anyhow::anyhow!("http.trusted_proxies: {e}"))?;
        }
        for origin in &self.allowed_origins {
            if tenantry_api::security::origin_of(origin).as_deref() != Some(origin.as_str()) {
                bail!("http.allowed_origins: {origin:?} is not an origin (scheme://host[:port], no path or trailing slash)");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_debug_hides_passwords() {
        let mut c = Config::default();
        c.validate().unwrap();
        c.database_url = "postgres://tenantry:hunter2@db/tenantry".into();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail closure returns figment's own error type.
    fn file_then_env() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("t.toml", "listen = \"0.0.0.0:9000\"\n[password]\nmin_length = 12\n")?;
            jail.set_env("TENANTRY_PUBLIC_URL", "https://auth.example.com");
            jail.set_env("TENANTRY_PASSWORD__MIN_LENGTH", "15");
            jail.set_env("TENANTRY_SMTP_URL", "smtp://mail.example.com:587?tls=required");
            let c = Config::load(Some(Path::new("t.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(c.listen.port(), 9000);
            assert_eq!(c.public_url, "https://auth.example.com");
            assert_eq!(c.password.min_length, 15, "the environment wins over the file");
            assert_eq!(c.mail.smtp_url.as_deref(), Some("smtp://mail.example.com:587?tls=required"));
            Ok(())
        });
    }

    #[test]
    fn bad_values_are_refused() {
        let c = Config { database_url: "mysql://x".into(), ..Config::default() };
        assert!(c.validate().is_err());
        let c = Config { password: PasswordConfig { min_length: 6, ..PasswordConfig::default() }, ..Config::default() };
        assert!(c.validate().is_err());
        let c = Config { signup_limit_per_ip: 0, ..Config::default() };
        assert!(c.validate().is_err(), "a sign-up limit of 0 would refuse every sign-up");
    }
}
