-- Same version as migrations/postgres/0006_outbox_notify.sql, which makes PostgreSQL notify every
-- node's webhook worker when events commit. An SQLite database has one server process, which
-- wakes its own worker after each write; nothing to do here.
SELECT 1;
