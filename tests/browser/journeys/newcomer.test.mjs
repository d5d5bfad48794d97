// Issue 13's first journey, step by step in Chromium: a newcomer (Ada) signs up and confirms from
// the mail, creates an organization, invites a second person (Bob), who opens the mail signed out,
// signs up from it, lands back on the invitation and accepts; the owner changes his role, invites a
// Viewer (Carol, who sees the administration read-only), removes her, transfers ownership to Bob
// (confirmed from the mail), and deletes an organization. The steps share one server, in order.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { assertPath, check, fill, follow, heading, launch, person, press } from "../support/browser.mjs";
import { everyMailLinkOpens, confirmFromMail, fillSignUp, passwordFor, signIn, signUpAndVerify } from "../support/people.mjs";
import { linkIn, startStack } from "../support/stack.mjs";

let stack, browser;
before(async () => {
  stack = await startStack();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** The path of the org's page (`/orgs/<id>`), read from where a step landed. */
function orgPath(page) {
  const match = new URL(page.url()).pathname.match(/^\/orgs\/[0-9a-f-]{36}/);
  assert.ok(match, `not on an organization's page: ${page.url()}`);
  return match[0];
}

/** The notice a page shows after a post/redirect/get. */
async function notice(page) {
  return (await page.getByRole("status").first().textContent()).trim();
}

/** The members table's row for `email`, as text. */
async function memberRow(page, email) {
  return (await page.getByRole("row").filter({ hasText: email }).first().textContent()).replace(/\s+/g, " ");
}

describe("a newcomer's first organization", () => {
  let ada, bob, carol, org;

  test("Ada signs up, confirms from the mail, and has no organization yet", async () => {
    ({ who: ada } = await signUpAndVerify(browser, stack, { first: "Ada", last: "Lovelace", email: "ada@example.test" }));
    await assertPath(ada.page, "/orgs");
    assert.match(await notice(ada.page), /Your email address is confirmed/);
    assert.equal(await heading(ada.page), "Your organizations");
    await check(ada, "orgs-empty");
  });

  test("she creates Analytical Engines (an empty name is refused first)", async () => {
    const { page } = ada;
    await follow(page, "Create organization");
    await assertPath(page, "/orgs/new");
    await check(ada, "orgs-new");
    await press(page, "Create organization");
    assert.match(await page.getByRole("alert").textContent(), /There is a problem/);
    await check(ada, "orgs-new-error");
    await fill(page, "Organization name", "Analytical Engines");
    await press(page, "Create organization");
    org = orgPath(page);
    assert.equal(await page.locator(".admin-org-name").textContent(), "Analytical Engines");
    await check(ada, "admin-settings");
  });

  test("she edits the settings: a bad slug is refused with her input kept, then saved", async () => {
    const { page } = ada;
    await fill(page, "Slug", "Not A Slug!");
    await press(page, "Save settings");
    assert.match(await page.getByRole("alert").textContent(), /There is a problem/);
    assert.equal(await page.getByLabel("Slug", { exact: true }).inputValue(), "Not A Slug!");
    await check(ada, "admin-settings-error");
    await fill(page, "Slug", "analytical-engines");
    await press(page, "Save settings");
    await assertPath(page, org);
    assert.equal(await page.getByLabel("Slug", { exact: true }).inputValue(), "analytical-engines");
  });

  test("she invites Bob as an Admin", async () => {
    const { page } = ada;
    await follow(page, "Members");
    await assertPath(page, `${org}/members`);
    await check(ada, "admin-members");
    await follow(page, "Invite someone");
    await assertPath(page, `${org}/invite`);
    await check(ada, "admin-invite");

    await fill(page, "Email address", "not an address");
    await press(page, "Send invitation");
    assert.match(await page.getByRole("alert").textContent(), /There is a problem/);
    assert.equal(await page.getByLabel("Email address", { exact: true }).inputValue(), "not an address");
    await check(ada, "admin-invite-error");

    await fill(page, "Email address", "bob@example.test");
    await page.getByLabel("Role", { exact: true }).selectOption("Admin");
    await press(page, "Send invitation");
    assert.match(new URL(page.url()).pathname, new RegExp(`^${org}/invites/`));
    await check(ada, "admin-invitation");
    await follow(page, "Members");
    assert.match(await memberRow(page, "bob@example.test"), /Admin.*Invited/);
  });

  test("Bob opens the mail signed out, signs up from it, lands back on the invitation and joins", async () => {
    bob = await person(browser);
    const { page } = bob;
    const mail = await stack.mail.latest("bob@example.test", { subject: /invited you/ });
    assert.match(mail.subject, /Ada Lovelace invited you to Analytical Engines/);
    await page.goto(linkIn(mail, stack.url, "/invites/accept?token="));
    await assertPath(page, "/invites/accept");
    assert.equal(new URL(page.url()).search, "", "the token left the address bar");
    assert.equal(await heading(page), "Join Analytical Engines");
    assert.match(await page.locator("main").textContent(), /Ada Lovelace invited you to join Analytical Engines as Admin/);
    await check(bob, "invite-signed-out");

    await follow(page, "Create an account");
    await assertPath(page, "/sign-up");
    assert.equal(await page.getByLabel("Email address", { exact: true }).inputValue(), "bob@example.test");
    const before = await stack.mail.count();
    await fillSignUp(bob, { first: "Bob", last: "Babbage", email: "bob@example.test", password: passwordFor("bob@example.test") });
    await confirmFromMail(bob, stack, "bob@example.test", before);
    await assertPath(page, "/invites/accept");
    assert.equal(await heading(page), "Join Analytical Engines");
    await check(bob, "invite-signed-in");

    await press(page, "Join Analytical Engines");
    assert.equal(orgPath(page), org);
    assert.match(await notice(page), /.+/);
    await check(bob, "admin-settings-admin");
  });

  test("Ada makes Bob a Member", async () => {
    const { page } = ada;
    await page.goto(`${stack.url}${org}/members`);
    assert.match(await memberRow(page, "bob@example.test"), /Admin/);
    await page.getByRole("row").filter({ hasText: "bob@example.test" }).getByRole("link").click();
    await page.waitForLoadState("load");
    assert.equal(await page.getByRole("heading", { level: 2 }).first().textContent(), "Bob Babbage");
    await check(ada, "admin-member");
    await page.getByLabel("Role", { exact: true }).selectOption("Member");
    await press(page, "Save roles");
    assert.match(await page.locator(".facts").textContent(), /Member/);
    await page.goto(`${stack.url}${org}/members`);
    assert.match(await memberRow(page, "bob@example.test"), /Member/);
  });

  test("Ada invites Carol as a Viewer; Carol, signed in already, accepts and sees the administration read-only", async () => {
    const { page } = ada;
    await page.goto(`${stack.url}${org}/invite`);
    await fill(page, "Email address", "carol@example.test");
    await page.getByLabel("Role", { exact: true }).selectOption("Viewer");
    const before = await stack.mail.count();
    await press(page, "Send invitation");

    await stack.backend("POST", "/api/backend/v1/users", {
      email: "carol@example.test",
      password: passwordFor("carol@example.test"),
      email_verified: true,
      first_name: "Carol",
      last_name: "Herschel",
    });
    carol = await person(browser);
    await signIn(carol, stack, "carol@example.test", passwordFor("carol@example.test"));
    const mail = await stack.mail.latest("carol@example.test", { subject: /invited you/, after: before });
    await carol.page.goto(linkIn(mail, stack.url, "/invites/accept?token="));
    assert.match(await carol.page.locator("main").textContent(), /as Viewer/);
    await press(carol.page, "Join Analytical Engines");
    assert.equal(orgPath(carol.page), org);

    // Read-only: the settings show no form to save, the members page no invite button, and a
    // forged POST is refused by the same rule the API applies.
    assert.equal(await carol.page.getByRole("button", { name: "Save settings" }).count(), 0);
    assert.match(await carol.page.locator("main").textContent(), /Only an owner or admin can change these settings/);
    await check(carol, "admin-settings-viewer");
    await follow(carol.page, "Members");
    assert.equal(await carol.page.getByRole("link", { name: "Invite someone" }).count(), 0);
    await check(carol, "admin-members-viewer");
    await carol.page.goto(`${stack.url}${org}/invite`);
    assert.ok([403, 404].includes((await carol.page.goto(`${stack.url}${org}/invite`)).status()));
    await check(carol, "admin-invite-viewer-refused");
  });

  test("someone outside the organization gets a 404 for its pages", async () => {
    await stack.backend("POST", "/api/backend/v1/users", { email: "dan@example.test", password: passwordFor("dan@example.test"), email_verified: true });
    const dan = await person(browser);
    await signIn(dan, stack, "dan@example.test", passwordFor("dan@example.test"));
    const response = await dan.page.goto(`${stack.url}${org}/members`);
    assert.equal(response.status(), 404);
    assert.doesNotMatch(await dan.page.locator("main").textContent(), /Analytical Engines|bob@example\.test/);
    await dan.context.close();
  });

  test("Ada removes Carol, after a page that says what it means", async () => {
    const { page } = ada;
    await page.goto(`${stack.url}${org}/members`);
    await page.getByRole("row").filter({ hasText: "carol@example.test" }).getByRole("link").click();
    await page.waitForLoadState("load");
    await follow(page, "Remove member");
    assert.match(await page.locator("main").textContent(), /carol@example\.test will lose access to Analytical Engines at once/);
    await check(ada, "admin-member-remove");
    await press(page, "Remove member");
    await assertPath(page, `${org}/members`);
    assert.equal(await page.getByRole("row").filter({ hasText: "carol@example.test" }).count(), 0);

    // Carol's next visit to the organization is refused.
    const response = await carol.page.goto(`${stack.url}${org}`);
    assert.equal(response.status(), 404);
  });

  test("Ada resends an invitation, then revokes it after a page that says what it means", async () => {
    const { page } = ada;
    await page.goto(`${stack.url}${org}/invite`);
    await fill(page, "Email address", "eve@example.test");
    const first = await stack.mail.count();
    await press(page, "Send invitation");
    const invitation = new URL(page.url()).pathname;
    const sent = await stack.mail.latest("eve@example.test", { subject: /invited you/, after: first });
    const again = await stack.mail.count();
    await press(page, "Send it again");
    await assertPath(page, invitation);
    const resent = await stack.mail.latest("eve@example.test", { subject: /invited you/, after: again });
    assert.notEqual(linkIn(resent, stack.url, "/invites/accept"), linkIn(sent, stack.url, "/invites/accept"));

    await follow(page, "Revoke invitation");
    assert.match(await page.locator("main").textContent(), /The link we emailed to eve@example\.test will stop working/);
    await check(ada, "admin-invite-revoke");
    await press(page, "Revoke invitation");
    await assertPath(page, `${org}/members`);
    assert.equal(await page.getByRole("row").filter({ hasText: "eve@example.test" }).count(), 0);
    const eve = await person(browser);
    await eve.page.goto(linkIn(resent, stack.url, "/invites/accept?token="));
    assert.equal(await heading(eve.page), "This invitation cannot be used");
    await eve.context.close();
  });

  test("the audit log shows what happened", async () => {
    const { page } = ada;
    await page.goto(`${stack.url}${org}`);
    await follow(page, "Audit log");
    await assertPath(page, `${org}/audit-log`);
    assert.ok((await page.getByRole("row").count()) > 3, "the log has rows");
    await check(ada, "admin-audit");
  });

  test("Ada transfers ownership to Bob, confirmed from the mail", async () => {
    const { page } = ada;
    await page.goto(`${stack.url}${org}/danger`);
    await check(ada, "admin-danger");
    await page.getByLabel("New owner", { exact: true }).selectOption({ label: "Bob Babbage (bob@example.test)" });
    const before = await stack.mail.count();
    await press(page, "Request transfer");
    await assertPath(page, `${org}/danger`);
    const mail = await stack.mail.latest("ada@example.test", { subject: /Confirm the transfer/, after: before });
    await page.goto(linkIn(mail, stack.url, "/ownership-transfer/confirm?token="));
    await assertPath(page, "/ownership-transfer/confirm");
    assert.equal(await heading(page), "Transfer ownership of Analytical Engines");
    await check(ada, "transfer-confirm");
    await press(page, "Make Bob Babbage the owner");
    assert.equal(orgPath(page), org);

    await page.goto(`${stack.url}${org}/members`);
    assert.match(await memberRow(page, "bob@example.test"), /Owner/);
    assert.doesNotMatch(await memberRow(page, "ada@example.test"), /Owner/);

    // The link works once.
    await page.goto(linkIn(mail, stack.url, "/ownership-transfer/confirm?token="));
    assert.equal(await heading(page), "This transfer link does not work");
    await check(ada, "transfer-problem");
  });

  test("Ada creates a second organization and deletes it, typing its name", async () => {
    const { page } = ada;
    await page.goto(`${stack.url}/orgs/new`);
    await fill(page, "Organization name", "Difference Engines");
    await press(page, "Create organization");
    const second = orgPath(page);
    await page.goto(`${stack.url}${second}/danger`);
    await follow(page, "Delete organization");
    await assertPath(page, `${second}/delete`);
    await check(ada, "admin-delete");
    await fill(page, "Type Difference Engines to confirm", "Difference");
    await press(page, "Delete for good");
    assert.match(await page.getByRole("alert").textContent(), /There is a problem/);
    await check(ada, "admin-delete-error");
    await fill(page, "Type Difference Engines to confirm", "Difference Engines");
    await press(page, "Delete for good");
    await assertPath(page, "/orgs");
    const list = await page.locator("main").textContent();
    assert.doesNotMatch(list, /Difference Engines/);
    assert.match(list, /Analytical Engines/);
    assert.equal((await page.goto(`${stack.url}${second}`)).status(), 404);
  });

  test("with two organizations, Ada switches the active one, then leaves one after a confirmation", async () => {
    const { page } = ada;
    await page.goto(`${stack.url}/orgs/new`);
    await fill(page, "Organization name", "Jacquard Looms");
    await press(page, "Create organization");
    const looms = orgPath(page);
    await page.goto(`${stack.url}/orgs`);
    await check(ada, "orgs");
    const loomsRow = page.getByRole("row").filter({ hasText: "Jacquard Looms" });
    await Promise.all([page.waitForEvent("load"), loomsRow.getByRole("button", { name: "Switch to Jacquard Looms" }).click()]);
    await assertPath(page, "/orgs");
    assert.match(await notice(page), /.+/);
    assert.match(await page.getByRole("row").filter({ hasText: "Jacquard Looms" }).textContent(), /Active/);
    assert.equal(await page.getByRole("button", { name: "Switch to Jacquard Looms" }).count(), 0);
    assert.equal(await page.getByRole("button", { name: "Switch to Analytical Engines" }).count(), 1);
    await check(ada, "orgs-switched");

    // Ada (an Admin since the transfer) leaves Analytical Engines.
    await page.goto(`${stack.url}${org}/danger`);
    await follow(page, "Leave");
    await assertPath(page, `${org}/leave`);
    assert.match(await page.locator("main").textContent(), /You will lose access to Analytical Engines at once/);
    await check(ada, "admin-leave");
    await press(page, "Leave organization");
    await assertPath(page, "/orgs");
    const list = await page.locator("main").textContent();
    assert.doesNotMatch(list, /Analytical Engines/);
    assert.match(list, /Jacquard Looms/);
    assert.equal((await page.goto(`${stack.url}${org}`)).status(), 404);
    assert.ok(looms);
  });

  test("every link in every mail of this journey opens a page", async () => {
    assert.ok((await everyMailLinkOpens(browser, stack)) >= 3);
  });
});
