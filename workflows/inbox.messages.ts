import type { ModerationAction } from '../platforms/types.ts';

// Contracts of the inbox's write workflows: `reply/<replyId>` (one reply, exactly once) and
// `moderate/<messageId>/<action>` (hide, unhide or delete at the platform). Inputs are ids and
// enums; the reply's text stays in PostgreSQL.

export const REPLY_PROCESS_KIND = 'reply';
export const REPLY_WORKFLOW_TYPE = 'replyWorkflow';
export const replyWorkflowId = (replyId: string) => `reply/${replyId}`;

export const MODERATE_PROCESS_KIND = 'moderate';
export const MODERATE_WORKFLOW_TYPE = 'moderateWorkflow';
export const moderateWorkflowId = (messageId: string, action: ModerationAction) => `moderate/${messageId}/${action}`;

export interface ReplyPolicy {
  /** After a lost answer, "not at the platform" is believed only this long after the attempt. */
  verifyGraceMs: number;
  /** A platform that cannot confirm either way (WhatsApp): the reply is left `unknown` after this. */
  unknownAfterMs: number;
}

export interface ReplyInput {
  replyId: string;
  connectionId: string;
  workspaceId: string;
  policy: ReplyPolicy;
}

export type ReplyStep =
  | { outcome: 'sent' }
  /** Verify or send again after this long (a lost answer's grace, a rate limit). */
  | { outcome: 'wait'; waitMs: number }
  | { outcome: 'token'; kind: 'token_expired' | 'token_revoked' }
  | { outcome: 'failed'; reason: string }
  /** The platform cannot confirm an attempt either way; left for a person rather than risk a double reply. */
  | { outcome: 'unknown'; reason: string };

export interface ReplyResult {
  status: 'sent' | 'failed' | 'unknown';
  reason?: string;
}

export interface ModerateInput {
  messageId: string;
  workspaceId: string;
  action: ModerationAction;
}
