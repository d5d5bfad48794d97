-- Webhook delivery: endpoints (URL, event filter, sealed secrets), one message per event and
-- matching endpoint, and one row per delivery attempt. Times are RFC 3339 UTC text written by the
-- application. Same version and meaning as migrations/postgres/0005_webhooks.sql.

CREATE TABLE webhook_endpoints (
    id                     BLOB PRIMARY KEY NOT NULL,
    url                    TEXT NOT NULL,
    description            TEXT,
    -- JSON array of event type names; empty means every event type.
    event_types            TEXT NOT NULL,
    disabled               BOOLEAN NOT NULL DEFAULT FALSE,
    -- The current signing secret, sealed (AES-256-GCM, the row id as associated data).
    secret_sealed          BLOB NOT NULL,
    -- The secret before the last rotation, which keeps signing until previous_expires_at.
    previous_secret_sealed BLOB,
    previous_expires_at    TEXT,
    version                INTEGER NOT NULL,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL
);

-- Fan-out marker: an event is copied into webhook_messages once, in the transaction that sets this.
-- Events written before webhooks existed predate every endpoint.
ALTER TABLE outbox_events ADD COLUMN fanned_out_at TEXT;
UPDATE outbox_events SET fanned_out_at = occurred_at;
CREATE INDEX outbox_events_fanout_pending ON outbox_events (id) WHERE fanned_out_at IS NULL;

CREATE TABLE webhook_messages (
    id              BLOB PRIMARY KEY NOT NULL,
    -- The webhook-id header: the outbox event's id (or a test message's own id).
    event_id        BLOB NOT NULL,
    endpoint_id     BLOB NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_type      TEXT NOT NULL,
    -- The exact body sent on every attempt.
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    -- Claims so far; a claim counts as an attempt even if the worker dies before reporting.
    attempts        INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    -- While in the future, a worker holds the row; after it, the row may be claimed again.
    locked_until    TEXT,
    last_status     INTEGER,
    last_error      TEXT,
    occurred_at     TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT
);
CREATE UNIQUE INDEX webhook_messages_event_endpoint ON webhook_messages (event_id, endpoint_id);
CREATE INDEX webhook_messages_due ON webhook_messages (state, next_attempt_at);
CREATE INDEX webhook_messages_endpoint ON webhook_messages (endpoint_id, id);

CREATE TABLE webhook_attempts (
    id            BLOB PRIMARY KEY NOT NULL,
    message_id    BLOB NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    attempted_at  TEXT NOT NULL,
    -- The HTTP status, or NULL when no response came (timeout, connection error, refused target).
    status        INTEGER,
    error         TEXT,
    latency_ms    INTEGER NOT NULL,
    -- The first 1 KiB of the response body, as lossy UTF-8.
    response_body TEXT
);
CREATE INDEX webhook_attempts_message ON webhook_attempts (message_id, id);
