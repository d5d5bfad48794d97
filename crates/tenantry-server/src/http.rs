//! The HTTP shell around the APIs: request ids, access logs, metrics, problem+json for every
//! framework error, security headers, the body limit and read timeout, NUL characters refused,
//! the client's address behind trusted proxies, and the plain operational routes. `/metrics` is
//! served on the management listener only ([`management_routes`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use poem::http::{header, HeaderValue, Method, StatusCode};
use poem::middleware::CatchPanic;
use poem::web::Data;
use poem::{handler, Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::OperationId;
use tenantry_api::security::{ClientIp, RequestId, TrustedOrigins};
use tenantry_api::ApiError;
use tenantry_app::App;
use tenantry_webhooks::WebhookMetrics;
use tracing::Instrument;

use crate::metrics::HttpMetrics;
use crate::proxy::TrustedProxies;
use crate::Config;

pub const REQUEST_ID: &str = "x-request-id";

/// What the shell does to every request, from the configuration.
#[derive(Debug, Clone)]
pub struct Shell {
    body_limit: usize,
    body_timeout: Duration,
    proxies: TrustedProxies,
    origins: TrustedOrigins,
    /// `Strict-Transport-Security` on every answer: the deployment is served over https.
    hsts: bool,
    /// The hosted pages, unless `pages.enabled` is off.
    pages: Option<tenantry_pages::Pages>,
}

/// One year: browsers then reach the deployment only over https, even from a typed `http://` link.
const HSTS: &str = "max-age=31536000";

impl Shell {
    pub fn new(config: &Config) -> Result<Shell, String> {
        Ok(Shell {
            body_limit: config.body_limit_bytes,
            body_timeout: Duration::from_millis(config.http.body_read_timeout_ms),
            proxies: TrustedProxies::parse(&config.http.trusted_proxies)
                .map_err(|e| format!("http.trusted_proxies: {e}"))?,
            origins: TrustedOrigins::new(&config.public_url, &config.http.allowed_origins),
            hsts: config.is_https(),
            pages: config
                .pages
                .enabled
                .then(|| tenantry_pages::Pages::new(branding(config), &config.http.allowed_origins))
                .transpose()?,
        })
    }
}

/// The hosted pages' branding from the configuration.
fn branding(config: &Config) -> tenantry_pages::Branding {
    tenantry_pages::Branding {
        product_name: config.mail.product_name.clone(),
        org_word: config.mail.org_word.clone(),
        logo_url: config.pages.logo_url.clone(),
        primary_color: config.pages.primary_color.clone(),
        support_email: config.pages.support_email.clone(),
        language: config.pages.language.clone(),
        home_url: config.pages.home_url.clone(),
    }
}

/// Everything served on the public listener, with the shell around it.
pub fn routes(app: App, metrics: Arc<HttpMetrics>, shell: Shell) -> impl Endpoint {
    let api = tenantry_api::openapi_service();
    let docs = api.swagger_ui();
    let spec = tenantry_api::openapi_json();
    let mut inner = Route::new();
    if let Some(pages) = &shell.pages {
        inner = inner.nest("/", tenantry_pages::routes(pages.clone()));
    }
    let inner = inner
        .nest_no_strip("/api", api)
        .at(
            "/openapi.json",
            poem::endpoint::make_sync(move |_| Response::builder().content_type("application/json").body(spec.clone())),
        )
        .nest("/docs", docs)
        .at("/.well-known/jwks.json", poem::get(jwks))
        .at("/.well-known/openid-configuration", poem::get(discovery))
        .at("/healthz", poem::get(healthz))
        .at("/readyz", poem::get(readyz))
        .data(app.clone())
        .data(shell.origins.clone());
    let inner = inner.with(CatchPanic::new().with_handler(|_| {
        tracing::error!("a request handler panicked");
        ApiError::internal().into_response()
    }));
    let shell = Arc::new(shell);
    inner.around(move |ep, req| serve_request(ep, req, app.clone(), metrics.clone(), shell.clone()))
}

/// The management listener's routes: `/metrics`, and nothing else (README, "Operations").
pub fn management_routes(
    app: App,
    metrics: Arc<HttpMetrics>,
    webhook_metrics: Option<Arc<WebhookMetrics>>,
) -> impl Endpoint {
    Route::new()
        .at("/metrics", poem::get(metrics_text))
        .data(app)
        .data(metrics)
        .data(WebhookCounters(webhook_metrics))
        .catch_all_error(|err| async move { ApiError::from_poem(&err).into_response() })
}

/// A route label for requests that are not OpenAPI operations.
fn plain_route(path: &str) -> &'static str {
    match path {
        "/healthz" => "healthz",
        "/readyz" => "readyz",
        "/openapi.json" => "openapi",
        "/.well-known/jwks.json" => "jwks",
        "/.well-known/openid-configuration" => "discovery",
        p if p.starts_with("/docs") => "docs",
        p if p.starts_with("/api/") => "other",
        _ => "pages",
    }
}

