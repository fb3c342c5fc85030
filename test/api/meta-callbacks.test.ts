import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { signRequest } from '../../lib/meta-signed-request.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { deletionWorkflowId } from '../../workflows/deletion.messages.ts';
import { bearer, createTestSystem, createWorkspace, signUp, sql, type TestSystem } from '../helpers.ts';
import { admin, consent } from '../platforms/contract.ts';

// Meta's data-deletion and deauthorize callbacks through the API: verification with each app's own
// secret, no side effects on refusal, idempotent retries, the public status page, and (with a real
// worker and the simulator) the deletion of a connected account's data end to end.

type MetaApp = 'facebook' | 'instagram';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const DAY_MS = 86_400_000;

let sys: TestSystem;

beforeAll(async () => {
  // No worker on this system's task queue: requests stay `received` unless a test changes them.
  sys = await createTestSystem();
});
afterAll(async () => {
  await sys?.close();
});

const secretOf = (system: TestSystem, app: MetaApp) => system.config.platforms[app].clientSecret;
const nowS = () => Math.floor(Date.now() / 1000);
/** A fresh app-scoped user id (digits), so each test's rows are its own. */
const newUserId = () => `${randomInt(1, 10)}${String(randomInt(0, 2 ** 47)).padStart(15, '0')}`;

function signedFor(system: TestSystem, app: MetaApp, userId: string, overrides: Record<string, unknown> = {}) {
  return signRequest(
    { algorithm: 'HMAC-SHA256', issued_at: nowS(), user_id: userId, expires: nowS() + 3600, ...overrides },
    secretOf(system, app),
  );
}

function callback(
  system: TestSystem,
  path: string,
  signedRequest: string,
  opts: { headers?: Record<string, string>; payload?: string } = {},
) {
  return system.app.inject({
    method: 'POST',
    url: `/v1/meta/${path}`,
    headers: opts.headers ?? FORM,
    payload: opts.payload ?? new URLSearchParams({ signed_request: signedRequest }).toString(),
  });
}

async function requestsFor(system: TestSystem, subjectId: string) {
  return sql<{
    id: string;
    kind: string;
    channel: string;
    status: string;
    confirmation_code: string;
    source_key: string;
    deadline_rule: string;
    received_at: Date;
    due_at: Date;
    workspace_id: string | null;
  }>(system.orm, 'select * from deletion_requests where subject_id = ? order by received_at', [subjectId]);
}

/** Every row a Meta callback could have written (requests and their audit rows), across all users. */
async function metaSideEffects(system: TestSystem) {
  const [requests] = await sql<{ n: number }>(
    system.orm,
    `select count(*)::int as n from deletion_requests where channel in ('meta_callback', 'meta_deauthorize')`,
  );
  const [audits] = await sql<{ n: number }>(
    system.orm,
    `select count(*)::int as n from audit_events
      where action = 'meta.deauthorized'
         or (action = 'deletion.requested' and details ->> 'channel' in ('meta_callback', 'meta_deauthorize'))`,
  );
  return { requests: requests!.n, audits: audits!.n };
}

const statusPage = (system: TestSystem, code: string, accept?: string) =>
  system.app.inject({ method: 'GET', url: `/v1/privacy/deletion-status/${code}`, headers: accept ? { accept } : {} });

