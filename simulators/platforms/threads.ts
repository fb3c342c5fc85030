import { type Clock, numericId, PlatformSim } from '../core.ts';
import {
  authError,
  authorizeRoute,
  graphPath,
  longLivedRoutes,
  metaError,
  ok,
  pick,
  redeem,
  serverError,
  throttle,
} from './meta.ts';

// Threads: threads.net (consent) and graph.threads.net (code → 1-hour token, 60-day exchange,
// re-issue after 24 h, /v1.0/me).
export function createThreadsSim(clock: Clock) {
  const sim = new PlatformSim(clock, {
    id: 'threads',
    clientId: 'sim-threads-client',
    clientSecret: 'sim-threads-secret',
    policy: {
      accessTtlS: 3600,
      refreshTtlS: null,
      rotate: false,
      refreshExtends: true,
      minRefreshAgeS: 86_400,
      codeTtlS: 600,
    },
    tokenPrefix: { access: 'THAA', refresh: 'THAA' },
    throttle: throttle({
      code: 4,
      message: '(#4) Application request limit reached',
      bucType: 'threads',
      objectId: (s) => s.firstAccount().id,
    }),
    serverError,
  });

  authorizeRoute(sim, '/oauth/authorize', '#_');

  sim.route('POST', '/oauth/access_token', 'token', (req) => {
    const redeemed = redeem(sim, req.form);
    if (!('grant' in redeemed)) return metaError(400, redeemed);
    const access = sim.issue(redeemed.grant, 'access', sim.policy.accessTtlS);
    return ok({ access_token: access.value, user_id: redeemed.grant.accountId });
  });

  longLivedRoutes(sim, { exchange: 'th_exchange_token', refresh: 'th_refresh_token' });

  sim.route('GET', graphPath('/me'), 'profile', (req) => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account) return authError(sim, auth);
    const a = auth.account;
    const me = {
      id: a.id,
      username: a.handle,
      name: a.name,
      threads_profile_picture_url: `https://scontent.cdninstagram.com/v/t51.2885-19/${a.id}_threads.jpg`,
      threads_biography: 'Simulated account for Switchboard tests',
    };
    return ok(pick(me, req.query.get('fields')));
  });

  const seed = () => {
    sim.knobs.longLivedTtlS = 5_184_000;
    sim.addAccount({ id: numericId(17), name: 'Simulated Studio', handle: 'simulated.studio' });
  };
  return { sim, seed };
}
