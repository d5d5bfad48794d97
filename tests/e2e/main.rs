//! End-to-end tests: each starts the real server on a free port with its own database and talks
//! HTTP to it. One test binary, one module per area; every test runs on SQLite and PostgreSQL
//! through `engine_tests!`.

mod api_keys;
mod auth;
mod billing_sync;
mod edge;
mod housekeeping;
mod mfa;
mod operations;
mod orgs;
mod orgs_authz;
mod orgs_invites;
mod orgs_join;
mod orgs_members;
mod orgs_races;
mod orgs_tokens;
mod pages_account;
mod pages_admin;
mod pages_auth;
mod pages_mfa;
mod pages_orgs;
mod pages_sso;
mod pages_support;
mod paging;
mod passwords_emails;
mod peers;
mod problems;
mod saas_axum;
mod sdk;
mod session_security;
mod spa_token;
mod sso;
mod support;
mod users;
mod webhook_catalog;
mod webhooks;
