/**
 * Access-token verification against Tenantry's JWKS, with `jose`. The rules are those of the Rust
 * SDK (`crates/tenantry-sdk/src/jose.rs`), checked in the same order with the same stable codes:
 *
 * - the token is at most 64 KiB and a JWS compact serialization;
 * - its header says `alg: EdDSA` (`token-alg`), carries none of `jku`, `x5u`, `jwk`, `x5c`
 *   (`token-kid`: only keys from the JWKS count) and no `crit` (`token-malformed`), has
 *   `typ: at+jwt` or `application/at+jwt`, case-insensitively (`token-type`), and names a `kid`
 *   that the JWKS has (`token-kid`);
 * - the key is not a point of small order (`token-kid`, as the Rust SDK drops such keys) and the
 *   signature's R is not either, then the Ed25519 signature verifies (`token-signature`): Node's
 *   OpenSSL checks neither, and under a small-order key a made-up signature verifies;
 * - `iss` is the issuer (`token-issuer`); `aud` is the audience given, or both are absent
 *   (`token-audience`); `exp` has not passed and neither `iat` nor `nbf` is in the future, each
 *   with 60 s of skew (`token-expired`); the claims have the documented shape (`token-malformed`).
 *
 * Keys rotate: `createRemoteJWKSet` fetches the JWKS, refetches it after 10 minutes, and on a `kid`
 * it does not know (at most once every 30 s). While the JWKS cannot be fetched, the keys last
 * fetched keep verifying.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JWSHeaderParameters,
  type FlattenedJWSInput,
  type JWTPayload,
} from "jose";

import { isAccessClaims, type AccessClaims } from "./claims.js";
import type { JSONWebKeySet } from "jose";

/** The JOSE `typ` of an access token (RFC 9068 §2.1). */
export const ACCESS_TOKEN_TYPE = "at+jwt";
/** The only JOSE `alg` issued and accepted. */
export const ALGORITHM = "EdDSA";
/** Clock skew tolerated on `exp`, `iat` and `nbf`, in seconds. */
export const LEEWAY_SECS = 60;
/** Longer tokens are refused before any decoding. */
export const MAX_TOKEN_LEN = 64 * 1024;

/** The stable codes of a refused token, the same as the Rust SDK's and Tenantry's own. */
export type TokenErrorCode =
  | "token-malformed"
  | "token-alg"
  | "token-kid"
  | "token-type"
  | "token-signature"
  | "token-expired"
  | "token-issuer"
  | "token-audience";

/** A token was refused. The message never echoes the token, so logging it is safe. */
export class TokenError extends Error {
  override readonly name = "TokenError";
  constructor(
    readonly code: TokenErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The JWKS could not be fetched and no keys were fetched before: nothing can be verified. */
export class JwksUnavailableError extends Error {
  override readonly name = "JwksUnavailableError";
  readonly code = "jwks-unavailable";
}

export interface VerifierOptions {
  /** Tenantry's public URL (`public_url`), which is each token's `iss`. */
  issuer: string;
  /** The audience to require; when unset, tokens with an `aud` are refused. */
  audience?: string;
  /** Where the keys are; defaults to `{issuer}/.well-known/jwks.json`. */
  jwksUrl?: string | URL;
  /** The clock, for tests; defaults to `Date.now`. */
  now?: () => Date;
  /** Passed to `createRemoteJWKSet`: how long fetched keys are fresh (default 10 minutes). */
  cacheMaxAgeMs?: number;
  /** Passed to `createRemoteJWKSet`: the least time between two fetches for unknown keys (30 s). */
  cooldownMs?: number;
  /** Passed to `createRemoteJWKSet`: the JWKS request's timeout (5 s). */
  timeoutMs?: number;
}

export interface Verifier {
  /** The verified claims, or throws a {@link TokenError} (or {@link JwksUnavailableError}). */
  verify(token: string, options?: { now?: Date }): Promise<AccessClaims>;
  readonly issuer: string;
}

/** A verifier of Tenantry access tokens for `issuer`; one per process, shared by every request. */
export function createVerifier(options: VerifierOptions): Verifier {
  const issuer = options.issuer;
  const jwksUrl = new URL(options.jwksUrl ?? `${issuer.replace(/\/+$/, "")}/.well-known/jwks.json`);
  const remote = createRemoteJWKSet(jwksUrl, {
    cacheMaxAge: options.cacheMaxAgeMs ?? 10 * 60_000,
    cooldownDuration: options.cooldownMs ?? 30_000,
    timeoutDuration: options.timeoutMs ?? 5_000,
  });
  const clock = options.now ?? (() => new Date());

  // Whether each key id the set has answered for is a strong key, decided once per id.
  const strong = new Map<string, boolean>();
  const checkKey = (kid: string | undefined, set: () => JSONWebKeySet | undefined) => {
    if (kid === undefined) throw new TokenError("token-kid", "the token names no key");
    let ok = strong.get(kid);
    if (ok === undefined) {
      const x = set()?.keys.find((k) => k.kid === kid)?.x;
      ok = typeof x === "string" && !isWeakPoint(base64url(x));
      strong.set(kid, ok);
    }
    if (!ok) throw new TokenError("token-kid", "the token names a key that is not a valid Ed25519 key");
  };

  // The header rules, then the remote set, falling back on the last keys fetched while the JWKS
  // cannot be reached. jose calls this after its own parse of the header and its `alg` allowlist,
  // and before the signature check.
  const keys = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    checkHeader(header);
    // OpenSSL's Ed25519 is not strict: a small-order R is not refused (the Rust SDK's
    // `verify_strict` refuses it), and neither is a small-order key, under which a made-up
    // signature verifies for any message. Both are checked here, before the signature.
    if (isWeakPoint(base64url(token.signature).subarray(0, 32))) {
      throw new TokenError("token-signature", "the token's signature does not verify");
    }
    try {
      const key = await remote(header, token);
      checkKey(header.kid, () => remote.jwks());
      return key;
    } catch (err) {
      // A key the fetched set lacks is an answer; anything else (no connection, a timeout, a
      // non-200 or malformed answer) means the JWKS is unreachable for now.
      if (err instanceof TokenError || err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
        throw err;
      }
      const last = remote.jwks();
      if (last === undefined) {
        throw new JwksUnavailableError(`the JWKS at ${jwksUrl.href} cannot be fetched`, { cause: err });
      }
      const key = await createLocalJWKSet(last)(header, token);
      checkKey(header.kid, () => last);
      return key;
    }
  };

  return {
    issuer,
    async verify(token, verifyOptions) {
      const now = verifyOptions?.now ?? clock();
      if (token.length > MAX_TOKEN_LEN || token.split(".", 4).length !== 3) {
        throw new TokenError("token-malformed", "the token is not a well-formed JWS compact serialization");
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          algorithms: [ALGORITHM],
          typ: ACCESS_TOKEN_TYPE,
          currentDate: now,
          clockTolerance: LEEWAY_SECS,
          requiredClaims: ["iss", "exp", "iat"],
        }));
      } catch (err) {
        throw refusal(err);
      }
      checkClaims(payload, Math.floor(now.getTime() / 1000), issuer, options.audience);
      return payload as unknown as AccessClaims;
    },
  };
}

