// Webhook verification (src/webhooks.ts) on deliveries the real server sends to a receiver here,
// and the typed catalog against the one the server serves.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import { Webhook } from "standardwebhooks";

import { createBackendClient, EVENT_TYPES, isEvent, unwrap, verifyWebhook, WebhookError } from "../dist/index.js";
import { startTenantry } from "./support.mjs";

let server, tenantry, receiver;

/** A receiver that keeps each delivery's raw body and headers, answering 204. */
async function startReceiver() {
  const deliveries = [];
  const waiting = [];
  const http = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const delivery = { headers: req.headers, body: Buffer.concat(chunks) };
      res.writeHead(204).end();
      const waiter = waiting.shift();
      if (waiter) waiter(delivery);
      else deliveries.push(delivery);
    });
  });
  await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${http.address().port}/hooks`,
    /** The next delivery (the server sends at once; the test runner's timeout bounds the wait). */
    next: () => (deliveries.length > 0 ? Promise.resolve(deliveries.shift()) : new Promise((r) => waiting.push(r))),
    close: () => new Promise((resolve) => http.close(resolve)),
  };
}

before(async () => {
  server = await startTenantry();
  tenantry = createBackendClient({ baseUrl: server.url, apiKey: server.apiKey });
  receiver = await startReceiver();
});
after(async () => {
  await receiver?.close();
  await server?.stop();
});

test("the catalog compiled into the SDK is the one the server serves", async () => {
  const served = await unwrap(tenantry.GET("/api/backend/v1/webhooks/event-types", {}));
  assert.deepEqual([...EVENT_TYPES].sort(), served.event_types.map((t) => t.type).sort());
});

test("a real delivery verifies into a typed event; a changed body, id or secret does not", async () => {
  const { secret } = await unwrap(
    tenantry.POST("/api/backend/v1/webhooks/endpoints", { body: { url: receiver.url, event_types: ["user.created"] } }),
  );
  const user = await unwrap(tenantry.POST("/api/backend/v1/users", { body: { email: "hooked@example.test" } }));
  const delivery = await receiver.next();

  const verified = verifyWebhook(secret, delivery.headers, delivery.body);
  assert.equal(verified.id, delivery.headers["webhook-id"]);
  assert.ok(isEvent(verified.event, "user.created"));
  assert.equal(verified.event.data.user_id, user.user_id);
  assert.equal(verified.event.data.email, "hooked@example.test");
  assert.equal(verified.event.data.version, 1);

  const refused = (headers, body, code, key = secret) =>
    assert.throws(() => verifyWebhook(key, headers, body), (err) => err instanceof WebhookError && err.code === code);
  refused(delivery.headers, Buffer.from(delivery.body.toString().replace("hooked", "hacked")), "invalid-signature");
  refused({ ...delivery.headers, "webhook-id": "msg_other" }, delivery.body, "invalid-signature");
  refused(delivery.headers, delivery.body, "invalid-signature", "whsec_" + Buffer.alloc(32, 7).toString("base64"));
  refused({ ...delivery.headers, "webhook-timestamp": `${delivery.headers["webhook-timestamp"]}x` }, delivery.body, "invalid-timestamp");
  refused({ "webhook-id": "x" }, delivery.body, "missing-headers");
  assert.throws(() => verifyWebhook("whsec_!!!", delivery.headers, delivery.body), (err) => err.code === "invalid-secret");

  // Signed with the endpoint's secret, but 6 minutes ago: a replay.
  const old = new Date(Date.now() - 6 * 60 * 1000);
  const signature = new Webhook(secret).sign(delivery.headers["webhook-id"], old, delivery.body);
  refused(
    { ...delivery.headers, "webhook-timestamp": String(Math.floor(old.getTime() / 1000)), "webhook-signature": signature },
    delivery.body,
    "invalid-timestamp",
  );
});

test("after a secret rotation a delivery verifies with the old secret and with the new one", async () => {
  const created = await unwrap(
    tenantry.POST("/api/backend/v1/webhooks/endpoints", { body: { url: receiver.url, event_types: ["org.created"] } }),
  );
  const endpoint_id = created.endpoint.endpoint_id;
  const rotated = await unwrap(
    tenantry.POST("/api/backend/v1/webhooks/endpoints/{endpoint_id}/secret/rotate", { params: { path: { endpoint_id } } }),
  );
  assert.notEqual(rotated.secret, created.secret);
  const org = await unwrap(tenantry.POST("/api/backend/v1/orgs", { body: { name: "Rotation Ltd" } }));
  const delivery = await receiver.next();
  assert.equal(delivery.headers["webhook-signature"].split(" ").length, 2);
  for (const secret of [created.secret, rotated.secret]) {
    const { event } = verifyWebhook(secret, delivery.headers, delivery.body);
    assert.ok(isEvent(event, "org.created"));
    assert.equal(event.data.org_id, org.org_id);
  }
});

test("an event type newer than the SDK verifies with event null", () => {
  const secret = "whsec_" + Buffer.alloc(32, 1).toString("base64");
  const body = JSON.stringify({ type: "org.future_thing", timestamp: new Date().toISOString(), data: {} });
  const now = new Date();
  const headers = {
    "webhook-id": "msg_1",
    "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
    "webhook-signature": new Webhook(secret).sign("msg_1", now, body),
  };
  const verified = verifyWebhook(secret, headers, body);
  assert.equal(verified.event, null);
  assert.equal(verified.body.type, "org.future_thing");
});
