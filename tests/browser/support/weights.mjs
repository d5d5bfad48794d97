// After the journeys (npm test runs it whether they passed or not): every page's weight (HTML + CSS + JS bytes, uncompressed)
// from target/screenshots/page-weight/*.json, merged into target/screenshots/page-weight.json and
// printed as a table, heaviest first.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { SHOTS, WEIGHT_LIMIT } from "./browser.mjs";

const dir = join(SHOTS, "page-weight");
const pages = Object.fromEntries(
  readdirSync(dir)
    .filter((n) => n.endsWith(".json"))
    .map((n) => [n.slice(0, -5), JSON.parse(readFileSync(join(dir, n), "utf8"))]),
);
writeFileSync(join(SHOTS, "page-weight.json"), JSON.stringify(pages, null, 2));
const rows = Object.entries(pages).sort((a, b) => b[1].total - a[1].total);
console.log(`page weight (HTML + CSS + JS, bytes; limit ${WEIGHT_LIMIT}), ${rows.length} pages and states:`);
for (const [name, w] of rows) {
  console.log(`${String(w.total).padStart(7)}  ${String(w.html).padStart(6)} HTML  ${name.padEnd(32)} ${w.url}`);
}