/**
 * The header rules that `jose` leaves to the caller, applied before any key is looked up (`jose`
 * has refused a malformed header, an unknown `crit` and an `alg` other than EdDSA already).
 */
function checkHeader(header: JWSHeaderParameters): void {
  if (header.alg !== ALGORITHM) throw new TokenError("token-alg", "the token's algorithm is not EdDSA");
  for (const member of ["jku", "x5u", "jwk", "x5c"] as const) {
    if (member in header) {
      throw new TokenError("token-kid", "the token names its own key (jku, x5u, jwk or x5c)");
    }
  }
  if ("crit" in header) throw new TokenError("token-malformed", "the token demands extensions (crit)");
  const typ = typeof header.typ === "string" ? header.typ.toLowerCase().replace(/^application\//, "") : undefined;
  if (typ !== ACCESS_TOKEN_TYPE) throw new TokenError("token-type", "the token is not an access token (typ)");
  if (typeof header.kid !== "string") throw new TokenError("token-kid", "the token names no key");
}

/** What `jose` checks less strictly than the Rust SDK: `aud`, `iat` in the future, the shape. */
function checkClaims(payload: JWTPayload, now: number, issuer: string, audience: string | undefined): void {
  if (payload.iss !== issuer) throw new TokenError("token-issuer", "the token was issued by someone else");
  if (payload.aud !== undefined && typeof payload.aud !== "string") {
    throw new TokenError("token-malformed", "the token's aud is not a string");
  }
  if (payload.aud !== audience) throw new TokenError("token-audience", "the token is meant for another audience");
  const iat = payload.iat ?? 0;
  const notBefore = payload.nbf === undefined ? iat : Math.max(payload.nbf, iat);
  if (notBefore > now + LEEWAY_SECS) {
    throw new TokenError("token-expired", "the token is not valid yet (iat or nbf in the future)");
  }
  if ((payload.exp ?? 0) <= now - LEEWAY_SECS) throw new TokenError("token-expired", "the token has expired");
  if (!isAccessClaims(payload as Record<string, unknown>)) {
    throw new TokenError("token-malformed", "the token's claims do not have the documented shape");
  }
}

/** `jose`'s error, as one of the stable codes. */
function refusal(err: unknown): Error {
  if (err instanceof TokenError || err instanceof JwksUnavailableError) return err;
  if (err instanceof errors.JWTExpired) return new TokenError("token-expired", "the token has expired");
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case "iss":
        return new TokenError("token-issuer", "the token was issued by someone else");
      case "aud":
        return new TokenError("token-audience", "the token is meant for another audience");
      case "nbf":
      case "iat":
        return new TokenError("token-expired", "the token is not valid yet (iat or nbf in the future)");
      case "typ":
        return new TokenError("token-type", "the token is not an access token (typ)");
      default:
        return new TokenError("token-malformed", `the token's ${err.claim} claim is missing or malformed`);
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return new TokenError("token-alg", "the token's algorithm is not EdDSA");
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return new TokenError("token-kid", "the token names a key that is not in the JWKS");
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new TokenError("token-signature", "the token's signature does not verify");
  }
  if (err instanceof errors.JOSEError) {
    return new TokenError("token-malformed", "the token is not a well-formed JWS with the expected claims");
  }
  return err instanceof Error ? err : new Error(String(err));
}

function base64url(text: string): Buffer {
  return Buffer.from(text, "base64url");
}

/**
 * The encodings (sign bit ignored) of the eight points of small order, non-canonical ones
 * included (libsodium's list), and any other encoding of a y at or above the field's prime.
 */
const SMALL_ORDER = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

function isWeakPoint(point: Uint8Array): boolean {
  if (point.length !== 32) return true;
  const y = Buffer.from(point);
  y[31] = y[31]! & 0x7f;
  if (SMALL_ORDER.includes(y.toString("hex"))) return true;
  // y >= p = 2^255 - 19: not canonical.
  return y[31] === 0x7f && y[0]! >= 0xed && y.subarray(1, 31).every((b) => b === 0xff);
}
