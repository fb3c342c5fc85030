import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokensAad } from '../../activities/connections.ts';
import type { DeletionKind } from '../../db/entities/index.ts';
import { DELETION_GRAPH } from '../../domain/deletion-graph.ts';
import { certificate } from '../../lib/compliance.ts';
import { createDeletionRequest } from '../../lib/deletion-requests.ts';
import { createStorage, type ObjectStorage } from '../../lib/storage.ts';
import { lazyClient } from '../../lib/temporal.ts';
import { encryptSecret } from '../../lib/vault.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { startDeletion } from '../../workflows/deletion.client.ts';
import { deletionWorkflowId } from '../../workflows/deletion.messages.ts';
import {
  bearer,
  createTestSystem,
  createWorkspace,
  eventually,
  recordHistory,
  signUp,
  sql,
  type TestSystem,
} from '../helpers.ts';
import { admin, consent } from '../platforms/contract.ts';

// Property-style deletion: random populations with rows in every table, one subject deleted, then
// (1) no row anywhere reaches the subject or what hangs off it, (2) every other row is byte-for-byte
// what it was, (3) the evidence counts each deleted row exactly once. Repeated with a worker restart
// in the middle and with the upstream revoke failing for a while.

let sys: TestSystem;
let sim: Simulator;
let client: Client;
let storage: ObjectStorage;

beforeAll(async () => {
  sim = await startSimulator();
  sys = await createTestSystem({
    SIMULATOR_URL: sim.url,
    // Its own data folder: files written here are this file's alone.
    DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'switchboard-deletion-')),
    DELETION_GRACE_SECONDS: '0',
    DELETION_RETRY_MAX_SECONDS: '2',
  });
  client = lazyClient(sys.config).client;
  storage = createStorage(sys.config);
});
afterAll(async () => {
  await client?.connection.close();
  if (sys) rmSync(sys.config.dataDir, { recursive: true, force: true });
  await sys?.close();
  await sim?.close();
});

/** mulberry32: a seeded generator, so a failing seed can be replayed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)] as T,
    chance: (p: number) => next() < p,
  };
}

interface Pop {
  users: { id: string; email: string }[];
  /** Storage keys of attachments, to check that objects go with their rows. */
  objects: string[];
  workspaces: {
    id: string;
    members: { userId: string; role: string }[];
    connections: string[];
    /** Publish targets by connection: their attempts hang off the connection through them. */
    targets: Record<string, string>;
    /** Inbox messages by connection: their attachments hang off the connection through them. */
    messages: Record<string, string>;
    /** Media files: their derived rows and every object under their storage prefix go with them. */
    files: string[];
  }[];
}

const exec = (q: string, params: unknown[] = []) => sys.orm.em.getConnection().execute(q, params, 'run');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function exportFile(id: string): Promise<string> {
  const rel = path.join('exports', `test-${id}.zip`);
  mkdirSync(path.join(sys.config.dataDir, 'exports'), { recursive: true });
  writeFileSync(path.join(sys.config.dataDir, rel), 'zip');
  return rel;
}

