-- End-user authentication: signing keys, sessions and their refresh tokens, single-use email
-- tokens (verification, reset, email change), and throttling counters shared by every node.

CREATE TABLE signing_keys (
    id             uuid PRIMARY KEY,
    kid            text NOT NULL UNIQUE,
    public_jwk     jsonb NOT NULL,
    -- The private key, sealed with the master key (AES-256-GCM, the row id as associated data).
    private_sealed bytea NOT NULL,
    created_at     timestamptz NOT NULL,
    -- Published from creation; signs from activates_at, so every node has seen it first.
    activates_at   timestamptz NOT NULL,
    -- Stops signing here (set when a newer key takes over).
    retires_at     timestamptz,
    -- Leaves the JWKS here, after the last token it signed has expired.
    expires_at     timestamptz
);

CREATE TABLE sessions (
    id                uuid PRIMARY KEY,
    user_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 of the session cookie's secret; NULL for API-only (refresh token) sessions.
    cookie_hash       bytea UNIQUE,
    created_at        timestamptz NOT NULL,
    last_seen_at      timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    revoked_at        timestamptz,
    revoked_reason    text,
    ip                text,
    user_agent        text,
    -- 1: password; 2: password and a second factor.
    mfa_level         integer NOT NULL DEFAULT 1,
    sso_connection_id uuid,
    active_org_id     uuid
);
CREATE INDEX sessions_user ON sessions (user_id, id);

-- Refresh tokens: one family per session, rotated on every use.
CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    -- Set when the token is exchanged; presenting it again revokes the whole session.
    used_at     timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE email_tokens (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- verify_email | reset_password | change_email
    purpose     text NOT NULL,
    token_hash  bytea NOT NULL UNIQUE,
    new_email   text,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);

-- Failure counters for throttling, keyed like "login:account:<email>" or "login:ip:<addr>".
CREATE TABLE throttles (
    key           text PRIMARY KEY,
    failures      integer NOT NULL,
    window_start  timestamptz NOT NULL,
    blocked_until timestamptz
);
