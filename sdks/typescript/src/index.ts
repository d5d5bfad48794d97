/**
 * Tenantry for TypeScript backends. `@tenantry/sdk/express` has the Express middleware and
 * `@tenantry/sdk/browser` the single-page-app helper.
 */
export {
  activeOrg,
  hasPermission,
  hasRole,
  isAccessClaims,
  orgOf,
  type AccessClaims,
  type OrgClaim,
} from "./claims.js";
export {
  ACCESS_TOKEN_TYPE,
  ALGORITHM,
  JwksUnavailableError,
  LEEWAY_SECS,
  MAX_TOKEN_LEN,
  TokenError,
  createVerifier,
  type TokenErrorCode,
  type Verifier,
  type VerifierOptions,
} from "./verify.js";
export {
  authorize,
  bearerToken,
  type Authorized,
  type RefusalCode,
  type Refused,
  type Requirement,
} from "./authorize.js";
export {
  EVENT_TYPES,
  WEBHOOK_TOLERANCE_SECS,
  WebhookError,
  createWebhookVerifier,
  isEvent,
  verifyWebhook,
  type EventOf,
  type EventType,
  type EventsByType,
  type TenantryEvent,
  type VerifiedWebhook,
  type WebhookErrorCode,
  type WebhookHeaders,
} from "./webhooks.js";
export {
  TenantryApiError,
  createBackendClient,
  createEndUserClient,
  pages,
  unwrap,
  type ClientConfig,
  type Schema,
  type TenantryClient,
  type components,
  type operations,
  type paths,
} from "./client.js";
export { PROBLEM_CONTENT_TYPE, isProblem, problem, problemCode, type Problem } from "./problem.js";
