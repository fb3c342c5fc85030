import { beforeAll, describe, expect, it } from 'vitest';
import { publishWorkflowId } from '../../workflows/publish.messages.ts';
import { eventually, historyText, recordHistory, simulatedSystem, spawnWorker, sql, testEnv } from '../helpers.ts';
import { admin } from '../platforms/contract.ts';
import {
  COMMIT_ROUTE,
  connect,
  contentFor,
  type PublishingPlatform,
  publishCount,
  schedule,
  seedPost,
  type TargetRow,
  targetRow,
  type Workspace,
  workspace,
} from './publish-support.ts';

// Exactly once, on every platform with a feed, against its simulator: a commit whose answer is
// lost after it landed, a worker killed while the commit is in flight, and a throttled commit each
// end with one public post, found by the platform's truth signal rather than by posting again.
// Two files run it (Meta's platforms, the others) so they run side by side.

export function exactlyOnceSuite(platforms: readonly PublishingPlatform[]): void {
  const t = simulatedSystem();

  const fault = (platform: string, body: Record<string, unknown>) => admin(t.sim, 'POST', `/${platform}/faults`, body);
  const calls = async (platform: string, route: string) =>
    (await admin<{ route: string }[]>(t.sim, 'GET', `/${platform}/calls?route=${route}`)).length;

  async function published(targetId: string, timeoutMs = 60_000): Promise<TargetRow> {
    const row = await eventually(async () => {
      const row = await targetRow(t.sys, targetId);
      if (row?.status === 'failed' || row?.status === 'cancelled') {
        throw new Error(`target ended ${row.status}: ${row.status_reason}`);
      }
      return row?.status === 'published' ? row : undefined;
    }, timeoutMs);
    return row as TargetRow;
  }

  async function attemptStates(targetId: string) {
    return (
      await sql<{ step: string; state: string }>(
        t.sys.orm,
        `select step, state from publish_attempts where target_id = ? order by started_at, idempotency_key`,
        [targetId],
      )
    ).map((a) => `${a.step}:${a.state}`);
  }

  describe.each(platforms)('%s', (platform: PublishingPlatform) => {
    let ws: Workspace;
    let connectionId: string;

    beforeAll(async () => {
      ws = await workspace(t.sys);
      connectionId = (await connect(t.sys, ws, platform)).id;
    }, 60_000);

    it('a commit that lands and then loses its answer is verified, not repeated: one post', async () => {
      const before = await publishCount(t.sim, platform);
      await fault(platform, { route: COMMIT_ROUTE[platform], kind: 'drop_after' });
      const post = await seedPost(t.sys, ws, connectionId, platform, contentFor(t.sim, platform, 'unknown'));
      await schedule(t.client, t.sys.config.taskQueues.core, ws, post.targetId, platform);

      const row = await published(post.targetId);
      expect(row.platform_post_id).toBeTruthy();
      expect(await publishCount(t.sim, platform)).toBe(before + 1);
      const states = await attemptStates(post.targetId);
      // The lost commit was looked up at the platform and found landed; no second commit was sent.
      expect(states.filter((s) => s.startsWith('commit:'))).toEqual(['commit:landed']);

      const history = await recordHistory(
        t.client,
        publishWorkflowId(post.targetId),
        'publishWorkflow',
        `${platform}-outcome-unknown`,
      );
      const text = historyText(history);
      expect(text).not.toContain(post.caption);
      expect(text).not.toMatch(/access_token|Bearer /);
    });

    it('a worker killed while the commit is in flight: the next worker checks first, one post', async () => {
      // A worker process of its own on its own task queue, so it can be killed like a crash.
      const env = testEnv({ SIMULATOR_URL: t.sim.url });
      const queue = env.TASK_QUEUE_CORE as string;
      const before = await publishCount(t.sim, platform);
      const commitsBefore = await calls(platform, COMMIT_ROUTE[platform]);
      const first = spawnWorker(env);
      // The platform is slow to answer, so the commit is in flight when the worker dies.
      await fault(platform, { route: COMMIT_ROUTE[platform], kind: 'delay', delayMs: 3_000 });
      const post = await seedPost(t.sys, ws, connectionId, platform, contentFor(t.sim, platform, 'crash'));
      await schedule(t.client, queue, ws, post.targetId, platform);
      await eventually(async () => (await calls(platform, COMMIT_ROUTE[platform])) > commitsBefore, 60_000);
      first.child.kill('SIGKILL');
      await first.exited;
      const second = spawnWorker(env);
      try {
        const row = await published(post.targetId, 90_000);
        expect(row.platform_post_id).toBeTruthy();
      } finally {
        second.child.kill('SIGTERM');
        await second.exited;
      }
      expect(await publishCount(t.sim, platform)).toBe(before + 1);
      const commits = (await attemptStates(post.targetId)).filter((s) => s.startsWith('commit:'));
      // The killed worker's commit stayed `started`; the next attempt asked the platform and found it.
      expect(commits).toEqual(['commit:landed']);
    }, 150_000);

    it('a throttled commit waits and publishes later, once', async () => {
      if (platform === 'linkedin') {
        // LinkedIn's limits are daily and its 429 names no wait: the adapter waits for UTC midnight
        // in LinkedIn's clock, so the simulator's clock is moved to 20 s before it: enough that the
        // throttled commit lands before midnight on a slow machine (after it the wait would be a day).
        const { now } = await admin<{ now: string }>(t.sim, 'GET', '/clock');
        const midnight = new Date(now);
        midnight.setUTCHours(24, 0, 0, 0);
        await admin(t.sim, 'POST', '/clock', { advanceMs: midnight.getTime() - Date.parse(now) - 20_000 });
      }
      const before = await publishCount(t.sim, platform);
      await fault(platform, { route: COMMIT_ROUTE[platform], kind: 'throttle', retryAfterS: 1 });
      const post = await seedPost(t.sys, ws, connectionId, platform, contentFor(t.sim, platform, 'throttled'));
      await schedule(t.client, t.sys.config.taskQueues.core, ws, post.targetId, platform);
      // Meta states the wait in whole minutes (estimated_time_to_regain_access).
      await published(post.targetId, 150_000);
      expect(await publishCount(t.sim, platform)).toBe(before + 1);
      const states = await attemptStates(post.targetId);
      expect(states.filter((s) => s.startsWith('commit:'))).toEqual(['commit:failed', 'commit:succeeded']);
      const [throttled] = await sql<{ error_kind: string }>(
        t.sys.orm,
        `select error_kind from publish_attempts where target_id = ? and step = 'commit' and state = 'failed'`,
        [post.targetId],
      );
      expect(throttled?.error_kind).toBe('rate_limited');
    }, 180_000);
  });
}
