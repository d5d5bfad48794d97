/**
 * A typed client for every operation of Tenantry's HTTP API, made by `openapi-fetch` from the types
 * that `openapi-typescript` generates from `openapi/openapi.json` (`src/generated/openapi.ts`;
 * `npm run generate` refreshes them, `npm run check:generated` fails when they have drifted).
 *
 * ```ts
 * const tenantry = createBackendClient({ baseUrl: "https://auth.example.com", apiKey: process.env.TENANTRY_API_KEY! });
 * const user = await unwrap(tenantry.GET("/api/backend/v1/users/{user_id}", { params: { path: { user_id } } }));
 * for await (const page of pages((cursor) => unwrap(tenantry.GET("/api/backend/v1/users", { params: { query: { cursor } } })))) {
 *   for (const u of page.users) console.log(u.email);
 * }
 * ```
 */
import createClient, { type Client, type ClientOptions } from "openapi-fetch";

import type { components, paths } from "./generated/openapi.js";
import { isProblem, problemCode, type Problem } from "./problem.js";

export type { components, paths, operations } from "./generated/openapi.js";
/** A schema of the API by name, e.g. `Schema<"UserOut">`. */
export type Schema<Name extends keyof components["schemas"]> = components["schemas"][Name];
export type TenantryClient = Client<paths>;

export interface ClientConfig extends Omit<ClientOptions, "baseUrl"> {
  /** Tenantry's public URL, e.g. `https://auth.example.com`. */
  baseUrl: string;
}

/** A client for the backend API (`/api/backend/v1/…`), authenticated with an API key (`tnt_…`). */
export function createBackendClient(config: ClientConfig & { apiKey: string }): TenantryClient {
  const { apiKey, ...rest } = config;
  return withBearer(rest, apiKey);
}

/** A client for the end-user API (`/api/v1/…`), acting for the user whose access token it sends. */
export function createEndUserClient(config: ClientConfig & { accessToken: string }): TenantryClient {
  const { accessToken, ...rest } = config;
  return withBearer(rest, accessToken);
}

function withBearer(config: ClientConfig, token: string): TenantryClient {
  const headers = new Headers(config.headers as HeadersInit | undefined);
  headers.set("Authorization", `Bearer ${token}`);
  return createClient<paths>({ ...config, baseUrl: config.baseUrl.replace(/\/+$/, ""), headers });
}

/** An answer that was not 2xx: Tenantry's problem+json, typed. */
export class TenantryApiError extends Error {
  override readonly name = "TenantryApiError";
  /** The stable code: the last segment of the problem's `type` (`email-taken`, …). */
  readonly code: string;
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(`${status} ${problem.type}: ${problem.detail}`);
    this.code = problemCode(problem) ?? problem.type;
  }
  /** Problems with individual input fields (on 422 and some 400 answers). */
  get fieldErrors(): { field: string; detail: string }[] {
    return this.problem.errors ?? [];
  }
}

/**
 * The data of an `openapi-fetch` result, or throws {@link TenantryApiError} with the problem. For
 * operations that answer 204, the data is `undefined`.
 */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<Exclude<T, undefined>> {
  const { data, error, response } = await call;
  if (!response.ok) {
    const body: Problem = isProblem(error)
      ? error
      : { type: "about:blank", title: response.statusText, status: response.status, detail: String(error ?? "") };
    throw new TenantryApiError(response.status, body);
  }
  return data as Exclude<T, undefined>;
}

/**
 * Every page of a cursor-paginated list, in order: `fetchPage` gets `undefined` first, then each
 * page's `next_cursor` until a page has none.
 */
export async function* pages<Page extends { next_cursor?: string }>(
  fetchPage: (cursor: string | undefined) => Promise<Page>,
): AsyncGenerator<Page, void, undefined> {
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor);
    yield page;
    cursor = page.next_cursor;
  } while (cursor !== undefined);
}
