// What another site can make a signed-in browser do: nothing. A page on another origin that
// auto-submits a form to Tenantry's sign-out or invitation endpoints gets 403 (the browser sends
// the session cookie, since 127.0.0.1 on another port is the same site: the origin check refuses
// it), and return_to to a foreign origin lands on the default page, while one on an allowed origin
// is honoured.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";

import { assertPath, check, fill, heading, launch, person, press } from "../support/browser.mjs";
import { passwordFor, signIn } from "../support/people.mjs";
import { freePort, startStack } from "../support/stack.mjs";

let stack, browser, foreign, app;

/** A tiny site on its own port that serves `pages[path]` as HTML. */
async function site(pages) {
  const port = await freePort();
  const server = createServer((req, res) => {
    const body = pages[new URL(req.url, "http://x").pathname];
    res.writeHead(body ? 200 : 404, { "Content-Type": "text/html; charset=utf-8" });
    res.end(body ?? "not here");
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** A page that posts a form to `action` as soon as it loads. */
function autoSubmit(action, fields) {
  const inputs = Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${k}" value="${v}">`).join("");
  return `<!DOCTYPE html><html lang="en"><title>Win a prize</title><form id="f" method="post" action="${action}">${inputs}</form><script>document.getElementById("f").submit()</script></html>`;
}

before(async () => {
  const appPort = await freePort();
  stack = await startStack({ TENANTRY_HTTP__ALLOWED_ORIGINS: `["http://127.0.0.1:${appPort}"]` });
  browser = await launch();
  foreign = await site({
    "/sign-out": autoSubmit(`${stack.url}/sign-out`, { everywhere: "true" }),
    "/accept": autoSubmit(`${stack.url}/invites/accept`, {}),
  });
  // The SaaS app on an allowed origin, listening on the port Tenantry was told about.
  const server = createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(`<!DOCTYPE html><html lang="en"><title>The app</title><h1>The app at ${req.url}</h1></html>`);
  });
  await new Promise((resolve) => server.listen(appPort, "127.0.0.1", resolve));
  app = { url: `http://127.0.0.1:${appPort}`, close: () => new Promise((resolve) => server.close(resolve)) };
  await stack.backend("POST", "/api/backend/v1/users", { email: "sam@example.test", password: passwordFor("sam@example.test"), email_verified: true });
});
after(async () => {
  await browser?.close();
  await foreign?.close();
  await app?.close();
  await stack?.stop();
});

describe("cross-site form posts", () => {
  for (const [name, path, target] of [
    ["sign out everywhere", "/sign-out", "/sign-out"],
    ["accept an invitation", "/accept", "/invites/accept"],
  ]) {
    test(`a foreign page's auto-submitted form to ${name} gets 403 and changes nothing`, async () => {
      const sam = await person(browser);
      await signIn(sam, stack, "sam@example.test", passwordFor("sam@example.test"));
      const refused = sam.page.waitForResponse((r) => r.url() === stack.url + target && r.request().method() === "POST");
      await sam.page.goto(foreign.url + path);
      const response = await refused;
      assert.equal(response.status(), 403);
      await sam.page.waitForLoadState("load");
      assert.equal(await heading(sam.page), "You cannot do that");
      assert.match(await sam.page.locator("main").textContent(), /came from another site/);
      await check(sam, `csrf-refused-${path.slice(1)}`);

      // Still signed in: the sign-out page shows, rather than sending Sam to sign in.
      await sam.page.goto(`${stack.url}/sign-out`);
      await assertPath(sam.page, "/sign-out");
      await sam.context.close();
    });
  }
});

describe("return_to", () => {
  for (const foreignTarget of ["https://evil.example/steal", "//evil.example/steal", "/\\evil.example", "javascript:alert(1)"]) {
    test(`to ${foreignTarget}: refused, the person lands on the default page`, async () => {
      const sam = await person(browser);
      await sam.page.goto(`${stack.url}/sign-in?return_to=${encodeURIComponent(foreignTarget)}`);
      await fill(sam.page, "Email address", "sam@example.test");
      await fill(sam.page, "Password", passwordFor("sam@example.test"));
      await press(sam.page, "Sign in");
      assert.equal(new URL(sam.page.url()).origin, stack.url);
      await assertPath(sam.page, "/orgs");
      await sam.context.close();
    });
  }

  // Chromium applies the CSP's form-action to the redirect that follows a form POST: the pages'
  // CSP lists the allowed origins there, so the 303 from the sign-in form reaches the app.
  test("to an allowed origin: honoured after sign-in", async () => {
    const sam = await person(browser);
    await sam.page.goto(`${stack.url}/sign-in?return_to=${encodeURIComponent(`${app.url}/welcome?tab=1`)}`);
    await fill(sam.page, "Email address", "sam@example.test");
    await fill(sam.page, "Password", passwordFor("sam@example.test"));
    await press(sam.page, "Sign in");
    assert.equal(sam.page.url(), `${app.url}/welcome?tab=1`);
    await sam.context.close();
  });
});
