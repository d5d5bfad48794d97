// The typed client (src/client.ts) against the real server: calls, problem+json errors as
// TenantryApiError, cursor paging; and the end-user client with a user's token.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { createBackendClient, createEndUserClient, pages, TenantryApiError, unwrap } from "../dist/index.js";
import { signedInUser, startTenantry } from "./support.mjs";

let server, tenantry;
before(async () => {
  server = await startTenantry();
  tenantry = createBackendClient({ baseUrl: server.url, apiKey: server.apiKey });
});
after(() => server?.stop());

test("create and fetch a user", async () => {
  const created = await unwrap(
    tenantry.POST("/api/backend/v1/users", { body: { email: "grace@example.test", first_name: "Grace" } }),
  );
  const fetched = await unwrap(
    tenantry.GET("/api/backend/v1/users/{user_id}", { params: { path: { user_id: created.user_id } } }),
  );
  assert.equal(fetched.email, "grace@example.test");
  assert.equal(fetched.first_name, "Grace");
});

test("an error is a TenantryApiError with the problem's code, detail and field errors", async () => {
  await assert.rejects(
    unwrap(tenantry.POST("/api/backend/v1/users", { body: { email: "not an email", password: "short" } })),
    (err) => {
      assert.ok(err instanceof TenantryApiError);
      assert.equal(err.status, 422);
      assert.equal(err.problem.type, `urn:tenantry:problem:${err.code}`);
      assert.deepEqual(err.fieldErrors.map((e) => e.field).sort(), ["email", "password"]);
      return true;
    },
  );
  await assert.rejects(
    unwrap(tenantry.GET("/api/backend/v1/users/{user_id}", { params: { path: { user_id: "0193b6a0-0000-7000-8000-000000000000" } } })),
    (err) => err instanceof TenantryApiError && err.status === 404 && err.code === "user-not-found",
  );
  const anonymous = createBackendClient({ baseUrl: server.url, apiKey: "tnt_wrong" });
  await assert.rejects(unwrap(anonymous.GET("/api/backend/v1/users", {})), (err) => err.status === 401);
});

test("pages() follows next_cursor to the last page", async () => {
  for (const name of ["page-a", "page-b", "page-c"]) {
    await unwrap(tenantry.POST("/api/backend/v1/users", { body: { email: `${name}@example.test` } }));
  }
  const seen = [];
  let count = 0;
  for await (const page of pages((cursor) =>
    unwrap(tenantry.GET("/api/backend/v1/users", { params: { query: { email_prefix: "page-", limit: 2, cursor } } })),
  )) {
    count += 1;
    seen.push(...page.users.map((u) => u.email));
  }
  assert.deepEqual(seen.sort(), ["page-a@example.test", "page-b@example.test", "page-c@example.test"]);
  assert.equal(count, 2);
});

test("the end-user client acts for the user whose token it sends", async () => {
  const { tokens, email } = await signedInUser(server, "client-enduser");
  const me = createEndUserClient({ baseUrl: server.url, accessToken: tokens.access_token });
  assert.equal((await unwrap(me.GET("/api/v1/me", {}))).email, email);
  const org = await unwrap(me.POST("/api/v1/orgs", { body: { name: "Client Co" } }));
  assert.equal(org.name, "Client Co");
});
