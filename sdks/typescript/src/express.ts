/**
 * Express middleware over {@link authorize}: `requireUser()` needs a valid access token,
 * `requireOrgMember({ minRole | permission })` membership of the org named by the route. On success
 * the request carries `req.tenantry` (the claims, the org, the token); otherwise the middleware
 * answers the refusal as problem+json and the route does not run.
 *
 * ```ts
 * const auth = tenantryExpress({ verifier: createVerifier({ issuer: "https://auth.example.com" }) });
 * app.get("/api/orgs/:orgId/settings", auth.requireOrgMember({ minRole: "Admin" }), handler);
 * ```
 */
import type { NextFunction, Request, RequestHandler, Response } from "express";

import { authorize, type Authorized, type Refused, type Requirement } from "./authorize.js";
import { PROBLEM_CONTENT_TYPE } from "./problem.js";
import type { Verifier } from "./verify.js";

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by Tenantry's middleware once the caller is allowed. */
      tenantry?: Omit<Authorized, "ok">;
    }
  }
}

export interface ExpressOptions {
  verifier: Verifier;
  /**
   * Which org a request is about. The default reads the route parameter `orgId`, then the
   * `X-Org-Id` header; `undefined` means the token's active org.
   */
  orgId?: (req: Request) => string | undefined;
}

export interface OrgRequirement {
  minRole?: string;
  permission?: string;
}

export interface TenantryExpress {
  /** The caller must send a valid access token. */
  requireUser(): RequestHandler;
  /** The caller must be a member of the request's org, with `minRole` and/or `permission` if given. */
  requireOrgMember(requirement?: OrgRequirement): RequestHandler;
}

function defaultOrgId(req: Request): string | undefined {
  const fromPath = (req.params as Record<string, string | undefined>).orgId;
  return fromPath ?? req.get("x-org-id") ?? undefined;
}

export function tenantryExpress(options: ExpressOptions): TenantryExpress {
  const orgIdOf = options.orgId ?? defaultOrgId;
  const guard =
    (requirement: (req: Request) => Requirement): RequestHandler =>
    (req: Request, res: Response, next: NextFunction) => {
      authorize(options.verifier, req.get("authorization"), requirement(req)).then((result) => {
        if (result.ok) {
          req.tenantry = { claims: result.claims, org: result.org, token: result.token };
          next();
        } else {
          sendRefusal(res, result);
        }
      }, next);
    };
  return {
    requireUser: () => guard(() => ({})),
    requireOrgMember: (requirement = {}) => guard((req) => ({ ...requirement, org: true, orgId: orgIdOf(req) })),
  };
}

/** Sends a refusal as problem+json. */
export function sendRefusal(res: Response, refusal: Refused): void {
  res.status(refusal.status).set(refusal.headers).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(refusal.problem));
}
