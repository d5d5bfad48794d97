// Route protection (src/authorize.ts, src/express.ts) with tokens from the real server: an Express
// app and a plain node:http server, each refusal a 401/403 problem+json that says why.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";
import express from "express";

import { authorize, createVerifier } from "../dist/index.js";
import { tenantryExpress } from "../dist/express.js";
import { orgWithEveryRole, startTenantry } from "./support.mjs";
import { jwksServer, newKey, NOW, org, signToken } from "./keys.mjs";

async function listen(handler) {
  const server = createServer(handler);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

async function get(url, token, headers = {}) {
  const response = await fetch(url, { headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers } });
  const type = response.headers.get("content-type") ?? "";
  const body = type.includes("json") ? await response.json() : await response.text();
  return { status: response.status, type, body, headers: response.headers };
}

function assertRefused(answer, status, code) {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.match(answer.type, /^application\/problem\+json/);
  assert.equal(answer.body.type, `urn:tenantry:problem:${code}`);
  assert.equal(answer.body.status, status);
  assert.ok(answer.body.detail.length > 0);
}

describe("Express middleware against the real server's tokens", () => {
  let tenantry, app, people;
  before(async () => {
    tenantry = await startTenantry();
    people = await orgWithEveryRole(tenantry, "mw");
    const auth = tenantryExpress({ verifier: createVerifier({ issuer: tenantry.url }) });
    const server = express();
    server.get("/me", auth.requireUser(), (req, res) => res.json({ email: req.tenantry.claims.email }));
    server.get("/orgs/:orgId/projects", auth.requireOrgMember(), (req, res) => res.json({ org: req.tenantry.org.name }));
    server.post("/orgs/:orgId/projects", auth.requireOrgMember({ permission: "projects.write" }), (req, res) => res.status(201).json({}));
    server.get("/orgs/:orgId/settings", auth.requireOrgMember({ minRole: "Admin" }), (req, res) => res.json({ role: req.tenantry.org.role }));
    server.get("/active/settings", auth.requireOrgMember({ minRole: "Admin" }), (req, res) => res.json({ org: req.tenantry.org.org_id }));
    app = await listen(server);
  });
  after(async () => {
    await app?.close();
    await tenantry?.stop();
  });

  test("requireUser: no token is 401 with WWW-Authenticate, a bad one 401 with its code", async () => {
    const none = await get(`${app.url}/me`);
    assertRefused(none, 401, "unauthenticated");
    assert.equal(none.headers.get("www-authenticate"), "Bearer");
    assertRefused(await get(`${app.url}/me`, "not.a.token"), 401, "token-malformed");
    const token = people.member.tokens.access_token;
    assertRefused(await get(`${app.url}/me`, token.slice(0, -4) + "AAAA"), 401, "token-signature");
    assert.deepEqual((await get(`${app.url}/me`, token)).body, { email: people.member.email });
  });

  test("requireOrgMember: members pass, an outsider gets 403 not-a-member", async () => {
    for (const who of ["owner", "admin", "member", "viewer"]) {
      const answer = await get(`${app.url}/orgs/${people.orgId}/projects`, people[who].tokens.access_token);
      assert.equal(answer.status, 200, who);
    }
    assertRefused(await get(`${app.url}/orgs/${people.orgId}/projects`, people.outsider.tokens.access_token), 403, "not-a-member");
  });

  test("minRole Admin: Owner and Admin pass, Member and Viewer get 403 role-required", async () => {
    const url = `${app.url}/orgs/${people.orgId}/settings`;
    assert.deepEqual((await get(url, people.owner.tokens.access_token)).body, { role: "Owner" });
    assert.deepEqual((await get(url, people.admin.tokens.access_token)).body, { role: "Admin" });
    assertRefused(await get(url, people.member.tokens.access_token), 403, "role-required");
    assertRefused(await get(url, people.viewer.tokens.access_token), 403, "role-required");
  });

  test("permission projects.write: Member and above pass, Viewer gets 403 permission-denied", async () => {
    for (const who of ["owner", "admin", "member"]) {
      const response = await fetch(`${app.url}/orgs/${people.orgId}/projects`, {
        method: "POST",
        headers: { Authorization: `Bearer ${people[who].tokens.access_token}` },
      });
      assert.equal(response.status, 201, who);
    }
    const response = await fetch(`${app.url}/orgs/${people.orgId}/projects`, {
      method: "POST",
      headers: { Authorization: `Bearer ${people.viewer.tokens.access_token}` },
    });
    assertRefused({ status: response.status, type: response.headers.get("content-type"), body: await response.json() }, 403, "permission-denied");
  });

  test("without an org in the path: the X-Org-Id header, else the active org, else 403 no-org-selected", async () => {
    const url = `${app.url}/active/settings`;
    assertRefused(await get(url, people.admin.tokens.access_token), 403, "no-org-selected");
    assert.equal((await get(url, people.admin.tokens.access_token, { "X-Org-Id": people.orgId })).status, 200);
    const active = await fetch(`${tenantry.url}/api/v1/me/active-org`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${people.admin.tokens.access_token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ org_id: people.orgId }),
    });
    assert.equal(active.status, 200);
    const { access_token } = await active.json();
    assert.deepEqual((await get(url, access_token)).body, { org: people.orgId });
  });
});

