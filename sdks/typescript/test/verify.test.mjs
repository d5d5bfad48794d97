// Access-token verification (src/verify.ts): tokens issued by the real server, and tokens of our own
// issuer (test/keys.mjs) for rotation and for each rule of crates/tenantry-sdk/src/jose.rs.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { createVerifier, TokenError, JwksUnavailableError } from "../dist/index.js";
import { signedInUser, startTenantry } from "./support.mjs";
import { jwksServer, newKey, NOW, signToken } from "./keys.mjs";

const at = (secs) => ({ now: new Date(secs * 1000) });
async function refusedWith(promise, code) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof TokenError, `expected a TokenError, got ${err}`);
    assert.equal(err.code, code);
    return true;
  });
}
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
const withHeader = (token, header) => [b64(header), ...token.split(".").slice(1)].join(".");

describe("tokens from the real server", () => {
  let server, token, claims;
  before(async () => {
    server = await startTenantry();
    ({ tokens: { access_token: token } } = await signedInUser(server, "verify"));
    claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url"));
  });
  after(() => server?.stop());

  test("a fresh token verifies and gives its claims", async () => {
    const verifier = createVerifier({ issuer: server.url });
    const verified = await verifier.verify(token);
    assert.equal(verified.email, "verify@example.test");
    assert.equal(verified.iss, server.url);
    assert.deepEqual(verified.orgs, {});
  });

  test("exp and iat hold within 60 s of the clock, not beyond", async () => {
    const verifier = createVerifier({ issuer: server.url });
    await verifier.verify(token, at(claims.exp + 59));
    await refusedWith(verifier.verify(token, at(claims.exp + 60)), "token-expired");
    await verifier.verify(token, at(claims.iat - 60));
    await refusedWith(verifier.verify(token, at(claims.iat - 61)), "token-expired");
  });

  test("another issuer or an audience the token lacks is refused", async () => {
    await refusedWith(createVerifier({ issuer: "http://elsewhere.test", jwksUrl: `${server.url}/.well-known/jwks.json` }).verify(token), "token-issuer");
    await refusedWith(createVerifier({ issuer: server.url, audience: "billing" }).verify(token), "token-audience");
  });

  test("a changed payload or signature does not verify", async () => {
    const verifier = createVerifier({ issuer: server.url });
    const [h, , s] = token.split(".");
    await refusedWith(verifier.verify([h, b64({ ...claims, email: "eve@example.test" }), s].join(".")), "token-signature");
    const sig = Buffer.from(s, "base64url");
    sig[0] ^= 1;
    await refusedWith(verifier.verify([h, token.split(".")[1], sig.toString("base64url")].join(".")), "token-signature");
  });

  test("the header rules come first: alg, embedded keys, crit, typ, kid", async () => {
    const verifier = createVerifier({ issuer: server.url });
    const header = JSON.parse(Buffer.from(token.split(".")[0], "base64url"));
    await refusedWith(verifier.verify(withHeader(token, { ...header, alg: "none" })), "token-alg");
    await refusedWith(verifier.verify(withHeader(token, { ...header, alg: "HS256" })), "token-alg");
    await refusedWith(verifier.verify(withHeader(token, { ...header, jku: "http://evil.test/jwks" })), "token-kid");
    await refusedWith(verifier.verify(withHeader(token, { ...header, x5c: null })), "token-kid");
    await refusedWith(verifier.verify(withHeader(token, { ...header, crit: ["exp"] })), "token-malformed");
    await refusedWith(verifier.verify(withHeader(token, { ...header, typ: "JWT" })), "token-type");
    await refusedWith(verifier.verify(withHeader(token, { ...header, kid: undefined })), "token-kid");
    // RFC 9068: the media-type form, in any case, is the same type (and then the signature decides).
    await refusedWith(verifier.verify(withHeader(token, { ...header, typ: "application/AT+JWT" })), "token-signature");
    await refusedWith(verifier.verify("a.b"), "token-malformed");
    await refusedWith(verifier.verify("x".repeat(64 * 1024 + 1)), "token-malformed");
  });
});

