// Two-factor authentication through the pages: set it up from the account (the key read off the
// page, codes made by pyotp, a real authenticator implementation from the peers' venv), a wrong
// code refused, the backup codes shown once, then signing in with the code step and a backup code.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";

import { assertPath, check, fill, follow, heading, launch, person, press } from "../support/browser.mjs";
import { passwordFor, signIn } from "../support/people.mjs";
import { peersPython, startStack } from "../support/stack.mjs";

const run = promisify(execFile);
let stack, browser;

/** The current TOTP code for `secret`, from pyotp. */
async function totp(secret) {
  const { stdout } = await run(peersPython(), ["-c", "import pyotp,sys; print(pyotp.TOTP(sys.argv[1]).now())", secret]);
  return stdout.trim();
}

before(async () => {
  stack = await startStack();
  browser = await launch();
  await stack.backend("POST", "/api/backend/v1/users", { email: "tess@example.test", password: passwordFor("tess@example.test"), email_verified: true });
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

describe("two-factor authentication", () => {
  let backupCodes;

  test("Tess sets it up from her account; a wrong code is refused first", async () => {
    const tess = await person(browser);
    const { page } = tess;
    await signIn(tess, stack, "tess@example.test", passwordFor("tess@example.test"));
    await page.goto(`${stack.url}/account/two-factor`);
    assert.equal(await heading(page), "Two-factor authentication");
    await check(tess, "mfa-account-off");
    await press(page, "Set up two-factor authentication");
    assert.equal(await heading(page), "Set up two-factor authentication");
    assert.equal(await page.getByRole("img", { name: "A QR code for your authenticator app" }).count(), 1);
    await check(tess, "mfa-enroll");
    const secret = (await page.locator("code.secret").textContent()).replace(/\s+/g, "");
    assert.match(secret, /^[A-Z2-7]+=*$/);

    const good = await totp(secret);
    const wrong = String((Number(good) + 500000) % 1000000).padStart(6, "0");
    await fill(page, "Code", wrong);
    await press(page, "Turn on");
    assert.match(await page.getByRole("alert").textContent(), /There is a problem/);
    await check(tess, "mfa-enroll-error");

    await fill(page, "Code", good);
    await press(page, "Turn on");
    assert.equal(await heading(page), "Save your backup codes");
    backupCodes = (await page.locator(".backup-codes code").allTextContents()).map((c) => c.trim());
    assert.equal(backupCodes.length, 10);
    await check(tess, "mfa-backup-codes");
    await follow(page, "I have saved them");
    await assertPath(page, "/account/two-factor");
    assert.match(await page.locator("main").textContent(), /Two-factor authentication is on/);
    await check(tess, "mfa-account-on");
    await tess.context.close();
  });

  test("signing in asks for the code; a backup code works once", async () => {
    const tess = await person(browser);
    const { page } = tess;
    await page.goto(`${stack.url}/sign-in`);
    await fill(page, "Email address", "tess@example.test");
    await fill(page, "Password", passwordFor("tess@example.test"));
    await press(page, "Sign in");
    await assertPath(page, "/sign-in/two-factor");
    assert.equal(await heading(page), "Enter your code");
    await check(tess, "mfa-sign-in");
    await follow(page, "Use a backup code instead");
    await check(tess, "mfa-sign-in-backup");
    await fill(page, "Backup code", backupCodes[0]);
    await press(page, "Continue");
    assert.notEqual(new URL(page.url()).pathname, "/sign-in/two-factor", await page.locator("main").textContent());
    await tess.context.close();

    // The same backup code again: refused.
    const again = await person(browser);
    await again.page.goto(`${stack.url}/sign-in`);
    await fill(again.page, "Email address", "tess@example.test");
    await fill(again.page, "Password", passwordFor("tess@example.test"));
    await press(again.page, "Sign in");
    await again.page.goto(`${stack.url}/sign-in/two-factor?backup=1`);
    await fill(again.page, "Backup code", backupCodes[0]);
    await press(again.page, "Continue");
    await assertPath(again.page, "/sign-in/two-factor");
    assert.match(await again.page.getByRole("alert").textContent(), /There is a problem/);
    await check(again, "mfa-sign-in-error");
    await again.context.close();
  });
});