describe('data-deletion callback', () => {
  it('stores the request with its 7-day due date and answers the status URL and confirmation code', async () => {
    const userId = newUserId();
    const before = Date.now();
    const res = await callback(sys, 'facebook/data-deletion', signedFor(sys, 'facebook', userId));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['confirmation_code', 'url']);
    expect(body.confirmation_code).toMatch(/^[A-Z0-9]{16,32}$/);
    expect(body.url).toBe(`${sys.config.publicUrl}/v1/privacy/deletion-status/${body.confirmation_code}`);

    const [row, ...more] = await requestsFor(sys, `facebook:${userId}`);
    expect(more).toHaveLength(0);
    expect(row).toMatchObject({
      kind: 'platform_user',
      channel: 'meta_callback',
      status: 'received',
      confirmation_code: body.confirmation_code,
      deadline_rule: 'meta_7d',
      workspace_id: null,
    });
    expect(row!.source_key).toMatch(new RegExp(`^meta:facebook:deletion:${userId}:\\d+$`));
    const received = new Date(row!.received_at).getTime();
    const due = new Date(row!.due_at).getTime();
    expect(received).toBeGreaterThanOrEqual(before - 1000);
    expect(due).toBeGreaterThan(received);
    expect(due - received).toBeLessThanOrEqual(7 * DAY_MS);

    const audits = await sql(
      sys.orm,
      `select action from audit_events where target_type = 'deletion_request' and target_id = ?`,
      [row!.id],
    );
    expect(audits.map((a) => a.action)).toContain('deletion.requested');

    // The deletion workflow was started for it (idempotently, by the request's id).
    const described = await sys.app.deps.temporal.workflow.getHandle(deletionWorkflowId(row!.id)).describe();
    expect(described.type).toBe('deletionWorkflow');
  });

  it('accepts the form with a charset parameter and fields it does not know', async () => {
    const userId = newUserId();
    const res = await callback(sys, 'facebook/data-deletion', '', {
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' },
      payload: `signed_request=${signedFor(sys, 'facebook', userId)}&extra=1`,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(await requestsFor(sys, `facebook:${userId}`)).toHaveLength(1);
  });

  it('answers a retried callback with the same code and stores one request', async () => {
    const userId = newUserId();
    const signed = signedFor(sys, 'instagram', userId);
    const first = await callback(sys, 'instagram/data-deletion', signed);
    const second = await callback(sys, 'instagram/data-deletion', signed);
    expect(first.statusCode).toBe(200);
    expect(second.statusCode).toBe(200);
    expect(second.json()).toEqual(first.json());
    expect(await requestsFor(sys, `instagram:${userId}`)).toHaveLength(1);
  });

  it('verifies each app with its own secret', async () => {
    const userId = newUserId();
    const before = await metaSideEffects(sys);
    const withFacebookSecret = signedFor(sys, 'facebook', userId);
    const withInstagramSecret = signedFor(sys, 'instagram', userId);
    expect(secretOf(sys, 'facebook')).not.toBe(secretOf(sys, 'instagram'));

    const refusedIg = await callback(sys, 'instagram/data-deletion', withFacebookSecret);
    expect(refusedIg.statusCode).toBe(400);
    expect(refusedIg.json().error.code).toBe('INVALID_SIGNED_REQUEST');
    const refusedFb = await callback(sys, 'facebook/data-deletion', withInstagramSecret);
    expect(refusedFb.statusCode).toBe(400);
    expect(await metaSideEffects(sys)).toEqual(before);

    const accepted = await callback(sys, 'instagram/data-deletion', withInstagramSecret);
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(await requestsFor(sys, `instagram:${userId}`)).toHaveLength(1);
    expect(await requestsFor(sys, `facebook:${userId}`)).toHaveLength(0);
  });

  it('still answers 200 with the stored request when the workflow cannot be started', async () => {
    const userId = newUserId();
    const start = vi
      .spyOn(sys.app.deps.temporal.workflow, 'start')
      .mockRejectedValueOnce(new Error('Temporal is unavailable'));
    try {
      const signed = signedFor(sys, 'facebook', userId);
      const res = await callback(sys, 'facebook/data-deletion', signed);
      expect(res.statusCode, res.body).toBe(200);
      const [row] = await requestsFor(sys, `facebook:${userId}`);
      expect(row?.confirmation_code).toBe(res.json().confirmation_code);
      expect(row?.status).toBe('received');
      expect(start).toHaveBeenCalledTimes(1);
      // Meta's retry of the same callback starts the request that never started.
      const retry = await callback(sys, 'facebook/data-deletion', signed);
      expect(retry.json().confirmation_code).toBe(row?.confirmation_code);
      expect(start).toHaveBeenCalledTimes(2);
      await sys.app.deps.temporal.workflow.getHandle(deletionWorkflowId(row!.id)).describe();
    } finally {
      start.mockRestore();
    }
  });
});

describe('refusals', () => {
  const cases: [
    string,
    (userId: string) => { path: string; signed: string; headers?: Record<string, string>; payload?: string },
    string,
  ][] = [
    [
      'bad signature',
      (u) => ({
        path: 'facebook/data-deletion',
        signed: signRequest({ algorithm: 'HMAC-SHA256', issued_at: nowS(), user_id: u }, 'not-the-secret'),
      }),
      'INVALID_SIGNED_REQUEST',
    ],
    [
      'wrong algorithm',
      (u) => ({ path: 'facebook/data-deletion', signed: signedFor(sys, 'facebook', u, { algorithm: 'HMAC-SHA1' }) }),
      'INVALID_SIGNED_REQUEST',
    ],
    [
      'stale issued_at',
      (u) => ({
        path: 'facebook/data-deletion',
        signed: signedFor(sys, 'facebook', u, {
          issued_at: nowS() - Math.ceil(sys.config.privacy.signedRequestMaxAgeMs / 1000) - 60,
        }),
      }),
      'INVALID_SIGNED_REQUEST',
    ],
    [
      'issued_at in the future',
      (u) => ({
        path: 'instagram/data-deletion',
        signed: signedFor(sys, 'instagram', u, {
          issued_at: nowS() + Math.ceil(sys.config.privacy.signedRequestMaxAgeMs / 1000) + 60,
        }),
      }),
      'INVALID_SIGNED_REQUEST',
    ],
    [
      'user_id as a number',
      (u) => ({ path: 'facebook/data-deletion', signed: signedFor(sys, 'facebook', u, { user_id: Number(u) }) }),
      'INVALID_SIGNED_REQUEST',
    ],
    [
      'no dot',
      (u) => ({ path: 'facebook/data-deletion', signed: signedFor(sys, 'facebook', u).replace('.', '') }),
      'INVALID_SIGNED_REQUEST',
    ],
    [
      'two dots',
      (u) => ({ path: 'facebook/data-deletion', signed: `${signedFor(sys, 'facebook', u)}.e30` }),
      'INVALID_SIGNED_REQUEST',
    ],
    [
      'not base64url',
      (u) => ({ path: 'facebook/data-deletion', signed: `${signedFor(sys, 'facebook', u)}`.replace('.', '+/.') }),
      'INVALID_SIGNED_REQUEST',
    ],
    [
      'unknown app',
      (u) => ({ path: 'threads/data-deletion', signed: signedFor(sys, 'facebook', u) }),
      'VALIDATION_FAILED',
    ],
    [
      'missing signed_request',
      (u) => ({
        path: 'facebook/data-deletion',
        signed: '',
        payload: new URLSearchParams({ request: signedFor(sys, 'facebook', u) }).toString(),
      }),
      'VALIDATION_FAILED',
    ],
    [
      'signed_request given twice',
      (u) => ({
        path: 'facebook/data-deletion',
        signed: '',
        payload: `signed_request=${signedFor(sys, 'facebook', u)}&signed_request=${signedFor(sys, 'facebook', u)}`,
      }),
      'VALIDATION_FAILED',
    ],
    [
      'JSON instead of a form',
      (u) => ({
        path: 'facebook/data-deletion',
        signed: '',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ signed_request: signedFor(sys, 'facebook', u) }),
      }),
      'VALIDATION_FAILED',
    ],
    [
      'text/plain body',
      (u) => ({
        path: 'facebook/data-deletion',
        signed: '',
        headers: { 'content-type': 'text/plain' },
        payload: `signed_request=${signedFor(sys, 'facebook', u)}`,
      }),
      'VALIDATION_FAILED',
    ],
  ];

  it.each(cases)('refuses %s with a 400 JSON error and writes nothing', async (_what, build, code) => {
    const userId = newUserId();
    const before = await metaSideEffects(sys);
    for (const callbackKind of ['data-deletion', 'deauthorize']) {
      const c = build(userId);
      const path = c.path.replace('data-deletion', callbackKind);
      const res = await callback(sys, path, c.signed, { headers: c.headers, payload: c.payload });
      expect(res.statusCode, `${path}: ${res.body}`).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const error = res.json().error;
      expect(error.code).toBe(code);
      expect(error.message).toBeTruthy();
      expect(error.requestId).toBeTruthy();
    }
    expect(await metaSideEffects(sys)).toEqual(before);
    expect(await requestsFor(sys, `facebook:${userId}`)).toHaveLength(0);
    expect(await requestsFor(sys, `instagram:${userId}`)).toHaveLength(0);
  });

  it('refuses a form larger than the body limit with a 413 and writes nothing', async () => {
    const userId = newUserId();
    const before = await metaSideEffects(sys);
    const signed = signedFor(sys, 'facebook', userId);
    const res = await callback(sys, 'facebook/data-deletion', signed, {
      payload: `signed_request=${signed}&pad=${'x'.repeat(sys.config.bodyLimitBytes)}`,
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('BODY_TOO_LARGE');
    expect(await metaSideEffects(sys)).toEqual(before);
  });

  it('accepts forms nowhere else (the form parser is scoped to the Meta routes)', async () => {
    const res = await sys.app.inject({
      method: 'POST',
      url: '/v1/accounts',
      headers: FORM,
      payload: 'email=a%40example.com&password=x',
    });
    expect(res.statusCode).toBe(415);
  });
});

describe('deauthorize callback', () => {
  it('stores a deletion request on the deauthorize channel, audits it and answers {}', async () => {
    const userId = newUserId();
    const signed = signedFor(sys, 'facebook', userId);
    const res = await callback(sys, 'facebook/deauthorize', signed);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({});
    const again = await callback(sys, 'facebook/deauthorize', signed);
    expect(again.statusCode).toBe(200);
    const rows = await requestsFor(sys, `facebook:${userId}`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'platform_user', channel: 'meta_deauthorize', deadline_rule: 'meta_7d' });
    expect(rows[0]!.source_key).toMatch(new RegExp(`^meta:facebook:deauthorize:${userId}:`));
    const audits = await sql(
      sys.orm,
      `select action from audit_events where target_type = 'deletion_request' and target_id = ? order by id`,
      [rows[0]!.id],
    );
    expect(audits.map((a) => a.action)).toEqual(['deletion.requested', 'meta.deauthorized']);

    // A deletion callback for the same user is a request of its own.
    const deletion = await callback(sys, 'facebook/data-deletion', signed);
    expect(deletion.statusCode).toBe(200);
    expect(await requestsFor(sys, `facebook:${userId}`)).toHaveLength(2);
  });
});

