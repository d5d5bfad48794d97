// The real Tenantry server for the SDK's tests: the `tenantry` binary built by cargo, on a fresh
// SQLite database in a temporary folder, on a free loopback port. Each test file starts its own.
import { spawn, execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The `tenantry` binary: TENANTRY_BIN, else the debug build in CARGO_TARGET_DIR (or ~/.cache/tenantry-target). */
export function tenantryBinary() {
  if (process.env.TENANTRY_BIN) return process.env.TENANTRY_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache", "tenantry-target");
  return join(target, "debug", "tenantry");
}

export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts `tenantry serve` and creates a backend API key. `env` adds or overrides TENANTRY_*
 * variables. Returns { url, apiKey, env, stop() }.
 */
export async function startTenantry(env = {}) {
  const dir = await mkdtemp(join(tmpdir(), "tenantry-sdk-ts-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Tenantry refuses TENANTRY_* variables it does not know, so TENANTRY_BIN stays out.
  const { TENANTRY_BIN: _bin, ...inherited } = process.env;
  const serverEnv = {
    ...inherited,
    TENANTRY_DATABASE_URL: `sqlite://${join(dir, "tenantry.db")}`,
    TENANTRY_LISTEN: `127.0.0.1:${port}`,
    TENANTRY_PUBLIC_URL: url,
    TENANTRY_MASTER_KEY_FILE: join(dir, "master.key"),
    TENANTRY_MAIL__OUTBOX_DIR: join(dir, "mail"),
    TENANTRY_HTTP__MANAGEMENT_ENABLED: "false",
    TENANTRY_WEBHOOKS__ALLOW_PRIVATE_TARGETS: "true",
    TENANTRY_LOG_LEVEL: "warn",
    ...env,
  };
  const binary = tenantryBinary();
  let apiKey;
  try {
    apiKey = (await run(binary, ["api-key", "create", "--name", "sdk-tests"], { env: serverEnv })).stdout.trim();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const child = spawn(binary, ["serve"], { env: serverEnv, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));

  // Wait (bounded) until it answers; fail with its logs if it exits or never does.
  let ready = false;
  for (let attempt = 0; attempt < 400 && child.exitCode === null; attempt++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) {
        ready = true;
        break;
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!ready) {
    child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    throw new Error(`tenantry did not become ready on ${url}:\n${stderr}`);
  }
  return {
    url,
    apiKey,
    env: serverEnv,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A JSON call to the server; returns { status, body, headers }. */
export async function call(url, method, path, { token, body, headers = {} } = {}) {
  const response = await fetch(url + path, {
    method,
    headers: {
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}

/** Calls and asserts the status; returns the body. */
export async function expectCall(status, ...args) {
  const answer = await call(...args);
  if (answer.status !== status) {
    throw new Error(`${args[1]} ${args[2]}: expected ${status}, got ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  return answer.body;
}

let users = 0;
/** Creates a user (email verified) through the backend API: { user, email, password }. */
export async function createUser(server, name = `user${++users}`) {
  const email = `${name}@example.test`;
  const password = `a long passphrase for ${name} 8e5d`;
  const user = await expectCall(201, server.url, "POST", "/api/backend/v1/users", {
    token: server.apiKey,
    body: { email, password, email_verified: true },
  });
  return { user, email, password };
}

/** Signs in through the end-user API: { tokens, cookie } (the session cookie, as a Cookie header). */
export async function login(server, { email, password }) {
  const response = await fetch(`${server.url}/api/v1/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (response.status !== 200) throw new Error(`login: ${response.status} ${await response.text()}`);
  const { tokens } = await response.json();
  const cookie = response.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  return { tokens, cookie };
}

/** A new user, signed in: { user, email, password, tokens, cookie }. */
export async function signedInUser(server, name) {
  const created = await createUser(server, name);
  return { ...created, ...(await login(server, created)) };
}

/**
 * The deployment's roles with the app permission `projects.write` held by Member (so by Admin and
 * Owner too), and one org whose Owner, Admin, Member and Viewer are signed in; plus an outsider.
 * Returns { orgId, owner, admin, member, viewer, outsider }, each with `tokens`.
 */
export async function orgWithEveryRole(server, prefix) {
  const roles = await expectCall(200, server.url, "GET", "/api/backend/v1/roles", { token: server.apiKey });
  const hierarchy = roles.hierarchy.map((r) =>
    r.name === "Member" ? { ...r, permissions: [...r.permissions, "projects.write"] } : r,
  );
  await expectCall(200, server.url, "PUT", "/api/backend/v1/roles", {
    token: server.apiKey,
    body: { hierarchy, additional_roles: roles.additional_roles, app_permissions: [...new Set([...roles.app_permissions, "projects.write"])] },
  });
  const people = {};
  for (const role of ["owner", "admin", "member", "viewer", "outsider"]) {
    people[role] = await createUser(server, `${prefix}-${role}`);
  }
  const org = await expectCall(201, server.url, "POST", "/api/backend/v1/orgs", {
    token: server.apiKey,
    body: { name: `${prefix} Inc`, owner_user_id: people.owner.user.user_id },
  });
  for (const [who, role] of [["admin", "Admin"], ["member", "Member"], ["viewer", "Viewer"]]) {
    await expectCall(201, server.url, "POST", `/api/backend/v1/orgs/${org.org_id}/members`, {
      token: server.apiKey,
      body: { user_id: people[who].user.user_id, role },
    });
  }
  const result = { orgId: org.org_id };
  for (const [who, person] of Object.entries(people)) result[who] = { ...person, ...(await login(server, person)) };
  return result;
}

/** Fresh tokens for a session (after its orgs changed), through the refresh token. */
export async function refreshed(server, tokens) {
  return expectCall(200, server.url, "POST", "/api/v1/token/refresh", {
    body: { refresh_token: tokens.refresh_token },
  });
}
