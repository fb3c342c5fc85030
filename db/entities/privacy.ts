import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

// Privacy operations: deletion requests and their per-step evidence, legal holds, compliance alerts
// and exports. Requests are kept (pseudonymous ids only) after their subject is gone: they are the
// register auditors ask for (CCPA §7101: at least 24 months), so they carry plain ids, not foreign keys.

export const DELETION_KINDS = ['file', 'connection', 'workspace', 'account', 'platform_user'] as const;
export type DeletionKind = (typeof DELETION_KINDS)[number];

export const DELETION_CHANNELS = ['api', 'meta_callback', 'meta_deauthorize', 'google', 'operator'] as const;
export type DeletionChannel = (typeof DELETION_CHANNELS)[number];

export const DELETION_STATUSES = [
  /** Stored; the workflow has not picked it up yet. */
  'received',
  /** Account deletion inside its recovery grace: access is gone, first-party data waits. */
  'in_grace',
  'in_progress',
  'completed',
  /** Done, but something was kept: a legal hold or a failed upstream revoke (see the steps). */
  'completed_with_exceptions',
  /** Restored within grace, or withdrawn. */
  'cancelled',
  /** Refused before anything was deleted (e.g. the sole owner of a shared workspace). */
  'refused',
] as const;
export type DeletionStatus = (typeof DELETION_STATUSES)[number];

export const DELETION_RISKS = ['on_track', 'at_risk', 'overdue'] as const;
export type DeletionRisk = (typeof DELETION_RISKS)[number];

export const DeletionRequest = defineEntity({
  name: 'DeletionRequest',
  tableName: 'deletion_requests',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    kind: p.enum(DELETION_KINDS),
    /** The subject's id: a user, workspace, connection or file id, or `<platform>:<platform user id>`. */
    subjectId: p.string().length(200).index(),
    /** The workspace the subject belongs to, for tenant-scoped listings (null for accounts). */
    workspaceId: p.uuid().nullable().index(),
    requestedBy: p.uuid().nullable(),
    channel: p.enum(DELETION_CHANNELS),
    /** Makes a repeated callback or request land on the same row (e.g. Meta `<app>:<user>:<issued_at>`). */
    sourceKey: p.string().length(200).nullable().unique(),
    /** Public, unguessable; shown to the subject (Meta status page). */
    confirmationCode: p.string().length(32).nullable().unique(),
    status: p.enum(DELETION_STATUSES).default('received'),
    risk: p.enum(DELETION_RISKS).default('on_track'),
    /** Which rule set the deadline: gdpr_month, youtube_7d, meta_7d, account_grace. */
    deadlineRule: p.string().length(32),
    receivedAt: p.datetime(),
    dueAt: p.datetime().index(),
    /** Account requests: end of the recovery grace, after which first-party data is purged. */
    graceEndsAt: p.datetime().nullable(),
    startedAt: p.datetime().nullable(),
    completedAt: p.datetime().nullable(),
    cancelledAt: p.datetime().nullable(),
    reason: p.string().length(300).nullable(),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type DeletionRequest = InferEntity<typeof DeletionRequest>;

export const STEP_STATUSES = ['running', 'done', 'held', 'failed', 'skipped'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/** Evidence of one step: rows per table, storage objects, upstream revocations and their answers. */
export interface StepResult {
  rows?: Record<string, number>;
  anonymised?: Record<string, number>;
  objects?: number;
  revocations?: { connectionId: string; platform: string; outcome: string; detail?: string | null }[];
  retained?: { what: string; reason: string }[];
  remaining?: Record<string, number>;
  note?: string;
}

export const DeletionStep = defineEntity({
  name: 'DeletionStep',
  tableName: 'deletion_steps',
  uniques: [{ properties: ['request', 'name'] }],
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    request: () => p.manyToOne(DeletionRequest).mapToPk().deleteRule('cascade').index(),
    /** Stable per request, e.g. `revoke:<connectionId>`, `purge:workspace`, `verify`. */
    name: p.string().length(120),
    status: p.enum(STEP_STATUSES),
    attempts: p.integer().default(0),
    startedAt: p.datetime(),
    finishedAt: p.datetime().nullable(),
    result: p.json<StepResult>().nullable(),
    error: p.string().length(500).nullable(),
  },
});
export type DeletionStep = InferEntity<typeof DeletionStep>;

export const HOLD_KINDS = ['legal', 'moderation'] as const;

/** Keeps a subject from deletion, with the reason and evidence Meta's terms (3.d.ii) ask for. */
export const LegalHold = defineEntity({
  name: 'LegalHold',
  tableName: 'legal_holds',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    kind: p.enum(HOLD_KINDS),
    subjectKind: p.enum(DELETION_KINDS),
    subjectId: p.string().length(200).index(),
    /** Scope for tenant checks and for deletion of the workspace once the hold is gone. */
    workspaceId: p.uuid().nullable().index(),
    reason: p.string().length(500),
    /** Case number, order reference or ticket: the proof of the legal basis. */
    evidence: p.string().length(500),
    placedBy: p.uuid().nullable(),
    placedAt: p.datetime(),
    releasedAt: p.datetime().nullable(),
    releasedBy: p.uuid().nullable(),
  },
});
export type LegalHold = InferEntity<typeof LegalHold>;

export const ALERT_KINDS = ['deletion.at_risk', 'deletion.overdue'] as const;

/** Notifications for compliance staff (also mailed when COMPLIANCE_EMAIL is set). */
export const ComplianceAlert = defineEntity({
  name: 'ComplianceAlert',
  tableName: 'compliance_alerts',
  uniques: [{ properties: ['request', 'kind'] }],
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    request: () => p.manyToOne(DeletionRequest).mapToPk().deleteRule('cascade').index(),
    kind: p.enum(ALERT_KINDS),
    createdAt: p.datetime().onCreate(() => new Date()),
    acknowledgedAt: p.datetime().nullable(),
  },
});
export type ComplianceAlert = InferEntity<typeof ComplianceAlert>;

export const EXPORT_KINDS = ['account', 'workspace'] as const;
export const EXPORT_STATUSES = ['pending', 'ready', 'failed', 'expired'] as const;

/** A portability export: a ZIP behind a download link that expires. */
export const DataExport = defineEntity({
  name: 'DataExport',
  tableName: 'data_exports',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    kind: p.enum(EXPORT_KINDS),
    subjectId: p.uuid().index(),
    /** Who asked; the download is theirs alone. Plain id: the row outlives nothing it describes. */
    requestedBy: p.uuid().index(),
    status: p.enum(EXPORT_STATUSES).default('pending'),
    /** Relative to the data folder. */
    path: p.string().length(300).nullable(),
    bytes: p.bigint().nullable(),
    sha256: p.string().length(64).nullable(),
    /** SHA-256 of the download token; the token itself is shown once. */
    tokenHash: p.string().length(64).nullable().unique(),
    createdAt: p.datetime().onCreate(() => new Date()),
    completedAt: p.datetime().nullable(),
    expiresAt: p.datetime().nullable(),
    error: p.string().length(300).nullable(),
  },
});
export type DataExport = InferEntity<typeof DataExport>;