describe('status page', () => {
  async function newRequest(app: MetaApp = 'instagram') {
    const userId = newUserId();
    const res = await callback(sys, `${app}/data-deletion`, signedFor(sys, app, userId));
    expect(res.statusCode).toBe(200);
    const [row] = await requestsFor(sys, `${app}:${userId}`);
    return { userId, code: res.json().confirmation_code as string, id: row!.id };
  }

  it('shows a received request in words, with its timestamps and no personal data or internal ids', async () => {
    const { userId, code, id } = await newRequest();
    const res = await statusPage(sys, code, 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['cache-control']).toBe('no-store');
    const html = res.body;
    expect(html).toContain('<strong>Received</strong>');
    expect(html).toContain(code);
    expect(html).toMatch(/does not delete anything on Facebook or Instagram itself/);
    expect(html).toMatch(/Received<\/dt>/);
    expect(html).toMatch(/To be completed by<\/dt>/);
    expect(html).not.toMatch(/Completed<\/dt>/);
    expect(html).not.toContain(userId);
    expect(html).not.toContain(id);
    // No Accept header: the human-readable page.
    expect((await statusPage(sys, code)).headers['content-type']).toMatch(/^text\/html/);
  });

  it('answers JSON when asked for it', async () => {
    const { userId, code, id } = await newRequest();
    const res = await statusPage(sys, code, 'application/json');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.json();
    expect(body).toEqual({
      code,
      status: 'received',
      receivedAt: expect.any(String),
      dueAt: expect.any(String),
      completedAt: null,
      reason: null,
      retained: [],
    });
    expect(Date.parse(body.dueAt) - Date.parse(body.receivedAt)).toBeLessThanOrEqual(7 * DAY_MS);
    expect(res.body).not.toContain(userId);
    expect(res.body).not.toContain(id);
  });

  it('lists what was kept and why, escaped and without internal ids, when completed with exceptions', async () => {
    const { code, id } = await newRequest('facebook');
    const holdId = '5f0c7d0e-8a4b-4c59-9a8e-1c2d3e4f5a6b';
    const connectionId = '0d9a3b57-3f0e-4f7a-8d55-8d9f1e2c3b4a';
    await sql(
      sys.orm,
      `update deletion_requests set status = 'completed_with_exceptions', started_at = now(), completed_at = now() where id = ?`,
      [id],
    );
    await sql(
      sys.orm,
      `insert into deletion_steps (id, request_id, name, status, attempts, started_at, finished_at, result)
       values (gen_random_uuid(), ?, ?, 'held', 1, now(), now(), ?::jsonb),
              (gen_random_uuid(), ?, ?, 'done', 1, now(), now(), ?::jsonb)`,
      [
        id,
        `purge:connection:${connectionId}`,
        JSON.stringify({
          retained: [
            { what: `connection ${connectionId}`, reason: `legal hold ${holdId}: Court order <b>4711</b> & appeal` },
          ],
        }),
        id,
        `revoke:${connectionId}`,
        JSON.stringify({
          revocations: [{ connectionId, platform: 'facebook', outcome: 'revoke_failed', detail: 'attempts: 5' }],
        }),
      ],
    );
    const html = (await statusPage(sys, code)).body;
    expect(html).toContain('<strong>Completed with exceptions</strong>');
    expect(html).toMatch(/Completed<\/dt>/);
    expect(html).toContain('Legal hold: Court order &lt;b&gt;4711&lt;/b&gt; &amp; appeal');
    expect(html).not.toContain('<b>4711</b>');
    expect(html).toContain('Facebook did not confirm');
    for (const internal of [holdId, connectionId, id]) expect(html).not.toContain(internal);

    const json = (await statusPage(sys, code, 'application/json')).json();
    expect(json.status).toBe('completed_with_exceptions');
    expect(json.completedAt).toEqual(expect.any(String));
    expect(json.retained).toHaveLength(2);
    expect(json.retained).toEqual(
      expect.arrayContaining([
        { what: 'Data from a connected account', reason: 'Legal hold: Court order <b>4711</b> & appeal' },
        { what: "Switchboard's access at Facebook", reason: expect.stringContaining('Facebook did not confirm') },
      ]),
    );
  });

  it('answers 404 for an unknown code and 400 for a code of the wrong format', async () => {
    const html = await statusPage(sys, 'ABCDEFGHJKLMNPQRSTUV');
    expect(html.statusCode).toBe(404);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.body).toContain('not found');
    const json = await statusPage(sys, 'ABCDEFGHJKLMNPQRSTUV', 'application/json');
    expect(json.statusCode).toBe(404);
    expect(json.json().error.code).toBe('NOT_FOUND');
    for (const bad of ['abcdefghjklmnpqrstuv', 'ABC', `${'A'.repeat(33)}`, 'ABCDEFGHJKLMNPQRST%3C']) {
      const res = await statusPage(sys, bad, 'application/json');
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().error.field).toBe('params.code');
    }
  });

  it('is documented in the OpenAPI document under privacy, with the callbacks', () => {
    const doc = sys.app.swagger() as {
      paths: Record<string, Record<string, { tags?: string[]; requestBody?: { content: object } }>>;
    };
    expect(doc.paths['/v1/privacy/deletion-status/{code}']?.get?.tags).toEqual(['privacy']);
    for (const kind of ['data-deletion', 'deauthorize']) {
      const op = doc.paths[`/v1/meta/{app}/${kind}`]?.post;
      expect(op?.tags).toEqual(['privacy']);
      expect(Object.keys(op?.requestBody?.content ?? {})).toEqual(['application/x-www-form-urlencoded']);
    }
  });
});