/// The method as a metrics label; anything unusual is `OTHER`, so clients cannot grow the label set.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// A client's request id is kept if it is short and plain; otherwise a fresh one is made.
fn request_id(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

/// Reads the body before the handler sees it: refuses one over `limit` bytes (at once when
/// `Content-Length` says so), one that takes longer than `timeout` to arrive (`408`, and the
/// connection is closed: README, "Security"), and a JSON body with a NUL character in it.
async fn read_body(req: &mut Request, limit: usize, timeout: Duration) -> Result<(), ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            format!("The request body is larger than {limit} bytes."),
        )
    };
    let declared = match req.headers().get(header::CONTENT_LENGTH) {
        Some(len) => Some(len.to_str().ok().and_then(|v| v.parse::<usize>().ok()).ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "bad-request", "The Content-Length header is not a number.")
        })?),
        None => None,
    };
    match declared {
        Some(len) if len > limit => return Err(too_large()),
        Some(0) => return Ok(()),
        None if !req.headers().contains_key(header::TRANSFER_ENCODING) => return Ok(()),
        _ => {}
    }
    let body = match tokio::time::timeout(timeout, req.take_body().into_bytes_limit(limit)).await {
        Ok(Ok(body)) => body,
        Ok(Err(poem::error::ReadBodyError::PayloadTooLarge)) => return Err(too_large()),
        Ok(Err(other)) => return Err(ApiError::new(StatusCode::BAD_REQUEST, "bad-request", other.to_string())),
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request-timeout",
                format!("The request body did not arrive within {} ms.", timeout.as_millis()),
            ))
        }
    };
    let json =
        req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("json"));
    if json && has_json_nul(&body) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "The JSON body contains a NUL character (\\u0000); no field accepts one.",
        ));
    }
    req.set_body(body);
    Ok(())
}

/// Whether a JSON text contains the escape `\u0000`: a backslash that is not itself escaped
/// (an odd run of backslashes) followed by `u0000`. A raw NUL byte is not valid JSON and is
/// refused by the parser anyway.
fn has_json_nul(body: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (i, &b) in body.iter().enumerate() {
        if b == b'\\' {
            backslashes += 1;
            continue;
        }
        if b == b'u' && backslashes % 2 == 1 && body.get(i + 1..i + 5) == Some(b"0000") {
            return true;
        }
        backslashes = 0;
    }
    false
}

/// Refuses a path or query with a NUL character (`%00`): no identifier, slug, email or filter
/// holds one, and PostgreSQL cannot store one in text.
fn check_uri(req: &Request) -> Result<(), ApiError> {
    let uri = req.uri();
    let nul = |s: &str| s.as_bytes().windows(3).any(|w| w == b"%00");
    if nul(uri.path()) || uri.query().is_some_and(nul) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "The path or query contains a NUL character (%00); no parameter accepts one.",
        ));
    }
    Ok(())
}

