import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { PublishActivities, PublishPlan, StepOutcome } from '../activities/publishing.ts';
import { DueAt, ProcessState } from '../domain/search-attributes.ts';
import {
  approvalDecidedSignal,
  type CancelArgs,
  cancelUpdate,
  type PublishInput,
  type PublishResult,
  type PublishState,
  type PublishStatus,
  publishStateQuery,
  type RescheduleArgs,
  type RescheduleResult,
  rescheduleUpdate,
} from './publish.messages.ts';

/**
 * One post on one connection, `publish/<targetId>`. It sleeps on a durable timer until the due
 * time PostgreSQL holds, re-reading the plan whenever it wakes or is told the plan changed, so an
 * edit moves the timer, an unschedule or delete ends it, and a deleted post is never published.
 * At due it waits for approval where needed, then runs the platform's flow one step at a time
 * (prepare → check → commit → settle); each write happens once (see activities/publishing.ts).
 * Rate limits and publish caps make it wait; token trouble goes to the connection's workflow.
 */
export async function publishWorkflow(input: PublishInput): Promise<PublishResult> {
  const { targetId, policy } = input;
  const retry = { initialInterval: policy.retryInitialMs, backoffCoefficient: 2, maximumInterval: policy.retryMaxMs };
  // Platform steps: uploads heartbeat, so a killed worker's step is retried within seconds.
  const acts = proxyActivities<PublishActivities>({
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '10 seconds',
    retry: { ...retry, maximumAttempts: 8 },
  });
  // Preparing ahead is best effort: a failure is left to the due time, so it must not retry for long.
  const ahead = proxyActivities<PublishActivities>({
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '10 seconds',
    retry: { ...retry, maximumAttempts: 2 },
  });
  // Database bookkeeping runs as local activities: no task round trip each, which matters when
  // thousands of posts fall due in the same minute.
  const local = proxyLocalActivities<PublishActivities>({ startToCloseTimeout: '30 seconds', retry });

  const state: PublishState = { status: 'scheduled', dueAt: null, scheduleVersion: 0, waitingFor: null };
  let replan = false;
  let done = false;
  /** The schedule version whose media were prepared ahead of its due time. */
  let preparedFor = -1;

  const setStatus = (status: PublishStatus) => {
    if (status === state.status) return;
    state.status = status;
    upsertSearchAttributes([{ key: ProcessState, value: status }]);
  };

  setHandler(publishStateQuery, () => state);
  setHandler(approvalDecidedSignal, () => {
    replan = true;
  });
  // Answers at once (the caller must not wait behind an upload); the plan is read right after.
  setHandler(rescheduleUpdate, ({ scheduleVersion }: RescheduleArgs): RescheduleResult => {
    replan = true;
    return { accepted: !done && state.status !== 'publishing', status: state.status, scheduleVersion };
  });
  setHandler(
    cancelUpdate,
    (_: CancelArgs) => {
      // The row already says unscheduled or deleted; reading it ends the workflow.
      replan = true;
      return state;
    },
    {
      validator: (_: CancelArgs) => {
        // From the claim on, the post is going out; the API refuses changes for the same reason.
        if (state.status === 'publishing') {
          throw ApplicationFailure.nonRetryable('the post is being published', 'PublishAlreadyCommitting');
        }
      },
    },
  );

  /**
   * Ends with a status, unless the plan moved on meanwhile (a reschedule raced the ending): then
   * undefined, and the caller reads the plan again. PostgreSQL decides, not a remembered message.
   * A status this run wrote (published, failed, cancelled from live) is final.
   */
  async function end(status: PublishResult['status'], reason?: string): Promise<PublishResult | undefined> {
    let written = true;
    if (status !== 'published') {
      const finished = await local.finishPublish({
        targetId,
        status,
        reason: reason ?? status,
        scheduleVersion: state.scheduleVersion,
      });
      if (finished === 'moved') return undefined;
      written = finished === 'written';
    }
    await condition(allHandlersFinished);
    // Nothing was ended here (the row was a draft or gone) and a new plan arrived meanwhile: read it.
    if (replan && !written) return undefined;
    setStatus(status);
    done = true;
    return { targetId, status, ...(reason ? { reason } : {}) };
  }

  async function wait(ms: number, waitingFor: string, note: string): Promise<void> {
    state.waitingFor = waitingFor;
    await local.noteWaiting({ targetId, status: 'publishing', note, scheduleVersion: state.scheduleVersion });
    await sleep(Math.max(ms, 1));
    state.waitingFor = null;
  }

  /** One advance; retries that ran out (the platform down, or timing out) become a pause, not a failure. */
  async function advance(): Promise<StepOutcome> {
    try {
      return await acts.advancePublish({ targetId });
    } catch (err) {
      // An unknown commit is verified at the next try, never repeated blindly.
      if (!(err instanceof ActivityFailure)) throw err;
      return { outcome: 'wait', why: 'rate_limit', waitMs: policy.retryMaxMs };
    }
  }

  /** Best effort: whatever fails here is done again, with its waits and retries, at the due time. */
  async function prepareAhead(): Promise<void> {
    try {
      await ahead.advancePublish({ targetId, ahead: true });
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
    }
  }

  async function publish(): Promise<PublishResult | undefined> {
    setStatus('publishing');
    // Only processing counts against processingTimeoutMs; platform waits take as long as they say.
    let processingMs = 0;
    let pollMs = 0;
    let refreshes = 0;
    for (;;) {
      const result = await advance();
      if (result.outcome === 'published') return end('published');
      if (result.outcome === 'failed') {
        return end(
          result.reason === 'cancelled' || result.reason === 'deleted' ? 'cancelled' : 'failed',
          result.reason,
        );
      }
      switch (result.outcome) {
        case 'pending':
          if (processingMs > policy.processingTimeoutMs) return end('failed', 'timed_out');
          // The platform's hint, growing while nothing changes, never past pollMaxMs.
          pollMs = Math.min(Math.max(result.checkAfterMs, pollMs * 2, 1), policy.pollMaxMs);
          state.waitingFor = 'processing';
          await sleep(pollMs);
          processingMs += pollMs;
          state.waitingFor = null;
          break;
        case 'wait': {
          const ms = result.waitMs || policy.rateLimitWaitMs;
          const until = new Date(Date.now() + ms).toISOString();
          await wait(ms, result.why, `waiting for the platform's ${result.why.replace('_', ' ')} until ${until}`);
          break;
        }
        case 'token': {
          // A refresh that does not help (the platform keeps refusing) counts as needing a reconnect.
          if (refreshes++ < 3 && (await acts.refreshForPublish({ targetId })) === 'refreshed') break;
          // The account must be reconnected: look again now and then, give up after reconnectWaitMs.
          const since = Date.now();
          let usable = false;
          while (!usable && Date.now() - since < policy.reconnectWaitMs) {
            await wait(policy.reconnectCheckMs, 'reconnect', 'waiting for the account to be reconnected');
            const plan = await local.planPublish({ targetId });
            if (plan.status === 'gone') return end('cancelled', 'deleted');
            usable = plan.connection === 'active';
          }
          if (!usable) return end('failed', 'needs_reconnect');
          refreshes = 0;
          break;
        }
        default:
          // settling, reprepare and ok are handled inside advancePublish.
          break;
      }
    }
  }

  for (let i = 0; i < policy.iterationsPerRun; i++) {
    replan = false;
    const plan: PublishPlan = await local.planPublish({ targetId });
    let ended: PublishResult | undefined;
    if (plan.status === 'gone') {
      ended = await end('cancelled', 'deleted');
      if (ended) return ended;
      continue;
    }
    state.scheduleVersion = plan.scheduleVersion;
    state.dueAt = plan.dueAt;
    if (plan.status === 'publishing') {
      // Picked up mid-flight (after continueAsNew, or restarted by the reconciler): go on publishing.
      ended = await publish();
    } else if (plan.status === 'published') {
      ended = await end('published');
    } else if (plan.status === 'draft' || plan.status === 'cancelled' || plan.status === 'failed' || !plan.dueAt) {
      ended = await end('cancelled', 'unscheduled');
    } else if (plan.requiresApproval && plan.approval === 'rejected') {
      ended = await end('cancelled', 'rejected');
    } else {
      upsertSearchAttributes([{ key: DueAt, value: new Date(plan.dueAt) }]);
      const due = Date.parse(plan.dueAt);
      if (due - Date.now() > 0) {
        setStatus(plan.status === 'awaiting_approval' ? 'awaiting_approval' : 'scheduled');
        // Prepare ahead (uploads, containers; nothing public), so the commit goes out on time.
        if (plan.prepareAhead && preparedFor !== plan.scheduleVersion) {
          const leadWait = due - policy.prepareLeadMs - Date.now();
          if (leadWait > 0 && (await condition(() => replan, leadWait))) continue;
          preparedFor = plan.scheduleVersion;
          await prepareAhead();
          if (replan) continue;
        }
        const waitMs = due - Date.now();
        if (waitMs > 0 && (await condition(() => replan, waitMs))) continue;
      }
      if (plan.requiresApproval && plan.approval !== 'approved') {
        setStatus('awaiting_approval');
        if (plan.status !== 'awaiting_approval') {
          await local.noteWaiting({
            targetId,
            status: 'awaiting_approval',
            note: 'waiting for client approval',
            scheduleVersion: plan.scheduleVersion,
          });
        }
        // A decision signals; reading the plan now and then also catches one whose signal was lost.
        await condition(() => replan, policy.recheckMs);
        continue;
      }
      if (await local.beginPublishing({ targetId, scheduleVersion: plan.scheduleVersion })) ended = await publish();
      // Otherwise the plan changed between reading and claiming: read it again.
    }
    if (ended) return ended;
  }
  await condition(allHandlersFinished);
  return continueAsNew<typeof publishWorkflow>(input);
}
