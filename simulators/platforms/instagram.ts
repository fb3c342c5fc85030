import { type Clock, numericId, PlatformSim } from '../core.ts';
import {
  authError,
  authorizeRoute,
  graphPath,
  longLivedRoutes,
  ok,
  pick,
  redeem,
  serverError,
  throttle,
} from './meta.ts';

// Instagram API with Instagram Login: www.instagram.com (consent), api.instagram.com (code → 1-hour
// token), graph.instagram.com (60-day exchange, re-issue after 24 h, /me).
export function createInstagramSim(clock: Clock) {
  const sim = new PlatformSim(clock, {
    id: 'instagram',
    clientId: 'sim-instagram-client',
    clientSecret: 'sim-instagram-secret',
    policy: {
      accessTtlS: 3600,
      refreshTtlS: null,
      rotate: false,
      refreshExtends: true,
      minRefreshAgeS: 86_400,
      codeTtlS: 3600,
    },
    tokenPrefix: { access: 'IGAA', refresh: 'IGAA' },
    throttle: throttle({
      code: 80002,
      message:
        'There have been too many calls to this Instagram account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.',
      bucType: 'instagram',
      objectId: (s) => s.firstAccount().id,
    }),
    serverError,
  });

  authorizeRoute(sim, '/oauth/authorize', '#_');

  sim.route('POST', '/oauth/access_token', 'token', (req) => {
    const redeemed = redeem(sim, req.form);
    // api.instagram.com still answers errors in the flat shape of the old Basic Display API.
    if (!('grant' in redeemed)) {
      return { status: 400, body: { error_type: 'OAuthException', code: 400, error_message: redeemed.message } };
    }
    const { grant } = redeemed;
    const token = {
      access_token: sim.issue(grant, 'access', sim.policy.accessTtlS).value,
      user_id: grant.accountId,
      permissions: grant.scopes.join(','),
    };
    // Newer responses wrap the token in data:[…]; the knob brings back the flat form.
    return ok(sim.knobs.flatTokenResponse ? token : { data: [token] });
  });

  longLivedRoutes(sim, { exchange: 'ig_exchange_token', refresh: 'ig_refresh_token' });

  sim.route('GET', graphPath('/me'), 'profile', (req) => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account) return authError(sim, auth);
    const a = auth.account;
    const me = {
      id: a.extra?.appScopedId,
      user_id: a.id,
      username: a.handle,
      name: a.name,
      account_type: 'BUSINESS',
      profile_picture_url: `https://scontent.cdninstagram.com/v/t51.2885-19/${a.id}_n.jpg`,
      followers_count: 1280,
      follows_count: 311,
      media_count: 87,
    };
    return ok(pick(me, req.query.get('fields')));
  });

  const seed = () => {
    sim.knobs.longLivedTtlS = 5_184_000;
    sim.knobs.flatTokenResponse = 0;
    sim.addAccount({
      id: `1784${numericId(13)}`,
      name: 'Simulated Studio',
      handle: 'simulated.studio',
      extra: { appScopedId: numericId(17) },
    });
  };
  return { sim, seed };
}