/** A random neighbourhood: users, shared and private workspaces, connections, and rows in every table. */
async function populate(seed: number): Promise<Pop> {
  const r = rng(seed);
  const pop: Pop = { users: [], workspaces: [], objects: [] };
  for (let i = r.int(3, 5); i > 0; i--) {
    const id = randomUUID();
    const email = `p${seed}-${id.slice(0, 8)}@example.com`;
    pop.users.push({ id, email });
    await exec(`insert into users (id, email, name, created_at, updated_at) values (?, ?, 'P', now(), now())`, [
      id,
      email,
    ]);
    for (let s = r.int(1, 2); s > 0; s--) {
      await exec(
        `insert into sessions (id, user_id, token_hash, created_at, expires_at) values (?, ?, ?, now(), now() + interval '1 day')`,
        [randomUUID(), id, sha(randomUUID())],
      );
    }
    for (let s = r.int(0, 2); s > 0; s--) {
      await exec(
        `insert into api_tokens (id, user_id, name, token_hash, hint, created_at) values (?, ?, 't', ?, 'sbt_x', now())`,
        [randomUUID(), id, sha(randomUUID())],
      );
    }
    if (r.chance(0.5)) {
      await exec(
        `insert into user_identities (id, user_id, provider, subject, created_at) values (?, ?, 'google', ?, now())`,
        [randomUUID(), id, randomUUID()],
      );
    }
    for (let s = r.int(0, 3); s > 0; s--) {
      await exec(
        `insert into request_logs (at, request_id, ip, method, path, status, duration_ms, user_id)
           values (now(), ?, '127.0.0.1', 'GET', '/v1/me', 200, 3, ?)`,
        [randomUUID(), id],
      );
    }
    await exec(
      `insert into login_throttles (key, failures, window_started_at, updated_at) values (?, 1, now(), now())`,
      [`acct:${sha(email)}`],
    );
    if (r.chance(0.5)) {
      const exportId = randomUUID();
      await exec(
        `insert into data_exports (id, kind, subject_id, requested_by, status, path, created_at) values (?, 'account', ?, ?, 'ready', ?, now())`,
        [exportId, id, id, await exportFile(exportId)],
      );
    }
  }
  for (let w = r.int(2, 4); w > 0; w--) {
    const id = randomUUID();
    await exec(`insert into workspaces (id, name, created_at, updated_at) values (?, 'W', now(), now())`, [id]);
    const owner = r.pick(pop.users);
    const members = [{ userId: owner.id, role: 'owner' }];
    for (const u of pop.users) {
      if (u !== owner && r.chance(0.4)) members.push({ userId: u.id, role: r.pick(['owner', 'admin', 'member']) });
    }
    for (const m of members) {
      await exec(`insert into memberships (id, workspace_id, user_id, role, created_at) values (?, ?, ?, ?, now())`, [
        randomUUID(),
        id,
        m.userId,
        m.role,
      ]);
    }
    const ws = {
      id,
      members,
      connections: [] as string[],
      targets: {} as Record<string, string>,
      messages: {} as Record<string, string>,
      files: [] as string[],
    };
    pop.workspaces.push(ws);
    for (let i = r.int(0, 2); i > 0; i--) {
      const invitee = r.chance(0.5) ? r.pick(pop.users).email : `outside-${randomUUID().slice(0, 6)}@example.com`;
      await exec(
        `insert into invitations (id, workspace_id, email, role, token_hash, status, invited_by_id, created_at, expires_at)
           values (?, ?, ?, 'member', ?, 'pending', ?, now(), now() + interval '7 days')`,
        [randomUUID(), id, invitee, sha(randomUUID()), r.pick(members).userId],
      );
    }
    for (let i = r.int(0, 2); i > 0; i--) {
      // Already disconnected: the upstream side is covered by the live connection in other tests.
      const connectionId = randomUUID();
      ws.connections.push(connectionId);
      await exec(
        `insert into connections (id, workspace_id, platform, external_id, display_name, status, scopes, token_issued_at,
           connected_by_id, created_at, updated_at, revoke_outcome)
         values (?, ?, ?, ?, 'C', 'disconnected', '[]', now(), ?, now(), now(), 'revoked_upstream')`,
        [connectionId, id, r.pick(['x', 'instagram', 'youtube']), randomUUID(), r.pick(members).userId],
      );
      await exec(
        `insert into connection_tokens (connection_id, ciphertext, key_id, version, updated_at) values (?, ?, ?, 1, now())`,
        // Real ciphertext: other tests (key rotation) read every stored token.
        [
          connectionId,
          encryptSecret(sys.config.keyRing, randomUUID(), tokensAad(connectionId)),
          sys.config.keyRing.currentId,
        ],
      );
      if (r.chance(0.5)) {
        await exec(
          `insert into notices (id, workspace_id, connection_id, kind, message, created_at) values (?, ?, ?, 'x', 'm', now())`,
          [randomUUID(), id, connectionId],
        );
      }
      if (r.chance(0.3)) {
        await exec(
          `insert into oauth_states (id, purpose, state_hash, provider, user_id, workspace_id, created_at, expires_at, connection_id)
             values (?, 'connect', ?, 'x', ?, ?, now(), now(), ?)`,
          [randomUUID(), sha(randomUUID()), owner.id, id, connectionId],
        );
      }
    }
    // Content and publishing: every table of the content model, targets on this workspace's connections.
    const creator = r.pick(members).userId;
    const columnId = randomUUID();
    const tagId = randomUUID();
    const templateId = randomUUID();
    const postId = randomUUID();
    await exec(
      `insert into board_columns (id, workspace_id, name, position, created_at) values (?, ?, 'Col', 0, now())`,
      [columnId, id],
    );
    await exec(`insert into tags (id, workspace_id, name, created_at) values (?, ?, ?, now())`, [
      tagId,
      id,
      `t${randomUUID().slice(0, 8)}`,
    ]);
    await exec(
      `insert into templates (id, workspace_id, name, caption, created_by_id, created_at, updated_at) values (?, ?, 'T', 'c', ?, now(), now())`,
      [templateId, id, creator],
    );
    await exec(
      `insert into ideas (id, workspace_id, title, column_id, position, created_by_id, created_at, updated_at) values (?, ?, 'I', ?, 0, ?, now(), now())`,
      [randomUUID(), id, columnId, creator],
    );
    await exec(
      `insert into posts (id, workspace_id, column_id, position, template_id, requires_approval, approval_state, content_version, created_by_id, created_at, updated_at)
         values (?, ?, ?, 0, ?, true, 'pending', 1, ?, now(), now())`,
      [postId, id, columnId, templateId, creator],
    );
    await exec(`insert into post_tags (id, workspace_id, post_id, tag_id) values (?, ?, ?, ?)`, [
      randomUUID(),
      id,
      postId,
      tagId,
    ]);
    await exec(
      `insert into post_variants (id, workspace_id, post_id, platform, caption, media, options, updated_at) values (?, ?, ?, 'default', 'hello', '[]', '{}', now())`,
      [randomUUID(), id, postId],
    );
    await exec(
      `insert into approval_links (id, workspace_id, post_id, token_hash, created_by_id, created_at, expires_at, failed_attempts)
         values (?, ?, ?, ?, ?, now(), now() + interval '1 day', 0)`,
      [randomUUID(), id, postId, sha(randomUUID()), creator],
    );
    for (const connectionId of ws.connections) {
      const targetId = randomUUID();
      ws.targets[connectionId] = targetId;
      await exec(
        `insert into post_targets (id, workspace_id, post_id, connection_id, platform, status, schedule_version, created_at, updated_at)
           values (?, ?, ?, ?, 'x', 'published', 1, now(), now())`,
        [targetId, id, postId, connectionId],
      );
      await exec(
        `insert into publish_attempts (id, workspace_id, target_id, step, idempotency_key, content_version, state, started_at)
           values (?, ?, ?, 'commit', ?, 1, 'succeeded', now())`,
        [randomUUID(), id, targetId, `${targetId}:commit:1`],
      );
    }
    // Analytics and inbox: every sync table, on this workspace's connections, with a stored attachment.
    for (const connectionId of ws.connections) {
      const threadId = randomUUID();
      const messageId = randomUUID();
      ws.messages[connectionId] = messageId;
      const attachmentId = randomUUID();
      const key = `inbox/${id}/${attachmentId}`;
      await storage.put(key, Buffer.from(`attachment ${attachmentId}`));
      pop.objects.push(key);
      await exec(
        `insert into sync_states (connection_id, workspace_id, platform, status, passes, last_pass_metric_rows, last_pass_messages)
           values (?, ?, 'x', 'idle', 1, 3, 1)`,
        [connectionId, id],
      );
      await exec(
        `insert into sync_cursors (connection_id, stream, workspace_id, cursor, updated_at) values (?, 'media', ?, '{"sinceId":"1"}', now())`,
        [connectionId, id],
      );
      await exec(
        `insert into synced_media (id, workspace_id, connection_id, platform, external_id, published_at, fetched_at)
           values (?, ?, ?, 'x', ?, now(), now())`,
        [randomUUID(), id, connectionId, randomUUID()],
      );
      await exec(
        `insert into metric_points (workspace_id, connection_id, platform, object_kind, object_id, metric, value, delta, observed_at)
           values (?, ?, 'x', 'account', '', 'followers', ?, 1, now())`,
        [id, connectionId, r.int(1, 1000)],
      );
      await exec(
        `insert into metric_monthly (workspace_id, connection_id, platform, object_kind, metric, series, month, value, samples)
           values (?, ?, 'x', 'account', 'views', 'daily', '2023-01-01', 10, 31)`,
        [id, connectionId],
      );
      await exec(
        `insert into inbox_threads (id, workspace_id, connection_id, platform, kind, external_id, last_message_at, unread_count, created_at)
           values (?, ?, ?, 'x', 'dm', ?, now(), 1, now())`,
        [threadId, id, connectionId, randomUUID()],
      );
      await exec(
        `insert into inbox_messages (id, workspace_id, connection_id, thread_id, platform, external_id, direction,
           author_external_id, author_name, body, sent_at, received_at, fetched_at)
           values (?, ?, ?, ?, 'x', ?, 'in', 'fan', 'Fan', 'hello there', now(), now(), now())`,
        [messageId, id, connectionId, threadId, randomUUID()],
      );
      await exec(
        `insert into inbox_attachments (id, workspace_id, message_id, external_id, mime_type, size_bytes, storage_key, status, created_at)
           values (?, ?, ?, 'media-1', 'image/jpeg', 10, ?, 'stored', now())`,
        [attachmentId, id, messageId, key],
      );
      await exec(
        `insert into inbox_replies (id, workspace_id, connection_id, message_id, body, status, attempts, created_by_id, created_at)
           values (?, ?, ?, ?, 'thanks!', 'sent', 1, ?, now())`,
        [randomUUID(), id, connectionId, messageId, creator],
      );
      await exec(
        `insert into webhook_events (platform, dedupe_key, workspace_id, connection_id, received_at, processed_at)
           values ('x', ?, ?, ?, now(), now())`,
        [randomUUID(), id, connectionId],
      );
    }
    // Media library: files with their original, a thumbnail, texts and embedded chunks, and an
    // object a stage stored before its row (only the storage prefix reaches it).
    for (let f = r.int(1, 2); f > 0; f--) {
      const fileId = randomUUID();
      ws.files.push(fileId);
      const prefix = `media/${id}/${fileId}/`;
      for (const name of ['original', 'thumbnail', 'stray']) {
        await storage.put(`${prefix}${name}`, Buffer.from(`${name} of ${fileId}`));
        pop.objects.push(`${prefix}${name}`);
      }
      await exec(
        `insert into media_files (id, workspace_id, uploaded_by_id, name, tags, size_bytes, sha256, storage_key, status, stages, created_at, updated_at)
           values (?, ?, ?, 'clip.mp4', '{launch}', 10, ?, ?, 'ready', '{}', now(), now())`,
        [fileId, id, creator, sha(fileId), `${prefix}original`],
      );
      await exec(
        `insert into media_derivatives (id, file_id, workspace_id, kind, storage_key, mime_type, width, height, size_bytes, created_at)
           values (?, ?, ?, 'thumbnail', ?, 'image/webp', 32, 32, 10, now())`,
        [randomUUID(), fileId, id, `${prefix}thumbnail`],
      );
      await exec(
        `insert into media_texts (id, file_id, workspace_id, source, engine, text, segments, created_at)
           values (?, ?, ?, 'transcript', 'openai/whisper-1', 'hello launch', '[]', now())`,
        [randomUUID(), fileId, id],
      );
      await exec(
        `insert into media_chunks (file_id, workspace_id, source, seq, text, start_ms, end_ms, model, embedding)
           values (?, ?, 'transcript', 0, 'hello launch', 0, 900, 'text-embedding-3-small/512', '{0.6,0.8}')`,
        [fileId, id],
      );
    }
    if (r.chance(0.5)) {
      const exportId = randomUUID();
      await exec(
        `insert into data_exports (id, kind, subject_id, requested_by, status, path, created_at) values (?, 'workspace', ?, ?, 'ready', ?, now())`,
        [exportId, id, owner.id, await exportFile(exportId)],
      );
    }
  }
  return pop;
}

