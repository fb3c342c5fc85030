import { defineQuery } from '@temporalio/workflow';
import type { EXPORT_STATUSES } from '../db/entities/privacy.ts';

// The contract of the export workflow `export/<exportId>`. The input is the export's id alone: the
// subject, the requester and the token hash live in PostgreSQL (data_exports), and results carry
// statuses and counts, never personal data.

export const EXPORT_PROCESS_KIND = 'export';
export const exportWorkflowId = (exportId: string) => `export/${exportId}`;

export type ExportStatus = (typeof EXPORT_STATUSES)[number];

export interface ExportInput {
  exportId: string;
}

/** What buildExport wrote: sizes and counts only. */
export interface ExportBuilt {
  bytes: number;
  tables: number;
  rows: number;
  files: number;
}

export interface ExportFinished {
  status: ExportStatus;
  /** ISO-8601 instant the download link stops working (ready exports). */
  expiresAt: string | null;
}

export interface ExportResult {
  exportId: string;
  status: ExportStatus;
}

export type ExportStep = 'building' | 'finishing' | 'done';
export interface ExportState {
  step: ExportStep;
  status: ExportStatus;
}

export const exportStateQuery = defineQuery<ExportState>('state');
