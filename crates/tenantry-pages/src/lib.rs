//! The hosted pages: sign-in, sign-up, the emailed links, organizations and the account, as
//! server-rendered HTML on the deployment's own origin (ARCHITECTURE.md, `tenantry-pages`).
//!
//! A page is one template under `hosted-pages/pages/` and one handler that calls the same `App`
//! use case as the end-user API, with a `Ctx` built the same way: no rule is written here. Every
//! flow works without JavaScript; every POST carries a CSRF token bound to the session (or, before
//! sign-in, to a pre-session cookie) and must come from a trusted origin; every POST answers with
//! a redirect on success (post/redirect/get).

// A handler's early answer is an `Err(Response)`: the page itself, returned as is. Boxing it would
// only add an allocation to every refusal.
#![allow(clippy::result_large_err)]

#[macro_use]
mod macros;
mod account;
mod admin;
mod admin_sso;
mod auth;
mod cookies;
mod forms;
mod invites;
mod mfa;
mod orgs;
mod redirect;
mod sso;
mod visit;

use std::sync::Arc;

use minijinja::Environment;
use poem::http::{header, HeaderValue, StatusCode};
use poem::{get, handler, Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use tenantry_templates::{Strings, Words};

pub use redirect::safe_return_to;
pub(crate) use visit::Visit;

/// How a deployment presents itself on its pages (the `[pages]` configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branding {
    pub product_name: String,
    /// `Organization`, `Team`, `Workspace`, …: used on every page, capitalised as configured.
    pub org_word: String,
    /// An image shown above each card and in the top bar (an https URL or a path on this origin).
    pub logo_url: Option<String>,
    /// The primary colour, `#rgb` or `#rrggbb` (checked by [`Branding::check_color`]).
    pub primary_color: String,
    /// Where people can ask for help; shown in the footer.
    pub support_email: Option<String>,
    /// The strings file (`hosted-pages/strings/<language>.json`).
    pub language: String,
    /// Where a person lands after signing in when no `return_to` says otherwise.
    pub home_url: String,
}

impl Branding {
    /// Whether `color` is `#rgb` or `#rrggbb`: the only forms accepted, since it is written into a
    /// style sheet.
    pub fn check_color(color: &str) -> bool {
        let hex = color.strip_prefix('#').unwrap_or("");
        (hex.len() == 3 || hex.len() == 6) && hex.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

/// The loaded pages: templates, words and branding. Built once at start-up.
#[derive(Clone)]
pub struct Pages(Arc<Inner>);

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages").field("branding", &self.0.branding).finish_non_exhaustive()
    }
}

struct Inner {
    env: Environment<'static>,
    strings: Strings,
    branding: Branding,
    brand_css: String,
    /// The pages' `Content-Security-Policy`.
    csp: HeaderValue,
    /// The same, for a page whose form leads to an IdP ([`Pages::idp_form_csp`]).
    idp_form_csp: HeaderValue,
}

impl Pages {
    /// Loads every template and the strings of the configured language; an error in any of them
    /// fails here.
    ///
    /// `return_origins` are the origins besides this one that a form's answer may redirect to
    /// (`http.allowed_origins`, where `return_to` may lead): the CSP's `form-action` lists them,
    /// since browsers apply it to the redirect after a POST too.
    pub fn new(branding: Branding, return_origins: &[String]) -> Result<Pages, String> {
        if !Branding::check_color(&branding.primary_color) {
            return Err(format!("pages.primary_color {:?} is not #rgb or #rrggbb", branding.primary_color));
        }
        let strings = Strings::load(&branding.language)?;
        let words = Words { product_name: branding.product_name.clone(), org_word: branding.org_word.clone() };
        let env =
            tenantry_templates::environment(strings.clone(), words).map_err(|e| format!("hosted pages: {e:#}"))?;
        let brand_css = format!(":root{{--primary:{}}}\n", branding.primary_color);
        let mut form_action = String::from("'self'");
        for origin in return_origins {
            let origin = tenantry_api::security::origin_of(origin)
                .ok_or_else(|| format!("http.allowed_origins: {origin:?} is not an http(s) origin"))?;
            form_action.push(' ');
            form_action.push_str(&origin);
        }
        let policy = |form_action: &str| {
            HeaderValue::from_str(&format!(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; \
                 form-action {form_action}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
            ))
            .map_err(|e| format!("hosted pages CSP: {e}"))
        };
        let csp = policy(&form_action)?;
        // Where an org's IdP may be: any https origin, or http on loopback (the SSO URLs
        // tenantry-sso accepts).
        let idp_form_csp =
            policy(&format!("{form_action} https: http://localhost:* http://127.0.0.1:* http://[::1]:*"))?;
        Ok(Pages(Arc::new(Inner { env, strings, branding, brand_css, csp, idp_form_csp })))
    }

