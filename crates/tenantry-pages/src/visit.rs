//! One request to a page: who is looking (the session cookie), the CSRF token their forms carry,
//! the cookies the answer sets, and rendering with the layout's context.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use poem::http::{header, StatusCode};
use poem::{Body, IntoResponse, Request, Response};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tenantry_api::enduser::{SessionCookieSpec, SignedInUser};
use tenantry_api::security::{check_origin, TrustedOrigins};
use tenantry_app::sessions::Session;
use tenantry_app::users::User;
use tenantry_app::{Actor, App, AppError, Ctx};
use tenantry_auth::constant_time_eq;

use crate::cookies::{self, Cookie, Link};
use crate::forms::{Form, Refusal};
use crate::redirect::{encode, safe_return_to, see_other};
use crate::Pages;

/// The person looking at a page, signed in through the session cookie.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub user: User,
    pub session: Session,
    signed_in: SignedInUser,
}

impl Viewer {
    /// The context their actions run in.
    pub fn ctx(&self, req: &Request) -> Ctx {
        self.signed_in.ctx(req)
    }
}

/// One request to a page.
pub(crate) struct Visit<'a> {
    req: &'a Request,
    app: &'a App,
    pages: &'a Pages,
    trusted: TrustedOrigins,
    viewer: Option<Viewer>,
    /// The secret this visit's CSRF tokens are bound to: the session cookie when signed in, else
    /// the pre-session cookie.
    csrf_secret: String,
    /// The other secret a submitted token may be bound to (a form rendered before the person
    /// signed in on another tab).
    other_secret: Option<String>,
    /// `Set-Cookie` values the answer carries.
    cookies: Vec<String>,
}

impl<'a> Visit<'a> {
    /// Resolves the session cookie (a stale one is cleared) and the CSRF secret.
    pub async fn open(req: &'a Request) -> Result<Visit<'a>, Response> {
        let (Some(app), Some(pages)) = (req.data::<App>(), req.data::<Pages>()) else {
            tracing::error!("the hosted pages are mounted without App or Pages");
            return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        };
        let trusted = req
            .data::<TrustedOrigins>()
            .cloned()
            .unwrap_or_else(|| TrustedOrigins::new(&app.settings().auth.issuer, &[]));
        let spec = SessionCookieSpec::of(app);
        let https = spec.https;
        let mut cookies = Vec::new();
        let mut viewer = None;
        let session_secret = spec.read(req).filter(|v| !v.is_empty());
        if let Some(secret) = &session_secret {
            match app.session_by_cookie(secret).await {
                Ok(Some(session)) => {
                    let signed_in = SignedInUser { user_id: session.user_id, session: session.ctx() };
                    let ctx = signed_in.ctx(req);
                    match app.me(&ctx).await {
                        Ok(user) => viewer = Some(Viewer { user, session, signed_in }),
                        Err(AppError::Domain(_)) => cookies.push(spec.clear()),
                        Err(e) => return Err(failure(pages, e)),
                    }
                }
                Ok(None) => cookies.push(spec.clear()),
                Err(e) => return Err(failure(pages, e)),
            }
        }
        let csrf_cookie = Cookie::new(cookies::CSRF, https);
        let pre_session = match csrf_cookie.read(req).filter(|v| cookies::is_cookie_safe(v)) {
            Some(v) => v,
            None => {
                let fresh = URL_SAFE_NO_PAD.encode(tenantry_auth::random_bytes(32));
                cookies.push(csrf_cookie.set(&fresh, 60 * 60 * 24 * 7));
                fresh
            }
        };
        let (csrf_secret, other_secret) = match (&viewer, session_secret) {
            (Some(_), Some(s)) => (s, Some(pre_session)),
            _ => (pre_session, None),
        };
        Ok(Visit { req, app, pages, trusted, viewer, csrf_secret, other_secret, cookies })
    }

    pub fn app(&self) -> &'a App {
        self.app
    }

