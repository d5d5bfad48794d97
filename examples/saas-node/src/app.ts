/**
 * The SaaS backend: projects that belong to organizations, behind Tenantry's access tokens.
 *
 * | route | needs |
 * |---|---|
 * | `GET /api/me` | a signed-in user |
 * | `POST /api/orgs` | a signed-in user (creates an org in Tenantry, on their behalf) |
 * | `GET /api/orgs/:orgId/projects` | a member of the org |
 * | `POST /api/orgs/:orgId/projects` | the `projects.write` permission in the org |
 * | `GET /api/orgs/:orgId/members` | an Admin (or Owner) of the org; reads them through the backend API |
 *
 * Refusals are the SDK's: 401 or 403 with a problem+json body that says why.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import express, { type Express, type Response } from "express";
import {
  createBackendClient,
  createEndUserClient,
  createVerifier,
  problem,
  TenantryApiError,
  unwrap,
  type Verifier,
} from "@tenantry/sdk";
import { tenantryExpress } from "@tenantry/sdk/express";

import type { Config } from "./config.js";

interface Project {
  id: number;
  name: string;
  created_by: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const sdkBrowserDir = dirname(fileURLToPath(import.meta.resolve("@tenantry/sdk/browser")));

export function createApp(config: Config, verifier: Verifier = createVerifier({ issuer: config.tenantryUrl })): Express {
  const app = express();
  const auth = tenantryExpress({ verifier });
  const projects = new Map<string, Project[]>();
  let nextId = 1;

  // The one page, and the SDK's browser helper (it imports only its own problem module).
  app.use(express.static(join(here, "..", "public")));
  for (const file of ["browser.js", "problem.js"]) {
    app.get(`/sdk/${file}`, (_req, res) => res.type("text/javascript").sendFile(join(sdkBrowserDir, file)));
  }
  app.get("/config.json", (_req, res) => res.json({ tenantryUrl: config.tenantryUrl }));

  app.get("/api/me", auth.requireUser(), (req, res) => {
    const { claims } = req.tenantry!;
    res.json({
      user_id: claims.sub,
      email: claims.email,
      active_org_id: claims.active_org_id ?? null,
      orgs: Object.values(claims.orgs).map(({ org_id, name, role, permissions }) => ({ org_id, name, role, permissions })),
    });
  });

  app.post("/api/orgs", express.json(), auth.requireUser(), async (req, res) => {
    const tenantry = createEndUserClient({ baseUrl: config.tenantryUrl, accessToken: req.tenantry!.token });
    await answer(res, 201, () => unwrap(tenantry.POST("/api/v1/orgs", { body: { name: String(req.body?.name ?? "") } })));
  });

  app.get("/api/orgs/:orgId/projects", auth.requireOrgMember(), (req, res) => {
    res.json({ projects: projects.get(req.tenantry!.org!.org_id) ?? [] });
  });

  app.post(
    "/api/orgs/:orgId/projects",
    express.json(),
    auth.requireOrgMember({ permission: "projects.write" }),
    (req, res) => {
      const name = typeof req.body?.name === "string" ? req.body.name.trim() : "";
      if (name === "") {
        res.status(422).type("application/problem+json").send(JSON.stringify(problem(422, "invalid-input", "A project needs a name.")));
        return;
      }
      const project = { id: nextId++, name, created_by: req.tenantry!.claims.email };
      const orgId = req.tenantry!.org!.org_id;
      projects.set(orgId, [...(projects.get(orgId) ?? []), project]);
      res.status(201).json(project);
    },
  );

  app.get("/api/orgs/:orgId/members", auth.requireOrgMember({ minRole: "Admin" }), async (req, res) => {
    if (config.apiKey === undefined) {
      res.status(503).type("application/problem+json").send(JSON.stringify(problem(503, "not-configured", "Set TENANTRY_API_KEY.")));
      return;
    }
    const tenantry = createBackendClient({ baseUrl: config.tenantryUrl, apiKey: config.apiKey });
    const orgId = req.tenantry!.org!.org_id;
    await answer(res, 200, async () => {
      const page = await unwrap(tenantry.GET("/api/backend/v1/orgs/{org_id}/members", { params: { path: { org_id: orgId } } }));
      const members = page.entries.flatMap((e) => (e.member ? [{ email: e.member.email, role: e.member.role }] : []));
      return { members };
    });
  });

  // Anything else, as problem+json too: a body that is not JSON (400), or a bug (500, logged).
  app.use((err: { status?: number; type?: string }, _req: express.Request, res: Response, _next: express.NextFunction) => {
    const status = err.status === 400 || err.type === "entity.parse.failed" ? 400 : 500;
    if (status === 500) console.error(err);
    const detail = status === 400 ? "The body is not valid JSON." : "Something went wrong on our side.";
    res.status(status).type("application/problem+json").send(JSON.stringify(problem(status, status === 400 ? "bad-request" : "internal", detail)));
  });

  return app;
}

/** Runs `work` and sends its result, or Tenantry's problem as it came. */
async function answer(res: Response, status: number, work: () => Promise<unknown>): Promise<void> {
  try {
    res.status(status).json(await work());
  } catch (err) {
    if (err instanceof TenantryApiError) {
      res.status(err.status).type("application/problem+json").send(JSON.stringify(err.problem));
      return;
    }
    throw err;
  }
}
