import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { ExportActivities } from '../activities/export.ts';
import { DueAt, ProcessState } from '../domain/search-attributes.ts';
import { type ExportInput, type ExportResult, type ExportState, exportStateQuery } from './export.messages.ts';

/** Building reads the whole subject: long, heartbeating, retried a few times, then given up as failed. */
const build = proxyActivities<ExportActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 5,
    nonRetryableErrorTypes: ['UnknownExport', 'SubjectGone'],
  },
});
/** Bookkeeping: short transactions, retried until they succeed. */
const book = proxyActivities<ExportActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

function failureText(err: ActivityFailure): string {
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'Error'}: ${cause.message}`;
  return cause?.message ?? err.message;
}

/**
 * One portability export, `export/<exportId>`: build the ZIP (JSON + CSV per table, the files, a
 * manifest with checksums and the JSON Schema), then mark it ready with the link's expiry. A build
 * that keeps failing marks the export failed with the error, so the requester can ask again.
 */
export async function exportWorkflow(input: ExportInput): Promise<ExportResult> {
  const { exportId } = input;
  const state: ExportState = { step: 'building', status: 'pending' };
  setHandler(exportStateQuery, () => state);
  try {
    await build.buildExport({ exportId });
    state.step = 'finishing';
    const finished = await book.finishExport({ exportId });
    state.status = finished.status;
    upsertSearchAttributes([
      { key: ProcessState, value: finished.status },
      ...(finished.expiresAt ? [{ key: DueAt, value: new Date(finished.expiresAt) }] : []),
    ]);
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    state.status = await book.failExport({ exportId, error: failureText(err) });
    upsertSearchAttributes([{ key: ProcessState, value: state.status }]);
  }
  state.step = 'done';
  return { exportId, status: state.status };
}
