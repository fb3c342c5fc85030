import { PlatformError } from './errors.ts';
import {
  asRecord,
  type Classifier,
  callPlatform,
  oauthError,
  oauthTokens,
  type PlatformResponse,
  retryAfter,
  url,
} from './http.ts';
import type { AdapterConfig, PlatformAdapter, TokenSet } from './types.ts';

// X: OAuth 2 with mandatory PKCE, single-use (rotating) refresh tokens, and the API v2.
const HOSTS = {
  web: 'https://x.com',
  api: 'https://api.x.com',
};
const SCOPES = ['tweet.read', 'users.read', 'tweet.write', 'media.write', 'offline.access'];

/**
 * X reports a dead grant (a reused or revoked refresh token, a spent code, a wrong PKCE verifier) as
 * invalid_request "Value passed for the … was invalid." rather than RFC 6749's invalid_grant.
 */
const DEAD_GRANT = /^Value passed for the /;

/** x-rate-limit-reset is epoch seconds in X's clock. */
function untilReset(res: PlatformResponse): number | undefined {
  const reset = Number(res.headers.get('x-rate-limit-reset'));
  return reset > 0 ? Math.max(0, reset * 1000 - res.serverNowMs) : retryAfter(res);
}

/** OAuth errors and the v2 problem form: {title, type, status, detail}. */
export function xError(res: PlatformResponse): PlatformError | undefined {
  const body = asRecord(res.body);
  if (body.error === 'invalid_request' && DEAD_GRANT.test(String(body.error_description ?? ''))) {
    return new PlatformError('x', 'token_revoked', `x: invalid_request (${String(body.error_description)})`, {
      status: res.status,
      code: 'invalid_request',
    });
  }
  const oauth = oauthError('x', res);
  if (oauth || res.status < 400) return oauth;
  const title = String(body.title ?? res.status);
  const message = `x: ${title}${body.detail ? ` (${String(body.detail)})` : ''}`;
  const opts = { status: res.status, code: title };
  // The monthly usage cap is a 429 too; it carries no reset, so the wait stays unknown.
  if (res.status === 429 || String(body.type ?? '').endsWith('/usage-capped')) {
    return new PlatformError('x', 'rate_limited', message, { ...opts, retryAfterMs: untilReset(res) });
  }
  // Expired and revoked access tokens look alike here; the refresh that follows tells them apart.
  if (res.status === 401) return new PlatformError('x', 'token_expired', message, opts);
  if (res.status >= 500) return new PlatformError('x', 'transient', message, opts);
  return new PlatformError('x', 'permanent', message, opts);
}

export function createXAdapter(cfg: AdapterConfig): PlatformAdapter {
  const host = (name: keyof typeof HOSTS) => cfg.baseUrl || HOSTS[name];
  const classify: Classifier = (res) => xError(res);
  const call = (req: Parameters<typeof callPlatform>[2]) => callPlatform('x', cfg.timeoutMs, req, classify);
  // A confidential client authenticates with HTTP Basic; a public client names itself in the form.
  const client: { headers: Record<string, string>; form: Record<string, string> } = cfg.clientSecret
    ? {
        headers: { authorization: `Basic ${Buffer.from(`${cfg.clientId}:${cfg.clientSecret}`).toString('base64')}` },
        form: {},
      }
    : { headers: {}, form: { client_id: cfg.clientId } };

  return {
    platform: 'x',
    displayName: 'X',
    pkce: true,
    refreshRule: 'rotating',
    minRefreshAgeMs: 0,
    scopes: SCOPES,
    simulated: Boolean(cfg.baseUrl),

    authorizeUrl({ state, redirectUri, codeChallenge }) {
      return url(host('web'), '/i/oauth2/authorize', {
        response_type: 'code',
        client_id: cfg.clientId,
        redirect_uri: redirectUri,
        scope: SCOPES.join(' '),
        state,
        code_challenge: codeChallenge,
        code_challenge_method: codeChallenge ? 'S256' : undefined,
      });
    },

    async exchangeCode({ code, redirectUri, codeVerifier }) {
      const res = await call({
        method: 'POST',
        url: url(host('api'), '/2/oauth2/token'),
        headers: client.headers,
        form: {
          ...client.form,
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirectUri,
          code_verifier: codeVerifier,
        },
      });
      return oauthTokens('x', res);
    },

    async refresh(tokens) {
      if (!tokens.refreshToken) throw new PlatformError('x', 'token_revoked', 'x: no refresh token stored');
      const res = await call({
        method: 'POST',
        url: url(host('api'), '/2/oauth2/token'),
        headers: client.headers,
        form: { ...client.form, grant_type: 'refresh_token', refresh_token: tokens.refreshToken },
      });
      // Rotating: the answer carries the only refresh token that works from now on.
      return oauthTokens('x', res);
    },

    async profile(tokens: TokenSet) {
      const res = await call({
        url: url(host('api'), '/2/users/me', { 'user.fields': 'id,name,username,profile_image_url,public_metrics' }),
        headers: { authorization: `Bearer ${tokens.accessToken}` },
      });
      const user = asRecord(asRecord(res.body).data);
      if (!user.id) throw new PlatformError('x', 'permanent', 'x: users/me returned no user');
      return {
        externalId: String(user.id),
        displayName: String(user.name ?? user.username ?? user.id),
        handle: typeof user.username === 'string' ? `@${user.username}` : undefined,
      };
    },

    async revoke(tokens) {
      // Revoking the refresh token ends the grant; X answers 200 for tokens that are already dead.
      const res = await call({
        method: 'POST',
        url: url(host('api'), '/2/oauth2/revoke'),
        headers: client.headers,
        form: {
          ...client.form,
          token: tokens.refreshToken ?? tokens.accessToken,
          token_type_hint: tokens.refreshToken ? 'refresh_token' : 'access_token',
        },
      });
      return { outcome: 'revoked', status: res.status };
    },
  };
}
