/**
 * Verification of the webhooks Tenantry sends (Standard Webhooks, docs/design.md §5), with the
 * `standardwebhooks` package, and the typed events of the catalog (`x-webhooks` in
 * `openapi/openapi.json`, generated into `src/generated/events.ts`).
 *
 * Verify the raw body exactly as received, before parsing it (in Express:
 * `express.raw({ type: "application/json" })` on the webhook route).
 */
import { Webhook, WebhookVerificationError } from "standardwebhooks";

import { EVENT_TYPES, type EventsByType } from "./generated/events.js";

export { EVENT_TYPES, type EventsByType } from "./generated/events.js";

/** A wire name of the catalog (`user.created`, …). */
export type EventType = keyof EventsByType;
/** Any event of the catalog, discriminated by `type`: `switch (event.type)` narrows `data`. */
export type TenantryEvent = EventsByType[EventType];
/** The event of one type. */
export type EventOf<T extends EventType> = EventsByType[T];

/** How far `webhook-timestamp` may be from the receiver's clock, either way (fixed by the library). */
export const WEBHOOK_TOLERANCE_SECS = 5 * 60;

/** A verified delivery. */
export interface VerifiedWebhook {
  /** `webhook-id`: the same on every attempt and replay. Keep the ids processed to drop repeats. */
  id: string;
  /**
   * The event, or `null` when its type is newer than this SDK's catalog: answer 2xx and ignore it
   * (or upgrade), since Tenantry retries anything else.
   */
  event: TenantryEvent | null;
  /** The parsed body, whatever its type. */
  body: { type: string; timestamp: string; data: unknown };
}

export type WebhookErrorCode = "invalid-secret" | "missing-headers" | "invalid-timestamp" | "invalid-signature" | "invalid-body";

/** A delivery was refused: answer 400 (or 401) and do not act on it. Never contains the secret. */
export class WebhookError extends Error {
  override readonly name = "WebhookError";
  constructor(
    readonly code: WebhookErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The three Standard Webhooks headers, by name in any case; a `Headers` or Node's header object. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(" ") : value;
  }
  return undefined;
}

/** A verifier for one endpoint's secret (`whsec_…`); during a rotation either signature suffices. */
export function createWebhookVerifier(secret: string): (headers: WebhookHeaders, body: string | Uint8Array) => VerifiedWebhook {
  let webhook: Webhook;
  try {
    webhook = new Webhook(secret);
  } catch {
    throw new WebhookError("invalid-secret", "the webhook secret is not whsec_ followed by base64");
  }
  return (headers, body) => {
    const id = header(headers, "webhook-id");
    const timestamp = header(headers, "webhook-timestamp");
    const signature = header(headers, "webhook-signature");
    if (!id || !timestamp || !signature) {
      throw new WebhookError("missing-headers", "webhook-id, webhook-timestamp and webhook-signature are required");
    }
    // The library reads the leading digits of anything; the Rust SDK wants digits only.
    if (!/^[0-9]{1,18}$/.test(timestamp)) {
      throw new WebhookError("invalid-timestamp", "webhook-timestamp is not a number of seconds");
    }
    let parsed: unknown;
    try {
      parsed = webhook.verify(body, {
        "webhook-id": id,
        "webhook-timestamp": timestamp,
        "webhook-signature": signature,
      });
    } catch (err) {
      if (err instanceof WebhookVerificationError) {
        const stale = /timestamp too (old|new)/i.test(err.message);
        throw new WebhookError(stale ? "invalid-timestamp" : "invalid-signature", err.message);
      }
      throw new WebhookError("invalid-body", "the signature verifies but the body is not JSON");
    }
    const body_ = parsed as VerifiedWebhook["body"];
    const known = typeof body_?.type === "string" && (EVENT_TYPES as readonly string[]).includes(body_.type);
    return { id, event: known ? (body_ as TenantryEvent) : null, body: body_ };
  };
}

/** One-shot form of {@link createWebhookVerifier}. */
export function verifyWebhook(secret: string, headers: WebhookHeaders, body: string | Uint8Array): VerifiedWebhook {
  return createWebhookVerifier(secret)(headers, body);
}

/** Narrows an event to one type: `if (isEvent(e, "user.created")) e.data.email`. */
export function isEvent<T extends EventType>(event: TenantryEvent | null, type: T): event is EventOf<T> {
  return event?.type === type;
}
