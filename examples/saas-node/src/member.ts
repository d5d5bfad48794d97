/**
 * Puts a user in an org with a role, or changes their role there, through the backend API:
 * `npm run member -- <org_id> <email> <role>` with TENANTRY_URL and TENANTRY_API_KEY. The quickest
 * way to see the Admin route answer 403 to a Member and 200 to an Admin.
 */
import { createBackendClient, TenantryApiError, unwrap } from "@tenantry/sdk";

import { configFromEnv } from "./config.js";

const [orgId, email, role] = process.argv.slice(2);
const config = configFromEnv();
if (orgId === undefined || email === undefined || role === undefined || config.apiKey === undefined) {
  console.error("usage: TENANTRY_API_KEY=… npm run member -- <org_id> <email> <role>   (role: Owner, Admin, Member, Viewer)");
  process.exit(2);
}
const tenantry = createBackendClient({ baseUrl: config.tenantryUrl, apiKey: config.apiKey });
try {
  const user = await unwrap(tenantry.GET("/api/backend/v1/users/by-email", { params: { query: { email } } }));
  const path = { org_id: orgId, user_id: user.user_id };
  const existing = await tenantry.GET("/api/backend/v1/orgs/{org_id}/members/{user_id}", { params: { path } });
  if (existing.response.ok) {
    await unwrap(tenantry.PATCH("/api/backend/v1/orgs/{org_id}/members/{user_id}", { params: { path }, body: { role } }));
    console.log(`${email} is now ${role} in ${orgId}`);
  } else {
    await unwrap(tenantry.POST("/api/backend/v1/orgs/{org_id}/members", { params: { path: { org_id: orgId } }, body: { user_id: user.user_id, role } }));
    console.log(`${email} joined ${orgId} as ${role}`);
  }
} catch (err) {
  if (!(err instanceof TenantryApiError)) throw err;
  console.error(`${err.status} ${err.code}: ${err.problem.detail}`);
  process.exit(1);
}
