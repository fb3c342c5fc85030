import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateAad, tokensAad } from '../../activities/connections.ts';
import { loadConfig } from '../../lib/config.ts';
import type { Mail } from '../../lib/mailer.ts';
import { rotateKeys } from '../../lib/rotate-keys.ts';
import { encryptSecret, keyIdOf, openJson } from '../../lib/vault.ts';
import type { TokenSet } from '../../platforms/types.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import {
  bearer,
  createTestSystem,
  createWorkspace,
  eventually,
  signUp,
  sql,
  type TestSystem,
  testEnv,
} from '../helpers.ts';
import { admin, consent } from '../platforms/contract.ts';

// How connections fail: dead grants, throttling, server errors, bad OAuth callbacks, and keys.

let sim: Simulator;
let sys: TestSystem;
const mails: Mail[] = [];

beforeAll(async () => {
  sim = await startSimulator();
  sys = await createTestSystem({ SIMULATOR_URL: sim.url });
  await sys.startWorker({ mailer: { send: async (mail) => void mails.push(mail) } });
});
afterAll(async () => {
  await sys?.close();
  await sim?.close();
});

interface Call {
  route: string;
  at: number;
  realAt: number;
  status?: number;
  fault?: string;
}
const calls = (platform: string, route: string) => admin<Call[]>(sim, 'GET', `/${platform}/calls?route=${route}`);

async function owner() {
  const user = await signUp(sys.app, 'owner');
  return { ...user, workspaceId: await createWorkspace(sys.app, user.token) };
}

async function start(o: { token: string; workspaceId: string }, platform: string) {
  const res = await sys.app.inject({
    method: 'POST',
    url: `/v1/workspaces/${o.workspaceId}/connections`,
    headers: bearer(o.token),
    payload: { platform },
  });
  return res;
}

const callback = (query: string) => sys.app.inject({ method: 'GET', url: `/v1/connections/callback?${query}` });

async function connect(o: { token: string; workspaceId: string }, platform: string) {
  const query = await consent((await start(o, platform)).json().authorizeUrl);
  const res = await callback(query.toString());
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { id: string; tokenExpiresAt: string };
}

const refresh = (o: { token: string; workspaceId: string }, id: string) =>
  sys.app.inject({
    method: 'POST',
    url: `/v1/workspaces/${o.workspaceId}/connections/${id}/refresh`,
    headers: bearer(o.token),
  });

const countRows = async (table: string, where = 'true', params: unknown[] = []) =>
  Number((await sql<{ n: string }>(sys.orm, `select count(*) as n from ${table} where ${where}`, params))[0]?.n);

describe('dead grants', () => {
  it('a revoked grant marks the connection needs-reconnect with a notice and an e-mail, without a retry storm', async () => {
    const o = await owner();
    const conn = await connect(o, 'x');
    await admin(sim, 'POST', '/x/grants/revoke', {});
    const before = (await calls('x', 'token')).length;
    const res = await refresh(o, conn.id);
    expect(res.json().outcome).toBe('needs_reconnect');
    expect(res.json().connection).toMatchObject({ status: 'needs_reconnect' });
    expect(res.json().connection.statusReason).toMatch(/revoked/);
    // Exactly one call reached the platform; asking again does not call it at all.
    expect((await calls('x', 'token')).length - before).toBe(1);
    expect((await refresh(o, conn.id)).json().outcome).toBe('skipped');
    expect((await calls('x', 'token')).length - before).toBe(1);

    const notices = await sys.app.inject({
      method: 'GET',
      url: `/v1/workspaces/${o.workspaceId}/notices`,
      headers: bearer(o.token),
    });
    expect(notices.json()).toEqual([
      expect.objectContaining({ kind: 'connection.needs_reconnect', connectionId: conn.id }),
    ]);
    expect(mails.filter((m) => m.userId === o.id)).toHaveLength(1);
  });

  it('an expired long-lived token (Meta 190/463) also asks for a reconnect, and a reconnect restores it', async () => {
    const o = await owner();
    const conn = await connect(o, 'instagram');
    await sql(sys.orm, 'update connections set token_issued_at = ? where id = ?', [
      new Date(Date.now() - 2 * 86_400_000),
      conn.id,
    ]);
    await admin(sim, 'POST', '/instagram/tokens/expire', {});
    expect((await refresh(o, conn.id)).json().outcome).toBe('needs_reconnect');
    const again = await connect(o, 'instagram');
    expect(again.id).toBe(conn.id);
    const list = await sys.app.inject({
      method: 'GET',
      url: `/v1/workspaces/${o.workspaceId}/connections/${conn.id}`,
      headers: bearer(o.token),
    });
    expect(list.json()).toMatchObject({ status: 'active', statusReason: null });
  });

  it('re-connecting keeps the working refresh token when the platform sends none', async () => {
    const o = await owner();
    const conn = await connect(o, 'youtube');
    const read = async () => {
      const [row] = await sql<{ ciphertext: string }>(
        sys.orm,
        'select ciphertext from connection_tokens where connection_id = ?',
        [conn.id],
      );
      return openJson<TokenSet>(sys.config.keyRing, row!.ciphertext, tokensAad(conn.id));
    };
    const first = await read();
    // A second consent that comes back without a refresh token (Google omits it when it was granted before).
    await admin(sim, 'PATCH', '/youtube/knobs', { issueRefreshToken: 0 });
    const again = await connect(o, 'youtube');
    await admin(sim, 'PATCH', '/youtube/knobs', { issueRefreshToken: 1 });
    expect(again.id).toBe(conn.id);
    const second = await read();
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(second.refreshToken).toBe(first.refreshToken);
    expect((await refresh(o, conn.id)).json().outcome).toBe('refreshed');
  });
});

