import type { EntityManager } from '@mikro-orm/core';
import {
  ComplianceAlert,
  type DeletionKind,
  DeletionRequest,
  type DeletionRisk,
  type DeletionStatus,
  DeletionStep,
  type StepResult,
} from '../db/entities/index.ts';
import { DELETION_GRAPH, graphTable } from '../domain/deletion-graph.ts';
import { auditPositions } from './audit-chain.ts';

// What compliance staff read, shared by the compliance API and the operator CLI so both have the
// same powers: the request register with filters, one request's timeline, its certificate, and the
// deletion history as CSV or JSON. Everything here is ids, counts and reasons; no personal data.

export interface RequestFilter {
  status?: DeletionStatus;
  kind?: DeletionKind;
  risk?: DeletionRisk;
  /** Open and past due now. */
  overdue?: boolean;
  dueBefore?: Date;
  dueAfter?: Date;
  workspaceId?: string;
  limit?: number;
}

const OPEN: DeletionStatus[] = ['received', 'in_grace', 'in_progress'];

export async function listRequests(em: EntityManager, f: RequestFilter = {}): Promise<DeletionRequest[]> {
  const where: Record<string, unknown> = {};
  if (f.status) where.status = f.status;
  if (f.kind) where.kind = f.kind;
  if (f.risk) where.risk = f.risk;
  if (f.workspaceId) where.workspaceId = f.workspaceId;
  const due: Record<string, Date> = {};
  if (f.dueBefore) due.$lt = f.dueBefore;
  if (f.dueAfter) due.$gte = f.dueAfter;
  if (f.overdue) {
    where.status = f.status && OPEN.includes(f.status) ? f.status : { $in: OPEN };
    due.$lt = f.dueBefore && f.dueBefore < new Date() ? f.dueBefore : new Date();
  }
  if (Object.keys(due).length) where.dueAt = due;
  return em.find(DeletionRequest, where, { orderBy: { receivedAt: 'desc' }, limit: f.limit ?? 200 });
}

export function requestView(r: DeletionRequest) {
  return {
    id: r.id,
    kind: r.kind,
    subjectId: r.subjectId,
    workspaceId: r.workspaceId ?? null,
    channel: r.channel,
    status: r.status,
    risk: r.risk,
    deadlineRule: r.deadlineRule,
    receivedAt: r.receivedAt.toISOString(),
    dueAt: r.dueAt.toISOString(),
    graceEndsAt: r.graceEndsAt?.toISOString() ?? null,
    startedAt: r.startedAt?.toISOString() ?? null,
    completedAt: r.completedAt?.toISOString() ?? null,
    cancelledAt: r.cancelledAt?.toISOString() ?? null,
    reason: r.reason ?? null,
    /** Finished after the due date, or still open past it. */
    late: (r.completedAt ?? new Date()) > r.dueAt && r.status !== 'cancelled' && r.status !== 'refused',
  };
}
export type RequestView = ReturnType<typeof requestView>;

export function stepView(s: DeletionStep) {
  return {
    name: s.name,
    status: s.status,
    attempts: s.attempts,
    startedAt: s.startedAt.toISOString(),
    finishedAt: s.finishedAt?.toISOString() ?? null,
    result: (s.result ?? {}) as StepResult,
    error: s.error ?? null,
  };
}

/** A request with its steps, alerts and the audit-chain positions that record them. */
export async function requestTimeline(em: EntityManager, id: string) {
  const request = await em.findOne(DeletionRequest, id);
  if (!request) return undefined;
  const [steps, alerts, audit] = await Promise.all([
    em.find(DeletionStep, { request: id }, { orderBy: { startedAt: 'asc', name: 'asc' } }),
    em.find(ComplianceAlert, { request: id }, { orderBy: { createdAt: 'asc' } }),
    auditPositions(em, 'deletion_request', id),
  ]);
  return {
    request: requestView(request),
    steps: steps.map(stepView),
    alerts: alerts.map((a) => ({ kind: a.kind, createdAt: a.createdAt.toISOString() })),
    audit,
  };
}

/** The deletion certificate: what was deleted, what was kept and why, when, and where the chain records it. */
export async function certificate(em: EntityManager, id: string) {
  const timeline = await requestTimeline(em, id);
  if (!timeline) return undefined;
  const deleted: Record<string, number> = {};
  const anonymised: Record<string, number> = {};
  let objects = 0;
  const revocations: NonNullable<StepResult['revocations']> = [];
  const retained: { what: string; reason: string }[] = [];
  let remaining: Record<string, number> | undefined;
  for (const step of timeline.steps) {
    for (const [t, n] of Object.entries(step.result.rows ?? {})) deleted[t] = (deleted[t] ?? 0) + n;
    for (const [t, n] of Object.entries(step.result.anonymised ?? {})) anonymised[t] = (anonymised[t] ?? 0) + n;
    objects += step.result.objects ?? 0;
    revocations.push(...(step.result.revocations ?? []));
    retained.push(...(step.result.retained ?? []));
    if (step.name === 'verify') remaining = step.result.remaining;
  }
  // Records kept about every request, by policy, with their legal reason.
  for (const t of DELETION_GRAPH) if (t.retained) retained.push({ what: t.table, reason: t.retained });
  return {
    certificateVersion: '1.0',
    issuedAt: new Date().toISOString(),
    request: timeline.request,
    deleted: Object.entries(deleted).map(([table, rows]) => ({
      table,
      rows,
      describes: graphTable(table)?.describes ?? table,
    })),
    anonymised: Object.entries(anonymised).map(([table, rows]) => ({ table, rows })),
    storageObjects: objects,
    upstreamRevocations: revocations,
    retained,
    verification: remaining === undefined ? null : { remaining, complete: Object.keys(remaining).length === 0 },
    steps: timeline.steps.map((s) => ({
      name: s.name,
      status: s.status,
      attempts: s.attempts,
      startedAt: s.startedAt,
      finishedAt: s.finishedAt,
    })),
    auditChain: timeline.audit,
  };
}
export type Certificate = NonNullable<Awaited<ReturnType<typeof certificate>>>;

