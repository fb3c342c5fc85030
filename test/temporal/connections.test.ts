import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokensAad } from '../../activities/connections.ts';
import type { Mail } from '../../lib/mailer.ts';
import { lazyClient } from '../../lib/temporal.ts';
import { openJson } from '../../lib/vault.ts';
import { PLATFORMS, type PlatformId, type TokenSet } from '../../platforms/types.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { connectionWorkflowId, connectWorkflowId } from '../../workflows/connection.messages.ts';
import { bearer, createTestSystem, createWorkspace, historyText, signUp, sql, type TestSystem } from '../helpers.ts';
import { admin, consent } from '../platforms/contract.ts';

// Every platform end to end through the API, the real workflows and worker, and its simulator.

/** What platforms.md says of each platform, stated here independently of the adapters. */
const RULES: Record<PlatformId, { refresh: 'rotating' | 'stable' | 'reissue' | 'none'; revoke: boolean }> = {
  youtube: { refresh: 'stable', revoke: true },
  instagram: { refresh: 'reissue', revoke: false },
  facebook: { refresh: 'none', revoke: true },
  tiktok: { refresh: 'rotating', revoke: true },
  linkedin: { refresh: 'stable', revoke: true },
  x: { refresh: 'rotating', revoke: true },
  threads: { refresh: 'reissue', revoke: false },
  whatsapp: { refresh: 'none', revoke: true },
};
const DAY_MS = 86_400_000;

let sim: Simulator;
let sys: TestSystem;
let client: Client;
const mails: Mail[] = [];

beforeAll(async () => {
  sim = await startSimulator();
  sys = await createTestSystem({ SIMULATOR_URL: sim.url });
  await sys.startWorker({ mailer: { send: async (mail) => void mails.push(mail) } });
  client = lazyClient(sys.config).client;
});
afterAll(async () => {
  await client?.connection.close();
  await sys?.close();
  await sim?.close();
});

interface SimToken {
  value: string;
  kind: 'access' | 'refresh';
  usable: boolean;
}
const simTokens = (platform: string) => admin<SimToken[]>(sim, 'GET', `/${platform}/tokens`);
const usableAtSim = async (platform: string, value: string | undefined) =>
  (await simTokens(platform)).find((t) => t.value === value)?.usable ?? false;

async function storedTokens(connectionId: string): Promise<TokenSet | undefined> {
  const [row] = await sql<{ ciphertext: string }>(
    sys.orm,
    'select ciphertext from connection_tokens where connection_id = ?',
    [connectionId],
  );
  return row ? openJson<TokenSet>(sys.config.keyRing, row.ciphertext, tokensAad(connectionId)) : undefined;
}

async function owner() {
  const user = await signUp(sys.app, 'owner');
  const workspaceId = await createWorkspace(sys.app, user.token);
  return { ...user, workspaceId };
}

async function startConnect(token: string, workspaceId: string, platform: string) {
  const res = await sys.app.inject({
    method: 'POST',
    url: `/v1/workspaces/${workspaceId}/connections`,
    headers: bearer(token),
    payload: { platform },
  });
  expect(res.statusCode).toBe(201);
  return res.json().authorizeUrl as string;
}

const callback = (query: URLSearchParams) =>
  sys.app.inject({ method: 'GET', url: `/v1/connections/callback?${query.toString()}` });

