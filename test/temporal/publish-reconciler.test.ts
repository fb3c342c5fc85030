import { beforeAll, describe, expect, it } from 'vitest';
import { ensureReconcilerSchedule } from '../../lib/schedules.ts';
import { publishWorkflowId, RECONCILE_WORKFLOW_TYPE, type ReconcileResult } from '../../workflows/publish.messages.ts';
import { eventually, recordHistory, simulatedSystem } from '../helpers.ts';
import { connect, contentFor, schedule, seedPost, targetRow, type Workspace, workspace } from './publish-support.ts';

// The reconciler repairs what the main path left behind: a scheduled row whose workflow never
// started (Temporal was down when the API wrote it) and one whose workflow was terminated.

const t = simulatedSystem();
let ws: Workspace;
let connectionId: string;

beforeAll(async () => {
  ws = await workspace(t.sys);
  connectionId = (await connect(t.sys, ws, 'threads')).id;
}, 60_000);

async function reconcile(id: string): Promise<ReconcileResult> {
  const result = await t.client.workflow.execute(RECONCILE_WORKFLOW_TYPE, {
    taskQueue: t.sys.config.taskQueues.core,
    workflowId: id,
    args: [{ batchSize: 100, workspaceId: ws.workspaceId }],
  });
  return result as ReconcileResult;
}

describe('publish reconciler', () => {
  it('starts a workflow for a due row that has none, which publishes it', async () => {
    const post = await seedPost(t.sys, ws, connectionId, 'threads', contentFor(t.sim, 'threads', 'orphan'));
    await expect(t.client.workflow.getHandle(publishWorkflowId(post.targetId)).describe()).rejects.toThrow();

    const id = `publish-reconciler-test-${post.targetId}`;
    const result = await reconcile(id);
    expect(result.started).toBeGreaterThanOrEqual(1);
    await eventually(async () => (await targetRow(t.sys, post.targetId))?.status === 'published', 30_000);
    await recordHistory(t.client, id, 'publishReconcilerWorkflow', 'started-orphan');
  });

  it('restarts a terminated workflow, leaves running ones alone', async () => {
    const later = new Date(Date.now() + 10 * 60_000);
    const post = await seedPost(t.sys, ws, connectionId, 'threads', contentFor(t.sim, 'threads', 'terminated'), {
      dueAt: later,
    });
    await schedule(t.client, t.sys.config.taskQueues.core, ws, post.targetId, 'threads');
    const handle = t.client.workflow.getHandle(publishWorkflowId(post.targetId));
    await handle.terminate('an operator stopped it');
    expect((await handle.describe()).status.name).toBe('TERMINATED');

    const first = await reconcile(`publish-reconciler-test-${post.targetId}-1`);
    expect(first.started).toBe(1);
    const restarted = t.client.workflow.getHandle(publishWorkflowId(post.targetId));
    expect((await restarted.describe()).status.name).toBe('RUNNING');
    expect(await restarted.query('state')).toMatchObject({ status: 'scheduled', dueAt: later.toISOString() });

    // Nothing to repair now: a second run starts nothing for this workspace.
    const second = await reconcile(`publish-reconciler-test-${post.targetId}-2`);
    expect(second).toMatchObject({ started: 0, replanned: 0 });
    expect(second.examined).toBeGreaterThanOrEqual(1);

    // A reschedule whose update never reached the workflow: the row is ahead, the reconciler tells it.
    const sooner = new Date(Date.now() + 5 * 60_000);
    await t.sys.orm.em
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
    expect(await ensureReconcilerSchedule(t.client, t.sys.config, { idPrefix: prefix, everyMs: 60_000 })).toBe(
      'created',
    );
    expect(await ensureReconcilerSchedule(t.client, t.sys.config, { idPrefix: prefix, everyMs: 120_000 })).toBe(
      'updated',
    );
    const handle = t.client.schedule.getHandle(`${prefix}publish-reconciler`);
    const described = await handle.describe();
    expect(described.spec.intervals?.[0]?.every).toBe(120_000);
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: RECONCILE_WORKFLOW_TYPE });
    await handle.delete();
  });
});
