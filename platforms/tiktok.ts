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

// TikTok: Login Kit v2 (PKCE, rotating refresh tokens, comma-separated scopes) and the Display API.
const HOSTS = {
  web: 'https://www.tiktok.com',
  api: 'https://open.tiktokapis.com',
};
const SCOPES = ['user.info.basic', 'user.info.profile', 'user.info.stats', 'video.list', 'video.publish'];

/**
 * TikTok's two error shapes: the token endpoint's {error, error_description, log_id} and the API
 * envelope {data, error:{code, message, log_id}}. Both can arrive with HTTP 200, so the body decides.
 */
export function tiktokError(res: PlatformResponse): PlatformError | undefined {
  const body = asRecord(res.body);
  if (typeof body.error === 'string') return oauthError('tiktok', { ...res, status: Math.max(res.status, 400) });
  const error = asRecord(body.error);
  const code = typeof error.code === 'string' ? error.code : undefined;
  if (code === 'ok' || (!code && res.status < 400)) return undefined;
  const message = `tiktok: ${code ?? res.status}${error.message ? ` (${String(error.message)})` : ''}`;
  const opts = { status: res.status, code };
  switch (code) {
    case 'access_token_invalid':
      return new PlatformError('tiktok', 'token_expired', message, opts);
    case 'scope_not_authorized':
    case 'scope_permission_missed':
      return new PlatformError('tiktok', 'permanent', message, opts);
    // TikTok documents no rate-limit headers: the wait is known only if a Retry-After shows up.
    case 'rate_limit_exceeded':
      return new PlatformError('tiktok', 'rate_limited', message, { ...opts, retryAfterMs: retryAfter(res) });
    case 'internal_error':
      return new PlatformError('tiktok', 'transient', message, opts);
  }
  if (res.status === 401) return new PlatformError('tiktok', 'token_expired', message, opts);
  if (res.status === 429) {
    return new PlatformError('tiktok', 'rate_limited', message, { ...opts, retryAfterMs: retryAfter(res) });
  }
  if (res.status >= 500) return new PlatformError('tiktok', 'transient', message, opts);
  return new PlatformError('tiktok', 'permanent', message, opts);
}

export function createTikTokAdapter(cfg: AdapterConfig): PlatformAdapter {
  const host = (name: keyof typeof HOSTS) => cfg.baseUrl || HOSTS[name];
  const classify: Classifier = (res) => tiktokError(res);
  const call = (req: Parameters<typeof callPlatform>[2]) => callPlatform('tiktok', cfg.timeoutMs, req, classify);

  return {
    platform: 'tiktok',
    displayName: 'TikTok',
    pkce: true,
    refreshRule: 'rotating',
    minRefreshAgeMs: 0,
    scopes: SCOPES,
    simulated: Boolean(cfg.baseUrl),

    authorizeUrl({ state, redirectUri, codeChallenge }) {
      return url(host('web'), '/v2/auth/authorize/', {
        client_key: cfg.clientId,
        response_type: 'code',
        scope: SCOPES.join(','),
        redirect_uri: redirectUri,
        state,
        code_challenge: codeChallenge,
        code_challenge_method: codeChallenge ? 'S256' : undefined,
      });
    },

    async exchangeCode({ code, redirectUri, codeVerifier }) {
      const res = await call({
        method: 'POST',
        url: url(host('api'), '/v2/oauth/token/'),
        form: {
          client_key: cfg.clientId,
          client_secret: cfg.clientSecret,
          code,
          grant_type: 'authorization_code',
          redirect_uri: redirectUri,
          code_verifier: codeVerifier,
        },
      });
      return oauthTokens('tiktok', res, ',');
    },

    async refresh(tokens) {
      if (!tokens.refreshToken) throw new PlatformError('tiktok', 'token_revoked', 'tiktok: no refresh token stored');
      const res = await call({
        method: 'POST',
        url: url(host('api'), '/v2/oauth/token/'),
        form: {
          client_key: cfg.clientId,
          client_secret: cfg.clientSecret,
          grant_type: 'refresh_token',
          refresh_token: tokens.refreshToken,
        },
      });
      // Rotating: the answer carries the only refresh token that works from now on.
      return oauthTokens('tiktok', res, ',');
    },

    async profile(tokens: TokenSet) {
      const res = await call({
        url: url(host('api'), '/v2/user/info/', { fields: 'open_id,union_id,avatar_url,display_name,username' }),
        headers: { authorization: `Bearer ${tokens.accessToken}` },
      });
      const user = asRecord(asRecord(asRecord(res.body).data).user);
      if (!user.open_id) throw new PlatformError('tiktok', 'permanent', 'tiktok: user/info returned no user');
      return {
        externalId: String(user.open_id),
        displayName: String(user.display_name ?? user.username ?? user.open_id),
        handle: typeof user.username === 'string' ? `@${user.username}` : undefined,
        ids: typeof user.union_id === 'string' ? { unionId: user.union_id } : undefined,
      };
    },

    async revoke(tokens) {
      // TikTok revokes by access token; the app then disappears from the user's connected apps.
      const res = await call({
        method: 'POST',
        url: url(host('api'), '/v2/oauth/revoke/'),
        form: { client_key: cfg.clientId, client_secret: cfg.clientSecret, token: tokens.accessToken },
      });
      return { outcome: 'revoked', status: res.status };
    },
  };
}
