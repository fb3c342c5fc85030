import { describe, expect, it } from 'vitest';
import type { PlatformId } from '../../platforms/types.ts';
import type { SimPost } from '../../simulators/content.ts';
import { syncNow } from '../../workflows/sync.client.ts';
import { syncWorkflowId } from '../../workflows/sync.messages.ts';
import { bearer, eventually, recordHistory, simulatedSystem, sql } from '../helpers.ts';
import { admin } from '../platforms/contract.ts';
import { connect, type Workspace, workspace } from './publish-support.ts';

// Analytics and inbox sync through the real sync workflow, against each platform's simulator: the
// first pass stores history, a pass with nothing changed writes no metric rows, and a change at the
// platform comes back as one new observation with its delta.

const t = simulatedSystem();

const PLATFORMS = ['youtube', 'instagram', 'facebook', 'tiktok', 'linkedin', 'x', 'threads', 'whatsapp'] as const;
/** Platforms that report their audience (age, gender, country, …). */
const AUDIENCE = new Set<PlatformId>(['youtube', 'instagram', 'threads', 'linkedin']);
/** Platforms whose API lists comments or messages we poll (WhatsApp's come by webhook only; TikTok has none). */
const POLLED_INBOX = new Set<PlatformId>(['youtube', 'instagram', 'facebook', 'linkedin', 'x', 'threads']);

async function syncState(connectionId: string) {
  const [row] = await sql<{
    passes: number;
    status: string;
    status_reason: string | null;
    last_pass_metric_rows: number;
  }>(
    t.sys.orm,
    'select passes, status, status_reason, last_pass_metric_rows from sync_states where connection_id = ?',
    [connectionId],
  );
  return row;
}

/** Asks for a pass and waits until it is done. */
async function pass(ws: Workspace, connectionId: string, platform: PlatformId) {
  const before = (await syncState(connectionId))?.passes ?? 0;
  await syncNow(t.client, t.sys.config.taskQueues.core, { connectionId, workspaceId: ws.workspaceId, platform });
  const done = await eventually(async () => {
    const s = await syncState(connectionId);
    return s && s.passes > before ? s : undefined;
  }, 60_000);
  return done!;
}

const count = async (table: string, connectionId: string) =>
  Number(
    (
      await sql<{ n: string }>(t.sys.orm, `select count(*)::text as n from ${table} where connection_id = ?`, [
        connectionId,
      ])
    )[0]?.n,
  );

