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

// YouTube: Google OAuth (PKCE, offline access, non-rotating refresh token) and the Data API v3.
const HOSTS = {
  accounts: 'https://accounts.google.com',
  oauth: 'https://oauth2.googleapis.com',
  api: 'https://www.googleapis.com',
};
const SCOPES = [
  'https://www.googleapis.com/auth/youtube.readonly',
  'https://www.googleapis.com/auth/yt-analytics.readonly',
  'https://www.googleapis.com/auth/youtube.upload',
  'https://www.googleapis.com/auth/youtube.force-ssl',
];

/** Milliseconds until the next midnight in Pacific time, when YouTube's daily quota resets. */
export function msUntilPacificMidnight(nowMs: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: 'America/Los_Angeles',
    hourCycle: 'h23',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(nowMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const sinceMidnight = ((get('hour') * 60 + get('minute')) * 60 + get('second')) * 1000;
  return 86_400_000 - sinceMidnight;
}

/** Google API error envelope: {error:{code, message, status, errors:[{reason, domain}]}}. */
export function googleApiError(res: PlatformResponse): PlatformError | undefined {
  const error = asRecord(asRecord(res.body).error);
  if (res.status < 400 || !('code' in error || 'errors' in error)) return undefined;
  const reason = String(asRecord((error.errors as unknown[] | undefined)?.[0]).reason ?? error.status ?? '');
  const message = `youtube: ${reason || res.status} (${String(error.message ?? '')})`;
  const opts = { status: res.status, code: reason };
  switch (reason) {
    case 'quotaExceeded':
      return new PlatformError('youtube', 'rate_limited', message, {
        ...opts,
        retryAfterMs: msUntilPacificMidnight(res.serverNowMs),
      });
    case 'rateLimitExceeded':
    case 'userRateLimitExceeded':
      return new PlatformError('youtube', 'rate_limited', message, { ...opts, retryAfterMs: retryAfter(res) });
    case 'uploadLimitExceeded':
      return new PlatformError('youtube', 'rate_limited', message, { ...opts, retryAfterMs: 86_400_000 });
    case 'authError':
    case 'UNAUTHENTICATED':
      return new PlatformError('youtube', 'token_expired', message, opts);
  }
  if (res.status === 401) return new PlatformError('youtube', 'token_expired', message, opts);
  if (res.status === 429)
    return new PlatformError('youtube', 'rate_limited', message, { ...opts, retryAfterMs: retryAfter(res) });
  if (res.status >= 500) return new PlatformError('youtube', 'transient', message, opts);
  return new PlatformError('youtube', 'permanent', message, opts);
}

export function createYouTubeAdapter(cfg: AdapterConfig): PlatformAdapter {
  const host = (name: keyof typeof HOSTS) => cfg.baseUrl || HOSTS[name];
  const classify: Classifier = (res) => oauthError('youtube', res) ?? googleApiError(res);
  const call = (req: Parameters<typeof callPlatform>[2]) => callPlatform('youtube', cfg.timeoutMs, req, classify);

  return {
    platform: 'youtube',
    displayName: 'YouTube',
    pkce: true,
    refreshRule: 'stable',
    minRefreshAgeMs: 0,
    scopes: SCOPES,
    simulated: Boolean(cfg.baseUrl),

    authorizeUrl({ state, redirectUri, codeChallenge }) {
      return url(host('accounts'), '/o/oauth2/v2/auth', {
        client_id: cfg.clientId,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: SCOPES.join(' '),
        state,
        // offline + consent: a refresh token on every connect, so a reconnect never lacks one.
        access_type: 'offline',
        prompt: 'consent',
        include_granted_scopes: 'true',
        code_challenge: codeChallenge,
        code_challenge_method: codeChallenge ? 'S256' : undefined,
      });
    },

    async exchangeCode({ code, redirectUri, codeVerifier }) {
      const res = await call({
        method: 'POST',
        url: url(host('oauth'), '/token'),
        form: {
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirectUri,
          client_id: cfg.clientId,
          client_secret: cfg.clientSecret,
          code_verifier: codeVerifier,
        },
      });
      return oauthTokens('youtube', res);
    },

    async refresh(tokens) {
      if (!tokens.refreshToken) throw new PlatformError('youtube', 'token_revoked', 'youtube: no refresh token stored');
      const res = await call({
        method: 'POST',
        url: url(host('oauth'), '/token'),
        form: {
          grant_type: 'refresh_token',
          refresh_token: tokens.refreshToken,
          client_id: cfg.clientId,
          client_secret: cfg.clientSecret,
        },
      });
      // Google does not rotate: the response normally omits refresh_token and the old one stays.
      const fresh = oauthTokens('youtube', res);
      return { ...fresh, refreshToken: fresh.refreshToken ?? tokens.refreshToken };
    },

    async profile(tokens: TokenSet) {
      const res = await call({
        url: url(host('api'), '/youtube/v3/channels', { part: 'snippet,contentDetails', mine: 'true' }),
        headers: { authorization: `Bearer ${tokens.accessToken}` },
      });
      const channel = asRecord((asRecord(res.body).items as unknown[] | undefined)?.[0]);
      if (!channel.id) throw new PlatformError('youtube', 'permanent', 'youtube: this Google account has no channel');
      const snippet = asRecord(channel.snippet);
      const uploads = asRecord(asRecord(channel.contentDetails).relatedPlaylists).uploads;
      return {
        externalId: String(channel.id),
        displayName: String(snippet.title ?? channel.id),
        handle: typeof snippet.customUrl === 'string' ? snippet.customUrl : undefined,
        ids: typeof uploads === 'string' ? { uploadsPlaylist: uploads } : undefined,
      };
    },

    async revoke(tokens) {
      // Revoking the refresh token ends the whole grant; an already dead token answers invalid_token.
      try {
        const res = await call({
          method: 'POST',
          url: url(host('oauth'), '/revoke'),
          form: { token: tokens.refreshToken ?? tokens.accessToken },
        });
        return { outcome: 'revoked', status: res.status };
      } catch (err) {
        if (err instanceof PlatformError && err.code === 'invalid_token') return { outcome: 'revoked', status: 400 };
        throw err;
      }
    },
  };
}
