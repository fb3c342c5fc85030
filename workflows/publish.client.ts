import {
  type Client,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { defaultPolicy } from '../domain/policy.ts';
import { Platform, ProcessKind, ProcessState, WorkspaceId } from '../domain/search-attributes.ts';
import type { PlatformId } from '../platforms/types.ts';
import {
  approvalDecidedSignal,
  cancelUpdate,
  PUBLISH_PROCESS_KIND,
  PUBLISH_WORKFLOW_TYPE,
  type PublishInput,
  type PublishPolicy,
  type PublishState,
  publishWorkflowId,
  type RescheduleResult,
  rescheduleUpdate,
} from './publish.messages.ts';

// Client-side helpers the API (and the reconciler) use to start and steer publish workflows. The
// database row is written first; these only tell the workflow to read it. If Temporal cannot be
// reached, the row stays scheduled and the reconciler starts the workflow later.

/** Every call has a deadline, so a stopped worker becomes an error rather than a hung request. */
const DEADLINE_MS = 15_000;

export interface TargetRef {
  id: string;
  workspaceId: string;
  platform: PlatformId;
  scheduleVersion: number;
}

export function publishPolicy(overrides: Partial<PublishPolicy> = {}): PublishPolicy {
  const p = defaultPolicy.publish;
  return {
    prepareLeadMs: p.prepareLeadMs,
    pollMaxMs: p.pollMaxMs,
    processingTimeoutMs: p.processingTimeoutMs,
    reconnectWaitMs: p.reconnectWaitMs,
    reconnectCheckMs: p.reconnectCheckMs,
    retryInitialMs: p.retryInitialMs,
    retryMaxMs: p.retryMaxMs,
    rateLimitWaitMs: p.rateLimitWaitMs,
    recheckMs: p.recheckMs,
    iterationsPerRun: p.iterationsPerRun,
    ...overrides,
  };
}

export function publishInput(target: TargetRef, policy: PublishPolicy = publishPolicy()): PublishInput {
  return { targetId: target.id, workspaceId: target.workspaceId, platform: target.platform, policy };
}

function startOperation(taskQueue: string, input: PublishInput) {
  return new WithStartWorkflowOperation(PUBLISH_WORKFLOW_TYPE, {
    taskQueue,
    workflowId: publishWorkflowId(input.targetId),
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [
      { key: WorkspaceId, value: input.workspaceId },
      { key: ProcessKind, value: PUBLISH_PROCESS_KIND },
      { key: Platform, value: input.platform },
      { key: ProcessState, value: 'scheduled' },
    ],
  });
}

/**
 * Schedule, reschedule or publish now: starts `publish/<targetId>` if it is not running, and tells a
 * running one to read its plan again. One call for all three, so there is one way to do it.
 */
export async function schedulePublish(
  client: Client,
  taskQueue: string,
  target: TargetRef,
  policy?: PublishPolicy,
): Promise<RescheduleResult> {
  const input = publishInput(target, policy);
  return client.withDeadline(Date.now() + DEADLINE_MS, () =>
    client.workflow.executeUpdateWithStart(rescheduleUpdate, {
      args: [{ scheduleVersion: target.scheduleVersion }],
      startWorkflowOperation: startOperation(taskQueue, input),
    }),
  );
}

/**
 * Cancels a publish that has not begun its commit. Returns undefined when no workflow runs for the
 * target (never started or already finished). Throws PublishAlreadyCommitting when it is too late.
 */
export async function cancelPublish(
  client: Client,
  targetId: string,
  reason: string,
): Promise<PublishState | undefined> {
  try {
    return await client.withDeadline(Date.now() + DEADLINE_MS, () =>
      client.workflow.getHandle(publishWorkflowId(targetId)).executeUpdate(cancelUpdate, { args: [{ reason }] }),
    );
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || isClosed(err)) return undefined;
    throw err;
  }
}

/** Tells the targets' workflows that the post's approval was decided; targets without one are skipped. */
export async function notifyApprovalDecided(client: Client, targetIds: string[]): Promise<void> {
  await Promise.all(
    targetIds.map((id) =>
      client.workflow
        .getHandle(publishWorkflowId(id))
        .signal(approvalDecidedSignal)
        .catch((err) => {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }),
    ),
  );
}

/** The failure type a publish workflow's update reported, e.g. PublishAlreadyCommitting. */
export function publishUpdateFailure(err: unknown): string | undefined {
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  return (err.cause as { type?: string } | undefined)?.type;
}

function isClosed(err: unknown): boolean {
  // An update to a workflow that has completed answers "workflow execution already completed".
  return err instanceof Error && /already completed|workflow execution.*(completed|closed)/i.test(err.message);
}