const SCANNED = DELETION_GRAPH.filter((t) => !t.retained && !t.system).map((t) => t.table);

/** Every row of every table deletion may touch, as its JSON text. */
async function snapshot(): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const table of SCANNED) {
    const rows = await sql<{ j: string }>(sys.orm, `select row_to_json(t)::text as j from ${table} t`);
    out.set(
      table,
      rows.map((r) => r.j),
    );
  }
  return out;
}

/** What deleting the subject must reach, worked out from the model (not from the graph). */
function dependents(pop: Pop, kind: DeletionKind, subjectId: string): string[] {
  const targetsOf = (connectionId: string) =>
    pop.workspaces.flatMap((w) => (w.targets[connectionId] ? [w.targets[connectionId] as string] : []));
  const messagesOf = (connectionId: string) =>
    pop.workspaces.flatMap((w) => (w.messages[connectionId] ? [w.messages[connectionId] as string] : []));
  if (kind === 'connection') return [subjectId, ...targetsOf(subjectId), ...messagesOf(subjectId)];
  if (kind === 'file') return [subjectId];
  if (kind === 'workspace') {
    const ws = pop.workspaces.find((w) => w.id === subjectId);
    return [subjectId, ...(ws?.connections ?? [])];
  }
  const user = pop.users.find((u) => u.id === subjectId);
  const alone = pop.workspaces.filter((w) => w.members.length === 1 && w.members[0]?.userId === subjectId);
  return [subjectId, user?.email ?? '', sha(user?.email ?? ''), ...alone.flatMap((w) => [w.id, ...w.connections])];
}

