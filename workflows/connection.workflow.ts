import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ConnectionActivities, RefreshPlan } from '../activities/connections.ts';
import { DueAt, ProcessState } from '../domain/search-attributes.ts';
import {
  type ConnectionInput,
  type ConnectionState,
  connectionStateQuery,
  type DisconnectArgs,
  type DisconnectResult,
  disconnectUpdate,
  type RefreshNowResult,
  reconnectedSignal,
  refreshNowUpdate,
} from './connection.messages.ts';

/**
 * The owner of one connection: the only place its tokens are refreshed (one refresh at a time),
 * ahead of expiry; it parks in needs_reconnect when the platform says the grant is gone, and it ends
 * with a disconnect. continueAsNew keeps the history short over months of refreshes.
 */
export async function connectionWorkflow(input: ConnectionInput): Promise<DisconnectResult | undefined> {
  const { connectionId, policy } = input;
  const retry = {
    initialInterval: policy.retryInitialMs,
    backoffCoefficient: 2,
    maximumInterval: policy.retryMaxMs,
  };
  const acts = proxyActivities<ConnectionActivities>({
    startToCloseTimeout: '1 minute',
    heartbeatTimeout: '5 seconds',
    retry: { ...retry, maximumAttempts: policy.refreshAttempts },
  });
  const revoke = proxyActivities<ConnectionActivities>({
    startToCloseTimeout: '1 minute',
    heartbeatTimeout: '5 seconds',
    retry: { ...retry, maximumAttempts: policy.revokeAttempts },
  });

  let state: ConnectionState = 'active';
  let replanned = false;
  let disconnectResult: DisconnectResult | undefined;
  let refreshing: Promise<RefreshNowResult> | undefined;
  let disconnecting: Promise<DisconnectResult> | undefined;

  const setState = (next: ConnectionState) => {
    if (next === state) return;
    state = next;
    upsertSearchAttributes([{ key: ProcessState, value: next }]);
  };

  async function runRefresh(): Promise<RefreshNowResult> {
    setState('refreshing');
    try {
      const result = await acts.refreshConnection({ connectionId });
      setState(result.outcome === 'needs_reconnect' ? 'needs_reconnect' : 'active');
      return result.outcome === 'refreshed'
        ? { outcome: 'refreshed', expiresAt: result.expiresAt }
        : { outcome: result.outcome };
    } catch (err) {
      // Retries ran out (platform down, rate limit for longer than the attempts cover): plan again later.
      if (!(err instanceof ActivityFailure)) throw err;
      setState('active');
      return { outcome: 'failed' };
    } finally {
      replanned = true;
    }
  }

  /** Refreshes are serialised: a caller arriving during one shares its result. */
  const refresh = () => {
    refreshing ??= runRefresh().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };

  async function runDisconnect(args: DisconnectArgs): Promise<DisconnectResult> {
    setState('disconnecting');
    await refreshing?.catch(() => undefined);
    await acts.beginDisconnect({ connectionId, byUserId: args.byUserId });
    let outcome: DisconnectResult['outcome'];
    let detail: string;
    let attempts = policy.revokeAttempts;
    try {
      ({ outcome, detail } = await revoke.revokeUpstream({ connectionId }));
      attempts = outcome === 'deleted_locally_only' ? 0 : 1;
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : err;
      outcome = 'revoke_failed';
      detail = `revoke failed after ${policy.revokeAttempts} attempts: ${cause instanceof Error ? cause.message : 'unknown error'}`;
      // A non-retryable failure stops early; it still counts as one attempt.
      if (cause instanceof ApplicationFailure && cause.nonRetryable) attempts = 1;
    }
    await acts.finishDisconnect({ connectionId, byUserId: args.byUserId, outcome, detail, attempts });
    setState('disconnected');
    disconnectResult = { connectionId, outcome, attempts };
    return disconnectResult;
  }

  setHandler(connectionStateQuery, () => state);
  setHandler(refreshNowUpdate, () => refresh(), {
    validator: () => {
      if (state === 'disconnecting' || state === 'disconnected') {
        throw ApplicationFailure.nonRetryable('the connection is being disconnected', 'ConnectionDisconnected');
      }
    },
  });
  setHandler(
    disconnectUpdate,
    (args) => {
      disconnecting ??= runDisconnect(args);
      return disconnecting;
    },
    {
      validator: (_: DisconnectArgs) => {
        if (state === 'disconnected') {
          throw ApplicationFailure.nonRetryable('the connection is already disconnected', 'ConnectionDisconnected');
        }
      },
    },
  );
  setHandler(reconnectedSignal, () => {
    if (state === 'needs_reconnect') setState('active');
    replanned = true;
  });

  for (let i = 0; i < policy.iterationsPerRun; i++) {
    const plan: RefreshPlan = await acts.planRefresh({ connectionId });
    if (plan.status === 'gone' || plan.status === 'disconnected') {
      if (!disconnecting) return undefined;
    }
    if (!disconnecting && refreshing === undefined)
      setState(plan.status === 'needs_reconnect' ? 'needs_reconnect' : 'active');
    if (plan.refreshAt) upsertSearchAttributes([{ key: DueAt, value: new Date(plan.refreshAt) }]);
    replanned = false;
    const waitMs = plan.refreshAt ? Math.max(0, Date.parse(plan.refreshAt) - Date.now()) : undefined;
    const woke = await condition(() => replanned || disconnecting !== undefined, waitMs);
    if (disconnecting) {
      await disconnecting;
      await condition(allHandlersFinished);
      return disconnectResult;
    }
    if (!woke && plan.refreshAt) {
      const result = await refresh();
      // A failed refresh waits one backoff interval before planning again (no retry storm).
      if (result.outcome === 'failed') await condition(() => disconnecting !== undefined, policy.retryMaxMs);
    }
    if (workflowInfo().continueAsNewSuggested) break;
  }
  await condition(() => refreshing === undefined);
  await condition(allHandlersFinished);
  if (disconnecting) return disconnecting;
  return continueAsNew<typeof connectionWorkflow>(input);
}
