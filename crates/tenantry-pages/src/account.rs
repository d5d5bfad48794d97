//! The account pages: profile (names), email change (with the emailed confirmation), password
//! change, and the person's sessions (sign out one, or everywhere). Each calls the use case the
//! end-user API calls (`PATCH /api/v1/me`, `POST /api/v1/me/email`, `POST /api/v1/email/change/confirm`,
//! `POST /api/v1/me/password`, `GET /api/v1/me/sessions`, `DELETE /api/v1/me/sessions/{id}`).

use chrono::{DateTime, Utc};
use poem::http::StatusCode;
use poem::web::Path;
use poem::{get, handler, post, Body, Request, Response, Route};
use serde_json::json;
use tenantry_api::enduser::SessionCookieSpec;
use tenantry_app::users::UpdateUser;
use tenantry_app::Patch;
use uuid::Uuid;

use crate::cookies::Link;
use crate::forms::Refusal;
use crate::redirect::encode;
use crate::{Pages, Visit};

pub(crate) fn routes(route: Route) -> Route {
    route
        .at("/account", get(account_page))
        .at("/account/profile", post(save_profile))
        .at("/account/email", post(change_email))
        .at("/account/email/sent", get(email_sent))
        .at("/account/password", post(change_password))
        .at("/confirm-email-change", get(confirm_email_page).post(confirm_email))
        .at("/account/sessions", get(sessions_page))
        .at("/account/sessions/sign-out-everywhere", get(everywhere_page).post(sign_out_everywhere))
        .at("/account/sessions/:session_id/sign-out", post(sign_out_session))
}

fn password_hint(visit: &Visit<'_>) -> String {
    let min = visit.app().settings().password_policy.min_chars;
    visit.pages().text("password.hint", &[("min", min.to_string())])
}

/// What the account page shows besides a form's errors: the person's names and address.
fn account_context(visit: &Visit<'_>, form: Option<&str>) -> serde_json::Value {
    let user = visit.viewer().map(|v| &v.user);
    json!({
        "form": form,
        "email": user.map(|u| u.email.clone()),
        "email_verified": user.map(|u| u.email_verified),
        "profile": {
            "first_name": user.and_then(|u| u.first_name.clone()).unwrap_or_default(),
            "last_name": user.and_then(|u| u.last_name.clone()).unwrap_or_default(),
        },
        "password_hint": password_hint(visit),
    })
}

#[handler]
async fn account_page(req: &Request) -> Response {
    let visit = visit!(req);
    viewer!(visit);
    visit.render("account", account_context(&visit, None))
}

#[handler]
async fn save_profile(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    let viewer = viewer!(visit);
    let form = form!(visit, body);
    let patch = |name: &str| match form.optional(name) {
        Some(v) => Patch::Value(v),
        None => Patch::Null,
    };
    let input = UpdateUser { first_name: patch("first_name"), last_name: patch("last_name"), ..UpdateUser::default() };
    match visit.app().update_user(&visit.ctx(), viewer.user.id, input).await {
        Ok(_) => {
            visit.notice("notices.profile-saved");
            visit.redirect("/account")
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            let ctx = account_context(&visit, Some("profile"));
            visit.form_again("account", refusal, None, &form, ctx)
        }
    }
}

#[handler]
async fn change_email(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    viewer!(visit);
    let form = form!(visit, body);
    let new_email = form.get("new_email").trim().to_owned();
    match visit.app().request_email_change(&visit.ctx(), &new_email, form.get("password")).await {
        Ok(()) => visit.redirect(&format!("/account/email/sent?email={}", encode(&new_email))),
        Err(e) => {
            let mut refusal = Refusal::of(visit.pages(), e);
            rename_field(&mut refusal, "email", "new_email");
            let field = match refusal.code.as_str() {
                "wrong-password" | "too-many-attempts" => "password",
                _ => "new_email",
            };
            let ctx = account_context(&visit, Some("email"));
            visit.form_again("account", refusal, Some(field), &form, ctx)
        }
    }
}

#[handler]
async fn email_sent(req: &Request) -> Response {
    let visit = visit!(req);
    viewer!(visit);
    let email = visit.query("email").unwrap_or_default();
    visit.render("account_email_sent", json!({ "email": email }))
}

