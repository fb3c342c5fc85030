import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBufferPromise } from 'yauzl';
import { tokensAad } from '../../activities/connections.ts';
import { DELETION_GRAPH, reachedBy } from '../../domain/deletion-graph.ts';
import { PROJECT_ROOT } from '../../lib/config.ts';
import {
  buildExportZip,
  EXPORT_SCHEMA_ID,
  EXPORT_SCHEMA_VERSION,
  expireExports,
  exportTables,
  type Manifest,
} from '../../lib/export.ts';
import { sha256 } from '../../lib/secrets.ts';
import { encryptSecret } from '../../lib/vault.ts';
import { exportResult, startExport } from '../../workflows/export.client.ts';
import { exportWorkflowId } from '../../workflows/export.messages.ts';
import {
  bearer,
  createTestSystem,
  createWorkspace,
  historyText,
  PASSWORD,
  recordHistory,
  sendInvitation,
  signUp,
  sql,
  type TestSystem,
  uniqueEmail,
} from '../helpers.ts';

// Portability exports end to end: the API, the real export workflow and worker, the ZIP read back
// with yauzl and checked against the deletion graph, the JSON Schema it ships and PostgreSQL.

let sys: TestSystem;
let short: TestSystem;
let client: Client;
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-export-'));
  dirs.push(dir);
  return dir;
};

beforeAll(async () => {
  sys = await createTestSystem({ DATA_DIR: tempDir() });
  await sys.startWorker();
  short = await createTestSystem({ DATA_DIR: tempDir(), EXPORT_LINK_TTL_SECONDS: '1' });
  await short.startWorker();
  client = sys.app.deps.temporal;
});
afterAll(async () => {
  await short?.close();
  await sys?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

type Row = Record<string, unknown>;
const BULK_NOTICES = 1100;
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

async function unzip(buffer: Buffer): Promise<Map<string, Buffer>> {
  const zip = await fromBufferPromise(buffer, { lazyEntries: true });
  const entries = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry) => {
      zip
        .openReadStreamPromise(entry)
        .then(async (stream) => {
          const chunks: Buffer[] = [];
          for await (const chunk of stream) chunks.push(chunk as Buffer);
          entries.set(entry.fileName, Buffer.concat(chunks));
          zip.readEntry();
        })
        .catch(reject);
    });
    zip.on('end', () => resolve());
    zip.on('error', reject);
    zip.readEntry();
  });
  return entries;
}

/** RFC 4180: CRLF-terminated records, fields quoted when needed, "" for a quote inside quotes. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '' && !wasQuoted) {
      quoted = wasQuoted = true;
    } else if (ch === ',') {
      record.push(field);
      field = '';
      wasQuoted = false;
    } else if (ch === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      wasQuoted = false;
      i++;
    } else if (ch === '\r' || ch === '\n' || ch === '"') {
      throw new Error(`unquoted ${JSON.stringify(ch)} at ${i}`);
    } else field += ch;
  }
  if (quoted || field !== '' || record.length > 0) throw new Error('the last record is not terminated by CRLF');
  return records;
}

const api = (token: string, method: 'GET' | 'POST', url: string, payload?: object) =>
  sys.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });

/** The tables a subject kind reaches in the graph, and the SQL count of its rows in each. */
async function graphCounts(kind: 'account' | 'workspace', subjectId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const byTable = new Map<string, string[]>();
  for (const { table, reach } of reachedBy(kind)) {
    if (table.system) continue;
    byTable.set(table.table, [...(byTable.get(table.table) ?? []), reach.where]);
  }
  for (const [table, wheres] of byTable) {
    const params = wheres.flatMap((w) => Array(w.split('?').length - 1).fill(subjectId));
    const [row] = await sql<{ n: string }>(
      sys.orm,
      `select count(*)::text as n from ${table} where ${wheres.map((w) => `(${w})`).join(' or ')}`,
      params,
    );
    out[table] = Number(row?.n);
  }
  return out;
}

