-- Endpoint health: when the current unbroken run of failed attempts began (NULL after a success),
-- and why an endpoint is disabled ('manual' by the API, 'failing' by the worker after failing
-- continuously for webhooks.disable_after_failing_secs). Same version and meaning as
-- migrations/postgres/0007_webhook_endpoint_health.sql.

ALTER TABLE webhook_endpoints ADD COLUMN failing_since TEXT;
ALTER TABLE webhook_endpoints ADD COLUMN disabled_reason TEXT
    CHECK (disabled_reason IN ('manual', 'failing'));
UPDATE webhook_endpoints SET disabled_reason = 'manual' WHERE disabled;
