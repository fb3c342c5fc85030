import { type Client, WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import { defaultPolicy } from '../domain/policy.ts';
import { Platform, ProcessKind, ProcessState, WorkspaceId } from '../domain/search-attributes.ts';
import type { PlatformId } from '../platforms/types.ts';
import {
  CONNECT_PROCESS_KIND,
  CONNECTION_PROCESS_KIND,
  type ConnectInput,
  type ConnectionInput,
  type ConnectResult,
  connectionWorkflowId,
  connectWorkflowId,
  type DisconnectResult,
  disconnectUpdate,
  type RefreshNowResult,
  refreshNowUpdate,
} from './connection.messages.ts';

// Client-side helpers the API uses to start and steer connect and connection workflows. Every call
// has a deadline, so a stopped worker becomes a 503 rather than a hung request.
/** Connecting waits for the platform twice (exchange, profile), with retries. */
const CONNECT_DEADLINE_MS = 60_000;

export async function runConnect(client: Client, taskQueue: string, input: ConnectInput): Promise<ConnectResult> {
  return client.withDeadline(Date.now() + CONNECT_DEADLINE_MS, () =>
    client.workflow.execute('connectWorkflow', {
      taskQueue,
      workflowId: connectWorkflowId(input.stateId),
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: WorkspaceId, value: input.workspaceId },
        { key: ProcessKind, value: CONNECT_PROCESS_KIND },
        { key: Platform, value: input.platform },
      ],
    }),
  );
}

export function connectionInput(connectionId: string, workspaceId: string, platform: PlatformId): ConnectionInput {
  const c = defaultPolicy.connection;
  return {
    connectionId,
    workspaceId,
    platform,
    policy: {
      refreshAttempts: c.refreshAttempts,
      revokeAttempts: c.revokeAttempts,
      retryInitialMs: c.retryInitialMs,
      retryMaxMs: c.retryMaxMs,
      iterationsPerRun: c.iterationsPerRun,
    },
  };
}

/** The running connection workflow, or a new one when it is not running (e.g. after a crash of the cluster). */
function withConnection(taskQueue: string, input: ConnectionInput) {
  return new WithStartWorkflowOperation('connectionWorkflow', {
    taskQueue,
    workflowId: connectionWorkflowId(input.connectionId),
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [
      { key: WorkspaceId, value: input.workspaceId },
      { key: ProcessKind, value: CONNECTION_PROCESS_KIND },
      { key: Platform, value: input.platform },
      { key: ProcessState, value: 'active' },
    ],
  });
}

export async function disconnect(
  client: Client,
  taskQueue: string,
  input: ConnectionInput,
  byUserId: string | null,
): Promise<DisconnectResult> {
  // Revoking retries with backoff, so this may take a while; the deadline covers the usual case.
  return client.withDeadline(Date.now() + CONNECT_DEADLINE_MS, () =>
    client.workflow.executeUpdateWithStart(disconnectUpdate, {
      args: [{ byUserId }],
      startWorkflowOperation: withConnection(taskQueue, input),
    }),
  );
}

export async function refreshNow(client: Client, taskQueue: string, input: ConnectionInput): Promise<RefreshNowResult> {
  return client.withDeadline(Date.now() + CONNECT_DEADLINE_MS, () =>
    client.workflow.executeUpdateWithStart(refreshNowUpdate, {
      args: [],
      startWorkflowOperation: withConnection(taskQueue, input),
    }),
  );
}

/** The failure type a connection workflow's update reported, e.g. ConnectionDisconnected. */
export function connectionUpdateFailure(err: unknown): string | undefined {
  if (!(err instanceof WorkflowUpdateFailedError)) return undefined;
  const cause = err.cause as { type?: string } | undefined;
  return cause?.type;
}
