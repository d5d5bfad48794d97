-- Users, backend API keys, the outbox of webhook events, and the audit trail.
-- Same version and meaning as migrations/sqlite/0001_foundation.sql.
-- Normalized lookup columns use COLLATE "C" so prefix ranges follow byte order, as in SQLite.

CREATE TABLE users (
    id                  uuid PRIMARY KEY,
    -- NULL: the shared user pool. Otherwise the isolated org whose pool this user belongs to.
    pool_id             uuid,
    email               text NOT NULL,
    email_normalized    text COLLATE "C" NOT NULL,
    email_verified      boolean NOT NULL DEFAULT false,
    password_hash       text,
    first_name          text,
    last_name           text,
    username            text,
    username_normalized text COLLATE "C",
    properties          jsonb NOT NULL DEFAULT '{}',
    disabled            boolean NOT NULL DEFAULT false,
    version             bigint NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    last_login_at       timestamptz
);
CREATE UNIQUE INDEX users_email_normalized_shared ON users (email_normalized) WHERE pool_id IS NULL;
CREATE UNIQUE INDEX users_email_normalized_pooled ON users (pool_id, email_normalized) WHERE pool_id IS NOT NULL;
CREATE UNIQUE INDEX users_username_normalized_shared ON users (username_normalized)
    WHERE pool_id IS NULL AND username_normalized IS NOT NULL;
CREATE UNIQUE INDEX users_username_normalized_pooled ON users (pool_id, username_normalized)
    WHERE pool_id IS NOT NULL AND username_normalized IS NOT NULL;

CREATE TABLE api_keys (
    id             uuid PRIMARY KEY,
    name           text NOT NULL,
    display_prefix text NOT NULL,
    secret_hash    bytea NOT NULL UNIQUE,
    created_at     timestamptz NOT NULL,
    last_used_at   timestamptz,
    revoked_at     timestamptz
);

CREATE TABLE outbox_events (
    id             uuid PRIMARY KEY,
    event_type     text NOT NULL,
    object_id      uuid NOT NULL,
    object_version bigint NOT NULL,
    org_id         uuid,
    data           jsonb NOT NULL,
    occurred_at    timestamptz NOT NULL
);
CREATE INDEX outbox_events_object ON outbox_events (object_id, object_version);

CREATE TABLE audit_log (
    id          uuid PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    org_id      uuid,
    actor_kind  text NOT NULL,
    actor_id    text,
    action      text NOT NULL,
    target_kind text NOT NULL,
    target_id   text,
    ip          text,
    request_id  text,
    details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_org ON audit_log (org_id, id);
CREATE INDEX audit_log_target ON audit_log (target_id, id);
