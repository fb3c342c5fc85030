import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  patched,
  proxyActivities,
  startChild,
} from '@temporalio/workflow';
import type { ConnectionActivities } from '../activities/connections.ts';
import type { SyncActivities } from '../activities/sync.ts';
import { defaultPolicy } from '../domain/policy.ts';
import { Platform, ProcessKind, ProcessState, WorkspaceId } from '../domain/search-attributes.ts';
import {
  CONNECTION_PROCESS_KIND,
  type ConnectInput,
  type ConnectResult,
  connectionWorkflowId,
  reconnectedSignal,
} from './connection.messages.ts';
import { connectionWorkflow } from './connection.workflow.ts';

const acts = proxyActivities<ConnectionActivities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '5 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 6 },
});

const syncActs = proxyActivities<SyncActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

/**
 * One OAuth callback: exchange the code (tokens stored encrypted before anything else), fetch the
 * profile and write the connection, then hand the connection to its own long-lived workflow.
 */
export async function connectWorkflow(input: ConnectInput): Promise<ConnectResult> {
  let connectionId: string;
  let reconnected: boolean;
  try {
    await acts.exchangeConnectCode({ stateId: input.stateId });
    ({ connectionId, reconnected } = await acts.completeConnect({ stateId: input.stateId }));
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : err;
    const errorCode = cause instanceof ApplicationFailure ? (cause.type ?? 'failed') : 'failed';
    const message = cause instanceof Error ? cause.message : 'connect failed';
    await acts.failConnect({ stateId: input.stateId, errorCode });
    return { ok: false, errorCode, message };
  }

  const workflowId = connectionWorkflowId(connectionId);
  const c = defaultPolicy.connection;
  try {
    await startChild(connectionWorkflow, {
      workflowId,
      args: [
        {
          connectionId,
          workspaceId: input.workspaceId,
          platform: input.platform,
          policy: {
            refreshAttempts: c.refreshAttempts,
            revokeAttempts: c.revokeAttempts,
            retryInitialMs: c.retryInitialMs,
            retryMaxMs: c.retryMaxMs,
            iterationsPerRun: c.iterationsPerRun,
          },
        },
      ],
      // The connection outlives this short workflow.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: [
        { key: WorkspaceId, value: input.workspaceId },
        { key: ProcessKind, value: CONNECTION_PROCESS_KIND },
        { key: Platform, value: input.platform },
        { key: ProcessState, value: 'active' },
      ],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    // A reconnect: the running connection workflow picks up the new tokens.
    await getExternalWorkflowHandle(workflowId).signal(reconnectedSignal);
  }
  // Analytics and inbox start syncing at once (the sync reconciler would start them within minutes).
  if (patched('sync-after-connect')) {
    try {
      await syncActs.kickSync({ connectionId });
    } catch (err) {
      // The connection stands either way; the sync reconciler starts the sync later.
      if (!(err instanceof ActivityFailure)) throw err;
    }
  }
  return { ok: true, connectionId, reconnected };
}
