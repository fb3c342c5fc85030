import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Client, ScheduleNotFoundError, WorkflowFailedError } from '@temporalio/client';
import type { TypedSearchAttributes } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, HOUR, MINUTE } from '../../domain/policy.ts';
import { activeRetentionPolicies, RETENTION_POLICIES, retentionScheduleId } from '../../domain/retention.ts';
import { ProcessKind } from '../../domain/search-attributes.ts';
import { createDeletionRequest } from '../../lib/deletion-requests.ts';
import { ensureRetentionSchedules, RETENTION_CATCHUP_WINDOW_MS } from '../../lib/schedules.ts';
import { deletionInput } from '../../workflows/deletion.client.ts';
import { deletionWorkflowId } from '../../workflows/deletion.messages.ts';
import type { RetentionSweepInput, RetentionSweepResult } from '../../workflows/retention.messages.ts';
import {
  createTestSystem,
  createWorkspace,
  eventually,
  recordHistory,
  signUp,
  sql,
  type TestSystem,
} from '../helpers.ts';

// Retention sweeps against the shared test database: each test makes its own rows old or fresh and
// checks exactly those. Only this file writes rows that are past retention, so counts of the
// deleting policies are exact; exports and the deletion safety nets are checked on their own rows.

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-retention-'));
let sys: TestSystem;
let client: Client;

