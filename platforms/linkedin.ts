import { PlatformError } from './errors.ts';
import {
  asRecord,
  type Classifier,
  callPlatform,
  oauthError,
  oauthTokens,
  type PlatformResponse,
  url,
} from './http.ts';
import type { AdapterConfig, PlatformAdapter, TokenSet } from './types.ts';

// LinkedIn: OAuth 2 without PKCE for web apps, programmatic refresh tokens that are kept (their
// one-year lifetime never resets), OIDC userinfo for the member, and the Community Management API.
const HOSTS = {
  web: 'https://www.linkedin.com',
  api: 'https://api.linkedin.com',
};
const SCOPES = ['openid', 'profile', 'email', 'w_member_social'];

/** Milliseconds until the next 00:00 UTC, when LinkedIn's daily limits reset. */
export const msUntilUtcMidnight = (nowMs: number): number => 86_400_000 - (nowMs % 86_400_000);

/** LinkedIn error envelope: {status, serviceErrorCode, code, message}. */
export function linkedInError(res: PlatformResponse): PlatformError | undefined {
  if (res.status < 400) return undefined;
  const body = asRecord(res.body);
  const code = String(body.code ?? body.serviceErrorCode ?? res.status);
  const message = `linkedin: ${code}${body.message ? ` (${String(body.message)})` : ''}`;
  const opts = { status: res.status, code };
  switch (body.serviceErrorCode) {
    case 65600: // INVALID_ACCESS_TOKEN
    case 65601: // REVOKED_ACCESS_TOKEN
      return new PlatformError('linkedin', 'token_revoked', message, opts);
    case 65602: // EXPIRED_ACCESS_TOKEN
      return new PlatformError('linkedin', 'token_expired', message, opts);
  }
  // A bare 429 without headers: the daily limits are the only clock to go by.
  if (res.status === 429) {
    return new PlatformError('linkedin', 'rate_limited', message, {
      ...opts,
      retryAfterMs: msUntilUtcMidnight(res.serverNowMs),
    });
  }
  if (res.status === 401) return new PlatformError('linkedin', 'token_expired', message, opts);
  if (res.status >= 500) return new PlatformError('linkedin', 'transient', message, opts);
  return new PlatformError('linkedin', 'permanent', message, opts);
}

export function createLinkedInAdapter(cfg: AdapterConfig): PlatformAdapter {
  const host = (name: keyof typeof HOSTS) => cfg.baseUrl || HOSTS[name];
  const classify: Classifier = (res) => oauthError('linkedin', res) ?? linkedInError(res);
  const call = (req: Parameters<typeof callPlatform>[2]) => callPlatform('linkedin', cfg.timeoutMs, req, classify);

  return {
    platform: 'linkedin',
    displayName: 'LinkedIn',
    // PKCE is only for native apps LinkedIn enables on request; web apps use the client secret.
    pkce: false,
    refreshRule: 'stable',
    minRefreshAgeMs: 0,
    scopes: SCOPES,
    simulated: Boolean(cfg.baseUrl),

    authorizeUrl({ state, redirectUri }) {
      return url(host('web'), '/oauth/v2/authorization', {
        response_type: 'code',
        client_id: cfg.clientId,
        redirect_uri: redirectUri,
        state,
        scope: SCOPES.join(' '),
      });
    },

    async exchangeCode({ code, redirectUri }) {
      const res = await call({
        method: 'POST',
        url: url(host('web'), '/oauth/v2/accessToken'),
        form: {
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirectUri,
          client_id: cfg.clientId,
          client_secret: cfg.clientSecret,
        },
      });
      // Requested space-separated, granted comma-separated.
      return oauthTokens('linkedin', res, ',');
    },

    async refresh(tokens) {
      if (!tokens.refreshToken)
        throw new PlatformError('linkedin', 'token_revoked', 'linkedin: no refresh token stored');
      const res = await call({
        method: 'POST',
        url: url(host('web'), '/oauth/v2/accessToken'),
        form: {
          grant_type: 'refresh_token',
          refresh_token: tokens.refreshToken,
          client_id: cfg.clientId,
          client_secret: cfg.clientSecret,
        },
      });
      // The same refresh token comes back with what is left of its lifetime, which never grows.
      const fresh = oauthTokens('linkedin', res, ',');
      return {
        ...fresh,
        refreshToken: fresh.refreshToken ?? tokens.refreshToken,
        refreshExpiresAt: fresh.refreshExpiresAt ?? tokens.refreshExpiresAt,
      };
    },

    async profile(tokens: TokenSet) {
      const res = await call({
        url: url(host('api'), '/v2/userinfo'),
        headers: { authorization: `Bearer ${tokens.accessToken}` },
      });
      const info = asRecord(res.body);
      if (typeof info.sub !== 'string' || !info.sub) {
        throw new PlatformError('linkedin', 'permanent', 'linkedin: userinfo returned no member');
      }
      return { externalId: `urn:li:person:${info.sub}`, displayName: String(info.name ?? info.sub) };
    },

    async revoke(tokens) {
      const res = await call({
        method: 'POST',
        url: url(host('web'), '/oauth/v2/revoke'),
        form: { client_id: cfg.clientId, client_secret: cfg.clientSecret, token: tokens.accessToken },
      });
      return { outcome: 'revoked', status: res.status };
    },
  };
}
