import type { Client } from '@temporalio/client';
import { ProcessKind, ProcessState, WorkspaceId } from '../domain/search-attributes.ts';
import { EXPORT_PROCESS_KIND, type ExportInput, type ExportResult, exportWorkflowId } from './export.messages.ts';

// Client-side helpers for export workflows. Starting is idempotent (the id is the export's), and
// bounded so an unavailable Temporal turns into a 503, not a hung request.
const CALL_DEADLINE_MS = 10_000;

export interface ExportStart {
  exportId: string;
  kind: 'account' | 'workspace';
  subjectId: string;
}

export function exportInput(exportId: string): ExportInput {
  return { exportId };
}

export async function startExport(client: Client, taskQueue: string, start: ExportStart): Promise<void> {
  await client.withDeadline(Date.now() + CALL_DEADLINE_MS, () =>
    client.workflow.start('exportWorkflow', {
      taskQueue,
      workflowId: exportWorkflowId(start.exportId),
      args: [exportInput(start.exportId)],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        ...(start.kind === 'workspace' ? [{ key: WorkspaceId, value: start.subjectId }] : []),
        { key: ProcessKind, value: EXPORT_PROCESS_KIND },
        { key: ProcessState, value: 'pending' },
      ],
    }),
  );
}

/** Waits for an export workflow to finish (tests, tools). */
export async function exportResult(client: Client, exportId: string): Promise<ExportResult> {
  return client.workflow.getHandle(exportWorkflowId(exportId)).result();
}
