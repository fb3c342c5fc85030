import { type Client, WorkflowUpdateFailedError } from '@temporalio/client';
import { DueAt, ProcessKind, ProcessState, WorkspaceId } from '../domain/search-attributes.ts';
import type { Config } from '../lib/config.ts';
import {
  DELETION_PROCESS_KIND,
  type DeletionInput,
  deletionWorkflowId,
  type RestoreArgs,
  restoreUpdate,
} from './deletion.messages.ts';

// Client-side helpers that start and steer deletion workflows. Starting is idempotent: the id is
// the request's, so a retried API call, a repeated Meta callback or the safety-net sweep all land
// on the same workflow.

export interface DeletionStart {
  id: string;
  workspaceId?: string | null;
  dueAt: Date;
}

export function deletionInput(requestId: string, config: Config): DeletionInput {
  const c = config.privacy;
  return { requestId, policy: { retryInitialMs: c.stepRetryInitialMs, retryMaxMs: c.stepRetryMaxMs } };
}

export async function startDeletion(client: Client, config: Config, request: DeletionStart): Promise<void> {
  await client.workflow.start('deletionWorkflow', {
    taskQueue: config.taskQueues.core,
    workflowId: deletionWorkflowId(request.id),
    args: [deletionInput(request.id, config)],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [
      ...(request.workspaceId ? [{ key: WorkspaceId, value: request.workspaceId }] : []),
      { key: ProcessKind, value: DELETION_PROCESS_KIND },
      { key: ProcessState, value: 'in_progress' },
      { key: DueAt, value: request.dueAt },
    ],
  });
}

export async function restoreAccount(client: Client, requestId: string, args: RestoreArgs): Promise<void> {
  await client.workflow.getHandle(deletionWorkflowId(requestId)).executeUpdate(restoreUpdate, { args: [args] });
}

/** The failure type a deletion workflow's update reported, e.g. NotInGrace. */
export function deletionUpdateFailure(err: unknown): string | undefined {
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  return (err.cause as { type?: string } | undefined)?.type;
}