/** Everything that must never leave the database, for the subjects of this scenario. */
async function secretsOf(userIds: string[], workspaceId: string): Promise<string[]> {
  const values = await sql<{ v: string }>(
    sys.orm,
    `select password_hash as v from users where id = any(?::uuid[]) and password_hash is not null
     union all select token_hash from sessions where user_id = any(?::uuid[])
     union all select token_hash from api_tokens where user_id = any(?::uuid[])
     union all select token_hash from invitations where workspace_id = ?
     union all select ciphertext from connection_tokens where connection_id in (select id from connections where workspace_id = ?)
     union all select token_hash from data_exports where requested_by = any(?::uuid[]) and token_hash is not null`,
    [`{${userIds}}`, `{${userIds}}`, `{${userIds}}`, workspaceId, workspaceId, `{${userIds}}`],
  );
  return values.map((r) => r.v);
}

/** Owner, a second member (invited, accepted), a pending invitation, an API token, a connection with tokens, notices. */
async function scenario() {
  const owner = await signUp(sys.app, 'owner');
  const member = await signUp(sys.app, 'member');
  const workspaceId = await createWorkspace(sys.app, owner.token, 'Export, "quoted" workspace');
  const invited = await sendInvitation(sys.app, owner.token, workspaceId, member.email, 'member');
  expect(invited.statusCode, invited.body).toBe(201);
  const invitationToken = invited.json().token as string;
  const accepted = await api(member.token, 'POST', '/v1/invitations/accept', { token: invitationToken });
  expect(accepted.statusCode, accepted.body).toBe(200);
  const strangerEmail = uniqueEmail('stranger');
  expect((await sendInvitation(sys.app, owner.token, workspaceId, strangerEmail, 'member')).statusCode).toBe(201);

  const apiToken = await api(owner.token, 'POST', '/v1/tokens', { name: 'ci, nightly' });
  expect(apiToken.statusCode).toBe(201);

  const connectionId = randomUUID();
  // Real ciphertext under the test system's key: other tests (key rotation) read every stored token.
  const ciphertext = encryptSecret(sys.config.keyRing, `token-${randomUUID()}`, tokensAad(connectionId));
  await sql(
    sys.orm,
    `insert into connections (id, workspace_id, platform, external_id, display_name, handle, external_ids, status,
       scopes, token_issued_at, connected_by_id, created_at, updated_at)
     values (?, ?, 'youtube', ?, 'Channel, "main"', '@main', '{"uploads":"UU1"}'::jsonb, 'active',
       '["youtube.readonly","youtube.upload"]'::jsonb, now(), ?, now(), now())`,
    [connectionId, workspaceId, `UC${randomUUID()}`, owner.id],
  );
  await sql(
    sys.orm,
    `insert into connection_tokens (connection_id, ciphertext, key_id, version, updated_at) values (?, ?, ?, 1, now())`,
    [connectionId, ciphertext, sys.config.keyRing.currentId],
  );
  const noticeMessage = 'Reconnect "YouTube", please\r\nthen retry';
  await sql(
    sys.orm,
    `insert into notices (id, workspace_id, connection_id, kind, message, created_at)
     values (?, ?, ?, 'needs_reconnect', ?, now()), (?, ?, null, 'info', 'plain', now())`,
    [randomUUID(), workspaceId, connectionId, noticeMessage, randomUUID(), workspaceId],
  );
  // More rows than one page, so the export pages through them.
  await sql(
    sys.orm,
    `insert into notices (id, workspace_id, kind, message, created_at)
     select gen_random_uuid(), ?, 'bulk', 'notice ' || n, now() from generate_series(1, ?) n`,
    [workspaceId, BULK_NOTICES],
  );
  await sql(
    sys.orm,
    `insert into user_identities (id, user_id, provider, subject, created_at) values (?, ?, 'google', ?, now())`,
    [randomUUID(), owner.id, `sub-${randomUUID()}`],
  );
  return {
    owner,
    member,
    workspaceId,
    connectionId,
    noticeMessage,
    strangerEmail,
    raw: [owner.token, member.token, invitationToken, apiToken.json().token as string, ciphertext],
  };
}

async function requestExport(token: string, url: string) {
  const res = await api(token, 'POST', url, { password: PASSWORD });
  expect(res.statusCode, res.body).toBe(202);
  const body = res.json();
  expect(body.status).toBe('pending');
  expect(body.token).toMatch(/^sbx_[A-Za-z0-9_-]{43}$/);
  expect(body.downloadUrl).toContain(`/v1/exports/${body.id}/download?token=`);
  const [row] = await sql<{ token_hash: string }>(sys.orm, 'select token_hash from data_exports where id = ?', [
    body.id,
  ]);
  expect(row?.token_hash).toBe(sha256(body.token));
  return { id: body.id as string, token: body.token as string };
}

