import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SyncActivities } from '../activities/sync.ts';
import { ProcessKind, ProcessState } from '../domain/search-attributes.ts';
import {
  inboxEventSignal,
  type PassTally,
  SYNC_RECONCILE_PROCESS_KIND,
  type SyncInput,
  type SyncReconcileInput,
  type SyncReconcileResult,
  type SyncStep,
  type SyncWorkflowState,
  syncNowSignal,
  syncStateQuery,
} from './sync.messages.ts';

/**
 * A connection's analytics and inbox, `sync/<connectionId>`: an entity loop rather than a Schedule
 * per connection, because webhook events must reach the same owner as the passes (one writer per
 * connection, one place to see its state), and a rate-limit wait in the middle of a pass is a timer
 * in the same history. A pass every `intervalMs`, at once on `syncNow`; webhook events are ingested
 * as they are signalled. It ends when the connection is disconnected or deleted.
 */
export async function syncWorkflow(input: SyncInput): Promise<{ passes: number }> {
  const { connectionId, policy } = input;
  const acts = proxyActivities<SyncActivities>({
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '1 minute',
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 8 },
  });
  // Inbox housekeeping (sentiment, attachment bytes) is best effort: it never holds up the loop for long.
  const aside = proxyActivities<SyncActivities>({
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '1 minute',
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 3 },
  });

  const state: SyncWorkflowState = { phase: 'syncing', passes: input.passes ?? 0, nextAt: null, last: null };
  /** When the next pass is due: a fixed deadline, so webhook wake-ups never push it back. */
  let nextPassAt = input.nextPassAt ?? Date.now();
  let passWanted = false;
  let inboxPending = input.inboxPending ?? false;
  /** A pass interrupted by continueAsNew during a rate-limit wait: where and until when. */
  let resume = input.resume;
  let lastIngestAt = 0;
  setHandler(syncNowSignal, () => {
    passWanted = true;
  });
  setHandler(inboxEventSignal, () => {
    inboxPending = true;
  });
  setHandler(syncStateQuery, () => state);

  const phase = (p: SyncWorkflowState['phase']) => {
    state.phase = p;
    upsertSearchAttributes([{ key: ProcessState, value: p }]);
  };
  const iso = (ms: number) => new Date(ms).toISOString();

  /** A fresh run keeps the schedule, the pending events and an interrupted wait. */
  async function restart(): Promise<never> {
    await condition(allHandlersFinished);
    return continueAsNew<typeof syncWorkflow>({ ...input, passes: state.passes, inboxPending, nextPassAt, resume });
  }

  async function housekeeping() {
    try {
      await aside.tidyInbox({ connectionId });
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      log.warn('inbox housekeeping failed; the next round tries again', { connectionId });
    }
  }

  /** Webhook events into messages, at most every ingestGapMs however fast they are signalled. */
  async function ingest(tidy = true) {
    const gap = lastIngestAt + policy.ingestGapMs - Date.now();
    if (gap > 0) await sleep(gap);
    inboxPending = false;
    lastIngestAt = Date.now();
    try {
      await acts.ingestWebhookEvents({ connectionId });
    } catch (err) {
      // The rows stay; the next round (or pass) ingests them. A failure must not end the workflow.
      if (!(err instanceof ActivityFailure)) throw err;
      log.warn('webhook ingestion failed; the next round tries again', { connectionId });
    }
    if (tidy) await housekeeping();
  }

  /** Sleeps until `until`, ingesting webhook events meanwhile; hands over to a new run if history grows. */
  async function waitUntil(until: number, fromStream: number, tally?: PassTally) {
    phase('waiting');
    state.nextAt = iso(until);
    resume = { fromStream, until, tally };
    while (Date.now() < until) {
      if (workflowInfo().continueAsNewSuggested) await restart();
      await condition(() => inboxPending, Math.max(1, until - Date.now()));
      if (inboxPending) await ingest();
    }
    resume = undefined;
    state.nextAt = null;
    phase('syncing');
  }

  /** One pass (or the rest of one), through rate-limit waits and a token refresh. */
  async function pass(from: {
    fromStream: number;
    until?: number;
    tally?: PassTally;
  }): Promise<'done' | 'paused' | 'ended'> {
    phase('syncing');
    let fromStream = from.fromStream;
    let carry = from.tally;
    if (from.until) await waitUntil(from.until, fromStream, carry);
    let refreshed = false;
    for (;;) {
      let step: SyncStep;
      try {
        step = await acts.syncPass({ connectionId, fromStream, carry });
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        // Retries exhausted (platform down for long, a bug): the next interval tries again.
        log.warn('sync pass failed', { connectionId });
        return 'done';
      }
      state.last = step;
      switch (step.outcome) {
        case 'done':
          state.passes++;
          await housekeeping();
          return 'done';
        case 'gone':
          return 'ended';
        case 'paused':
          return 'paused';
        case 'token': {
          if (refreshed) return 'paused';
          refreshed = true;
          let outcome: 'refreshed' | 'needs_reconnect' = 'needs_reconnect';
          try {
            outcome = await acts.refreshForSync({ connectionId });
          } catch (err) {
            if (!(err instanceof ActivityFailure)) throw err;
          }
          if (outcome !== 'refreshed') return 'paused';
          fromStream = step.fromStream;
          carry = step.tally;
          break;
        }
        case 'wait':
          // Never a busy loop, whatever the platform said.
          await waitUntil(Date.now() + Math.max(policy.minWaitMs, step.waitMs), step.fromStream, step.tally);
          fromStream = step.fromStream;
          carry = step.tally;
          break;
      }
    }
  }

  let rounds = 0;
  for (;;) {
    if (inboxPending) await ingest();
    if (resume || passWanted || Date.now() >= nextPassAt) {
      const from = resume ?? { fromStream: 0 };
      passWanted = false;
      // Events whose signal was lost (Temporal unreachable when they came) are picked up here.
      // (Housekeeping follows the pass.)
      if (!resume) await ingest(false);
      const outcome = await pass(from);
      if (outcome === 'ended') break;
      rounds++;
      nextPassAt = Date.now() + (outcome === 'paused' ? policy.pausedCheckMs : policy.intervalMs);
      phase(outcome === 'paused' ? 'paused' : 'idle');
    }
    if (rounds >= policy.passesPerRun || workflowInfo().continueAsNewSuggested) await restart();
    state.nextAt = iso(nextPassAt);
    await condition(() => passWanted || inboxPending, Math.max(1, nextPassAt - Date.now()));
  }
  phase('ended');
  await condition(allHandlersFinished);
  return { passes: state.passes };
}

/** One run of the safety net (`sync-reconciler`, started by its Schedule): every live connection has a sync workflow. */
export async function syncReconcilerWorkflow(input: SyncReconcileInput): Promise<SyncReconcileResult> {
  upsertSearchAttributes([{ key: ProcessKind, value: SYNC_RECONCILE_PROCESS_KIND }]);
  const acts = proxyActivities<SyncActivities>({
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '1 minute',
    retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
  });
  return acts.reconcileSync(input);
}
