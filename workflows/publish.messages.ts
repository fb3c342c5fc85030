import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { PlatformId } from '../platforms/types.ts';

// Contracts of the publish workflow (`publish/<targetId>`: one post on one connection) and of the
// reconciler that repairs drift between post_targets and the workflows. PostgreSQL holds the plan
// (due time, content, approval); messages only tell the workflow to read it again. Inputs, results
// and messages are ids, enums, versions and timestamps: no captions, tokens or platform handles.

export const PUBLISH_PROCESS_KIND = 'publish';
export const PUBLISH_WORKFLOW_TYPE = 'publishWorkflow';
export const publishWorkflowId = (targetId: string) => `publish/${targetId}`;

export const RECONCILE_PROCESS_KIND = 'publish-reconcile';
export const RECONCILE_WORKFLOW_TYPE = 'publishReconcilerWorkflow';
export const RECONCILE_SCHEDULE_ID = 'publish-reconciler';

export interface PublishPolicy {
  /** Media uploads and containers are prepared this long before the due time (nothing goes public). */
  prepareLeadMs: number;
  /** Processing polls (containers, uploads) back off from the platform's hint up to this. */
  pollMaxMs: number;
  /** How long processing (containers, uploads, moderation) may take before the post fails. */
  processingTimeoutMs: number;
  /** A publish waiting for a reconnect gives up after this. */
  reconnectWaitMs: number;
  /** How often a publish waiting for a reconnect looks at the connection again. */
  reconnectCheckMs: number;
  /** Retries of transient failures, with backoff from retryInitialMs to retryMaxMs. */
  retryInitialMs: number;
  retryMaxMs: number;
  /** Rate limits without a platform-given wait. */
  rateLimitWaitMs: number;
  /** A workflow waiting for approval reads the plan this often, in case a decision's signal was lost. */
  recheckMs: number;
  /** Timer waits and re-plans before continueAsNew keeps the history short. */
  iterationsPerRun: number;
}

export interface PublishInput {
  targetId: string;
  workspaceId: string;
  platform: PlatformId;
  policy: PublishPolicy;
}

/** What the workflow reports; the same is projected into post_targets. */
export type PublishStatus = 'scheduled' | 'awaiting_approval' | 'publishing' | 'published' | 'failed' | 'cancelled';

export interface PublishResult {
  targetId: string;
  status: 'published' | 'failed' | 'cancelled';
  /** A short, stable reason code (`rejected`, `deleted`, `token_revoked`, `processing_failed`, …). */
  reason?: string;
}

export interface PublishState {
  status: PublishStatus;
  /** The due time the workflow is waiting for (ISO), when scheduled. */
  dueAt: string | null;
  scheduleVersion: number;
  /** What it waits for while publishing: rate_limit, publish_cap, processing, reconnect. */
  waitingFor: string | null;
}

export interface RescheduleArgs {
  /** The scheduleVersion the API wrote with the new due time (for the record in history). */
  scheduleVersion: number;
}

export interface RescheduleResult {
  /** False when the post is already going out or the workflow has ended. */
  accepted: boolean;
  status: PublishStatus;
  /** The version the workflow was told about; it reads the plan from PostgreSQL next. */
  scheduleVersion: number;
}

export interface CancelArgs {
  /** unscheduled, deleted, target_removed, … */
  reason: string;
}

/** The post's due time or content changed: the workflow reads the plan again. */
export const rescheduleUpdate = defineUpdate<RescheduleResult, [RescheduleArgs]>('reschedule');
/** Stops a publish that has not started its commit; refused once the post is going out. */
export const cancelUpdate = defineUpdate<PublishState, [CancelArgs]>('cancel');
/** The client approved or rejected through an approval link (the decision itself is in PostgreSQL). */
export const approvalDecidedSignal = defineSignal('approvalDecided');
export const publishStateQuery = defineQuery<PublishState>('state');

export interface ReconcileInput {
  /** Targets read per page; a run goes through every live target. */
  batchSize: number;
  /** Only this workspace's targets (an operator repairing one workspace); absent: all. */
  workspaceId?: string;
}

export interface ReconcileResult {
  examined: number;
  /** Live targets without a running workflow (never started, or ended without updating the row): started. */
  started: number;
  /** Running workflows behind the row's scheduleVersion (a lost update): told to read the plan again. */
  replanned: number;
}
