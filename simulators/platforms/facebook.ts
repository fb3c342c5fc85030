import { type Clock, type Grant, numericId, PlatformSim } from '../core.ts';
import {
  authError,
  authorizeRoute,
  graphPath,
  longLived,
  metaError,
  ok,
  pick,
  redeem,
  serverError,
  throttle,
  tokenReply,
  unsupported,
} from './meta.ts';

// Facebook Pages: www.facebook.com (Login dialog) and graph.facebook.com (code → short user token,
// fb_exchange_token → 60-day user token, /me with its Pages and their never-expiring Page tokens,
// DELETE /{user-id}/permissions).
export function createFacebookSim(clock: Clock) {
  const sim = new PlatformSim(clock, {
    id: 'facebook',
    clientId: 'sim-facebook-client',
    clientSecret: 'sim-facebook-secret',
    policy: {
      accessTtlS: 5400,
      refreshTtlS: null,
      rotate: false,
      refreshExtends: true,
      minRefreshAgeS: 0,
      codeTtlS: 600,
    },
    tokenPrefix: { access: 'EAAG', refresh: 'EAAG' },
    throttle: throttle({
      code: 80001,
      message:
        'There have been too many calls to this Page account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.',
      bucType: 'pages',
      objectId: (s) => s.firstAccount().extra?.pageId ?? s.firstAccount().id,
    }),
    serverError,
  });
  /** Grant id → its Page token: one per grant, reissued by nothing, expiring never. */
  const pageTokens = new Map<string, string>();
  const pageToken = (grant: Grant) => {
    const existing = pageTokens.get(grant.id);
    if (existing) return existing;
    const value = sim.issue(grant, 'access', null).value;
    pageTokens.set(grant.id, value);
    return value;
  };

  authorizeRoute(sim, graphPath('/dialog/oauth'));

  sim.route('GET', graphPath('/oauth/access_token'), 'token', (req) => {
    const q = req.query;
    if (q.get('grant_type') !== 'fb_exchange_token') {
      const redeemed = redeem(sim, q);
      if (!('grant' in redeemed)) return metaError(400, redeemed);
      return tokenReply(sim.issue(redeemed.grant, 'access', sim.policy.accessTtlS));
    }
    if (!sim.checkClient(q.get('client_id'), q.get('client_secret'))) {
      return metaError(400, { code: 101, message: 'Error validating application. Invalid application ID or secret.' });
    }
    const auth = sim.check(q.get('fb_exchange_token') ?? undefined);
    return auth.ok && auth.grant ? longLived(sim, auth.grant) : authError(sim, auth);
  });

  sim.route('GET', graphPath('/me'), 'profile', (req) => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account || !auth.grant || !auth.token) return authError(sim, auth);
    const a = auth.account;
    const page = { id: a.extra?.pageId, name: a.extra?.pageName, username: a.extra?.pageUsername };
    // A Page token's /me is the Page itself.
    if (pageTokens.get(auth.grant.id) === auth.token.value) return ok(pick(page, req.query.get('fields')));
    const grant = auth.grant;
    const me = {
      id: a.id,
      name: a.name,
      permissions: { data: grant.scopes.map((permission) => ({ permission, status: 'granted' })) },
      accounts: {
        data: [
          {
            ...page,
            access_token: pageToken(grant),
            category: 'Bakery',
            tasks: ['ADVERTISE', 'ANALYZE', 'CREATE_CONTENT', 'MESSAGING', 'MODERATE', 'MANAGE'],
          },
        ],
        paging: { cursors: { before: 'QVFIUmx1', after: 'QVFIUmx1' } },
      },
    };
    return ok(pick(me, req.query.get('fields')));
  });

  sim.route(
    'DELETE',
    graphPath('/(?<user>[^/]+)/permissions'),
    'revoke',
    (req) => {
      const auth = sim.check(req.token);
      if (!auth.ok || !auth.account || !auth.grant) return authError(sim, auth);
      const user = req.params.user ?? '';
      if (user !== 'me' && user !== auth.account.id) return metaError(400, unsupported('delete', user));
      sim.revokeGrant(auth.grant.id, 'deauthorized');
      sim.recordWrite('revoke', { userId: auth.account.id }, auth.account.id);
      return ok({ success: true });
    },
    { write: true },
  );

  const seed = () => {
    pageTokens.clear();
    sim.knobs.longLivedTtlS = 5_183_944;
    sim.addAccount({
      id: numericId(17),
      name: 'Sim User',
      extra: { pageId: numericId(15), pageName: 'Simulated Bakery', pageUsername: 'simulatedbakery' },
    });
  };
  return { sim, seed };
}