describe('refresh ahead of expiry', () => {
  it('the connection workflow refreshes on its own before the token expires', async () => {
    // 30 s: the refresh at 80 % (24 s) still leaves 6 s before expiry on a loaded machine.
    await admin(sim, 'PATCH', '/youtube/policy', { accessTtlS: 30 });
    try {
      const o = await owner();
      const conn = await connect(o, 'youtube');
      const expiresAt = Date.parse(conn.tokenExpiresAt);
      const refreshed = await eventually(async () => {
        const [row] = await sql<{ last_refreshed_at: string | null }>(
          sys.orm,
          'select last_refreshed_at from connections where id = ?',
          [conn.id],
        );
        return row?.last_refreshed_at;
      }, 45_000);
      // Planned at 80 % of the token's life: before it expires, not after.
      expect(new Date(refreshed as string).getTime()).toBeLessThan(expiresAt);
    } finally {
      await admin(sim, 'PATCH', '/youtube/policy', { accessTtlS: 3599 });
    }
  }, 90_000);
});

describe('throttling and server errors', () => {
  it('waits exactly as long as Retry-After says before the next call', async () => {
    const o = await owner();
    const conn = await connect(o, 'youtube');
    await admin(sim, 'POST', '/youtube/faults', { route: 'token', kind: 'throttle', retryAfterS: 3 });
    const before = (await calls('youtube', 'token')).length;
    const res = await refresh(o, conn.id);
    expect(res.json().outcome).toBe('refreshed');
    const [throttled, retried] = (await calls('youtube', 'token')).slice(before);
    expect(throttled?.status).toBe(403);
    expect(retried?.status).toBe(200);
    expect(retried!.realAt - throttled!.realAt).toBeGreaterThanOrEqual(3000);
  });

  it('waits until the reset time an x-rate-limit-reset header gives', async () => {
    const o = await owner();
    const conn = await connect(o, 'x');
    await admin(sim, 'POST', '/x/faults', { route: 'token', kind: 'throttle', retryAfterS: 5 });
    const before = (await calls('x', 'token')).length;
    expect((await refresh(o, conn.id)).json().outcome).toBe('refreshed');
    const [throttled, retried] = (await calls('x', 'token')).slice(before);
    expect(throttled?.status).toBe(429);
    // The reset is in whole seconds of the platform's clock: the retry comes no earlier than it.
    expect(retried!.at).toBeGreaterThanOrEqual(Math.floor((throttled!.at + 5000) / 1000) * 1000 - 1000);
    expect(retried!.realAt - throttled!.realAt).toBeGreaterThanOrEqual(4000);
  });

  it('retries transient 5xx with growing backoff', async () => {
    const o = await owner();
    const conn = await connect(o, 'linkedin');
    await admin(sim, 'POST', '/linkedin/faults', { route: 'token', kind: 'http', status: 503, count: 2 });
    const before = (await calls('linkedin', 'token')).length;
    expect((await refresh(o, conn.id)).json().outcome).toBe('refreshed');
    const seen = (await calls('linkedin', 'token')).slice(before);
    expect(seen.map((c) => c.status)).toEqual([503, 503, 200]);
    // Retry policy: 1 s, then 2 s.
    expect(seen[1]!.realAt - seen[0]!.realAt).toBeGreaterThanOrEqual(1000);
    expect(seen[2]!.realAt - seen[1]!.realAt).toBeGreaterThanOrEqual(2000);
  });
});

