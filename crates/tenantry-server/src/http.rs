//! The HTTP shell around the APIs: request ids, access logs, metrics, problem+json for every
//! framework error, security headers, the body limit, and the plain operational routes.

use std::sync::Arc;
use std::time::Instant;

use poem::http::{header, HeaderValue, Method, StatusCode};
use poem::middleware::CatchPanic;
use poem::web::Data;
use poem::{handler, Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::OperationId;
use tenantry_api::security::RequestId;
use tenantry_api::ApiError;
use tenantry_app::App;
use tenantry_webhooks::WebhookMetrics;
use tracing::Instrument;

use crate::metrics::HttpMetrics;

pub const REQUEST_ID: &str = "x-request-id";

/// Everything served, with the shell around it.
pub fn routes(
    app: App,
    metrics: Arc<HttpMetrics>,
    webhook_metrics: Option<Arc<WebhookMetrics>>,
    body_limit: usize,
) -> impl Endpoint {
    let api = tenantry_api::openapi_service();
    let docs = api.swagger_ui();
    let spec = tenantry_api::openapi_json();
    let inner = Route::new()
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
        .at("/metrics", poem::get(metrics_text))
        .data(app.clone())
        .data(metrics.clone())
        .data(WebhookCounters(webhook_metrics));
    let inner = inner.with(CatchPanic::new().with_handler(|_| {
        tracing::error!("a request handler panicked");
        ApiError::internal().into_response()
    }));
    inner.around(move |ep, req| shell(ep, req, app.clone(), metrics.clone(), body_limit))
}

/// A route label for requests that are not OpenAPI operations.
fn plain_route(path: &str) -> &'static str {
    match path {
        "/healthz" => "healthz",
        "/readyz" => "readyz",
        "/metrics" => "metrics",
        "/openapi.json" => "openapi",
        "/.well-known/jwks.json" => "jwks",
        "/.well-known/openid-configuration" => "discovery",
        p if p.starts_with("/docs") => "docs",
        _ => "other",
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

/// Refuses a body over `limit` bytes: at once when `Content-Length` says so, otherwise (chunked)
/// by reading at most `limit` bytes before the handler sees it.
async fn limit_body(req: &mut Request, limit: usize) -> Result<(), ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            format!("The request body is larger than {limit} bytes."),
        )
    };
    if let Some(len) = req.headers().get(header::CONTENT_LENGTH) {
        let len: usize = len.to_str().ok().and_then(|v| v.parse().ok()).ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "bad-request", "The Content-Length header is not a number.")
        })?;
        return if len > limit { Err(too_large()) } else { Ok(()) };
    }
    if req.headers().contains_key(header::TRANSFER_ENCODING) {
        let body = req.take_body().into_bytes_limit(limit).await.map_err(|e| match e {
            poem::error::ReadBodyError::PayloadTooLarge => too_large(),
            other => ApiError::new(StatusCode::BAD_REQUEST, "bad-request", other.to_string()),
        })?;
        req.set_body(body);
    }
    Ok(())
}

async fn shell<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    app: App,
    metrics: Arc<HttpMetrics>,
    body_limit: usize,
) -> poem::Result<Response> {
    let started = Instant::now();
    let id = request_id(&req);
    req.set_data(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("request", request_id = %id, method = %method, path = %path);
    let result = match limit_body(&mut req, body_limit).await {
        Ok(()) => ep.call(req).instrument(span.clone()).await,
        Err(e) => Err(e.into()),
    };
    let (mut resp, operation) = match result {
        Ok(resp) => {
            let resp = resp.into_response();
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
    if !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) && path.starts_with("/api/") {
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
    let status = resp.status();
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
