import {
  type Clock,
  type Grant,
  numericId,
  PlatformSim,
  type SimAccount,
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

  const seed = () => {
    sim.addAccount({
      id: numericId(16),
      name: 'Simulated Bakery',
      extra: { wabaId: numericId(15), phoneNumberId: numericId(15), displayPhoneNumber: '+1 555-010-4477' },
    });
  };
  return { sim, seed };
}
