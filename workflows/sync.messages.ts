import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { PlatformId } from '../platforms/types.ts';

// Contracts of the sync workflow (`sync/<connectionId>`: the long-lived owner of a connection's
// analytics and inbox sync) and of its reconciler. Cursors and rows live in PostgreSQL; messages
// only say "look again": webhook bodies, tokens and message texts never enter workflow history.

export const SYNC_PROCESS_KIND = 'sync';
export const SYNC_WORKFLOW_TYPE = 'syncWorkflow';
export const syncWorkflowId = (connectionId: string) => `sync/${connectionId}`;

export const SYNC_RECONCILE_PROCESS_KIND = 'sync-reconcile';
export const SYNC_RECONCILE_WORKFLOW_TYPE = 'syncReconcilerWorkflow';
export const SYNC_RECONCILE_SCHEDULE_ID = 'sync-reconciler';

export interface SyncPolicy {
  /** Time between passes. */
  intervalMs: number;
  /** A connection that needs reconnecting is looked at again this often. */
  pausedCheckMs: number;
  /** Passes (and webhook batches) before continueAsNew keeps the history short. */
  passesPerRun: number;
  /** Webhook events are ingested at most this often, however fast they come. */
  ingestGapMs: number;
  /** The shortest rate-limit wait, whatever the platform says (no busy loop on "retry after 0"). */
  minWaitMs: number;
}

export interface SyncInput {
  connectionId: string;
  workspaceId: string;
  platform: PlatformId;
  policy: SyncPolicy;
  /** Carried across continueAsNew. */
  passes?: number;
  /** Webhook events arrived while the previous run was ending. */
  inboxPending?: boolean;
  /** When the next pass is due (epoch ms); absent: at once. */
  nextPassAt?: number;
  /** A pass interrupted during a rate-limit wait: the stream to continue from, after `until`. */
  resume?: { fromStream: number; until: number; tally?: PassTally };
}

/** What a pass did so far; carried from one part of a pass to the next (counts and stream names only). */
export interface PassTally {
  metricRows: number;
  messages: number;
  /** Streams the platform refused for good, with its words (no personal data). */
  problems: string[];
  /** The platform answered at least one call with the connection's token. */
  answered: boolean;
}

/** What one syncPass call came to; the workflow decides what follows. */
export type SyncStep =
  | { outcome: 'done'; metricRows: number; messages: number }
  /** Throttled: wait, then continue from this stream (its cursor is stored). */
  | { outcome: 'wait'; waitMs: number; fromStream: number; stream: string; tally: PassTally }
  | { outcome: 'token'; kind: 'token_expired' | 'token_revoked'; fromStream: number; tally: PassTally }
  /** The connection needs reconnecting: nothing to do until it is active again. */
  | { outcome: 'paused' }
  /** Disconnected or deleted: the workflow ends. */
  | { outcome: 'gone' };

export type SyncPhase = 'syncing' | 'waiting' | 'idle' | 'paused' | 'ended';

export interface SyncWorkflowState {
  phase: SyncPhase;
  passes: number;
  /** ISO time of the next pass (idle) or of the end of a rate-limit wait. */
  nextAt: string | null;
  last: SyncStep | null;
}

export interface SyncReconcileInput {
  batchSize: number;
  /** Only this workspace's connections (tests share one database). */
  workspaceId?: string;
}

export interface SyncReconcileResult {
  examined: number;
  started: number;
}

/** Pass now (the API's "sync now", the YouTube re-verification sweep). */
export const syncNowSignal = defineSignal('syncNow');
/** Webhook events were stored for this connection: ingest them. */
export const inboxEventSignal = defineSignal('inboxEvent');
export const syncStateQuery = defineQuery<SyncWorkflowState>('state');
