// The example end to end: the real Tenantry server (tenantry serve), this app (node dist/server.js),
// its routes through HTTP with real tokens, and its page in Chromium (playwright-core).
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { freePort, orgWithEveryRole, refreshed, startTenantry } from "../../../sdks/typescript/test/support.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const run = promisify(execFile);
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

let tenantry, app, people;

async function call(method, path, token, body) {
  const response = await fetch(app.url + path, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, type: response.headers.get("content-type"), body: await response.json() };
}

before(async () => {
  // The app's origin must be allowed by Tenantry before either starts: pick its port first.
  const appPort = await freePort();
  tenantry = await startTenantry({ TENANTRY_HTTP__ALLOWED_ORIGINS: `["http://127.0.0.1:${appPort}"]` });
  const env = { TENANTRY_URL: tenantry.url, TENANTRY_API_KEY: tenantry.apiKey };
  const first = await run(process.execPath, ["dist/setup-roles.js"], { cwd: root, env: { ...process.env, ...env } });
  assert.match(first.stdout, /now holds projects.write/);
  const again = await run(process.execPath, ["dist/setup-roles.js"], { cwd: root, env: { ...process.env, ...env } });
  assert.match(again.stdout, /already holds projects.write/);
  people = await orgWithEveryRole(tenantry, "journey");
  app = await startAppOn(appPort, env);
});
after(async () => {
  await app?.stop();
  await tenantry?.stop();
});