beforeAll(async () => {
  sys = await createTestSystem({ DATA_DIR: dataDir });
  await sys.startWorker();
  client = sys.app.deps.temporal;
});
afterAll(async () => {
  await sys?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const ago = (ms: number) => new Date(Date.now() - ms);
const hash = () => randomBytes(32).toString('hex');

async function sweep(input: RetentionSweepInput): Promise<RetentionSweepResult> {
  const workflowId = `test-${retentionScheduleId(input.policyId)}-${randomUUID()}`;
  const result = await client.workflow.execute('retentionSweepWorkflow', {
    taskQueue: sys.config.taskQueues.core,
    workflowId,
    args: [input],
  });
  await recordHistory(client, workflowId, 'retentionSweepWorkflow', input.policyId);
  return result;
}

async function insertLogs(marker: string, ages: number[]) {
  for (const age of ages) {
    await sql(
      sys.orm,
      `insert into request_logs (at, request_id, ip, method, path, status, duration_ms)
         values (?, ?, '127.0.0.1', 'GET', '/v1/retention-test', 200, 1)`,
      [ago(age), marker],
    );
  }
}

const logAges = async (marker: string) =>
  (await sql<{ at: Date }>(sys.orm, 'select at from request_logs where request_id = ? order by at', [marker])).map(
    (r) => Math.round((Date.now() - new Date(r.at).getTime()) / DAY),
  );

describe('retention sweeps', () => {
  it('request-logs: deletes logs older than 30 days, keeps fresh ones, reports lateness, and a re-run deletes nothing', async () => {
    const marker = `rl-${randomUUID()}`;
    await insertLogs(marker, [31 * DAY, 31 * DAY, 35 * DAY, 40 * DAY, 1 * DAY, 29 * DAY]);

    const first = await sweep({ policyId: 'request-logs' });
    expect(first).toMatchObject({ policyId: 'request-logs', deleted: 4, tables: { request_logs: 4 }, late: true });
    // The oldest row had been due for ~10 days: the catch-up is recorded as late, not hidden.
    expect(first.lateByMs).toBeGreaterThan(9 * DAY);
    expect(first.oldestRemainingAgeMs).toBeLessThan(30 * DAY);
    expect(await logAges(marker)).toEqual([29, 1]);

    const second = await sweep({ policyId: 'request-logs' });
    expect(second).toMatchObject({ deleted: 0, lateByMs: null, late: false });
    expect(await logAges(marker)).toEqual([29, 1]);
  });

  it('works in batches and keeps an exact count across batches and activity calls', async () => {
    const marker = `rl-${randomUUID()}`;
    await insertLogs(
      marker,
      Array.from({ length: 10 }, (_, i) => 31 * DAY + i * MINUTE),
    );
    await insertLogs(marker, [2 * DAY]);

    const result = await sweep({ policyId: 'request-logs', batchSize: 3, batchesPerCall: 2 });
    // 3 + 3 | 3 + 1: four statements over two activity calls.
    expect(result).toMatchObject({ deleted: 10, batches: 4, calls: 2 });
    expect(await logAges(marker)).toEqual([2]);
    expect((await sweep({ policyId: 'request-logs', batchSize: 3 })).deleted).toBe(0);
  });

  it('honours a maxAgeMs override', async () => {
    const marker = `rl-${randomUUID()}`;
    await insertLogs(marker, [3 * DAY, 1 * HOUR]);
    expect((await sweep({ policyId: 'request-logs' })).deleted).toBe(0);
    // Rows of the earlier tests count too: the sweep is global.
    const [due] = await sql<{ n: number }>(sys.orm, 'select count(*)::int as n from request_logs where at < ?', [
      ago(2 * DAY),
    ]);
    expect(due?.n).toBeGreaterThanOrEqual(1);
    expect((await sweep({ policyId: 'request-logs', maxAgeMs: 2 * DAY })).deleted).toBe(due?.n);
    expect(await logAges(marker)).toEqual([0]);
  });

  it('sessions: expired or revoked sessions and API tokens go 7 days later; live ones stay', async () => {
    const user = await signUp(sys.app, 'retention');
    const session = async (expiresAt: Date, revokedAt: Date | null) => {
      const id = randomUUID();
      await sql(
        sys.orm,
        'insert into sessions (id, user_id, token_hash, created_at, expires_at, revoked_at) values (?, ?, ?, ?, ?, ?)',
        [id, user.id, hash(), ago(40 * DAY), expiresAt, revokedAt],
      );
      return id;
    };
    const token = async (expiresAt: Date | null, revokedAt: Date | null) => {
      const id = randomUUID();
      await sql(
        sys.orm,
        `insert into api_tokens (id, user_id, name, token_hash, hint, created_at, expires_at, revoked_at)
           values (?, ?, 'test', ?, 'sbt_x', ?, ?, ?)`,
        [id, user.id, hash(), ago(40 * DAY), expiresAt, revokedAt],
      );
      return id;
    };
    const gone = [
      await session(ago(8 * DAY), null),
      await session(ago(-20 * DAY), ago(8 * DAY)),
      await token(ago(9 * DAY), null),
      await token(null, ago(10 * DAY)),
    ];
    const kept = [
      await session(ago(1 * DAY), null),
      await session(ago(-20 * DAY), ago(6 * DAY)),
      await session(ago(-20 * DAY), null),
      await token(null, null),
      await token(ago(2 * DAY), null),
    ];

    const first = await sweep({ policyId: 'sessions' });
    expect(first).toMatchObject({ deleted: 4, tables: { sessions: 2, api_tokens: 2 } });
    const left = await sql<{ id: string }>(
      sys.orm,
      'select id from sessions where user_id = ? union all select id from api_tokens where user_id = ?',
      [user.id, user.id],
    );
    const ids = left.map((r) => r.id);
    for (const id of kept) expect(ids).toContain(id);
    for (const id of gone) expect(ids).not.toContain(id);
    // The sign-up session is live and stays too.
    expect(ids).toHaveLength(kept.length + 1);
    expect((await sweep({ policyId: 'sessions' })).deleted).toBe(0);
  });

  it('oauth-states: deletes starts expired more than a day ago', async () => {
    const state = async (expiresAt: Date) => {
      const id = randomUUID();
      await sql(
        sys.orm,
        `insert into oauth_states (id, purpose, state_hash, provider, created_at, expires_at)
           values (?, 'connect', ?, 'youtube', ?, ?)`,
        [id, hash(), ago(3 * DAY), expiresAt],
      );
      return id;
    };
    const old = await state(ago(2 * DAY));
    const recent = await state(ago(1 * HOUR));
    const live = await state(ago(-10 * MINUTE));

    expect(await sweep({ policyId: 'oauth-states' })).toMatchObject({ deleted: 1, tables: { oauth_states: 1 } });
    const left = (
      await sql<{ id: string }>(sys.orm, 'select id from oauth_states where id in (?, ?, ?)', [old, recent, live])
    ).map((r) => r.id);
    expect(left.sort()).toEqual([recent, live].sort());
    expect((await sweep({ policyId: 'oauth-states' })).deleted).toBe(0);
  });

  it('login-throttles: deletes counters idle for a day unless they still lock or delay', async () => {
    const row = async (updatedAt: Date, lockedUntil: Date | null, nextAllowedAt: Date | null) => {
      const key = `test:${randomUUID()}`;
      await sql(
        sys.orm,
        `insert into login_throttles (key, failures, window_started_at, next_allowed_at, locked_until, updated_at)
           values (?, 5, ?, ?, ?, ?)`,
        [key, updatedAt, nextAllowedAt, lockedUntil, updatedAt],
      );
      return key;
    };
    const idle = await row(ago(2 * DAY), null, ago(2 * DAY));
    const idleLockExpired = await row(ago(3 * DAY), ago(2 * DAY), null);
    const locked = await row(ago(2 * DAY), ago(-1 * HOUR), null);
    const delayed = await row(ago(2 * DAY), null, ago(-1 * HOUR));
    const recent = await row(ago(1 * HOUR), null, null);

    expect(await sweep({ policyId: 'login-throttles' })).toMatchObject({ deleted: 2 });
    const keys = [idle, idleLockExpired, locked, delayed, recent];
    const left = (
      await sql<{ key: string }>(sys.orm, 'select key from login_throttles where key in (?, ?, ?, ?, ?)', keys)
    )
      .map((r) => r.key)
      .sort();
    expect(left).toEqual([locked, delayed, recent].sort());
    expect((await sweep({ policyId: 'login-throttles' })).deleted).toBe(0);
  });

  it('exports: a ready export whose link expired becomes expired and its file is deleted; a live one stays', async () => {
    const user = randomUUID();
    const make = async (expiresAt: Date) => {
      const id = randomUUID();
      const rel = path.posix.join('exports', `${id}.zip`);
      mkdirSync(path.join(dataDir, 'exports'), { recursive: true });
      writeFileSync(path.join(dataDir, rel), 'zip');
      await sql(
        sys.orm,
        `insert into data_exports (id, kind, subject_id, requested_by, status, path, created_at, completed_at, expires_at)
           values (?, 'account', ?, ?, 'ready', ?, ?, ?, ?)`,
        [id, user, user, rel, ago(2 * DAY), ago(2 * DAY), expiresAt],
      );
      return { id, file: path.join(dataDir, rel) };
    };
    const expired = await make(ago(1 * HOUR));
    const live = await make(ago(-1 * HOUR));

    const first = await sweep({ policyId: 'exports' });
    expect(first.updated).toBeGreaterThanOrEqual(1);
    expect(first.deleted).toBe(0);
    const rows = await sql<{ id: string; status: string; path: string | null }>(
      sys.orm,
      'select id, status, path from data_exports where requested_by = ? order by expires_at',
      [user],
    );
    expect(rows).toEqual([
      { id: expired.id, status: 'expired', path: null },
      { id: live.id, status: 'ready', path: `exports/${live.id}.zip` },
    ]);
    expect(existsSync(expired.file)).toBe(false);
    expect(existsSync(live.file)).toBe(true);

    // A re-run leaves both alone.
    await sweep({ policyId: 'exports' });
    expect(
      await sql(sys.orm, 'select id, status, path from data_exports where requested_by = ? order by expires_at', [
        user,
      ]),
    ).toEqual(rows);
    expect(existsSync(live.file)).toBe(true);
  });

  it('deletion-kick: a request stored but never started gets its deletion workflow, once', async () => {
    const owner = await signUp(sys.app, 'kick');
    const workspaceId = await createWorkspace(sys.app, owner.token, 'Kick');
    const { request } = await createDeletionRequest(
      sys.orm.em.fork(),
      {
        kind: 'workspace',
        subjectId: workspaceId,
        workspaceId,
        requestedBy: owner.id,
        channel: 'api',
        receivedAt: ago(5 * MINUTE),
      },
      sys.config.privacy,
    );
    const handle = client.workflow.getHandle(deletionWorkflowId(request.id));
    await expect(handle.describe()).rejects.toThrow();

    const first = await sweep({ policyId: 'deletion-kick' });
    expect(first.started).toBeGreaterThanOrEqual(1);
    expect(first.deleted).toBe(0);
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(ProcessKind)).toBe('deletion');
    expect(described.taskQueue).toBe(sys.config.taskQueues.core);

    // Running or finished, the same workflow: a second sweep does not start another.
    await sweep({ policyId: 'deletion-kick' });
    expect((await handle.describe()).runId).toBe(described.runId);
    const [row] = await sql<{ status: string }>(sys.orm, 'select status from deletion_requests where id = ?', [
      request.id,
    ]);
    expect(row?.status).not.toBe('received');
  });

  it('account-purge: restarts the deletion of an account whose grace ended when its workflow is gone, not when it runs', async () => {
    const request = async () => {
      const user = await signUp(sys.app, 'purge');
      const { request } = await createDeletionRequest(
        sys.orm.em.fork(),
        { kind: 'account', subjectId: user.id, workspaceId: null, requestedBy: user.id, channel: 'api' },
        sys.config.privacy,
      );
      await sql(sys.orm, `update deletion_requests set status = 'in_grace', grace_ends_at = ? where id = ?`, [
        ago(2 * HOUR),
        request.id,
      ]);
      return request;
    };
    const lost = await request();
    const running = await request();
    // A workflow that is running (on a queue nobody polls, so it stays running) is left alone.
    const parked = await client.workflow.start('deletionWorkflow', {
      taskQueue: `nobody-${randomUUID()}`,
      workflowId: deletionWorkflowId(running.id),
      args: [deletionInput(running.id, sys.config)],
    });
    try {
      const result = await sweep({ policyId: 'account-purge' });
      expect(result.started).toBeGreaterThanOrEqual(1);
      const restarted = await client.workflow.getHandle(deletionWorkflowId(lost.id)).describe();
      expect(restarted.taskQueue).toBe(sys.config.taskQueues.core);
      expect(restarted.typedSearchAttributes.get(ProcessKind)).toBe('deletion');
      const untouched = await client.workflow.getHandle(deletionWorkflowId(running.id)).describe();
      expect(untouched.runId).toBe(parked.firstExecutionRunId);
      expect(untouched.status.name).toBe('RUNNING');
    } finally {
      await parked.terminate('test cleanup');
      await sql(sys.orm, `update deletion_requests set status = 'cancelled' where id = ?`, [running.id]);
    }
  });

  it('preview-links: deletes approval links 24 hours after they were made, whatever their expiry says', async () => {
    const owner = await signUp(sys.app, 'links');
    const workspaceId = await createWorkspace(sys.app, owner.token, 'Links');
    const postId = randomUUID();
    await sql(
      sys.orm,
      `insert into posts (id, workspace_id, requires_approval, approval_state, content_version, position, created_at, updated_at)
         values (?, ?, true, 'pending', 1, 0, now(), now())`,
      [postId, workspaceId],
    );
    const link = async (createdAt: Date, expiresAt: Date, revokedAt: Date | null = null) => {
      const id = randomUUID();
      await sql(
        sys.orm,
        `insert into approval_links (id, workspace_id, post_id, token_hash, created_by_id, created_at, expires_at, revoked_at, failed_attempts)
           values (?, ?, ?, ?, ?, ?, ?, ?, 0)`,
        [id, workspaceId, postId, hash(), owner.id, createdAt, expiresAt, revokedAt],
      );
      return id;
    };
    const gone = [
      await link(ago(25 * HOUR), ago(1 * HOUR)),
      // A row claiming a later expiry still goes at 24 hours.
      await link(ago(30 * HOUR), ago(-2 * HOUR)),
    ];
    const kept = [
      await link(ago(23 * HOUR), ago(-1 * HOUR)),
      // Expired or revoked early: kept until its 24 hours are up (the API answers 410 meanwhile).
      await link(ago(2 * HOUR), ago(1 * HOUR)),
      await link(ago(1 * HOUR), ago(-23 * HOUR), ago(30 * MINUTE)),
    ];

    const first = await sweep({ policyId: 'preview-links' });
    expect(first.deleted).toBeGreaterThanOrEqual(gone.length);
    const left = (await sql<{ id: string }>(sys.orm, 'select id from approval_links where post_id = ?', [postId])).map(
      (r) => r.id,
    );
    expect(left.sort()).toEqual([...kept].sort());
    // A re-run leaves the kept ones alone (other files' rows may be swept too, so no global count).
    await sweep({ policyId: 'preview-links' });
    expect(
      (await sql<{ id: string }>(sys.orm, 'select id from approval_links where post_id = ?', [postId])).length,
    ).toBe(kept.length);
  });

  it('refuses unknown policies and bad input', async () => {
    await expect(sweep({ policyId: 'no-such-policy' })).rejects.toBeInstanceOf(WorkflowFailedError);
    await expect(sweep({ policyId: 'request-logs', batchSize: 0 })).rejects.toThrow(WorkflowFailedError);
  });

  /** A workspace with one connection of the platform (rows inserted directly: sweeps read only the tables). */
  async function syncFixture(platform: string, status = 'active') {
    const owner = await signUp(sys.app, `sweep-${platform}`);
    const workspaceId = await createWorkspace(sys.app, owner.token);
    const connectionId = randomUUID();
    await sql(
      sys.orm,
      `insert into connections (id, workspace_id, platform, external_id, display_name, status, scopes, token_issued_at, created_at, updated_at)
         values (?, ?, ?, ?, 'C', ?, '[]', now(), ?, now())`,
      [connectionId, workspaceId, platform, randomUUID(), status, ago(400 * DAY)],
    );
    const threadId = randomUUID();
    await sql(
      sys.orm,
      `insert into inbox_threads (id, workspace_id, connection_id, platform, kind, external_id, last_message_at, created_at)
         values (?, ?, ?, ?, 'comment', ?, now(), now())`,
      [threadId, workspaceId, connectionId, platform, randomUUID()],
    );
    const message = async (receivedAgo: number, fetchedAgo = receivedAgo) => {
      const id = randomUUID();
      await sql(
        sys.orm,
        `insert into inbox_messages (id, workspace_id, connection_id, thread_id, platform, external_id, direction,
           author_external_id, body, sent_at, received_at, fetched_at)
         values (?, ?, ?, ?, ?, ?, 'in', 'fan', 'hi', ?, ?, ?)`,
        [
          id,
          workspaceId,
          connectionId,
          threadId,
          platform,
          randomUUID(),
          ago(receivedAgo),
          ago(receivedAgo),
          ago(fetchedAgo),
        ],
      );
      return id;
    };
    const point = async (
      metric: string,
      value: number,
      observedAgo: number,
      day: string | null = null,
      objectId = '',
      delta: number | null = null,
    ) =>
      sql(
        sys.orm,
        `insert into metric_points (workspace_id, connection_id, platform, object_kind, object_id, metric, day, value, delta, observed_at)
         values (?, ?, ?, ?, ?, ?, ?::date, ?, ?, ?)`,
        [
          workspaceId,
          connectionId,
          platform,
          objectId ? 'media' : 'account',
          objectId,
          metric,
          day,
          value,
          delta,
          ago(observedAgo),
        ],
      );
    return { workspaceId, connectionId, message, point };
  }
  const ids = async (q: string, params: unknown[]) => (await sql<{ id: string }>(sys.orm, q, params)).map((r) => r.id);

  it('instagram-inbox: Instagram messages go 30 days after receipt; newer ones and other platforms stay', async () => {
    const ig = await syncFixture('instagram');
    const old = await ig.message(31 * DAY);
    const fresh = await ig.message(29 * DAY);
    const fb = await syncFixture('facebook');
    const fbOld = await fb.message(90 * DAY);
    const first = await sweep({ policyId: 'instagram-inbox' });
    expect(first.tables.inbox_messages).toBeGreaterThanOrEqual(1);
    const left = await ids(
      'select id from inbox_messages where id::text in (select jsonb_array_elements_text(?::jsonb))',
      [JSON.stringify([old, fresh, fbOld])],
    );
    expect(left.sort()).toEqual([fresh, fbOld].sort());
    const again = await sweep({ policyId: 'instagram-inbox' });
    expect(again.deleted).toBe(0);
  });

  it('analytics-aggregate: rows of whole months past 24 months become monthly rows; YouTube and recent rows stay', async () => {
    const li = await syncFixture('linkedin');
    // Anchored mid-month (15th 12:00 UTC, 26 months back) so readings hours apart never straddle a UTC month boundary.
    const today = new Date();
    const anchor = Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 26, 15, 12);
    const hoursBefore = (h: number) => Date.now() - anchor + h * HOUR;
    const ym = new Date(anchor).toISOString().slice(0, 7);
    const month = `${ym}-01`;
    const day1 = `${ym}-02`;
    const day2 = `${ym}-03`;
    // Day 1 was restated (two observations): only its latest value counts.
    await li.point('views', 5, hoursBefore(1), day1);
    await li.point('views', 7, hoursBefore(0), day1);
    await li.point('views', 10, hoursBefore(0), day2);
    // Two posts' running totals: their changes add up; each post's newest reading stays.
    await li.point('likes', 3, hoursBefore(2), null, 'post-a');
    await li.point('likes', 4, hoursBefore(1), null, 'post-a', 1);
    await li.point('likes', 6, hoursBefore(1), null, 'post-b');
    await li.point('views', 99, 1 * DAY, new Date(Date.now() - DAY).toISOString().slice(0, 10));
    const yt = await syncFixture('youtube');
    await yt.point('views', 1, hoursBefore(1), day1);

    await sweep({ policyId: 'analytics-aggregate' });
    const monthly = await sql<{
      object_kind: string;
      metric: string;
      series: string;
      month: string;
      value: number;
      samples: number;
    }>(
      sys.orm,
      `select object_kind, metric, series, to_char(month, 'YYYY-MM-DD') as month, value, samples from metric_monthly
       where connection_id = ? order by metric`,
      [li.connectionId],
    );
    expect(monthly).toEqual([
      // post-a's first reading (3) aggregated; its newest (4) and post-b's only reading (6) stay as current values.
      { object_kind: 'media', metric: 'likes', series: 'change', month, value: 3, samples: 1 },
      { object_kind: 'account', metric: 'views', series: 'daily', month, value: 17, samples: 2 },
    ]);
    const remaining = await sql<{ value: number }>(
      sys.orm,
      'select value from metric_points where connection_id = ? order by value',
      [li.connectionId],
    );
    expect(remaining.map((r) => r.value)).toEqual([4, 6, 99]);
    expect((await sql(sys.orm, 'select 1 from metric_points where connection_id = ?', [yt.connectionId])).length).toBe(
      1,
    );
    // Idempotent: nothing left to aggregate, the monthly rows stay as they are.
    await sweep({ policyId: 'analytics-aggregate' });
    expect((await sql(sys.orm, 'select 1 from metric_monthly where connection_id = ?', [li.connectionId])).length).toBe(
      2,
    );
  });

  it('youtube-refresh: comments not refreshed for 30 days go; an unverifiable connection loses all its YouTube data', async () => {
    const live = await syncFixture('youtube');
    const stale = await live.message(40 * DAY, 31 * DAY);
    const refreshed = await live.message(40 * DAY, 2 * DAY);
    await sql(
      sys.orm,
      `insert into sync_states (connection_id, workspace_id, platform, verified_at) values (?, ?, 'youtube', now())`,
      [live.connectionId, live.workspaceId],
    );
    await live.point('views', 3, 200 * DAY);
    const lost = await syncFixture('youtube', 'needs_reconnect');
    await lost.message(1 * DAY);
    await lost.point('views', 3, 1 * DAY);
    await sql(
      sys.orm,
      `insert into sync_states (connection_id, workspace_id, platform, verified_at) values (?, ?, 'youtube', ?)`,
      [lost.connectionId, lost.workspaceId, ago(31 * DAY)],
    );

    await sweep({ policyId: 'youtube-refresh' });
    expect(await ids('select id from inbox_messages where connection_id = ?', [live.connectionId])).toEqual([
      refreshed,
    ]);
    expect(stale).not.toBe(refreshed);
    // Statistics of a verified connection stay (R-YT-4).
    expect(
      (await sql(sys.orm, 'select 1 from metric_points where connection_id = ?', [live.connectionId])).length,
    ).toBe(1);
    for (const table of ['inbox_messages', 'metric_points', 'inbox_threads']) {
      expect(
        (await sql(sys.orm, `select 1 from ${table} where connection_id = ?`, [lost.connectionId])).length,
        table,
      ).toBe(0);
    }
  });

  it('webhook-events: ingested events go after 7 days; pending ones stay', async () => {
    const ig = await syncFixture('instagram');
    const insert = async (receivedAgo: number, processed: boolean) => {
      const key = randomUUID();
      await sql(
        sys.orm,
        `insert into webhook_events (platform, dedupe_key, workspace_id, connection_id, received_at, processed_at)
         values ('instagram', ?, ?, ?, ?, ?)`,
        [key, ig.workspaceId, ig.connectionId, ago(receivedAgo), processed ? ago(receivedAgo) : null],
      );
      return key;
    };
    const old = await insert(8 * DAY, true);
    const recent = await insert(1 * DAY, true);
    const pending = await insert(8 * DAY, false);
    await sweep({ policyId: 'webhook-events' });
    const left = (
      await sql<{ dedupe_key: string }>(sys.orm, 'select dedupe_key from webhook_events where connection_id = ?', [
        ig.connectionId,
      ])
    ).map((r) => r.dedupe_key);
    expect(left.sort()).toEqual([recent, pending].sort());
    expect(left).not.toContain(old);
  });
});

