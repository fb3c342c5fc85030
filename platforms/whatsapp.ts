import { createHash } from 'node:crypto';
import { PlatformError } from './errors.ts';
import { asRecord, oauthTokens, requireString, url } from './http.ts';
import {
  bearer,
  dailyStream,
  dayStartS,
  downloadBytes,
  entryChanges,
  GRAPH_VERSION,
  graphList,
  graphMs,
  type MetaSync,
  metaCaller,
  metaWebhooks,
  webhookEntries,
  writeReply,
} from './meta.ts';
import { addDays, dayOf } from './sync.ts';
import type {
  AdapterConfig,
  InboundAttachment,
  Inbox,
  MetricSample,
  PlatformAdapter,
  PublishAccount,
  TokenSet,
  WebhookEvent,
} from './types.ts';

// WhatsApp Business (Cloud API), onboarded Embedded Signup style: the code buys a business token that
// never expires. debug_token names the WhatsApp Business Account (WABA) the business shared; the
// connection is its first phone number.
const HOSTS = {
  www: 'https://www.facebook.com',
  graph: 'https://graph.facebook.com',
};
const SCOPES = ['whatsapp_business_management', 'whatsapp_business_messaging', 'business_management'];

const refuse = (message: string) => new PlatformError('whatsapp', 'permanent', `whatsapp: ${message}`);

// Sync: only the WABA's messaging analytics (sent, delivered per day, a year back). Messages have
// no history API at all: they arrive by webhook, and are persisted from there.
const DAILY_METRICS = ['sent', 'delivered'] as const;
/** Meta documents no window limit for analytics; 90 days keeps each answer small. */
const WINDOW_DAYS = 90;
const MAX_HISTORY_DAYS = 365;
/**
 * WhatsApp cannot be asked whether a message went out: the `statuses` webhook carrying the
 * reply's biz_opaque_callback_data is the only truth, so findReply answers unknown and asks again.
 */
const STATUS_WAIT_MS = 5 * 60_000;
const MEDIA_TYPES = ['image', 'video', 'audio', 'document', 'sticker'];

/** biz_opaque_callback_data of a reply: the same for the same answer, so a status webhook names it. */
export const replyCallbackData = (messageId: string, text: string) =>
  `reply:${createHash('sha256').update(`${messageId}\n${text}`).digest('base64url').slice(0, 32)}`;

/** What a customer's message says, for the kinds an inbox shows; undefined for the others. */
function messageText(m: Record<string, unknown>, type: string): string | undefined {
  if (type === 'text') return String(asRecord(m.text).body ?? '');
  if (MEDIA_TYPES.includes(type)) return String(asRecord(m[type]).caption ?? '');
  if (type === 'button') return String(asRecord(m.button).text ?? '');
  if (type === 'interactive') {
    const i = asRecord(m.interactive);
    return String(asRecord(i.button_reply).title ?? asRecord(i.list_reply).title ?? '');
  }
  if (type === 'location') {
    const l = asRecord(m.location);
    return String(l.name ?? l.address ?? `${l.latitude},${l.longitude}`);
  }
  // reaction, unsupported, system, …: nothing an inbox shows as a message.
  return undefined;
}

/**
 * object "whatsapp_business_account": entry[].changes[] field messages, value{metadata, contacts,
 * messages[]}. metadata.phone_number_id is the business number: the connection's externalId.
 * `statuses` (delivery of what we sent) give no inbox message and are left out.
 */
