-- Wake every node's webhook worker when events commit. A statement-level trigger notifies the
-- channel `tenantry_outbox`; PostgreSQL delivers the notification when the transaction commits
-- (never for one that rolls back) and folds repeats within a transaction into one.
-- Same version as migrations/sqlite/0006_outbox_notify.sql, where there is nothing to do.

CREATE FUNCTION tenantry_notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tenantry_outbox', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_events_notify AFTER INSERT ON outbox_events
    FOR EACH STATEMENT EXECUTE FUNCTION tenantry_notify_outbox();
