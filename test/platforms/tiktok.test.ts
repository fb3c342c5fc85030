import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PlatformError } from '../../platforms/errors.ts';
import { createTikTokAdapter } from '../../platforms/tiktok.ts';
import type { PlatformAdapter } from '../../platforms/types.ts';
import type { SimAccount } from '../../simulators/core.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { admin, connectDirect, consent, REDIRECT_URI, simAdapterConfig } from './contract.ts';

let sim: Simulator;
let adapter: PlatformAdapter;
beforeAll(async () => {
  sim = await startSimulator();
  adapter = createTikTokAdapter(simAdapterConfig(sim, 'tiktok'));
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

describe('TikTok adapter against its simulator', () => {
  it('connects with PKCE and reads the seeded user', async () => {
    const before = Date.now();
    const { tokens } = await connectDirect(adapter);
    expect(tokens.refreshToken).toMatch(/^rft\./);
    expect(tokens.scopes).toEqual([
      'user.info.basic',
      'user.info.profile',
      'user.info.stats',
      'video.list',
      'video.publish',
    ]);
    expect(tokens.expiresAt!.getTime()).toBeGreaterThanOrEqual(before + 7_199_000);
    expect(tokens.expiresAt!.getTime()).toBeLessThanOrEqual(Date.now() + 7_200_000);
    expect(tokens.refreshExpiresAt!.getTime()).toBeGreaterThanOrEqual(before + 15_551_999_000);

    const [account] = await admin<SimAccount[]>(sim, 'GET', '/tiktok/accounts');
    const profile = await adapter.profile(tokens);
    expect(profile).toEqual({
      externalId: account!.id,
      displayName: 'Switchboard Sim',
      handle: '@switchboard.sim',
      ids: { unionId: account!.extra!.unionId },
    });
    expect(profile.externalId).toMatch(/^-000/);
  });

  it('rotates the refresh token and refuses the rotated-out one as token_revoked', async () => {
    const { tokens } = await connectDirect(adapter);
    const refreshed = await adapter.refresh(tokens);
    expect(refreshed.refreshToken).toMatch(/^rft\./);
    expect(refreshed.refreshToken).not.toBe(tokens.refreshToken);
    await expect(adapter.profile(refreshed)).resolves.toMatchObject({ handle: '@switchboard.sim' });

    // TikTok answers this with HTTP 200 and an `error` body; the classifier goes by the body.
    const err = await failure(adapter.refresh(tokens));
    expect(err).toBeInstanceOf(PlatformError);
    expect(err).toMatchObject({ kind: 'token_revoked', code: 'invalid_grant' });
    expect(err!.message).toContain('Refresh token is invalid or expired.');
  });

  it('revokes the grant upstream', async () => {
    const { tokens } = await connectDirect(adapter);
    await expect(adapter.revoke(tokens)).resolves.toEqual({ outcome: 'revoked', status: 200 });
    const writes = await admin<unknown[]>(sim, 'GET', '/tiktok/writes?route=revoke');
    expect(writes).toHaveLength(1);
    // TikTok answers a revoked access token with access_token_invalid, as for an expired one; the
    // refresh that follows is what shows the grant is gone.
    await expect(adapter.profile(tokens)).rejects.toMatchObject({
      kind: 'token_expired',
      code: 'access_token_invalid',
    });
    await expect(adapter.refresh(tokens)).rejects.toMatchObject({ kind: 'token_revoked', code: 'invalid_grant' });
  });

  it('classifies expired tokens and revoked grants', async () => {
    const { tokens } = await connectDirect(adapter);
    await admin(sim, 'POST', '/tiktok/tokens/expire', {});
    await expect(adapter.profile(tokens)).rejects.toMatchObject({
      kind: 'token_expired',
      status: 401,
      code: 'access_token_invalid',
    });
    const refreshed = await adapter.refresh(tokens);
    await expect(adapter.profile(refreshed)).resolves.toMatchObject({ handle: '@switchboard.sim' });

    await admin(sim, 'POST', '/tiktok/grants/revoke', {});
    await expect(adapter.profile(refreshed)).rejects.toMatchObject({ kind: 'token_expired' });
    await expect(adapter.refresh(refreshed)).rejects.toMatchObject({ kind: 'token_revoked', code: 'invalid_grant' });
  });

  it('classifies throttling without a known wait, and a 503 as transient', async () => {
    const { tokens } = await connectDirect(adapter);
    await admin(sim, 'POST', '/tiktok/faults', { route: 'user_info', kind: 'throttle', retryAfterS: 90 });
    const throttled = await failure(adapter.profile(tokens));
    expect(throttled).toBeInstanceOf(PlatformError);
    expect(throttled).toMatchObject({ kind: 'rate_limited', status: 429, code: 'rate_limit_exceeded' });
    expect(throttled!.retryAfterMs).toBeUndefined();

    await admin(sim, 'POST', '/tiktok/faults', { route: 'user_info', kind: 'http', status: 503 });
    await expect(adapter.profile(tokens)).rejects.toMatchObject({
      kind: 'transient',
      status: 503,
      code: 'internal_error',
    });
  });

  it('classifies a scope the user did not grant as permanent', async () => {
    await admin(sim, 'POST', '/tiktok/consent', { scopes: ['user.info.basic', 'video.list'] });
    const { tokens } = await connectDirect(adapter);
    expect(tokens.scopes).toEqual(['user.info.basic', 'video.list']);
    await expect(adapter.profile(tokens)).rejects.toMatchObject({ kind: 'permanent', code: 'scope_not_authorized' });
  });

  it('refuses a wrong PKCE verifier', async () => {
    const query = await consent(
      adapter.authorizeUrl({ state: 's', redirectUri: REDIRECT_URI, codeChallenge: 'A'.repeat(43) }),
    );
    const err = await failure(
      adapter.exchangeCode({ code: query.get('code')!, redirectUri: REDIRECT_URI, codeVerifier: 'wrong' }),
    );
    expect(err).toMatchObject({ kind: 'token_revoked', code: 'invalid_grant' });
  });
});
