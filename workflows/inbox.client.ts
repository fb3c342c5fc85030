import type { Client } from '@temporalio/client';
import { defaultPolicy } from '../domain/policy.ts';
import { Platform, ProcessKind, WorkspaceId } from '../domain/search-attributes.ts';
import type { ModerationAction, PlatformId } from '../platforms/types.ts';
import {
  MODERATE_PROCESS_KIND,
  MODERATE_WORKFLOW_TYPE,
  type ModerateInput,
  moderateWorkflowId,
  REPLY_PROCESS_KIND,
  REPLY_WORKFLOW_TYPE,
  type ReplyInput,
  type ReplyPolicy,
  replyWorkflowId,
} from './inbox.messages.ts';

// Client-side helpers the API uses for the inbox's writes. The reply row is committed first; if
// Temporal cannot be reached the API says so and the reply can be retried (same workflow id).

const DEADLINE_MS = 15_000;
/** Moderation is one platform call; the API waits for it. */
const MODERATE_DEADLINE_MS = 30_000;

export function replyPolicy(overrides: Partial<ReplyPolicy> = {}): ReplyPolicy {
  const p = defaultPolicy.sync;
  return { verifyGraceMs: p.replyVerifyGraceMs, unknownAfterMs: p.replyUnknownAfterMs, ...overrides };
}

export async function startReply(client: Client, taskQueue: string, input: ReplyInput, platform: PlatformId) {
  await client.withDeadline(Date.now() + DEADLINE_MS, () =>
    client.workflow.start(REPLY_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: replyWorkflowId(input.replyId),
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: WorkspaceId, value: input.workspaceId },
        { key: ProcessKind, value: REPLY_PROCESS_KIND },
        { key: Platform, value: platform },
      ],
    }),
  );
}

export async function runModeration(
  client: Client,
  taskQueue: string,
  input: ModerateInput,
  platform: PlatformId,
): Promise<{ ok: boolean; reason?: string }> {
  return client.withDeadline(Date.now() + MODERATE_DEADLINE_MS, () =>
    client.workflow.execute(MODERATE_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: moderateWorkflowId(input.messageId, input.action as ModerationAction),
      args: [input],
      // A repeated request after one finished runs again (unhide after hide after unhide).
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: WorkspaceId, value: input.workspaceId },
        { key: ProcessKind, value: MODERATE_PROCESS_KIND },
        { key: Platform, value: platform },
      ],
    }),
  );
}