describe('retention schedules', () => {
  it('creates one schedule per active policy, updates them on a second (concurrent) call, and removes stale ones', async () => {
    // A prefix keeps these apart from the real `retention/*` schedules other worker processes create.
    const prefix = `test-${randomUUID()}/`;
    const active = activeRetentionPolicies();
    const ids = active.map((p) => `${prefix}${retentionScheduleId(p.id)}`);
    const listed = async () => {
      const found: string[] = [];
      for await (const s of client.schedule.list()) if (s.scheduleId.startsWith(prefix)) found.push(s.scheduleId);
      return found.sort();
    };
    try {
      const first = await ensureRetentionSchedules(client, sys.config, { idPrefix: prefix });
      expect(first.created.sort()).toEqual([...ids].sort());
      expect(first.updated).toEqual([]);
      expect(first.skipped.sort()).toEqual(
        RETENTION_POLICIES.filter((p) => p.table === null)
          .map((p) => p.id)
          .sort(),
      );
      expect(ids).toContain(`${prefix}retention/request-logs`);

      for (const policy of active) {
        const id = `${prefix}${retentionScheduleId(policy.id)}`;
        const d = await client.schedule.getHandle(id).describe();
        expect(d.spec.intervals?.[0]?.every).toBe(policy.everyMs);
        expect(d.action).toMatchObject({
          type: 'startWorkflow',
          workflowType: 'retentionSweepWorkflow',
          workflowId: id,
          taskQueue: sys.config.taskQueues.core,
          args: [{ policyId: policy.id }],
        });
        expect((d.action.typedSearchAttributes as TypedSearchAttributes | undefined)?.get(ProcessKind)).toBe(
          'retention',
        );
        expect(d.typedSearchAttributes.get(ProcessKind)).toBe('retention');
        expect(d.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: RETENTION_CATCHUP_WINDOW_MS });
        expect(d.state.paused).toBe(false);
      }

      // An operator pauses one in the UI; two workers then start at once.
      const paused = `${prefix}${retentionScheduleId('request-logs')}`;
      await client.schedule.getHandle(paused).pause('operator: investigating');
      const [a, b] = await Promise.all([
        ensureRetentionSchedules(client, sys.config, { idPrefix: prefix }),
        ensureRetentionSchedules(client, sys.config, { idPrefix: prefix }),
      ]);
      expect([...a.created, ...b.created]).toEqual([]);
      expect(a.updated.sort()).toEqual([...ids].sort());
      expect(b.updated.sort()).toEqual([...ids].sort());
      expect((await client.schedule.getHandle(paused).describe()).state).toMatchObject({
        paused: true,
        note: 'operator: investigating',
      });
      expect(await eventually(async () => ((await listed()).length === ids.length ? listed() : undefined))).toEqual(
        [...ids].sort(),
      );

      // A policy changes its interval and another is dropped: the schedules follow.
      const changed = RETENTION_POLICIES.filter((p) => p.id !== 'oauth-states').map((p) =>
        p.id === 'request-logs' ? { ...p, everyMs: 2 * HOUR } : p,
      );
      const dropped = `${prefix}${retentionScheduleId('oauth-states')}`;
      await eventually(async () => {
        await ensureRetentionSchedules(client, sys.config, { idPrefix: prefix, policies: changed });
        try {
          await client.schedule.getHandle(dropped).describe();
          return false;
        } catch (err) {
          return err instanceof ScheduleNotFoundError;
        }
      });
      expect((await client.schedule.getHandle(paused).describe()).spec.intervals?.[0]?.every).toBe(2 * HOUR);
    } finally {
      for (const id of ids)
        await client.schedule
          .getHandle(id)
          .delete()
          .catch(() => {});
    }
  });
});