/** authorize URL → simulated consent → callback; returns the connection view. */
async function connect(token: string, workspaceId: string, platform: PlatformId) {
  const query = await consent(await startConnect(token, workspaceId, platform));
  const res = await callback(query);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const api = (token: string, method: 'GET' | 'POST' | 'DELETE', url: string) =>
  sys.app.inject({ method, url, headers: bearer(token) });

async function history(workflowId: string): Promise<string> {
  return historyToJSON(await client.workflow.getHandle(workflowId).fetchHistory());
}

function record(workflowType: string, scenario: string, json: string) {
  if (!process.env.RECORD_HISTORIES) return;
  const dir = path.join(import.meta.dirname, '..', 'histories', workflowType);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${scenario}.json`), json);
}

describe.each(PLATFORMS)('%s', (platform) => {
  const rule = RULES[platform];

  it('connects, refreshes by its rule, disconnects, and keeps tokens out of histories', async () => {
    const o = await owner();
    const conn = await connect(o.token, o.workspaceId, platform);
    expect(conn).toMatchObject({ platform, status: 'active', workspaceId: o.workspaceId });
    expect(conn.externalId).toBeTruthy();
    expect(conn.scopes.length).toBeGreaterThan(0);

    // Encrypted with the configured key, readable only with it and this row's binding.
    const [row] = await sql<{ ciphertext: string; key_id: string }>(
      sys.orm,
      'select ciphertext, key_id from connection_tokens where connection_id = ?',
      [conn.id],
    );
    expect(row?.ciphertext.startsWith(`v1.${sys.config.keyRing.currentId}.`)).toBe(true);
    expect(() => openJson(sys.config.keyRing, row!.ciphertext, tokensAad(o.workspaceId))).toThrow();
    const first = (await storedTokens(conn.id))!;
    expect(await usableAtSim(platform, first.accessToken)).toBe(true);
    const secrets = (await simTokens(platform)).map((t) => t.value);

    if (rule.refresh === 'reissue') {
      // Instagram and Threads refresh only tokens at least a day old: age it on both sides.
      const early = await api(o.token, 'POST', `/v1/workspaces/${o.workspaceId}/connections/${conn.id}/refresh`);
      expect(early.json().outcome).toBe('too_early');
      await sql(sys.orm, 'update connections set token_issued_at = ? where id = ?', [
        new Date(Date.now() - DAY_MS - 60_000),
        conn.id,
      ]);
      await admin(sim, 'POST', '/clock', { advanceMs: DAY_MS + 60_000 });
    }
    const refreshed = await api(o.token, 'POST', `/v1/workspaces/${o.workspaceId}/connections/${conn.id}/refresh`);
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    const second = (await storedTokens(conn.id))!;
    switch (rule.refresh) {
      case 'rotating':
        expect(refreshed.json().outcome).toBe('refreshed');
        expect(second.refreshToken).toBeTruthy();
        expect(second.refreshToken).not.toBe(first.refreshToken);
        expect(await usableAtSim(platform, first.refreshToken)).toBe(false);
        expect(await usableAtSim(platform, second.refreshToken)).toBe(true);
        break;
      case 'stable':
        expect(refreshed.json().outcome).toBe('refreshed');
        expect(second.accessToken).not.toBe(first.accessToken);
        expect(second.refreshToken).toBe(first.refreshToken);
        expect(await usableAtSim(platform, second.refreshToken)).toBe(true);
        break;
      case 'reissue':
        expect(refreshed.json().outcome).toBe('refreshed');
        expect(second.accessToken).not.toBe(first.accessToken);
        expect(new Date(refreshed.json().connection.tokenExpiresAt).getTime()).toBeGreaterThan(
          new Date(conn.tokenExpiresAt).getTime(),
        );
        break;
      case 'none':
        expect(refreshed.json().outcome).toBe('not_supported');
        expect(second.accessToken).toBe(first.accessToken);
        break;
    }
    expect(await usableAtSim(platform, second.accessToken)).toBe(true);
    secrets.push(...(await simTokens(platform)).map((t) => t.value));

    const writesBefore = (await admin<unknown[]>(sim, 'GET', `/${platform}/writes?route=revoke`)).length;
    const gone = await api(o.token, 'DELETE', `/v1/workspaces/${o.workspaceId}/connections/${conn.id}`);
    expect(gone.statusCode, gone.body).toBe(200);
    const writes = await admin<unknown[]>(sim, 'GET', `/${platform}/writes?route=revoke`);
    if (rule.revoke) {
      expect(gone.json()).toMatchObject({ outcome: 'revoked_upstream', attempts: 1 });
      expect(writes.length - writesBefore).toBe(1);
      expect(await usableAtSim(platform, second.accessToken)).toBe(false);
    } else {
      expect(gone.json()).toMatchObject({ outcome: 'deleted_locally_only', attempts: 0 });
      expect(writes.length - writesBefore).toBe(0);
    }
    expect(gone.json().connection).toMatchObject({ status: 'disconnected', revokeOutcome: gone.json().outcome });
    expect(await storedTokens(conn.id)).toBeUndefined();
    const audits = await sql(sys.orm, 'select action from audit_events where target_id = ? order by id', [conn.id]);
    expect(audits.map((a) => a.action)).toEqual(
      expect.arrayContaining(['connection.connected', 'connection.disconnect_requested', 'connection.disconnected']),
    );

    // Histories of the connect and connection workflows: ids and enums only.
    const [state] = await sql<{ id: string }>(sys.orm, 'select id from oauth_states where connection_id = ?', [
      conn.id,
    ]);
    const connectJson = await history(connectWorkflowId(state!.id));
    const connectionJson = await history(connectionWorkflowId(conn.id));
    for (const json of [connectJson, connectionJson]) {
      const text = historyText(json);
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
    record('connectWorkflow', platform, connectJson);
    record('connectionWorkflow', `${platform}-refresh-disconnect`, connectionJson);
  });
});

describe('connection security', () => {
  it('stores no plaintext token in any text or JSON column of PostgreSQL', async () => {
    const o = await owner();
    for (const platform of PLATFORMS) await connect(o.token, o.workspaceId, platform);
    const tokens: string[] = [];
    for (const platform of [...PLATFORMS, 'google']) tokens.push(...(await simTokens(platform)).map((t) => t.value));
    expect(tokens.length).toBeGreaterThanOrEqual(PLATFORMS.length);
    const columns = await sql<{ table_name: string; column_name: string }>(
      sys.orm,
      `select table_name, column_name from information_schema.columns
       where table_schema = 'public' and data_type in ('text', 'character varying', 'json', 'jsonb')`,
    );
    expect(columns.length).toBeGreaterThan(10);
    let scanned = 0;
    for (const { table_name, column_name } of columns) {
      const rows = await sql<{ v: string | null }>(
        sys.orm,
        `select string_agg("${column_name}"::text, E'\\n') as v from "${table_name}"`,
      );
      const text = rows[0]?.v ?? '';
      scanned += text.length;
      for (const token of tokens) expect(text.includes(token), `${table_name}.${column_name}`).toBe(false);
    }
    expect(scanned).toBeGreaterThan(0);
  });
});
