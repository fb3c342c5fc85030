import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { DeletionActivities } from '../activities/deletion.ts';
import type { DeletionRisk, DeletionStatus } from '../db/entities/privacy.ts';
import { DueAt, ProcessState } from '../domain/search-attributes.ts';
import {
  type DeletionInput,
  type DeletionState,
  deletionStateQuery,
  type RestoreArgs,
  restoreUpdate,
} from './deletion.messages.ts';

/**
 * One deletion request, `deletion/<requestId>`. Platform data goes at once (upstream revoke through
 * each connection's own workflow, then the rows); an account's first-party data waits out the
 * recovery grace, which a restore ends. Every step records its evidence and is safe to repeat; a
 * monitor beside the steps raises at-risk and overdue when the legal deadline nears or passes.
 */
export async function deletionWorkflow(input: DeletionInput): Promise<DeletionStatus> {
  const { requestId } = input;
  const acts = proxyActivities<DeletionActivities>({
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '30 seconds',
    retry: {
      initialInterval: input.policy.retryInitialMs,
      backoffCoefficient: 2,
      maximumInterval: input.policy.retryMaxMs,
    },
  });
  // Short bookkeeping steps run as local activities: no task round trip each, which matters when
  // thousands of requests arrive together. Upstream calls and purges stay ordinary activities.
  const local = proxyLocalActivities<DeletionActivities>({
    startToCloseTimeout: '1 minute',
    retry: {
      initialInterval: input.policy.retryInitialMs,
      backoffCoefficient: 2,
      maximumInterval: input.policy.retryMaxMs,
    },
  });
  const state: DeletionState = { status: 'in_progress', risk: 'on_track', step: null };
  setHandler(deletionStateQuery, () => state);
  let restored: RestoreArgs | undefined;
  let cancelled = false;
  let purging = false;
  let graceEndsAt: string | null = null;
  setHandler(
    restoreUpdate,
    async (args: RestoreArgs) => {
      restored ??= args;
      // Answer once the account is usable again, so the caller can sign in right away.
      await condition(() => cancelled);
      return { restored: true } as const;
    },
    {
      validator: (_: RestoreArgs) => {
        const graceOver = graceEndsAt !== null && Date.now() >= Date.parse(graceEndsAt);
        if (state.status !== 'in_grace' || purging || graceOver) {
          throw ApplicationFailure.nonRetryable('the request is not in its recovery grace', 'NotInGrace');
        }
      },
    },
  );

  const plan = await local.beginDeletion({ requestId });
  if (plan.outcome !== 'proceed') return plan.outcome === 'refused' ? 'refused' : 'completed';
  const setProcessState = (value: string) => upsertSearchAttributes([{ key: ProcessState, value }]);
  upsertSearchAttributes([{ key: DueAt, value: new Date(plan.dueAt) }]);

  let finished = false;
  const until = (iso: string) => Math.max(1, Date.parse(iso) - Date.now());
  const raise = async (risk: DeletionRisk) => {
    state.risk = risk;
    setProcessState(risk);
    await local.markRisk({ requestId, risk });
  };
  const watch = async (done: () => boolean, atRiskAt: string, dueAt: string) => {
    if (await condition(done, until(atRiskAt))) return;
    await raise('at_risk');
    if (await condition(done, until(dueAt))) return;
    await raise('overdue');
  };
  const monitor = watch(() => finished, plan.atRiskAt, plan.dueAt);
  // Platform data inside an account request answers to the platform's shorter clock.
  let platformDone = false;
  const platformMonitor =
    plan.platformDueAt && plan.platformAtRiskAt
      ? watch(() => platformDone || finished, plan.platformAtRiskAt, plan.platformDueAt)
      : undefined;

  const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    state.step = name;
    return run();
  };

  /** Platform data goes at once: upstream revoke where still connected, then the connection's rows. */
  const purgeConnections = async (connections: typeof plan.connections) => {
    for (const c of connections) {
      if (c.needsRevoke) {
        await step(`revoke:${c.connectionId}`, () =>
          acts.revokeConnection({ requestId, connectionId: c.connectionId }),
        );
      }
      await step(`purge:connection:${c.connectionId}`, () =>
        acts.purge({ requestId, subject: 'connection', subjectId: c.connectionId }),
      );
    }
  };

  // Access goes first: sessions and API keys die the moment an account deletion is accepted, and the
  // grace (restore possible) starts then, even while platform data is still being revoked.
  if (plan.kind === 'account') {
    await step('access', () => local.closeAccess({ requestId }));
    graceEndsAt = plan.graceEndsAt;
    state.status = 'in_grace';
    setProcessState('in_grace');
  }
  await purgeConnections(plan.connections);
  platformDone = true;

  let workspaces = plan.workspaces;
  if (plan.kind === 'account') {
    if (graceEndsAt) await condition(() => restored !== undefined, until(graceEndsAt));
    if (restored) {
      finished = true;
      await local.cancelDeletion({ requestId, byUserId: restored.byUserId });
      cancelled = true;
      state.status = 'cancelled';
      setProcessState('cancelled');
      await condition(allHandlersFinished);
      return 'cancelled';
    }
    purging = true;
    // Memberships change during a month: what goes with the account is decided again now.
    const now = await local.replanAccount({ requestId });
    if (now.outcome !== 'proceed') {
      finished = true;
      state.status = now.outcome === 'refused' ? 'refused' : 'completed';
      setProcessState(state.status);
      return state.status;
    }
    state.status = 'in_progress';
    setProcessState(state.risk === 'on_track' ? 'in_progress' : state.risk);
    await local.setStatus({ requestId, status: 'in_progress' });
    await purgeConnections(now.connections);
    workspaces = now.workspaces;
  }

  for (const workspaceId of workspaces) {
    await step(`purge:workspace:${workspaceId}`, () =>
      acts.purge({ requestId, subject: 'workspace', subjectId: workspaceId }),
    );
  }
  if (plan.kind === 'account' || plan.kind === 'file') {
    const subject = plan.kind;
    await step(`purge:${subject}`, () => acts.purge({ requestId, subject, subjectId: plan.subjectId }));
  }
  for (;;) {
    const again = await step('verify', () => local.verifyDeletion({ requestId }));
    if (!again.length) break;
    for (const s of again) await acts.purge({ requestId, subject: s.subject, subjectId: s.subjectId });
  }
  finished = true;
  const status = await local.finishDeletion({ requestId });
  await monitor;
  await platformMonitor;
  state.status = status;
  state.step = null;
  setProcessState(status);
  return status;
}
