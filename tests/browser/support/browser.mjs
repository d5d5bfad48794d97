// Chromium through playwright-core (Debian's /usr/bin/chromium; playwright downloads nothing), one
// browser context per person, and what every visited page goes through: axe-core (WCAG 2 A and
// AA; a serious or critical violation fails the journey), screenshots at 1280 and 360 px wide into
// target/screenshots/<page>-<width>.png, and its weight (HTML + CSS + JS bytes) into
// target/screenshots/page-weight/<page>.json.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import AxeBuilderModule from "@axe-core/playwright";
import { chromium } from "playwright-core";

import { root } from "./stack.mjs";

const AxeBuilder = AxeBuilderModule.default ?? AxeBuilderModule;
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const SHOTS = join(root, "target", "screenshots");
const WEIGHTS = join(SHOTS, "page-weight");
/** Every journey's pages stay under this (issue 13: HTML + CSS + JS, uncompressed). */
export const WEIGHT_LIMIT = 30 * 1024;

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/**
 * A person with their own browser context (cookies, storage): `{ context, page, js }`.
 * `javaScriptEnabled: false` gives a browser with JavaScript off.
 */
export async function person(browser, { javaScriptEnabled = true } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, javaScriptEnabled, locale: "en-GB" });
  context.setDefaultTimeout(10000);
  context.setDefaultNavigationTimeout(15000);
  const page = await context.newPage();
  const who = { context, page, js: javaScriptEnabled, documents: new Map() };
  // The last document each page received, for its weight.
  page.on("response", (response) => {
    if (response.request().resourceType() === "document" && response.frame() === page.mainFrame()) {
      who.lastDocument = response;
    }
  });
  return who;
}

/** Fills the field whose label is `label` (exactly). */
export async function fill(page, label, value) {
  await page.getByLabel(label, { exact: true }).fill(value);
}

/** Clicks the button named `name` (exactly) and waits for the page it leads to. */
export async function press(page, name) {
  await Promise.all([page.waitForEvent("load"), page.getByRole("button", { name, exact: true }).click()]);
}

/** Follows the link named `name` (exactly). */
export async function follow(page, name) {
  await Promise.all([page.waitForEvent("load"), page.getByRole("link", { name, exact: true }).click()]);
}

/** The page's main heading. */
export async function heading(page) {
  return (await page.getByRole("heading", { level: 1 }).first().textContent()).trim();
}

/** Asserts the page's path (and query, when `path` has one); a failure says what the page shows. */
export async function assertPath(page, path) {
  const u = new URL(page.url());
  const at = path.includes("?") ? u.pathname + u.search : u.pathname;
  if (at !== path) {
    const shown = (await page.locator("main").textContent().catch(() => "")).replace(/\s+/g, " ").trim();
    assert.equal(at, path, `at ${page.url()}, which shows: ${shown.slice(0, 600)}`);
  }
}

const assetSizes = new Map();
const weights = new Map();

/** Bytes of the HTML the page was served plus each style sheet and script it loads. */
async function weigh(who, page) {
  let html = 0;
  try {
    html = (await who.lastDocument?.body())?.length ?? 0;
  } catch {
    // the body is gone (a redirect's target replaced it): measure what the page shows
  }
  if (!html) html = Buffer.byteLength(await page.content());
  const assets = await page.$$eval('link[rel="stylesheet"], script[src]', (els) => els.map((e) => e.href || e.src));
  let total = html;
  for (const href of assets) {
    if (!assetSizes.has(href)) assetSizes.set(href, (await (await fetch(href)).arrayBuffer()).byteLength);
    total += assetSizes.get(href);
  }
  return { html, assets: Object.fromEntries(assets.map((a) => [new URL(a).pathname, assetSizes.get(a)])), total };
}

/**
 * Everything a visited page goes through: axe (when JavaScript runs in this context; axe is a
 * script), two screenshots, and its weight. `name` names the page and state (`sign-in-error`).
 */
export async function check(who, name) {
  const { page } = who;
  await page.waitForLoadState("load");
  if (who.js) {
    const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa"]).analyze();
    const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    assert.deepEqual(
      bad.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
      [],
      `axe on ${name} (${page.url()})`,
    );
  }
  const weight = await weigh(who, page);
  weights.set(name, { url: new URL(page.url()).pathname, ...weight });
  assert.ok(weight.total <= WEIGHT_LIMIT, `${name} weighs ${weight.total} bytes (HTML + CSS + JS), over ${WEIGHT_LIMIT}`);
  mkdirSync(WEIGHTS, { recursive: true });
  writeFileSync(join(WEIGHTS, `${name}.json`), JSON.stringify(weights.get(name)));

  const viewport = page.viewportSize();
  for (const width of [1280, 360]) {
    await page.setViewportSize({ width, height: width === 360 ? 740 : 800 });
    await page.screenshot({ path: join(SHOTS, `${name}-${width}.png`), fullPage: true });
    // At 360 px nothing may stick out sideways (a wide table scrolls inside its own box).
    if (width === 360 && who.js) {
      const wide = await page.evaluate(() => {
        const limit = document.documentElement.clientWidth;
        if (document.documentElement.scrollWidth <= limit) return [];
        return [...document.querySelectorAll("body *")]
          .filter((e) => e.getBoundingClientRect().right > limit + 0.5 && ![...e.children].some((c) => c.getBoundingClientRect().right > limit + 0.5))
          .slice(0, 5)
          .map((e) => `${e.tagName.toLowerCase()}${e.className ? "." + String(e.className).replace(/ /g, ".") : ""} (right edge ${Math.round(e.getBoundingClientRect().right)} px)`);
      });
      assert.deepEqual(wide, [], `${name} is wider than a 360 px screen`);
    }
  }
  await page.setViewportSize(viewport);
}
