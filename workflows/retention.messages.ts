// The contract of the retention sweep workflow. Schedules start it as `retention/<policyId>` (Temporal
// appends the start time); inputs and results are a policy id and counts, never row contents.

export const RETENTION_PROCESS_KIND = 'retention';
export const RETENTION_WORKFLOW_TYPE = 'retentionSweepWorkflow';

export interface RetentionSweepInput {
  policyId: string;
  /** Overrides the policy's maxAgeMs for this run (operators, tests). */
  maxAgeMs?: number;
  /** Rows per statement (default defaultPolicy.privacy.batchSize). */
  batchSize?: number;
  /** Batches per activity call before the workflow calls again (keeps each attempt bounded). */
  batchesPerCall?: number;
}

/** What one activity call did. */
export interface SweepProgress {
  /** Rows deleted (all tables of the policy). */
  deleted: number;
  /** Rows deleted per table. */
  tables: Record<string, number>;
  /** Rows changed but kept: exports marked expired, their files deleted. */
  updated: number;
  /** Deletion workflows started (safety nets). */
  started: number;
  /** Statements (or pages of requests) run. */
  batches: number;
  /** How long the oldest row found past retention had been due (null: none was due). */
  lateByMs: number | null;
  /** Later than one schedule interval: the sweeper missed runs (recorded, not hidden). */
  late: boolean;
  /** Age of the oldest row left that the policy looks at (null: none). */
  oldestRemainingAgeMs: number | null;
  /** The call stopped at batchesPerCall with more to do. */
  more: boolean;
}

export interface RetentionSweepResult extends Omit<SweepProgress, 'more'> {
  policyId: string;
  /** Activity calls the sweep took. */
  calls: number;
}
