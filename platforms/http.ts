import { createHash } from 'node:crypto';
import { PlatformError } from './errors.ts';
import type { Provider, TokenSet } from './types.ts';

// The one way adapters call a platform: a timeout on every call, and every failure turned into a
// PlatformError by the adapter's own classifier (with generic fallbacks by status).

export interface PlatformRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** application/x-www-form-urlencoded body. */
  form?: Record<string, string | undefined>;
  json?: unknown;
  /** A raw byte body (an upload chunk); its content-type comes with the headers. */
  bytes?: Uint8Array;
  /** Not safe to repeat: a lost answer is outcome_unknown rather than transient. */
  write?: boolean;
}

export interface PlatformResponse {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  body: unknown;
  /** The platform's clock (Date header), so reset times in its clock become waits in ours. */
  serverNowMs: number;
}

/** Returns the PlatformError a response means, or undefined when it is a success. */
export type Classifier = (res: PlatformResponse, req: PlatformRequest) => PlatformError | undefined;

export function url(base: string, path: string, query: Record<string, string | undefined> = {}): string {
  const u = new URL(base.replace(/\/$/, '') + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, v);
  return u.toString();
}

export async function callPlatform(
  platform: Provider,
  timeoutMs: number,
  req: PlatformRequest,
  classify: Classifier,
): Promise<PlatformResponse> {
  const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
  let body: string | Uint8Array | undefined;
  if (req.bytes) {
    body = req.bytes;
  } else if (req.form) {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(req.form)) if (v !== undefined) form.set(k, v);
    body = form.toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else if (req.json !== undefined) {
    body = JSON.stringify(req.json);
    headers['content-type'] = 'application/json';
  }
  let raw: Response;
  let text: string;
  try {
    raw = await fetch(req.url, {
      method: req.method ?? 'GET',
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
    });
    text = await raw.text();
  } catch (err) {
    const what = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'connection failed';
    throw new PlatformError(platform, req.write ? 'outcome_unknown' : 'transient', `${platform}: ${what}`);
  }
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  const date = Date.parse(raw.headers.get('date') ?? '');
  const res: PlatformResponse = {
    status: raw.status,
    headers: raw.headers,
    text,
    body: parsed,
    serverNowMs: Number.isNaN(date) ? Date.now() : date,
  };
  const error = classify(res, req) ?? (res.status >= 400 ? byStatus(platform, res, req) : undefined);
  if (error) throw error;
  return res;
}

/** Fallback when a platform's classifier does not recognise the body. */
export function byStatus(platform: Provider, res: PlatformResponse, req: PlatformRequest): PlatformError {
  const status = res.status;
  const msg = `${platform}: HTTP ${status}`;
  if (status === 429)
    return new PlatformError(platform, 'rate_limited', msg, { status, retryAfterMs: retryAfter(res) });
  if (status >= 500) return new PlatformError(platform, req.write ? 'outcome_unknown' : 'transient', msg, { status });
  if (status === 401) return new PlatformError(platform, 'token_expired', msg, { status });
  return new PlatformError(platform, 'permanent', msg, { status });
}

/** Retry-After in seconds or as an HTTP date (measured against the platform's own clock). */
export function retryAfter(res: PlatformResponse): number | undefined {
  const value = res.headers.get('retry-after');
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - res.serverNowMs);
}

/** Standard OAuth 2 token-endpoint errors (RFC 6749 §5.2). */
export function oauthError(platform: Provider, res: PlatformResponse): PlatformError | undefined {
  const body = res.body as { error?: unknown; error_description?: string } | undefined;
  if (res.status < 400 || typeof body?.error !== 'string') return undefined;
  const message = `${platform}: ${body.error}${body.error_description ? ` (${body.error_description})` : ''}`;
  const opts = { status: res.status, code: body.error };
  switch (body.error) {
    // A dead or reused refresh token, or a code already spent: only a new consent helps.
    case 'invalid_grant':
      return new PlatformError(platform, 'token_revoked', message, opts);
    case 'invalid_token':
      return new PlatformError(platform, 'token_revoked', message, opts);
    case 'temporarily_unavailable':
    case 'server_error':
      return new PlatformError(platform, 'transient', message, opts);
    default:
      return new PlatformError(platform, 'permanent', message, opts);
  }
}

export const asRecord = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' ? (value as Record<string, unknown>) : {};

export function requireString(platform: Provider, obj: Record<string, unknown>, key: string): string {
  const value = obj[key];
  if (typeof value === 'string' && value) return value;
  if (typeof value === 'number') return String(value);
  throw new PlatformError(platform, 'permanent', `${platform}: response lacks ${key}`);
}

export const inMs = (now: number, seconds: unknown): Date | undefined =>
  typeof seconds === 'number' && seconds > 0 ? new Date(now + seconds * 1000) : undefined;

export function pkceChallenge(verifier: string): string {
  // Node's crypto is synchronous and available in activities and the API alike.
  return createHash('sha256').update(verifier).digest('base64url');
}

/** The usual OAuth 2 token response: access_token, expires_in, refresh_token, scope. */
export function oauthTokens(
  platform: Provider,
  res: PlatformResponse,
  scopeSeparator: string | RegExp = ' ',
): TokenSet {
  const body = asRecord(res.body);
  const now = Date.now();
  const scope = typeof body.scope === 'string' ? body.scope : '';
  return {
    accessToken: requireString(platform, body, 'access_token'),
    refreshToken: typeof body.refresh_token === 'string' && body.refresh_token ? body.refresh_token : undefined,
    expiresAt: inMs(now, body.expires_in),
    refreshExpiresAt: inMs(now, body.refresh_expires_in ?? body.refresh_token_expires_in),
    scopes: scope.split(scopeSeparator).filter(Boolean),
  };
}
