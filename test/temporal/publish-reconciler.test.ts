import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureReconcilerSchedule } from '../../lib/schedules.ts';
import { lazyClient } from '../../lib/temporal.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { publishWorkflowId, RECONCILE_WORKFLOW_TYPE, type ReconcileResult } from '../../workflows/publish.messages.ts';
import { createTestSystem, eventually, recordHistory, type TestSystem } from '../helpers.ts';
import { connect, contentFor, schedule, seedPost, targetRow, type Workspace, workspace } from './publish-support.ts';

// The reconciler repairs what the main path left behind: a scheduled row whose workflow never
// started (Temporal was down when the API wrote it) and one whose workflow was terminated.

let sim: Simulator;
let sys: TestSystem;
let client: Client;
let ws: Workspace;
let connectionId: string;

beforeAll(async () => {
  sim = await startSimulator();
  sys = await createTestSystem({ SIMULATOR_URL: sim.url });
  await sys.startWorker();
  client = lazyClient(sys.config).client;
  ws = await workspace(sys);
  connectionId = (await connect(sys, ws, 'threads')).id;
}, 60_000);
afterAll(async () => {
  await sys?.close();
  await sim?.close();
});

async function reconcile(id: string): Promise<ReconcileResult> {
  const result = await client.workflow.execute(RECONCILE_WORKFLOW_TYPE, {
    taskQueue: sys.config.taskQueues.core,
    workflowId: id,
    args: [{ batchSize: 100, workspaceId: ws.workspaceId }],
  });
  return result as ReconcileResult;
}

describe('publish reconciler', () => {
  it('starts a workflow for a due row that has none, which publishes it', async () => {
    const post = await seedPost(sys, ws, connectionId, 'threads', contentFor(sim, 'threads', 'orphan'));
    await expect(client.workflow.getHandle(publishWorkflowId(post.targetId)).describe()).rejects.toThrow();

    const id = `publish-reconciler-test-${post.targetId}`;
    const result = await reconcile(id);
    expect(result.started).toBeGreaterThanOrEqual(1);
    await eventually(async () => (await targetRow(sys, post.targetId))?.status === 'published', 30_000);
    await recordHistory(client, id, 'publishReconcilerWorkflow', 'started-orphan');
  });

  it('restarts a terminated workflow, leaves running ones alone', async () => {
    const later = new Date(Date.now() + 10 * 60_000);
    const post = await seedPost(sys, ws, connectionId, 'threads', contentFor(sim, 'threads', 'terminated'), {
      dueAt: later,
    });
    await schedule(client, sys.config.taskQueues.core, ws, post.targetId, 'threads');
    const handle = client.workflow.getHandle(publishWorkflowId(post.targetId));
    await handle.terminate('an operator stopped it');
    expect((await handle.describe()).status.name).toBe('TERMINATED');

    const first = await reconcile(`publish-reconciler-test-${post.targetId}-1`);
    expect(first.started).toBe(1);
    const restarted = client.workflow.getHandle(publishWorkflowId(post.targetId));
    expect((await restarted.describe()).status.name).toBe('RUNNING');
    expect(await restarted.query('state')).toMatchObject({ status: 'scheduled', dueAt: later.toISOString() });

    // Nothing to repair now: a second run starts nothing for this workspace.
    const second = await reconcile(`publish-reconciler-test-${post.targetId}-2`);
    expect(second).toMatchObject({ started: 0, replanned: 0 });
    expect(second.examined).toBeGreaterThanOrEqual(1);

    // A reschedule whose update never reached the workflow: the row is ahead, the reconciler tells it.
    const sooner = new Date(Date.now() + 5 * 60_000);
    await sys.orm.em
      .getConnection()
      .execute('update post_targets set due_at = ?, schedule_version = schedule_version + 1 where id = ?', [
        sooner,
        post.targetId,
      ]);
    const third = await reconcile(`publish-reconciler-test-${post.targetId}-3`);
    expect(third).toMatchObject({ started: 0, replanned: 1 });
    await eventually(async () => {
      const state = (await restarted.query('state')) as { dueAt: string; scheduleVersion: number };
      return state.dueAt === sooner.toISOString() && state.scheduleVersion === 2;
    });
    await restarted.terminate('test over');
  });

  it('is a Schedule, created once and updated in place', async () => {
    const prefix = `test-${ws.workspaceId.slice(0, 8)}-`;
    expect(await ensureReconcilerSchedule(client, sys.config, { idPrefix: prefix, everyMs: 60_000 })).toBe('created');
    expect(await ensureReconcilerSchedule(client, sys.config, { idPrefix: prefix, everyMs: 120_000 })).toBe('updated');
    const handle = client.schedule.getHandle(`${prefix}publish-reconciler`);
    const described = await handle.describe();
    expect(described.spec.intervals?.[0]?.every).toBe(120_000);
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: RECONCILE_WORKFLOW_TYPE });
    await handle.delete();
  });
});
