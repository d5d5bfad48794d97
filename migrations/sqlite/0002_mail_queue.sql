-- The mail queue: emails written by use cases in their own transaction, sent later by the mail
-- worker with retries. Times are RFC 3339 UTC text written by the application.

CREATE TABLE mail_queue (
    id              BLOB PRIMARY KEY NOT NULL,
    to_address      TEXT NOT NULL,
    -- A template name under hosted-pages/emails/, e.g. verify_email.
    template        TEXT NOT NULL,
    -- The template's variables (JSON object). Emptied once the mail is sent or given up on, since
    -- links in it are bearer secrets.
    vars            TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    -- Claims so far; a claim counts as an attempt even if the worker dies before reporting.
    attempts        INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    -- While in the future, a worker holds the row; after it, the row may be claimed again.
    locked_until    TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX mail_queue_due ON mail_queue (state, next_attempt_at);
