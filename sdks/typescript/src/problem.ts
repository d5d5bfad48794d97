/**
 * RFC 9457 problem details, as Tenantry answers every error and as this SDK's middleware answers its
 * refusals. `type` is `urn:tenantry:problem:<code>`; the codes are stable.
 */

/** The problem+json body. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { field: string; detail: string }[];
}

export const PROBLEM_CONTENT_TYPE = "application/problem+json";
const PREFIX = "urn:tenantry:problem:";

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** A problem with the stable `code` (the last segment of its `type`). */
export function problem(status: number, code: string, detail: string): Problem {
  return { type: PREFIX + code, title: TITLES[status] ?? "Error", status, detail };
}

/** The stable code of a problem's `type`, or `undefined` when it is not a Tenantry problem type. */
export function problemCode(p: Pick<Problem, "type">): string | undefined {
  return p.type.startsWith(PREFIX) ? p.type.slice(PREFIX.length) : undefined;
}

/** Whether `value` has the members every problem has. */
export function isProblem(value: unknown): value is Problem {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.type === "string" && typeof v.status === "number" && typeof v.detail === "string";
}