/** Users who can be deleted: not the only owner of a workspace with other members. */
const deletableUsers = (pop: Pop) =>
  pop.users.filter(
    (u) =>
      !pop.workspaces.some(
        (w) =>
          w.members.length > 1 &&
          w.members.some((m) => m.userId === u.id && m.role === 'owner') &&
          !w.members.some((m) => m.userId !== u.id && m.role === 'owner'),
      ),
  );

/** Seeds take turns at the three kinds; a population without one falls back to another. */
function chooseSubject(pop: Pop, seed: number, forced?: 'file'): { kind: DeletionKind; subjectId: string } {
  const r = rng(seed * 7 + 1);
  if (forced) return { kind: forced, subjectId: r.pick(pop.workspaces.flatMap((w) => w.files)) };
  const kinds: DeletionKind[] = ['workspace', 'account', 'connection'];
  for (let attempt = 0; attempt < 3; attempt++) {
    const kind = kinds[(seed + attempt) % 3] as DeletionKind;
    if (kind === 'workspace') return { kind, subjectId: r.pick(pop.workspaces).id };
    if (kind === 'account' && deletableUsers(pop).length) return { kind, subjectId: r.pick(deletableUsers(pop)).id };
    const conns = pop.workspaces.flatMap((w) => w.connections);
    if (kind === 'connection' && conns.length) return { kind, subjectId: r.pick(conns) };
  }
  return { kind: 'workspace', subjectId: pop.workspaces[0]?.id as string };
}

