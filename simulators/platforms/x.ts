import { STATUS_CODES } from 'node:http';
import {
  type Clock,
  type Grant,
  numericId,
  PlatformSim,
  type SimReply,
  type SimRequest,
  type SimToken,
} from '../core.ts';

// X: OAuth 2 with mandatory PKCE (x.com/i/oauth2/authorize, api.x.com/2/oauth2/*), single-use refresh
// tokens, and users/me with its 15-minute window and x-rate-limit-* headers on every answer.

const problem = (status: number, title: string): SimReply => ({
  status,
  body: { title, type: 'about:blank', status, detail: title },
});

/** X's answer to a refresh token it will not take: rotated out, revoked or unknown. */
const invalidToken = (): SimReply => ({
  status: 400,
  body: { error: 'invalid_request', error_description: 'Value passed for the token was invalid.' },
});

/** GET /2/users/me: 75 calls per 15 minutes. */
const ME_LIMIT = 75;
const ME_WINDOW_MS = 15 * 60_000;

const rateHeaders = (limit: number, remaining: number, resetMs: number) => ({
  'x-rate-limit-limit': String(limit),
  'x-rate-limit-remaining': String(remaining),
  'x-rate-limit-reset': String(Math.ceil(resetMs / 1000)),
});

export function createXSim(clock: Clock) {
  const sim = new PlatformSim(clock, {
    id: 'x',
    clientId: 'sim-x-client',
    clientSecret: 'sim-x-secret',
    policy: {
      accessTtlS: 7200,
      refreshTtlS: null,
      rotate: true,
      refreshExtends: true,
      minRefreshAgeS: 0,
      codeTtlS: 30,
    },
    tokenPrefix: { access: 'xat.', refresh: 'xrt.' },
    // The hook does not know the route; users/me is the only limited route so far.
    throttle: (_sim, retryAfterS) => ({
      ...problem(429, 'Too Many Requests'),
      headers: rateHeaders(ME_LIMIT, 0, clock.now() + retryAfterS * 1000),
    }),
    serverError: (_sim, status) => problem(status, STATUS_CODES[status] ?? 'Server Error'),
  });
  const me = sim.limit('me', ME_LIMIT, ME_WINDOW_MS);

  /** Confidential clients authenticate with HTTP Basic, public ones send client_id; undefined: refused. */
  function clientOf(req: SimRequest): string | undefined {
    const basic = /^Basic\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''));
    if (basic) {
      const [id = '', secret = ''] = Buffer.from(basic[1] ?? '', 'base64')
        .toString('utf8')
        .split(':');
      return sim.checkClient(id, secret) ? id : undefined;
    }
    const id = req.form.get('client_id');
    return id && sim.checkClient(id) ? id : undefined;
  }

  const badClient = (): SimReply => ({
    status: 401,
    body: { error: 'unauthorized_client', error_description: 'Missing valid authorization header' },
  });

  /** The presented refresh token retires; its successor keeps or renews the lifetime per policy. */
  function rotate(grant: Grant, old: SimToken): SimToken {
    if (!sim.policy.rotate) return old;
    old.retiredAt = clock.now();
    const next = sim.issue(grant, 'refresh', sim.policy.refreshTtlS);
    if (!sim.policy.refreshExtends) next.expiresAt = old.expiresAt;
    return next;
  }

  function tokenReply(grant: Grant, refresh: SimToken | undefined): SimReply {
    const access = sim.issue(grant, 'access', sim.policy.accessTtlS);
    return {
      status: 200,
      body: {
        token_type: 'bearer',
        expires_in: sim.policy.accessTtlS,
        access_token: access.value,
        scope: grant.scopes.join(' '),
        ...(refresh ? { refresh_token: refresh.value } : {}),
      },
    };
  }

  sim.route('GET', '/i/oauth2/authorize', 'authorize', (req) => {
    const q = req.query;
    if (q.get('response_type') !== 'code') return { status: 400, body: { error: 'unsupported_response_type' } };
    // PKCE is mandatory: X's consent page will not start without a challenge.
    if (!q.get('code_challenge')) {
      return {
        status: 400,
        body: { error: 'invalid_request', error_description: 'Missing required parameter [code_challenge].' },
      };
    }
    return sim.authorize({
      clientId: q.get('client_id'),
      redirectUri: q.get('redirect_uri'),
      scopes: (q.get('scope') ?? '').split(' ').filter(Boolean),
      state: q.get('state'),
      challenge: q.get('code_challenge'),
      challengeMethod: q.get('code_challenge_method') ?? 'plain',
    });
  });

  sim.route('POST', '/2/oauth2/token', 'token', (req) => {
    const clientId = clientOf(req);
    if (!clientId) return badClient();
    const f = req.form;
    if (f.get('grant_type') === 'authorization_code') {
      if (!f.get('code_verifier')) {
        return {
          status: 400,
          body: { error: 'invalid_request', error_description: 'Missing required parameter [code_verifier].' },
        };
      }
      const redeemed = sim.redeemCode(f.get('code'), {
        clientId,
        redirectUri: f.get('redirect_uri'),
        verifier: f.get('code_verifier'),
      });
      if ('error' in redeemed) {
        const what =
          redeemed.description === 'Invalid code verifier.'
            ? 'code verifier did not match the code challenge'
            : 'authorization code was invalid';
        return { status: 400, body: { error: 'invalid_request', error_description: `Value passed for the ${what}.` } };
      }
      const { grant } = redeemed;
      // Only offline.access earns a refresh token.
      const refresh = grant.scopes.includes('offline.access')
        ? sim.issue(grant, 'refresh', sim.policy.refreshTtlS)
        : undefined;
      return tokenReply(grant, refresh);
    }
    if (f.get('grant_type') === 'refresh_token') {
      const auth = sim.check(f.get('refresh_token') ?? undefined, 'refresh');
      if (!auth.ok || !auth.grant || !auth.token) {
        // Optional family revocation: replaying a rotated-out token kills the whole grant.
        if (auth.problem === 'retired' && auth.grant && sim.knobs.familyRevocation) {
          sim.revokeGrant(auth.grant.id, 'refresh_token_reuse');
        }
        return invalidToken();
      }
      return tokenReply(auth.grant, rotate(auth.grant, auth.token));
    }
    return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' } };
  });

  sim.route(
    'POST',
    '/2/oauth2/revoke',
    'revoke',
    (req) => {
      if (!clientOf(req)) return badClient();
      const value = req.form.get('token');
      const token = value ? sim.tokens.get(value) : undefined;
      const grant = token ? sim.grants.get(token.grantId) : undefined;
      // RFC 7009: a token that is unknown or already dead is answered like a revoked one.
      if (grant && grant.revokedAt === undefined) {
        sim.revokeGrant(grant.id);
        sim.recordWrite('revoke', { grantId: grant.id }, grant.accountId);
      }
      return { status: 200, body: { revoked: true } };
    },
    { write: true },
  );

  sim.route('GET', '/2/users/me', 'me', (req) => {
    const headers = rateHeaders(ME_LIMIT, ME_LIMIT - me.hits.length, (me.hits[0] ?? clock.now()) + ME_WINDOW_MS);
    const auth = sim.check(req.token);
    // Expired, revoked and unknown tokens all get the same 401.
    if (!auth.ok || !auth.account || !auth.grant) return { ...problem(401, 'Unauthorized'), headers };
    if (!auth.grant.scopes.includes('users.read')) return { ...problem(403, 'Forbidden'), headers };
    if (sim.knobs.usageCapped) {
      return {
        status: 429,
        body: {
          title: 'UsageCapExceeded',
          type: 'https://api.x.com/2/problems/usage-capped',
          period: 'Monthly',
          scope: 'Product',
          detail: 'Usage cap exceeded: Monthly product cap',
          status: 429,
        },
      };
    }
    const a = auth.account;
    const fields = new Set((req.query.get('user.fields') ?? '').split(','));
    const count = (key: string) => Number(a.extra?.[key] ?? 0);
    return {
      status: 200,
      headers,
      body: {
        data: {
          id: a.id,
          name: a.name,
          username: a.handle,
          ...(fields.has('profile_image_url')
            ? { profile_image_url: `https://pbs.twimg.com/profile_images/${a.id}/avatar_normal.jpg` }
            : {}),
          ...(fields.has('public_metrics')
            ? {
                public_metrics: {
                  followers_count: count('followers'),
                  following_count: count('following'),
                  tweet_count: count('tweets'),
                  listed_count: count('listed'),
                  like_count: count('likes'),
                },
              }
            : {}),
        },
      },
    };
  });

  const seed = () => {
    sim.knobs.familyRevocation = 0;
    sim.knobs.usageCapped = 0;
    sim.addAccount({
      id: numericId(19),
      name: 'Switchboard Sim',
      handle: 'switchboardsim',
      extra: { followers: '1204', following: '311', tweets: '5230', listed: '12', likes: '894' },
    });
  };
  return { sim, seed };
}
