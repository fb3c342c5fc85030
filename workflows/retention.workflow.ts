import { log, proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { RetentionActivities } from '../activities/retention.ts';
import { ProcessKind, ProcessState } from '../domain/search-attributes.ts';
import { RETENTION_PROCESS_KIND, type RetentionSweepInput, type RetentionSweepResult } from './retention.messages.ts';

const acts = proxyActivities<RetentionActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  // A sweep that keeps failing ends as Failed (visible in Temporal UI); the next scheduled run tries again.
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 12,
    nonRetryableErrorTypes: ['UnknownRetentionPolicy', 'InactiveRetentionPolicy', 'InvalidSweepInput'],
  },
});

/**
 * One run of a retention policy (`retention/<policyId>`, started by its Schedule). The activity
 * removes what is past retention in batches and reports counts; the workflow calls it again while
 * it stopped with more to do, so one run catches up however far behind it is. No audit rows: routine
 * sweeps would flood the chain; the result (counts, lateness) is kept in Temporal.
 */
export async function retentionSweepWorkflow(input: RetentionSweepInput): Promise<RetentionSweepResult> {
  upsertSearchAttributes([
    { key: ProcessKind, value: RETENTION_PROCESS_KIND },
    { key: ProcessState, value: 'sweeping' },
  ]);
  const total: RetentionSweepResult = {
    policyId: input.policyId,
    deleted: 0,
    tables: {},
    updated: 0,
    started: 0,
    batches: 0,
    lateByMs: null,
    late: false,
    oldestRemainingAgeMs: null,
    calls: 0,
  };
  for (;;) {
    const step = await acts.sweep(input);
    total.calls++;
    total.deleted += step.deleted;
    total.updated += step.updated;
    total.started += step.started;
    total.batches += step.batches;
    for (const [table, n] of Object.entries(step.tables)) total.tables[table] = (total.tables[table] ?? 0) + n;
    // The first call saw the oldest overdue row; later calls only see what is left of the backlog.
    if (total.calls === 1) {
      total.lateByMs = step.lateByMs;
      total.late = step.late;
    }
    total.oldestRemainingAgeMs = step.oldestRemainingAgeMs;
    if (!step.more) break;
  }
  upsertSearchAttributes([{ key: ProcessState, value: total.late ? 'late' : 'done' }]);
  log.info('retention sweep finished', { ...total });
  return total;
}
