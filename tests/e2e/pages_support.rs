//! "A browser" for the hosted pages' end-to-end tests: a client that keeps cookies, follows no
//! redirect on its own (so a test sees every 303), sends the `Origin` a same-origin form sends,
//! reads the `csrf` hidden input of a page and posts forms with it. Plus the sign-up journey
//! through the pages, reading the emailed verification link from the mail queue.

// Each helper is used by some page test module, not necessarily by every one.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Mutex;

use reqwest::header::{HeaderMap, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use tenantry_testkit::TestApp;

use crate::support::mailed_token;

/// One answer of a page.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    /// `Location` of a redirect.
    pub location: Option<String>,
    pub headers: HeaderMap,
    /// The HTML as sent.
    pub body: String,
}

impl Page {
    /// The page's text with the HTML escapes minijinja writes turned back into characters, so a
    /// test can look for "Ada's team" as a person reads it.
    pub fn text(&self) -> String {
        unescape(&self.body)
    }

    /// Whether the page shows `text` (after unescaping).
    pub fn shows(&self, text: &str) -> bool {
        self.text().contains(text)
    }

    /// Asserts the page shows `text`, printing the page when it does not.
    #[track_caller]
    pub fn assert_shows(&self, text: &str) -> &Page {
        assert!(self.shows(text), "the page ({}) does not show {text:?}:\n{}", self.status, self.body);
        self
    }

    /// Asserts the page does not show `text`.
    #[track_caller]
    pub fn assert_hides(&self, text: &str) -> &Page {
        assert!(!self.shows(text), "the page ({}) shows {text:?}:\n{}", self.status, self.body);
        self
    }

    /// Asserts the status.
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Page {
        assert_eq!(self.status, status, "unexpected status; location {:?}; body:\n{}", self.location, self.body);
        self
    }

    /// Asserts a `303 See Other` to `location` (a path, or its start when it ends with `*`).
    #[track_caller]
    pub fn assert_redirect(&self, location: &str) -> &Page {
        assert_eq!(self.status, 303, "expected a redirect to {location}; body:\n{}", self.body);
        let got = self.location.as_deref().unwrap_or("");
        match location.strip_suffix('*') {
            Some(prefix) => assert!(got.starts_with(prefix), "redirected to {got}, expected {location}"),
            None => assert_eq!(got, location, "redirect target"),
        }
        self
    }

    /// The value of the first `csrf` hidden input on the page.
    #[track_caller]
    pub fn csrf(&self) -> String {
        self.input_value("csrf").unwrap_or_else(|| panic!("no csrf input on the page:\n{}", self.body))
    }

    /// The `value` of the first input named `name`, unescaped.
    pub fn input_value(&self, name: &str) -> Option<String> {
        let at = self.body.find(&format!("name=\"{name}\""))?;
        // The input's own tag: from its `<` to its `>`.
        let start = self.body[..at].rfind('<')?;
        let end = at + self.body[at..].find('>')?;
        let tag = &self.body[start..end];
        let v = tag.find("value=\"")? + "value=\"".len();
        let len = tag[v..].find('"')?;
        Some(unescape(&tag[v..v + len]))
    }
}

/// Undoes minijinja's HTML escaping (and the two entities templates write by hand).
pub fn unescape(html: &str) -> String {
    html.replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A browser on the test server: its own cookie jar, no automatic redirects.
pub struct Browser<'a> {
    pub t: &'a TestApp,
    client: reqwest::Client,
    jar: Mutex<BTreeMap<String, String>>,
}

impl<'a> Browser<'a> {
    pub fn new(t: &'a TestApp) -> Browser<'a> {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Browser { t, client, jar: Mutex::new(BTreeMap::new()) }
    }

    /// A cookie this browser holds.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().expect("jar").get(name).cloned()
    }

    /// Forgets every cookie (a new browser on the same test).
    pub fn clear_cookies(&self) {
        self.jar.lock().expect("jar").clear();
    }

