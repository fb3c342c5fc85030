import { randomBytes } from 'node:crypto';
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
  const windowOpen = (phoneNumberId: string, waId: string) => {
    const at = lastInbound.get(`${phoneNumberId}:${waId}`);
    return at !== undefined && clock.now() - at < WINDOW_MS;
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
        return typeof body.message_id === 'string'
          ? ok({ success: true })
          : bad('(#100) The parameter message_id is required.');
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
      if (type !== 'template' && !windowOpen(phone, waId)) {
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
      const data = { wamid, to: waId, type, biz_opaque_callback_data: callback };
      sim.startJob('message', data, { id: wamid, accountId: account.id });
      sim.recordWrite('send', data, account.id);
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
    return ok({
      wamid: id,
      webhook: inboundWebhook(n, { id, from, name, timestamp: unixString(clock.now()), body: text }),
    });
  });

  // Not Graph: the `statuses` deliveries a sent message has earned so far, for POST /_admin/webhooks.
  sim.route('GET', '/_sim/statuses', 'sim_statuses', (req) =>
    ok({ events: statusEvents(sim, req.query.get('wamid') ?? '') }),
  );

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