describe("tokens of our own issuer", () => {
  let jwks, keyA, keyB;
  before(async () => {
    [keyA, keyB] = await Promise.all([newKey("key-a"), newKey("key-b")]);
    jwks = await jwksServer([keyA]);
  });
  after(() => jwks?.close());

  test("a rotation is followed: an unknown kid refetches the JWKS", async () => {
    const verifier = createVerifier({ issuer: jwks.issuer, cooldownMs: 0 });
    await verifier.verify(await signToken(keyA, jwks.issuer), at(NOW));
    const fetches = jwks.state.fetches;
    jwks.state.keys = [keyA, keyB];
    await verifier.verify(await signToken(keyB, jwks.issuer), at(NOW));
    assert.equal(jwks.state.fetches, fetches + 1);
    await refusedWith(verifier.verify(await signToken({ ...keyB, kid: "key-c" }, jwks.issuer), at(NOW)), "token-kid");
    jwks.state.keys = [keyA];
  });

  test("while the JWKS cannot be fetched, the keys fetched last keep verifying", async () => {
    const verifier = createVerifier({ issuer: jwks.issuer, cacheMaxAgeMs: 0 });
    await verifier.verify(await signToken(keyA, jwks.issuer), at(NOW));
    jwks.state.down = true;
    try {
      await verifier.verify(await signToken(keyA, jwks.issuer), at(NOW));
      await assert.rejects(
        createVerifier({ issuer: jwks.issuer }).verify(await signToken(keyA, jwks.issuer), at(NOW)),
        JwksUnavailableError,
      );
    } finally {
      jwks.state.down = false;
    }
  });

  test("aud: the expected one, or none on both sides", async () => {
    const plain = createVerifier({ issuer: jwks.issuer });
    const billing = createVerifier({ issuer: jwks.issuer, audience: "billing" });
    const withAud = await signToken(keyA, jwks.issuer, { claims: { aud: "billing" } });
    await billing.verify(withAud, at(NOW));
    await refusedWith(plain.verify(withAud, at(NOW)), "token-audience");
    await refusedWith(billing.verify(await signToken(keyA, jwks.issuer), at(NOW)), "token-audience");
    await refusedWith(billing.verify(await signToken(keyA, jwks.issuer, { claims: { aud: ["billing"] } }), at(NOW)), "token-malformed");
  });

  test("nbf in the future beyond the skew is refused", async () => {
    const verifier = createVerifier({ issuer: jwks.issuer });
    await verifier.verify(await signToken(keyA, jwks.issuer, { claims: { nbf: NOW + 60 } }), at(NOW));
    await refusedWith(verifier.verify(await signToken(keyA, jwks.issuer, { claims: { nbf: NOW + 61 } }), at(NOW)), "token-expired");
  });

  test("a small-order key in the JWKS, or a small-order R, does not verify (OpenSSL alone accepts both)", async () => {
    const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
    const neutral = [1, ...new Array(31).fill(0)];
    const weak = { kid: "weak", jwk: { kty: "OKP", crv: "Ed25519", x: b64url(neutral), kid: "weak", alg: "EdDSA", use: "sig" } };
    const keys = jwks.state.keys;
    jwks.state.keys = [keyA, weak];
    try {
      const verifier = createVerifier({ issuer: jwks.issuer, cooldownMs: 0 });
      // R = the neutral point, s = 0: valid for any message under the neutral key.
      const header = b64({ alg: "EdDSA", typ: "at+jwt", kid: "weak" });
      const payload = (await signToken(keyA, jwks.issuer)).split(".")[1];
      const forged = `${header}.${payload}.${b64url([...neutral, ...new Array(32).fill(0)])}`;
      await refusedWith(verifier.verify(forged, at(NOW)), "token-signature");
      // The same key with an R of large order still names a key that is not valid.
      const otherR = (await signToken(keyA, jwks.issuer)).split(".")[2];
      await refusedWith(verifier.verify(`${header}.${payload}.${otherR}`, at(NOW)), "token-kid");
      // The strong key of the same set still verifies.
      await verifier.verify(await signToken(keyA, jwks.issuer), at(NOW));
    } finally {
      jwks.state.keys = keys;
    }
  });

  test("claims without the documented shape are malformed", async () => {
    const verifier = createVerifier({ issuer: jwks.issuer });
    for (const claims of [{ sid: undefined }, { email_verified: "yes" }, { orgs: [] }, { orgs: { o: { org_id: "o" } } }, { exp: undefined }]) {
      await refusedWith(verifier.verify(await signToken(keyA, jwks.issuer, { claims }), at(NOW)), "token-malformed");
    }
  });
});