#[handler]
async fn change_password(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    viewer!(visit);
    let form = form!(visit, body);
    if form.get("new_password") != form.get("new_password_confirm") {
        let refusal = Refusal::field("new_password_confirm", visit.pages().text("errors.passwords-differ", &[]));
        let ctx = account_context(&visit, Some("password"));
        return visit.form_again("account", refusal, None, &form, ctx);
    }
    match visit.app().change_password(&visit.ctx(), form.get("current_password"), form.get("new_password")).await {
        Ok(()) => {
            visit.notice("notices.password-changed");
            visit.redirect("/account")
        }
        Err(e) => {
            let mut refusal = Refusal::of(visit.pages(), e);
            rename_field(&mut refusal, "password", "new_password");
            let field = match refusal.code.as_str() {
                "wrong-password" | "too-many-attempts" => "current_password",
                _ => "new_password",
            };
            let ctx = account_context(&visit, Some("password"));
            visit.form_again("account", refusal, Some(field), &form, ctx)
        }
    }
}

/// A use case names its inputs as the API does (`email`, `password`); this page's form names
/// them after what they are here (`new_email`, `new_password`).
fn rename_field(refusal: &mut Refusal, from: &str, to: &str) {
    if let Some(message) = refusal.fields.remove(from) {
        refusal.fields.insert(to.to_owned(), message);
    }
}

/// The page an emailed email-change link opens: the token leaves the address bar, then one
/// button confirms (a link opened by a mail scanner changes nothing).
#[handler]
async fn confirm_email_page(req: &Request) -> Response {
    let mut visit = visit!(req);
    if let Some(redirect) = visit.stash_link_token(Link::EmailChange) {
        return redirect;
    }
    if visit.link_token(Link::EmailChange).is_none() {
        return email_link_problem(&visit, "errors.link-invalid");
    }
    visit.render("account_email_confirm", json!({}))
}

#[handler]
async fn confirm_email(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    let _form = form!(visit, body);
    let Some(token) = visit.link_token(Link::EmailChange) else {
        return email_link_problem(&visit, "errors.link-invalid");
    };
    let result = visit.app().confirm_email_change(&visit.ctx(), &token).await;
    visit.forget_link(Link::EmailChange);
    match result {
        Ok(_) => {
            visit.notice("notices.email-changed");
            let to = if visit.viewer().is_some() { "/account" } else { "/sign-in" };
            visit.redirect(to)
        }
        Err(e) => {
            let refusal = Refusal::of(visit.pages(), e);
            if refusal.status.is_server_error() {
                return visit.render_status(
                    refusal.status,
                    "error",
                    json!({ "status": refusal.status.as_u16(), "message": refusal.message, "title_key": "errors.title.server" }),
                );
            }
            email_link_problem(&visit, &format!("errors.{}", refusal.code))
        }
    }
}

/// The page for an email-change link that is invalid, expired, used, or whose address another
/// account took meanwhile: it says so and points to the account page to ask again.
fn email_link_problem(visit: &Visit<'_>, key: &str) -> Response {
    let key = if visit.pages().has_text(key) { key } else { "errors.link-invalid" };
    let status = match key {
        "errors.link-invalid" => StatusCode::NOT_FOUND,
        "errors.email-taken" => StatusCode::CONFLICT,
        _ => StatusCode::GONE,
    };
    visit.render_status(status, "account_email_problem", json!({ "message": visit.pages().text(key, &[]) }))
}

#[handler]
async fn sessions_page(req: &Request) -> Response {
    let visit = visit!(req);
    let viewer = viewer!(visit);
    let sessions = match visit.app().list_sessions(&visit.ctx(), viewer.user.id).await {
        Ok(s) => s,
        Err(e) => return visit.refusal_page(e),
    };
    let pages = visit.pages();
    let mut rows: Vec<serde_json::Value> = sessions
        .into_iter()
        .map(|s| {
            json!({
                "id": s.id.to_string(),
                "device": device_words(pages, s.user_agent.as_deref()),
                "address": s.ip.unwrap_or_else(|| pages.text("account-sessions.unknown-address", &[])),
                "last_seen": when_words(s.last_seen_at),
                "last_seen_iso": s.last_seen_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "signed_in": when_words(s.created_at),
                "current": s.id == viewer.session.id,
            })
        })
        .collect();
    // This device first, then the most recently seen.
    rows.sort_by_key(|r| !r["current"].as_bool().unwrap_or(false));
    let others = rows.iter().filter(|r| !r["current"].as_bool().unwrap_or(false)).count();
    visit.render("account_sessions", json!({ "sessions": rows, "others": others }))
}

