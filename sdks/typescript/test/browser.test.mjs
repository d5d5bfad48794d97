// The browser helper (src/browser.ts) against the real server. Node's fetch keeps no cookies, so the
// `fetch` given to the helper adds what a browser would: the session cookie and the page's Origin.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { createVerifier } from "../dist/index.js";
import { createBrowserSession, SessionError } from "../dist/browser.js";
import { expectCall, signedInUser, startTenantry } from "./support.mjs";

const ORIGIN = "http://127.0.0.1:1";
let server, verifier;
before(async () => {
  server = await startTenantry({ TENANTRY_HTTP__ALLOWED_ORIGINS: `["${ORIGIN}"]` });
  verifier = createVerifier({ issuer: server.url });
});
after(() => server?.stop());

/** A browser's fetch for a page at ORIGIN holding `cookie` for Tenantry; counts the token requests. */
function browserFetch(cookie) {
  const calls = [];
  const fetchLike = async (input, init = {}) => {
    const url = String(input);
    calls.push(url);
    const headers = new Headers(init.headers);
    headers.set("Origin", ORIGIN);
    if (init.credentials === "include" && url.startsWith(server.url) && cookie) headers.set("Cookie", cookie);
    return fetch(url, { ...init, headers });
  };
  return { fetchLike, calls };
}

test("signed out, there is no token", async () => {
  const { fetchLike } = browserFetch(undefined);
  const session = createBrowserSession({ tenantryUrl: server.url, fetch: fetchLike });
  assert.equal(await session.getAccessToken(), null);
  assert.equal(await session.claims(), null);
  await assert.rejects(session.setActiveOrg(null), SessionError);
});

test("signed in, the token comes from the session, is cached, and is fetched again before it expires", async () => {
  const { cookie, email } = await signedInUser(server, "spa");
  const { fetchLike, calls } = browserFetch(cookie);
  let now = Date.now();
  const session = createBrowserSession({ tenantryUrl: server.url, fetch: fetchLike, now: () => now, refreshMarginSecs: 60 });

  const [first, same] = await Promise.all([session.getAccessToken(), session.getAccessToken()]);
  assert.equal(first, same);
  assert.equal(calls.length, 1, "concurrent callers share one request");
  const claims = await verifier.verify(first);
  assert.equal(claims.email, email);
  assert.equal((await session.claims()).email, email);
  assert.equal(calls.length, 1);

  // 900 s tokens: at 839 s the cached one still has more than the margin, at 841 s it has not.
  now += 839_000;
  assert.equal(await session.getAccessToken(), first);
  assert.equal(calls.length, 1);
  now += 2_000;
  await session.getAccessToken();
  assert.equal(calls.length, 2);
});

test("switching the active org gives a token that says so, and the session keeps it", async () => {
  const { cookie, tokens } = await signedInUser(server, "spa-orgs");
  const org = await expectCall(201, server.url, "POST", "/api/v1/orgs", { token: tokens.access_token, body: { name: "Spa Org" } });
  const { fetchLike } = browserFetch(cookie);
  const session = createBrowserSession({ tenantryUrl: server.url, fetch: fetchLike });
  const token = await session.setActiveOrg(org.org_id);
  assert.equal((await verifier.verify(token)).active_org_id, org.org_id);
  assert.equal(await session.getAccessToken(), token);
  // A new page load asks the session again: the choice was stored with the session.
  const reloaded = createBrowserSession({ tenantryUrl: server.url, fetch: fetchLike });
  assert.equal((await verifier.verify(await reloaded.getAccessToken())).active_org_id, org.org_id);
  await assert.rejects(session.setActiveOrg("0193b6a0-0000-7000-8000-000000000000"), (err) => err instanceof SessionError && err.status === 404);
});

test("session.fetch sends the token to the app's backend; signIn goes to the hosted page and back", async () => {
  const { cookie } = await signedInUser(server, "spa-fetch");
  const { fetchLike } = browserFetch(cookie);
  let went;
  const session = createBrowserSession({ tenantryUrl: `${server.url}/`, fetch: fetchLike, navigate: (url) => (went = url) });
  const me = await session.fetch(`${server.url}/api/v1/me`);
  assert.equal(me.status, 200);
  session.signIn("http://127.0.0.1:1/projects?tab=2");
  assert.equal(went, `${server.url}/sign-in?return_to=http%3A%2F%2F127.0.0.1%3A1%2Fprojects%3Ftab%3D2`);
});