    pub fn branding(&self) -> &Branding {
        &self.0.branding
    }

    pub(crate) fn env(&self) -> &Environment<'static> {
        &self.0.env
    }

    pub(crate) fn words(&self) -> Words {
        Words { product_name: self.0.branding.product_name.clone(), org_word: self.0.branding.org_word.clone() }
    }

    /// The text of a strings key with the deployment's words filled in; the key itself if missing
    /// (a page test renders every key it uses).
    pub(crate) fn text(&self, key: &str, args: &[(&str, String)]) -> String {
        self.0.strings.text(key, &self.words(), args).unwrap_or_else(|| key.to_owned())
    }

    pub(crate) fn has_text(&self, key: &str) -> bool {
        self.0.strings.get(key).is_some()
    }

    /// Gives `resp` the CSP of a page whose form POSTs to `/sso`, which answers with a redirect to
    /// the org's IdP: browsers check a form's redirects against the `form-action` of the page that
    /// sent it (Chromium refused the IdP under the pages' own, in tests/browser), and the IdP is
    /// not known before the person names their org.
    pub(crate) fn allow_idp_forms(&self, mut resp: Response) -> Response {
        resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, self.0.idp_form_csp.clone());
        resp
    }
}

/// Every hosted page, with the pages' security headers around them. The server mounts this at
/// `/`, beside the APIs and inside the same shell; it needs `App` and `TrustedOrigins` as request
/// data.
pub fn routes(pages: Pages) -> impl Endpoint {
    let route = sso::routes(auth::routes(Route::new()));
    let route = orgs::routes(route);
    let route = admin::routes(route);
    let route = admin_sso::routes(route);
    let route = invites::routes(route);
    let route = mfa::routes(route);
    let route = account::routes(route)
        .at("/assets/tenantry.css", get(stylesheet))
        .at("/assets/brand.css", get(brand_stylesheet))
        .at("/", get(home))
        .at("/*rest", get(not_found).post(not_found));
    let csp = pages.0.csp.clone();
    route.data(pages).around(move |ep, req| {
        let csp = csp.clone();
        async move {
            let resp = ep.call(req).await?.into_response();
            Ok(with_page_headers(resp, csp))
        }
    })
}

/// The headers every page carries (docs/security.md, hosted pages): no script or style from
/// anywhere but this origin and no inline script, never framed, never cached, and no referrer to
/// another origin (emailed links carry tokens). `same-origin`, not `no-referrer`: under
/// `no-referrer` browsers send `Origin: null` with the pages' own form POSTs, which the origin
/// check rightly refuses (Chromium did, on every form, in tests/browser).
fn with_page_headers(mut resp: Response, csp: HeaderValue) -> Response {
    let h = resp.headers_mut();
    // A page may carry a wider `form-action` of its own (`Pages::allow_idp_forms`).
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

#[handler]
fn stylesheet() -> Response {
    let css = tenantry_templates::file("static/tenantry.css").unwrap_or_default();
    Response::builder()
        .content_type("text/css; charset=utf-8")
        .header(header::CACHE_CONTROL, "public, max-age=300")
        .body(css)
}

#[handler]
fn brand_stylesheet(req: &Request) -> Response {
    let css = req.data::<Pages>().map(|p| p.0.brand_css.clone()).unwrap_or_default();
    Response::builder()
        .content_type("text/css; charset=utf-8")
        .header(header::CACHE_CONTROL, "public, max-age=300")
        .body(css)
}

/// `/`: the signed-in person's home, or the sign-in page.
#[handler]
async fn home(req: &Request) -> Response {
    let visit = match Visit::open(req).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let target = if visit.viewer().is_some() { visit.pages().branding().home_url.clone() } else { "/sign-in".into() };
    redirect::see_other(&target)
}

/// The 404 for any path that is not a page or an API: the styled page for a browser (one that
/// accepts `text/html`), problem+json for every other client, like the APIs' own 404s.
#[handler]
async fn not_found(req: &Request) -> Response {
    let wants_html =
        req.headers().get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).any(|v| v.contains("text/html"));
    if !wants_html {
        return tenantry_api::ApiError::new(StatusCode::NOT_FOUND, "not-found", "There is nothing at this address.")
            .into_response();
    }
    match Visit::open(req).await {
        Ok(visit) => visit.error_page(StatusCode::NOT_FOUND, "errors.page-not-found"),
        Err(resp) => resp,
    }
}
