import { defineQuery } from '@temporalio/workflow';
import type { MediaStages, MediaStatus } from '../db/entities/media.ts';

// The contract of `media/<fileId>`: one ingest workflow per uploaded file. Its input is ids and
// policy values only; the bytes, the texts and the vectors stay in storage and PostgreSQL.

export const mediaWorkflowId = (fileId: string) => `media/${fileId}`;
export const MEDIA_PROCESS_KIND = 'media_ingest';

export interface MediaIngestPolicy {
  /** Retries of a stage that failed for a passing reason (a timeout, an OpenAI 5xx) before it fails. */
  stageAttempts: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** A stage that runs longer than this without a heartbeat is retried. */
  heartbeatTimeoutMs: number;
}

export interface MediaIngestInput {
  fileId: string;
  workspaceId: string;
  /** Where the CPU-heavy stages run (the media worker's task queue, with bounded concurrency). */
  cpuTaskQueue: string;
  policy: MediaIngestPolicy;
}

/** How a stage ended; `gone`: the file was deleted meanwhile, and ingest stops. */
export type StageOutcome = 'done' | 'skipped' | 'failed' | 'gone';

export interface MediaIngestState {
  status: MediaStatus | 'deleted';
  stage: keyof MediaStages | null;
}

export const mediaStateQuery = defineQuery<MediaIngestState>('mediaState');