describe.each(PLATFORMS)('%s', (platform) => {
  it('stores history on the first pass, writes no metric rows when nothing changed, and a change is one row with its delta', async () => {
    const ws = await workspace(t.sys);
    const conn = await connect(t.sys, ws, platform);
    const accountId = t.sim.platforms.get(platform)!.firstAccount().id;
    // The connect workflow starts the sync; its first pass finds an empty account.
    await eventually(async () => ((await syncState(conn.id))?.passes ?? 0) >= 1, 60_000);
    const empty = await count('metric_points', conn.id);

    const seeded = await admin<{ posts: SimPost[] }>(t.sim, 'POST', `/${platform}/content/seed`, {
      accountId,
      posts: platform === 'whatsapp' ? 0 : 12,
      days: 20,
      commentsPerPost: 2,
      dms: 3,
      mentions: 2,
      dailyMetrics: platform === 'whatsapp' ? ['sent', 'delivered'] : undefined,
    });
    const first = await pass(ws, conn.id, platform);
    expect(first.status, first.status_reason ?? '').toBe('idle');
    const rows = await count('metric_points', conn.id);
    expect(rows).toBeGreaterThan(empty);
    expect(first.last_pass_metric_rows).toBe(rows - empty);
    if (platform !== 'whatsapp') expect(await count('synced_media', conn.id)).toBeGreaterThanOrEqual(12);
    const messages = await count('inbox_messages', conn.id);
    if (POLLED_INBOX.has(platform)) expect(messages).toBeGreaterThan(0);

    // Nothing changed at the platform: not one metric row, no new messages.
    const second = await pass(ws, conn.id, platform);
    expect(second.last_pass_metric_rows).toBe(0);
    expect(await count('metric_points', conn.id)).toBe(rows);
    expect(await count('inbox_messages', conn.id)).toBe(messages);

    // One number changes at the platform: exactly one new observation, carrying the change.
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const post = seeded.posts[0];
    if (platform === 'whatsapp') {
      await admin(t.sim, 'POST', `/${platform}/content/bump`, { accountId, day: yesterday, metric: 'sent', by: 7 });
    } else {
      await admin(t.sim, 'POST', `/${platform}/content/bump`, { postId: post!.id, metric: 'likes', by: 7 });
    }
    const third = await pass(ws, conn.id, platform);
    expect(third.last_pass_metric_rows).toBe(1);
    const [changed] = await sql<{ object_id: string; delta: number | null; value: number }>(
      t.sys.orm,
      'select object_id, delta, value from metric_points where connection_id = ? order by id desc limit 1',
      [conn.id],
    );
    if (platform === 'youtube') {
      // No derived YouTube metrics are stored: the change is computed when read, and labelled.
      expect(changed?.delta).toBeNull();
    } else {
      expect(changed?.delta).toBe(7);
    }
    if (platform !== 'whatsapp') expect(changed?.object_id).toContain(post!.id.replace(/^.*[:/]/, ''));

    // The API reads the same series (and tells YouTube's own numbers from ours).
    const [metric] = await sql<{ metric: string; object_kind: string; object_id: string; day: string | null }>(
      t.sys.orm,
      `select metric, object_kind, object_id, to_char(day, 'YYYY-MM-DD') as day from metric_points
       where connection_id = ? order by id desc limit 1`,
      [conn.id],
    );
    const query = new URLSearchParams({
      connectionId: conn.id,
      metric: metric!.metric,
      from: new Date(Date.now() - 400 * 86_400_000).toISOString().slice(0, 10),
      to: new Date(Date.now() + 86_400_000).toISOString().slice(0, 10),
    });
    if (metric!.object_kind === 'media') query.set('mediaId', metric!.object_id);
    const series = await t.sys.app.inject({
      method: 'GET',
      url: `/v1/workspaces/${ws.workspaceId}/analytics/series?${query}`,
      headers: bearer(ws.token),
    });
    expect(series.statusCode, series.body).toBe(200);
    expect(series.json().points.length).toBeGreaterThan(0);
    if (platform === 'youtube') expect(series.json().notFromPlatform).toMatch(/not from YouTube/);

    // Audience breakdowns where the platform reports them.
    const audience = await t.sys.app.inject({
      method: 'GET',
      url: `/v1/workspaces/${ws.workspaceId}/analytics/audience?connectionId=${conn.id}`,
      headers: bearer(ws.token),
    });
    expect(audience.statusCode, audience.body).toBe(200);
    const dimensions = Object.keys(audience.json().dimensions);
    if (AUDIENCE.has(platform)) expect(dimensions.length).toBeGreaterThan(0);
    else expect(dimensions).toEqual([]);

    await recordHistory(t.client, syncWorkflowId(conn.id), 'syncWorkflow', `${platform}-passes`);
    // The connect workflow now hands the new connection to its sync (patched; older runs replay without it).
    const [state] = await sql<{ id: string }>(t.sys.orm, 'select id from oauth_states where connection_id = ?', [
      conn.id,
    ]);
    if (state) await recordHistory(t.client, `connect/${state.id}`, 'connectWorkflow', `${platform}-starts-sync`);
  }, 180_000);
});

