// Pages that depend on how the deployment is configured: with orgs.require_membership a person in
// no organization lands on create-or-join with their pending invitations listed; with sign-up
// turned off there is no sign-up page or link.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { assertPath, check, fill, heading, launch, person, press } from "../support/browser.mjs";
import { passwordFor } from "../support/people.mjs";
import { startStack } from "../support/stack.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

describe("orgs.require_membership", () => {
  let stack;
  before(async () => {
    stack = await startStack({ TENANTRY_ORGS__REQUIRE_MEMBERSHIP: "true" });
  });
  after(() => stack?.stop());

  test("a person in no organization lands on create-or-join, accepts a listed invitation", async () => {
    const owner = await stack.backend("POST", "/api/backend/v1/users", { email: "ola@example.test", password: passwordFor("ola@example.test"), email_verified: true });
    const { org_id } = await stack.backend("POST", "/api/backend/v1/orgs", { name: "Lovelace Labs", owner_user_id: owner.user_id });
    await stack.backend("POST", "/api/backend/v1/users", { email: "jo@example.test", password: passwordFor("jo@example.test"), email_verified: true });
    await stack.backend("POST", `/api/backend/v1/orgs/${org_id}/invites`, { email: "jo@example.test", role: "Member" });

    const jo = await person(browser);
    const { page } = jo;
    await page.goto(`${stack.url}/sign-in`);
    await fill(page, "Email address", "jo@example.test");
    await fill(page, "Password", passwordFor("jo@example.test"));
    await press(page, "Sign in");
    await assertPath(page, "/orgs/new");
    assert.equal(await heading(page), "Join or create your organization");
    const row = page.getByRole("row").filter({ hasText: "Lovelace Labs" });
    assert.match(await row.textContent(), /Member/);
    await check(jo, "orgs-create-or-join");
    await Promise.all([page.waitForEvent("load"), row.getByRole("button", { name: "Accept invitation to Lovelace Labs" }).click()]);
    await assertPath(page, `/orgs/${org_id}`);
    await jo.context.close();
  });
});

describe("sign-up turned off", () => {
  let stack;
  before(async () => {
    stack = await startStack({ TENANTRY_SIGNUP_ENABLED: "false" });
  });
  after(() => stack?.stop());

  test("the sign-in page offers no sign-up, and /sign-up says accounts come by invitation", async () => {
    const someone = await person(browser);
    const { page } = someone;
    await page.goto(`${stack.url}/sign-in`);
    assert.equal(await page.getByRole("link", { name: "Create an account" }).count(), 0);
    const response = await page.goto(`${stack.url}/sign-up`);
    assert.equal(response.status(), 404);
    assert.match(await page.locator("main").textContent(), /Accounts are created by invitation only/);
    await check(someone, "sign-up-disabled");
    await someone.context.close();
  });
});
