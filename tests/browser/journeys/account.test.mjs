// The account pages (issue 13, page 8) in Chromium: the name, an email change confirmed from the
// mail sent to the new address, a password change (a wrong current password refused first), and
// the sessions list with two browsers: signing the other one out, then everywhere after a
// confirmation page.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { assertPath, check, fill, follow, heading, launch, person, press } from "../support/browser.mjs";
import { everyMailLinkOpens, passwordFor, signIn } from "../support/people.mjs";
import { linkIn, startStack } from "../support/stack.mjs";

let stack, browser;
before(async () => {
  stack = await startStack();
  browser = await launch();
  await stack.backend("POST", "/api/backend/v1/users", {
    email: "pat@example.test",
    password: passwordFor("pat@example.test"),
    email_verified: true,
    first_name: "Pat",
    last_name: "Profile",
  });
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

describe("the account", () => {
  let laptop, phone;
  let email = "pat@example.test";
  let password = passwordFor("pat@example.test");

  test("Pat changes the name", async () => {
    laptop = await person(browser);
    await signIn(laptop, stack, email, password);
    const { page } = laptop;
    await page.goto(`${stack.url}/account`);
    assert.equal(await heading(page), "Your account");
    assert.equal(await page.getByLabel("First name", { exact: true }).inputValue(), "Pat");
    await check(laptop, "account");
    await fill(page, "First name", "Patricia");
    await press(page, "Save name");
    await assertPath(page, "/account");
    assert.equal(await page.getByLabel("First name", { exact: true }).inputValue(), "Patricia");
  });

  test("Pat changes the email address, confirmed from the mail to the new one", async () => {
    const { page } = laptop;
    await fill(page, "New email address", "patricia@example.test");
    await fill(page, "Your current password", "not the password at all");
    await press(page, "Change email address");
    assert.match(await page.getByRole("alert").textContent(), /There is a problem/);
    assert.equal(await page.getByLabel("New email address", { exact: true }).inputValue(), "patricia@example.test");
    await check(laptop, "account-email-error");

    const before = await stack.mail.count();
    await fill(page, "Your current password", password);
    await press(page, "Change email address");
    await assertPath(page, "/account/email/sent");
    await check(laptop, "account-email-sent");
    const mail = await stack.mail.latest("patricia@example.test", { subject: /Confirm your new email address/, after: before });
    await page.goto(linkIn(mail, stack.url, "/confirm-email-change?token="));
    await assertPath(page, "/confirm-email-change");
    assert.equal(new URL(page.url()).search, "");
    await check(laptop, "account-email-confirm");
    await press(page, "Confirm new address");
    email = "patricia@example.test";
    await page.goto(`${stack.url}/account`);
    assert.match(await page.locator("main").textContent(), /You sign in with patricia@example\.test/);
  });

  test("Pat changes the password (a wrong current one is refused first)", async () => {
    const { page } = laptop;
    const next = "a brand new passphrase for pat 9c3e";
    await fill(page, "Current password", "not the password at all");
    await fill(page, "New password", next);
    await fill(page, "Confirm new password", next);
    await press(page, "Change password");
    assert.match(await page.getByRole("alert").textContent(), /There is a problem/);
    await check(laptop, "account-password-error");
    await fill(page, "Current password", password);
    await fill(page, "New password", next);
    await fill(page, "Confirm new password", next);
    await press(page, "Change password");
    await assertPath(page, "/account");
    password = next;
  });

  test("sessions: Pat signs the phone out from the laptop, then everywhere", async () => {
    phone = await person(browser);
    await signIn(phone, stack, email, password);
    const { page } = laptop;
    await page.goto(`${stack.url}/account/sessions`);
    assert.equal(await heading(page), "Devices and sessions");
    assert.equal(await page.getByRole("row").filter({ hasText: "This device" }).count(), 1);
    await check(laptop, "account-sessions");
    const others = page.getByRole("row").filter({ hasNotText: "This device" }).getByRole("button");
    assert.equal(await others.count(), 1, "one other session: the phone");
    await Promise.all([page.waitForEvent("load"), others.first().click()]);
    await assertPath(page, "/account/sessions");
    assert.equal(await page.getByRole("row").filter({ hasNotText: "This device" }).getByRole("button").count(), 0);
    await phone.page.goto(`${stack.url}/account`);
    await assertPath(phone.page, "/sign-in");

    // Everywhere, after a page that says what it means.
    await signIn(phone, stack, email, password);
    await follow(page, "Sign out everywhere");
    await assertPath(page, "/account/sessions/sign-out-everywhere");
    assert.equal(await heading(page), "Sign out of every device?");
    await check(laptop, "account-sign-out-everywhere");
    await press(page, "Sign out everywhere");
    await assertPath(page, "/sign-in");
    await phone.page.goto(`${stack.url}/account`);
    await assertPath(phone.page, "/sign-in");
    await laptop.context.close();
    await phone.context.close();
  });

  test("every link in every mail of this journey opens a page", async () => {
    assert.ok((await everyMailLinkOpens(browser, stack)) >= 1);
  });
});
