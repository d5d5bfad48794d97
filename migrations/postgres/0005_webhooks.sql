-- Webhook delivery: endpoints (URL, event filter, sealed secrets), one message per event and
-- matching endpoint, and one row per delivery attempt. Same version and meaning as
-- migrations/sqlite/0005_webhooks.sql.

CREATE TABLE webhook_endpoints (
    id                     uuid PRIMARY KEY,
    url                    text NOT NULL,
    description            text,
    -- JSON array of event type names; empty means every event type.
    event_types            jsonb NOT NULL,
    disabled               boolean NOT NULL DEFAULT false,
    -- The current signing secret, sealed (AES-256-GCM, the row id as associated data).
    secret_sealed          bytea NOT NULL,
    -- The secret before the last rotation, which keeps signing until previous_expires_at.
    previous_secret_sealed bytea,
    previous_expires_at    timestamptz,
    version                bigint NOT NULL,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL
);

-- Fan-out marker: an event is copied into webhook_messages once, in the transaction that sets this.
-- Events written before webhooks existed predate every endpoint.
ALTER TABLE outbox_events ADD COLUMN fanned_out_at timestamptz;
UPDATE outbox_events SET fanned_out_at = occurred_at;
CREATE INDEX outbox_events_fanout_pending ON outbox_events (id) WHERE fanned_out_at IS NULL;

CREATE TABLE webhook_messages (
    id              uuid PRIMARY KEY,
    -- The webhook-id header: the outbox event's id (or a test message's own id).
    event_id        uuid NOT NULL,
    endpoint_id     uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_type      text NOT NULL,
    -- The exact body sent on every attempt (text, not jsonb: the bytes must not change).
    payload         text NOT NULL,
    state           text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    -- Claims so far; a claim counts as an attempt even if the worker dies before reporting.
    attempts        integer NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    -- While in the future, a worker holds the row; after it, the row may be claimed again.
    locked_until    timestamptz,
    last_status     integer,
    last_error      text,
    occurred_at     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    delivered_at    timestamptz
);
CREATE UNIQUE INDEX webhook_messages_event_endpoint ON webhook_messages (event_id, endpoint_id);
CREATE INDEX webhook_messages_due ON webhook_messages (state, next_attempt_at);
CREATE INDEX webhook_messages_endpoint ON webhook_messages (endpoint_id, id);

CREATE TABLE webhook_attempts (
    id            uuid PRIMARY KEY,
    message_id    uuid NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    attempted_at  timestamptz NOT NULL,
    -- The HTTP status, or NULL when no response came (timeout, connection error, refused target).
    status        integer,
    error         text,
    latency_ms    bigint NOT NULL,
    -- The first 1 KiB of the response body, as lossy UTF-8.
    response_body text
);
CREATE INDEX webhook_attempts_message ON webhook_attempts (message_id, id);
