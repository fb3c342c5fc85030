// Properties that must hold for every route, driven by the OpenAPI document the routes generate,
// so a new route is covered the moment it is added.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_STAGES } from '../../db/entities/index.ts';
import { createStorage } from '../../lib/storage.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import {
  bearer,
  createTestSystem,
  createWorkspace,
  eventually,
  PASSWORD,
  sendInvitation,
  signUp,
  sql,
  type TestSystem,
  uniqueEmail,
} from '../helpers.ts';
import { consent } from '../platforms/contract.ts';

type Schema = {
  type?: string;
  format?: string;
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  anyOf?: Schema[];
  pattern?: string;
};
type Param = { in: 'path' | 'query'; name: string; schema: Schema; required?: boolean };
type Operation = { method: string; path: string; params: Param[]; body?: Schema; secured: boolean };

let sys: TestSystem;
let ops: Operation[];

function operations(doc: {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: Param[];
        requestBody?: { content: Record<string, { schema: Schema }> };
        security?: unknown[];
      }
    >
  >;
}) {
  const out: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (!path.startsWith('/v1/')) continue;
    for (const [method, op] of Object.entries(methods)) {
      out.push({
        method: method.toUpperCase(),
        path,
        params: op.parameters ?? [],
        body: op.requestBody?.content['application/json']?.schema,
        secured: Boolean(op.security?.length),
      });
    }
  }
  return out;
}

/** A value the schema accepts. */
function sample(schema: Schema, name = ''): unknown {
  if (schema.enum) return schema.enum.includes('member') ? 'member' : schema.enum[0];
  if (schema.anyOf) return sample(schema.anyOf[0]!, name);
  if (schema.format === 'email') return uniqueEmail('sample');
  if (schema.format === 'uuid') return randomUUID();
  if (schema.format === 'date-time') return new Date(Date.now() + 86_400_000).toISOString();
  if (schema.type === 'integer' || schema.type === 'number') return schema.minimum ?? 1;
  if (schema.pattern?.includes('\\d{4}-\\d{2}-\\d{2}')) return '2027-01-01';
  if (schema.type === 'array') {
    const s = schema as Schema & { minItems?: number; items?: Schema };
    return Array.from({ length: s.minItems ?? 0 }, () => sample(s.items!, name));
  }
  if (schema.type === 'object') {
    return Object.fromEntries((schema.required ?? []).map((key) => [key, sample(schema.properties![key]!, key)]));
  }
  const length = Math.min(Math.max(schema.minLength ?? 1, 12), schema.maxLength ?? 12);
  return name === 'token' ? `sbi_${'x'.repeat(length)}` : 'x'.repeat(length);
}

/** A value of the wrong JSON type for the schema. */
function wrongType(schema: Schema): unknown {
  return schema.type === 'integer' || schema.type === 'number' ? 'not a number' : 12345;
}

/** The operation's path with ids filled in, plus its required query (tenant ids where a parameter names one). */
function fill(op: Operation, ids: Record<string, string>, query: Record<string, string> = {}): string {
  const path = op.path.replace(/\{(\w+)\}/g, (_, k: string) => ids[k] ?? randomUUID());
  const q = new URLSearchParams();
  for (const p of op.params) {
    if (p.in === 'query' && p.required) q.set(p.name, ids[p.name] ?? String(sample(p.schema, p.name)));
  }
  // A calendar range must have its end after its start.
  if (op.path.endsWith('/calendar')) {
    q.set('from', '2027-01-01T00:00:00Z');
    q.set('to', '2027-01-02T00:00:00Z');
  }
  for (const [k, v] of Object.entries(query)) q.set(k, v);
  const text = q.toString();
  return text ? `${path}?${text}` : path;
}

/** Row counts of every application table, to prove a refused request wrote nothing. */
async function rowCounts(): Promise<Record<string, number>> {
  const tables = await sql<{ tablename: string }>(
    sys.orm,
    `select tablename from pg_tables where schemaname = 'public' and tablename not in ('request_logs', 'mikro_orm_migrations')`,
  );
  const counts: Record<string, number> = {};
  for (const { tablename } of tables) {
    const [row] = await sql<{ n: number }>(sys.orm, `select count(*)::int as n from "${tablename}"`);
    counts[tablename] = row!.n;
  }
  return counts;
}

