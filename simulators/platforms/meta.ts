import { randomBytes } from 'node:crypto';
import type { Grant, PlatformSim, SimReply, SimToken, TokenAuth } from '../core.ts';

// What the Meta simulators (Instagram, Facebook, Threads, WhatsApp) share: the Graph error envelope
// with its 190 subcodes, throttling with usage headers, field selection, and the token routes.

/** Any Graph version prefix, or none (Graph then uses the app's default version). */
export const graphPath = (path: string) => new RegExp(`^(?:/v\\d+\\.\\d+)?${path}$`);

/** A Meta error before it is put in an envelope. */
export interface MetaProblem {
  code: number;
  subcode?: number;
  message: string;
}

export const ok = (body: unknown): SimReply => ({ status: 200, body });

export function metaError(status: number, p: MetaProblem, more: Record<string, unknown> = {}): SimReply {
  const error = { message: p.message, type: 'OAuthException', code: p.code, error_subcode: p.subcode, ...more };
  return { status, body: { error: { ...error, fbtrace_id: randomBytes(9).toString('base64url') } } };
}

export const serverError = (_sim: PlatformSim, status: number): SimReply =>
  metaError(
    status,
    { code: 2, message: 'An unexpected error has occurred. Please retry your request later.' },
    { is_transient: true },
  );

/** Throttled: the limit's code plus X-App-Usage and X-Business-Use-Case-Usage (minutes to regain access). */
export function throttle(
  p: MetaProblem & { bucType: string; objectId(sim: PlatformSim): string; more?: Record<string, unknown> },
) {
  return (sim: PlatformSim, retryAfterS: number): SimReply => {
    const usage = { call_count: 100, total_cputime: 34, total_time: 41 };
    const buc = { type: p.bucType, ...usage, estimated_time_to_regain_access: Math.ceil(retryAfterS / 60) };
    return {
      ...metaError(400, p, { is_transient: true, ...p.more }),
      headers: {
        'x-app-usage': JSON.stringify(usage),
        'x-business-use-case-usage': JSON.stringify({ [p.objectId(sim)]: [buc] }),
      },
    };
  };
}

/** Meta's time style in token errors: "Sunday, 09-Aug-20 01:30:58 PDT". */
function metaTime(ms: number): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: 'America/Los_Angeles',
    weekday: 'long',
    day: '2-digit',
    month: 'short',
    year: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).formatToParts(new Date(ms));
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${p.weekday}, ${p.day}-${p.month}-${p.year} ${p.hour}:${p.minute}:${p.second} ${p.timeZoneName}`;
}

/** Why Meta refuses a token: 190/463 expired, 190/460 password changed, 190/458 app removed, bare 190 unknown. */
export function tokenProblem(sim: PlatformSim, auth: TokenAuth): MetaProblem {
  const invalid = 'Error validating access token:';
  switch (auth.problem) {
    case 'expired':
      return {
        code: 190,
        subcode: 463,
        message: `${invalid} Session has expired on ${metaTime(auth.token?.expiresAt ?? 0)}. The current time is ${metaTime(sim.clock.now())}.`,
      };
    case 'revoked':
      return auth.grant?.revokedReason === 'password_changed'
        ? {
            code: 190,
            subcode: 460,
            message: `${invalid} The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.`,
          }
        : {
            code: 190,
            subcode: 458,
            message: `${invalid} The user has not authorized application ${sim.opts.clientId}.`,
          };
    case 'missing':
      return {
        code: 2500,
        message: 'An active access token must be used to query information about the current user.',
      };
    default:
      return { code: 190, message: 'Invalid OAuth access token - Cannot parse access token' };
  }
}

export const authError = (sim: PlatformSim, auth: TokenAuth): SimReply => metaError(400, tokenProblem(sim, auth));

export const unsupported = (method: string, id: string): MetaProblem => ({
  code: 100,
  subcode: 33,
  message: `Unsupported ${method} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
});

/** Graph answers only the fields asked for, plus id; `accounts{id,name}` asks for the field `accounts`. */
export function pick(all: Record<string, unknown>, fields: string | null): Record<string, unknown> {
  const names = ['id', ...(fields ?? '').replace(/\{[^}]*\}/g, '').split(',')].map((n) => n.trim());
  return Object.fromEntries(names.filter((n) => all[n] !== undefined).map((n) => [n, all[n]]));
}

