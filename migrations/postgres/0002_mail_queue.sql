-- The mail queue: emails written by use cases in their own transaction, sent later by the mail
-- worker with retries. Same version and meaning as migrations/sqlite/0002_mail_queue.sql.

CREATE TABLE mail_queue (
    id              uuid PRIMARY KEY,
    to_address      text NOT NULL,
    -- A template name under hosted-pages/emails/, e.g. verify_email.
    template        text NOT NULL,
    -- The template's variables (JSON object). Emptied once the mail is sent or given up on, since
    -- links in it are bearer secrets.
    vars            jsonb NOT NULL,
    state           text NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    -- Claims so far; a claim counts as an attempt even if the worker dies before reporting.
    attempts        integer NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    -- While in the future, a worker holds the row; after it, the row may be claimed again.
    locked_until    timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz
);
CREATE INDEX mail_queue_due ON mail_queue (state, next_attempt_at);
