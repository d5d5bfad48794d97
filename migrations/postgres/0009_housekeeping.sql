-- Housekeeping: a lease per background job that one node at a time runs (the sweeper), indexes
-- that let the sweeper find expired rows in small batches, and 'gone' as a reason an endpoint is
-- disabled (its receiver answered 410). Same version and meaning as
-- migrations/sqlite/0009_housekeeping.sql.

-- One row per job; a node runs the job while it holds the lease (expires_at in the future). A
-- node takes it with UPDATE … WHERE expires_at < now (or it is the holder already), so one node
-- at a time wins; a holder that dies lets its lease run out.
CREATE TABLE job_leases (
    name       text PRIMARY KEY,
    holder     text NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX email_tokens_expires ON email_tokens (expires_at);
CREATE INDEX throttles_window_start ON throttles (window_start);
-- Invites whose token hash is still a SHA-256 (32 bytes): the sweeper replaces it, once the invite
-- has long expired, with the invite's own 16-byte id, which no token hashes to.
CREATE INDEX org_invites_token_expires ON org_invites (expires_at) WHERE length(token_hash) = 32;
CREATE INDEX webhook_messages_delivered ON webhook_messages (delivered_at) WHERE state = 'delivered';

ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_disabled_reason_check;
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_disabled_reason_check
    CHECK (disabled_reason IN ('manual', 'failing', 'gone'));
