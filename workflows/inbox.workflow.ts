import { ActivityFailure, proxyActivities, sleep } from '@temporalio/workflow';
import type { InboxActivities } from '../activities/inbox.ts';
import type { SyncActivities } from '../activities/sync.ts';
import type { ModerateInput, ReplyInput, ReplyResult } from './inbox.messages.ts';

const acts = proxyActivities<InboxActivities & SyncActivities>({
  startToCloseTimeout: '2 minutes',
  // The platform calls heartbeat, so a killed worker's attempt is retried (and verified) within seconds.
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 8 },
});

/**
 * One reply, `reply/<replyId>`: send it, and after a lost answer ask the platform before sending
 * again (activities/inbox.ts), waiting out grace periods and rate limits on timers. Token trouble
 * goes to the connection's workflow once; a connection that needs reconnecting fails the reply.
 */
export async function replyWorkflow(input: ReplyInput): Promise<ReplyResult> {
  const { replyId, connectionId } = input;
  let refreshed = false;
  try {
    for (;;) {
      const step = await acts.sendReply({ replyId, ...input.policy });
      switch (step.outcome) {
        case 'sent':
          return { status: 'sent' };
        case 'failed':
        case 'unknown':
          return { status: step.outcome, reason: step.reason };
        case 'wait':
          if (step.waitMs > 0) await sleep(step.waitMs);
          break;
        case 'token': {
          const outcome = refreshed ? 'needs_reconnect' : await acts.refreshForSync({ connectionId });
          refreshed = true;
          if (outcome !== 'refreshed') {
            await acts.failReply({ replyId, reason: 'needs_reconnect' });
            return { status: 'failed', reason: 'needs_reconnect' };
          }
          break;
        }
      }
    }
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    await acts.failReply({ replyId, reason: 'retries_exhausted' });
    return { status: 'failed', reason: 'retries_exhausted' };
  }
}

/** Hide, unhide or delete one message at the platform, `moderate/<messageId>/<action>`. */
export async function moderateWorkflow(input: ModerateInput): Promise<{ ok: boolean; reason?: string }> {
  return acts.moderateMessage({ messageId: input.messageId, action: input.action });
}
