import { asRecord, oauthTokens, requireString, url } from './http.ts';
import { bearer, reissueLogin } from './meta.ts';
import type { AdapterConfig, PlatformAdapter } from './types.ts';

// Threads: Instagram-style login. A 1-hour token is exchanged for a 60-day one, which is re-issued
// (never refreshed with a refresh token) once it is 24 hours old.
const HOSTS = {
  www: 'https://threads.net',
  graph: 'https://graph.threads.net',
};
const API_VERSION = 'v1.0';
const SCOPES = [
  'threads_basic',
  'threads_content_publish',
  'threads_read_replies',
  'threads_manage_replies',
  'threads_manage_insights',
  'threads_manage_mentions',
  'threads_delete',
];

export function createThreadsAdapter(cfg: AdapterConfig): PlatformAdapter {
  const host = (name: keyof typeof HOSTS) => cfg.baseUrl || HOSTS[name];
  const login = reissueLogin('threads', cfg, {
    hosts: { www: host('www'), code: host('graph'), graph: host('graph') },
    grants: { exchange: 'th_exchange_token', refresh: 'th_refresh_token' },
    scopes: SCOPES,
  });
  const { call } = login;

  return {
    platform: 'threads',
    displayName: 'Threads',
    pkce: false,
    refreshRule: 'reissue',
    minRefreshAgeMs: 86_400_000,
    scopes: SCOPES,
    simulated: Boolean(cfg.baseUrl),
    authorizeUrl: login.authorizeUrl,

    async exchangeCode({ code, redirectUri }) {
      const short = asRecord(await login.redeem(code, redirectUri));
      const long = await login.longLived(requireString('threads', short, 'access_token'));
      // Threads' token responses name no scopes: record the ones asked for.
      return { ...oauthTokens('threads', long), scopes: SCOPES };
    },

    refresh: login.refresh,

    async profile(tokens) {
      const res = await call({
        url: url(host('graph'), `/${API_VERSION}/me`, { fields: 'id,username,name' }),
        headers: bearer(tokens.accessToken),
      });
      const me = asRecord(res.body);
      const username = typeof me.username === 'string' ? me.username : undefined;
      return {
        externalId: requireString('threads', me, 'id'),
        displayName: String(me.name || username || me.id),
        handle: username,
      };
    },

    async revoke() {
      return {
        outcome: 'local_only',
        reason: 'Threads has no revoke endpoint: the grant stays until the user removes the app in Threads settings',
      };
    },
  };
}
