// Single sign-on (issue 15) in Chromium, against a real SAML IdP the browser reaches: pysaml2 in
// tests/peers/saml_idp.py's HTTP mode, on `localhost` (another site than Tenantry on 127.0.0.1, as
// a real IdP is). An Owner sets SAML up on the org's SSO page from the IdP's metadata URL, tests
// the connection (the IdP signs her in, the test page shows what it sent) and makes it live; then
// a new person signs in through "Sign in with SSO" with their work email, the IdP answers with its
// auto-submitting form, and they land signed in, a member of the org (just-in-time). Once more
// with JavaScript off, through the IdP form's button.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { assertPath, check, fill, follow, heading, launch, person, press } from "../support/browser.mjs";
import { passwordFor, signIn } from "../support/people.mjs";
import { peersPython, root, startStack } from "../support/stack.mjs";

const OWNER = "olive@acme.test";
let stack, browser, idp, org;

/** The IdP over HTTP: `{ url, stop() }`, once it prints `ready <url>`. */
async function startIdp() {
  const fixtures = join(root, "crates", "tenantry-sso", "tests", "fixtures");
  const args = [join(root, "tests", "peers", "saml_idp.py"), "serve", "0", join(fixtures, "idp.key"), join(fixtures, "idp.crt"), "localhost"];
  const proc = spawn(peersPython(), args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  proc.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`the IdP did not start:\n${output}`)), 30000);
    proc.stdout.on("data", (chunk) => {
      out += chunk;
      const ready = out.match(/^ready (\S+)$/m);
      if (ready) {
        clearTimeout(timer);
        resolve(ready[1]);
      }
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the IdP exited (${code}):\n${output}`));
    });
  });
  return {
    url,
    log: () => output,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        await exited;
      }
    },
  };
}

before(async () => {
  idp = await startIdp();
  // The metadata URL is on loopback, which the outbound guard refuses unless the deployment allows it.
  stack = await startStack({ TENANTRY_WEBHOOKS__ALLOW_PRIVATE_TARGETS: "true" });
  browser = await launch();
  const owner = await stack.backend("POST", "/api/backend/v1/users", {
    email: OWNER,
    password: passwordFor(OWNER),
    email_verified: true,
    first_name: "Olive",
  });
  org = await stack.backend("POST", "/api/backend/v1/orgs", { name: "Acme", slug: "acme", owner_user_id: owner.user_id, domains: ["acme.test"] });
});
after(async () => {
  await browser?.close();
  await stack?.stop();
  await idp?.stop();
});

/** Signs in at the IdP's own form (the first time in this browser), then waits for where its answer leads. */
async function atTheIdp(page, email, first, last, { js = true } = {}) {
  assert.equal(new URL(page.url()).host, new URL(idp.url).host, `not at the IdP: ${page.url()}`);
  await fill(page, "Email at the identity provider", email);
  await fill(page, "First name at the identity provider", first);
  await fill(page, "Last name at the identity provider", last);
  if (js) {
    // The IdP's page posts its form to the ACS by itself.
    await Promise.all([
      page.waitForURL((u) => u.host !== new URL(idp.url).host, { waitUntil: "load" }),
      page.getByRole("button", { name: "Sign in at the identity provider" }).click(),
    ]);
  } else {
    await press(page, "Sign in at the identity provider");
    await press(page, "Continue to the service");
  }
}

describe("single sign-on", () => {
  test("the Owner sets SAML up from the IdP's metadata, tests it and goes live", async () => {
    const olive = await person(browser);
    const { page } = olive;
    await signIn(olive, stack, OWNER, passwordFor(OWNER));
    const sso = `/orgs/${org.org_id}/sso`;
    await page.goto(`${stack.url}/orgs/${org.org_id}`);
    await follow(page, "Single sign-on");
    await assertPath(page, sso);
    await check(olive, "sso-setup");

    // Nothing given: refused, the summary first.
    await press(page, "Set up single sign-on");
    assert.match(await page.getByRole("alert").textContent(), /Paste the metadata XML/);
    await check(olive, "sso-setup-error");

    await fill(page, "Metadata URL", `${idp.url}/metadata`);
    await press(page, "Set up single sign-on");
    await assertPath(page, sso);
    assert.match(await page.getByRole("status").first().textContent(), /set up, in test mode/);
    assert.match(await page.locator("main").textContent(), /In test mode\./);
    await check(olive, "sso-test-mode");

    // Test sign-in: the org's SSO sign-in, through the IdP, ending on the test page.
    await press(page, "Test sign-in");
    await atTheIdp(page, OWNER, "Olive", "Owens");
    assert.match(new URL(page.url()).pathname, /^\/sso\/saml\/[0-9a-f-]{36}\/acs$/);
    assert.equal(await heading(page), "SSO test: it works");
    const shown = await page.locator("main").textContent();
    assert.match(shown, new RegExp(OWNER.replace(".", "\\.")));
    assert.match(shown, /givenName/);
    await check(olive, "sso-test-result");

    // The replace and remove pages, then back.
    await page.goto(stack.url + sso);
    await follow(page, "Replace settings");
    await check(olive, "sso-replace");
    await follow(page, "Cancel");
    await follow(page, "Remove single sign-on");
    assert.match(await page.locator("main").textContent(), /Remove single sign-on\?/);
    await check(olive, "sso-remove-confirm");
    await follow(page, "Cancel");

    // Go live, after the confirmation.
    await follow(page, "Go live");
    await check(olive, "sso-go-live-confirm");
    await press(page, "Go live");
    await assertPath(page, sso);
    assert.match(await page.getByRole("status").first().textContent(), /Single sign-on is live/);
    assert.match(await page.locator("main").textContent(), /Live\./);
    await check(olive, "sso-live");
    await olive.context.close();
  });

  test("a new person signs in with SSO and lands in the org", async () => {
    const nia = await person(browser);
    const { page } = nia;
    await page.goto(`${stack.url}/sign-in`);
    await follow(page, "Sign in with SSO");
    await page.getByLabel(/^Work email/).fill("nia@acme.test");
    await press(page, "Continue");
    await atTheIdp(page, "nia@acme.test", "Nia", "Newton");
    assert.doesNotMatch(new URL(page.url()).pathname, /^\/(sign-in|sso)/, await page.locator("body").textContent());
    await page.goto(`${stack.url}/account`);
    await assertPath(page, "/account");
    assert.match(await page.locator("main").textContent(), /nia@acme\.test/);
    await page.goto(`${stack.url}/orgs`);
    assert.match(await page.locator("main").textContent(), /Acme/);
    await check(nia, "sso-signed-in-orgs");
    const user = await stack.backend("GET", `/api/backend/v1/users/by-email?email=${encodeURIComponent("nia@acme.test")}`);
    assert.equal(user.first_name, "Nia");
    assert.equal(user.email_verified, true);
    const roster = await stack.backend("GET", `/api/backend/v1/orgs/${org.org_id}/members?members_only=true&limit=100`);
    assert.ok(roster.entries.some((e) => e.member?.email === "nia@acme.test"), "Nia joined just in time");
    await nia.context.close();
  });

  test("with JavaScript off, the IdP's form has a button", async () => {
    const noah = await person(browser, { javaScriptEnabled: false });
    const { page } = noah;
    await page.goto(`${stack.url}/sso`);
    await page.getByLabel(/^Work email/).fill("noah@acme.test");
    await press(page, "Continue");
    await atTheIdp(page, "noah@acme.test", "Noah", "Nakamura", { js: false });
    await page.goto(`${stack.url}/account`);
    await assertPath(page, "/account");
    assert.match(await page.locator("main").textContent(), /noah@acme\.test/);
    await noah.context.close();
  });
});
