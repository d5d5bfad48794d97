/**
 * Gives the deployment the app permission `projects.write` and grants it to Member (so Admin and
 * Owner hold it too, by inheritance): `npm run setup-roles` with TENANTRY_URL and TENANTRY_API_KEY.
 * Running it again changes nothing.
 */
import { createBackendClient, unwrap } from "@tenantry/sdk";

import { configFromEnv } from "./config.js";

const PERMISSION = "projects.write";
const GRANTED_TO = "Member";

const config = configFromEnv();
if (config.apiKey === undefined) {
  console.error("Set TENANTRY_API_KEY (create one with `tenantry api-key create --name saas-node`).");
  process.exit(2);
}
const tenantry = createBackendClient({ baseUrl: config.tenantryUrl, apiKey: config.apiKey });
const roles = await unwrap(tenantry.GET("/api/backend/v1/roles", {}));
const member = roles.hierarchy.find((r) => r.name === GRANTED_TO);
if (member === undefined) {
  console.error(`The deployment has no ${GRANTED_TO} role; grant ${PERMISSION} by hand.`);
  process.exit(1);
}
if (roles.app_permissions.includes(PERMISSION) && (member.permissions ?? []).includes(PERMISSION)) {
  console.log(`${GRANTED_TO} already holds ${PERMISSION}`);
} else {
  await unwrap(
    tenantry.PUT("/api/backend/v1/roles", {
      body: {
        hierarchy: roles.hierarchy.map((r) =>
          r.name === GRANTED_TO ? { ...r, permissions: [...new Set([...(r.permissions ?? []), PERMISSION])] } : r,
        ),
        additional_roles: roles.additional_roles,
        app_permissions: [...new Set([...roles.app_permissions, PERMISSION])],
      },
    }),
  );
  console.log(`${GRANTED_TO} (and every role above it) now holds ${PERMISSION}`);
}
