-- Enterprise SSO (docs/design.md §6, docs/security.md "SAML service provider"): one SAML connection
-- per org, the AuthnRequests this deployment sent and not yet answered (single use), and the ids of
-- the assertions already consumed (replay cache, across nodes). Same version and meaning as
-- migrations/postgres/0011_sso.sql.

CREATE TABLE sso_connections (
    id                  BLOB PRIMARY KEY NOT NULL,
    org_id              BLOB NOT NULL UNIQUE REFERENCES orgs (id) ON DELETE CASCADE,
    -- 'test': only the org's admins may sign in through it; 'live': everyone.
    status              TEXT NOT NULL CHECK (status IN ('test', 'live')),
    idp_entity_id       TEXT NOT NULL,
    idp_sso_url         TEXT NOT NULL,
    -- JSON array of the IdP's signing certificates, base64 of DER.
    idp_certificates    TEXT NOT NULL,
    -- Where the metadata came from, when it was fetched from a URL.
    metadata_url        TEXT,
    -- JSON: which attributes carry email, first and last name, groups (tenantry_sso::AttributeMapping).
    attribute_mapping   TEXT NOT NULL,
    allow_idp_initiated BOOLEAN NOT NULL DEFAULT FALSE,
    allow_sha1          BOOLEAN NOT NULL DEFAULT FALSE,
    -- The IdP enforces MFA: a sign-in through it satisfies the org's 2FA requirement.
    idp_enforces_mfa    BOOLEAN NOT NULL DEFAULT FALSE,
    version             INTEGER NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);

-- Members of an org that requires SSO sign in only through its connection.
ALTER TABLE orgs ADD COLUMN sso_required BOOLEAN NOT NULL DEFAULT FALSE;

-- An AuthnRequest sent and not yet answered. The response must name its id (InResponseTo) and come
-- back with the RelayState whose SHA-256 is kept here; used_at is set once, by one node.
CREATE TABLE sso_requests (
    id               TEXT PRIMARY KEY NOT NULL,
    connection_id    BLOB NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    relay_state_hash BLOB NOT NULL UNIQUE,
    return_to        TEXT,
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    used_at          TEXT
);
CREATE INDEX sso_requests_expires ON sso_requests (expires_at);

-- Assertion ids consumed, kept until the assertion could no longer be presented.
CREATE TABLE sso_assertion_ids (
    connection_id BLOB NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    assertion_id  TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    PRIMARY KEY (connection_id, assertion_id)
);
CREATE INDEX sso_assertion_ids_expires ON sso_assertion_ids (expires_at);
