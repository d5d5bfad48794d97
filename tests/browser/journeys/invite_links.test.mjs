// Invitation links in every state a person can hit (issue 13, page 6): signed in as the wrong
// account (and the switch to the right one), accepted and then used again, revoked, expired,
// declined. Invitations are made through the backend API, as a SaaS backend would; each person
// then only uses the emailed link and the pages.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { assertPath, check, fill, heading, launch, person, press } from "../support/browser.mjs";
import { passwordFor, signIn } from "../support/people.mjs";
import { linkIn, sql, startStack } from "../support/stack.mjs";

let stack, browser, orgId;

before(async () => {
  stack = await startStack();
  browser = await launch();
  const owner = await user("owner@example.test", "Olive", "Owner");
  ({ org_id: orgId } = await stack.backend("POST", "/api/backend/v1/orgs", { name: "Babbage & Co", owner_user_id: owner.user_id }));
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** A user with a confirmed address, made through the backend API. */
function user(email, first_name, last_name) {
  return stack.backend("POST", "/api/backend/v1/users", { email, password: passwordFor(email), email_verified: true, first_name, last_name });
}

/** Invites `email` through the backend API; returns { invite, link } (the emailed link). */
async function invite(email, role = "Member") {
  const before = await stack.mail.count();
  const created = await stack.backend("POST", `/api/backend/v1/orgs/${orgId}/invites`, { email, role });
  const mail = await stack.mail.latest(email, { subject: /invited you/, after: before });
  return { invite: created, link: linkIn(mail, stack.url, "/invites/accept?token=") };
}

/** The text of the page's main element, on one line. */
async function shown(page) {
  return (await page.locator("main").textContent()).replace(/\s+/g, " ");
}

describe("invitation links", () => {
  let accepted;

  test("signed in as another account: the page says so and offers to switch; the right account joins", async () => {
    await user("wanted@example.test", "Wanda", "Wanted");
    await user("other@example.test", "Otto", "Other");
    const { link } = await invite("wanted@example.test");
    accepted = link;
    const browserOfOtto = await person(browser);
    const { page } = browserOfOtto;
    await signIn(browserOfOtto, stack, "other@example.test", passwordFor("other@example.test"));
    await page.goto(link);
    await assertPath(page, "/invites/accept");
    assert.match(await shown(page), /You are signed in as other@example\.test, but this invitation was sent to wanted@example\.test/);
    assert.equal(await page.getByRole("button", { name: "Join Babbage & Co" }).count(), 0);
    await check(browserOfOtto, "invite-wrong-account");

    await press(page, "Sign out and sign in as wanted@example.test");
    await assertPath(page, "/sign-in");
    assert.equal(await page.getByLabel("Email address", { exact: true }).inputValue(), "wanted@example.test");
    await fill(page, "Password", passwordFor("wanted@example.test"));
    await press(page, "Sign in");
    await assertPath(page, "/invites/accept");
    await press(page, "Join Babbage & Co");
    await assertPath(page, `/orgs/${orgId}`);
    await browserOfOtto.context.close();
  });

  test("a used link: a clear page, no join button", async () => {
    const someone = await person(browser);
    await someone.page.goto(accepted);
    assert.equal(await heading(someone.page), "This invitation cannot be used");
    assert.match(await shown(someone.page), /This invitation was already used/);
    await check(someone, "invite-used");
    await someone.context.close();
  });

  test("a revoked link: a clear page", async () => {
    const { invite: created, link } = await invite("revoked@example.test");
    await stack.backend("DELETE", `/api/backend/v1/orgs/${orgId}/invites/${created.invite_id}`);
    const someone = await person(browser);
    await someone.page.goto(link);
    assert.equal(await heading(someone.page), "This invitation cannot be used");
    assert.match(await shown(someone.page), /This invitation was revoked/);
    assert.match(await shown(someone.page), /Ask the person who invited you to send a new invitation/);
    await check(someone, "invite-revoked");
    await someone.context.close();
  });

  test("an expired link: a clear page", async () => {
    const { link } = await invite("late@example.test");
    // No API backdates an invitation and the server runs on the real clock (the shortest
    // lifetime, orgs.invite_ttl_hours, is an hour): the expiry moves into the past in the database.
    const changed = await sql(
      stack,
      "UPDATE org_invites SET expires_at = '2020' || substr(expires_at, 5) WHERE email_normalized = ? AND state = 'pending'",
      ["late@example.test"],
    );
    assert.equal(changed, 1);
    const someone = await person(browser);
    await someone.page.goto(link);
    assert.equal(await heading(someone.page), "This invitation cannot be used");
    assert.match(await shown(someone.page), /This invitation has expired/);
    await check(someone, "invite-expired");
    await someone.context.close();
  });

  test("the invited person declines", async () => {
    await user("nope@example.test", "Nora", "Nope");
    const { link } = await invite("nope@example.test");
    const nora = await person(browser);
    await signIn(nora, stack, "nope@example.test", passwordFor("nope@example.test"));
    await nora.page.goto(link);
    await press(nora.page, "Decline invitation");
    await assertPath(nora.page, "/orgs");
    assert.doesNotMatch(await shown(nora.page), /Babbage & Co.*Manage/);
    // Declined is answered: the link no longer works.
    await nora.page.goto(link);
    assert.equal(await heading(nora.page), "This invitation cannot be used");
    await nora.context.close();
  });
});
