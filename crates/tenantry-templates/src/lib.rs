//! The templates, strings and static files of `hosted-pages/`, shared by the hosted pages
//! (`tenantry-pages`) and the emails (`tenantry-mail`): one base layout (`_base.html`), one
//! strings file per language (`strings/en.json`), one loader.
//!
//! Every file is embedded at build time (`build.rs`). Templates are named by their path under
//! `hosted-pages/` (`emails/verify_email.html`, `pages/sign_in.html`). `.html` templates are
//! HTML-escaped automatically; printing an undefined variable is an error, not an empty string.
//!
//! Templates print words through `t("key", name=value, …)`: the text of `key` in the strings
//! file, with `{product}` (the product name), `{org}` (the deployment's org word as configured,
//! e.g. `Team`), `{org_lc}` and `{orgs_lc}` (lower case, singular and plural) filled from the
//! deployment's [`Words`], and each `{name}` from the arguments. The words are also the globals
//! `product_name` and `org_word`.

use std::collections::HashMap;
use std::sync::Arc;

use minijinja::value::Kwargs;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior, Value};

mod files {
    include!(concat!(env!("OUT_DIR"), "/files.rs"));
}

/// Every file under `hosted-pages/`, by its path there.
pub fn files() -> impl Iterator<Item = (&'static str, &'static str)> {
    files::FILES.iter().copied()
}

/// One file under `hosted-pages/`, by its path there (`static/tenantry.css`).
pub fn file(name: &str) -> Option<&'static str> {
    files::FILES.iter().find(|(n, _)| *n == name).map(|(_, text)| *text)
}

/// The words of one language: `strings/<lang>.json`, falling back to English for a key the
/// translation lacks.
#[derive(Debug, Clone)]
pub struct Strings {
    lang: String,
    words: Arc<HashMap<String, String>>,
}

impl Strings {
    /// Loads `strings/<lang>.json` over `strings/en.json`. An unknown language is an error.
    pub fn load(lang: &str) -> Result<Strings, String> {
        let parse = |name: &str| -> Result<HashMap<String, String>, String> {
            let text = file(&format!("strings/{name}.json")).ok_or_else(|| format!("no strings file for `{name}`"))?;
            serde_json::from_str(text).map_err(|e| format!("strings/{name}.json: {e}"))
        };
        let mut words = parse("en")?;
        if lang != "en" {
            words.extend(parse(lang)?);
        }
        Ok(Strings { lang: lang.to_owned(), words: Arc::new(words) })
    }

    /// The language's tag, for `<html lang>`.
    pub fn lang(&self) -> &str {
        &self.lang
    }

    /// The raw text of `key`, placeholders unfilled.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.words.get(key).map(String::as_str)
    }

    /// The text of `key` with the deployment's words and `args` filled in.
    pub fn text(&self, key: &str, words: &Words, args: &[(&str, String)]) -> Option<String> {
        let mut text = self.get(key)?.to_owned();
        let org_lc = words.org_word.to_lowercase();
        let orgs_lc = plural(&org_lc);
        for (name, value) in [
            ("product", words.product_name.as_str()),
            ("org", words.org_word.as_str()),
            ("org_lc", &org_lc),
            ("orgs_lc", &orgs_lc),
        ] {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        for (name, value) in args {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        Some(text)
    }
}

/// The deployment's own words, which strings refer to as `{product}` and `{org}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words {
    pub product_name: String,
    /// The org word as configured: `Organization`, `Team`, `Workspace`.
    pub org_word: String,
}

fn plural(word: &str) -> String {
    if word.ends_with('s') || word.ends_with('x') || word.ends_with("sh") || word.ends_with("ch") {
        format!("{word}es")
    } else if word.ends_with('y') && !word.ends_with("ey") && !word.ends_with("ay") && !word.ends_with("oy") {
        format!("{}ies", &word[..word.len() - 1])
    } else {
        format!("{word}s")
    }
}

