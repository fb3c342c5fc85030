import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { SimAttachment, SimMessage } from '../content.ts';
import {
  type Clock,
  type Grant,
  numericId,
  PlatformSim,
  type SimAccount,
  type SimJob,
  type SimReply,
  type SimRequest,
} from '../core.ts';
import {
  authError,
  authorizeRoute,
  dailyValues,
  dayStartS,
  graphPath,
  metaError,
  ok,
  pick,
  redeem,
  serverError,
  throttle,
  tokenProblem,
  tokenReply,
  unsupported,
} from './meta.ts';

/** The customer-service window a customer's own message opens. */
const WINDOW_MS = 86_400_000;
const MEDIA_TYPES = ['image', 'video', 'audio', 'document', 'sticker'];
const MESSAGE_TYPES = ['text', 'template', ...MEDIA_TYPES, 'location', 'contacts', 'interactive', 'reaction'];

/** Why a delivery failed, by the code jobs/fail gives as its reason (e.g. "131026"). */
const FAILURES: Record<number, { title: string; details: string }> = {
  131000: { title: 'Something went wrong', details: 'Message failed to send due to an unknown error.' },
  131026: {
    title: 'Message undeliverable',
    details: 'Unable to deliver message. The recipient may not be on WhatsApp or may use an old app version.',
  },
  131047: {
    title: 'Re-engagement message',
    details:
      'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
  },
  131049: {
    title: 'This message was not delivered to maintain healthy ecosystem engagement.',
    details: 'Per-user marketing message limit reached.',
  },
};

/** Which business number a webhook speaks for. */
export interface WhatsAppNumber {
  wabaId: string;
  phoneNumberId: string;
  /** Digits only, the way webhook metadata carries it. */
  displayPhoneNumber: string;
}

export interface WhatsAppStatus {
  id: string;
  status: 'sent' | 'delivered' | 'read' | 'failed';
  /** Unix seconds, as a string. */
  timestamp: string;
  recipient_id: string;
  biz_opaque_callback_data?: string;
  errors?: { code: number; title: string; message: string; error_data: { details: string } }[];
}

export const whatsAppNumber = (account: SimAccount): WhatsAppNumber => ({
  wabaId: account.extra?.wabaId ?? '',
  phoneNumberId: account.extra?.phoneNumberId ?? '',
  displayPhoneNumber: (account.extra?.displayPhoneNumber ?? '').replace(/\D/g, ''),
});

function messagesChange(n: WhatsAppNumber, value: Record<string, unknown>) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: n.wabaId,
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: n.displayPhoneNumber, phone_number_id: n.phoneNumberId },
              ...value,
            },
          },
        ],
      },
    ],
  };
}

/** The `statuses` delivery Meta sends for outbound messages; POST it through /_admin/webhooks. */
export const statusWebhook = (n: WhatsAppNumber, statuses: WhatsAppStatus[]) => messagesChange(n, { statuses });

/** The `messages` delivery for a customer's text message. */
export const inboundWebhook = (
  n: WhatsAppNumber,
  m: { id: string; from: string; name?: string; timestamp: string; body: string },
) =>
  messagesChange(n, {
    contacts: [{ profile: { name: m.name ?? 'Sim Customer' }, wa_id: m.from }],
    messages: [{ from: m.from, id: m.id, timestamp: m.timestamp, type: 'text', text: { body: m.body } }],
  });

const unixString = (ms: number) => String(Math.floor(ms / 1000));

/**
 * An attachment's bytes: deterministic per media id. They are 7-bit on purpose: the simulator's
 * server sends string bodies as UTF-8, which would change any byte above 0x7f.
 */
export function attachmentBytes(a: Pick<SimAttachment, 'id' | 'bytes'>): Buffer {
  const pattern = Buffer.from(createHash('sha256').update(a.id).digest('base64'));
  const out = Buffer.alloc(a.bytes);
  for (let i = 0; i < a.bytes; i++) out[i] = pattern[i % pattern.length] as number;
  return out;
}
/** WhatsApp's sha256 of a media file: base64 of the digest of its bytes. */
export const attachmentSha256 = (a: Pick<SimAttachment, 'id' | 'bytes'>) =>
  createHash('sha256').update(attachmentBytes(a)).digest('base64');

/** The message type a file is sent as, from its MIME type. */
const mediaKind = (mime: string) =>
  mime.startsWith('image/')
    ? 'image'
    : mime.startsWith('video/')
      ? 'video'
      : mime.startsWith('audio/')
        ? 'audio'
        : 'document';

