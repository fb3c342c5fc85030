import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlatformError } from '../../platforms/errors.ts';
import { createXAdapter } from '../../platforms/x.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { admin, connectDirect, simAdapterConfig } from './contract.ts';

// The simulator's own machinery: signed webhooks that misbehave like real ones, writes that land but
// lose their answer, and the injectable clock.

let sim: Simulator;
let receiver: Server;
let receiverUrl: string;
const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];

beforeAll(async () => {
  sim = await startSimulator();
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await sim.close();
  await new Promise((r) => receiver.close(r));
});

const hmacHex = (secret: string, data: string) => createHmac('sha256', secret).update(data).digest('hex');

describe('simulator', () => {
  it('emits webhooks signed the platform’s way, duplicated and reordered on request', async () => {
    received.length = 0;
    const events = [
      { object: 'instagram', entry: [{ id: '1' }] },
      { object: 'instagram', entry: [{ id: '2' }] },
    ];
    const out = await admin<{ deliveries: { index: number; status: number }[] }>(sim, 'POST', '/webhooks', {
      platform: 'instagram',
      url: receiverUrl,
      events,
      duplicate: 1,
      reorder: true,
    });
    expect(out.deliveries.map((d) => d.index)).toEqual([1, 1, 0, 0]);
    expect(received).toHaveLength(4);
    for (const r of received) {
      expect(r.headers['x-hub-signature-256']).toBe(`sha256=${hmacHex('sim-instagram-secret', r.body)}`);
    }
    expect(JSON.parse(received[0]!.body).entry[0].id).toBe('2');

    received.length = 0;
    await admin(sim, 'POST', '/webhooks', {
      platform: 'tiktok',
      url: receiverUrl,
      events: [{ event: 'authorization.removed' }],
    });
    const [t] = received;
    const [, ts, sig] = /^t=(\d+),s=([0-9a-f]+)$/.exec(String(t!.headers['tiktok-signature']))!;
    expect(sig).toBe(hmacHex('sim-tiktok-secret', `${ts}.${t!.body}`));
  });

  it('can perform a write and then drop the connection, and lists the write', async () => {
    await admin(sim, 'POST', '/reset');
    const adapter = createXAdapter(simAdapterConfig(sim, 'x'));
    const { tokens } = await connectDirect(adapter);
    await admin(sim, 'POST', '/x/faults', { route: 'revoke', kind: 'drop_after' });
    const err = await adapter.revoke(tokens).catch((e) => e);
    expect(err).toBeInstanceOf(PlatformError);
    expect(['transient', 'outcome_unknown']).toContain(err.kind);
    // The revoke landed although the caller never saw the answer.
    expect(await admin<unknown[]>(sim, 'GET', '/x/writes?route=revoke')).toHaveLength(1);
    await expect(adapter.profile(tokens)).rejects.toMatchObject({ kind: 'token_expired' });
  });

  it('answers on its own clock, which the admin API advances', async () => {
    const before = await admin<{ now: string }>(sim, 'GET', '/clock');
    const after = await admin<{ now: string }>(sim, 'POST', '/clock', { advanceMs: 3_600_000 });
    expect(Date.parse(after.now) - Date.parse(before.now)).toBeGreaterThanOrEqual(3_600_000);
    const res = await fetch(`${sim.url}/x/2/users/me`);
    expect(Date.parse(res.headers.get('date')!)).toBeGreaterThanOrEqual(Date.parse(after.now) - 1000);
  });
});