    pub fn pages(&self) -> &'a Pages {
        self.pages
    }

    pub fn viewer(&self) -> Option<&Viewer> {
        self.viewer.as_ref()
    }

    /// Whether the deployment is served over https.
    pub(crate) fn https(&self) -> bool {
        SessionCookieSpec::of(self.app).https
    }

    /// The signed-in viewer, or a redirect to the sign-in page that comes back here.
    pub fn require_viewer(&self) -> Result<&Viewer, Response> {
        match &self.viewer {
            Some(v) => Ok(v),
            None => {
                let here = match self.req.uri().query() {
                    Some(q) if self.req.method() == poem::http::Method::GET => {
                        format!("{}?{q}", self.req.uri().path())
                    }
                    _ => self.req.uri().path().to_owned(),
                };
                Err(self.redirect(&format!("/sign-in?return_to={}", encode(&here))))
            }
        }
    }

    /// The context an action on this page runs in: the viewer's, or an anonymous one.
    pub fn ctx(&self) -> Ctx {
        match &self.viewer {
            Some(v) => v.ctx(self.req),
            None => tenantry_api::security::ctx(self.req, Actor::Anonymous),
        }
    }

    /// The token every form of this page carries.
    pub fn csrf_token(&self) -> String {
        csrf_token(&self.csrf_secret)
    }

    /// A query parameter.
    pub fn query(&self, name: &str) -> Option<String> {
        let query = self.req.uri().query()?;
        form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }

    /// The `return_to` of the query (or of a form), if it is safe.
    pub fn return_to(&self, form: Option<&Form>) -> Option<String> {
        let raw = form
            .map(|f| f.get("return_to").to_owned())
            .filter(|v| !v.is_empty())
            .or_else(|| self.query("return_to"))?;
        safe_return_to(&raw, &self.trusted)
    }

    pub(crate) fn trusted(&self) -> &TrustedOrigins {
        &self.trusted
    }

    /// Reads a submitted form, after the CSRF checks: a trusted origin, and a token bound to this
    /// browser's session (or pre-session) secret. A refusal is the "form expired" page.
    pub async fn form(&mut self, body: Body) -> Result<Form, Response> {
        if let Err(e) = check_origin(self.req) {
            tracing::info!(detail = %e.problem.detail, "a page form was refused by the origin check");
            return Err(self.error_page(StatusCode::FORBIDDEN, "errors.csrf-refused"));
        }
        let bytes = match body.into_bytes().await {
            Ok(b) => b,
            Err(_) => return Err(self.error_page(StatusCode::BAD_REQUEST, "errors.bad-request")),
        };
        let form = Form::parse(&bytes);
        let sent = form.get("csrf");
        let matches = |secret: &str| constant_time_eq(sent.as_bytes(), csrf_token(secret).as_bytes());
        if sent.is_empty() || !(matches(&self.csrf_secret) || self.other_secret.as_deref().is_some_and(matches)) {
            return Err(self.error_page(StatusCode::FORBIDDEN, "errors.csrf-refused"));
        }
        Ok(form)
    }

    /// When the address carries an emailed link's `?token=`, moves the token into the link's
    /// cookie and answers a redirect to the same page without it, so the token leaves the
    /// address bar (and the history) after the first load.
    pub(crate) fn stash_link_token(&mut self, link: Link) -> Option<Response> {
        let token = self.query("token")?;
        if cookies::is_cookie_safe(&token) {
            let c = link.cookie(self.https()).set(&token, Link::MAX_AGE_SECS);
            self.cookies.push(c);
        }
        Some(self.redirect(self.req.uri().path()))
    }

    /// The token of an emailed link this browser followed.
    pub(crate) fn link_token(&self, link: Link) -> Option<String> {
        link.cookie(self.https()).read(self.req)
    }

    /// Forgets a link's token (it was used).
    pub(crate) fn forget_link(&mut self, link: Link) {
        let c = link.cookie(self.https()).clear();
        self.cookies.push(c);
    }

    /// Adds a `Set-Cookie` to the answer.
    pub fn set_cookie(&mut self, cookie: String) {
        self.cookies.push(cookie);
    }

    /// Shows `key` (a strings key) once, on the next page rendered.
    pub fn notice(&mut self, key: &str) {
        let c = Cookie::new(cookies::NOTICE, self.https()).set(key, 120);
        self.cookies.push(c);
    }

    /// `303 See Other` to a location already known to be safe, with this visit's cookies.
    pub fn redirect(&self, location: &str) -> Response {
        self.with_cookies(see_other(location))
    }

    fn with_cookies(&self, mut resp: Response) -> Response {
        for c in &self.cookies {
            if let Ok(v) = c.parse() {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        resp
    }

    /// Renders `template` (under `hosted-pages/pages/`) with `context` and the layout's own.
    pub fn render(&self, template: &str, context: Value) -> Response {
        self.render_status(StatusCode::OK, template, context)
    }

    pub fn render_status(&self, status: StatusCode, template: &str, context: Value) -> Response {
        let mut cookies = self.cookies.clone();
        let notice = Cookie::new(cookies::NOTICE, self.https());
        let notice_text =
            notice.read(self.req).filter(|k| k.starts_with("notices.") && self.pages.has_text(k)).map(|k| {
                cookies.push(notice.clear());
                self.pages.text(&k, &[])
            });
        let mut base = self.base_context();
        base.insert("notice".into(), notice_text.map(Value::from).unwrap_or(Value::Null));
        if let Value::Object(extra) = context {
            base.extend(extra);
        }
        let name = format!("pages/{template}.html");
        let rendered = self
            .pages
            .env()
            .get_template(&name)
            .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(Value::Object(base)))));
        match rendered {
            Ok(html) => {
                let mut resp = Response::builder().status(status).content_type("text/html; charset=utf-8").body(html);
                for c in cookies {
                    if let Ok(v) = c.parse() {
                        resp.headers_mut().append(header::SET_COOKIE, v);
                    }
                }
                resp
            }
            Err(e) => {
                tracing::error!(template = %name, error = %format!("{e:#}"), "a page failed to render");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }

    /// The context every page's layout uses.
    fn base_context(&self) -> Map<String, Value> {
        let b = self.pages.branding();
        let settings = self.app.settings();
        let viewer = self.viewer.as_ref().map(|v| {
            let name = match (&v.user.first_name, &v.user.last_name) {
                (Some(f), Some(l)) => format!("{f} {l}"),
                (Some(f), None) => f.clone(),
                (None, Some(l)) => l.clone(),
                (None, None) => v.user.email.clone(),
            };
            json!({ "id": v.user.id.to_string(), "email": v.user.email, "name": name })
        });
        let mut m = Map::new();
        m.insert("product_name".into(), Value::from(b.product_name.clone()));
        m.insert("org_word".into(), Value::from(b.org_word.clone()));
        m.insert(
            "brand".into(),
            json!({ "logo_url": b.logo_url, "support_email": b.support_email, "home_url": b.home_url }),
        );
        m.insert("csrf".into(), Value::from(self.csrf_token()));
        m.insert("viewer".into(), viewer.unwrap_or(Value::Null));
        m.insert("path".into(), Value::from(self.req.uri().path().to_owned()));
        m.insert("signup_enabled".into(), Value::from(settings.auth.signup_enabled));
        m.insert("orgs_can_create".into(), Value::from(settings.orgs.users_can_create));
        m.insert("errors".into(), Value::Null);
        m.insert("values".into(), json!({}));
        m
    }

    /// A page that says what went wrong, in the layout, with `status`.
    pub fn error_page(&self, status: StatusCode, key: &str) -> Response {
        let message = self.pages.text(key, &[]);
        self.render_status(
            status,
            "error",
            json!({ "status": status.as_u16(), "message": message, "title_key": title_key(status) }),
        )
    }

    /// The page for a use case's refusal that is not about a form (a link that expired, an org
    /// the viewer cannot see).
    pub fn refusal_page(&self, err: AppError) -> Response {
        let refusal = Refusal::of(self.pages, err);
        // An org that requires 2FA of a member without it: straight to enrollment, saying why.
        if refusal.code == "mfa-required" && self.viewer.is_some() {
            let mut resp = self.redirect("/account/two-factor");
            let notice = Cookie::new(cookies::NOTICE, self.https()).set("notices.mfa-required", 120);
            if let Ok(v) = notice.parse() {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            return resp;
        }
        if refusal.status == StatusCode::UNAUTHORIZED && self.viewer.is_none() {
            if let Err(r) = self.require_viewer() {
                return r;
            }
        }
        self.render_status(
            refusal.status,
            "error",
            json!({ "status": refusal.status.as_u16(), "message": refusal.message, "title_key": title_key(refusal.status) }),
        )
    }

    /// The form page again, with the refusal shown beside the fields and the person's input.
    pub(crate) fn form_again(
        &self,
        template: &str,
        err: Refusal,
        field: Option<&str>,
        form: &Form,
        mut context: Value,
    ) -> Response {
        if let Value::Object(m) = &mut context {
            m.insert("errors".into(), err.context(field));
            m.insert("values".into(), form.values());
        }
        let status = if err.status.is_server_error() { err.status } else { StatusCode::UNPROCESSABLE_ENTITY };
        let status = if err.status == StatusCode::TOO_MANY_REQUESTS { err.status } else { status };
        let mut resp = self.render_status(status, template, context);
        if let Some(secs) = err.retry_after_secs {
            if let Ok(v) = secs.to_string().parse() {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

/// The title of an error page for `status`.
fn title_key(status: StatusCode) -> &'static str {
    match status.as_u16() {
        404 => "errors.title.not-found",
        403 => "errors.title.forbidden",
        410 => "errors.title.gone",
        429 => "errors.title.too-many",
        s if s >= 500 => "errors.title.server",
        _ => "errors.title.generic",
    }
}

/// A failure before the page could be opened: logged by the API mapping, a bare 500/503.
fn failure(pages: &Pages, e: AppError) -> Response {
    let refusal = Refusal::of(pages, e);
    Response::builder()
        .status(refusal.status)
        .content_type("text/plain; charset=utf-8")
        .body(pages.text("errors.generic", &[]))
}

/// The CSRF token for a secret: not the secret itself (which is `HttpOnly`), but bound to it.
fn csrf_token(secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"tenantry-pages-csrf\0");
    h.update(secret.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}
