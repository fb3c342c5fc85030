import {
  type Client,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleSpec,
} from '@temporalio/client';
import { DAY, defaultPolicy, MINUTE } from '../domain/policy.ts';
import {
  activeRetentionPolicies,
  RETENTION_POLICIES,
  type RetentionPolicy,
  retentionScheduleId,
} from '../domain/retention.ts';
import { ProcessKind } from '../domain/search-attributes.ts';
import {
  RECONCILE_PROCESS_KIND,
  RECONCILE_SCHEDULE_ID,
  RECONCILE_WORKFLOW_TYPE,
  type ReconcileInput,
} from '../workflows/publish.messages.ts';
import {
  RETENTION_PROCESS_KIND,
  RETENTION_WORKFLOW_TYPE,
  type RetentionSweepInput,
} from '../workflows/retention.messages.ts';
import {
  SYNC_RECONCILE_PROCESS_KIND,
  SYNC_RECONCILE_SCHEDULE_ID,
  SYNC_RECONCILE_WORKFLOW_TYPE,
} from '../workflows/sync.messages.ts';
import type { Config } from './config.ts';

// One Temporal Schedule per active retention policy (domain/retention.ts), `retention/<id>`, visible
// in Temporal UI under Schedules. Workers of the core task queue call ensureRetentionSchedules at
// start: it creates what is missing, brings existing schedules to the current policy (interval,
// action, task queue) while keeping a pause set by an operator, and deletes `retention/*` schedules
// whose policy is gone or not active. Safe when several workers start at once.

/** Missed runs within this window are taken when Temporal comes back; older ones are skipped (the next run catches up). */
export const RETENTION_CATCHUP_WINDOW_MS = 1 * DAY;
/** Schedules start a few minutes apart so they do not all hit the database at the same moment. */
const STAGGER_MS = 7 * MINUTE;

export interface EnsureSchedulesOptions {
  /** Defaults to RETENTION_POLICIES (only those with a table get a schedule). */
  policies?: readonly RetentionPolicy[];
  /** Put before every schedule id; tests use it to stay apart from the real schedules. */
  idPrefix?: string;
}

export interface EnsureSchedulesResult {
  created: string[];
  updated: string[];
  removed: string[];
  /** Policies without a table yet: declared, no schedule. */
  skipped: string[];
}

export function retentionScheduleSpec(policy: RetentionPolicy, index: number): ScheduleSpec {
  return { intervals: [{ every: policy.everyMs, offset: (index * STAGGER_MS) % policy.everyMs }] };
}

function scheduleParts(policy: RetentionPolicy, index: number, scheduleId: string, config: Config) {
  const args: [RetentionSweepInput] = [{ policyId: policy.id }];
  const action: ScheduleOptionsStartWorkflowAction<(input: RetentionSweepInput) => Promise<unknown>> = {
    type: 'startWorkflow',
    workflowType: RETENTION_WORKFLOW_TYPE,
    // Temporal appends the scheduled time to this id.
    workflowId: scheduleId,
    taskQueue: config.taskQueues.core,
    args,
    typedSearchAttributes: [{ key: ProcessKind, value: RETENTION_PROCESS_KIND }],
    staticSummary: `${policy.description} (${policy.rule})`,
  };
  return {
    spec: retentionScheduleSpec(policy, index),
    action,
    policies: { overlap: 'SKIP' as const, catchupWindow: RETENTION_CATCHUP_WINDOW_MS, pauseOnFailure: false },
    typedSearchAttributes: [{ key: ProcessKind, value: RETENTION_PROCESS_KIND }],
  };
}

