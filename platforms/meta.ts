import { PlatformError } from './errors.ts';
import { asRecord, callPlatform, oauthTokens, type PlatformRequest, type PlatformResponse, url } from './http.ts';
import type { AdapterConfig, PlatformId, TokenSet } from './types.ts';

// What the Meta family (Instagram, Facebook Pages, Threads, WhatsApp) shares: one error envelope,
// classified by code, subcode and is_transient rather than by HTTP status (usually 400 for all).

/** Graph API version pinned for graph.facebook.com and graph.instagram.com. */
export const GRAPH_VERSION = 'v25.0';

const THROTTLE_CODES = new Set([4, 17, 32, 613, 130429, 131056]);
/** 80000–80014 are the Business Use Case limits (Pages 80001, Instagram 80002, WABA 80007, …). */
const isThrottle = (code: number) => THROTTLE_CODES.has(code) || (code >= 80_000 && code <= 80_014);

/** The longest estimated_time_to_regain_access (minutes) of any X-Business-Use-Case-Usage entry. */
export function bucRetryAfterMs(res: PlatformResponse): number | undefined {
  let usage: unknown;
  try {
    usage = JSON.parse(res.headers.get('x-business-use-case-usage') ?? 'null');
  } catch {
    return undefined;
  }
  const minutes = Object.values(asRecord(usage))
    .flatMap((entries) => (Array.isArray(entries) ? entries : []))
    .map((entry) => Number(asRecord(entry).estimated_time_to_regain_access))
    .filter((m) => m > 0);
  return minutes.length ? Math.max(...minutes) * 60_000 : undefined;
}

/**
 * Meta's error, wherever it sits: the Graph envelope {error:{code, error_subcode, is_transient}},
 * debug_token's {data:{is_valid:false, error:{code, subcode}}}, or api.instagram.com's flat
 * {error_type, code, error_message}.
 */
export function metaError(
  platform: PlatformId,
  res: PlatformResponse,
  req?: PlatformRequest,
): PlatformError | undefined {
  const body = asRecord(res.body);
  const debug = asRecord(body.data);
  const error = asRecord(
    body.error ??
      (debug.is_valid === false ? debug.error : undefined) ??
      (body.error_type ? { type: body.error_type, code: body.code, message: body.error_message } : undefined),
  );
  if (error.code === undefined) return undefined;
  const code = Number(error.code);
  const subcode = error.error_subcode ?? error.subcode;
  const id = subcode === undefined ? String(code) : `${code}/${subcode}`;
  const message = `${platform}: (#${id}) ${String(error.message ?? 'error')}`;
  const opts = { status: res.status, code: id };
  // 190/102: only 463 is a plain expiry; every other subcode means the grant is gone.
  if (code === 190 || code === 102) {
    return new PlatformError(platform, Number(subcode) === 463 ? 'token_expired' : 'token_revoked', message, opts);
  }
  if (isThrottle(code)) {
    return new PlatformError(platform, 'rate_limited', message, { ...opts, retryAfterMs: bucRetryAfterMs(res) });
  }
  if (error.is_transient === true || code === 1 || code === 2) {
    return new PlatformError(platform, req?.write ? 'outcome_unknown' : 'transient', message, opts);
  }
  return new PlatformError(platform, 'permanent', message, opts);
}

/** callPlatform with the Meta classifier: the one way the four Meta adapters call their platform. */
export function metaCaller(platform: PlatformId, cfg: AdapterConfig) {
  return (req: PlatformRequest) => callPlatform(platform, cfg.timeoutMs, req, (res, r) => metaError(platform, res, r));
}

/** The data array of a Graph list: a paged response or an expanded edge. */
export const graphList = (list: unknown): Record<string, unknown>[] => {
  const data = asRecord(list).data;
  return Array.isArray(data) ? data.map(asRecord) : [];
};

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Instagram and Threads append "#_" to the redirect; a code copied with it is refused. */
export const stripHashUnderscore = (code: string) => code.replace(/#_$/, '');

/**
 * Instagram Login and Threads share one login: consent on `www`, a code redeemed for a 1-hour token
 * on `code`, swapped on `graph` for a 60-day token that is re-issued (no refresh token) once it is
 * a day old. Each adapter keeps what differs: hosts, grant names, scopes and the profile call.
 */
export function reissueLogin(
  platform: PlatformId,
  cfg: AdapterConfig,
  opts: {
    hosts: { www: string; code: string; graph: string };
    grants: { exchange: string; refresh: string };
    scopes: string[];
  },
) {
  const call = metaCaller(platform, cfg);
  const { hosts, grants } = opts;
  return {
    call,
    authorizeUrl({ state, redirectUri }: { state: string; redirectUri: string }) {
      return url(hosts.www, '/oauth/authorize', {
        client_id: cfg.clientId,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: opts.scopes.join(','),
        state,
      });
    },
    /** The short-lived token's response body. */
    async redeem(code: string, redirectUri: string): Promise<unknown> {
      const res = await call({
        method: 'POST',
        url: url(hosts.code, '/oauth/access_token'),
        form: {
          client_id: cfg.clientId,
          client_secret: cfg.clientSecret,
          grant_type: 'authorization_code',
          redirect_uri: redirectUri,
          code: stripHashUnderscore(code),
        },
      });
      return res.body;
    },
    async longLived(shortToken: string): Promise<PlatformResponse> {
      return call({
        url: url(hosts.graph, '/access_token', {
          grant_type: grants.exchange,
          client_secret: cfg.clientSecret,
          access_token: shortToken,
        }),
      });
    },
    async refresh(tokens: TokenSet): Promise<TokenSet> {
      const res = await call({
        url: url(hosts.graph, '/refresh_access_token', {
          grant_type: grants.refresh,
          access_token: tokens.accessToken,
        }),
      });
      return { ...oauthTokens(platform, res), scopes: tokens.scopes };
    },
  };
}