async function download(id: string, token: string, system = sys) {
  return system.app.inject({ method: 'GET', url: `/v1/exports/${id}/download?token=${encodeURIComponent(token)}` });
}

interface Checked {
  manifest: Manifest;
  schema: { $defs: Record<string, { properties: Record<string, Record<string, unknown>> }> };
  entries: Map<string, Buffer>;
  data: Record<string, Row[]>;
  text: string;
}

/** Everything a ZIP must satisfy whatever its subject. */
async function checkZip(zip: Buffer, kind: 'account' | 'workspace', subjectId: string): Promise<Checked> {
  const entries = await unzip(zip);
  const manifest = JSON.parse(entries.get('manifest.json')!.toString('utf8')) as Manifest;
  expect(manifest.schemaVersion).toBe(EXPORT_SCHEMA_VERSION);
  expect(manifest.subject).toEqual({ kind, id: subjectId });
  expect(Number.isNaN(Date.parse(manifest.generatedAt))).toBe(false);

  // Every table the graph reaches for this subject, no other, with the rows SQL counts.
  const counts = await graphCounts(kind, subjectId);
  expect(Object.keys(manifest.tables).sort()).toEqual(Object.keys(counts).sort());

  const schemaBuf = entries.get('schema.json')!;
  expect(sha(schemaBuf)).toBe(manifest.schema.sha256);
  const schema = JSON.parse(schemaBuf.toString('utf8'));
  expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(schema);

  const data: Record<string, Row[]> = {};
  for (const [table, t] of Object.entries(manifest.tables)) {
    const json = entries.get(t.json);
    const csv = entries.get(t.csv);
    expect(json, t.json).toBeDefined();
    expect(csv, t.csv).toBeDefined();
    expect(sha(json!), `${table} json checksum`).toBe(t.sha256.json);
    expect(sha(csv!), `${table} csv checksum`).toBe(t.sha256.csv);
    const rows = JSON.parse(json!.toString('utf8')) as Row[];
    data[table] = rows;
    expect(rows.length, `${table} rows`).toBe(t.rows);
    // Request logs keep growing with every request the subject makes: checked separately.
    if (table !== 'request_logs') expect(t.rows, `${table} rows vs SQL`).toBe(counts[table]);

    const validate = ajv.getSchema(`${EXPORT_SCHEMA_ID}#/$defs/${table}`);
    expect(validate, `schema of ${table}`).toBeDefined();
    const columns = Object.keys(schema.$defs[table].properties);
    for (const row of rows) {
      expect(validate!(row), `${table}: ${ajv.errorsText(validate!.errors)}`).toBe(true);
      expect(Object.keys(row)).toEqual(columns);
    }

    const omitted = DELETION_GRAPH.find((g) => g.table === table)!.exportOmit ?? [];
    expect(t.omittedColumns).toEqual(omitted);
    for (const column of omitted) expect(columns).not.toContain(column);

    const records = parseCsv(csv!.toString('utf8'));
    expect(records[0], `${table} csv header`).toEqual(columns);
    expect(records.length - 1, `${table} csv records`).toBe(rows.length);
    for (const record of records) expect(record.length).toBe(columns.length);
  }
  // Previous exports are rows here, never nested files (data_exports.path is not exported).
  expect(manifest.files).toEqual([]);
  const text = [...entries.values()].map((b) => b.toString('utf8')).join('\n');
  return { manifest, schema, entries, data, text };
}

