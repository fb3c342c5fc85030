import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { MediaActivities } from '../activities/media.ts';
import type { MediaStage } from '../db/entities/media.ts';
import type { LaterStage } from '../domain/media.ts';
import { ProcessState } from '../domain/search-attributes.ts';
import { type MediaIngestInput, type MediaIngestState, mediaStateQuery, type StageOutcome } from './media.messages.ts';

/**
 * `media/<fileId>`: probe, then the stages its kind needs (thumbnails, OCR, transcript) side by side
 * on the media task queue (bounded CPU), then chunks and embeddings, then the file's final status;
 * stages that do not apply are marked skipped with the reason at the end. A bad file ends its
 * stage failed with the reason (the activities decide that, once); a stage whose passing troubles
 * outlast its retries is recorded failed too; the other stages still run, and one file never holds
 * up another. A file deleted meanwhile ends the workflow quietly.
 */
export async function mediaIngestWorkflow(input: MediaIngestInput): Promise<MediaIngestState['status']> {
  const { fileId, workspaceId, policy } = input;
  const ref = { fileId, workspaceId };
  const retry = {
    initialInterval: policy.retryInitialMs,
    backoffCoefficient: 2,
    maximumInterval: policy.retryMaxMs,
    maximumAttempts: policy.stageAttempts,
  };
  const cpu = proxyActivities<MediaActivities>({
    taskQueue: input.cpuTaskQueue,
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: policy.heartbeatTimeoutMs,
    retry,
  });
  const core = proxyActivities<MediaActivities>({
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: policy.heartbeatTimeoutMs,
    retry,
  });
  // Bookkeeping in the worker that runs the workflow (no round trip through the server), retried
  // until the database answers: the file's end must be recorded.
  const local = proxyLocalActivities<MediaActivities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: policy.retryInitialMs, backoffCoefficient: 2, maximumInterval: policy.retryMaxMs },
  });

  const state: MediaIngestState = { status: 'processing', stage: 'probe' };
  let plan: LaterStage[] = [];
  setHandler(mediaStateQuery, () => state);
  const end = (status: MediaIngestState['status']) => {
    state.status = status;
    state.stage = null;
    upsertSearchAttributes([{ key: ProcessState, value: status }]);
    return status;
  };

  /** One stage; retries exhausted count as the stage failing, with the last error as the reason. */
  async function run(stage: MediaStage, call: () => Promise<StageOutcome>): Promise<StageOutcome> {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      // The kind of error only: a provider's message may name the account, and users read reasons.
      const kind = err.cause instanceof ApplicationFailure ? err.cause.type : err.cause?.name;
      const reason = `could not finish after ${policy.stageAttempts} attempts (${kind ?? 'error'}); see the workflow in Temporal`;
      return local.failStage({ ...ref, stage, reason });
    }
  }

  const probed = await run('probe', async () => {
    const r = await cpu.probeMedia(ref);
    plan = r.plan;
    return r.outcome;
  });
  if (probed === 'gone') return end('deleted');
  if (probed === 'done') {
    state.stage = 'thumbnails';
    const calls = { thumbnails: cpu.makeThumbnails, ocr: cpu.readText, transcript: cpu.transcribe };
    const side = plan.filter((stage): stage is keyof typeof calls => stage !== 'embeddings');
    const outcomes = await Promise.all(side.map((stage) => run(stage, () => calls[stage](ref))));
    if (outcomes.includes('gone')) return end('deleted');
    if (plan.includes('embeddings')) {
      state.stage = 'embeddings';
      if ((await run('embeddings', () => core.indexText(ref))) === 'gone') return end('deleted');
    }
  }
  const status = await local.finishIngest(ref);
  return end(status === 'gone' ? 'deleted' : status);
}
