import { type Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { DueAt, ProcessKind, ProcessState, WorkspaceId } from '../domain/search-attributes.ts';
import {
  type AcceptInvitationResult,
  acceptInvitationUpdate,
  INVITATION_PROCESS_KIND,
  type InvitationInput,
  invitationWorkflowId,
  revokeInvitationUpdate,
} from './invitation.messages.ts';

// Client-side helpers the API uses to start and steer invitation workflows. Each call has a
// deadline so an unavailable Temporal or a stopped worker turns into a 503, not a hung request.
const CALL_DEADLINE_MS = 10_000;
const bounded = <T>(client: Client, fn: () => Promise<T>) => client.withDeadline(Date.now() + CALL_DEADLINE_MS, fn);

export async function startInvitation(client: Client, taskQueue: string, input: InvitationInput): Promise<void> {
  await bounded(client, () =>
    client.workflow.start('invitationWorkflow', {
      taskQueue,
      workflowId: invitationWorkflowId(input.invitationId),
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      typedSearchAttributes: [
        { key: WorkspaceId, value: input.workspaceId },
        { key: ProcessKind, value: INVITATION_PROCESS_KIND },
        { key: ProcessState, value: 'pending' },
        { key: DueAt, value: new Date(input.expiresAt) },
      ],
    }),
  );
}

/**
 * The failure type the workflow or its activity reported, e.g. InvitationNotPending. A workflow that
 * has already finished has decided the invitation, so it counts as not pending.
 */
export function updateFailureType(err: unknown): string | undefined {
  if (err instanceof WorkflowNotFoundError) return 'InvitationNotPending';
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  let cause: unknown = err.cause;
  while (cause && typeof cause === 'object') {
    const type = (cause as { type?: string }).type;
    if (type) return type;
    cause = (cause as { cause?: unknown }).cause;
  }
  return undefined;
}

export async function acceptInvitation(
  client: Client,
  invitationId: string,
  userId: string,
): Promise<AcceptInvitationResult> {
  return bounded(client, () =>
    client.workflow
      .getHandle(invitationWorkflowId(invitationId))
      .executeUpdate(acceptInvitationUpdate, { args: [{ userId }] }),
  );
}

export async function revokeInvitation(client: Client, invitationId: string, byUserId: string): Promise<void> {
  await bounded(client, () =>
    client.workflow
      .getHandle(invitationWorkflowId(invitationId))
      .executeUpdate(revokeInvitationUpdate, { args: [{ byUserId }] }),
  );
}
