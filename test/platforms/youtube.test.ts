import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlatformError } from '../../platforms/errors.ts';
import { createYouTubeAdapter } from '../../platforms/youtube.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { admin, connectDirect, simAdapterConfig } from './contract.ts';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(async () => {
  await sim.close();
});

describe('YouTube adapter against its simulator', () => {
  it('connects with PKCE, keeps the stable refresh token, and revokes the grant upstream', async () => {
    const adapter = createYouTubeAdapter(simAdapterConfig(sim, 'youtube'));
    const { tokens } = await connectDirect(adapter);
    expect(tokens.refreshToken).toMatch(/^1\/\//);
    expect(tokens.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    const profile = await adapter.profile(tokens);
    expect(profile.externalId).toMatch(/^UC/);

    const refreshed = await adapter.refresh(tokens);
    expect(refreshed.refreshToken).toBe(tokens.refreshToken);
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);

    await expect(adapter.revoke(refreshed)).resolves.toMatchObject({ outcome: 'revoked' });
    const writes = await admin<unknown[]>(sim, 'GET', '/youtube/writes?route=revoke');
    expect(writes).toHaveLength(1);
    await expect(adapter.refresh(refreshed)).rejects.toMatchObject({ kind: 'token_revoked', code: 'invalid_grant' });
  });

  it('refuses a wrong PKCE verifier', async () => {
    const adapter = createYouTubeAdapter(simAdapterConfig(sim, 'youtube'));
    const url = adapter.authorizeUrl({ state: 's', redirectUri: 'http://cb', codeChallenge: 'A'.repeat(43) });
    const res = await fetch(url, { redirect: 'manual' });
    const code = new URL(res.headers.get('location')!).searchParams.get('code')!;
    const err = await adapter.exchangeCode({ code, redirectUri: 'http://cb', codeVerifier: 'wrong' }).catch((e) => e);
    expect(err).toBeInstanceOf(PlatformError);
    expect(err).toMatchObject({ kind: 'token_revoked', code: 'invalid_grant' });
  });

  it('classifies quota exhaustion with a wait until Pacific midnight', async () => {
    const adapter = createYouTubeAdapter(simAdapterConfig(sim, 'youtube'));
    const { tokens } = await connectDirect(adapter);
    await admin(sim, 'PATCH', '/youtube/knobs', { dailyUnits: 0 });
    const err = (await adapter.profile(tokens).catch((e) => e)) as PlatformError;
    expect(err.kind).toBe('rate_limited');
    expect(err.code).toBe('quotaExceeded');
    expect(err.retryAfterMs).toBeGreaterThan(0);
    expect(err.retryAfterMs).toBeLessThanOrEqual(86_400_000);
    await admin(sim, 'PATCH', '/youtube/knobs', { dailyUnits: 10_000 });
  });
});