const esc = (v: unknown) => String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function certificateHtml(c: Certificate): string {
  const rows = (items: unknown[][]) =>
    items.map((r) => `<tr>${r.map((v) => `<td>${esc(v)}</td>`).join('')}</tr>`).join('');
  const r = c.request;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Deletion certificate ${esc(r.id)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left}th{background:#f4f4f4}</style></head><body>
<h1>Deletion certificate</h1>
<table><tbody>${rows([
    ['Request', r.id],
    ['Kind', r.kind],
    ['Subject', r.subjectId],
    ['Channel', r.channel],
    ['Status', r.status],
    ['Received', r.receivedAt],
    ['Due', `${r.dueAt} (${r.deadlineRule})`],
    ['Completed', r.completedAt ?? '—'],
    ['On time', r.late ? 'no' : 'yes'],
    ['Issued', c.issuedAt],
  ])}</tbody></table>
<h2>Deleted</h2><table><thead><tr><th>Table</th><th>What it holds</th><th>Rows</th></tr></thead><tbody>${rows(
    c.deleted.map((d) => [d.table, d.describes, d.rows]),
  )}</tbody></table>
<p>Storage objects deleted: ${esc(c.storageObjects)}</p>
<h2>Anonymised</h2><table><thead><tr><th>Table</th><th>Rows</th></tr></thead><tbody>${rows(
    c.anonymised.map((a) => [a.table, a.rows]),
  )}</tbody></table>
<h2>Upstream revocations</h2><table><thead><tr><th>Connection</th><th>Platform</th><th>Outcome</th><th>Detail</th></tr></thead><tbody>${rows(
    c.upstreamRevocations.map((v) => [v.connectionId, v.platform, v.outcome, v.detail ?? '']),
  )}</tbody></table>
<h2>Retained, and why</h2><table><thead><tr><th>What</th><th>Reason</th></tr></thead><tbody>${rows(
    c.retained.map((x) => [x.what, x.reason]),
  )}</tbody></table>
<h2>Verification</h2><p>${
    c.verification
      ? c.verification.complete
        ? 'After deletion, no row in any declared table reaches the subject.'
        : `Rows still reaching the subject: ${esc(JSON.stringify(c.verification.remaining))}`
      : 'Not verified yet.'
  }</p>
<h2>Steps</h2><table><thead><tr><th>Step</th><th>Status</th><th>Attempts</th><th>Started</th><th>Finished</th></tr></thead><tbody>${rows(
    c.steps.map((s) => [s.name, s.status, s.attempts, s.startedAt, s.finishedAt ?? '']),
  )}</tbody></table>
<h2>Audit chain</h2><table><thead><tr><th>Position</th><th>Event</th><th>At</th><th>Hash</th></tr></thead><tbody>${rows(
    c.auditChain.map((a) => [a.position, a.action, a.at, a.hash]),
  )}</tbody></table>
</body></html>`;
}

/** The deletion history, one row per request with its evidence summed up. */
export async function deletionHistory(em: EntityManager, f: RequestFilter = {}) {
  const requests = await listRequests(em, { limit: 100_000, ...f });
  const steps = requests.length ? await em.find(DeletionStep, { request: { $in: requests.map((r) => r.id) } }) : [];
  const byRequest = new Map<string, DeletionStep[]>();
  for (const s of steps) byRequest.set(s.request as string, [...(byRequest.get(s.request as string) ?? []), s]);
  return requests.map((r) => {
    const own = byRequest.get(r.id) ?? [];
    const sum = (pick: (s: StepResult) => Record<string, number> | undefined) =>
      own.reduce((n, s) => n + Object.values(pick(s.result ?? {}) ?? {}).reduce((a, b) => a + b, 0), 0);
    const revocations = own.flatMap((s) => s.result?.revocations ?? []);
    return {
      ...requestView(r),
      rowsDeleted: sum((s) => s.rows),
      rowsAnonymised: sum((s) => s.anonymised),
      storageObjects: own.reduce((n, s) => n + (s.result?.objects ?? 0), 0),
      revocations: revocations.map((v) => `${v.platform}:${v.outcome}`).join(' '),
      held: own.filter((s) => s.status === 'held').length,
      steps: own.length,
    };
  });
}

export function toCsv(rows: Record<string, unknown>[]): string {
  if (!rows.length) return '';
  const headers = Object.keys(rows[0] as object);
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return `${[headers.join(','), ...rows.map((r) => headers.map((h) => cell(r[h])).join(','))].join('\r\n')}\r\n`;
}
