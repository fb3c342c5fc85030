import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { ProcessKind, WorkspaceId } from '../domain/search-attributes.ts';
import type { Config } from '../lib/config.ts';
import { MEDIA_PROCESS_KIND, type MediaIngestInput, mediaWorkflowId } from './media.messages.ts';

// Starts `media/<fileId>`. The first ingest is idempotent: the id is the file's, so a retried start
// lands on the same run (running or ended), never on a second one. A re-ingest is a new run under
// the same id, allowed only once the previous run has closed.

const START_DEADLINE_MS = 10_000;

export interface StartIngestOptions {
  /**
   * Re-ingest: start a new run even though `media/<fileId>` ran before (its closed run's id is
   * reused); a run still going is refused with WorkflowExecutionAlreadyStartedError.
   */
  rerun?: boolean;
}

export function mediaIngestInput(file: { fileId: string; workspaceId: string }, config: Config): MediaIngestInput {
  return { ...file, cpuTaskQueue: config.taskQueues.media, policy: config.media.ingest };
}

/** Starts the ingest of the file; resolves with the run id (for a plain start that found one: that run's). */
export async function startIngest(
  client: Client,
  config: Config,
  file: { fileId: string; workspaceId: string },
  opts: StartIngestOptions = {},
): Promise<string | undefined> {
  const workflowId = mediaWorkflowId(file.fileId);
  try {
    const handle = await client.withDeadline(Date.now() + START_DEADLINE_MS, () =>
      client.workflow.start('mediaIngestWorkflow', {
        taskQueue: config.taskQueues.core,
        workflowId,
        args: [mediaIngestInput(file, config)],
        ...(opts.rerun
          ? { workflowIdReusePolicy: 'ALLOW_DUPLICATE', workflowIdConflictPolicy: 'FAIL' }
          : { workflowIdReusePolicy: 'REJECT_DUPLICATE', workflowIdConflictPolicy: 'USE_EXISTING' }),
        typedSearchAttributes: [
          { key: WorkspaceId, value: file.workspaceId },
          { key: ProcessKind, value: MEDIA_PROCESS_KIND },
        ],
      }),
    );
    return handle.firstExecutionRunId;
  } catch (err) {
    // A plain start whose run has already ended: that run was the file's ingest.
    if (!opts.rerun && err instanceof WorkflowExecutionAlreadyStartedError) return undefined;
    throw err;
  }
}
