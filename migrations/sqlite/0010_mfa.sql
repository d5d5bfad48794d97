-- Two-factor authentication (docs/design.md §3, §4.14): a user's TOTP authenticator, their backup
-- codes, the pending state between a sign-in's password and its code, and what the reminder job
-- has already mailed about an org's 2FA requirement. Same version and meaning as
-- migrations/postgres/0010_mfa.sql.

-- One authenticator per user. Enrollment writes the row unconfirmed; a correct code confirms it,
-- and only then is 2FA on.
CREATE TABLE user_mfa (
    user_id        BLOB PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The TOTP seed, sealed with the master key (AES-256-GCM, the user id as associated data).
    secret_sealed  BLOB NOT NULL,
    created_at     TEXT NOT NULL,
    confirmed_at   TEXT,
    -- The last time step (unix seconds / 30) whose code was accepted: that step and every earlier
    -- one are refused, on every node (a conditional UPDATE moves it forward).
    last_used_step INTEGER
);

-- Single-use backup codes: SHA-256 of the code salted with the user id; used_at once spent.
CREATE TABLE mfa_backup_codes (
    id         BLOB PRIMARY KEY NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BLOB NOT NULL,
    created_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX mfa_backup_codes_user ON mfa_backup_codes (user_id);

-- "Password done, code pending": never a session. Found by the SHA-256 of its token, it dies
-- after 5 wrong codes, at expires_at (5 minutes), or when it completes a sign-in.
CREATE TABLE mfa_pending (
    id            BLOB PRIMARY KEY NOT NULL,
    token_hash    BLOB NOT NULL UNIQUE,
    user_id       BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- A new hash of the password when the stored one used older parameters (the password step
    -- found it; the session write stores it).
    rehash        TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE INDEX mfa_pending_expires ON mfa_pending (expires_at);

-- The reminder job's marks: the requirement notice and the day-before reminder went out for the
-- requirement set at mfa_required_at when these are at or after it.
ALTER TABLE orgs ADD COLUMN mfa_notified_at TEXT;
ALTER TABLE orgs ADD COLUMN mfa_reminded_at TEXT;
CREATE INDEX orgs_mfa_required ON orgs (mfa_required_at) WHERE mfa_required_at IS NOT NULL;