async function request(kind: DeletionKind, subjectId: string, workspaceId: string | null = null) {
  const { request: req } = await createDeletionRequest(
    sys.orm.em.fork(),
    { kind, subjectId, workspaceId, requestedBy: null, channel: 'operator' },
    sys.config.privacy,
  );
  await startDeletion(client, sys.config, req);
  return req.id;
}

const result = (requestId: string) => client.workflow.getHandle(deletionWorkflowId(requestId)).result();

/** Every id and address of a population: other test files share the database, so checks stay inside it. */
const popKeys = (pop: Pop) => [
  ...pop.users.flatMap((u) => [u.id, u.email, sha(u.email)]),
  ...pop.workspaces.flatMap((w) => [w.id, ...w.connections]),
];

async function checkDeletion(
  before: Map<string, string[]>,
  after: Map<string, string[]>,
  gone: string[],
  requestId: string,
  label: string,
  pop: Pop,
) {
  const keys = popKeys(pop);
  const ours = (rows: string[]) => rows.filter((row) => keys.some((k) => row.includes(k)));
  const cert = await certificate(sys.orm.em.fork(), requestId);
  expect(cert?.verification?.complete, `${label}: verification`).toBe(true);
  for (const table of SCANNED) {
    const was = ours(before.get(table) ?? []);
    const now = ours(after.get(table) ?? []);
    const nowSet = new Set(now);
    const reaches = (row: string) => gone.some((g) => g && row.includes(g));
    expect(now.filter(reaches), `${label}: ${table} still reaches the subject`).toEqual([]);
    expect(
      was.filter((row) => !reaches(row) && !nowSet.has(row)),
      `${label}: ${table} rows of other subjects changed`,
    ).toEqual([]);
    const deleted = was.length - now.length;
    const counted = cert?.deleted.find((d) => d.table === table)?.rows ?? 0;
    expect(counted, `${label}: ${table} deleted rows counted once`).toBe(deleted);
  }
}

