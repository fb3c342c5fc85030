import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { DeletionKind, DeletionRisk, DeletionStatus } from '../db/entities/privacy.ts';

// The contract of the deletion workflow: its id, input, messages and plan. Inputs carry the request
// id and retry policy only; the subject, deadlines and evidence live in PostgreSQL.

export const DELETION_PROCESS_KIND = 'deletion';
export const deletionWorkflowId = (requestId: string) => `deletion/${requestId}`;

export interface DeletionInput {
  requestId: string;
  policy: {
    retryInitialMs: number;
    retryMaxMs: number;
  };
}

export interface ConnectionRef {
  connectionId: string;
  workspaceId: string;
  platform: string;
  /** Still connected: revoke upstream through its workflow. Otherwise its stored outcome is the evidence. */
  needsRevoke?: boolean;
}

/** What beginDeletion read from the request: ids and instants (ISO strings) only. */
export interface DeletionPlan {
  outcome: 'proceed' | 'refused' | 'finished';
  kind: DeletionKind;
  subjectId: string;
  dueAt: string;
  atRiskAt: string;
  /** Account requests holding platform data: that data's own, earlier deadline. */
  platformDueAt?: string;
  platformAtRiskAt?: string;
  graceEndsAt: string | null;
  /** Connections to revoke upstream and purge at once (platform data is never held for the grace). */
  connections: ConnectionRef[];
  /** Workspaces deleted with the request (an account's workspaces where it is the only member). */
  workspaces: string[];
}

export interface DeletionState {
  status: DeletionStatus;
  risk: DeletionRisk;
  step: string | null;
}

export interface RestoreArgs {
  byUserId: string | null;
}

/** Restores an account within its grace: the purge is cancelled. Refused after the grace. */
export const restoreUpdate = defineUpdate<{ restored: true }, [RestoreArgs]>('restore');
export const deletionStateQuery = defineQuery<DeletionState>('state');
