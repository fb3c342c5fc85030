import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { defaultPolicy } from '../domain/policy.ts';
import { Platform, ProcessKind, WorkspaceId } from '../domain/search-attributes.ts';
import type { PlatformId } from '../platforms/types.ts';
import {
  inboxEventSignal,
  SYNC_PROCESS_KIND,
  SYNC_WORKFLOW_TYPE,
  type SyncInput,
  type SyncPolicy,
  syncNowSignal,
  syncWorkflowId,
} from './sync.messages.ts';

// Client-side helpers that start and nudge a connection's sync workflow. Every one is idempotent:
// the workflow id is the connection's, so a second start finds the running one.

const DEADLINE_MS = 15_000;

export interface SyncRef {
  connectionId: string;
  workspaceId: string;
  platform: PlatformId;
}

export function syncPolicy(overrides: Partial<SyncPolicy> = {}): SyncPolicy {
  const p = defaultPolicy.sync;
  return {
    intervalMs: p.intervalMs,
    pausedCheckMs: p.pausedCheckMs,
    passesPerRun: p.passesPerRun,
    ingestGapMs: p.ingestGapMs,
    minWaitMs: p.minWaitMs,
    ...overrides,
  };
}

function startOptions(taskQueue: string, ref: SyncRef, policy: SyncPolicy) {
  const input: SyncInput = { ...ref, policy };
  return {
    taskQueue,
    workflowId: syncWorkflowId(ref.connectionId),
    args: [input] as [SyncInput],
    typedSearchAttributes: [
      { key: WorkspaceId, value: ref.workspaceId },
      { key: ProcessKind, value: SYNC_PROCESS_KIND },
      { key: Platform, value: ref.platform },
    ],
  };
}

/** Starts the sync workflow unless one runs. */
export async function ensureSync(
  client: Client,
  taskQueue: string,
  ref: SyncRef,
  policy: SyncPolicy = syncPolicy(),
): Promise<'started' | 'running'> {
  try {
    await client.withDeadline(Date.now() + DEADLINE_MS, () =>
      client.workflow.start(SYNC_WORKFLOW_TYPE, startOptions(taskQueue, ref, policy)),
    );
    return 'started';
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return 'running';
    throw err;
  }
}

/** Pass now; starts the workflow when it is not running (its first act is a pass). */
export async function syncNow(client: Client, taskQueue: string, ref: SyncRef, policy: SyncPolicy = syncPolicy()) {
  await client.withDeadline(Date.now() + DEADLINE_MS, () =>
    client.workflow.signalWithStart(SYNC_WORKFLOW_TYPE, {
      ...startOptions(taskQueue, ref, policy),
      signal: syncNowSignal,
    }),
  );
}

/** Webhook events were stored for the connection. */
export async function notifyInboxEvent(
  client: Client,
  taskQueue: string,
  ref: SyncRef,
  policy: SyncPolicy = syncPolicy(),
) {
  await client.withDeadline(Date.now() + DEADLINE_MS, () =>
    client.workflow.signalWithStart(SYNC_WORKFLOW_TYPE, {
      ...startOptions(taskQueue, ref, policy),
      signal: inboxEventSignal,
    }),
  );
}