export function parseWhatsAppWebhook(body: unknown): WebhookEvent[] {
  const events: WebhookEvent[] = [];
  for (const entry of webhookEntries(body, 'whatsapp_business_account')) {
    for (const { field, value } of entryChanges(entry)) {
      if (field !== 'messages') continue;
      const phoneNumberId = String(asRecord(value.metadata).phone_number_id ?? '');
      const names = new Map(
        graphList({ data: value.contacts }).map((c) => [String(c.wa_id), String(asRecord(c.profile).name ?? '')]),
      );
      for (const m of graphList({ data: value.messages })) {
        const type = String(m.type ?? '');
        const text = messageText(m, type);
        if (text === undefined || m.id === undefined || !phoneNumberId) continue;
        const from = String(m.from ?? '');
        const media = MEDIA_TYPES.includes(type) ? asRecord(m[type]) : undefined;
        const attachments: InboundAttachment[] =
          media?.id === undefined
            ? []
            : [
                {
                  externalId: String(media.id),
                  ...(typeof media.mime_type === 'string' ? { mimeType: media.mime_type } : {}),
                  ...(typeof media.sha256 === 'string' ? { sha256: media.sha256 } : {}),
                },
              ];
        const context = asRecord(m.context).id;
        events.push({
          accountExternalId: phoneNumberId,
          dedupeKey: String(m.id),
          message: {
            externalId: String(m.id),
            threadKind: 'dm',
            threadExternalId: from,
            ...(context !== undefined ? { parentExternalId: String(context) } : {}),
            authorExternalId: from,
            authorName: names.get(from) || undefined,
            text,
            createdAt: new Date(graphMs(m.timestamp) ?? Date.now()),
            fromAccount: false,
            ...(attachments.length ? { attachments } : {}),
          },
        });
      }
    }
  }
  return events;
}

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

  const s: MetaSync = { platform: 'whatsapp', call, graph, auth: (tokens) => bearer(tokens.accessToken) };
  const phone = (account: PublishAccount) => encodeURIComponent(account.externalId);

  const streams = [
    dailyStream({
      name: 'account_metrics',
      windowDays: WINDOW_DAYS,
      maxHistoryDays: MAX_HISTORY_DAYS,
      async read(tokens, account, from, to): Promise<MetricSample[]> {
        const waba = account.ids.wabaId;
        if (!waba) throw refuse('the connection has no WhatsApp Business Account id');
        const digits = (account.ids.displayPhoneNumber ?? '').replace(/\D/g, '');
        const numbers = digits ? `.phone_numbers(${JSON.stringify([digits])})` : '';
        const res = await call({
          url: graph(`/${encodeURIComponent(waba)}`, {
            fields: `analytics.start(${dayStartS(from)}).end(${dayStartS(addDays(to, 1))}).granularity(DAY)${numbers}`,
          }),
          headers: s.auth(tokens),
        });
        const points = graphList({ data: asRecord(asRecord(res.body).analytics).data_points });
        return points.flatMap((p) => {
          const day = dayOf(Number(p.start) * 1000);
          if (Number.isNaN(Number(p.start)) || day < from || day > to) return [];
          return DAILY_METRICS.map((metric) => ({
            objectKind: 'account' as const,
            objectId: '',
            metric,
            day,
            value: Number(p[metric] ?? 0) || 0,
          }));
        });
      },
    }),
  ];

  const inbox: Inbox = {
    replyKinds: ['dm'],
    moderation: [],

    async reply(tokens, account, target, text) {
      if (target.threadKind !== 'dm') throw refuse('WhatsApp has only conversations');
      const message = {
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: target.recipientExternalId,
        type: 'text',
        text: { body: text, preview_url: false },
        context: { message_id: target.messageExternalId },
        biz_opaque_callback_data: replyCallbackData(target.messageExternalId, text),
      };
      return writeReply(s, tokens, `/${phone(account)}/messages`, { json: message }, 'id');
    },

    async findReply() {
      return { found: 'unknown', checkAfterMs: STATUS_WAIT_MS };
    },

    async moderate() {
      throw refuse('messages cannot be hidden or deleted through the Cloud API');
    },

    async markRead(tokens, account, messageExternalId) {
      await call({
        method: 'POST',
        url: graph(`/${phone(account)}/messages`),
        headers: s.auth(tokens),
        json: { messaging_product: 'whatsapp', status: 'read', message_id: messageExternalId },
      });
    },

    // GET /{media-id} names a URL valid for minutes; the bytes come from it with the same token.
    async fetchAttachment(tokens, _account, externalId) {
      const res = await call({ url: graph(`/${encodeURIComponent(externalId)}`), headers: s.auth(tokens) });
      const media = asRecord(res.body);
      const file = await downloadBytes(
        'whatsapp',
        cfg.timeoutMs,
        requireString('whatsapp', media, 'url'),
        s.auth(tokens),
      );
      const mimeType = typeof media.mime_type === 'string' ? media.mime_type : file.mimeType;
      return { bytes: file.bytes, mimeType };
    },
  };

  return {
    platform: 'whatsapp',
    displayName: 'WhatsApp',
    pkce: false,
    refreshRule: 'none',
    minRefreshAgeMs: 0,
    scopes: SCOPES,
    simulated: Boolean(cfg.baseUrl),
    streams,
    inbox,
    webhooks: metaWebhooks(cfg, parseWhatsAppWebhook),

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
