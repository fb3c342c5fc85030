import { PlatformError } from './errors.ts';
import { asRecord, oauthTokens, requireString, url } from './http.ts';
import { bearer, GRAPH_VERSION, graphList, metaCaller } from './meta.ts';
import type { AdapterConfig, PlatformAdapter, TokenSet } from './types.ts';

// WhatsApp Business (Cloud API), onboarded Embedded Signup style: the code buys a business token that
// never expires. debug_token names the WhatsApp Business Account (WABA) the business shared; the
// connection is its first phone number.
const HOSTS = {
  www: 'https://www.facebook.com',
  graph: 'https://graph.facebook.com',
};
const SCOPES = ['whatsapp_business_management', 'whatsapp_business_messaging', 'business_management'];

export function createWhatsAppAdapter(cfg: AdapterConfig): PlatformAdapter {
  const host = (name: keyof typeof HOSTS) => cfg.baseUrl || HOSTS[name];
  const graph = (path: string, query?: Record<string, string>) => url(host('graph'), `/${GRAPH_VERSION}${path}`, query);
  const call = metaCaller('whatsapp', cfg);

  /** What Meta knows of a token; a dead one comes back as {is_valid:false, error}, which the classifier raises. */
  async function debugToken(tokens: TokenSet) {
    const res = await call({
      url: graph('/debug_token', {
        input_token: tokens.accessToken,
        access_token: `${cfg.clientId}|${cfg.clientSecret}`,
      }),
    });
    return asRecord(asRecord(res.body).data);
  }

  async function wabaId(tokens: TokenSet): Promise<string> {
    const granular = (await debugToken(tokens)).granular_scopes;
    const entry = (Array.isArray(granular) ? granular.map(asRecord) : []).find(
      (s) => s.scope === 'whatsapp_business_management',
    );
    const target = Array.isArray(entry?.target_ids) ? entry.target_ids : [];
    if (!target[0])
      throw new PlatformError('whatsapp', 'permanent', 'whatsapp: no WhatsApp Business Account was shared');
    return String(target[0]);
  }

  return {
    platform: 'whatsapp',
    displayName: 'WhatsApp',
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
      const res = await call({
        url: graph('/oauth/access_token', {
          client_id: cfg.clientId,
          client_secret: cfg.clientSecret,
          redirect_uri: redirectUri,
          code,
        }),
      });
      const tokens = oauthTokens('whatsapp', res);
      const scopes = (await debugToken(tokens)).scopes;
      return { ...tokens, scopes: Array.isArray(scopes) ? scopes.map(String) : [] };
    },

    async refresh() {
      throw new PlatformError(
        'whatsapp',
        'permanent',
        'whatsapp: business tokens do not expire and cannot be refreshed',
      );
    },

    async profile(tokens) {
      const waba = await wabaId(tokens);
      const res = await call({
        url: graph(`/${waba}/phone_numbers`, { fields: 'id,display_phone_number,verified_name' }),
        headers: bearer(tokens.accessToken),
      });
      const phone = graphList(res.body)[0];
      if (!phone)
        throw new PlatformError('whatsapp', 'permanent', 'whatsapp: the WhatsApp Business Account has no phone number');
      const display = requireString('whatsapp', phone, 'display_phone_number');
      return {
        externalId: requireString('whatsapp', phone, 'id'),
        displayName: String(phone.verified_name ?? display),
        handle: display,
        ids: { wabaId: waba, displayPhoneNumber: display },
      };
    },

    async revoke(tokens) {
      const waba = await wabaId(tokens);
      const res = await call({
        method: 'DELETE',
        url: graph(`/${waba}/subscribed_apps`),
        headers: bearer(tokens.accessToken),
      });
      return { outcome: 'revoked', status: res.status, detail: 'app unsubscribed from the WhatsApp Business Account' };
    },
  };
}