describe("a deployment that requires 2FA of everyone (mfa.require_for_everyone)", () => {
  let tenantry, app, people;
  before(async () => {
    tenantry = await startTenantry({ TENANTRY_MFA__REQUIRE_FOR_EVERYONE: "true" });
    people = await orgWithEveryRole(tenantry, "mfa");
    const auth = tenantryExpress({ verifier: createVerifier({ issuer: tenantry.url }) });
    const server = express();
    server.get("/orgs/:orgId/projects", auth.requireOrgMember(), (req, res) => res.json({}));
    server.get("/me", auth.requireUser(), (req, res) => res.json({}));
    app = await listen(server);
  });
  after(async () => {
    await app?.close();
    await tenantry?.stop();
  });

  test("a member without 2FA is signed in, but refused in the org with 403 mfa-required", async () => {
    const token = people.owner.tokens.access_token;
    assert.equal(JSON.parse(Buffer.from(token.split(".")[1], "base64url")).orgs[people.orgId].mfa_required, true);
    assert.equal((await get(`${app.url}/me`, token)).status, 200);
    const refused = await get(`${app.url}/orgs/${people.orgId}/projects`, token);
    assertRefused(refused, 403, "mfa-required");
    assert.match(refused.body.detail, /two-factor/);
  });
});

describe("authorize() in a plain node:http server", () => {
  let jwks, key, app;
  before(async () => {
    key = await newKey("k1");
    jwks = await jwksServer([key]);
    const verifier = createVerifier({ issuer: jwks.issuer, now: () => new Date(NOW * 1000) });
    app = await listen(async (req, res) => {
      const orgId = new URL(req.url, "http://x").searchParams.get("org") ?? undefined;
      const result = await authorize(verifier, req.headers.authorization, { orgId, minRole: "Member" });
      if (!result.ok) {
        res.writeHead(result.status, { ...result.headers, "Content-Type": "application/problem+json" });
        res.end(JSON.stringify(result.problem));
        return;
      }
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ role: result.org.role }));
    });
  });
  after(async () => {
    await app?.close();
    await jwks?.close();
  });

  test("an org that requires 2FA the session has not met is refused with 403 mfa-required", async () => {
    const token = await signToken(key, jwks.issuer, {
      claims: { orgs: { o1: org("o1", "Admin", { mfa_required: true }), o2: org("o2", "Admin", { mfa_required: false }) } },
    });
    assertRefused(await get(`${app.url}/?org=o1`, token), 403, "mfa-required");
    assert.deepEqual((await get(`${app.url}/?org=o2`, token)).body, { role: "Admin" });
  });

  test("an org missing from a truncated token says to select it", async () => {
    const token = await signToken(key, jwks.issuer, { claims: { orgs: { o1: org("o1", "Member") }, orgs_truncated: true } });
    const answer = await get(`${app.url}/?org=o9`, token);
    assertRefused(answer, 403, "not-a-member");
    assert.match(answer.body.detail, /select it/);
    assertRefused(await get(`${app.url}/?org=o1`, await signToken(key, jwks.issuer, { claims: { orgs: { o1: org("o1", "Viewer") } } })), 403, "role-required");
  });

  test("an additional role of the required name counts", async () => {
    const token = await signToken(key, jwks.issuer, {
      claims: { orgs: { o1: org("o1", "Viewer", { additional_roles: ["Member"] }) } },
    });
    assert.equal((await get(`${app.url}/?org=o1`, token)).status, 200);
  });
});
