import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlatformError } from '../../platforms/errors.ts';
import { createWhatsAppAdapter } from '../../platforms/whatsapp.ts';
import type { SimAccount } from '../../simulators/core.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { admin, connectDirect, simAdapterConfig } from './contract.ts';

let sim: Simulator;
let account: SimAccount;
beforeAll(async () => {
  sim = await startSimulator();
  [account] = (await admin<SimAccount[]>(sim, 'GET', '/whatsapp/accounts')) as [SimAccount];
});
afterAll(async () => {
  await sim.close();
});

const adapter = () => createWhatsAppAdapter(simAdapterConfig(sim, 'whatsapp'));
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as PlatformError,
  );

describe('WhatsApp adapter against its simulator', () => {
  it('connects: a non-expiring business token, and the WABA phone number as the account', async () => {
    const wa = adapter();
    const { tokens } = await connectDirect(wa);
    expect(tokens.accessToken).toMatch(/^EAAG/);
    expect(tokens.expiresAt).toBeUndefined();
    expect(tokens.refreshToken).toBeUndefined();
    expect(tokens.scopes).toEqual(wa.scopes);
    await expect(wa.profile(tokens)).resolves.toEqual({
      externalId: account.extra?.phoneNumberId,
      displayName: 'Simulated Bakery',
      handle: '+1 555-010-4477',
      ids: { wabaId: account.extra?.wabaId, displayPhoneNumber: '+1 555-010-4477' },
    });
  });

  it('has nothing to refresh: the business token still works after 90 days', async () => {
    const wa = adapter();
    expect(wa.refreshRule).toBe('none');
    const { tokens } = await connectDirect(wa);
    await admin(sim, 'POST', '/clock', { advanceMs: 90 * 86_400_000 });
    await expect(wa.profile(tokens)).resolves.toMatchObject({ externalId: account.extra?.phoneNumberId });
  });

  it('revokes by unsubscribing the app from the WABA', async () => {
    const wa = adapter();
    const { tokens } = await connectDirect(wa);
    const before = (await admin<unknown[]>(sim, 'GET', '/whatsapp/writes?route=revoke')).length;
    await expect(wa.revoke(tokens)).resolves.toEqual({
      outcome: 'revoked',
      status: 200,
      detail: 'app unsubscribed from the WhatsApp Business Account',
    });
    const writes = await admin<{ data: Record<string, unknown> }[]>(sim, 'GET', '/whatsapp/writes?route=revoke');
    expect(writes).toHaveLength(before + 1);
    expect(writes.at(-1)?.data).toEqual({ wabaId: account.extra?.wabaId });
    expect(await failure(wa.profile(tokens))).toMatchObject({ kind: 'token_revoked', code: '190/458' });
  });

  it('classifies Meta errors by code and subcode', async () => {
    const wa = adapter();
    const { tokens } = await connectDirect(wa);

    await admin(sim, 'POST', '/whatsapp/faults', { route: 'phone_numbers', kind: 'throttle', retryAfterS: 120 });
    expect(await failure(wa.profile(tokens))).toMatchObject({
      kind: 'rate_limited',
      code: '130429',
      retryAfterMs: 120_000,
    });

    await admin(sim, 'POST', '/whatsapp/faults', { route: 'debug_token', kind: 'http', status: 500 });
    expect(await failure(wa.profile(tokens))).toMatchObject({ kind: 'transient', code: '2', status: 500 });

    await admin(sim, 'POST', '/whatsapp/grants/revoke', { reason: 'password_changed' });
    expect(await failure(wa.profile(tokens))).toMatchObject({ kind: 'token_revoked', code: '190/460' });
  });
});
