import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PlatformError } from '../../platforms/errors.ts';
import type { PlatformAdapter } from '../../platforms/types.ts';
import { createXAdapter } from '../../platforms/x.ts';
import type { SimAccount } from '../../simulators/core.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { admin, connectDirect, consent, REDIRECT_URI, simAdapterConfig } from './contract.ts';

let sim: Simulator;
let adapter: PlatformAdapter;
beforeAll(async () => {
  sim = await startSimulator();
  adapter = createXAdapter(simAdapterConfig(sim, 'x'));
});
afterAll(async () => {
  await sim.close();
});
beforeEach(async () => {
  await admin(sim, 'POST', '/reset');
});

const failure = (work: Promise<unknown>) =>
  work.then(
    () => undefined,
    (err: unknown) => err as PlatformError,
  );

describe('X adapter against its simulator', () => {
  it('connects with PKCE and reads the seeded user', async () => {
    const before = Date.now();
    const { tokens } = await connectDirect(adapter);
    expect(tokens.refreshToken).toMatch(/^xrt\./);
    expect(tokens.scopes).toEqual([
      'tweet.read',
      'users.read',
      'tweet.write',
      'media.write',
      'dm.read',
      'dm.write',
      'tweet.moderate.write',
      'offline.access',
    ]);
    expect(tokens.expiresAt!.getTime()).toBeGreaterThanOrEqual(before + 7_200_000);
    expect(tokens.expiresAt!.getTime()).toBeLessThanOrEqual(Date.now() + 7_200_000);

    const [account] = await admin<SimAccount[]>(sim, 'GET', '/x/accounts');
    const profile = await adapter.profile(tokens);
    expect(profile).toMatchObject({
      externalId: account!.id,
      handle: '@switchboardsim',
      displayName: 'Switchboard Sim',
    });
    expect(profile.externalId).toMatch(/^\d{19}$/);
  });

  it('asks for the inbox scopes, so a connected grant reads DMs', async () => {
    const { tokens } = await connectDirect(adapter);
    const { externalId } = await adapter.profile(tokens);
    await admin(sim, 'POST', '/x/content/seed', { accountId: externalId, dms: 3 });
    const dms = adapter.streams.find((s) => s.name === 'dms')!;
    const ctx = { now: new Date(), mediaIds: [], lookbackDays: 3, historyDays: 30 };
    const page = await dms.fetch(tokens, { externalId, ids: {} }, null, ctx);
    expect(page.messages).toHaveLength(3);
    expect(page.done).toBe(true);
  });

  it('rotates the refresh token and refuses the rotated-out one as token_revoked', async () => {
    const { tokens } = await connectDirect(adapter);
    const refreshed = await adapter.refresh(tokens);
    expect(refreshed.refreshToken).toBeDefined();
    expect(refreshed.refreshToken).not.toBe(tokens.refreshToken);
    await expect(adapter.profile(refreshed)).resolves.toMatchObject({ handle: '@switchboardsim' });

    await expect(adapter.refresh(tokens)).rejects.toMatchObject({ kind: 'token_revoked', code: 'invalid_request' });
    // Without family revocation the newest refresh token survives the replay.
    await expect(adapter.refresh(refreshed)).resolves.toMatchObject({ accessToken: expect.any(String) });
  });

  it('with family revocation, a replayed refresh token kills the whole grant', async () => {
    await admin(sim, 'PATCH', '/x/knobs', { familyRevocation: 1 });
    const { tokens } = await connectDirect(adapter);
    const refreshed = await adapter.refresh(tokens);
    await expect(adapter.refresh(tokens)).rejects.toMatchObject({ kind: 'token_revoked' });
    await expect(adapter.refresh(refreshed)).rejects.toMatchObject({ kind: 'token_revoked', code: 'invalid_request' });
  });

  it('revokes the grant upstream', async () => {
    const { tokens } = await connectDirect(adapter);
    await expect(adapter.revoke(tokens)).resolves.toEqual({ outcome: 'revoked', status: 200 });
    const writes = await admin<unknown[]>(sim, 'GET', '/x/writes?route=revoke');
    expect(writes).toHaveLength(1);
    // X answers a revoked access token with the same 401 as an expired one; only the refresh that
    // follows shows the grant is gone.
    await expect(adapter.profile(tokens)).rejects.toMatchObject({ kind: 'token_expired', status: 401 });
    await expect(adapter.refresh(tokens)).rejects.toMatchObject({ kind: 'token_revoked' });
  });

  it('classifies expired tokens and revoked grants', async () => {
    const { tokens } = await connectDirect(adapter);
    await admin(sim, 'POST', '/x/tokens/expire', {});
    await expect(adapter.profile(tokens)).rejects.toMatchObject({ kind: 'token_expired', code: 'Unauthorized' });
    const refreshed = await adapter.refresh(tokens);
    await expect(adapter.profile(refreshed)).resolves.toMatchObject({ handle: '@switchboardsim' });

    await admin(sim, 'POST', '/x/grants/revoke', {});
    await expect(adapter.profile(refreshed)).rejects.toMatchObject({ kind: 'token_expired', status: 401 });
    const err = await failure(adapter.refresh(refreshed));
    expect(err).toBeInstanceOf(PlatformError);
    expect(err).toMatchObject({ kind: 'token_revoked', status: 400, code: 'invalid_request' });
  });

  it('turns x-rate-limit-reset into a wait, from a throttle and from the users/me window', async () => {
    const { tokens } = await connectDirect(adapter);
    await admin(sim, 'POST', '/x/faults', { route: 'me', kind: 'throttle', retryAfterS: 90 });
    const throttled = await failure(adapter.profile(tokens));
    expect(throttled).toMatchObject({ kind: 'rate_limited', status: 429, code: 'Too Many Requests' });
    expect(throttled!.retryAfterMs).toBeGreaterThanOrEqual(89_000);
    expect(throttled!.retryAfterMs).toBeLessThanOrEqual(91_000);

    for (let i = 0; i < 75; i++) await adapter.profile(tokens);
    const windowFull = await failure(adapter.profile(tokens));
    expect(windowFull).toMatchObject({ kind: 'rate_limited', status: 429 });
    expect(windowFull!.retryAfterMs).toBeGreaterThan(880_000);
    expect(windowFull!.retryAfterMs).toBeLessThanOrEqual(901_000);
  });

  it('classifies the usage cap as rate limited with no known wait', async () => {
    const { tokens } = await connectDirect(adapter);
    await admin(sim, 'PATCH', '/x/knobs', { usageCapped: 1 });
    const err = await failure(adapter.profile(tokens));
    expect(err).toMatchObject({ kind: 'rate_limited', code: 'UsageCapExceeded', retryAfterMs: undefined });
  });

  it('classifies a 503 as transient', async () => {
    const { tokens } = await connectDirect(adapter);
    await admin(sim, 'POST', '/x/faults', { route: 'me', kind: 'http', status: 503 });
    await expect(adapter.profile(tokens)).rejects.toMatchObject({ kind: 'transient', status: 503 });
  });

  it('insists on PKCE and refuses a wrong verifier', async () => {
    await expect(consent(adapter.authorizeUrl({ state: 's', redirectUri: REDIRECT_URI }))).rejects.toThrow(/400/);

    const query = await consent(
      adapter.authorizeUrl({ state: 's', redirectUri: REDIRECT_URI, codeChallenge: 'A'.repeat(43) }),
    );
    const err = await failure(
      adapter.exchangeCode({ code: query.get('code')!, redirectUri: REDIRECT_URI, codeVerifier: 'wrong' }),
    );
    expect(err).toBeInstanceOf(PlatformError);
    // X's answer: 400 invalid_request "Value passed for the code verifier did not match the code challenge."
    expect(err).toMatchObject({ kind: 'token_revoked', status: 400, code: 'invalid_request' });
    expect(err!.message).toContain('code verifier did not match');
  });
});
