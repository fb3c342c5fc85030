import { createSign, generateKeyPairSync } from 'node:crypto';
import { type Clock, numericId, PlatformSim, type SimReply, type SimRequest } from '../core.ts';

// Google: OAuth 2 with PKCE and OIDC (accounts.google.com, oauth2.googleapis.com), and for the
// `youtube` instance the Data API v3 with its daily unit ledger. Two instances share this code:
// `google` (Switchboard sign-in) and `youtube` (channel connections).

const ISSUER = 'https://accounts.google.com';
/** Units each route costs against the daily quota (classic cost model). */
const UNIT_COST: Record<string, number> = { channels: 1 };

function googleError(status: number, reason: string, message: string, statusText: string): SimReply {
  return {
    status,
    body: { error: { code: status, message, errors: [{ message, domain: 'global', reason }], status: statusText } },
  };
}

const unauthenticated = () =>
  googleError(
    401,
    'authError',
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
    'UNAUTHENTICATED',
  );

const deadGrant = (): SimReply => ({
  status: 400,
  body: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' },
});

/** The Pacific-time calendar day, which YouTube's quota follows. */
const pacificDay = (ms: number) => new Date(ms).toLocaleDateString('en-CA', { timeZone: 'America/Los_Angeles' });

export function createGoogleSim(clock: Clock, id: 'google' | 'youtube') {
  const sim = new PlatformSim(clock, {
    id,
    clientId: `sim-${id}-client`,
    clientSecret: `sim-${id}-secret`,
    policy: {
      accessTtlS: 3599,
      refreshTtlS: null,
      rotate: false,
      refreshExtends: true,
      minRefreshAgeS: 0,
      codeTtlS: 600,
    },
    tokenPrefix: { access: 'ya29.', refresh: '1//' },
    throttle: (_sim, retryAfterS) => ({
      ...googleError(
        403,
        'rateLimitExceeded',
        'The request cannot be completed because you have exceeded your quota.',
        'PERMISSION_DENIED',
      ),
      headers: { 'retry-after': String(retryAfterS) },
    }),
    serverError: (_sim, status) => googleError(status, 'backendError', 'Backend Error', 'UNAVAILABLE'),
  });
  sim.knobs.dailyUnits = 10_000;
  const ledger = new Map<string, number>();
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `sim-${id}-key-1`;

  function idToken(accountId: string, nonce: string | undefined): string {
    const account = sim.accounts.get(accountId);
    const now = Math.floor(clock.now() / 1000);
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const head = enc({ alg: 'RS256', kid, typ: 'JWT' });
    const claims = enc({
      iss: ISSUER,
      azp: sim.opts.clientId,
      aud: sim.opts.clientId,
      sub: accountId,
      email: account?.email,
      email_verified: account?.emailVerified ?? false,
      name: account?.name,
      nonce,
      iat: now,
      exp: now + 3600,
    });
    const signature = createSign('RSA-SHA256').update(`${head}.${claims}`).sign(privateKey).toString('base64url');
    return `${head}.${claims}.${signature}`;
  }

  /** Charges the daily ledger; answers quotaExceeded when the day's units are spent. */
  function charge(route: string): SimReply | undefined {
    const day = pacificDay(clock.now());
    const used = ledger.get(day) ?? 0;
    const cost = UNIT_COST[route] ?? 1;
    if (used + cost > (sim.knobs.dailyUnits ?? Number.POSITIVE_INFINITY)) {
      return googleError(
        403,
        'quotaExceeded',
        'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>.',
        'PERMISSION_DENIED',
      );
    }
    ledger.set(day, used + cost);
    return undefined;
  }

  sim.route('GET', '/o/oauth2/v2/auth', 'authorize', (req) =>
    req.query.get('response_type') !== 'code'
      ? { status: 400, body: { error: 'unsupported_response_type' } }
      : sim.authorize({
          clientId: req.query.get('client_id'),
          redirectUri: req.query.get('redirect_uri'),
          scopes: (req.query.get('scope') ?? '').split(' ').filter(Boolean),
          state: req.query.get('state'),
          challenge: req.query.get('code_challenge'),
          challengeMethod: req.query.get('code_challenge_method'),
          nonce: req.query.get('nonce'),
        }),
  );

  sim.route('POST', '/token', 'token', (req: SimRequest): SimReply => {
    const f = req.form;
    if (!sim.checkClient(f.get('client_id'), f.get('client_secret'))) {
      return { status: 401, body: { error: 'invalid_client', error_description: 'The OAuth client was not found.' } };
    }
    if (f.get('grant_type') === 'authorization_code') {
      const redeemed = sim.redeemCode(f.get('code'), {
        clientId: f.get('client_id'),
        redirectUri: f.get('redirect_uri'),
        verifier: f.get('code_verifier'),
      });
      if ('error' in redeemed)
        return { status: 400, body: { error: redeemed.error, error_description: redeemed.description } };
      const { grant } = redeemed;
      const access = sim.issue(grant, 'access', sim.policy.accessTtlS);
      // A repeat consent may come back without a refresh token (knob issueRefreshToken = 0).
      const refresh =
        sim.knobs.issueRefreshToken === 0 ? undefined : sim.issue(grant, 'refresh', sim.policy.refreshTtlS);
      return {
        status: 200,
        body: {
          access_token: access.value,
          expires_in: sim.policy.accessTtlS,
          ...(refresh ? { refresh_token: refresh.value } : {}),
          scope: grant.scopes.join(' '),
          token_type: 'Bearer',
          ...(grant.scopes.includes('openid') ? { id_token: idToken(grant.accountId, redeemed.nonce) } : {}),
        },
      };
    }
    if (f.get('grant_type') === 'refresh_token') {
      const auth = sim.check(f.get('refresh_token') ?? undefined, 'refresh');
      if (!auth.ok || !auth.grant) return deadGrant();
      const access = sim.issue(auth.grant, 'access', sim.policy.accessTtlS);
      // Google keeps the refresh token: the response carries none.
      return {
        status: 200,
        body: {
          access_token: access.value,
          expires_in: sim.policy.accessTtlS,
          scope: auth.grant.scopes.join(' '),
          token_type: 'Bearer',
        },
      };
    }
    return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' } };
  });

  sim.route(
    'POST',
    '/revoke',
    'revoke',
    (req) => {
      const value = req.form.get('token') ?? req.query.get('token') ?? undefined;
      const access = sim.check(value, 'access');
      const auth = access.token ? access : sim.check(value, 'refresh');
      if (!auth.ok || !auth.grant)
        return { status: 400, body: { error: 'invalid_token', error_description: 'Token expired or revoked' } };
      sim.revokeGrant(auth.grant.id);
      sim.recordWrite('revoke', { grantId: auth.grant.id }, auth.grant.accountId);
      return { status: 200, body: {} };
    },
    { write: true },
  );

  sim.route('GET', '/.well-known/openid-configuration', 'discovery', (req) => {
    const base = `http://${req.headers.host}/${id}`;
    return {
      status: 200,
      body: {
        issuer: ISSUER,
        authorization_endpoint: `${base}/o/oauth2/v2/auth`,
        token_endpoint: `${base}/token`,
        userinfo_endpoint: `${base}/v1/userinfo`,
        revocation_endpoint: `${base}/revoke`,
        jwks_uri: `${base}/oauth2/v3/certs`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['plain', 'S256'],
        id_token_signing_alg_values_supported: ['RS256'],
      },
    };
  });

  sim.route('GET', '/oauth2/v3/certs', 'jwks', () => ({
    status: 200,
    body: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] },
  }));

  sim.route('GET', '/v1/userinfo', 'userinfo', (req) => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account) return unauthenticated();
    const a = auth.account;
    return { status: 200, body: { sub: a.id, email: a.email, email_verified: a.emailVerified ?? false, name: a.name } };
  });

  sim.route('GET', '/youtube/v3/channels', 'channels', (req) => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account) return unauthenticated();
    const overQuota = charge('channels');
    if (overQuota) return overQuota;
    const a = auth.account;
    const items =
      req.query.get('mine') === 'true' && a.extra?.channelId
        ? [
            {
              kind: 'youtube#channel',
              id: a.extra.channelId,
              snippet: { title: a.name, customUrl: a.handle },
              contentDetails: { relatedPlaylists: { uploads: `UU${a.extra.channelId.slice(2)}` } },
            },
          ]
        : [];
    return {
      status: 200,
      body: { kind: 'youtube#channelListResponse', pageInfo: { totalResults: items.length, resultsPerPage: 5 }, items },
    };
  });

  const seed = () => {
    ledger.clear();
    sim.knobs.dailyUnits = 10_000;
    sim.knobs.issueRefreshToken = 1;
    sim.addAccount({
      id: numericId(21),
      name: id === 'youtube' ? 'Simulated Channel' : 'Sim User',
      handle: id === 'youtube' ? '@simulatedchannel' : undefined,
      email: `${id}.user@example.com`,
      emailVerified: true,
      extra: id === 'youtube' ? { channelId: `UC${numericId(22)}` } : undefined,
    });
  };
  return { sim, seed };
}
