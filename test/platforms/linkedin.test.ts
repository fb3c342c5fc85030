import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PlatformError } from '../../platforms/errors.ts';
import { createLinkedInAdapter } from '../../platforms/linkedin.ts';
import type { PlatformAdapter } from '../../platforms/types.ts';
import type { SimAccount } from '../../simulators/core.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { admin, connectDirect, simAdapterConfig } from './contract.ts';

const DAY_MS = 86_400_000;

let sim: Simulator;
let adapter: PlatformAdapter;
beforeAll(async () => {
  sim = await startSimulator();
  adapter = createLinkedInAdapter(simAdapterConfig(sim, 'linkedin'));
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

describe('LinkedIn adapter against its simulator', () => {
  it('connects without PKCE and reads the seeded member', async () => {
    const before = Date.now();
    const { tokens } = await connectDirect(adapter);
    expect(tokens.refreshToken).toMatch(/^AQX/);
    // Granted comma-separated and sorted.
    expect(tokens.scopes).toEqual([
      'email',
      'openid',
      'profile',
      'r_organization_social',
      'rw_organization_admin',
      'w_member_social',
      'w_organization_social',
    ]);
    expect(tokens.expiresAt!.getTime()).toBeGreaterThanOrEqual(before + 60 * DAY_MS);
    expect(tokens.expiresAt!.getTime()).toBeLessThanOrEqual(Date.now() + 60 * DAY_MS);
    expect(tokens.refreshExpiresAt!.getTime()).toBeGreaterThanOrEqual(before + 365 * DAY_MS - 1000);

    const [account] = await admin<SimAccount[]>(sim, 'GET', '/linkedin/accounts');
    expect(account!.id).toMatch(/^[A-Za-z0-9]{10}$/);
    await expect(adapter.profile(tokens)).resolves.toEqual({
      externalId: `urn:li:person:${account!.id}`,
      displayName: 'Switchboard Sim',
      ids: { organization: `urn:li:organization:${account!.extra!.organizationId}` },
    });
  });

  it('connects the page the member administers, which the page streams then read', async () => {
    const { tokens } = await connectDirect(adapter);
    const profile = await adapter.profile(tokens);
    const [call] = await admin<{ path: string; status: number }[]>(
      sim,
      'GET',
      '/linkedin/calls?route=organization_acls',
    );
    expect(call).toMatchObject({ method: 'GET', path: '/rest/organizationAcls', status: 200 });
    const organization = profile.ids?.organization;
    expect(organization).toMatch(/^urn:li:organization:\d+$/);

    const account = { externalId: profile.externalId, ids: profile.ids ?? {} };
    const totals = adapter.streams.find((s) => s.name === 'account_totals')!;
    const page = await totals.fetch(tokens, account, null, {
      now: new Date(),
      mediaIds: [],
      lookbackDays: 3,
      historyDays: 30,
    });
    expect(page.metrics).toEqual([{ objectKind: 'account', objectId: '', metric: 'followers', value: 2400 }]);
  });

  it('a member without a page, or a grant without the organization scopes, connects as the member alone', async () => {
    await admin(sim, 'POST', '/linkedin/accounts', { id: 'NoPage0001', name: 'Pageless Member' });
    await admin(sim, 'POST', '/linkedin/consent', { accountId: 'NoPage0001' });
    const { tokens } = await connectDirect(adapter);
    await expect(adapter.profile(tokens)).resolves.toEqual({
      externalId: 'urn:li:person:NoPage0001',
      displayName: 'Pageless Member',
    });
    // The roles were asked for, and there were none.
    expect(await admin<unknown[]>(sim, 'GET', '/linkedin/calls?route=organization_acls')).toHaveLength(1);
    const account = { externalId: 'urn:li:person:NoPage0001', ids: {} };
    const metrics = adapter.streams.find((s) => s.name === 'account_metrics')!;
    await expect(
      metrics.fetch(tokens, account, null, { now: new Date(), mediaIds: [], lookbackDays: 3, historyDays: 30 }),
    ).resolves.toEqual({ cursor: {}, done: true });

    // An older grant (member scopes only) is not asked about pages at all.
    const { accessToken } = await admin<{ accessToken: string }>(sim, 'POST', '/linkedin/tokens', {
      scopes: ['openid', 'profile', 'w_member_social'],
    });
    const member = await adapter.profile({ accessToken, scopes: ['openid', 'profile', 'w_member_social'] });
    expect(member.ids).toBeUndefined();
    expect(await admin<unknown[]>(sim, 'GET', '/linkedin/calls?route=organization_acls')).toHaveLength(1);
  });

  it('keeps the refresh token, whose lifetime a refresh never extends', async () => {
    const { tokens } = await connectDirect(adapter);
    const refreshed = await adapter.refresh(tokens);
    expect(refreshed.refreshToken).toBe(tokens.refreshToken);
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    await expect(adapter.profile(refreshed)).resolves.toMatchObject({ displayName: 'Switchboard Sim' });
    // The wire counts whole seconds from each answer's own moment, so allow one second of rounding.
    const SECOND_MS = 1000;
    expect(refreshed.refreshExpiresAt!.getTime()).toBeLessThanOrEqual(tokens.refreshExpiresAt!.getTime() + SECOND_MS);

    // Thirty days on (the sim's clock, not ours): a fresh 60-day access token, but the refresh
    // token has 30 days less to live, so its expiry moves 30 days earlier in our clock.
    await admin(sim, 'POST', '/clock', { advanceMs: 30 * DAY_MS });
    const later = await adapter.refresh(refreshed);
    expect(later.refreshToken).toBe(tokens.refreshToken);
    expect(later.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 59 * DAY_MS);
    expect(later.refreshExpiresAt!.getTime()).toBeLessThanOrEqual(
      tokens.refreshExpiresAt!.getTime() - 30 * DAY_MS + SECOND_MS,
    );
    await expect(adapter.profile(later)).resolves.toMatchObject({ displayName: 'Switchboard Sim' });
  });

  it('revokes the grant upstream', async () => {
    const { tokens } = await connectDirect(adapter);
    await expect(adapter.revoke(tokens)).resolves.toEqual({ outcome: 'revoked', status: 200 });
    const writes = await admin<unknown[]>(sim, 'GET', '/linkedin/writes?route=revoke');
    expect(writes).toHaveLength(1);
    await expect(adapter.profile(tokens)).rejects.toMatchObject({
      kind: 'token_revoked',
      code: 'REVOKED_ACCESS_TOKEN',
    });
    await expect(adapter.refresh(tokens)).rejects.toMatchObject({ kind: 'token_revoked', code: 'invalid_grant' });
  });

  it('classifies expired, revoked and unknown access tokens', async () => {
    const { tokens } = await connectDirect(adapter);
    await admin(sim, 'POST', '/linkedin/tokens/expire', {});
    await expect(adapter.profile(tokens)).rejects.toMatchObject({
      kind: 'token_expired',
      status: 401,
      code: 'EXPIRED_ACCESS_TOKEN',
    });
    const refreshed = await adapter.refresh(tokens);
    await expect(adapter.profile(refreshed)).resolves.toMatchObject({ displayName: 'Switchboard Sim' });

    await admin(sim, 'POST', '/linkedin/grants/revoke', {});
    await expect(adapter.profile(refreshed)).rejects.toMatchObject({
      kind: 'token_revoked',
      code: 'REVOKED_ACCESS_TOKEN',
    });
    await expect(adapter.profile({ ...refreshed, accessToken: 'AQVnot-a-token' })).rejects.toMatchObject({
      kind: 'token_revoked',
      code: 'INVALID_ACCESS_TOKEN',
    });
  });

  it('waits until midnight UTC on a bare 429, and treats a 503 as transient', async () => {
    const { tokens } = await connectDirect(adapter);
    // Move the sim's clock to the next 12:00 UTC so the wait is a known 12 hours.
    const { now } = await admin<{ now: string }>(sim, 'GET', '/clock');
    const advanceMs = (DAY_MS / 2 - (Date.parse(now) % DAY_MS) + DAY_MS) % DAY_MS;
    await admin(sim, 'POST', '/clock', { advanceMs });

    await admin(sim, 'POST', '/linkedin/faults', { route: 'userinfo', kind: 'throttle', retryAfterS: 90 });
    const throttled = await failure(adapter.profile(tokens));
    expect(throttled).toBeInstanceOf(PlatformError);
    expect(throttled).toMatchObject({ kind: 'rate_limited', status: 429 });
    expect(throttled!.retryAfterMs).toBeGreaterThan(DAY_MS / 2 - 10_000);
    expect(throttled!.retryAfterMs).toBeLessThanOrEqual(DAY_MS / 2 + 1000);

    // The daily counter gives the same answer once the day's calls are spent.
    await admin(sim, 'PATCH', '/linkedin/knobs', { dailyCalls: 0 });
    const daily = await failure(adapter.profile(tokens));
    expect(daily).toMatchObject({ kind: 'rate_limited', status: 429 });
    expect(daily!.retryAfterMs).toBeGreaterThan(DAY_MS / 2 - 10_000);
    await admin(sim, 'PATCH', '/linkedin/knobs', { dailyCalls: 100_000 });

    await admin(sim, 'POST', '/linkedin/faults', { route: 'userinfo', kind: 'http', status: 503 });
    await expect(adapter.profile(tokens)).rejects.toMatchObject({ kind: 'transient', status: 503 });
  });
});
