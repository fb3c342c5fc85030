import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RevokeOutcome } from '../db/entities/connections.ts';
import type { PlatformId } from '../platforms/types.ts';

// Contracts of the connect workflow (`connect/<oauthStateId>`: code → tokens → profile → connection)
// and the connection workflow (`connection/<connectionId>`: the long-lived owner of a connection).
// Inputs and results are ids, enums and timestamps: tokens and codes never enter history.

export const CONNECT_PROCESS_KIND = 'connect';
export const CONNECTION_PROCESS_KIND = 'connection';
export const connectWorkflowId = (stateId: string) => `connect/${stateId}`;
export const connectionWorkflowId = (connectionId: string) => `connection/${connectionId}`;

export interface ConnectInput {
  stateId: string;
  workspaceId: string;
  platform: PlatformId;
}

export type ConnectResult =
  | { ok: true; connectionId: string; reconnected: boolean }
  /** exchange_refused: the platform would not exchange the code (spent, expired, PKCE mismatch). */
  | { ok: false; errorCode: string; message: string };

export interface ConnectionPolicy {
  refreshAttempts: number;
  revokeAttempts: number;
  retryInitialMs: number;
  retryMaxMs: number;
  iterationsPerRun: number;
}

export interface ConnectionInput {
  connectionId: string;
  workspaceId: string;
  platform: PlatformId;
  policy: ConnectionPolicy;
}

export interface DisconnectArgs {
  byUserId: string | null;
}

export interface DisconnectResult {
  connectionId: string;
  outcome: RevokeOutcome;
  /** Upstream revoke attempts made (0 where the platform has no revoke endpoint). */
  attempts: number;
}

export type ConnectionState = 'active' | 'needs_reconnect' | 'refreshing' | 'disconnecting' | 'disconnected';

export interface RefreshNowResult {
  outcome: 'refreshed' | 'needs_reconnect' | 'too_early' | 'not_supported' | 'skipped' | 'failed';
  expiresAt?: string | null;
}

/** Disconnect: revoke upstream, delete tokens, finish. The workflow ends after it. */
export const disconnectUpdate = defineUpdate<DisconnectResult, [DisconnectArgs]>('disconnect');
/** Refresh now, through the same serialised path as the timer (no parallel refreshes). */
export const refreshNowUpdate = defineUpdate<RefreshNowResult, []>('refreshNow');
/** A new consent arrived for this connection (tokens replaced by the connect workflow). */
export const reconnectedSignal = defineSignal('reconnected');
export const connectionStateQuery = defineQuery<ConnectionState>('state');