async function startAppOn(port, env) {
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ["dist/server.js"], {
    cwd: root,
    env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  for (let attempt = 0; attempt < 200 && child.exitCode === null; attempt++) {
    try {
      if ((await fetch(`${url}/config.json`)).ok) {
        return { url, stop: async () => (child.exitCode === null ? (child.kill("SIGTERM"), exited) : undefined) };
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill("SIGKILL");
  throw new Error("the example did not start");
}

describe("the routes, with tokens from the real server", () => {
  const token = (who) => people[who].tokens.access_token;
  const projects = () => `/api/orgs/${people.orgId}/projects`;

  test("a signed-in user: 401 problem+json without a token", async () => {
    const refused = await call("GET", "/api/me");
    assert.equal(refused.status, 401);
    assert.match(refused.type, /application\/problem\+json/);
    assert.equal(refused.body.type, "urn:tenantry:problem:unauthenticated");
    const me = await call("GET", "/api/me", token("member"));
    assert.equal(me.status, 200);
    assert.equal(me.body.email, people.member.email);
    assert.deepEqual(me.body.orgs.map((o) => o.role), ["Member"]);
  });

  test("an org member: every role reads projects, an outsider gets 403 not-a-member", async () => {
    for (const who of ["owner", "admin", "member", "viewer"]) {
      assert.equal((await call("GET", projects(), token(who))).status, 200, who);
    }
    const refused = await call("GET", projects(), token("outsider"));
    assert.equal(refused.status, 403);
    assert.equal(refused.body.type, "urn:tenantry:problem:not-a-member");
  });

  test("projects.write: Member adds a project, Viewer gets 403 permission-denied", async () => {
    const added = await call("POST", projects(), token("member"), { name: "Apollo" });
    assert.equal(added.status, 201);
    assert.equal(added.body.created_by, people.member.email);
    const refused = await call("POST", projects(), token("viewer"), { name: "Gemini" });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.type, "urn:tenantry:problem:permission-denied");
    assert.deepEqual((await call("GET", projects(), token("viewer"))).body.projects.map((p) => p.name), ["Apollo"]);
  });

  test("an Admin: the members route answers 403 to a Member and 200 to an Admin", async () => {
    const path = `/api/orgs/${people.orgId}/members`;
    const refused = await call("GET", path, token("member"));
    assert.equal(refused.status, 403);
    assert.equal(refused.body.type, "urn:tenantry:problem:role-required");
    const members = await call("GET", path, token("admin"));
    assert.equal(members.status, 200);
    assert.deepEqual(members.body.members.map((m) => m.role).sort(), ["Admin", "Member", "Owner", "Viewer"]);
  });

  test("npm run member: the Admin route answers 403 to a Member and 200 once they are made Admin", async () => {
    const env = { ...process.env, TENANTRY_URL: tenantry.url, TENANTRY_API_KEY: tenantry.apiKey };
    const member = (role) => run(process.execPath, ["dist/member.js", people.orgId, people.outsider.email, role], { cwd: root, env });
    const path = `/api/orgs/${people.orgId}/members`;
    assert.match((await member("Member")).stdout, /joined .* as Member/);
    let tokens = await refreshed(tenantry, people.outsider.tokens);
    assert.equal((await call("GET", path, tokens.access_token)).status, 403);
    assert.match((await member("Admin")).stdout, /is now Admin/);
    tokens = await refreshed(tenantry, tokens);
    assert.equal((await call("GET", path, tokens.access_token)).status, 200);
    people.outsider.tokens = tokens;
    await assert.rejects(member("Emperor"), (err) => err.code === 1 && /422|404|409|400/.test(err.stderr));
  });

  test("creating an org goes to Tenantry on the user's behalf", async () => {
    const created = await call("POST", "/api/orgs", token("outsider"), { name: "Outsider Co" });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.name, "Outsider Co");
    const garbled = await fetch(`${app.url}/api/orgs`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token("outsider")}`, "Content-Type": "application/json" },
      body: "{not json",
    });
    assert.equal(garbled.status, 400);
    assert.match(garbled.headers.get("content-type"), /application\/problem\+json/);
    const invalid = await call("POST", "/api/orgs", token("outsider"), { name: "" });
    assert.equal(invalid.status, 422);
    assert.match(invalid.type, /application\/problem\+json/);
  });
});

describe("the page in Chromium", { skip: !existsSync(CHROMIUM) && !process.env.CI && `no ${CHROMIUM}` }, () => {
  let browser;
  before(async () => {
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
  });
  after(() => browser?.close());

  /** Waits for `locator`; on a timeout the error says what the page's status line shows. */
  async function see(page, locator) {
    try {
      await locator.waitFor({ state: "visible", timeout: 10000 });
    } catch (err) {
      const status = await page.locator("#status").textContent().catch(() => "?");
      throw new Error(`${err.message.split("\n")[0]}; the page says: ${status}`);
    }
  }

  /** A fresh browser on the app, signed out. */
  async function freshPage() {
    const page = await (await browser.newContext()).newPage();
    await page.goto(app.url, { timeout: 15000 });
    return page;
  }

  /** Fills and sends the hosted sign-in form the page is on. */
  async function submitSignIn(page, who) {
    await page.fill("input[name=email]", people[who].email);
    await page.fill("input[name=password]", people[who].password);
    await page.click("form[action='/sign-in'] button[type=submit]");
  }

  /**
   * Signs `who` in on Tenantry's hosted page, then opens the app, whose page gets the token from
   * the session. (The hosted page's return to the app is the todo test below.)
   */
  async function signInAs(who) {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${tenantry.url}/sign-in`, { timeout: 15000 });
    await submitSignIn(page, who);
    await page.waitForURL((url) => !url.pathname.startsWith("/sign-in"), { timeout: 10000 });
    await page.goto(app.url, { timeout: 15000 });
    await see(page, page.locator("#email").filter({ hasText: people[who].email }));
    return page;
  }

  test("signed out, the page links to the hosted sign-in page, which comes back here", async () => {
    const page = await freshPage();
    await see(page, page.locator("#sign-in"));
    const href = await page.locator("#sign-in").getAttribute("href");
    assert.equal(href, `${tenantry.url}/sign-in?return_to=${encodeURIComponent(`${app.url}/`)}`);
    await page.context().close();
  });

  test(
    "the app's sign-in link goes to the hosted page, which comes back to the app",
    async () => {
      const page = await freshPage();
      await see(page, page.locator("#sign-in"));
      await page.click("#sign-in");
      await page.waitForURL((url) => url.href.startsWith(`${tenantry.url}/sign-in`), { timeout: 10000 });
      await submitSignIn(page, "member");
      await page.waitForURL((url) => url.href.startsWith(app.url), { timeout: 10000 });
      await see(page, page.locator("#email").filter({ hasText: people.member.email }));
      await page.context().close();
    },
  );

  /**
   * Makes the org the active one of the browser's Tenantry session, the way the page's org button
   * does, but from here: `PUT /api/v1/me/active-org` with the session cookie, from Tenantry's origin.
   */
  async function chooseOrgForSession(page) {
    const cookie = (await page.context().cookies(tenantry.url)).map((c) => `${c.name}=${c.value}`).join("; ");
    const response = await fetch(`${tenantry.url}/api/v1/me/active-org`, {
      method: "PUT",
      headers: { Cookie: cookie, Origin: tenantry.url, "Content-Type": "application/json" },
      body: JSON.stringify({ org_id: people.orgId }),
    });
    assert.equal(response.status, 200, await response.text());
    await page.reload();
  }

  test("a Member signs in, adds a project, and is refused the members list", async () => {
    const page = await signInAs("member");
    await see(page, page.locator(`button[data-org-id="${people.orgId}"]`));
    await chooseOrgForSession(page);
    await see(page, page.locator("#org-role").filter({ hasText: "Member" }));
    await page.fill("#new-project input[name=name]", "Mercury");
    await page.click("#new-project button");
    await see(page, page.locator("#projects li", { hasText: "Mercury" }));
    await page.click("#show-members");
    await see(page, page.locator("#status.refused", { hasText: "403 urn:tenantry:problem:role-required" }));
    await page.context().close();
  });

  test("an Admin signs in and sees the members", async () => {
    const page = await signInAs("admin");
    await chooseOrgForSession(page);
    await see(page, page.locator("#org-role").filter({ hasText: "Admin" }));
    await page.click("#show-members");
    await see(page, page.locator("#members li", { hasText: `${people.viewer.email} (Viewer)` }));
    await page.context().close();
  });

  test(
    "the page's org button switches the session's active org",
    async () => {
      const page = await signInAs("viewer");
      await page.locator(`button[data-org-id="${people.orgId}"]`).click();
      await see(page, page.locator("#org-role").filter({ hasText: "Viewer" }));
      // A reload asks the session again: still in the org chosen.
      await page.reload();
      await see(page, page.locator("#org-role").filter({ hasText: "Viewer" }));
      await page.context().close();
    },
  );
});