/** The `messages` delivery for a message in the content store (text, or a file with its caption). */
export function contentWebhook(n: WhatsAppNumber, m: SimMessage) {
  const [file] = m.attachments;
  const type = file ? mediaKind(file.mimeType) : 'text';
  const body = file
    ? {
        [type]: {
          id: file.id,
          mime_type: file.mimeType,
          sha256: attachmentSha256(file),
          caption: m.text || undefined,
          filename: type === 'document' ? `${file.id}.bin` : undefined,
        },
      }
    : { text: { body: m.text } };
  return messagesChange(n, {
    contacts: [{ profile: { name: m.authorName }, wa_id: m.authorId }],
    messages: [
      {
        from: m.authorId,
        id: m.id,
        timestamp: unixString(m.createdAt),
        type,
        ...(m.parentId ? { context: { from: n.displayPhoneNumber, id: m.parentId } } : {}),
        ...body,
      },
    ],
  });
}

/**
 * What has happened to a sent message so far, from its 'message' job: sent while pending; sent and
 * delivered once ready (and read `messageReadMs` later, when that knob is ≥ 0); failed, with the
 * jobs/fail reason as errors[].code, if it was set to fail.
 */
export function messageStatuses(sim: PlatformSim, wamid: string): WhatsAppStatus[] {
  const job: SimJob | undefined = sim.jobs.get(wamid);
  if (job?.kind !== 'message') return [];
  const callback = job.data.biz_opaque_callback_data;
  const base = {
    id: wamid,
    recipient_id: String(job.data.to),
    ...(typeof callback === 'string' ? { biz_opaque_callback_data: callback } : {}),
  };
  const phase = sim.jobPhase(job);
  const doneAt = job.createdAt + job.readyAfterMs;
  if (phase === 'failed') {
    const code = /^\d+$/.test(job.failure ?? '') ? Number(job.failure) : 131000;
    const known = FAILURES[code] ?? { title: job.failure ?? 'Failed', details: job.failure ?? '' };
    const error = { code, title: known.title, message: known.title, error_data: { details: known.details } };
    return [{ ...base, status: 'failed', timestamp: unixString(doneAt), errors: [error] }];
  }
  const out: WhatsAppStatus[] = [{ ...base, status: 'sent', timestamp: unixString(job.createdAt) }];
  if (phase === 'pending') return out;
  out.push({ ...base, status: 'delivered', timestamp: unixString(doneAt) });
  const readMs = sim.knobs.messageReadMs ?? -1;
  if (readMs >= 0 && sim.clock.now() >= doneAt + readMs) {
    out.push({ ...base, status: 'read', timestamp: unixString(doneAt + readMs) });
  }
  return out;
}

/** One delivery per status, as Meta sends them, ready for the `events` of POST /_admin/webhooks. */
export function statusEvents(sim: PlatformSim, wamid: string): ReturnType<typeof statusWebhook>[] {
  const account = sim.accounts.get(sim.jobs.get(wamid)?.accountId ?? '');
  if (!account) return [];
  return messageStatuses(sim, wamid).map((s) => statusWebhook(whatsAppNumber(account), [s]));
}

/** WhatsApp's errors carry error_data with the reason in words. */
const waError = (code: number, message: string, details: string, status = 400): SimReply =>
  metaError(status, { code, message }, { error_data: { messaging_product: 'whatsapp', details } });

/** Message ids look like wamid.HBgL…: base64 of the recipient and an opaque tail. */
const newWamid = (waId: string) =>
  `wamid.${Buffer.concat([Buffer.from(`HBgL${waId}FQIAERgS`), randomBytes(12)])
    .toString('base64')
    .replace(/=+$/, '')}`;

/** What is wrong with the type's content object, if anything. */
function contentProblem(type: string, body: Record<string, unknown>): string | undefined {
  const part = body[type];
  if (!part || typeof part !== 'object') return `(#100) The parameter ${type} is required.`;
  const o = part as Record<string, unknown>;
  if (type === 'text') {
    if (typeof o.body !== 'string' || !o.body) return "(#100) The parameter text['body'] is required.";
    if (o.body.length > 4096) return "(#100) Param text['body'] must be at most 4096 characters long.";
  }
  if (type === 'template') {
    if (typeof o.name !== 'string' || !o.name) return "(#100) The parameter template['name'] is required.";
    const language = o.language as { code?: unknown } | undefined;
    if (typeof language?.code !== 'string') return "(#100) The parameter template['language']['code'] is required.";
  }
  if (MEDIA_TYPES.includes(type) && !o.id && !o.link) return `(#100) Param ${type} must have either id or link.`;
  return undefined;
}