/// Every template under `hosted-pages/` (the `.html` and `.txt` files), with `t` over `strings`.
/// A syntax error in any file fails here, at start-up.
pub fn environment(strings: Strings, words: Words) -> Result<Environment<'static>, Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_formatter(format_value);
    // The default callback escapes by extension: `.html` is HTML-escaped, `.txt` is left alone.
    for (name, source) in files() {
        if name.ends_with(".html") || name.ends_with(".txt") {
            env.add_template(name, source)?;
        }
    }
    for (name, _) in files() {
        if name.ends_with(".html") || name.ends_with(".txt") {
            env.get_template(name)?;
        }
    }
    env.add_global("lang", strings.lang().to_owned());
    env.add_global("product_name", words.product_name.clone());
    env.add_global("org_word", words.org_word.clone());
    env.add_function("t", move |key: &str, kwargs: Kwargs| -> Result<String, Error> {
        let mut args = Vec::new();
        for name in kwargs.args() {
            let value: Value = kwargs.get(name)?;
            args.push((name, value.to_string()));
        }
        strings
            .text(key, &words, &args)
            .ok_or_else(|| Error::new(ErrorKind::UndefinedError, format!("no string `{key}` in the strings file")))
    });
    Ok(env)
}

/// Prints a value: HTML-escaped in `.html` templates (which the default auto-escape callback picks
/// by extension), as is elsewhere.
///
/// minijinja's own HTML escaping also turns `/` into `&#x2f;`, which browsers undo but which makes
/// every link an entity soup that spam filters and people reading the source distrust. Escaping
/// `& < > " '` is enough inside text and quoted attributes.
fn format_value(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    // A custom formatter replaces minijinja's strict-undefined check, so it is repeated here.
    if value.is_undefined() {
        return Err(Error::new(ErrorKind::UndefinedError, "a variable the template prints is not set"));
    }
    if state.auto_escape() != &AutoEscape::Html || value.is_safe() {
        return minijinja::escape_formatter(out, state, value);
    }
    out.write_str(&escape_html(&value.to_string()))?;
    Ok(())
}

/// `& < > " '` as entities: safe inside text and quoted attributes.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    fn env() -> Environment<'static> {
        let words = Words { product_name: "Acme".into(), org_word: "Company".into() };
        environment(Strings::load("en").unwrap(), words).unwrap()
    }

    #[test]
    fn printing_an_unset_variable_is_an_error() {
        let env = env();
        let err = env.render_str("Hello {{ nope }}", context! {}).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UndefinedError, "{err}");
        assert_eq!(env.render_str("{% if nope is defined %}x{% endif %}ok", context! {}).unwrap(), "ok");
    }

    #[test]
    fn html_escaping_leaves_slashes_alone() {
        let mut env = env();
        env.add_template("t.html", "<a href=\"{{ v }}\">{{ v }}</a>{{ s|safe }}").unwrap();
        env.add_template("t.txt", "{{ v }}").unwrap();
        let v = "https://x.test/a?b=1&c='<\">'";
        let ctx = context! { v => v, s => "<br>" };
        assert_eq!(
            env.get_template("t.html").unwrap().render(&ctx).unwrap(),
            "<a href=\"https://x.test/a?b=1&amp;c=&#39;&lt;&quot;&gt;&#39;\">https://x.test/a?b=1&amp;c=&#39;&lt;&quot;&gt;&#39;</a><br>"
        );
        assert_eq!(env.get_template("t.txt").unwrap().render(&ctx).unwrap(), v);
    }

    #[test]
    fn strings_fill_the_deployments_words_and_arguments_and_are_escaped_in_html() {
        let mut env = env();
        env.add_template("t.html", "{{ t('test.example', name='<Ada>') }}").unwrap();
        let out = env.get_template("t.html").unwrap().render(context! {}).unwrap();
        assert_eq!(out, "Acme: &lt;Ada&gt; has companies, Company, company");
        let err = env.render_str("{{ t('no.such.key') }}", context! {});
        assert!(err.is_err(), "an unknown key fails the render");
    }

    #[test]
    fn plurals_of_common_org_words() {
        assert_eq!(plural("team"), "teams");
        assert_eq!(plural("company"), "companies");
        assert_eq!(plural("business"), "businesses");
        assert_eq!(plural("workspace"), "workspaces");
    }

    #[test]
    fn every_template_parses_and_static_files_are_embedded() {
        let env = env();
        assert!(env.get_template("_base.html").is_ok());
        assert!(file("static/tenantry.css").is_some());
        assert!(file("strings/en.json").is_some());
    }
}