describe('portability export', () => {
  it('exports a workspace and an account: every reached table, valid against its schema, no secrets, no one else’s data', async () => {
    const s = await scenario();

    // Workspace export, by its owner.
    const ws = await requestExport(s.owner.token, `/v1/workspaces/${s.workspaceId}/exports`);
    expect(await exportResult(client, ws.id)).toEqual({ exportId: ws.id, status: 'ready' });
    const status = await api(s.owner.token, 'GET', `/v1/exports/${ws.id}`);
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({ id: ws.id, kind: 'workspace', subjectId: s.workspaceId, status: 'ready' });
    const { bytes, sha256: zipSha, expiresAt, completedAt } = status.json();
    expect(Date.parse(expiresAt) - Date.parse(completedAt)).toBe(sys.config.privacy.exportLinkTtlMs);

    // Only the requester sees it: another member of the workspace and a stranger get 404.
    expect((await api(s.member.token, 'GET', `/v1/exports/${ws.id}`)).statusCode).toBe(404);
    const outsider = await signUp(sys.app, 'outsider');
    expect((await api(outsider.token, 'GET', `/v1/exports/${ws.id}`)).statusCode).toBe(404);

    // The token is the credential: a wrong one is 404, like an unknown export.
    expect((await download(ws.id, `sbx_${randomBytes(32).toString('base64url')}`)).statusCode).toBe(404);
    expect((await download(randomUUID(), ws.token)).statusCode).toBe(404);
    expect((await sys.app.inject({ method: 'GET', url: `/v1/exports/${ws.id}/download` })).statusCode).toBe(404);
    const got = await download(ws.id, ws.token);
    expect(got.statusCode).toBe(200);
    expect(got.headers['content-type']).toBe('application/zip');
    expect(got.headers['content-disposition']).toMatch(/^attachment; filename=".+\.zip"$/);
    expect(Number(got.headers['content-length'])).toBe(bytes);
    expect(got.rawPayload.length).toBe(bytes);
    expect(sha(got.rawPayload)).toBe(zipSha);

    const w = await checkZip(got.rawPayload, 'workspace', s.workspaceId);
    expect(w.data.workspaces!.map((r) => r.id)).toEqual([s.workspaceId]);
    expect(w.data.workspaces![0]!.name).toBe('Export, "quoted" workspace');
    expect(w.data.memberships!.map((r) => r.user_id).sort()).toEqual([s.owner.id, s.member.id].sort());
    expect(w.data.invitations).toHaveLength(2);
    expect(w.data.connections!.map((r) => r.id)).toEqual([s.connectionId]);
    expect(w.data.connections![0]!.scopes).toEqual(['youtube.readonly', 'youtube.upload']);
    expect(w.data.connection_tokens).toEqual([
      expect.objectContaining({ connection_id: s.connectionId, key_id: sys.config.keyRing.currentId, version: 1 }),
    ]);
    expect(Object.keys(w.data.connection_tokens![0]!)).not.toContain('ciphertext');
    expect(w.data.notices).toHaveLength(BULK_NOTICES + 2);
    expect(new Set(w.data.notices!.map((r) => r.id)).size).toBe(BULK_NOTICES + 2);
    // CSV quoting round-trips a value with a comma, quotes and a line break.
    const noticeCsv = parseCsv(w.entries.get('csv/notices.csv')!.toString('utf8'));
    const messageAt = noticeCsv[0]!.indexOf('message');
    expect(noticeCsv.slice(1).map((r) => r[messageAt])).toContain(s.noticeMessage);
    expect(w.entries.get('csv/connections.csv')!.toString('utf8')).toContain(
      '"[""youtube.readonly"",""youtube.upload""]"',
    );
    // No user rows and no member addresses beyond the invitations the workspace sent.
    expect(w.manifest.tables).not.toHaveProperty('users');

    // Workflow history: ids only.
    const history = historyText(await recordHistory(client, exportWorkflowId(ws.id), 'exportWorkflow', 'workspace'));
    for (const secret of [ws.token, s.owner.email, s.member.email]) expect(history).not.toContain(secret);

    // Account export of the owner.
    await sys.app.flushRequestLog();
    const before = new Date();
    const acc = await requestExport(s.owner.token, '/v1/account/exports');
    expect(await exportResult(client, acc.id)).toEqual({ exportId: acc.id, status: 'ready' });
    const accZip = await download(acc.id, acc.token);
    expect(accZip.statusCode).toBe(200);
    const a = await checkZip(accZip.rawPayload, 'account', s.owner.id);
    expect(a.data.users).toEqual([expect.objectContaining({ id: s.owner.id, email: s.owner.email })]);
    expect(a.data.users![0]).not.toHaveProperty('password_hash');
    // Types come from PostgreSQL: enums from check constraints, bigint as a decimal string.
    const exportColumns = a.schema.$defs.data_exports!.properties;
    expect(exportColumns.kind).toMatchObject({ type: 'string', enum: ['account', 'workspace'] });
    expect(exportColumns.bytes).toMatchObject({ type: ['string', 'null'], pattern: '^-?[0-9]+$' });
    expect(exportColumns.created_at).toMatchObject({ type: 'string', format: 'date-time' });
    expect(a.data.data_exports!.find((r) => r.id === ws.id)!.bytes).toBe(String(bytes));
    expect(a.data.memberships!.map((r) => r.user_id)).toEqual([s.owner.id]);
    expect(a.data.api_tokens).toEqual([expect.objectContaining({ name: 'ci, nightly' })]);
    expect(a.data.sessions!.length).toBeGreaterThanOrEqual(1);
    expect(a.data.user_identities).toHaveLength(1);
    expect(a.data.connections!.map((r) => r.connected_by_id)).toEqual([s.owner.id]);
    expect(a.data.data_exports!.map((r) => r.id).sort()).toEqual([ws.id, acc.id].sort());
    // Invitations the owner sent are about the owner, but the invitees' addresses are theirs.
    expect(a.data.invitations).toHaveLength(2);
    for (const inv of a.data.invitations!) expect(inv.email).toBeNull();
    expect(a.manifest.tables.invitations!.redactedColumns).toEqual(['email']);
    for (const other of [s.member.email, s.strangerEmail]) expect(a.text).not.toContain(other);
    // Every request log of the owner up to the request is there, and nothing else.
    const logs = await sql<{ id: string; at: Date | string }>(
      sys.orm,
      'select id::text as id, at from request_logs where user_id = ?',
      [s.owner.id],
    );
    const exported = new Set(a.data.request_logs!.map((r) => r.id));
    for (const id of exported) expect(logs.map((l) => l.id)).toContain(id);
    const earlier = logs.filter((l) => new Date(l.at) < before);
    expect(earlier.length).toBeGreaterThan(0);
    for (const l of earlier) expect(exported.has(l.id)).toBe(true);

    // The member's own export: the invitation addressed to them (reached twice: by address and as
    // its acceptor) comes once, with their address; nothing of the owner's.
    const mine = await requestExport(s.member.token, '/v1/account/exports');
    expect((await exportResult(client, mine.id)).status).toBe('ready');
    const m = await checkZip((await download(mine.id, mine.token)).rawPayload, 'account', s.member.id);
    expect(m.data.invitations).toEqual([
      expect.objectContaining({ email: s.member.email, accepted_by_id: s.member.id }),
    ]);
    expect(m.text).not.toContain(s.owner.email);

    // No secret anywhere: hashes, ciphertext, tokens, in any entry or the ZIP bytes.
    const secrets = [
      ...(await secretsOf([s.owner.id, s.member.id], s.workspaceId)),
      ...s.raw,
      ws.token,
      acc.token,
      mine.token,
    ];
    expect(secrets.length).toBeGreaterThan(8);
    for (const zip of [w, a, m]) {
      for (const secret of secrets) expect(zip.text).not.toContain(secret);
    }
    for (const raw of [got.rawPayload, accZip.rawPayload]) {
      for (const secret of secrets) expect(raw.includes(secret)).toBe(false);
    }

    // Audited: requested, completed, downloaded.
    for (const id of [ws.id, acc.id]) {
      const actions = await sql<{ action: string }>(
        sys.orm,
        `select action from audit_events where target_type = 'data_export' and target_id = ? order by id`,
        [id],
      );
      expect(actions.map((r) => r.action)).toEqual(['export.requested', 'export.completed', 'export.downloaded']);
    }
  });

  it('asks for the password again, allows one pending export per subject, and checks roles', async () => {
    const owner = await signUp(sys.app, 'owner');
    const member = await signUp(sys.app, 'member');
    const outsider = await signUp(sys.app, 'outsider');
    const workspaceId = await createWorkspace(sys.app, owner.token);
    const invited = await sendInvitation(sys.app, owner.token, workspaceId, member.email, 'member');
    await api(member.token, 'POST', '/v1/invitations/accept', { token: invited.json().token });

    const wrong = await api(owner.token, 'POST', '/v1/account/exports', { password: 'not the password' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('INVALID_CREDENTIALS');
    expect((await api(owner.token, 'POST', '/v1/account/exports', {})).statusCode).toBe(401);
    expect((await sys.app.inject({ method: 'POST', url: '/v1/account/exports', payload: {} })).statusCode).toBe(401);

    // Members below admin are refused; non-members do not learn the workspace exists.
    const asMember = await api(member.token, 'POST', `/v1/workspaces/${workspaceId}/exports`, { password: PASSWORD });
    expect(asMember.statusCode).toBe(403);
    const asOutsider = await api(outsider.token, 'POST', `/v1/workspaces/${workspaceId}/exports`, {
      password: PASSWORD,
    });
    expect(asOutsider.statusCode).toBe(404);

    // A pending export of the same subject by the same requester refuses a second one.
    const pendingToken = `sbx_${randomBytes(32).toString('base64url')}`;
    const pendingId = randomUUID();
    await sql(
      sys.orm,
      `insert into data_exports (id, kind, subject_id, requested_by, status, token_hash, created_at)
       values (?, 'account', ?, ?, 'pending', ?, now())`,
      [pendingId, owner.id, owner.id, sha256(pendingToken)],
    );
    const limited = await api(owner.token, 'POST', '/v1/account/exports', { password: PASSWORD });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('EXPORT_IN_PROGRESS');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // A different subject is not limited by it.
    const other = await requestExport(owner.token, `/v1/workspaces/${workspaceId}/exports`);
    // Not ready yet: 409.
    const early = await download(pendingId, pendingToken);
    expect(early.statusCode).toBe(409);
    expect(early.json().error.code).toBe('EXPORT_NOT_READY');
    expect((await exportResult(client, other.id)).status).toBe('ready');

    await sql(sys.orm, `update data_exports set status = 'failed' where id = ?`, [pendingId]);
    const again = await requestExport(owner.token, '/v1/account/exports');
    expect((await exportResult(client, again.id)).status).toBe('ready');
  });

  it('fails with the reason when the subject is gone, and audits it', async () => {
    const owner = await signUp(sys.app, 'owner');
    const exportId = randomUUID();
    const ghost = randomUUID();
    await sql(
      sys.orm,
      `insert into data_exports (id, kind, subject_id, requested_by, status, token_hash, created_at)
       values (?, 'workspace', ?, ?, 'pending', ?, now())`,
      [exportId, ghost, owner.id, sha256(randomUUID())],
    );
    await startExport(client, sys.config.taskQueues.core, { exportId, kind: 'workspace', subjectId: ghost });
    expect(await exportResult(client, exportId)).toEqual({ exportId, status: 'failed' });
    const [row] = await sql<{ status: string; error: string; path: string | null }>(
      sys.orm,
      'select status, error, path from data_exports where id = ?',
      [exportId],
    );
    expect(row).toMatchObject({ status: 'failed', path: null });
    expect(row!.error).toContain('SubjectGone');
    const [auditRow] = await sql<{ details: { status: string } }>(
      sys.orm,
      `select details from audit_events where action = 'export.completed' and target_id = ?`,
      [exportId],
    );
    expect(auditRow?.details.status).toBe('failed');
    expect(existsSync(path.join(sys.config.dataDir, 'exports', `${exportId}.zip`))).toBe(false);
  });

  it('carries the files a row points at, never one outside the data folder', async () => {
    // No exported table has a file column yet, so export data_exports with its path column: the
    // earlier export's ZIP becomes a file of this one.
    const owner = await signUp(sys.app, 'owner');
    const first = await requestExport(owner.token, '/v1/account/exports');
    expect((await exportResult(client, first.id)).status).toBe('ready');
    const [stored] = await sql<{ path: string; sha256: string; bytes: string }>(
      sys.orm,
      'select path, sha256, bytes::text as bytes from data_exports where id = ?',
      [first.id],
    );
    const outside = path.join(path.dirname(sys.config.dataDir), `outside-${randomUUID()}.txt`);
    writeFileSync(outside, 'not yours');
    dirs.push(outside);
    for (const p of [`../${path.basename(outside)}`, 'exports/missing.zip']) {
      await sql(
        sys.orm,
        `insert into data_exports (id, kind, subject_id, requested_by, status, path, created_at)
         values (?, 'account', ?, ?, 'failed', ?, now())`,
        [randomUUID(), owner.id, owner.id, p],
      );
    }
    const table = DELETION_GRAPH.find((t) => t.table === 'data_exports')!;
    const out = path.join(tempDir(), 'with-files.zip');
    const result = await buildExportZip(
      sys.orm.em.fork(),
      { kind: 'account', subjectId: owner.id, dataDir: sys.config.dataDir },
      out,
      { graph: [{ ...table, exportOmit: ['token_hash'] }] },
    );
    const zip = readFileSync(out);
    expect(result).toMatchObject({ bytes: zip.length, sha256: sha(zip), tables: { data_exports: 3 }, files: 1 });
    const entries = await unzip(zip);
    const manifest = JSON.parse(entries.get('manifest.json')!.toString('utf8')) as Manifest;
    const entry = `files/data_exports/${stored!.path}`;
    expect(manifest.files).toEqual([
      { path: entry, table: 'data_exports', bytes: Number(stored!.bytes), sha256: stored!.sha256 },
    ]);
    expect(sha(entries.get(entry)!)).toBe(stored!.sha256);
    expect([...entries.keys()].filter((k) => k.startsWith('files/'))).toEqual([entry]);
    expect([...entries.values()].some((b) => b.toString('utf8').includes('not yours'))).toBe(false);
  });

  it('is documented: docs/export-schema.md names every table of each export and the schema version', () => {
    const doc = readFileSync(path.join(PROJECT_ROOT, 'docs', 'export-schema.md'), 'utf8');
    expect(doc).toContain(`schema ${EXPORT_SCHEMA_VERSION}`);
    for (const kind of ['account', 'workspace'] as const) {
      const heading = `### ${kind[0]!.toUpperCase()}${kind.slice(1)} export`;
      expect(doc).toContain(heading);
      const section = doc.slice(doc.indexOf(heading)).split('\n### ')[0]!.split('\n## ')[0]!;
      const documented = [...section.matchAll(/^\| `(\w+)`\s*\|/gm)].map((m) => m[1]).sort();
      expect(documented, kind).toEqual(
        exportTables(kind)
          .map((t) => t.table.table)
          .sort(),
      );
    }
  });

  it('expires: the link answers 410 and the file is gone', async () => {
    const owner = await signUp(short.app, 'owner');
    const res = await short.app.inject({
      method: 'POST',
      url: '/v1/account/exports',
      headers: bearer(owner.token),
      payload: { password: PASSWORD },
    });
    expect(res.statusCode, res.body).toBe(202);
    const { id, token } = res.json();
    expect((await exportResult(short.app.deps.temporal, id)).status).toBe('ready');
    const [row] = await sql<{ path: string; expires_at: string; completed_at: string }>(
      short.orm,
      `select path, to_json(expires_at)#>>'{}' as expires_at, to_json(completed_at)#>>'{}' as completed_at from data_exports where id = ?`,
      [id],
    );
    expect(Date.parse(row!.expires_at) - Date.parse(row!.completed_at)).toBe(1000);
    const file = path.join(short.config.dataDir, row!.path);
    expect(existsSync(file)).toBe(true);

    // Not yet at the expiry instant: nothing happens.
    const early = await expireExports(short.orm.em.fork(), short.config, new Date(Date.parse(row!.expires_at) - 500));
    expect(early.expired).not.toContain(id);
    expect(existsSync(file)).toBe(true);

    const swept = await expireExports(short.orm.em.fork(), short.config, new Date(Date.parse(row!.expires_at) + 1));
    expect(swept.expired).toContain(id);
    expect(existsSync(file)).toBe(false);
    const [after] = await sql<{ status: string; path: string | null }>(
      short.orm,
      'select status, path from data_exports where id = ?',
      [id],
    );
    expect(after).toEqual({ status: 'expired', path: null });
    const gone = await download(id, token, short);
    expect(gone.statusCode).toBe(410);
    expect(gone.json().error.code).toBe('EXPORT_EXPIRED');
    const view = await short.app.inject({ method: 'GET', url: `/v1/exports/${id}`, headers: bearer(owner.token) });
    expect(view.json().status).toBe('expired');
  });
});