export async function ensureRetentionSchedules(
  client: Client,
  config: Config,
  options: EnsureSchedulesOptions = {},
): Promise<EnsureSchedulesResult> {
  const policies = options.policies ?? RETENTION_POLICIES;
  const prefix = options.idPrefix ?? '';
  const active = activeRetentionPolicies(policies);
  const result: EnsureSchedulesResult = {
    created: [],
    updated: [],
    removed: [],
    skipped: policies.filter((p) => p.table === null).map((p) => p.id),
  };
  const wanted = new Set<string>();

  for (const [index, policy] of active.entries()) {
    const scheduleId = `${prefix}${retentionScheduleId(policy.id)}`;
    wanted.add(scheduleId);
    const parts = scheduleParts(policy, index, scheduleId, config);
    // Create; if it exists, update. A schedule deleted in between is created on the next round.
    for (let attempt = 1; ; attempt++) {
      try {
        await client.schedule.create({ scheduleId, ...parts });
        result.created.push(scheduleId);
        break;
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      }
      try {
        await client.schedule.getHandle(scheduleId).update((previous) => ({
          ...parts,
          // An operator's pause (and its note) survives a worker restart.
          state: { paused: previous.state.paused, note: previous.state.note },
        }));
        result.updated.push(scheduleId);
        break;
      } catch (err) {
        if (!(err instanceof ScheduleNotFoundError) || attempt >= 3) throw err;
      }
    }
  }

  // Schedules of policies that were removed or are no longer active. Listing is eventually
  // consistent: a schedule missed here goes on the next worker start.
  const ours = `${prefix}${retentionScheduleId('')}`;
  for await (const summary of client.schedule.list()) {
    const id = summary.scheduleId;
    if (!id.startsWith(ours) || wanted.has(id)) continue;
    try {
      await client.schedule.getHandle(id).delete();
      result.removed.push(id);
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return result;
}

/** The safety nets that repair drift between PostgreSQL and the workflows, one Schedule each. */
const RECONCILERS = {
  publish: {
    scheduleId: RECONCILE_SCHEDULE_ID,
    workflowType: RECONCILE_WORKFLOW_TYPE,
    processKind: RECONCILE_PROCESS_KIND,
    everyMs: defaultPolicy.publish.reconcileEveryMs,
    batchSize: defaultPolicy.publish.reconcileBatchSize,
    summary: 'Starts publish workflows for scheduled posts that have none running',
  },
  sync: {
    scheduleId: SYNC_RECONCILE_SCHEDULE_ID,
    workflowType: SYNC_RECONCILE_WORKFLOW_TYPE,
    processKind: SYNC_RECONCILE_PROCESS_KIND,
    everyMs: defaultPolicy.sync.reconcileEveryMs,
    batchSize: defaultPolicy.publish.reconcileBatchSize,
    summary: 'Starts sync workflows for connections that have none running',
  },
} as const;

/**
 * A reconciler's Schedule (`publish-reconciler`, `sync-reconciler`): created if missing, brought to
 * the current interval and batch otherwise, keeping an operator's pause. Called by core workers at start.
 */
export async function ensureReconcilerSchedule(
  client: Client,
  config: Config,
  options: { which?: keyof typeof RECONCILERS; idPrefix?: string; everyMs?: number; batchSize?: number } = {},
): Promise<'created' | 'updated'> {
  const r = RECONCILERS[options.which ?? 'publish'];
  const scheduleId = `${options.idPrefix ?? ''}${r.scheduleId}`;
  const args: [ReconcileInput] = [{ batchSize: options.batchSize ?? r.batchSize }];
  const action: ScheduleOptionsStartWorkflowAction<(input: ReconcileInput) => Promise<unknown>> = {
    type: 'startWorkflow',
    workflowType: r.workflowType,
    workflowId: scheduleId,
    taskQueue: config.taskQueues.core,
    args,
    typedSearchAttributes: [{ key: ProcessKind, value: r.processKind }],
    staticSummary: r.summary,
  };
  const parts = {
    spec: { intervals: [{ every: options.everyMs ?? r.everyMs }] },
    action,
    policies: { overlap: 'SKIP' as const, catchupWindow: MINUTE * 10, pauseOnFailure: false },
    typedSearchAttributes: [{ key: ProcessKind, value: r.processKind }],
  };
  for (let attempt = 1; ; attempt++) {
    try {
      await client.schedule.create({ scheduleId, ...parts });
      return 'created';
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    }
    try {
      await client.schedule.getHandle(scheduleId).update((previous) => ({
        ...parts,
        state: { paused: previous.state.paused, note: previous.state.note },
      }));
      return 'updated';
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError) || attempt >= 3) throw err;
    }
  }
}