describe('end to end with a worker and the simulator', () => {
  let sim: Simulator;
  let live: TestSystem;

  beforeAll(async () => {
    sim = await startSimulator();
    live = await createTestSystem({ SIMULATOR_URL: sim.url });
    await live.startWorker();
  });
  afterAll(async () => {
    await live?.close();
    await sim?.close();
  });

  async function connect(token: string, workspaceId: string, platform: string) {
    const start = await live.app.inject({
      method: 'POST',
      url: `/v1/workspaces/${workspaceId}/connections`,
      headers: bearer(token),
      payload: { platform },
    });
    expect(start.statusCode, start.body).toBe(201);
    const query = await consent(start.json().authorizeUrl);
    const res = await live.app.inject({ method: 'GET', url: `/v1/connections/callback?${query}` });
    expect(res.statusCode, res.body).toBe(200);
    const conn = res.json();
    const [row] = await sql<{ external_ids: Record<string, string> | null }>(
      live.orm,
      'select external_ids from connections where id = ?',
      [conn.id],
    );
    return { id: conn.id as string, externalId: conn.externalId as string, ids: row?.external_ids ?? {} };
  }

  const exists = async (table: string, column: string, id: string) =>
    (await sql(live.orm, `select 1 from ${table} where ${column} = ?`, [id])).length > 0;

  async function finish(subjectId: string) {
    const [row] = await requestsFor(live, subjectId);
    expect(row).toBeDefined();
    const status = await live.app.deps.temporal.workflow.getHandle(deletionWorkflowId(row!.id)).result();
    const [after] = await requestsFor(live, subjectId);
    return { status, row: after! };
  }

  it('data-deletion for a connected Instagram user revokes and deletes its connection, then reports completed', async () => {
    const owner = await signUp(live.app, 'meta-owner');
    const workspaceId = await createWorkspace(live.app, owner.token);
    const ig = await connect(owner.token, workspaceId, 'instagram');
    const other = await connect(owner.token, workspaceId, 'x');
    // Meta names the app-scoped id, which is not the connection's external id (the professional account).
    const appScopedId = ig.ids.appScopedId;
    expect(appScopedId).toMatch(/^\d+$/);
    expect(appScopedId).not.toBe(ig.externalId);
    expect(await exists('connection_tokens', 'connection_id', ig.id)).toBe(true);

    const res = await callback(live, 'instagram/data-deletion', signedFor(live, 'instagram', appScopedId!));
    expect(res.statusCode, res.body).toBe(200);
    const { status, row } = await finish(`instagram:${appScopedId}`);
    expect(['completed', 'completed_with_exceptions']).toContain(status);
    expect(row.status).toBe(status);

    expect(await exists('connections', 'id', ig.id)).toBe(false);
    expect(await exists('connection_tokens', 'connection_id', ig.id)).toBe(false);
    // Only that user's data: the workspace's other connection is untouched.
    expect(await exists('connections', 'id', other.id)).toBe(true);
    expect(await exists('connection_tokens', 'connection_id', other.id)).toBe(true);

    const steps = await sql<{ name: string; status: string }>(
      live.orm,
      'select name, status from deletion_steps where request_id = ? order by started_at',
      [row.id],
    );
    expect(steps.map((s) => s.name)).toEqual([`revoke:${ig.id}`, `purge:connection:${ig.id}`, 'verify']);

    const html = (await statusPage(live, res.json().confirmation_code)).body;
    expect(html).toContain(
      status === 'completed' ? '<strong>Completed</strong>' : '<strong>Completed with exceptions</strong>',
    );
    expect(html).toMatch(/Completed<\/dt>/);
    const json = (await statusPage(live, res.json().confirmation_code, 'application/json')).json();
    expect(json).toMatchObject({ status, completedAt: expect.any(String) });
  });

  it('deauthorize for a connected Facebook user revokes the grant upstream and deletes its data', async () => {
    const owner = await signUp(live.app, 'meta-owner');
    const workspaceId = await createWorkspace(live.app, owner.token);
    const fb = await connect(owner.token, workspaceId, 'facebook');
    const userId = fb.ids.userId;
    expect(userId).toMatch(/^\d+$/);
    expect(userId).not.toBe(fb.externalId);
    const usable = async () =>
      (await admin<{ usable: boolean }[]>(sim, 'GET', '/facebook/tokens')).filter((t) => t.usable).length;
    expect(await usable()).toBeGreaterThan(0);

    const res = await callback(live, 'facebook/deauthorize', signedFor(live, 'facebook', userId!));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({});
    const { status, row } = await finish(`facebook:${userId}`);
    expect(status).toBe('completed');
    expect(row.channel).toBe('meta_deauthorize');
    expect(await exists('connections', 'id', fb.id)).toBe(false);
    expect(await exists('connection_tokens', 'connection_id', fb.id)).toBe(false);
    // API access stopped at the platform too: the simulator no longer accepts the grant's tokens.
    expect(await usable()).toBe(0);

    const [revoke] = await sql<{ result: { revocations: { outcome: string }[] } }>(
      live.orm,
      `select result from deletion_steps where request_id = ? and name = ?`,
      [row.id, `revoke:${fb.id}`],
    );
    expect(revoke?.result.revocations[0]?.outcome).toBe('revoked_upstream');
    const json = (await statusPage(live, row.confirmation_code, 'application/json')).json();
    expect(json).toMatchObject({ status: 'completed', retained: [] });
  });
});