    fn cookie_header(&self) -> Option<String> {
        let jar = self.jar.lock().expect("jar");
        (!jar.is_empty()).then(|| jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "))
    }

    /// Keeps what `Set-Cookie` says: a value, or a removal (`Max-Age=0` or an empty value).
    fn keep_cookies(&self, headers: &HeaderMap) {
        let mut jar = self.jar.lock().expect("jar");
        for v in headers.get_all(SET_COOKIE) {
            let Ok(v) = v.to_str() else { continue };
            let mut parts = v.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.trim().split_once('=')) else { continue };
            let removed = value.is_empty() || parts.any(|a| a.trim().eq_ignore_ascii_case("max-age=0"));
            if removed {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let req = match self.cookie_header() {
            Some(c) => req.header(COOKIE, c),
            None => req,
        };
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        self.keep_cookies(&headers);
        let location = headers.get(LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = resp.text().await.expect("body");
        assert!(status < 500, "a page answered {status}:\n{body}");
        Page { status, location, headers, body }
    }

    /// `GET path` (a path on the server, or a full URL).
    pub async fn get(&self, path: &str) -> Page {
        let url = if path.starts_with("http") { path.to_owned() } else { self.t.url(path) };
        self.send(self.client.get(url)).await
    }

    /// Follows a redirect once.
    pub async fn follow(&self, page: &Page) -> Page {
        let to = page.location.clone().unwrap_or_else(|| panic!("not a redirect ({}):\n{}", page.status, page.body));
        self.get(&to).await
    }

    /// POSTs `fields` as a form from this origin, exactly as given (no token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let req = self.client.post(self.t.url(path)).header(ORIGIN, self.t.base.as_str()).form(fields);
        self.send(req).await
    }

    /// POSTs a form to `action` with the `csrf` token read from `page`, as the browser would after
    /// showing that page.
    pub async fn submit(&self, page: &Page, action: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = page.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(action, &all).await
    }

    /// Opens `page_path`, then submits its form to `action` (`page_path` itself when `None`).
    pub async fn fill(&self, page_path: &str, action: Option<&str>, fields: &[(&str, &str)]) -> Page {
        let page = self.get(page_path).await;
        page.assert_status(200);
        let action = action.unwrap_or_else(|| page_path.split('?').next().unwrap_or(page_path));
        self.submit(&page, action, fields).await
    }

    /// Signs in through the sign-in page; returns the answer of the form (a redirect).
    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        let done = self.fill("/sign-in", None, &[("email", email), ("password", password)]).await;
        done.assert_status(303);
        done
    }

    /// Signs out of this browser.
    pub async fn sign_out(&self) {
        self.fill("/sign-out", None, &[]).await.assert_redirect("/sign-in");
    }
}

/// A password the test configuration's policy accepts.
pub const PASSWORD: &str = "correct horse battery staple 42";

/// Signs a person up through the pages (sign-up form, then the emailed verification link, which
/// signs them in) in `browser`. Returns the redirect that ends the journey (where they land).
pub async fn sign_up_and_verify(browser: &Browser<'_>, email: &str, first_name: &str, return_to: Option<&str>) -> Page {
    let path = match return_to {
        Some(r) => format!("/sign-up?return_to={}", encode(r)),
        None => "/sign-up".to_owned(),
    };
    let page = browser.get(&path).await;
    page.assert_status(200);
    let mut fields = vec![("first_name", first_name), ("email", email), ("password", PASSWORD)];
    if let Some(r) = return_to {
        fields.push(("return_to", r));
    }
    browser.submit(&page, "/sign-up", &fields).await.assert_redirect("/sign-up/check-inbox*");
    verify_from_mail(browser, email).await
}

/// Opens the newest verification link mailed to `email` and confirms it; returns the redirect
/// of the confirmation.
pub async fn verify_from_mail(browser: &Browser<'_>, email: &str) -> Page {
    let token = mailed_token(browser.t, email, "verify_email").await;
    let stashed = browser.get(&format!("/verify-email?token={token}")).await;
    stashed.assert_redirect("/verify-email");
    let page = browser.follow(&stashed).await;
    page.assert_status(200);
    let done = browser.submit(&page, "/verify-email", &[]).await;
    done.assert_status(303);
    done
}
