import { asRecord, oauthTokens, requireString, url } from './http.ts';
import { bearer, GRAPH_VERSION, graphList, metaCaller, stripHashUnderscore } from './meta.ts';
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
  const call = metaCaller('instagram', cfg);

  return {
    platform: 'instagram',
    displayName: 'Instagram',
    pkce: false,
    refreshRule: 'reissue',
    minRefreshAgeMs: 86_400_000,
    scopes: SCOPES,
    simulated: Boolean(cfg.baseUrl),

    authorizeUrl({ state, redirectUri }) {
      return url(host('www'), '/oauth/authorize', {
        client_id: cfg.clientId,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: SCOPES.join(','),
        state,
      });
    },

    async exchangeCode({ code, redirectUri }) {
      const res = await call({
        method: 'POST',
        url: url(host('api'), '/oauth/access_token'),
        form: {
          client_id: cfg.clientId,
          client_secret: cfg.clientSecret,
          grant_type: 'authorization_code',
          redirect_uri: redirectUri,
          code: stripHashUnderscore(code),
        },
      });
      // Newer responses wrap {access_token, user_id, permissions} in data:[…].
      const short = graphList(res.body)[0] ?? asRecord(res.body);
      const long = await call({
        url: url(host('graph'), '/access_token', {
          grant_type: 'ig_exchange_token',
          client_secret: cfg.clientSecret,
          access_token: requireString('instagram', short, 'access_token'),
        }),
      });
      const permissions = short.permissions;
      const scopes = Array.isArray(permissions) ? permissions.map(String) : String(permissions ?? '').split(',');
      return { ...oauthTokens('instagram', long), scopes: scopes.filter(Boolean) };
    },

    async refresh(tokens) {
      const res = await call({
        url: url(host('graph'), '/refresh_access_token', {
          grant_type: 'ig_refresh_token',
          access_token: tokens.accessToken,
        }),
      });
      return { ...oauthTokens('instagram', res), scopes: tokens.scopes };
    },

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
