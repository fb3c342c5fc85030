import { PlatformError } from './errors.ts';
import { asRecord, oauthTokens, requireString, url } from './http.ts';
import { bearer, GRAPH_VERSION, graphList, metaCaller } from './meta.ts';
import type { AdapterConfig, PlatformAdapter } from './types.ts';

// Facebook Pages: Facebook Login gives a short user token, exchanged for a 60-day one; the Page token
// fetched with it never expires, so there is nothing to refresh. The connection is the first Page.
const HOSTS = {
  www: 'https://www.facebook.com',
  graph: 'https://graph.facebook.com',
};
const SCOPES = [
  'pages_show_list',
  'pages_read_engagement',
  'read_insights',
  'pages_manage_posts',
  'pages_read_user_content',
  'pages_manage_engagement',
  'pages_messaging',
  'pages_manage_metadata',
  'business_management',
];

export function createFacebookAdapter(cfg: AdapterConfig): PlatformAdapter {
  const host = (name: keyof typeof HOSTS) => cfg.baseUrl || HOSTS[name];
  const graph = (path: string, query?: Record<string, string>) => url(host('graph'), `/${GRAPH_VERSION}${path}`, query);
  const call = metaCaller('facebook', cfg);

  return {
    platform: 'facebook',
    displayName: 'Facebook',
    pkce: false,
    refreshRule: 'none',
    minRefreshAgeMs: 0,
    scopes: SCOPES,
    simulated: Boolean(cfg.baseUrl),

    authorizeUrl({ state, redirectUri }) {
      return url(host('www'), `/${GRAPH_VERSION}/dialog/oauth`, {
        client_id: cfg.clientId,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: SCOPES.join(','),
        state,
      });
    },

    async exchangeCode({ code, redirectUri }) {
      const short = await call({
        url: graph('/oauth/access_token', {
          client_id: cfg.clientId,
          client_secret: cfg.clientSecret,
          redirect_uri: redirectUri,
          code,
        }),
      });
      const res = await call({
        url: graph('/oauth/access_token', {
          grant_type: 'fb_exchange_token',
          client_id: cfg.clientId,
          client_secret: cfg.clientSecret,
          fb_exchange_token: requireString('facebook', asRecord(short.body), 'access_token'),
        }),
      });
      const user = oauthTokens('facebook', res);
      // One call for the user id, what the user granted and the Pages with their tokens.
      const meRes = await call({
        url: graph('/me', { fields: 'id,permissions{permission,status},accounts{id,name,access_token}' }),
        headers: bearer(user.accessToken),
      });
      const me = asRecord(meRes.body);
      const page = graphList(me.accounts)[0];
      if (!page?.id) throw new PlatformError('facebook', 'permanent', 'facebook: this user manages no Facebook Page');
      const granted = graphList(me.permissions)
        .filter((p) => p.status === 'granted')
        .map((p) => String(p.permission));
      return {
        ...user,
        scopes: granted,
        extra: {
          pageAccessToken: requireString('facebook', page, 'access_token'),
          userId: requireString('facebook', me, 'id'),
        },
      };
    },

    async refresh() {
      throw new PlatformError('facebook', 'permanent', 'facebook: Page tokens do not expire and cannot be refreshed');
    },

    async profile(tokens) {
      // The Page token outlives the 60-day user token, and its /me is the Page itself.
      const pageToken = tokens.extra?.pageAccessToken;
      if (!pageToken) throw new PlatformError('facebook', 'permanent', 'facebook: no Page token stored');
      const res = await call({ url: graph('/me', { fields: 'id,name,username' }), headers: bearer(pageToken) });
      const page = asRecord(res.body);
      return {
        externalId: requireString('facebook', page, 'id'),
        displayName: String(page.name ?? page.id),
        handle: typeof page.username === 'string' ? page.username : undefined,
        ids: tokens.extra?.userId ? { userId: tokens.extra.userId } : undefined,
      };
    },

    async revoke(tokens) {
      // Deleting the user's permissions removes the app, and with it every Page token it issued.
      const userId = tokens.extra?.userId ?? 'me';
      const res = await call({
        method: 'DELETE',
        url: graph(`/${encodeURIComponent(userId)}/permissions`),
        headers: bearer(tokens.accessToken),
      });
      return { outcome: 'revoked', status: res.status, detail: 'app removed from the Facebook user' };
    },
  };
}
