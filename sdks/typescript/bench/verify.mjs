// Access-token verification per second: the SDK's `createVerifier().verify` (jose, with every rule
// of src/verify.ts and the JWKS fetched once from a local HTTP server) against the bare Ed25519
// signature check, `crypto.verify`, on the same token, in the same process, in alternating rounds,
// with 1 and with 16 verifications in flight. Also the CPU time (every thread of the process, so
// libuv's pool where WebCrypto runs too) per verification.
//
//   npm run build && npm run bench          (BENCH_ROUNDS, BENCH_ROUND_MS tune a run)
import { verify as cryptoVerify, createPublicKey } from "node:crypto";
import { importJWK, jwtVerify } from "jose";

import { createVerifier } from "../dist/index.js";
import { jwksServer, newKey, NOW, org, signToken } from "../test/keys.mjs";

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const roundMs = Number(process.env.BENCH_ROUND_MS ?? 2000);

const key = await newKey("bench");
const jwks = await jwksServer([key]);
// A token the size of a real one: a user in three orgs.
const token = await signToken(key, jwks.issuer, {
  claims: { orgs: { a: org("a", "Owner"), b: org("b", "Member"), c: org("c", "Viewer") }, active_org_id: "a" },
});
const at = new Date(NOW * 1000);

const verifier = createVerifier({ issuer: jwks.issuer, now: () => at });
await verifier.verify(token); // fetches the JWKS once
const publicKey = createPublicKey({ key: key.jwk, format: "jwk" });
const cryptoKey = await importJWK(key.jwk, "EdDSA");
const [h, p, s] = token.split(".");
const signingInput = Buffer.from(`${h}.${p}`);
const signature = Buffer.from(s, "base64url");
if (!cryptoVerify(null, signingInput, publicKey, signature)) throw new Error("the raw check refuses the token");

const contenders = {
  "crypto.verify (Ed25519 signature only)": async () => cryptoVerify(null, signingInput, publicKey, signature),
  "jose jwtVerify (signature, typ, iss, exp)": async () =>
    jwtVerify(token, cryptoKey, { algorithms: ["EdDSA"], typ: "at+jwt", issuer: jwks.issuer, currentDate: at }),
  "SDK verifier.verify (every rule)": async () => verifier.verify(token),
};

/** { rate: verifications/s, cpu: µs of CPU per verification } with `inFlight` awaited at once. */
async function round(fn, inFlight) {
  const cpu = process.cpuUsage();
  const start = performance.now();
  let n = 0;
  const worker = async () => {
    for (let i = 0; i < 50; i++) await fn();
  };
  while (performance.now() - start < roundMs) {
    await Promise.all(Array.from({ length: inFlight }, worker));
    n += 50 * inFlight;
  }
  const elapsed = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { rate: (n * 1000) / elapsed, cpu: (used.user + used.system) / n };
}

const concurrency = [1, 16];
for (const fn of Object.values(contenders)) await round(fn, 1); // warm-up
const results = {};
for (let r = 0; r < rounds; r++) {
  for (const inFlight of concurrency) {
    for (const [name, fn] of Object.entries(contenders)) {
      ((results[inFlight] ??= {})[name] ??= []).push(await round(fn, inFlight));
    }
  }
}
await jwks.close();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`node ${process.version}, median of ${rounds} alternating rounds of ${roundMs} ms, token ${token.length} bytes`);
for (const inFlight of concurrency) {
  console.log(`\n${inFlight} verification(s) in flight         verifications/s  of raw   CPU µs each`);
  const base = median(Object.values(results[inFlight])[0].map((x) => x.rate));
  for (const [name, xs] of Object.entries(results[inFlight])) {
    const rate = median(xs.map((x) => x.rate));
    const cpu = median(xs.map((x) => x.cpu));
    console.log(
      `  ${name.padEnd(44)} ${Math.round(rate).toString().padStart(7)}  ${((100 * rate) / base).toFixed(1).padStart(6)} %  ${cpu.toFixed(0).padStart(6)}`,
    );
  }
}