describe('deletion', () => {
  it.each([
    [11, undefined],
    [23, undefined],
    [37, undefined],
    [41, undefined],
    [59, undefined],
    [73, undefined],
    [83, 'file'],
    [97, 'file'],
  ] as const)('seed %i: deletes exactly the subject and what hangs off it (%s)', async (seed, forced) => {
    const stop = await sys.startWorker();
    try {
      const pop = await populate(seed);
      const { kind, subjectId } = chooseSubject(pop, seed, forced);
      const gone = dependents(pop, kind, subjectId);
      const before = await snapshot();
      const exportFiles = await sql<{ id: string; path: string }>(
        sys.orm,
        'select id, path from data_exports where requested_by = any(?::uuid[])',
        [`{${pop.users.map((u) => u.id).join(',')}}`],
      );
      const requestId = await request(kind, subjectId);
      expect(await result(requestId)).toBe('completed');
      const after = await snapshot();
      await checkDeletion(before, after, gone, requestId, `seed ${seed} ${kind}`, pop);
      await recordHistory(client, deletionWorkflowId(requestId), 'deletionWorkflow', `${kind}-seed-${seed}`);
      // Files go with their rows, and only theirs.
      const left = new Set((await sql<{ id: string }>(sys.orm, 'select id from data_exports')).map((r) => r.id));
      for (const f of exportFiles) {
        expect(existsSync(path.join(sys.config.dataDir, f.path)), `export file ${f.id}`).toBe(left.has(f.id));
      }
      // An object stays exactly when a row still holds it (a stray one: when its file's row stays).
      const stored = new Set(
        (
          await sql<{ storage_key: string }>(
            sys.orm,
            `select storage_key from inbox_attachments union all select storage_key from media_files
             union all select storage_key from media_derivatives
             union all select 'media/' || workspace_id || '/' || id || '/stray' from media_files`,
          )
        ).map((r) => r.storage_key),
      );
      expect(pop.objects.length).toBeGreaterThan(0);
      for (const key of pop.objects) {
        expect(Boolean(await storage.stat(key)), `stored object ${key}`).toBe(stored.has(key));
      }
      // Running the request again deletes nothing more and reports the same evidence.
      const again = await certificate(sys.orm.em.fork(), requestId);
      await startDeletion(client, sys.config, { id: requestId, dueAt: new Date() });
      expect(await result(requestId)).toBe('completed');
      const keys = popKeys(pop);
      const ours = (m: Map<string, string[]>) =>
        [...m].map(([t, rows]) => [t, rows.filter((r) => keys.some((k) => r.includes(k)))]);
      expect(ours(await snapshot())).toEqual(ours(after));
      expect((await certificate(sys.orm.em.fork(), requestId))?.deleted).toEqual(again?.deleted);
    } finally {
      await stop();
    }
  });

  it('survives a worker restart in the middle and still deletes everything exactly once', async () => {
    let stop = await sys.startWorker();
    const pop = await populate(101);
    // Enough rows that the purge is still running when the worker stops.
    const ws = pop.workspaces[0] as Pop['workspaces'][number];
    await exec(
      `insert into notices (id, workspace_id, kind, message, created_at)
         select gen_random_uuid(), ?, 'bulk', 'm', now() from generate_series(1, 30000)`,
      [ws.id],
    );
    const gone = dependents(pop, 'workspace', ws.id);
    const before = await snapshot();
    const requestId = await request('workspace', ws.id);
    await eventually(async () => {
      const [row] = await sql<{ n: string }>(
        sys.orm,
        `select count(*)::text as n from deletion_steps where request_id = ? and name like 'purge:workspace:%'`,
        [requestId],
      );
      return Number(row?.n) > 0;
    });
    await stop();
    stop = await sys.startWorker();
    try {
      expect(await result(requestId)).toBe('completed');
      await checkDeletion(before, await snapshot(), gone, requestId, 'restart', pop);
      await recordHistory(client, deletionWorkflowId(requestId), 'deletionWorkflow', 'workspace-worker-restart');
    } finally {
      await stop();
    }
  });

  it('revokes a live connection upstream once, through 5xx answers, before deleting its rows', async () => {
    const stop = await sys.startWorker();
    try {
      const owner = await signUp(sys.app, 'upstream');
      const workspaceId = await createWorkspace(sys.app, owner.token);
      const start = await sys.app.inject({
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/connections`,
        headers: bearer(owner.token),
        payload: { platform: 'x' },
      });
      const cb = await sys.app.inject({
        method: 'GET',
        url: `/v1/connections/callback?${(await consent(start.json().authorizeUrl)).toString()}`,
      });
      expect(cb.statusCode, cb.body).toBe(200);
      const connectionId = cb.json().id as string;
      await admin(sim, 'POST', '/x/faults', { route: 'revoke', kind: 'http', status: 503, count: 2 });
      const revokesBefore = (await admin<unknown[]>(sim, 'GET', '/x/writes?route=revoke')).length;

      const res = await sys.app.inject({
        method: 'POST',
        url: `/v1/workspaces/${workspaceId}/connections/${connectionId}/deletion`,
        headers: bearer(owner.token),
      });
      expect(res.statusCode, res.body).toBe(202);
      expect(await result(res.json().id)).toBe('completed');
      await recordHistory(client, deletionWorkflowId(res.json().id), 'deletionWorkflow', 'connection-upstream-5xx');
      expect((await admin<unknown[]>(sim, 'GET', '/x/writes?route=revoke')).length - revokesBefore).toBe(1);
      const cert = await certificate(sys.orm.em.fork(), res.json().id);
      expect(cert?.upstreamRevocations).toEqual([
        expect.objectContaining({ connectionId, platform: 'x', outcome: 'revoked_upstream' }),
      ]);
      expect(await sql(sys.orm, 'select 1 from connections where id = ?', [connectionId])).toEqual([]);
      expect(await sql(sys.orm, 'select 1 from connection_tokens where connection_id = ?', [connectionId])).toEqual([]);
    } finally {
      await stop();
    }
  });
});