describe('OAuth callback', () => {
  it('refuses a forged, a reused and an expired state with 400, storing nothing', async () => {
    const o = await owner();
    const connections = () => countRows('connections', 'workspace_id = ?', [o.workspaceId]);
    const forged = await callback(`state=${randomBytes(32).toString('base64url')}&code=abc`);
    expect(forged.statusCode).toBe(400);
    expect(forged.json().error).toMatchObject({ code: 'INVALID_STATE', field: 'querystring.state' });

    const query = await consent((await start(o, 'tiktok')).json().authorizeUrl);
    expect((await callback(query.toString())).statusCode).toBe(200);
    const reused = await callback(query.toString());
    expect(reused.statusCode).toBe(400);
    expect(reused.json().error.code).toBe('INVALID_STATE');
    expect(await connections()).toBe(1);

    const late = await consent((await start(o, 'linkedin')).json().authorizeUrl);
    await sql(
      sys.orm,
      "update oauth_states set expires_at = now() - interval '1 second' where workspace_id = ? and consumed_at is null",
      [o.workspaceId],
    );
    const expired = await callback(late.toString());
    expect(expired.statusCode).toBe(400);
    expect(expired.json().error.message).toMatch(/expired/);
    expect(await connections()).toBe(1);
  });

  it('rejects a PKCE verifier that does not match the challenge, leaving no tokens behind', async () => {
    const o = await owner();
    const query = await consent((await start(o, 'x')).json().authorizeUrl);
    const [row] = await sql<{ id: string }>(
      sys.orm,
      'select id from oauth_states where workspace_id = ? and consumed_at is null',
      [o.workspaceId],
    );
    const wrong = encryptSecret(
      sys.config.keyRing,
      randomBytes(48).toString('base64url'),
      stateAad(row!.id, 'verifier'),
    );
    await sql(sys.orm, 'update oauth_states set verifier_ciphertext = ? where id = ?', [wrong, row!.id]);
    const res = await callback(query.toString());
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('EXCHANGE_REFUSED');
    expect(await countRows('connections', 'workspace_id = ?', [o.workspaceId])).toBe(0);
    const [state] = await sql(
      sys.orm,
      'select error_code, code_ciphertext, tokens_ciphertext from oauth_states where id = ?',
      [row!.id],
    );
    expect(state).toEqual({ error_code: 'exchange_refused', code_ciphertext: null, tokens_ciphertext: null });
  });

  it('answers bad input and platform errors with a 4xx naming the problem, half-storing nothing', async () => {
    const o = await owner();
    const unknown = await start(o, 'myspace');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.field).toBe('body.platform');

    const malformed = await callback('state=short&code=x');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.field).toBe('querystring.state');
    const state = new URLSearchParams((await consent((await start(o, 'youtube')).json().authorizeUrl)).toString());
    state.delete('code');
    const noCode = await callback(state.toString());
    expect(noCode.statusCode).toBe(400);
    expect(noCode.json().error.field).toBe('querystring.code');

    const denied = new URLSearchParams({ state: state.get('state')!, error: 'access_denied' });
    const deniedRes = await callback(denied.toString());
    expect(deniedRes.statusCode).toBe(400);
    expect(deniedRes.json().error.code).toBe('PLATFORM_DENIED');

    // The platform's token endpoint answers an error page.
    const query = await consent((await start(o, 'linkedin')).json().authorizeUrl);
    await admin(sim, 'POST', '/linkedin/faults', { route: 'token', kind: 'http', status: 400 });
    const broken = await callback(query.toString());
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.code).toBe('CONNECT_FAILED');
    expect(await countRows('connections', 'workspace_id = ?', [o.workspaceId])).toBe(0);
    expect(
      await countRows(
        'oauth_states',
        'workspace_id = ? and (code_ciphertext is not null or tokens_ciphertext is not null)',
        [o.workspaceId],
      ),
    ).toBe(0);
  });
});

describe('token keys', () => {
  it('re-encrypts every stored secret under a new key; the old key is then unnecessary', async () => {
    const o = await owner();
    const conn = await connect(o, 'tiktok');
    const newKey = randomBytes(32).toString('base64');
    const oldRing = sys.config.keyRing;
    const both = loadConfig({
      ...testEnv(),
      TOKEN_KEYS: `k2:${newKey},${[...oldRing.keys].map(([id, k]) => `${id}:${k.toString('base64')}`).join(',')}`,
      TOKEN_KEY_ID: 'k2',
    }).keyRing;
    const { rewritten, remaining } = await rotateKeys(sys.orm, both);
    expect(rewritten).toBeGreaterThanOrEqual(1);
    expect(remaining).toBe(0);
    const [row] = await sql<{ ciphertext: string; key_id: string }>(
      sys.orm,
      'select ciphertext, key_id from connection_tokens where connection_id = ?',
      [conn.id],
    );
    expect(row?.key_id).toBe('k2');
    expect(keyIdOf(row!.ciphertext)).toBe('k2');
    const onlyNew = loadConfig({ ...testEnv(), TOKEN_KEYS: `k2:${newKey}` }).keyRing;
    expect(openJson<TokenSet>(onlyNew, row!.ciphertext, tokensAad(conn.id)).accessToken).toBeTruthy();
    expect(() => openJson(oldRing, row!.ciphertext, tokensAad(conn.id))).toThrow();
    // Put the rows back under the key the rest of this file's system uses.
    const back = loadConfig({
      ...testEnv(),
      TOKEN_KEYS: `dev:${oldRing.keys.get('dev')!.toString('base64')},k2:${newKey}`,
      TOKEN_KEY_ID: 'dev',
    }).keyRing;
    expect((await rotateKeys(sys.orm, back)).remaining).toBe(0);
  });
});
