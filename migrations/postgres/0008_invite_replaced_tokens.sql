-- The tokens of invitation links that a resend replaced, kept so that an old link answers 410
-- `invite-replaced` instead of looking like a link that never existed. A row goes with its invite
-- (and so with its org). Same version and meaning as
-- migrations/sqlite/0008_invite_replaced_tokens.sql.

CREATE TABLE org_invite_replaced_tokens (
    -- SHA-256 of the replaced token.
    token_hash  bytea PRIMARY KEY,
    invite_id   uuid NOT NULL REFERENCES org_invites (id) ON DELETE CASCADE,
    replaced_at timestamptz NOT NULL
);
CREATE INDEX org_invite_replaced_tokens_invite ON org_invite_replaced_tokens (invite_id);
