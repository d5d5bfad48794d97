/**
 * The claims of a Tenantry access token (docs/design.md §3). Unknown claims are kept but not typed,
 * so a newer Tenantry can add some without breaking an older SDK.
 */

/** The user's standing in one org. */
export interface OrgClaim {
  org_id: string;
  name: string;
  slug: string;
  /** The role given to the user in this org. */
  role: string;
  /** Roles that `role` includes (those below it in the hierarchy). */
  inherited_roles: string[];
  /** Roles given on top of `role`. */
  additional_roles: string[];
  /** Every permission the roles above grant, flattened. */
  permissions: string[];
  /**
   * The org requires two-factor authentication and this session has not met it: the user may not act
   * in the org until they have set it up. Absent means false.
   */
  mfa_required?: boolean;
}

/** What a verified access token says about its user. */
export interface AccessClaims {
  /** The Tenantry instance that issued the token (its public URL). */
  iss: string;
  /** The user id. */
  sub: string;
  aud?: string;
  /** Issued at, in seconds since the Unix epoch. */
  iat: number;
  /** Expires at, in seconds since the Unix epoch. */
  exp: number;
  nbf?: number;
  /** The token id. */
  jti: string;
  /** The session the token was issued for. */
  sid: string;
  email: string;
  email_verified: boolean;
  /** The orgs the user may act in, by org id. */
  orgs: Record<string, OrgClaim>;
  /** The org the user has selected, if any. */
  active_org_id?: string;
  /** The user is in more orgs than the token lists; ask the backend API for the rest. */
  orgs_truncated?: boolean;
  /** How the session was authenticated (RFC 8176): `pwd`, `otp`, … */
  amr?: string[];
}

/** The user's standing in `orgId`, or `undefined` when they may not act in it. */
export function orgOf(claims: AccessClaims, orgId: string): OrgClaim | undefined {
  return Object.prototype.hasOwnProperty.call(claims.orgs, orgId) ? claims.orgs[orgId] : undefined;
}

/** The user's standing in the org they have selected. */
export function activeOrg(claims: AccessClaims): OrgClaim | undefined {
  return claims.active_org_id === undefined ? undefined : orgOf(claims, claims.active_org_id);
}

export function hasPermission(org: OrgClaim, permission: string): boolean {
  return org.permissions.includes(permission);
}

/**
 * Whether the user holds `role` in the org: given, inherited or additional. With the default
 * hierarchy (Owner > Admin > Member > Viewer), `hasRole(org, "Admin")` holds for Admins and Owners.
 */
export function hasRole(org: OrgClaim, role: string): boolean {
  return org.role === role || org.inherited_roles.includes(role) || org.additional_roles.includes(role);
}

const isString = (v: unknown): v is string => typeof v === "string";
const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

/** Whether a verified payload has the documented shape (as the Rust SDK's `AccessClaims` requires). */
export function isAccessClaims(p: Record<string, unknown>): p is Record<string, unknown> & AccessClaims {
  if (!isString(p.iss) || !isString(p.sub) || !isInt(p.iat) || !isInt(p.exp)) return false;
  if (!isString(p.jti) || !isString(p.sid) || !isString(p.email) || typeof p.email_verified !== "boolean") return false;
  if (p.aud !== undefined && !isString(p.aud)) return false;
  if (p.nbf !== undefined && !isInt(p.nbf)) return false;
  if (p.active_org_id !== undefined && !isString(p.active_org_id)) return false;
  if (p.orgs_truncated !== undefined && typeof p.orgs_truncated !== "boolean") return false;
  if (p.amr !== undefined && !isStrings(p.amr)) return false;
  if (typeof p.orgs !== "object" || p.orgs === null || Array.isArray(p.orgs)) return false;
  return Object.values(p.orgs as Record<string, unknown>).every((o) => {
    if (typeof o !== "object" || o === null) return false;
    const org = o as Record<string, unknown>;
    return (
      isString(org.org_id) &&
      isString(org.name) &&
      isString(org.slug) &&
      isString(org.role) &&
      isStrings(org.inherited_roles) &&
      isStrings(org.additional_roles) &&
      isStrings(org.permissions) &&
      (org.mfa_required === undefined || typeof org.mfa_required === "boolean")
    );
  });
}
