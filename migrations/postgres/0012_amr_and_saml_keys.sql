-- How a session was signed in (docs/design.md §4.14, §6): its `amr` values as its tokens carry
-- them, and the org whose 2FA requirement the sign-in satisfies through an IdP that enforces MFA;
-- and each SAML connection's encryption key pair.
-- Same version and meaning as migrations/sqlite/0012_amr_and_saml_keys.sql.

-- RFC 8176 values, space-separated, in the order they were proven: 'pwd', 'pwd otp', 'saml mfa',
-- 'email'; '' for a session the backend API opened for a user (nothing was proven).
ALTER TABLE sessions ADD COLUMN amr text NOT NULL DEFAULT 'pwd';
UPDATE sessions SET amr = 'pwd otp' WHERE mfa_level >= 2;
UPDATE sessions SET amr = 'saml' WHERE sso_connection_id IS NOT NULL;

-- Set when the session came through a SAML connection whose IdP enforces MFA: that connection's
-- org counts the session as two-factor.
ALTER TABLE sessions ADD COLUMN mfa_org_id uuid REFERENCES orgs (id) ON DELETE SET NULL;

-- A SAML connection's own RSA key pair for encrypted assertions: the private key (PKCS#8 PEM)
-- sealed with the master key (AES-256-GCM, the connection id as associated data), and its
-- self-signed certificate (base64 of DER), which the SP metadata publishes for encryption.
-- Made at set-up, kept when the IdP settings are replaced.
ALTER TABLE sso_connections ADD COLUMN sp_key_sealed bytea;
ALTER TABLE sso_connections ADD COLUMN sp_certificate text;
