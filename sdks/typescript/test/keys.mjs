// An issuer of our own for the cases the real server does not produce on demand (a key rotation
// within a test, claims such as `mfa_required`): Ed25519 keys made here, a JWKS served over real HTTP
// on a free loopback port, tokens signed with jose the way Tenantry signs them.
import { createServer } from "node:http";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

export async function newKey(kid) {
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: "EdDSA", use: "sig" };
  return { kid, jwk, privateKey };
}

/** A JWKS server whose key list can be changed, and which can refuse to answer. */
export async function jwksServer(keys) {
  const state = { keys, fetches: 0, down: false };
  const server = createServer((req, res) => {
    state.fetches += 1;
    if (state.down) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: state.keys.map((k) => k.jwk) }));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  return { state, issuer, close: () => new Promise((resolve) => server.close(resolve)) };
}

export const NOW = 1_800_000_000;

/** A token shaped like Tenantry's, signed by `key`; `claims` and `header` override the defaults. */
export async function signToken(key, issuer, { claims = {}, header = {} } = {}) {
  const payload = {
    iss: issuer,
    sub: "0193b6a0-0000-7000-8000-000000000001",
    iat: NOW,
    exp: NOW + 900,
    jti: "0193b6a0-0000-7000-8000-0000000000aa",
    sid: "0193b6a0-0000-7000-8000-0000000000bb",
    email: "ada@example.test",
    email_verified: true,
    orgs: {},
    ...claims,
  };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return new SignJWT(payload).setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid: key.kid, ...header }).sign(key.privateKey);
}

export function org(orgId, role, extra = {}) {
  const below = { Owner: ["Admin", "Member", "Viewer"], Admin: ["Member", "Viewer"], Member: ["Viewer"], Viewer: [] };
  return {
    org_id: orgId,
    name: `Org ${orgId}`,
    slug: `org-${orgId}`,
    role,
    inherited_roles: below[role] ?? [],
    additional_roles: [],
    permissions: [],
    ...extra,
  };
}
