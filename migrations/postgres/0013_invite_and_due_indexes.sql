-- Two indexes that hot reads were missing. Same version and meaning as
-- migrations/sqlite/0013_invite_and_due_indexes.sql.

-- The pending invites addressed to one email across orgs (what a signed-in person is shown to
-- accept or decline), found through an index instead of a scan of every org's invites.
CREATE INDEX org_invites_to_address ON org_invites (email_normalized, id) WHERE state = 'pending';

-- The webhook claim takes due messages in (next_attempt_at, id) order. The old index ordered them
-- by next_attempt_at only, so when many messages fell due at the same instant (a fan-out writes a
-- whole batch with one time), every claim read and sorted all of them to take the first hundred:
-- a claim's cost grew with the backlog.
DROP INDEX webhook_messages_due;
CREATE INDEX webhook_messages_due ON webhook_messages (state, next_attempt_at, id);