async fn serve_request<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    app: App,
    metrics: Arc<HttpMetrics>,
    shell: Arc<Shell>,
) -> poem::Result<Response> {
    let started = Instant::now();
    let id = request_id(&req);
    req.set_data(RequestId(id.clone()));
    if let Some(peer) = req.remote_addr().as_socket_addr().map(|a| a.ip()) {
        req.set_data(ClientIp(shell.proxies.client_ip(peer, req.headers())));
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("request", request_id = %id, method = %method, path = %path);
    let checked = match check_uri(&req) {
        Ok(()) => read_body(&mut req, shell.body_limit, shell.body_timeout).await,
        Err(e) => Err(e),
    };
    let cors = cors_origin(&req, &shell.origins);
    let result = match checked {
        Ok(()) if cors.is_some() && is_preflight(&req) => Ok(preflight()),
        Ok(()) => ep.call(req).instrument(span.clone()).await.map(IntoResponse::into_response),
        Err(e) => Err(e.into()),
    };
    let (mut resp, operation) = match result {
        Ok(resp) => {
            let op = resp.data::<OperationId>().map(|o| o.0);
            (resp, op)
        }
        Err(err) => {
            let op = err.data::<OperationId>().map(|o| o.0);
            (ApiError::from_poem(&err).into_response(), op)
        }
    };
    // Use cases commit their webhook events before answering: a request that may have changed
    // state wakes the webhook worker, which then finds them at once (other nodes poll).
    if !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        app.wake_webhooks();
    }
    let route = operation.unwrap_or_else(|| plain_route(&path));
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert(REQUEST_ID, v);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if path.starts_with("/api/") {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if shell.hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    if let Some(origin) = cors {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    let status = resp.status();
    if status == StatusCode::REQUEST_TIMEOUT {
        // The rest of the body may still arrive, or never: this connection is done.
        resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    let elapsed = started.elapsed();
    metrics.record(method_label(&method), route, status.as_u16(), elapsed);
    span.in_scope(|| {
        let micros = elapsed.as_micros() as u64;
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), route, micros, "request failed");
        } else if method != Method::GET || !matches!(route, "healthz" | "readyz" | "metrics") {
            tracing::info!(status = status.as_u16(), route, micros, "request");
        }
    });
    Ok(resp)
}

/// The `Origin` of a request to the end-user API that CORS lets read the answer: one of
/// `http.allowed_origins` (or the deployment's own), never `*` (README, "Hosted pages"). Other
/// origins get no CORS header at all, so their scripts cannot read an answer or pass a preflight.
fn cors_origin(req: &Request, origins: &TrustedOrigins) -> Option<HeaderValue> {
    if !req.uri().path().starts_with("/api/v1/") {
        return None;
    }
    let origin = req.headers().get(header::ORIGIN)?;
    origin.to_str().ok().filter(|o| origins.allows(o)).map(|_| origin.clone())
}

