//! The few lines every page handler starts with: open the visit, read the form after the CSRF
//! checks, require a signed-in viewer, or answer at once with the page that says why not.

/// Opens the visit ([`crate::Visit::open`]) or answers with what went wrong.
macro_rules! visit {
    ($req:expr) => {
        match $crate::Visit::open($req).await {
            Ok(v) => v,
            Err(resp) => return resp,
        }
    };
}

/// Reads the form after the CSRF checks ([`crate::Visit::form`]), or answers the refusal.
macro_rules! form {
    ($visit:expr, $body:expr) => {
        match $visit.form($body).await {
            Ok(f) => f,
            Err(resp) => return resp,
        }
    };
}

/// The signed-in viewer, or the redirect to sign in.
macro_rules! viewer {
    ($visit:expr) => {
        match $visit.require_viewer() {
            Ok(v) => v.clone(),
            Err(resp) => return resp,
        }
    };
}

/// The value of a `Result<_, Response>`, or that response as the answer.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(resp) => return resp,
        }
    };
}
