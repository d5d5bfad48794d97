-- End-user authentication: signing keys, sessions and their refresh tokens, single-use email
-- tokens (verification, reset, email change), and throttling counters shared by every node.

CREATE TABLE signing_keys (
    id             BLOB PRIMARY KEY NOT NULL,
    kid            TEXT NOT NULL UNIQUE,
    public_jwk     TEXT NOT NULL,
    -- The private key, sealed with the master key (AES-256-GCM, the row id as associated data).
    private_sealed BLOB NOT NULL,
    created_at     TEXT NOT NULL,
    -- Published from creation; signs from activates_at, so every node has seen it first.
    activates_at   TEXT NOT NULL,
    -- Stops signing here (set when a newer key takes over).
    retires_at     TEXT,
    -- Leaves the JWKS here, after the last token it signed has expired.
    expires_at     TEXT
);

CREATE TABLE sessions (
    id                BLOB PRIMARY KEY NOT NULL,
    user_id           BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 of the session cookie's secret; NULL for API-only (refresh token) sessions.
    cookie_hash       BLOB UNIQUE,
    created_at        TEXT NOT NULL,
    last_seen_at      TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    revoked_at        TEXT,
    revoked_reason    TEXT,
    ip                TEXT,
    user_agent        TEXT,
    -- 1: password; 2: password and a second factor.
    mfa_level         INTEGER NOT NULL DEFAULT 1,
    sso_connection_id BLOB,
    active_org_id     BLOB
);
CREATE INDEX sessions_user ON sessions (user_id, id);

-- Refresh tokens: one family per session, rotated on every use.
CREATE TABLE refresh_tokens (
    id          BLOB PRIMARY KEY NOT NULL,
    session_id  BLOB NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    token_hash  BLOB NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    -- Set when the token is exchanged; presenting it again revokes the whole session.
    used_at     TEXT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE email_tokens (
    id          BLOB PRIMARY KEY NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- verify_email | reset_password | change_email
    purpose     TEXT NOT NULL,
    token_hash  BLOB NOT NULL UNIQUE,
    new_email   TEXT,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);

-- Failure counters for throttling, keyed like "login:account:<email>" or "login:ip:<addr>".
CREATE TABLE throttles (
    key           TEXT PRIMARY KEY NOT NULL,
    failures      INTEGER NOT NULL,
    window_start  TEXT NOT NULL,
    blocked_until TEXT
);
