import { randomBytes, randomUUID } from 'node:crypto';
import { type Clock, type Grant, PlatformSim, type SimReply, type SimToken } from '../core.ts';

// TikTok: Login Kit v2 (www.tiktok.com/v2/auth/authorize/, open.tiktokapis.com/v2/oauth/*) with
// rotating refresh tokens (2026 lifetimes: access 2 h, refresh 180 d), and the Display API's
// user/info with its 1-minute window. The token endpoint answers its errors with HTTP 200.

/** Log ids look like 20260301093012 + 20 hex digits. */
const logId = (now: number) =>
  new Date(now).toISOString().replace(/\D/g, '').slice(0, 14) + randomBytes(10).toString('hex').toUpperCase();

/** Which scope each user/info field needs. */
const FIELD_SCOPES: Record<string, string> = {
  open_id: 'user.info.basic',
  union_id: 'user.info.basic',
  avatar_url: 'user.info.basic',
  display_name: 'user.info.basic',
  username: 'user.info.profile',
  bio_description: 'user.info.profile',
  is_verified: 'user.info.profile',
  follower_count: 'user.info.stats',
  following_count: 'user.info.stats',
  likes_count: 'user.info.stats',
  video_count: 'user.info.stats',
};

export function createTikTokSim(clock: Clock) {
  const envelope = (status: number, code: string, message: string, data: unknown = {}): SimReply => ({
    status,
    body: { data, error: { code, message, log_id: logId(clock.now()) } },
  });
  const oauthError = (error: string, description: string): SimReply => ({
    status: 200,
    body: { error, error_description: description, log_id: logId(clock.now()) },
  });

  const sim = new PlatformSim(clock, {
    id: 'tiktok',
    clientId: 'sim-tiktok-client',
    clientSecret: 'sim-tiktok-secret',
    policy: {
      accessTtlS: 7200,
      refreshTtlS: 15_552_000,
      rotate: true,
      refreshExtends: true,
      minRefreshAgeS: 0,
      codeTtlS: 600,
    },
    tokenPrefix: { access: 'act.', refresh: 'rft.' },
    // No rate-limit headers: TikTok documents none.
    throttle: () => envelope(429, 'rate_limit_exceeded', 'API rate limit exceeded, please retry later.'),
    serverError: (_sim, status) => envelope(status, 'internal_error', 'Something went wrong. Please try again later.'),
  });
  sim.limit('user_info', 600, 60_000);

  /** The presented refresh token retires; its successor keeps or renews the lifetime per policy. */
  function rotate(grant: Grant, old: SimToken): SimToken {
    if (!sim.policy.rotate) return old;
    old.retiredAt = clock.now();
    const next = sim.issue(grant, 'refresh', sim.policy.refreshTtlS);
    if (!sim.policy.refreshExtends) next.expiresAt = old.expiresAt;
    return next;
  }

  function tokenReply(grant: Grant, refresh: SimToken): SimReply {
    const access = sim.issue(grant, 'access', sim.policy.accessTtlS);
    const remaining = (t: SimToken) => (t.expiresAt === null ? null : Math.floor((t.expiresAt - clock.now()) / 1000));
    return {
      status: 200,
      body: {
        access_token: access.value,
        expires_in: remaining(access),
        open_id: grant.accountId,
        refresh_expires_in: remaining(refresh),
        refresh_token: refresh.value,
        scope: grant.scopes.join(','),
        token_type: 'Bearer',
      },
    };
  }

  sim.route('GET', '/v2/auth/authorize/', 'authorize', (req) => {
    const q = req.query;
    if (q.get('response_type') !== 'code') return { status: 400, body: { error: 'unsupported_response_type' } };
    // PKCE is optional for web apps and required for desktop and mobile ones.
    return sim.authorize({
      clientId: q.get('client_key'),
      redirectUri: q.get('redirect_uri'),
      scopes: (q.get('scope') ?? '').split(',').filter(Boolean),
      state: q.get('state'),
      challenge: q.get('code_challenge'),
      challengeMethod: q.get('code_challenge_method'),
    });
  });

  sim.route('POST', '/v2/oauth/token/', 'token', (req) => {
    const f = req.form;
    if (!sim.checkClient(f.get('client_key'), f.get('client_secret'))) {
      return oauthError('invalid_client', 'Client key or secret is incorrect.');
    }
    if (f.get('grant_type') === 'authorization_code') {
      const redeemed = sim.redeemCode(f.get('code'), {
        clientId: f.get('client_key'),
        redirectUri: f.get('redirect_uri'),
        verifier: f.get('code_verifier'),
      });
      if ('error' in redeemed) return oauthError(redeemed.error, redeemed.description);
      return tokenReply(redeemed.grant, sim.issue(redeemed.grant, 'refresh', sim.policy.refreshTtlS));
    }
    if (f.get('grant_type') === 'refresh_token') {
      const auth = sim.check(f.get('refresh_token') ?? undefined, 'refresh');
      if (!auth.ok || !auth.grant || !auth.token)
        return oauthError('invalid_grant', 'Refresh token is invalid or expired.');
      return tokenReply(auth.grant, rotate(auth.grant, auth.token));
    }
    return oauthError('unsupported_grant_type', 'The grant type is not supported.');
  });

  sim.route(
    'POST',
    '/v2/oauth/revoke/',
    'revoke',
    (req) => {
      const f = req.form;
      if (!sim.checkClient(f.get('client_key'), f.get('client_secret'))) {
        return oauthError('invalid_client', 'Client key or secret is incorrect.');
      }
      const value = f.get('token');
      const token = value ? sim.tokens.get(value) : undefined;
      const grant = token ? sim.grants.get(token.grantId) : undefined;
      // A token that is unknown or already dead is answered like a revoked one (RFC 7009).
      if (grant && grant.revokedAt === undefined) {
        sim.revokeGrant(grant.id);
        sim.recordWrite('revoke', { grantId: grant.id }, grant.accountId);
      }
      return { status: 200, body: {} };
    },
    { write: true },
  );

  sim.route('GET', '/v2/user/info/', 'user_info', (req) => {
    const auth = sim.check(req.token);
    // Expired, revoked and unknown tokens all get access_token_invalid.
    if (!auth.ok || !auth.account || !auth.grant) {
      return envelope(401, 'access_token_invalid', 'The access token is invalid or not found in the request.');
    }
    const fields = (req.query.get('fields') ?? '').split(',').filter(Boolean);
    const unknown = fields.find((f) => !FIELD_SCOPES[f]);
    if (!fields.length || unknown) return envelope(400, 'invalid_params', `Invalid fields: ${unknown ?? '(none)'}`);
    const granted = auth.grant.scopes;
    if (fields.some((f) => !granted.includes(FIELD_SCOPES[f] as string))) {
      return envelope(
        401,
        'scope_not_authorized',
        'The user did not authorize the scope required for completing this request.',
      );
    }
    const a = auth.account;
    const values: Record<string, unknown> = {
      open_id: a.id,
      union_id: a.extra?.unionId,
      avatar_url: `https://p16-sign.tiktokcdn-us.com/tos-useast5-avt-0068-tx/${a.id}~c5_168x168.jpeg`,
      display_name: a.name,
      username: a.handle,
      bio_description: '',
      is_verified: false,
      follower_count: Number(a.extra?.followers ?? 0),
      following_count: Number(a.extra?.following ?? 0),
      likes_count: Number(a.extra?.likes ?? 0),
      video_count: Number(a.extra?.videos ?? 0),
    };
    return envelope(200, 'ok', '', { user: Object.fromEntries(fields.map((f) => [f, values[f]])) });
  });

  const seed = () => {
    sim.addAccount({
      id: `-000${randomBytes(24).toString('base64url')}`,
      name: 'Switchboard Sim',
      handle: 'switchboard.sim',
      extra: { unionId: randomUUID(), followers: '5310', following: '87', likes: '120044', videos: '64' },
    });
  };
  return { sim, seed };
}