describe('rate limits', () => {
  it('a stream throttled in the middle of a pass waits for the reset and resumes at its page: nothing lost, nothing twice', async () => {
    const x = t.sim.platforms.get('x')!;
    // An account of its own with three pages of posts.
    const account = x.addAccount({ id: `9${Date.now()}`, name: 'Throttled', handle: `throttled${Date.now()}` });
    const seeded = x.content.seed(Date.now(), { accountId: account.id, posts: 250, days: 60 }, x.contentId);
    x.nextConsent = { accountId: account.id };
    const ws = await workspace(t.sys);
    const conn = await connect(t.sys, ws, 'x');
    await eventually(async () => ((await syncState(conn.id))?.passes ?? 0) >= 1, 60_000);
    // The connect's first pass already read everything; start the stream over with the throttle in place.
    await sql(t.sys.orm, `delete from sync_cursors where connection_id = ? and stream = 'media'`, [conn.id]);
    await sql(t.sys.orm, 'delete from synced_media where connection_id = ?', [conn.id]);
    const callsBefore = (await admin<{ fault?: string }[]>(t.sim, 'GET', '/x/calls?route=timeline')).length;
    // The second page of the timeline answers 429 with a reset 2 s away.
    await admin(t.sim, 'POST', '/x/faults', { route: 'timeline', kind: 'throttle', after: 1, retryAfterS: 2 });

    const done = await pass(ws, conn.id, 'x');
    const calls = (await admin<{ fault?: string; status?: number }[]>(t.sim, 'GET', '/x/calls?route=timeline')).slice(
      callsBefore,
    );
    expect(calls.map((c) => c.fault ?? c.status)).toEqual([200, 'throttle', 200, 200]);
    expect(done.passes).toBeGreaterThanOrEqual(2);
    const stored = await sql<{ external_id: string }>(
      t.sys.orm,
      'select external_id from synced_media where connection_id = ?',
      [conn.id],
    );
    expect(stored.length).toBe(250);
    expect(new Set(stored.map((r) => r.external_id))).toEqual(new Set(seeded.posts.map((p) => p.id)));
    // No metric key holds the same value twice: nothing was written again on resume.
    const repeated = await sql(
      t.sys.orm,
      `select 1 from metric_points where connection_id = ?
       group by object_kind, object_id, metric, day, value having count(*) > 1`,
      [conn.id],
    );
    expect(repeated).toEqual([]);
    await recordHistory(t.client, syncWorkflowId(conn.id), 'syncWorkflow', 'x-throttled-resume');
  }, 120_000);
});

describe('sync reconciler', () => {
  it('starts a sync workflow for a connection that has none running, and leaves running ones alone', async () => {
    const ws = await workspace(t.sys);
    const conn = await connect(t.sys, ws, 'tiktok');
    await eventually(async () => ((await syncState(conn.id))?.passes ?? 0) >= 1, 60_000);
    // An operator terminated it (or it failed): the connection has no sync any more.
    await t.client.workflow.getHandle(syncWorkflowId(conn.id)).terminate('test: gone');
    const run = (id: string) =>
      t.client.workflow.execute('syncReconcilerWorkflow', {
        taskQueue: t.sys.config.taskQueues.core,
        workflowId: id,
        args: [{ batchSize: 10, workspaceId: ws.workspaceId }],
      });
    const first = await run(`test-sync-reconcile-${conn.id}`);
    expect(first).toEqual({ examined: 1, started: 1 });
    const description = await t.client.workflow.getHandle(syncWorkflowId(conn.id)).describe();
    expect(description.status.name).toBe('RUNNING');
    // Its first act is a pass.
    await eventually(async () => ((await syncState(conn.id))?.passes ?? 0) >= 2, 60_000);
    const second = await run(`test-sync-reconcile-again-${conn.id}`);
    expect(second).toEqual({ examined: 1, started: 0 });
    await recordHistory(t.client, `test-sync-reconcile-${conn.id}`, 'syncReconcilerWorkflow', 'restart-one');
  }, 120_000);
});
