-- Users, backend API keys, the outbox of webhook events, and the audit trail.
-- Ids are UUIDv7 stored as 16-byte BLOBs; times are RFC 3339 UTC text written by the application
-- (never CURRENT_TIMESTAMP, whose format compares wrongly against RFC 3339).

CREATE TABLE users (
    id                  BLOB PRIMARY KEY NOT NULL,
    -- NULL: the shared user pool. Otherwise the isolated org whose pool this user belongs to.
    pool_id             BLOB,
    email               TEXT NOT NULL,
    email_normalized    TEXT NOT NULL,
    email_verified      BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash       TEXT,
    first_name          TEXT,
    last_name           TEXT,
    username            TEXT,
    username_normalized TEXT,
    properties          TEXT NOT NULL DEFAULT '{}',
    disabled            BOOLEAN NOT NULL DEFAULT FALSE,
    version             INTEGER NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    last_login_at       TEXT
);
CREATE UNIQUE INDEX users_email_normalized_shared ON users (email_normalized) WHERE pool_id IS NULL;
CREATE UNIQUE INDEX users_email_normalized_pooled ON users (pool_id, email_normalized) WHERE pool_id IS NOT NULL;
CREATE UNIQUE INDEX users_username_normalized_shared ON users (username_normalized)
    WHERE pool_id IS NULL AND username_normalized IS NOT NULL;
CREATE UNIQUE INDEX users_username_normalized_pooled ON users (pool_id, username_normalized)
    WHERE pool_id IS NOT NULL AND username_normalized IS NOT NULL;

CREATE TABLE api_keys (
    id           BLOB PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    -- The first characters of the key, shown in listings so people can tell keys apart.
    display_prefix TEXT NOT NULL,
    -- SHA-256 of the whole key. Keys are 256-bit random, so a fast hash is the right one.
    secret_hash  BLOB NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

CREATE TABLE outbox_events (
    id             BLOB PRIMARY KEY NOT NULL,
    event_type     TEXT NOT NULL,
    object_id      BLOB NOT NULL,
    object_version INTEGER NOT NULL,
    org_id         BLOB,
    data           TEXT NOT NULL,
    occurred_at    TEXT NOT NULL
);
CREATE INDEX outbox_events_object ON outbox_events (object_id, object_version);

CREATE TABLE audit_log (
    id          BLOB PRIMARY KEY NOT NULL,
    occurred_at TEXT NOT NULL,
    org_id      BLOB,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT,
    ip          TEXT,
    request_id  TEXT,
    details     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_org ON audit_log (org_id, id);
CREATE INDEX audit_log_target ON audit_log (target_id, id);
