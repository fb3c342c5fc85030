import { asRecord, oauthTokens, requireString, url } from './http.ts';
import { bearer, GRAPH_VERSION, graphList, reissueLogin } from './meta.ts';
import type { AdapterConfig, PlatformAdapter } from './types.ts';

// Instagram API with Instagram Login: no Facebook Page needed. A 1-hour token is exchanged for a
// 60-day one, which is re-issued (never refreshed with a refresh token) once it is 24 hours old.
const HOSTS = {
  www: 'https://www.instagram.com',
  api: 'https://api.instagram.com',
  graph: 'https://graph.instagram.com',
};
const SCOPES = [
  'instagram_business_basic',
  'instagram_business_manage_insights',
  'instagram_business_content_publish',
  'instagram_business_manage_comments',
  'instagram_business_manage_messages',
];

export function createInstagramAdapter(cfg: AdapterConfig): PlatformAdapter {
  const host = (name: keyof typeof HOSTS) => cfg.baseUrl || HOSTS[name];
  const login = reissueLogin('instagram', cfg, {
    hosts: { www: host('www'), code: host('api'), graph: host('graph') },
    grants: { exchange: 'ig_exchange_token', refresh: 'ig_refresh_token' },
    scopes: SCOPES,
  });
  const { call } = login;

  return {
    platform: 'instagram',
    displayName: 'Instagram',
    pkce: false,
    refreshRule: 'reissue',
    minRefreshAgeMs: 86_400_000,
    scopes: SCOPES,
    simulated: Boolean(cfg.baseUrl),
    authorizeUrl: login.authorizeUrl,

    async exchangeCode({ code, redirectUri }) {
      const body = await login.redeem(code, redirectUri);
      // Newer responses wrap {access_token, user_id, permissions} in data:[…].
      const short = graphList(body)[0] ?? asRecord(body);
      const long = await login.longLived(requireString('instagram', short, 'access_token'));
      const permissions = short.permissions;
      const scopes = Array.isArray(permissions) ? permissions.map(String) : String(permissions ?? '').split(',');
      return { ...oauthTokens('instagram', long), scopes: scopes.filter(Boolean) };
    },

    refresh: login.refresh,

    async profile(tokens) {
      const res = await call({
        url: url(host('graph'), `/${GRAPH_VERSION}/me`, { fields: 'user_id,username,name,account_type' }),
        headers: bearer(tokens.accessToken),
      });
      // user_id is the professional account (webhooks' entry.id); id is only app-scoped.
      const me = asRecord(res.body);
      const username = typeof me.username === 'string' ? me.username : undefined;
      return {
        externalId: requireString('instagram', me, 'user_id'),
        displayName: String(me.name || username || me.user_id),
        handle: username,
        ids: { appScopedId: requireString('instagram', me, 'id') },
      };
    },

    async revoke() {
      return {
        outcome: 'local_only',
        reason:
          'Instagram has no revoke endpoint: the grant stays until the user removes the app in Instagram settings',
      };
    },
  };
}
