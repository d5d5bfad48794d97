/**
 * For single-page apps: the signed-in user's access token, from the session of Tenantry's hosted
 * pages. The page never sees a password or a refresh token; it asks Tenantry for a short-lived
 * access token with a credentialed `fetch` (the session cookie goes along) and sends that token to
 * its own backend, which verifies it (`createVerifier`, `requireOrgMember`).
 *
 * ```ts
 * import { createBrowserSession } from "@tenantry/sdk/browser";
 * const session = createBrowserSession({ tenantryUrl: "https://auth.example.com" });
 * const token = await session.getAccessToken();          // null when signed out
 * if (token === null) session.signIn();                  // to the hosted sign-in page and back
 * await session.fetch("/api/projects");                  // your backend, with the token
 * ```
 *
 * Tenantry answers the token request only for origins listed in `http.allowed_origins`.
 * This module imports nothing but the SDK's own problem type, so it runs in any browser as is.
 */
import { isProblem, type Problem } from "./problem.js";

/** A session token as `POST /api/v1/session/token` answers it. */
interface TokenAnswer {
  access_token: string;
  token_type: string;
  expires_in: number;
}

export interface BrowserSessionOptions {
  /** Tenantry's public URL, e.g. `https://auth.example.com`. */
  tenantryUrl: string;
  /** Refresh a token this many seconds before it expires (default 60). */
  refreshMarginSecs?: number;
  /** For tests: the `fetch` to use and the clock. */
  fetch?: typeof fetch;
  now?: () => number;
  /** For tests: where `signIn` sends the browser (default `location.assign`). */
  navigate?: (url: string) => void;
}

/** What the browser helper could not do; `problem` is Tenantry's answer when it gave one. */
export class SessionError extends Error {
  override readonly name = "SessionError";
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** The unverified claims of a token, for display only: the backend verifies, the page does not. */
export interface DisplayClaims {
  sub: string;
  email: string;
  exp: number;
  active_org_id?: string;
  orgs: Record<string, { org_id: string; name: string; slug: string; role: string; permissions: string[] }>;
  [claim: string]: unknown;
}

export interface BrowserSession {
  /**
   * A token valid for at least `refreshMarginSecs`, fetched again when the cached one is about to
   * expire; `null` when nobody is signed in. Concurrent calls share one request.
   */
  getAccessToken(): Promise<string | null>;
  /** The claims of the current token (unverified), or `null` when signed out. */
  claims(): Promise<DisplayClaims | null>;
  /** The hosted sign-in page's URL, which sends the user back to `returnTo` afterwards. */
  signInUrl(returnTo?: string): string;
  /** Sends the browser to the hosted sign-in page; it comes back to `returnTo` (default: here). */
  signIn(returnTo?: string): void;
  /** Makes `orgId` the session's active org (`null` clears it) and returns the new token. */
  setActiveOrg(orgId: string | null): Promise<string>;
  /** `fetch` with `Authorization: Bearer <token>` added (for the app's own backend). */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** Forgets the cached token (after a sign-out elsewhere, say). */
  clear(): void;
}

export function createBrowserSession(options: BrowserSessionOptions): BrowserSession {
  const base = options.tenantryUrl.replace(/\/+$/, "");
  const margin = options.refreshMarginSecs ?? 60;
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const now = options.now ?? (() => Date.now());
  const navigate = options.navigate ?? ((url: string) => globalThis.location.assign(url));

  let cached: { token: string; expiresAt: number } | undefined;
  let inFlight: Promise<string | null> | undefined;

  const remember = (answer: TokenAnswer): string => {
    cached = { token: answer.access_token, expiresAt: now() + answer.expires_in * 1000 };
    return answer.access_token;
  };

  const fetchToken = async (): Promise<string | null> => {
    const response = await doFetch(`${base}/api/v1/session/token`, {
      method: "POST",
      credentials: "include",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: "{}",
    });
    if (response.status === 401) {
      cached = undefined;
      return null;
    }
    if (!response.ok) throw await failure(response, "the session token request failed");
    return remember((await response.json()) as TokenAnswer);
  };

  const getAccessToken = (): Promise<string | null> => {
    if (cached && cached.expiresAt - margin * 1000 > now()) return Promise.resolve(cached.token);
    inFlight ??= fetchToken().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  const signInUrl = (returnTo?: string): string => {
    const back = returnTo ?? globalThis.location?.href ?? "/";
    return `${base}/sign-in?return_to=${encodeURIComponent(back)}`;
  };

  return {
    getAccessToken,
    async claims() {
      const token = await getAccessToken();
      return token === null ? null : decodeClaims(token);
    },
    signInUrl,
    signIn(returnTo) {
      navigate(signInUrl(returnTo));
    },
    async setActiveOrg(orgId) {
      const token = await getAccessToken();
      if (token === null) throw new SessionError(401, undefined, "nobody is signed in");
      const response = await doFetch(`${base}/api/v1/me/active-org`, {
        method: "PUT",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify({ org_id: orgId }),
      });
      if (!response.ok) throw await failure(response, "the active organization could not be set");
      // The answer also holds a refresh token, which a page has no use for: the cookie is the session.
      return remember((await response.json()) as TokenAnswer);
    },
    async fetch(input, init = {}) {
      const token = await getAccessToken();
      const headers = new Headers(init.headers);
      if (token !== null) headers.set("Authorization", `Bearer ${token}`);
      return doFetch(input, { ...init, headers });
    },
    clear() {
      cached = undefined;
    },
  };
}

async function failure(response: Response, what: string): Promise<SessionError> {
  const body: unknown = await response.json().catch(() => undefined);
  const problem = isProblem(body) ? body : undefined;
  return new SessionError(response.status, problem, `${what}: ${response.status} ${problem?.detail ?? ""}`.trim());
}

/** The payload of a JWT, decoded without verification. */
export function decodeClaims(token: string): DisplayClaims {
  const payload = token.split(".")[1] ?? "";
  const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as DisplayClaims;
}
