import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokensAad } from '../../activities/connections.ts';
import { openJson } from '../../lib/vault.ts';
import type { TokenSet } from '../../platforms/types.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import {
  bearer,
  createTestSystem,
  createWorkspace,
  eventually,
  signUp,
  spawnWorker,
  sql,
  type TestSystem,
  testEnv,
} from '../helpers.ts';
import { admin, consent } from '../platforms/contract.ts';

// A worker process killed (SIGKILL, like a crash) in the middle of a connect and of a refresh; a new
// one takes over and the connection ends up consistent and working.

let sim: Simulator;
let sys: TestSystem;
let env: Record<string, string>;

beforeAll(async () => {
  sim = await startSimulator();
  sys = await createTestSystem({ SIMULATOR_URL: sim.url });
  env = testEnv({ SIMULATOR_URL: sim.url, TASK_QUEUE_CORE: sys.config.taskQueues.core });
});
afterAll(async () => {
  await sys?.close();
  await sim?.close();
});

const calls = (route: string) => admin<{ route: string }[]>(sim, 'GET', `/youtube/calls?route=${route}`);

async function crashDuring(route: string, action: () => Promise<unknown>) {
  const worker = spawnWorker(env);
  const before = (await calls(route)).length;
  // The platform is slow to answer, so the call is in flight when the worker dies.
  await admin(sim, 'POST', '/youtube/faults', { route, kind: 'delay', delayMs: 3000 });
  const pending = action();
  await eventually(async () => (await calls(route)).length > before, 30_000);
  worker.child.kill('SIGKILL');
  await worker.exited;
  const next = spawnWorker(env);
  try {
    return await pending;
  } finally {
    next.child.kill('SIGTERM');
    await next.exited;
  }
}

async function storedTokens(connectionId: string) {
  const rows = await sql<{ ciphertext: string }>(
    sys.orm,
    'select ciphertext from connection_tokens where connection_id = ?',
    [connectionId],
  );
  expect(rows).toHaveLength(1);
  return openJson<TokenSet>(sys.config.keyRing, rows[0]!.ciphertext, tokensAad(connectionId));
}

const usable = async (value: string | undefined) =>
  (await admin<{ value: string; usable: boolean }[]>(sim, 'GET', '/youtube/tokens')).find((t) => t.value === value)
    ?.usable ?? false;

describe('worker crash', () => {
  it('mid-connect and mid-refresh leaves one consistent, working connection', async () => {
    const owner = await signUp(sys.app, 'owner');
    const workspaceId = await createWorkspace(sys.app, owner.token);
    const start = await sys.app.inject({
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/connections`,
      headers: bearer(owner.token),
      payload: { platform: 'youtube' },
    });
    const query = await consent(start.json().authorizeUrl);
    const exchangesBefore = (await calls('token')).length;

    // Killed while fetching the profile, after the code was exchanged.
    const connected = (await crashDuring('channels', () =>
      sys.app.inject({ method: 'GET', url: `/v1/connections/callback?${query.toString()}` }),
    )) as Awaited<ReturnType<typeof sys.app.inject>>;
    expect(connected.statusCode, connected.body).toBe(200);
    const conn = connected.json();
    expect(conn.status).toBe('active');
    // The code was exchanged once: the tokens survived the crash on the OAuth state.
    expect((await calls('token')).length - exchangesBefore).toBe(1);
    const rows = await sql(sys.orm, 'select id from connections where workspace_id = ?', [workspaceId]);
    expect(rows).toHaveLength(1);
    const first = await storedTokens(conn.id);
    expect(await usable(first.accessToken)).toBe(true);

    // Killed while the token endpoint is answering a refresh.
    const refreshed = (await crashDuring('token', () =>
      sys.app.inject({
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/connections/${conn.id}/refresh`,
        headers: bearer(owner.token),
      }),
    )) as Awaited<ReturnType<typeof sys.app.inject>>;
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    expect(refreshed.json().outcome).toBe('refreshed');
    expect(refreshed.json().connection.status).toBe('active');
    const second = await storedTokens(conn.id);
    expect(second.refreshToken).toBe(first.refreshToken);
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(await usable(second.accessToken)).toBe(true);
    expect(await usable(second.refreshToken)).toBe(true);
  });
});