interface Tenant {
  inbox: { threadId: string; messageId: string; replyId: string };
  postId: string;
  targetId: string;
  board: { tagId: string; columnId: string; templateId: string; ideaId: string; linkId: string };
  user: { id: string; token: string; email: string };
  workspaceId: string;
  invitationId: string;
  tokenId: string;
  connectionId: string;
  exportId: string;
  media: { fileId: string; kind: string };
}

async function tenant(label: string): Promise<Tenant> {
  const user = await signUp(sys.app, label);
  const workspaceId = await createWorkspace(sys.app, user.token, label);
  const invite = await sendInvitation(sys.app, user.token, workspaceId, uniqueEmail('invitee'), 'member');
  expect(invite.statusCode).toBe(201);
  const token = await sys.app.inject({
    method: 'POST',
    url: '/v1/tokens',
    headers: bearer(user.token),
    payload: { name: 'ci' },
  });
  const start = await sys.app.inject({
    method: 'POST',
    url: `/v1/workspaces/${workspaceId}/connections`,
    headers: bearer(user.token),
    payload: { platform: 'x' },
  });
  const query = await consent(start.json().authorizeUrl);
  const connection = await sys.app.inject({ method: 'GET', url: `/v1/connections/callback?${query}` });
  expect(connection.statusCode).toBe(200);
  const exported = await sys.app.inject({
    method: 'POST',
    url: '/v1/account/exports',
    headers: bearer(user.token),
    payload: { password: PASSWORD },
  });
  expect(exported.statusCode, exported.body).toBe(202);
  // Let the export workflow finish, so it writes nothing while later tests count rows.
  await eventually(async () => {
    const res = await sys.app.inject({
      method: 'GET',
      url: `/v1/exports/${exported.json().id}`,
      headers: bearer(user.token),
    });
    return res.json().status === 'ready';
  });
  const post = await sys.app.inject({
    method: 'POST',
    url: `/v1/workspaces/${workspaceId}/posts`,
    headers: bearer(user.token),
    payload: {
      variants: [{ platform: 'default', caption: 'hi', media: [] }],
      targets: [{ connectionId: connection.json().id }],
    },
  });
  expect(post.statusCode, post.body).toBe(201);
  const create = async (path: string, payload: object) => {
    const res = await sys.app.inject({
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}${path}`,
      headers: bearer(user.token),
      payload,
    });
    expect(res.statusCode, `${path} ${res.body}`).toBe(201);
    return res.json();
  };
  const board = {
    tagId: (await create('/tags', { name: `tag-${label}` })).id,
    columnId: (await create('/columns', { name: 'Ideas' })).id,
    templateId: (await create('/templates', { name: 'T', caption: 'c' })).id,
    ideaId: (await create('/ideas', { title: 'An idea' })).id,
    linkId: (await create(`/posts/${post.json().id}/approval-links`, {})).link.id,
  };
  // The connection's first sync pass (started by connecting) is over before rows are counted.
  await eventually(
    async () =>
      (await sql(sys.orm, 'select 1 from sync_states where connection_id = ? and passes >= 1', [connection.json().id]))
        .length === 1,
  );
  // An inbox thread with a message and a reply, as a sync and a reply would leave them.
  const inbox = { threadId: randomUUID(), messageId: randomUUID(), replyId: randomUUID() };
  await sql(
    sys.orm,
    `insert into inbox_threads (id, workspace_id, connection_id, platform, kind, external_id, last_message_at, unread_count, created_at)
     values (?, ?, ?, 'x', 'mention', ?, now(), 1, now())`,
    [inbox.threadId, workspaceId, connection.json().id, randomUUID()],
  );
  await sql(
    sys.orm,
    `insert into inbox_messages (id, workspace_id, connection_id, thread_id, platform, external_id, direction,
       author_external_id, body, sent_at, received_at, fetched_at)
     values (?, ?, ?, ?, 'x', ?, 'in', '42', 'hello', now(), now(), now())`,
    [inbox.messageId, workspaceId, connection.json().id, inbox.threadId, randomUUID()],
  );
  await sql(
    sys.orm,
    `insert into inbox_replies (id, workspace_id, connection_id, message_id, body, status, attempts, created_at)
     values (?, ?, ?, ?, 'hi back', 'sent', 1, now())`,
    [inbox.replyId, workspaceId, connection.json().id, inbox.messageId],
  );
  // A media file with a thumbnail, stored as an upload and its ingest would leave them.
  const media = { fileId: randomUUID(), kind: 'thumbnail' };
  const storage = createStorage(sys.config);
  const original = `media/${workspaceId}/${media.fileId}/original`;
  const thumbnail = `media/${workspaceId}/${media.fileId}/thumbnail.webp`;
  await storage.put(original, Buffer.from('original bytes'));
  await storage.put(thumbnail, Buffer.from('thumbnail bytes'));
  await sql(
    sys.orm,
    `insert into media_files (id, workspace_id, name, size_bytes, sha256, storage_key, status, stages, created_at, updated_at)
     values (?, ?, 'a.bin', 14, ?, ?, 'ready', ?::jsonb, now(), now())`,
    [
      media.fileId,
      workspaceId,
      'a'.repeat(64),
      original,
      JSON.stringify(Object.fromEntries(MEDIA_STAGES.map((stage) => [stage, { status: 'done' }]))),
    ],
  );
  await sql(
    sys.orm,
    `insert into media_derivatives (id, file_id, workspace_id, kind, storage_key, mime_type, width, height, size_bytes, created_at)
     values (?, ?, ?, 'thumbnail', ?, 'image/webp', 1, 1, 15, now())`,
    [randomUUID(), media.fileId, workspaceId, thumbnail],
  );
  return {
    media,
    inbox,
    board,
    postId: post.json().id,
    targetId: post.json().targets[0].id,
    user,
    workspaceId,
    invitationId: invite.json().invitation.id,
    tokenId: token.json().id,
    connectionId: connection.json().id,
    exportId: exported.json().id,
  };
}

const idsOf = (t: Tenant) => ({
  workspaceId: t.workspaceId,
  invitationId: t.invitationId,
  userId: t.user.id,
  tokenId: t.tokenId,
  connectionId: t.connectionId,
  exportId: t.exportId,
  postId: t.postId,
  targetId: t.targetId,
  ...t.board,
  ...t.inbox,
  ...t.media,
});

let a: Tenant;
let b: Tenant;

let sim: Simulator;
const storageDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-routes-'));

beforeAll(async () => {
  sim = await startSimulator();
  sys = await createTestSystem({ SIMULATOR_URL: sim.url, STORAGE_DIR: storageDir });
  await sys.startWorker();
  ops = operations(sys.app.swagger() as never);
  a = await tenant('tenant-a');
  b = await tenant('tenant-b');
});
afterAll(async () => {
  await sys.close();
  await sim.close();
  rmSync(storageDir, { recursive: true, force: true });
});

describe('every route', () => {
  it('is found in the OpenAPI document (account, token, workspace, member and invitation routes)', () => {
    const paths = new Set(ops.map((o) => o.path));
    for (const p of [
      '/v1/accounts',
      '/v1/sessions',
      '/v1/tokens',
      '/v1/workspaces/{workspaceId}',
      '/v1/workspaces/{workspaceId}/members/{userId}',
      '/v1/workspaces/{workspaceId}/invitations/{invitationId}',
      '/v1/invitations/accept',
    ]) {
      expect(paths).toContain(p);
    }
  });

  it("gives a member of workspace A 404 for workspace B's resources, and changes nothing of B's", async () => {
    // Tenant-scoped: authenticated routes with ids in the path. Public routes (callbacks, status
    // pages) and the instance-wide compliance API (role-gated, tested on its own) are not.
    const scoped = ops.filter(
      (o) => o.secured && !o.path.startsWith('/v1/compliance/') && o.params.some((p) => p.in === 'path'),
    );
    expect(scoped.length).toBeGreaterThanOrEqual(8);
    const before = await rowCounts();
    for (const op of scoped) {
      const res = await sys.app.inject({
        method: op.method as 'GET',
        url: fill(op, idsOf(b)),
        headers: bearer(a.user.token),
        ...(op.body ? { payload: sample(op.body) as object } : {}),
      });
      expect(res.statusCode, `${op.method} ${op.path}`).toBe(404);
      expect(res.json().error.code, `${op.method} ${op.path}`).toBe('NOT_FOUND');
    }
    // Mixed: A's own workspace with B's invitation, member or token: still not found.
    for (const op of scoped.filter((o) => o.params.filter((p) => p.in === 'path').length > 1)) {
      const res = await sys.app.inject({
        method: op.method as 'GET',
        url: fill(op, { ...idsOf(b), workspaceId: a.workspaceId }),
        headers: bearer(a.user.token),
        ...(op.body ? { payload: sample(op.body) as object } : {}),
      });
      expect(res.statusCode, `${op.method} ${op.path} (mixed ids)`).toBe(404);
    }
    expect(await rowCounts()).toEqual(before);
    // And the same reads with A's own ids do find A's resources, so the 404s above are not a blanket answer.
    for (const op of scoped.filter((o) => o.method === 'GET')) {
      const res = await sys.app.inject({ method: 'GET', url: fill(op, idsOf(a)), headers: bearer(a.user.token) });
      expect(res.statusCode, `${op.method} ${op.path} (own ids)`).toBe(200);
    }
    const own = await sys.app.inject({
      method: 'GET',
      url: `/v1/workspaces/${b.workspaceId}/invitations/${b.invitationId}`,
      headers: bearer(b.user.token),
    });
    expect(own.json().status).toBe('pending');
  });

  it('answers bad input with a 4xx JSON error naming the problem, never 500, and writes nothing', async () => {
    const before = await rowCounts();
    const checked: string[] = [];
    const send = async (
      op: Operation,
      what: string,
      opts: { payload?: unknown; url?: string; headers?: Record<string, string> },
      status: number,
      field?: string,
    ) => {
      const res = await sys.app.inject({
        method: op.method as 'POST',
        url: opts.url ?? fill(op, idsOf(a)),
        headers: { ...bearer(a.user.token), ...opts.headers },
        ...(opts.payload === undefined ? {} : { payload: opts.payload as string }),
      });
      const label = `${op.method} ${op.path}: ${what}`;
      expect(res.statusCode, label).toBe(status);
      expect(res.headers['content-type'], label).toMatch(/application\/json/);
      const error = res.json().error;
      expect(error.code, label).toBeTruthy();
      expect(error.message, label).toBeTruthy();
      if (field) expect(error.field, label).toBe(field);
      checked.push(label);
    };

    for (const op of ops) {
      for (const p of op.params) {
        if (p.in === 'path' && p.schema.format === 'uuid') {
          await send(
            op,
            `malformed ${p.name}`,
            {
              url: fill(op, { ...idsOf(a), [p.name]: 'not-a-uuid' }),
              payload: op.body ? sample(op.body) : undefined,
            },
            400,
            `params.${p.name}`,
          );
        }
        if (p.in === 'query' && p.schema.enum) {
          await send(
            op,
            `bad ${p.name}`,
            { url: fill(op, idsOf(a), { [p.name]: 'bogus' }) },
            400,
            `querystring.${p.name}`,
          );
        }
      }
      if (!op.body) continue;
      const valid = sample(op.body) as Record<string, unknown>;
      const json = { 'content-type': 'application/json' };
      await send(op, 'malformed JSON', { payload: '{"a": ', headers: json }, 400);
      await send(op, 'empty body', { payload: '', headers: json }, 400);
      await send(op, 'JSON array', { payload: '[]', headers: json }, 400, 'body');
      await send(op, 'wrong content type', { payload: 'hello', headers: { 'content-type': 'text/plain' } }, 415);
      await send(
        op,
        'oversized body',
        { payload: JSON.stringify({ ...valid, pad: 'x'.repeat(sys.config.bodyLimitBytes) }), headers: json },
        413,
      );
      await send(op, 'extra field', { payload: { ...valid, unexpected: 1 } }, 400, 'body.unexpected');
      for (const key of op.body.required ?? []) {
        const { [key]: _, ...rest } = valid;
        await send(op, `missing ${key}`, { payload: rest }, 400, `body.${key}`);
      }
      for (const [key, schema] of Object.entries(op.body.properties ?? {})) {
        await send(
          op,
          `${key} of the wrong type`,
          { payload: { ...valid, [key]: wrongType(schema) } },
          400,
          `body.${key}`,
        );
        if (schema.type === 'string' && !schema.enum) {
          await send(
            op,
            `${key} with a NUL character`,
            { payload: { ...valid, [key]: `a\u0000b` } },
            400,
            `body.${key}`,
          );
        }
        if (schema.maxLength) {
          await send(
            op,
            `${key} too long`,
            { payload: { ...valid, [key]: 'a'.repeat(schema.maxLength + 1) } },
            400,
            `body.${key}`,
          );
        }
      }
    }
    expect(checked.length).toBeGreaterThan(60);
    expect(await rowCounts()).toEqual(before);
  });
});