export function tokenReply(token: SimToken): SimReply {
  const expiresIn = token.expiresAt === null ? undefined : Math.round((token.expiresAt - token.issuedAt) / 1000);
  return ok({ access_token: token.value, token_type: 'bearer', expires_in: expiresIn });
}

/** The authorize dialog: scopes are comma-separated; Instagram and Threads append "#_" to the redirect. */
export function authorizeRoute(sim: PlatformSim, path: string | RegExp, fragment?: string): void {
  sim.route('GET', path, 'authorize', (req) =>
    req.query.get('response_type') !== 'code'
      ? { status: 400, body: 'Invalid response_type: only "code" is supported.' }
      : sim.authorize({
          clientId: req.query.get('client_id'),
          redirectUri: req.query.get('redirect_uri'),
          scopes: (req.query.get('scope') ?? '').split(',').filter(Boolean),
          state: req.query.get('state'),
          fragment,
        }),
  );
}

const BAD_CLIENT: MetaProblem = {
  code: 101,
  message: 'Error validating application. Invalid application ID or secret.',
};
const CODE_PROBLEMS: Record<string, MetaProblem> = {
  'Code was already redeemed.': { code: 100, subcode: 36009, message: 'This authorization code has been used.' },
  'Code expired.': { code: 100, subcode: 36007, message: 'This authorization code has expired.' },
  'redirect_uri mismatch.': {
    code: 100,
    subcode: 36008,
    message:
      'Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request',
  },
};

/** Code → grant, from form or query parameters (client_id, client_secret, redirect_uri, code). */
export function redeem(sim: PlatformSim, p: URLSearchParams): { grant: Grant } | MetaProblem {
  if (!sim.checkClient(p.get('client_id'), p.get('client_secret'))) return BAD_CLIENT;
  if (p.has('grant_type') && p.get('grant_type') !== 'authorization_code') {
    return { code: 100, message: 'Unsupported grant_type.' };
  }
  const redeemed = sim.redeemCode(p.get('code'), { clientId: p.get('client_id'), redirectUri: p.get('redirect_uri') });
  if (!('error' in redeemed)) return { grant: redeemed.grant };
  return CODE_PROBLEMS[redeemed.description] ?? { code: 100, message: 'Invalid verification code format.' };
}

/** A long-lived token of the grant: the 60-day kind, unless the platform's knob says otherwise. */
export const longLived = (sim: PlatformSim, grant: Grant): SimReply =>
  tokenReply(sim.issue(grant, 'access', sim.knobs.longLivedTtlS ?? 5_184_000));

/**
 * Instagram and Threads: GET /access_token swaps a short token for a 60-day one; GET
 * /refresh_access_token re-issues a 60-day token that is at least minRefreshAgeS old.
 */
export function longLivedRoutes(sim: PlatformSim, grantTypes: { exchange: string; refresh: string }): void {
  sim.route('GET', '/access_token', 'exchange', (req) => {
    if (req.query.get('grant_type') !== grantTypes.exchange)
      return metaError(400, { code: 100, message: 'Unsupported grant_type.' });
    if (!sim.checkClient(sim.opts.clientId, req.query.get('client_secret'))) return metaError(400, BAD_CLIENT);
    const auth = sim.check(req.token);
    return auth.ok && auth.grant ? longLived(sim, auth.grant) : authError(sim, auth);
  });
  sim.route('GET', '/refresh_access_token', 'refresh', (req) => {
    if (req.query.get('grant_type') !== grantTypes.refresh)
      return metaError(400, { code: 100, message: 'Unsupported grant_type.' });
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.grant || !auth.token) return authError(sim, auth);
    if (sim.clock.now() - auth.token.issuedAt < sim.policy.minRefreshAgeS * 1000) {
      const hours = sim.policy.minRefreshAgeS / 3600;
      return metaError(400, {
        code: 100,
        message: `Invalid parameter: an access token can only be refreshed once it is at least ${hours} hours old.`,
      });
    }
    return longLived(sim, auth.grant);
  });
}
