// The latency `requireOrgMember` adds to a request: one Express app, one route without the
// middleware and the same route behind it, called alternately over one keep-alive connection by
// the same process (loopback HTTP, one request in flight; client and server share one event loop).
// Prints medians and the 99th percentile.
//
//   npm run build && npm run bench:middleware        (BENCH_REQUESTS tunes a run)
import express from "express";

import { createVerifier } from "../dist/index.js";
import { tenantryExpress } from "../dist/express.js";
import { jwksServer, newKey, NOW, org, signToken } from "../test/keys.mjs";

const requests = Number(process.env.BENCH_REQUESTS ?? 5000);
const key = await newKey("bench");
const jwks = await jwksServer([key]);
const token = await signToken(key, jwks.issuer, {
  claims: { orgs: { a: org("a", "Owner"), b: org("b", "Member"), c: org("c", "Viewer") }, active_org_id: "a" },
});
const auth = tenantryExpress({ verifier: createVerifier({ issuer: jwks.issuer, now: () => new Date(NOW * 1000) }) });

const app = express();
app.get("/plain/:orgId", (req, res) => res.json({ ok: true }));
app.get("/guarded/:orgId", auth.requireOrgMember({ minRole: "Member" }), (req, res) => res.json({ ok: true }));
const server = await new Promise((resolve) => {
  const s = app.listen(0, "127.0.0.1", () => resolve(s));
});
const base = `http://127.0.0.1:${server.address().port}`;

async function timed(path) {
  const start = process.hrtime.bigint();
  const response = await fetch(base + path, { headers: { Authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
  return Number(process.hrtime.bigint() - start) / 1000;
}

for (let i = 0; i < 500; i++) await timed(i % 2 ? "/plain/b" : "/guarded/b"); // warm-up
const plain = [];
const guarded = [];
for (let i = 0; i < requests; i++) {
  plain.push(await timed("/plain/b"));
  guarded.push(await timed("/guarded/b"));
}
server.close();
await jwks.close();

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)];
console.log(`node ${process.version}, ${requests} requests each, alternating, one in flight (µs)`);
console.log(`  without the middleware   p50 ${pct(plain, 0.5).toFixed(0).padStart(5)}   p99 ${pct(plain, 0.99).toFixed(0).padStart(5)}`);
console.log(`  requireOrgMember         p50 ${pct(guarded, 0.5).toFixed(0).padStart(5)}   p99 ${pct(guarded, 0.99).toFixed(0).padStart(5)}`);
console.log(`  added                    p50 ${(pct(guarded, 0.5) - pct(plain, 0.5)).toFixed(0).padStart(5)}`);
