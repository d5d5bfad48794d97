// Steps many journeys share, done through the pages as a person would.
import assert from "node:assert/strict";

import { fill, person, press } from "./browser.mjs";
import { linkIn } from "./stack.mjs";

/** A password good enough for the policy, different per person. */
export function passwordFor(email) {
  return `a long passphrase for ${email.split("@")[0]} 4f7a`;
}

/**
 * Signs `who` in on the sign-in page (from `path`, default /sign-in) and checks they left it.
 */
export async function signIn(who, stack, email, password, path = "/sign-in") {
  const { page } = who;
  await page.goto(stack.url + path);
  await fill(page, "Email address", email);
  await fill(page, "Password", password);
  await press(page, "Sign in");
  const at = new URL(page.url());
  assert.notEqual(at.pathname, "/sign-in", `signing in ${email} was refused: ${await page.locator("main").textContent()}`);
}

/**
 * Fills and sends the sign-up form on the page `who` is on (the sign-up page).
 */
export async function fillSignUp(who, { first, last, email, password }) {
  const { page } = who;
  await fill(page, "First name", first);
  await fill(page, "Last name", last);
  const emailField = page.getByLabel("Email address", { exact: true });
  if ((await emailField.inputValue()) !== email) await emailField.fill(email);
  await fill(page, "Password", password);
  await press(page, "Create account");
  assert.equal(new URL(page.url()).pathname, "/sign-up/check-inbox", `sign-up of ${email}: ${await page.locator("main").textContent()}`);
}

/** Opens the newest verification mail to `email` (after mail #`after`) and confirms it. */
export async function confirmFromMail(who, stack, email, after) {
  const mail = await stack.mail.latest(email, { subject: /verify/i, after });
  await who.page.goto(linkIn(mail, stack.url, "/verify-email?token="));
  await press(who.page, "Confirm and continue");
}

/**
 * A new account made through the pages: sign up, the mail, confirm. Returns { email, password,
 * who } (the browser context stays open and signed in when `keep`, else it is closed).
 */
export async function signUpAndVerify(browser, stack, { first, last, email, password = passwordFor(email) }, { keep = true } = {}) {
  const who = await person(browser);
  await who.page.goto(`${stack.url}/sign-up`);
  const before = await stack.mail.count();
  await fillSignUp(who, { first, last, email, password });
  await confirmFromMail(who, stack, email, before);
  if (!keep) {
    await who.context.close();
    return { email, password };
  }
  return { email, password, who };
}

/**
 * Opens every link to this deployment in every mail the sink received (in a fresh browser, signed
 * out) and checks each lands on a page: no 5xx, and not the "Page not found" of an unknown path
 * (a spent link's own page, "This link does not work", is fine). Returns how many were opened.
 */
export async function everyMailLinkOpens(browser, stack) {
  const links = new Set();
  for (const mail of await stack.mail.all()) {
    for (const word of `${mail.text ?? ""} ${mail.html ?? ""}`.split(/[\s"'<>]+/)) {
      if (word.startsWith(stack.url)) links.add(word.replace(/&amp;/g, "&"));
    }
  }
  const who = await person(browser);
  const broken = [];
  for (const link of links) {
    const response = await who.page.goto(link);
    const title = await who.page.getByRole("heading", { level: 1 }).first().textContent().catch(() => "(no heading)");
    if (response.status() >= 500 || title.trim() === "Page not found") broken.push(`${new URL(link).pathname}: ${response.status()} ${title.trim()}`);
  }
  await who.context.close();
  assert.deepEqual(broken, [], "links in mails that open no page");
  return links.size;
}
