import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlatformError } from '../../platforms/errors.ts';
import { createThreadsAdapter } from '../../platforms/threads.ts';
import type { SimAccount, SimToken } from '../../simulators/core.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { admin, connectDirect, REDIRECT_URI, simAdapterConfig } from './contract.ts';

let sim: Simulator;
let account: SimAccount;
beforeAll(async () => {
  sim = await startSimulator();
  [account] = (await admin<SimAccount[]>(sim, 'GET', '/threads/accounts')) as [SimAccount];
});
afterAll(async () => {
  await sim.close();
});

const adapter = () => createThreadsAdapter(simAdapterConfig(sim, 'threads'));
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as PlatformError,
  );
const DAY_MS = 86_400_000;

describe('Threads adapter against its simulator', () => {
  it('connects, keeps the 60-day token, and reads the profile', async () => {
    const th = adapter();
    const { tokens } = await connectDirect(th);
    expect(tokens.accessToken).toMatch(/^THAA/);
    expect(tokens.refreshToken).toBeUndefined();
    expect(tokens.expiresAt!.getTime() - Date.now()).toBeGreaterThan(59 * DAY_MS);
    await expect(th.profile(tokens)).resolves.toEqual({
      externalId: account.id,
      displayName: 'Simulated Studio',
      handle: 'simulated.studio',
    });
  });

  it('strips the "#_" Threads appends to the redirect', async () => {
    const th = adapter();
    const res = await fetch(th.authorizeUrl({ state: 's', redirectUri: REDIRECT_URI }), { redirect: 'manual' });
    const location = res.headers.get('location')!;
    expect(location.endsWith('#_')).toBe(true);
    const rawCode = decodeURIComponent(/[?&]code=([^&]+)/.exec(location)![1]!);
    const tokens = await th.exchangeCode({ code: rawCode, redirectUri: REDIRECT_URI });
    await expect(th.profile(tokens)).resolves.toMatchObject({ externalId: account.id });
  });

  it('refuses to re-issue a token younger than 24 h, then re-issues a later-expiring one', async () => {
    const th = adapter();
    expect(th.refreshRule).toBe('reissue');
    const { tokens } = await connectDirect(th);
    const early = await failure(th.refresh(tokens));
    expect(early).toBeInstanceOf(PlatformError);
    expect(early).toMatchObject({ kind: 'permanent', code: '100' });

    await admin(sim, 'POST', '/clock', { advanceMs: 25 * 3600 * 1000 });
    const fresh = await th.refresh(tokens);
    expect(fresh.accessToken).not.toBe(tokens.accessToken);
    expect(fresh.expiresAt!.getTime()).toBeGreaterThan(tokens.expiresAt!.getTime());
    // In the platform's clock the new token lives 25 h longer than the one it replaces.
    const simTokens = await admin<SimToken[]>(sim, 'GET', '/threads/tokens');
    const expiry = (value: string) => simTokens.find((t) => t.value === value)!.expiresAt!;
    expect(expiry(fresh.accessToken) - expiry(tokens.accessToken)).toBeGreaterThanOrEqual(25 * 3600 * 1000);
    await expect(th.profile(fresh)).resolves.toMatchObject({ externalId: account.id });
  });

  it('disconnects locally only: there is no revoke endpoint to call', async () => {
    const th = adapter();
    const { tokens } = await connectDirect(th);
    const before = (await admin<unknown[]>(sim, 'GET', '/threads/calls')).length;
    await expect(th.revoke(tokens)).resolves.toMatchObject({ outcome: 'local_only', reason: expect.any(String) });
    expect(await admin<unknown[]>(sim, 'GET', '/threads/calls')).toHaveLength(before);
  });

  it('classifies Meta errors by code and subcode', async () => {
    const th = adapter();
    const { tokens } = await connectDirect(th);

    await admin(sim, 'POST', '/threads/faults', { route: 'profile', kind: 'throttle', retryAfterS: 120 });
    expect(await failure(th.profile(tokens))).toMatchObject({ kind: 'rate_limited', code: '4', retryAfterMs: 120_000 });

    await admin(sim, 'POST', '/threads/faults', { route: 'profile', kind: 'http', status: 500 });
    expect(await failure(th.profile(tokens))).toMatchObject({ kind: 'transient', code: '2', status: 500 });

    await admin(sim, 'POST', '/threads/tokens/expire', {});
    expect(await failure(th.profile(tokens))).toMatchObject({ kind: 'token_expired', code: '190/463' });

    const { tokens: second } = await connectDirect(th);
    await admin(sim, 'POST', '/threads/grants/revoke', { reason: 'password_changed' });
    expect(await failure(th.profile(second))).toMatchObject({ kind: 'token_revoked', code: '190/460' });
    expect(await failure(th.refresh(second))).toMatchObject({ kind: 'token_revoked', code: '190/460' });
  });
});
