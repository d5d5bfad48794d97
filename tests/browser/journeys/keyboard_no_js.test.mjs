// Two ways of using the pages without a mouse or without scripts (issue 13): the sign-in journey
// once with only Tab, Enter and Space (every focused control shows a focus ring), and the sign-in
// and accept-invitation journeys again with JavaScript disabled in the browser.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { assertPath, check, fill, heading, launch, person, press } from "../support/browser.mjs";
import { fillSignUp, passwordFor } from "../support/people.mjs";
import { linkIn, startStack } from "../support/stack.mjs";

let stack, browser, orgId;
before(async () => {
  stack = await startStack();
  browser = await launch();
  const owner = await stack.backend("POST", "/api/backend/v1/users", {
    email: "kim@example.test",
    password: passwordFor("kim@example.test"),
    email_verified: true,
    first_name: "Kim",
    last_name: "Keys",
  });
  ({ org_id: orgId } = await stack.backend("POST", "/api/backend/v1/orgs", { name: "Keyboard Works", owner_user_id: owner.user_id }));
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** What has the focus: its tag, its accessible label or text, and whether a focus ring shows. */
async function focused(page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    const style = getComputedStyle(e);
    const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== "none";
    const label = e.labels?.[0]?.textContent?.trim() ?? e.textContent.trim();
    return { tag: e.tagName.toLowerCase(), type: e.getAttribute("type"), label, ring };
  });
}

/** Presses Tab until the focus is on `what` (a predicate on `focused()`), at most 15 times. */
async function tabTo(page, what, description) {
  const seen = [];
  for (let i = 0; i < 15; i++) {
    await page.keyboard.press("Tab");
    const now = await focused(page);
    seen.push(`${now.tag}:${now.label}`);
    if (what(now)) {
      assert.ok(now.ring, `no visible focus on ${description}`);
      return;
    }
  }
  throw new Error(`Tab never reached ${description}; the focus went through ${seen.join(" → ")}`);
}

describe("keyboard only", () => {
  test("sign in with Tab, typing and Enter; a refusal's summary takes the focus; sign out with Space", async () => {
    const kim = await person(browser);
    const { page } = kim;
    await page.goto(`${stack.url}/sign-in`);

    // The skip link comes first.
    await page.keyboard.press("Tab");
    assert.deepEqual(await focused(page).then((f) => [f.tag, f.label, f.ring]), ["a", "Skip to main content", true]);

    await tabTo(page, (f) => f.tag === "input" && f.label === "Email address", "the email field");
    await page.keyboard.type("kim@example.test");
    await tabTo(page, (f) => f.tag === "input" && f.label === "Password", "the password field");
    await page.keyboard.type("not the right passphrase");
    await tabTo(page, (f) => f.tag === "button" && f.label === "Sign in", "the Sign in button");
    await Promise.all([page.waitForEvent("load"), page.keyboard.press("Enter")]);
    assert.equal((await focused(page)).tag, "div", "the error summary has the focus");
    assert.match(await page.evaluate(() => document.activeElement.textContent), /Enter a correct email address and password/);

    await tabTo(page, (f) => f.tag === "input" && f.label === "Password", "the password field");
    await page.keyboard.type(passwordFor("kim@example.test"));
    await page.keyboard.press("Shift+Tab");
    assert.equal((await focused(page)).label, "Email address");
    await page.keyboard.press("Tab");
    await Promise.all([page.waitForEvent("load"), page.keyboard.press("Enter")]);
    await assertPath(page, "/orgs");

    await page.goto(`${stack.url}/sign-out`);
    await tabTo(page, (f) => f.tag === "button" && f.label === "Sign out", "the Sign out button");
    await Promise.all([page.waitForEvent("load"), page.keyboard.press("Space")]);
    await assertPath(page, "/sign-in");
    await kim.context.close();
  });
});

describe("JavaScript off", () => {
  test("sign in", async () => {
    const kim = await person(browser, { javaScriptEnabled: false });
    const { page } = kim;
    await page.goto(`${stack.url}/sign-in`);
    await check(kim, "nojs-sign-in");
    await fill(page, "Email address", "kim@example.test");
    await fill(page, "Password", "not the right passphrase");
    await press(page, "Sign in");
    assert.match(await page.locator(".error-summary").textContent(), /Enter a correct email address and password/);
    await check(kim, "nojs-sign-in-error");
    await fill(page, "Password", passwordFor("kim@example.test"));
    await press(page, "Sign in");
    await assertPath(page, "/orgs");
    await check(kim, "nojs-orgs");
    await kim.context.close();
  });

  test("accept an invitation: signed out, sign up from the mail, back on the invitation, join", async () => {
    const before = await stack.mail.count();
    await stack.backend("POST", `/api/backend/v1/orgs/${orgId}/invites`, { email: "nell@example.test", role: "Member" });
    const mail = await stack.mail.latest("nell@example.test", { subject: /invited you/, after: before });
    const nell = await person(browser, { javaScriptEnabled: false });
    const { page } = nell;
    await page.goto(linkIn(mail, stack.url, "/invites/accept?token="));
    assert.equal(await heading(page), "Join Keyboard Works");
    await check(nell, "nojs-invite-signed-out");
    await Promise.all([page.waitForEvent("load"), page.getByRole("link", { name: "Create an account", exact: true }).click()]);
    const signup = await stack.mail.count();
    await fillSignUp(nell, { first: "Nell", last: "Noscript", email: "nell@example.test", password: passwordFor("nell@example.test") });
    const verify = await stack.mail.latest("nell@example.test", { subject: /verify/i, after: signup });
    await page.goto(linkIn(verify, stack.url, "/verify-email?token="));
    await check(nell, "nojs-verify-email");
    await press(page, "Confirm and continue");
    await assertPath(page, "/invites/accept");
    await check(nell, "nojs-invite-signed-in");
    await press(page, "Join Keyboard Works");
    await assertPath(page, `/orgs/${orgId}`);
    await nell.context.close();
  });
});