/// A CORS preflight: `OPTIONS` asking with `Access-Control-Request-Method`.
fn is_preflight(req: &Request) -> bool {
    req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The answer to an allowed origin's preflight (the origin, credentials and `Vary` are added with
/// every answer to that origin): the methods and headers the end-user API takes, for ten minutes.
fn preflight() -> Response {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header(header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, PUT, PATCH, DELETE")
        .header(header::ACCESS_CONTROL_ALLOW_HEADERS, "content-type, authorization")
        .header(header::ACCESS_CONTROL_MAX_AGE, "600")
        .finish()
}

/// Liveness: the process answers. A JSON body, so it doubles as the benchmarks' no-op ceiling.
#[handler]
fn healthz() -> Response {
    Response::builder().content_type("application/json").body(r#"{"status":"ok"}"#)
}

/// Readiness: the database answers.
#[handler]
async fn readyz(app: Data<&App>) -> Response {
    match app.db().ping().await {
        Ok(()) => Response::builder().content_type("application/json").body(r#"{"status":"ready"}"#),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not-ready", "The database does not answer.").into_response()
        }
    }
}

/// The published token signing keys. Cacheable briefly: a new key is published minutes before
/// it signs.
#[handler]
async fn jwks(app: Data<&App>) -> Response {
    match app.jwks().await {
        Ok(doc) => Response::builder()
            .content_type("application/json")
            .header(header::CACHE_CONTROL, "public, max-age=60")
            .body(doc.to_string()),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// OpenID-style discovery metadata for the token issuer.
#[handler]
fn discovery(app: Data<&App>) -> Response {
    let issuer = &app.settings().auth.issuer;
    let doc = serde_json::json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "token_endpoint": format!("{issuer}/api/v1/token/refresh"),
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "token_endpoint_auth_methods_supported": ["none"],
        "grant_types_supported": ["refresh_token"],
        "response_types_supported": [],
        "subject_types_supported": ["public"],
    });
    Response::builder().content_type("application/json").body(doc.to_string())
}

/// The webhook worker's counters, when it runs in this process.
#[derive(Clone)]
struct WebhookCounters(Option<Arc<WebhookMetrics>>);

#[handler]
async fn metrics_text(app: Data<&App>, metrics: Data<&Arc<HttpMetrics>>, webhooks: Data<&WebhookCounters>) -> Response {
    let mut text = metrics.render();
    match app.webhook_queue().await {
        Ok(queue) => crate::metrics::render_webhooks(&mut text, &queue, webhooks.0 .0.as_deref()),
        Err(e) => tracing::warn!(error = %e, "could not count webhook messages for /metrics"),
    }
    crate::metrics::render_sweeper(&mut text, app.sweep_metrics());
    Response::builder().content_type("text/plain; version=0.0.4").body(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_nul_escapes_are_found_and_escaped_backslashes_are_not() {
        assert!(has_json_nul(br#"{"a":"x\u0000y"}"#));
        assert!(has_json_nul(br#"{"a\u0000":1}"#));
        assert!(has_json_nul(br#"["\\\u0000"]"#), "an escaped backslash, then the escape");
        assert!(!has_json_nul(br#"{"a":"x\\u0000y"}"#), "a backslash, then the text u0000");
        assert!(!has_json_nul(br#"{"a":"\u0001"}"#));
        assert!(!has_json_nul(br#"{"a":"\u0020"}"#));
        assert!(!has_json_nul(b"{}"));
    }

    #[test]
    fn cors_answers_allowed_origins_on_the_end_user_api_only() {
        let origins = TrustedOrigins::new("https://auth.example.com", &["https://app.example.com".into()]);
        let req = |path: &str, origin: &str| Request::builder().uri_str(path).header("origin", origin).finish();
        let allowed = cors_origin(&req("/api/v1/session/token", "https://app.example.com"), &origins);
        assert_eq!(allowed.as_ref().and_then(|v| v.to_str().ok()), Some("https://app.example.com"));
        assert!(cors_origin(&req("/api/v1/session/token", "https://evil.example"), &origins).is_none());
        assert!(cors_origin(&req("/api/v1/session/token", "null"), &origins).is_none());
        assert!(cors_origin(&req("/api/backend/v1/users", "https://app.example.com"), &origins).is_none());
        assert!(cors_origin(&req("/sign-in", "https://app.example.com"), &origins).is_none());
        assert!(cors_origin(&Request::builder().uri_str("/api/v1/me").finish(), &origins).is_none());
        let pre = Request::builder()
            .method(Method::OPTIONS)
            .uri_str("/api/v1/me")
            .header("access-control-request-method", "POST")
            .finish();
        assert!(is_preflight(&pre));
        assert!(!is_preflight(&Request::builder().method(Method::OPTIONS).uri_str("/api/v1/me").finish()));
    }

    #[test]
    fn nul_in_path_or_query_is_refused() {
        let req = |uri: &str| Request::builder().uri_str(uri).finish();
        assert!(check_uri(&req("/api/backend/v1/orgs/by-slug/a%00b")).is_err());
        assert!(check_uri(&req("/api/backend/v1/orgs?name_prefix=%00")).is_err());
        assert!(check_uri(&req("/api/backend/v1/orgs?name_prefix=%2500")).is_ok(), "the text %00");
        assert!(check_uri(&req("/api/backend/v1/orgs?name_prefix=a%20b")).is_ok());
    }
}
