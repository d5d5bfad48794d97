// The sign-in family in Chromium: sign up, the verification mail, sign in and its refusals, forgot
// and reset password from the mail, expired and used links, and "sign out everywhere" ending the
// session of another browser.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { assertPath, check, fill, follow, heading, launch, person, press } from "../support/browser.mjs";
import { linkIn, startStack } from "../support/stack.mjs";
import { signIn, signUpAndVerify } from "../support/people.mjs";

let stack, browser;
before(async () => {
  stack = await startStack();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

describe("sign up and sign in", () => {
  test("a newcomer signs up, confirms from the mail, and is signed in", async () => {
    const ada = await person(browser);
    const { page } = ada;
    await page.goto(`${stack.url}/sign-in`);
    assert.equal(await heading(page), "Sign in to Tenantry");
    await check(ada, "sign-in");
    await follow(page, "Create an account");
    await assertPath(page, "/sign-up");
    await check(ada, "sign-up");

    // A refusal: the page says what to do, keeps the input (not the password), and the summary
    // takes focus.
    await fill(page, "First name", "Ada");
    await fill(page, "Last name", "Lovelace");
    await fill(page, "Email address", "ada@example.test");
    await fill(page, "Password", "short");
    await press(page, "Create account");
    await page.getByRole("alert").waitFor();
    assert.match(await page.getByRole("alert").textContent(), /There is a problem/);
    assert.equal(await page.getByLabel("Email address", { exact: true }).inputValue(), "ada@example.test");
    assert.equal(await page.getByLabel("First name", { exact: true }).inputValue(), "Ada");
    assert.equal(await page.getByLabel("Password", { exact: true }).inputValue(), "");
    assert.equal(await page.evaluate(() => document.activeElement?.className), "error-summary");
    await check(ada, "sign-up-error");

    const before = await stack.mail.count();
    await fill(page, "Password", "a long passphrase for ada 7c1f");
    await press(page, "Create account");
    await assertPath(page, "/sign-up/check-inbox");
    assert.match(await page.locator("main").textContent(), /ada@example\.test/);
    await check(ada, "check-inbox");

    // "Send the link again" sends a second mail and says so.
    await press(page, "Send the link again");
    assert.match(await page.getByRole("status").textContent(), /We sent the link again/);
    const mail = await stack.mail.latest("ada@example.test", { subject: /verify/i, after: before });
    const link = linkIn(mail, stack.url, "/verify-email?token=");

    // The link's token leaves the address bar on the first load.
    await page.goto(link);
    await assertPath(page, "/verify-email");
    assert.equal(new URL(page.url()).search, "");
    assert.equal(await heading(page), "Confirm your email address");
    await check(ada, "verify-email");
    await press(page, "Confirm and continue");
    assert.notEqual(new URL(page.url()).pathname, "/sign-in", "signed in by the verification link");
    const cookies = await ada.context.cookies(stack.url);
    assert.ok(cookies.some((c) => c.httpOnly && c.sameSite === "Lax" && /session/i.test(c.name)), JSON.stringify(cookies));

    // Opening the (spent) link again: confirming it leads to a page that offers a new one.
    await page.goto(link);
    await press(page, "Confirm and continue");
    assert.equal(await heading(page), "This link does not work");
    assert.match(await page.locator("main").textContent(), /already used/);
    await check(ada, "verify-email-used");
    await ada.context.close();
  });

  test("sign in: one message for a wrong email or a wrong password, and the input kept", async () => {
    await stack.backend("POST", "/api/backend/v1/users", { email: "bo@example.test", password: "a long passphrase for bo 9d2e", email_verified: true });
    const bo = await person(browser);
    const { page } = bo;
    await page.goto(`${stack.url}/sign-in`);
    const messages = [];
    for (const [email, password] of [
      ["bo@example.test", "not the passphrase 1234"],
      ["nobody@example.test", "a long passphrase for bo 9d2e"],
    ]) {
      await fill(page, "Email address", email);
      await fill(page, "Password", password);
      await press(page, "Sign in");
      await assertPath(page, "/sign-in");
      messages.push(await page.locator(".field-error").first().textContent());
      assert.equal(await page.getByLabel("Email address", { exact: true }).inputValue(), email);
    }
    assert.equal(messages[0], messages[1]);
    assert.match(messages[0], /Enter a correct email address and password/);
    await check(bo, "sign-in-error");

    await signIn(bo, stack, "bo@example.test", "a long passphrase for bo 9d2e");
    assert.notEqual(new URL(page.url()).pathname, "/sign-in");
    await bo.context.close();
  });
});

describe("forgot password", () => {
  test("from the mail to a new password; the old one no longer works and the link works once", async () => {
    await stack.backend("POST", "/api/backend/v1/users", { email: "cy@example.test", password: "the old passphrase of cy 1a2b", email_verified: true });
    const cy = await person(browser);
    const { page } = cy;
    await page.goto(`${stack.url}/sign-in`);
    await follow(page, "Forgot your password?");
    await assertPath(page, "/forgot-password");
    await check(cy, "forgot-password");

    const before = await stack.mail.count();
    await fill(page, "Email address", "cy@example.test");
    await press(page, "Send reset link");
    await assertPath(page, "/forgot-password/sent");
    await check(cy, "forgot-password-sent");

    // An unknown address gets the same page (nothing reveals whether the account exists).
    const unknown = await person(browser);
    await unknown.page.goto(`${stack.url}/forgot-password`);
    await fill(unknown.page, "Email address", "nobody@example.test");
    await press(unknown.page, "Send reset link");
    await assertPath(unknown.page, "/forgot-password/sent");
    assert.equal(await heading(unknown.page), await heading(page));
    await unknown.context.close();

    const mail = await stack.mail.latest("cy@example.test", { after: before });
    const link = linkIn(mail, stack.url, "/reset-password?token=");
    await page.goto(link);
    await assertPath(page, "/reset-password");
    assert.equal(new URL(page.url()).search, "");
    await check(cy, "reset-password");

    // Two different passwords: refused, nothing kept.
    await fill(page, "New password", "the new passphrase of cy 3c4d");
    await fill(page, "Confirm new password", "something else entirely 5e6f");
    await press(page, "Change password");
    assert.match(await page.getByRole("alert").textContent(), /Enter the same password twice/);
    await check(cy, "reset-password-error");
    await fill(page, "New password", "the new passphrase of cy 3c4d");
    await fill(page, "Confirm new password", "the new passphrase of cy 3c4d");
    await press(page, "Change password");
    await assertPath(page, "/sign-in");
    assert.match(await page.getByRole("status").textContent(), /Your password is changed/);
    await check(cy, "sign-in-after-reset");

    await fill(page, "Email address", "cy@example.test");
    await fill(page, "Password", "the old passphrase of cy 1a2b");
    await press(page, "Sign in");
    await assertPath(page, "/sign-in");
    await signIn(cy, stack, "cy@example.test", "the new passphrase of cy 3c4d");

    // The link again: used (said once the form is sent), with a way to ask for a new one.
    await page.goto(link);
    await fill(page, "New password", "yet another passphrase of cy 7a8b");
    await fill(page, "Confirm new password", "yet another passphrase of cy 7a8b");
    await press(page, "Change password");
    assert.equal(await heading(page), "This link does not work");
    assert.match(await page.locator("main").textContent(), /already used/);
    await check(cy, "reset-password-used");
    await follow(page, "Reset your password");
    await assertPath(page, "/forgot-password");
    await cy.context.close();
  });
});

describe("sessions", () => {
  test("sign out everywhere ends the session of the other browser", async () => {
    const { email, password } = await signUpAndVerify(browser, stack, { first: "Dee", last: "Everywhere", email: "dee@example.test" }, { keep: false });
    const laptop = await person(browser);
    const phone = await person(browser);
    await signIn(laptop, stack, email, password);
    await signIn(phone, stack, email, password);

    await laptop.page.goto(`${stack.url}/sign-out`);
    assert.equal(await heading(laptop.page), "Sign out");
    await check(laptop, "sign-out");
    await press(laptop.page, "Sign out everywhere");
    await assertPath(laptop.page, "/sign-in");
    assert.match(await laptop.page.getByRole("status").textContent(), /You are signed out/);

    // The phone's next page asks it to sign in.
    await phone.page.goto(`${stack.url}/sign-out`);
    await assertPath(phone.page, "/sign-in");
    await phone.page.goto(`${stack.url}/sign-in`);
    assert.equal(await heading(phone.page), "Sign in to Tenantry");
    await laptop.context.close();
    await phone.context.close();
  });

  test("sign out on this device only leaves the other browser signed in", async () => {
    const { email, password } = await signUpAndVerify(browser, stack, { first: "Eve", last: "Once", email: "eve@example.test" }, { keep: false });
    const laptop = await person(browser);
    const phone = await person(browser);
    await signIn(laptop, stack, email, password);
    await signIn(phone, stack, email, password);
    await laptop.page.goto(`${stack.url}/sign-out`);
    await press(laptop.page, "Sign out");
    await assertPath(laptop.page, "/sign-in");
    await phone.page.goto(`${stack.url}/sign-out`);
    await assertPath(phone.page, "/sign-out");
    await laptop.context.close();
    await phone.context.close();
  });
});

test("an unknown address gets the styled 404 page", async () => {
  const someone = await person(browser);
  const response = await someone.page.goto(`${stack.url}/no-such-page`);
  assert.equal(response.status(), 404);
  assert.equal(await heading(someone.page), "Page not found");
  await check(someone, "not-found");
  await someone.context.close();
});

test("single sign-on: the start page, and an address no organization signs in with", async () => {
  const someone = await person(browser);
  const { page } = someone;
  await page.goto(`${stack.url}/sso`);
  await check(someone, "sso-start");
  assert.equal(await heading(page), "Sign in with single sign-on");
  await fill(page, "Work email or organization ID", "someone@no-sso.example");
  await press(page, "Continue");
  await assertPath(page, "/sso");
  assert.match(await page.getByRole("alert").textContent(), /There is a problem/);
  assert.equal(await page.getByLabel("Work email or organization ID", { exact: true }).inputValue(), "someone@no-sso.example");
  await check(someone, "sso-start-error");
  await someone.context.close();
});
