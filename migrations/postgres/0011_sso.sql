-- Enterprise SSO (docs/design.md §6, docs/security.md "SAML service provider"): one SAML connection
-- per org, the AuthnRequests this deployment sent and not yet answered (single use), and the ids of
-- the assertions already consumed (replay cache, across nodes). Same version and meaning as
-- migrations/sqlite/0011_sso.sql.

CREATE TABLE sso_connections (
    id                  uuid PRIMARY KEY,
    org_id              uuid NOT NULL UNIQUE REFERENCES orgs (id) ON DELETE CASCADE,
    -- 'test': only the org's admins may sign in through it; 'live': everyone.
    status              text NOT NULL CHECK (status IN ('test', 'live')),
    idp_entity_id       text NOT NULL,
    idp_sso_url         text NOT NULL,
    -- JSON array of the IdP's signing certificates, base64 of DER.
    idp_certificates    jsonb NOT NULL,
    -- Where the metadata came from, when it was fetched from a URL.
    metadata_url        text,
    -- JSON: which attributes carry email, first and last name, groups (tenantry_sso::AttributeMapping).
    attribute_mapping   jsonb NOT NULL,
    allow_idp_initiated boolean NOT NULL DEFAULT false,
    allow_sha1          boolean NOT NULL DEFAULT false,
    -- The IdP enforces MFA: a sign-in through it satisfies the org's 2FA requirement.
    idp_enforces_mfa    boolean NOT NULL DEFAULT false,
    version             bigint NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);

-- Members of an org that requires SSO sign in only through its connection.
ALTER TABLE orgs ADD COLUMN sso_required boolean NOT NULL DEFAULT false;

-- An AuthnRequest sent and not yet answered. The response must name its id (InResponseTo) and come
-- back with the RelayState whose SHA-256 is kept here; used_at is set once, by one node.
CREATE TABLE sso_requests (
    id               text PRIMARY KEY,
    connection_id    uuid NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    relay_state_hash bytea NOT NULL UNIQUE,
    return_to        text,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    used_at          timestamptz
);
CREATE INDEX sso_requests_expires ON sso_requests (expires_at);

-- Assertion ids consumed, kept until the assertion could no longer be presented.
CREATE TABLE sso_assertion_ids (
    connection_id uuid NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    assertion_id  text NOT NULL,
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (connection_id, assertion_id)
);
CREATE INDEX sso_assertion_ids_expires ON sso_assertion_ids (expires_at);
