import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlatformError } from '../../platforms/errors.ts';
import { createInstagramAdapter } from '../../platforms/instagram.ts';
import type { SimAccount, SimToken } from '../../simulators/core.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { admin, connectDirect, REDIRECT_URI, simAdapterConfig } from './contract.ts';

let sim: Simulator;
let account: SimAccount;
beforeAll(async () => {
  sim = await startSimulator();
  [account] = (await admin<SimAccount[]>(sim, 'GET', '/instagram/accounts')) as [SimAccount];
});
afterAll(async () => {
  await sim.close();
});

const adapter = () => createInstagramAdapter(simAdapterConfig(sim, 'instagram'));
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as PlatformError,
  );
const DAY_MS = 86_400_000;

describe('Instagram adapter against its simulator', () => {
  it('connects with Instagram Login, keeps the 60-day token, and stores both ids', async () => {
    const ig = adapter();
    const { tokens } = await connectDirect(ig);
    expect(tokens.accessToken).toMatch(/^IGAA/);
    expect(tokens.refreshToken).toBeUndefined();
    expect(tokens.expiresAt!.getTime() - Date.now()).toBeGreaterThan(59 * DAY_MS);
    expect(tokens.scopes).toEqual(ig.scopes);
    const profile = await ig.profile(tokens);
    expect(profile).toMatchObject({
      externalId: account.id,
      handle: 'simulated.studio',
      ids: { appScopedId: account.extra?.appScopedId },
    });
    expect(profile.ids?.appScopedId).not.toBe(profile.externalId);
  });

  it('takes the flat token response and a code still carrying the "#_" suffix', async () => {
    const ig = adapter();
    await admin(sim, 'PATCH', '/instagram/knobs', { flatTokenResponse: 1 });
    const res = await fetch(ig.authorizeUrl({ state: 's', redirectUri: REDIRECT_URI }), { redirect: 'manual' });
    const location = res.headers.get('location')!;
    expect(location.endsWith('#_')).toBe(true);
    const rawCode = /[?&]code=([^&]+)/.exec(location)![1]!;
    const tokens = await ig.exchangeCode({ code: decodeURIComponent(rawCode), redirectUri: REDIRECT_URI });
    await admin(sim, 'PATCH', '/instagram/knobs', { flatTokenResponse: 0 });
    expect(tokens.scopes).toContain('instagram_business_basic');
    await expect(ig.profile(tokens)).resolves.toMatchObject({ externalId: account.id });
  });

  it('refuses to re-issue a token younger than 24 h, then re-issues a later-expiring one', async () => {
    const ig = adapter();
    expect(ig.refreshRule).toBe('reissue');
    const { tokens } = await connectDirect(ig);
    const early = await failure(ig.refresh(tokens));
    expect(early).toBeInstanceOf(PlatformError);
    expect(early).toMatchObject({ kind: 'permanent', code: '100' });

    await admin(sim, 'POST', '/clock', { advanceMs: 25 * 3600 * 1000 });
    const fresh = await ig.refresh(tokens);
    expect(fresh.accessToken).not.toBe(tokens.accessToken);
    expect(fresh.scopes).toEqual(tokens.scopes);
    expect(fresh.expiresAt!.getTime()).toBeGreaterThan(tokens.expiresAt!.getTime());
    // In the platform's clock the new token lives 25 h longer than the one it replaces.
    const simTokens = await admin<SimToken[]>(sim, 'GET', '/instagram/tokens');
    const expiry = (value: string) => simTokens.find((t) => t.value === value)!.expiresAt!;
    expect(expiry(fresh.accessToken) - expiry(tokens.accessToken)).toBeGreaterThanOrEqual(25 * 3600 * 1000);
    await expect(ig.profile(fresh)).resolves.toMatchObject({ externalId: account.id });
  });

  it('disconnects locally only: there is no revoke endpoint to call', async () => {
    const ig = adapter();
    const { tokens } = await connectDirect(ig);
    const before = (await admin<unknown[]>(sim, 'GET', '/instagram/calls')).length;
    await expect(ig.revoke(tokens)).resolves.toMatchObject({ outcome: 'local_only', reason: expect.any(String) });
    expect(await admin<unknown[]>(sim, 'GET', '/instagram/calls')).toHaveLength(before);
  });

  it('classifies Meta errors by code and subcode', async () => {
    const ig = adapter();
    const { tokens } = await connectDirect(ig);

    await admin(sim, 'POST', '/instagram/faults', { route: 'profile', kind: 'throttle', retryAfterS: 120 });
    expect(await failure(ig.profile(tokens))).toMatchObject({
      kind: 'rate_limited',
      code: '80002',
      retryAfterMs: 120_000,
    });

    await admin(sim, 'POST', '/instagram/faults', { route: 'profile', kind: 'http', status: 500 });
    expect(await failure(ig.profile(tokens))).toMatchObject({ kind: 'transient', code: '2', status: 500 });

    await expect(ig.profile({ accessToken: 'IGAAunknown', scopes: [] })).rejects.toMatchObject({
      kind: 'token_revoked',
      code: '190',
    });

    await admin(sim, 'POST', '/instagram/tokens/expire', {});
    expect(await failure(ig.profile(tokens))).toMatchObject({ kind: 'token_expired', code: '190/463' });
    expect(await failure(ig.refresh(tokens))).toMatchObject({ kind: 'token_expired', code: '190/463' });

    const { tokens: second } = await connectDirect(ig);
    await admin(sim, 'POST', '/instagram/grants/revoke', { reason: 'password_changed' });
    expect(await failure(ig.profile(second))).toMatchObject({ kind: 'token_revoked', code: '190/460' });
  });

  it('refuses a spent code with the flat api.instagram.com error', async () => {
    const ig = adapter();
    const res = await fetch(ig.authorizeUrl({ state: 's', redirectUri: REDIRECT_URI }), { redirect: 'manual' });
    const code = new URL(res.headers.get('location')!).searchParams.get('code')!;
    await ig.exchangeCode({ code, redirectUri: REDIRECT_URI });
    expect(await failure(ig.exchangeCode({ code, redirectUri: REDIRECT_URI }))).toMatchObject({
      kind: 'permanent',
      code: '400',
      status: 400,
    });
  });
});
