import { createHmac, timingSafeEqual } from 'node:crypto';

// Meta's `signed_request` (data-deletion and deauthorize callbacks): `<sig>.<payload>`, both
// base64url; sig is the raw HMAC-SHA256 of the still-encoded payload, keyed with the app secret.
// Checked in the order of compliance.md §1.1: shape, signature (constant time), and only then the
// JSON. Nothing from the payload is trusted or even parsed before the signature matches.

export const SIGNED_REQUEST_ALGORITHM = 'HMAC-SHA256';

export type SignedRequestResult =
  | { ok: true; userId: string; issuedAt: number; algorithm: typeof SIGNED_REQUEST_ALGORITHM }
  | { ok: false; reason: string };

export interface VerifyOptions {
  nowMs: number;
  /** issued_at may be at most this far from now, in the past or the future (replay window). */
  maxAgeMs: number;
}

/** Far more than any real signed request (a few hundred characters); refused before any work. */
const MAX_LENGTH = 8192;
/** base64url, optionally padded with up to two '=' (some senders pad; a tolerant reader accepts it). */
const B64URL = /^[A-Za-z0-9_-]+={0,2}$/;
const HMAC_BYTES = 32;

const fail = (reason: string): SignedRequestResult => ({ ok: false, reason });

/** Decodes base64url with or without padding; undefined for a length no encoding produces. */
function decodeBase64url(text: string): Buffer | undefined {
  const bare = text.replace(/=+$/, '');
  if (bare.length % 4 === 1) return undefined;
  if (text.length !== bare.length && text.length % 4 !== 0) return undefined; // padded, but wrongly
  return Buffer.from(bare, 'base64url');
}

const hmac = (payload: string, secret: string) => createHmac('sha256', secret).update(payload, 'utf8').digest();

/**
 * Verifies a signed_request with one app's secret. `user_id` must be a string of digits (that is
 * what Meta sends; a JSON number, or Page-tab uninstalls' `0`, is refused because it names no user).
 * `issued_at` must be an integer number of seconds within `maxAgeMs` of `nowMs`.
 */
export function verifySignedRequest(raw: string, appSecret: string, opts: VerifyOptions): SignedRequestResult {
  if (!appSecret) return fail('no app secret is configured for this app');
  if (typeof raw !== 'string' || raw.length === 0) return fail('malformed: empty');
  if (raw.length > MAX_LENGTH) return fail('malformed: too long');

  // 1. Shape: split on the first dot; two non-empty base64url parts and nothing more.
  const dot = raw.indexOf('.');
  if (dot < 0) return fail('malformed: no "." between signature and payload');
  const encodedSig = raw.slice(0, dot);
  const payload = raw.slice(dot + 1);
  if (!encodedSig || !payload) return fail('malformed: empty signature or payload');
  if (payload.includes('.')) return fail('malformed: more than one "."');
  if (!B64URL.test(encodedSig) || !B64URL.test(payload)) return fail('malformed: not base64url');

  // 2. Signature bytes (tolerant of a trailing '=').
  const sig = decodeBase64url(encodedSig);
  if (!sig) return fail('malformed: signature is not valid base64url');

  // 3. HMAC of the encoded payload; length check first, since timingSafeEqual throws on a mismatch.
  const expected = hmac(payload, appSecret);
  if (sig.length !== HMAC_BYTES || sig.length !== expected.length) return fail('bad signature: wrong length');
  if (!timingSafeEqual(sig, expected)) return fail('bad signature');

  // Only now is the payload worth reading.
  const json = decodeBase64url(payload);
  if (!json) return fail('malformed: payload is not valid base64url');
  let data: unknown;
  try {
    data = JSON.parse(json.toString('utf8'));
  } catch {
    return fail('malformed: payload is not JSON');
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) return fail('malformed: payload is not a JSON object');
  const { algorithm, user_id: userId, issued_at: issuedAt } = data as Record<string, unknown>;

  // 4. Fields.
  if (typeof algorithm !== 'string' || algorithm.toUpperCase() !== SIGNED_REQUEST_ALGORITHM) {
    return fail('unsupported algorithm');
  }
  if (typeof userId !== 'string' || !/^[0-9]{1,64}$/.test(userId) || /^0+$/.test(userId)) {
    return fail('user_id must be a non-empty string of digits');
  }
  if (typeof issuedAt !== 'number' || !Number.isSafeInteger(issuedAt) || issuedAt < 0) {
    return fail('issued_at must be an integer number of seconds');
  }
  const skew = opts.nowMs - issuedAt * 1000;
  if (skew > opts.maxAgeMs) return fail('stale: issued_at is too old');
  if (-skew > opts.maxAgeMs) return fail('stale: issued_at is in the future');
  return { ok: true, userId, issuedAt, algorithm: SIGNED_REQUEST_ALGORITHM };
}

/** Builds a signed_request the way Meta does (unpadded base64url). For tests and the simulator. */
export function signRequest(payload: Record<string, unknown>, secret: string): string {
  const encoded = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `${hmac(encoded, secret).toString('base64url')}.${encoded}`;
}