// WhatsApp Business (Cloud API), onboarded Embedded Signup style on graph.facebook.com: code → a
// business token that never expires, debug_token naming the shared WABA, the WABA's phone numbers,
// and DELETE /{waba}/subscribed_apps to disconnect.
export function createWhatsAppSim(clock: Clock) {
  const sim = new PlatformSim(clock, {
    id: 'whatsapp',
    clientId: 'sim-whatsapp-client',
    clientSecret: 'sim-whatsapp-secret',
    policy: {
      accessTtlS: null,
      refreshTtlS: null,
      rotate: false,
      refreshExtends: true,
      minRefreshAgeS: 0,
      codeTtlS: 600,
    },
    tokenPrefix: { access: 'EAAG', refresh: 'EAAG' },
    throttle: throttle({
      code: 130429,
      message: '(#130429) Rate limit hit',
      bucType: 'whatsapp_business_messaging',
      objectId: (s) => s.firstAccount().extra?.wabaId ?? s.firstAccount().id,
      more: {
        error_data: { messaging_product: 'whatsapp', details: 'Cloud API message throughput has been reached.' },
      },
      // Reads of the WABA and its media count against the WABA management limit, not throughput.
      byRoute: Object.fromEntries(
        ['analytics', 'media', 'media_download'].map((route) => [
          route,
          {
            code: 80007,
            message: '(#80007) There have been too many calls to this WhatsApp Business account.',
            bucType: 'whatsapp_business_management',
          },
        ]),
      ),
    }),
    serverError,
  });

  /** The business token's account, when the path names its WABA; else Meta's refusal. */
  function wabaAuth(req: SimRequest, method: string): { reply: SimReply } | { account: SimAccount; grant: Grant } {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account || !auth.grant) return { reply: authError(sim, auth) };
    const waba = req.params.waba ?? '';
    if (waba !== auth.account.extra?.wabaId) return { reply: metaError(400, unsupported(method, waba)) };
    return { account: auth.account, grant: auth.grant };
  }

  authorizeRoute(sim, graphPath('/dialog/oauth'));

  sim.route('GET', graphPath('/oauth/access_token'), 'token', (req) => {
    const redeemed = redeem(sim, req.query);
    return 'grant' in redeemed
      ? tokenReply(sim.issue(redeemed.grant, 'access', sim.policy.accessTtlS))
      : metaError(400, redeemed);
  });

  // Asked with the app token (app id|app secret); a dead input token is {is_valid:false, error}, not an error reply.
  sim.route('GET', graphPath('/debug_token'), 'debug_token', (req) => {
    if (req.token !== `${sim.opts.clientId}|${sim.opts.clientSecret}`) {
      return metaError(400, { code: 101, message: 'Error validating application. Invalid application ID or secret.' });
    }
    const auth = sim.check(req.query.get('input_token') ?? undefined);
    if (!auth.ok || !auth.account || !auth.grant || !auth.token) {
      const p = tokenProblem(sim, auth);
      return ok({
        data: { error: { code: p.code, message: p.message, subcode: p.subcode }, is_valid: false, scopes: [] },
      });
    }
    const { account, grant, token } = auth;
    const seconds = (ms: number | null) => (ms === null ? 0 : Math.floor(ms / 1000));
    return ok({
      data: {
        app_id: sim.opts.clientId,
        type: 'SYSTEM_USER',
        application: 'Switchboard',
        data_access_expires_at: 0,
        expires_at: seconds(token.expiresAt),
        is_valid: true,
        issued_at: seconds(token.issuedAt),
        scopes: grant.scopes,
        granular_scopes: grant.scopes.map((scope) =>
          scope.startsWith('whatsapp_') ? { scope, target_ids: [account.extra?.wabaId] } : { scope },
        ),
        user_id: account.id,
      },
    });
  });

  sim.route('GET', graphPath('/(?<waba>\\d+)/phone_numbers'), 'phone_numbers', (req) => {
    const auth = wabaAuth(req, 'get');
    if ('reply' in auth) return auth.reply;
    const { account } = auth;
    const phone = {
      id: account.extra?.phoneNumberId,
      display_phone_number: account.extra?.displayPhoneNumber,
      verified_name: account.name,
      quality_rating: 'GREEN',
      code_verification_status: 'VERIFIED',
      platform_type: 'CLOUD_API',
      throughput: { level: 'STANDARD' },
    };
    return ok({
      data: [pick(phone, req.query.get('fields'))],
      paging: { cursors: { before: 'QVFIUm', after: 'QVFIUm' } },
    });
  });

  sim.route(
    'DELETE',
    graphPath('/(?<waba>\\d+)/subscribed_apps'),
    'revoke',
    (req) => {
      const auth = wabaAuth(req, 'delete');
      if ('reply' in auth) return auth.reply;
      sim.revokeGrant(auth.grant.id, 'app_unsubscribed');
      sim.recordWrite('revoke', { wabaId: req.params.waba }, auth.account.id);
      return ok({ success: true });
    },
    { write: true },
  );

  /** `${phoneNumberId}:${waId}` → when the customer last wrote: their 24 h window runs from there. */
  const lastInbound = new Map<string, number>();
  const windowOpen = (account: SimAccount, waId: string) => {
    const phoneNumberId = account.extra?.phoneNumberId ?? '';
    const stored = sim.content
      .messagesOf(account.id, 'dm', waId)
      .find((m) => !m.fromAccount && m.authorId === waId)?.createdAt;
    const at = Math.max(lastInbound.get(`${phoneNumberId}:${waId}`) ?? -1, stored ?? -1);
    return at >= 0 && clock.now() - at < WINDOW_MS;
  };
  // Cloud API throughput: 80 messages a second per number (the simulated app has one number).
  sim.limit('send', 80, 1000);

  // The outbound commit. A 200 only means accepted: delivery (or failure) comes later in `statuses`
  // webhooks, modelled by a 'message' job per wamid (see messageStatuses).
  sim.route(
    'POST',
    graphPath('/(?<phone>\\d+)/messages'),
    'send',
    (req) => {
      const auth = sim.check(req.token);
      if (!auth.ok || !auth.account || !auth.grant) return authError(sim, auth);
      const { account } = auth;
      const phone = req.params.phone ?? '';
      if (phone !== account.extra?.phoneNumberId) return metaError(400, unsupported('post', phone));
      if (!auth.grant.scopes.includes('whatsapp_business_messaging')) {
        return metaError(403, { code: 10, message: '(#10) Application does not have permission for this action' });
      }
      const body = req.json ?? {};
      const bad = (message: string) => waError(100, message, message.replace(/^\(#100\) /, ''));
      // Marking an inbound message read shares the endpoint and sends nothing.
      if (body.status === 'read') {
        if (typeof body.message_id !== 'string') return bad('(#100) The parameter message_id is required.');
        const inbound = sim.content.messages.find((m) => m.id === body.message_id && m.accountId === account.id);
        if (inbound) inbound.read = true;
        return ok({ success: true });
      }
      if (body.messaging_product !== 'whatsapp') return bad('(#100) The parameter messaging_product is required.');
      const to = typeof body.to === 'string' ? body.to : '';
      const waId = to.replace(/\D/g, '');
      if (waId.length < 8 || waId.length > 15) return bad('(#100) Invalid parameter: to must be a phone number.');
      const type = typeof body.type === 'string' ? body.type : 'text';
      if (!MESSAGE_TYPES.includes(type)) return bad(`(#100) Param type must be one of {${MESSAGE_TYPES.join(', ')}}.`);
      const problem = contentProblem(type, body);
      if (problem) return bad(problem);
      const callback = body.biz_opaque_callback_data;
      if (callback !== undefined && (typeof callback !== 'string' || callback.length > 512)) {
        return bad('(#100) Param biz_opaque_callback_data must be a string of at most 512 characters.');
      }
      // Anything but a template needs the customer to have written within 24 h. (The live API may
      // also accept and then fail such a message in a `statuses` webhook; the simulator refuses.)
      if (type !== 'template' && !windowOpen(account, waId)) {
        return waError(131047, '(#131047) Re-engagement message', FAILURES[131047]?.details ?? '');
      }
      const recent = sim.writes.filter(
        (w) => w.route === 'send' && w.accountId === account.id && w.data.to === waId && w.at > clock.now() - 60_000,
      ).length;
      if (recent >= (sim.knobs.pairPerMinute ?? 10)) {
        return waError(
          131056,
          '(#131056) (Business Account, Consumer Account) pair rate limit hit',
          'Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.',
        );
      }
      const wamid = newWamid(waId);
      const context = body.context as { message_id?: unknown } | undefined;
      const replyTo = typeof context?.message_id === 'string' ? context.message_id : undefined;
      const data = { wamid, to: waId, type, biz_opaque_callback_data: callback, context: replyTo };
      sim.startJob('message', data, { id: wamid, accountId: account.id });
      sim.recordWrite('send', data, account.id);
      // The conversation (the customer's wa_id) shows what the business sent, replies included.
      const part = body[type] as { body?: unknown; name?: unknown } | undefined;
      sim.content.addMessage(
        sim.content.message({
          id: wamid,
          accountId: account.id,
          kind: 'dm',
          threadId: waId,
          parentId: replyTo,
          authorId: phone,
          authorName: account.name,
          text: typeof part?.body === 'string' ? part.body : `[${type}${part?.name ? ` ${part.name}` : ''}]`,
          createdAt: clock.now(),
          fromAccount: true,
        }),
      );
      return ok({
        messaging_product: 'whatsapp',
        contacts: [{ input: to, wa_id: waId }],
        messages: [{ id: wamid, ...(type === 'template' ? { message_status: 'accepted' } : {}) }],
      });
    },
    { write: true },
  );

  // Not Graph: stands in for a customer writing to the business number, which opens the 24 h window.
  // JSON {from, body?, name?, phoneNumberId?}; answers the `messages` webhook Meta would deliver.
  sim.route('POST', '/_sim/inbound', 'sim_inbound', (req) => {
    const body = req.json ?? {};
    const from = String(body.from ?? '').replace(/\D/g, '');
    const account =
      body.phoneNumberId === undefined
        ? sim.firstAccount()
        : [...sim.accounts.values()].find((a) => a.extra?.phoneNumberId === body.phoneNumberId);
    if (!from || !account) return { status: 400, body: { error: 'from and a known phoneNumberId are required' } };
    const n = whatsAppNumber(account);
    lastInbound.set(`${n.phoneNumberId}:${from}`, clock.now());
    const id = newWamid(from);
    const text = typeof body.body === 'string' ? body.body : 'Hello';
    const name = typeof body.name === 'string' ? body.name : undefined;
    sim.content.addMessage(
      sim.content.message({
        id,
        accountId: account.id,
        kind: 'dm',
        threadId: from,
        authorId: from,
        authorName: name ?? 'Sim Customer',
        text,
        createdAt: clock.now(),
      }),
    );
    return ok({
      wamid: id,
      webhook: inboundWebhook(n, { id, from, name, timestamp: unixString(clock.now()), body: text }),
    });
  });

  // Not Graph: the `statuses` deliveries a sent message has earned so far, for POST /_admin/webhooks.
  sim.route('GET', '/_sim/statuses', 'sim_statuses', (req) =>
    ok({ events: statusEvents(sim, req.query.get('wamid') ?? '') }),
  );

  // Sync and inbox reads. Messages have no history API: they come by webhook only. The content
  // store is keyed by the simulator account (one business number each); message ids are wamids.
  // WABA ids are 15 digits and media ids any other shape, which is how GET /{id} tells them apart.
  sim.contentId = () => newWamid(`1555${numericId(7)}`);

  // GET /{waba-id}?fields=analytics.start(<unix>).end(<unix>).granularity(DAY).phone_numbers([…]):
  // sent and delivered per day, at most a year back.
  sim.route('GET', graphPath('/(?<waba>\\d{15})'), 'analytics', (req) => {
    const auth = wabaAuth(req, 'get');
    if ('reply' in auth) return auth.reply;
    const waba = req.params.waba ?? '';
    const fields = req.query.get('fields') ?? '';
    const spec = /(?:^|,)analytics((?:\.\w+\([^)]*\))*)/.exec(fields);
    if (!spec) return ok(pick({ id: waba, name: auth.account.name, currency: 'USD' }, fields || 'name'));
    const args = Object.fromEntries([...(spec[1] ?? '').matchAll(/\.(\w+)\(([^)]*)\)/g)].map((m) => [m[1], m[2]]));
    const start = Number(args.start);
    const end = Number(args.end);
    if (!Number.isInteger(start) || !Number.isInteger(end) || end <= start) {
      return metaError(400, {
        code: 100,
        message: '(#100) analytics needs start and end as unix timestamps, start < end',
      });
    }
    if (args.granularity !== 'DAY') {
      return metaError(400, { code: 100, message: '(#100) The simulator answers granularity DAY only' });
    }
    if (start < Math.floor(clock.now() / 1000) - 366 * 86_400) {
      return metaError(400, { code: 100, message: '(#100) start must be within the last year' });
    }
    let filter: string[] | undefined;
    try {
      filter = args.phone_numbers ? (JSON.parse(args.phone_numbers) as unknown[]).map(String) : undefined;
    } catch {
      return metaError(400, { code: 100, message: '(#100) phone_numbers must be a JSON array of phone numbers' });
    }
    const numbers = [...sim.accounts.values()]
      .filter((a) => a.extra?.wabaId === waba)
      .filter((a) => !filter || filter.some((f) => f.replace(/\D/g, '') === whatsAppNumber(a).displayPhoneNumber));
    const series = (metric: string) =>
      numbers.map((a) => dailyValues(sim, a.id, metric, start, end).map((v) => v.value));
    const sent = series('sent');
    const delivered = series('delivered');
    const days = dailyValues(sim, '', 'sent', start, end);
    const sum = (rows: number[][], i: number) => rows.reduce((total, row) => total + (row[i] ?? 0), 0);
    return ok({
      analytics: {
        phone_numbers: numbers.map((a) => whatsAppNumber(a).displayPhoneNumber),
        granularity: 'DAY',
        data_points: days.map((d, i) => {
          const startS = dayStartS(d.end_time.slice(0, 10)) - 86_400;
          return { start: startS, end: startS + 86_400, sent: sum(sent, i), delivered: sum(delivered, i) };
        }),
      },
      id: waba,
    });
  });

  /** A file some customer sent to one of the token's numbers, with its message. */
  const attachmentOf = (accountId: string, id: string) => {
    for (const m of sim.content.messages) {
      if (m.accountId !== accountId) continue;
      const file = m.attachments.find((a) => a.id === id);
      if (file) return file;
    }
    return undefined;
  };
  const downloadHash = (id: string, ext: number) =>
    createHmac('sha256', sim.opts.clientSecret).update(`${id}:${ext}`).digest('base64url').slice(0, 22);

  // GET /{media-id}: a download URL valid for 5 minutes, with the file's type, hash and size.
  sim.route('GET', graphPath('/(?<media>(?!\\d{15}$)[A-Za-z0-9_.-]+)'), 'media', (req) => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account) return authError(sim, auth);
    const id = req.params.media ?? '';
    const file = attachmentOf(auth.account.id, id);
    if (!file) return metaError(400, unsupported('get', id));
    const ext = Math.floor(clock.now() / 1000) + 300;
    const query = new URLSearchParams({ mid: id, ext: String(ext), hash: downloadHash(id, ext) });
    return ok({
      messaging_product: 'whatsapp',
      url: `http://${req.headers.host}/${sim.id}/whatsapp_business/attachments/?${query}`,
      mime_type: file.mimeType,
      sha256: attachmentSha256(file),
      file_size: file.bytes,
      id,
    });
  });

  // lookaside.fbsbx.com: the bytes, for the bearer token of the business the file was sent to.
  sim.route('GET', '/whatsapp_business/attachments/', 'media_download', (req) => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account) return { status: 401, body: 'Unauthorized' };
    const id = req.query.get('mid') ?? '';
    const ext = Number(req.query.get('ext'));
    const file = attachmentOf(auth.account.id, id);
    if (!file || req.query.get('hash') !== downloadHash(id, ext) || ext * 1000 < clock.now()) {
      return { status: 404, body: 'Not Found' };
    }
    return { status: 200, body: attachmentBytes(file).toString('latin1'), headers: { 'content-type': file.mimeType } };
  });

  // Webhooks (object "whatsapp_business_account"): a customer's message, or a status for our own.
  sim.webhookFor = (m) => {
    const account = sim.accounts.get(m.accountId) ?? sim.firstAccount();
    const n = whatsAppNumber(account);
    if (m.fromAccount) {
      return statusWebhook(n, [
        { id: m.id, status: 'sent', timestamp: unixString(m.createdAt), recipient_id: m.threadId },
      ]);
    }
    return contentWebhook(n, m);
  };

  const seed = () => {
    lastInbound.clear();
    sim.knobs.pairPerMinute = 10;
    sim.knobs.messageMs = 0;
    sim.knobs.messagePolls = 0;
    // < 0: recipients never read.
    sim.knobs.messageReadMs = -1;
    sim.addAccount({
      id: numericId(16),
      name: 'Simulated Bakery',
      extra: { wabaId: numericId(15), phoneNumberId: numericId(15), displayPhoneNumber: '+1 555-010-4477' },
    });
  };
  return { sim, seed };
}