#[handler]
async fn sign_out_session(req: &Request, Path(session_id): Path<String>, body: Body) -> Response {
    let mut visit = visit!(req);
    let viewer = viewer!(visit);
    let Ok(id) = Uuid::parse_str(&session_id) else {
        return visit.error_page(StatusCode::NOT_FOUND, "errors.page-not-found");
    };
    let _form = form!(visit, body);
    match visit.app().revoke_sessions(&visit.ctx(), viewer.user.id, Some(id)).await {
        Ok(_) if id == viewer.session.id => {
            // This browser's own session ended: the cookie goes with it.
            visit.set_cookie(SessionCookieSpec::of(visit.app()).clear());
            visit.notice("notices.signed-out");
            visit.redirect("/sign-in")
        }
        Ok(_) => {
            visit.notice("notices.session-ended");
            visit.redirect("/account/sessions")
        }
        Err(e) => visit.refusal_page(e),
    }
}

#[handler]
async fn everywhere_page(req: &Request) -> Response {
    let visit = visit!(req);
    viewer!(visit);
    visit.render("account_sign_out_everywhere", json!({}))
}

#[handler]
async fn sign_out_everywhere(req: &Request, body: Body) -> Response {
    let mut visit = visit!(req);
    let viewer = viewer!(visit);
    let _form = form!(visit, body);
    match visit.app().revoke_sessions(&visit.ctx(), viewer.user.id, None).await {
        Ok(_) => {
            visit.set_cookie(SessionCookieSpec::of(visit.app()).clear());
            visit.notice("notices.signed-out-everywhere");
            visit.redirect("/sign-in")
        }
        Err(e) => visit.refusal_page(e),
    }
}

/// "3 Dec 2026, 12:10 UTC".
fn when_words(at: DateTime<Utc>) -> String {
    at.format("%-d %b %Y, %H:%M UTC").to_string()
}

/// A device in plain words from its user agent: "Firefox on Windows", "Safari on iPhone".
fn device_words(pages: &Pages, user_agent: Option<&str>) -> String {
    match user_agent.map(browser_and_system) {
        Some((Some(browser), Some(system))) => {
            pages.text("account-sessions.device", &[("browser", browser.into()), ("system", system.into())])
        }
        Some((Some(name), None)) | Some((None, Some(name))) => name.to_owned(),
        _ => pages.text("account-sessions.unknown-device", &[]),
    }
}

/// The browser and operating system a user agent names, as people know them. Order matters:
/// Edge and Opera say "Chrome" too, Chrome says "Safari", Android says "Linux", iOS says "Mac OS X".
fn browser_and_system(ua: &str) -> (Option<&'static str>, Option<&'static str>) {
    let has = |s: &str| ua.contains(s);
    let browser = if has("Edg/") || has("Edge/") {
        Some("Edge")
    } else if has("OPR/") || has("Opera") {
        Some("Opera")
    } else if has("Firefox/") || has("FxiOS/") {
        Some("Firefox")
    } else if has("Chrome/") || has("CriOS/") || has("Chromium/") {
        Some("Chrome")
    } else if has("Safari/") && has("Version/") {
        Some("Safari")
    } else if has("curl/") {
        Some("curl")
    } else {
        None
    };
    let system = if has("iPhone") {
        Some("iPhone")
    } else if has("iPad") {
        Some("iPad")
    } else if has("Android") {
        Some("Android")
    } else if has("Windows") {
        Some("Windows")
    } else if has("Mac OS X") || has("Macintosh") {
        Some("macOS")
    } else if has("CrOS") {
        Some("ChromeOS")
    } else if has("Linux") {
        Some("Linux")
    } else {
        None
    };
    (browser, system)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_read_as_browser_and_system() {
        let cases = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0",
                (Some("Edge"), Some("Windows")),
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
                (Some("Safari"), Some("macOS")),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
                (Some("Safari"), Some("iPhone")),
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
                (Some("Chrome"), Some("Android")),
            ),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", (Some("Firefox"), Some("Linux"))),
            ("curl/8.5.0", (Some("curl"), None)),
            ("something else", (None, None)),
        ];
        for (ua, expected) in cases {
            assert_eq!(browser_and_system(ua), expected, "{ua}");
        }
    }

    #[test]
    fn times_read_as_words() {
        let at = DateTime::parse_from_rfc3339("2026-12-03T09:05:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(when_words(at), "3 Dec 2026, 09:05 UTC");
    }
}
