/**
 * Route protection without a framework: `authorize` takes what any HTTP server has (the
 * `Authorization` header and the org the route is about) and returns either the verified user and
 * their standing in the org, or the refusal to send, a 401/403 problem+json that says why.
 * `express.ts` wraps it as middleware; for another server, send `refusal.status`,
 * `refusal.headers` and `JSON.stringify(refusal.problem)` yourself.
 */
import { hasPermission, hasRole, orgOf, type AccessClaims, type OrgClaim } from "./claims.js";
import { problem, type Problem } from "./problem.js";
import { JwksUnavailableError, TokenError, type Verifier } from "./verify.js";

/** What a route needs of the caller. With no org requirement only a valid token is needed. */
export interface Requirement {
  /**
   * The org the request is about; `undefined` falls back on the token's `active_org_id`. Only used
   * with `org: true`, `minRole` or `permission`.
   */
  orgId?: string | undefined;
  /** Membership of the org is required (implied by `minRole` and `permission`). */
  org?: boolean;
  /**
   * The least role in the org's hierarchy: the member's role must be this one or one above it
   * (a role that inherits it), or an additional role of that name.
   */
  minRole?: string;
  /** A permission the member must hold in the org, such as `projects.write`. */
  permission?: string;
}

/** The caller, once allowed. `org` is set when the requirement named an org. */
export interface Authorized {
  ok: true;
  claims: AccessClaims;
  org: OrgClaim | undefined;
  /** The token as sent, to forward to Tenantry's end-user API on the user's behalf. */
  token: string;
}

/** The answer to send instead of running the route. */
export interface Refused {
  ok: false;
  status: 401 | 403 | 503;
  headers: Record<string, string>;
  problem: Problem;
}

/** The stable codes of the refusals, beside the `token-*` codes of {@link TokenError}. */
export type RefusalCode =
  | "unauthenticated"
  | "no-org-selected"
  | "not-a-member"
  | "mfa-required"
  | "role-required"
  | "permission-denied"
  | "jwks-unavailable";

/** The bearer token of an `Authorization` header, or `undefined`. */
export function bearerToken(authorization: string | null | undefined): string | undefined {
  const match = /^Bearer +([^\s]+) *$/i.exec(authorization ?? "");
  return match?.[1];
}

/** Verifies the caller's token and applies `requirement`. Never throws for a refusal. */
export async function authorize(
  verifier: Verifier,
  authorization: string | null | undefined,
  requirement: Requirement = {},
): Promise<Authorized | Refused> {
  const token = bearerToken(authorization);
  if (token === undefined) {
    return refuse(401, "unauthenticated", "Sign in first: send `Authorization: Bearer <access token>`.", {
      "WWW-Authenticate": "Bearer",
    });
  }
  let claims: AccessClaims;
  try {
    claims = await verifier.verify(token);
  } catch (err) {
    if (err instanceof TokenError) {
      return refuse(401, err.code, `The access token was refused: ${err.message}.`, {
        "WWW-Authenticate": `Bearer error="invalid_token"`,
      });
    }
    if (err instanceof JwksUnavailableError) {
      return refuse(503, "jwks-unavailable", "The keys that verify access tokens cannot be fetched.", {
        "Retry-After": "5",
      });
    }
    throw err;
  }
  const needsOrg = requirement.org === true || requirement.minRole !== undefined || requirement.permission !== undefined;
  if (!needsOrg) return { ok: true, claims, org: undefined, token };

  const orgId = requirement.orgId ?? claims.active_org_id;
  if (orgId === undefined) {
    return refuse(403, "no-org-selected", "This route acts in an organization: name one, or select one first.");
  }
  const org = orgOf(claims, orgId);
  if (org === undefined) {
    const detail = claims.orgs_truncated
      ? `Organization ${orgId} is not in this token, which lists only some of the user's organizations: select it first.`
      : `The user is not a member of organization ${orgId}.`;
    return refuse(403, "not-a-member", detail);
  }
  if (org.mfa_required === true) {
    return refuse(403, "mfa-required", `Organization ${org.name} requires two-factor authentication: set it up first.`);
  }
  if (requirement.minRole !== undefined && !hasRole(org, requirement.minRole)) {
    return refuse(
      403,
      "role-required",
      `This needs the role ${requirement.minRole} or higher in ${org.name}; the user is ${org.role}.`,
    );
  }
  if (requirement.permission !== undefined && !hasPermission(org, requirement.permission)) {
    return refuse(403, "permission-denied", `This needs the permission ${requirement.permission} in ${org.name}.`);
  }
  return { ok: true, claims, org, token };
}

function refuse(
  status: Refused["status"],
  code: string,
  detail: string,
  headers: Record<string, string> = {},
): Refused {
  return { ok: false, status, headers, problem: problem(status, code, detail) };
}
