import { randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { type Clock, type Grant, PlatformSim, type SimReply, type SimToken } from '../core.ts';

// LinkedIn: OAuth 2 without PKCE (www.linkedin.com/oauth/v2/*), programmatic refresh tokens that are
// kept and whose one-year lifetime is not extended by a refresh, OIDC userinfo on api.linkedin.com,
// and daily limits that reset at 00:00 UTC and are signalled by a bare 429.

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const memberId = () => Array.from(randomBytes(10), (b) => ALNUM[b % ALNUM.length]).join('');

const serviceError = (status: number, serviceErrorCode: number, code: string, message: string): SimReply => ({
  status,
  body: { status, serviceErrorCode, code, message },
});

const TOKEN_ERRORS = {
  expired: () => serviceError(401, 65602, 'EXPIRED_ACCESS_TOKEN', 'The token used in the request has expired'),
  revoked: () =>
    serviceError(401, 65601, 'REVOKED_ACCESS_TOKEN', 'The token used in the request has been revoked by the user'),
  invalid: () => serviceError(401, 65600, 'INVALID_ACCESS_TOKEN', 'Invalid access token'),
};

const badClient = (): SimReply => ({
  status: 401,
  body: { error: 'invalid_client', error_description: 'Client authentication failed' },
});

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function createLinkedInSim(clock: Clock) {
  const sim = new PlatformSim(clock, {
    id: 'linkedin',
    clientId: 'sim-linkedin-client',
    clientSecret: 'sim-linkedin-secret',
    policy: {
      accessTtlS: 5_184_000,
      refreshTtlS: 31_536_000,
      rotate: false,
      refreshExtends: false,
      minRefreshAgeS: 0,
      codeTtlS: 1800,
    },
    tokenPrefix: { access: 'AQV', refresh: 'AQX' },
    // No Retry-After and no rate-limit headers: LinkedIn sends neither.
    throttle: () => ({
      status: 429,
      body: { status: 429, message: 'Resource level throttle limit for calls to this resource is reached.' },
    }),
    serverError: (_sim, status) => ({ status, body: { message: STATUS_CODES[status] ?? 'Server Error', status } }),
  });
  /** Calls per UTC day; the admin API lowers dailyCalls to reach the limit. */
  const ledger = new Map<string, number>();

  function overDailyLimit(): boolean {
    const day = utcDay(clock.now());
    const used = ledger.get(day) ?? 0;
    if (used >= (sim.knobs.dailyCalls ?? Number.POSITIVE_INFINITY)) return true;
    ledger.set(day, used + 1);
    return false;
  }

  function tokenReply(grant: Grant, refresh: SimToken): SimReply {
    const access = sim.issue(grant, 'access', sim.policy.accessTtlS);
    return {
      status: 200,
      body: {
        access_token: access.value,
        expires_in: sim.policy.accessTtlS,
        refresh_token: refresh.value,
        // What is left of the refresh token's life, counted from the original consent.
        refresh_token_expires_in:
          refresh.expiresAt === null ? undefined : Math.floor((refresh.expiresAt - clock.now()) / 1000),
        // LinkedIn grants scopes comma-separated and sorted.
        scope: [...grant.scopes].sort().join(','),
        token_type: 'Bearer',
      },
    };
  }

  sim.route('GET', '/oauth/v2/authorization', 'authorize', (req) => {
    const q = req.query;
    if (q.get('response_type') !== 'code') return { status: 400, body: { error: 'unsupported_response_type' } };
    return sim.authorize({
      clientId: q.get('client_id'),
      redirectUri: q.get('redirect_uri'),
      scopes: (q.get('scope') ?? '').split(/[ ,]/).filter(Boolean),
      state: q.get('state'),
    });
  });

  sim.route('POST', '/oauth/v2/accessToken', 'token', (req) => {
    const f = req.form;
    if (!sim.checkClient(f.get('client_id'), f.get('client_secret'))) return badClient();
    if (f.get('grant_type') === 'authorization_code') {
      const redeemed = sim.redeemCode(f.get('code'), {
        clientId: f.get('client_id'),
        redirectUri: f.get('redirect_uri'),
      });
      if ('error' in redeemed) {
        return {
          status: 400,
          body: {
            error: 'invalid_request',
            error_description:
              'Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code. Or authorization code expired. Or external member binding exists',
          },
        };
      }
      return tokenReply(redeemed.grant, sim.issue(redeemed.grant, 'refresh', sim.policy.refreshTtlS));
    }
    if (f.get('grant_type') === 'refresh_token') {
      const auth = sim.check(f.get('refresh_token') ?? undefined, 'refresh');
      if (!auth.ok || !auth.grant || !auth.token) {
        return {
          status: 400,
          body: {
            error: 'invalid_grant',
            error_description: 'The provided authorization grant or refresh token is invalid, expired or revoked.',
          },
        };
      }
      const refresh = auth.token;
      if (sim.policy.refreshExtends && sim.policy.refreshTtlS !== null) {
        refresh.expiresAt = clock.now() + sim.policy.refreshTtlS * 1000;
      }
      return tokenReply(auth.grant, refresh);
    }
    return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' } };
  });

  sim.route(
    'POST',
    '/oauth/v2/revoke',
    'revoke',
    (req) => {
      const f = req.form;
      if (!sim.checkClient(f.get('client_id'), f.get('client_secret'))) return badClient();
      const value = f.get('token');
      const token = value ? sim.tokens.get(value) : undefined;
      const grant = token ? sim.grants.get(token.grantId) : undefined;
      // A token that is unknown or already dead is answered like a revoked one (RFC 7009).
      if (grant && grant.revokedAt === undefined) {
        sim.revokeGrant(grant.id);
        sim.recordWrite('revoke', { grantId: grant.id }, grant.accountId);
      }
      return { status: 200 };
    },
    { write: true },
  );

  sim.route('GET', '/v2/userinfo', 'userinfo', (req) => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account || !auth.grant) {
      return auth.problem === 'expired' || auth.problem === 'revoked'
        ? TOKEN_ERRORS[auth.problem]()
        : TOKEN_ERRORS.invalid();
    }
    if (!auth.grant.scopes.includes('openid')) {
      return serviceError(403, 100, 'ACCESS_DENIED', 'Not enough permissions to access: userinfo.GET.NO_VERSION');
    }
    if (overDailyLimit()) return sim.opts.throttle(sim, 0, 'userinfo');
    const a = auth.account;
    const scopes = auth.grant.scopes;
    const [given = a.name, ...family] = a.name.split(' ');
    return {
      status: 200,
      body: {
        sub: a.id,
        ...(scopes.includes('profile')
          ? {
              name: a.name,
              given_name: given,
              family_name: family.join(' '),
              picture: `https://media.licdn.com/dms/image/v2/${a.id}/profile-displayphoto-shrink_100_100/0/`,
              locale: { country: 'US', language: 'en' },
            }
          : {}),
        ...(scopes.includes('email') ? { email: a.email, email_verified: a.emailVerified ?? false } : {}),
      },
    };
  });

  const seed = () => {
    ledger.clear();
    sim.knobs.dailyCalls = 100_000;
    sim.addAccount({
      id: memberId(),
      name: 'Switchboard Sim',
      email: 'switchboard.sim@example.com',
      emailVerified: true,
    });
  };
  return { sim, seed };
}
