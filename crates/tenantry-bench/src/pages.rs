//! The hosted pages as the benchmark's browser sees them: the pre-session cookie and CSRF token a
//! sign-in form needs, and each page's weight (HTML plus the style sheets it links) for
//! BENCHMARKS.md.

use std::net::SocketAddr;

use anyhow::Context;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE, COOKIE, HOST, SET_COOKIE};
use hyper::{Request, StatusCode};

use crate::http::Connection;
use crate::load::{login_email, LOGIN_PASSWORD};

/// The `name=value` of the pre-session CSRF cookie a page sets (`tenantry_csrf`, `__Host-`-prefixed
/// on https deployments).
pub fn pre_session_cookie(headers: &HeaderMap) -> Option<String> {
    cookies(headers).into_iter().find(|c| c.split('=').next().is_some_and(|n| n.ends_with("tenantry_csrf")))
}

/// Every cookie a response sets, as `name=value`, without the removals.
fn cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter(|pair| pair.split_once('=').is_some_and(|(_, v)| !v.is_empty()))
        .map(str::to_owned)
        .collect()
}

/// The value of the first `csrf` hidden input of a page.
pub fn csrf_of(body: &[u8]) -> Option<String> {
    let html = std::str::from_utf8(body).ok()?;
    let at = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let len = html[at..].find('"')?;
    Some(html[at..at + len].to_owned())
}

/// An `application/x-www-form-urlencoded` body.
pub fn form(fields: &[(&str, &str)]) -> String {
    let enc = |v: &str| -> String {
        v.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// One page's weight.
pub struct PageWeight {
    pub path: &'static str,
    pub html: usize,
    pub css: usize,
}

/// The pages measured: signed out, then signed in as a login user through the sign-in form.
const SIGNED_OUT: [&str; 5] =
    ["/sign-in", "/sign-up", "/sign-up/check-inbox", "/forgot-password", "/forgot-password/sent"];
const SIGNED_IN: [&str; 6] = [
    "/account",
    "/account/sessions",
    "/account/sessions/sign-out-everywhere",
    "/account/email/sent",
    "/orgs",
    "/sign-out",
];

/// Fetches each page (and the two style sheets every page links) and returns their sizes.
pub async fn weights(addr: SocketAddr) -> anyhow::Result<Vec<PageWeight>> {
    let mut conn = Connection::open(addr).await?;
    let host = HeaderValue::from_str(&addr.to_string())?;
    let mut css = 0;
    for sheet in ["/assets/tenantry.css", "/assets/brand.css"] {
        let (status, _, body) =
            conn.exchange_with_headers(Request::get(sheet).header(HOST, host.clone()).body(Full::default())?).await?;
        anyhow::ensure!(status == StatusCode::OK, "{sheet} answered {status}");
        css += body.len();
    }
    let mut out = Vec::new();
    let mut cookie = String::new();
    for path in SIGNED_OUT {
        let (status, headers, body) =
            conn.exchange_with_headers(Request::get(path).header(HOST, host.clone()).body(Full::default())?).await?;
        anyhow::ensure!(status == StatusCode::OK, "{path} answered {status}");
        if let Some(c) = pre_session_cookie(&headers) {
            cookie = c;
        }
        out.push(PageWeight { path, html: body.len(), css });
    }
    // Sign in through the form, as a browser would.
    let page =
        Request::get("/sign-in").header(HOST, host.clone()).header(COOKIE, cookie.clone()).body(Full::default())?;
    let (_, _, body) = conn.exchange_with_headers(page).await?;
    let csrf = csrf_of(&body).context("no csrf input on the sign-in page")?;
    let email = login_email(0);
    let post = Request::post("/sign-in")
        .header(HOST, host.clone())
        .header(COOKIE, cookie.clone())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(form(&[("csrf", &csrf), ("email", &email), ("password", LOGIN_PASSWORD)]))))?;
    let (status, headers, _) = conn.exchange_with_headers(post).await?;
    anyhow::ensure!(status == StatusCode::SEE_OTHER, "the sign-in form answered {status}");
    let mut jar = vec![cookie];
    jar.extend(cookies(&headers).into_iter().filter(|c| c.contains("tenantry_session")));
    let jar = jar.join("; ");
    for path in SIGNED_IN {
        let req = Request::get(path).header(HOST, host.clone()).header(COOKIE, jar.clone()).body(Full::default())?;
        let (status, _, body) = conn.exchange_with_headers(req).await?;
        if status != StatusCode::OK {
            eprintln!("== page weight: {path} answered {status}; left out");
            continue;
        }
        out.push(PageWeight { path, html: body.len(), css });
    }
    Ok(out)
}

/// The markdown table of page weights.
pub fn markdown(weights: &[PageWeight]) -> String {
    let mut s = String::from("| Page | HTML | + CSS | Total |\n|---|---:|---:|---:|\n");
    for w in weights {
        s.push_str(&format!(
            "| `{}` | {:.1} KB | {:.1} KB | {:.1} KB |\n",
            w.path,
            w.html as f64 / 1024.0,
            w.css as f64 / 1024.0,
            (w.html + w.css) as f64 / 1024.0
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_tokens_are_read_and_written_like_a_browser() {
        assert_eq!(
            form(&[("email", "a+b@x.test"), ("password", "two words")]),
            "email=a%2Bb%40x.test&password=two+words"
        );
        let page = br#"<form><input type="hidden" name="csrf" value="abc_-1"></form>"#;
        assert_eq!(csrf_of(page).as_deref(), Some("abc_-1"));
        let mut headers = HeaderMap::new();
        headers.append(SET_COOKIE, HeaderValue::from_static("tenantry_notice=; Path=/; Max-Age=0"));
        headers.append(SET_COOKIE, HeaderValue::from_static("tenantry_csrf=xyz; Path=/; HttpOnly"));
        assert_eq!(pre_session_cookie(&headers).as_deref(), Some("tenantry_csrf=xyz"));
    }
}
