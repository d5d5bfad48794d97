-- Organizations (DESIGN §4): orgs, their domains, members, invitations, ownership transfers, and
-- the deployment's role configuration when set through the backend API.
-- Same version and meaning as migrations/postgres/0004_orgs.sql.

CREATE TABLE orgs (
    id                  BLOB PRIMARY KEY NOT NULL,
    name                TEXT NOT NULL,
    -- Lowercased name, for prefix search in byte order.
    name_normalized     TEXT NOT NULL,
    slug                TEXT NOT NULL UNIQUE,
    metadata            TEXT NOT NULL DEFAULT '{}',
    -- NULL: unlimited. Counts active members plus pending invites.
    max_users           INTEGER,
    -- Active members, kept in the same transaction as every membership change.
    member_count        INTEGER NOT NULL DEFAULT 0,
    -- Users with a verified email at one of the org's domains join at the lowest role.
    domain_auto_join    BOOLEAN NOT NULL DEFAULT FALSE,
    -- Only users with an email at one of the org's domains may be invited or added.
    domain_restrict     BOOLEAN NOT NULL DEFAULT FALSE,
    -- DESIGN §4.15 (behaviour in later work): users of an isolated org are a pool of their own.
    isolated            BOOLEAN NOT NULL DEFAULT FALSE,
    -- DESIGN §4.14 (behaviour in later work): 2FA required from this time, enforced after the grace.
    mfa_required_at     TEXT,
    mfa_grace_until     TEXT,
    -- The user who created the org through the end-user API; NULL when the backend created it.
    created_by          BLOB,
    version             INTEGER NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX orgs_name ON orgs (name_normalized, id);

-- A domain belongs to at most one org.
CREATE TABLE org_domains (
    domain     TEXT PRIMARY KEY NOT NULL,
    org_id     BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL
);
CREATE INDEX org_domains_org ON org_domains (org_id);

-- Active memberships. Removing or leaving deletes the row; the audit trail keeps the history.
CREATE TABLE org_members (
    id               BLOB PRIMARY KEY NOT NULL,
    org_id           BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id          BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role             TEXT NOT NULL,
    -- JSON array of additional role names.
    additional_roles TEXT NOT NULL DEFAULT '[]',
    is_creator       BOOLEAN NOT NULL DEFAULT FALSE,
    version          INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (org_id, user_id)
);
CREATE INDEX org_members_org ON org_members (org_id, id);
CREATE INDEX org_members_org_role ON org_members (org_id, role, id);
CREATE INDEX org_members_user ON org_members (user_id, id);

CREATE TABLE org_invites (
    id               BLOB PRIMARY KEY NOT NULL,
    org_id           BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email            TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    role             TEXT NOT NULL,
    additional_roles TEXT NOT NULL DEFAULT '[]',
    -- The inviting user; NULL when the backend invited.
    invited_by       BLOB,
    -- SHA-256 of the emailed token; replaced on resend.
    token_hash       BLOB NOT NULL UNIQUE,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'declined', 'revoked', 'expired')),
    expires_at       TEXT NOT NULL,
    -- The user who accepted or declined.
    answered_by      BLOB,
    version          INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
-- One pending invite per address and org.
CREATE UNIQUE INDEX org_invites_pending ON org_invites (org_id, email_normalized) WHERE state = 'pending';
CREATE INDEX org_invites_org ON org_invites (org_id, id);

CREATE TABLE ownership_transfers (
    id           BLOB PRIMARY KEY NOT NULL,
    org_id       BLOB NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    from_user_id BLOB NOT NULL,
    to_user_id   BLOB NOT NULL,
    -- SHA-256 of the token emailed to the initiating owner.
    token_hash   BLOB NOT NULL UNIQUE,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'confirmed', 'cancelled', 'expired')),
    expires_at   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX ownership_transfers_pending ON ownership_transfers (org_id) WHERE state = 'pending';

-- The deployment's roles and app permissions as set through the backend API (one row); without
-- it the configuration file's roles apply.
CREATE TABLE role_config (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    config     TEXT NOT NULL,
    version    INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);

-- Sessions acting in an org end with the org, or with the member's place in it.
CREATE INDEX sessions_active_org ON sessions (active_org_id) WHERE active_org_id IS NOT NULL;

-- "What did we send to this address?": support tooling and the benchmark's invite round trip.
CREATE INDEX mail_queue_to ON mail_queue (to_address, id);
