import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlatformError } from '../../platforms/errors.ts';
import { createFacebookAdapter } from '../../platforms/facebook.ts';
import type { PlatformResponse } from '../../platforms/http.ts';
import { metaError } from '../../platforms/meta.ts';
import type { SimAccount } from '../../simulators/core.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { admin, connectDirect, simAdapterConfig } from './contract.ts';

let sim: Simulator;
let account: SimAccount;
beforeAll(async () => {
  sim = await startSimulator();
  [account] = (await admin<SimAccount[]>(sim, 'GET', '/facebook/accounts')) as [SimAccount];
});
afterAll(async () => {
  await sim.close();
});

const adapter = () => createFacebookAdapter(simAdapterConfig(sim, 'facebook'));
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as PlatformError,
  );
const DAY_MS = 86_400_000;

describe('Facebook Pages adapter against its simulator', () => {
  it('connects: 60-day user token, a Page token, and the Page as the connected account', async () => {
    const fb = adapter();
    const { tokens } = await connectDirect(fb);
    expect(tokens.accessToken).toMatch(/^EAAG/);
    expect(tokens.expiresAt!.getTime() - Date.now()).toBeGreaterThan(59 * DAY_MS);
    expect(tokens.scopes).toEqual(fb.scopes);
    expect(tokens.extra?.pageAccessToken).toMatch(/^EAAG/);
    expect(tokens.extra?.pageAccessToken).not.toBe(tokens.accessToken);
    await expect(fb.profile(tokens)).resolves.toEqual({
      externalId: account.extra?.pageId,
      displayName: 'Simulated Bakery',
      handle: 'simulatedbakery',
      ids: { userId: account.id },
    });
  });

  it('has nothing to refresh: the Page token still works after 90 days', async () => {
    const fb = adapter();
    expect(fb.refreshRule).toBe('none');
    const { tokens } = await connectDirect(fb);
    await admin(sim, 'POST', '/clock', { advanceMs: 90 * DAY_MS });
    await expect(fb.profile(tokens)).resolves.toMatchObject({ externalId: account.extra?.pageId });
  });

  it('revokes by deleting the user permissions, which kills the Page token too', async () => {
    const fb = adapter();
    const { tokens } = await connectDirect(fb);
    const before = (await admin<unknown[]>(sim, 'GET', '/facebook/writes?route=revoke')).length;
    await expect(fb.revoke(tokens)).resolves.toMatchObject({ outcome: 'revoked', status: 200 });
    const writes = await admin<{ data: Record<string, unknown> }[]>(sim, 'GET', '/facebook/writes?route=revoke');
    expect(writes).toHaveLength(before + 1);
    expect(writes.at(-1)?.data).toEqual({ userId: account.id });
    expect(await failure(fb.profile(tokens))).toMatchObject({ kind: 'token_revoked', code: '190/458' });
  });

  it('classifies Meta errors by code and subcode', async () => {
    const fb = adapter();
    const { tokens } = await connectDirect(fb);

    await admin(sim, 'POST', '/facebook/faults', { route: 'profile', kind: 'throttle', retryAfterS: 120 });
    expect(await failure(fb.profile(tokens))).toMatchObject({
      kind: 'rate_limited',
      code: '80001',
      retryAfterMs: 120_000,
    });

    await admin(sim, 'POST', '/facebook/faults', { route: 'profile', kind: 'http', status: 500 });
    expect(await failure(fb.profile(tokens))).toMatchObject({ kind: 'transient', code: '2', status: 500 });

    // The user token is what revoke uses; an expired one is 190/463.
    await admin(sim, 'POST', '/facebook/tokens/expire', {});
    expect(await failure(fb.revoke(tokens))).toMatchObject({ kind: 'token_expired', code: '190/463' });

    const { tokens: second } = await connectDirect(fb);
    await admin(sim, 'POST', '/facebook/grants/revoke', { reason: 'password_changed' });
    expect(await failure(fb.profile(second))).toMatchObject({ kind: 'token_revoked', code: '190/460' });
  });

  it('refuses a spent code as a permanent error', async () => {
    const fb = adapter();
    const url = fb.authorizeUrl({ state: 's', redirectUri: 'http://cb' });
    const res = await fetch(url, { redirect: 'manual' });
    const code = new URL(res.headers.get('location')!).searchParams.get('code')!;
    await fb.exchangeCode({ code, redirectUri: 'http://cb' });
    const err = await failure(fb.exchangeCode({ code, redirectUri: 'http://cb' }));
    expect(err).toBeInstanceOf(PlatformError);
    expect(err).toMatchObject({ kind: 'permanent', code: '100/36009' });
  });
});

describe('metaError', () => {
  const response = (body: unknown, headers: Record<string, string> = {}, status = 400): PlatformResponse => ({
    status,
    headers: new Headers(headers),
    text: JSON.stringify(body),
    body,
    serverNowMs: Date.now(),
  });
  const graph = (error: Record<string, unknown>, headers?: Record<string, string>) =>
    metaError('facebook', response({ error: { type: 'OAuthException', message: 'm', ...error } }, headers));

  it('maps codes, subcodes and is_transient to the taxonomy', () => {
    expect(graph({ code: 102 })).toMatchObject({ kind: 'token_revoked', code: '102' });
    expect(graph({ code: 190, error_subcode: 459 })).toMatchObject({ kind: 'token_revoked', code: '190/459' });
    expect(graph({ code: 17 })).toMatchObject({ kind: 'rate_limited', retryAfterMs: undefined });
    expect(graph({ code: 131056 })).toMatchObject({ kind: 'rate_limited', code: '131056' });
    expect(graph({ code: 80014 })).toMatchObject({ kind: 'rate_limited' });
    expect(graph({ code: 368, is_transient: true })).toMatchObject({ kind: 'transient' });
    expect(graph({ code: 506 })).toMatchObject({ kind: 'permanent', code: '506' });
    expect(metaError('facebook', response({ error: { code: 1 } }), { url: 'x', write: true })).toMatchObject({
      kind: 'outcome_unknown',
    });
    expect(metaError('facebook', response({ data: [] }, {}, 200))).toBeUndefined();
  });

  it('takes the longest wait of any Business Use Case entry', () => {
    const buc = JSON.stringify({
      '1': [{ type: 'pages', estimated_time_to_regain_access: 0 }],
      '2': [{ type: 'instagram', estimated_time_to_regain_access: 7 }],
    });
    expect(graph({ code: 32 }, { 'x-business-use-case-usage': buc })).toMatchObject({ retryAfterMs: 7 * 60_000 });
  });

  it('reads debug_token refusals and the flat Instagram shape', () => {
    const debug = response(
      { data: { is_valid: false, error: { code: 190, subcode: 463, message: 'expired' } } },
      {},
      200,
    );
    expect(metaError('whatsapp', debug)).toMatchObject({ kind: 'token_expired', code: '190/463' });
    const flat = response({ error_type: 'OAuthException', code: 400, error_message: 'Invalid authorization code' });
    expect(metaError('instagram', flat)).toMatchObject({ kind: 'permanent', code: '400' });
  });
});
