import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { User } from './accounts.ts';

/** One row per API request, for 30 days (retention schedule). Holds no query strings or bodies. */
export const RequestLog = defineEntity({
  name: 'RequestLog',
  tableName: 'request_logs',
  properties: {
    id: p.bigint().primary().autoincrement(),
    at: p.datetime().index(),
    requestId: p.string().length(64),
    ip: p.string().length(64),
    userAgent: p.string().length(512).nullable(),
    method: p.string().length(10),
    path: p.string().length(512),
    status: p.integer(),
    durationMs: p.integer(),
    user: () => p.manyToOne(User).mapToPk().deleteRule('cascade').nullable().index(),
  },
});
export type RequestLog = InferEntity<typeof RequestLog>;

/**
 * Security-relevant events and every deletion step. Ids only in `details`, never e-mail addresses,
 * tokens or bodies. Append-only and hash-chained: a trigger (see the privacy migration) gives each
 * row the next gapless `position`, the previous row's hash and its own, and refuses UPDATE and DELETE.
 */
export const AuditEvent = defineEntity({
  name: 'AuditEvent',
  tableName: 'audit_events',
  properties: {
    id: p.bigint().primary().autoincrement(),
    at: p
      .datetime()
      .onCreate(() => new Date())
      .index(),
    action: p.string().length(64),
    // Plain ids, no foreign keys: audit rows are append-only and must never be rewritten by a cascade.
    actorId: p.uuid().nullable().index(),
    workspaceId: p.uuid().nullable().index(),
    targetType: p.string().length(32).nullable(),
    targetId: p.string().length(64).nullable(),
    requestId: p.string().length(64).nullable(),
    details: p.json<Record<string, string | number | boolean | null>>().nullable(),
    position: p.bigint().nullable().unique(),
    prevHash: p.string().length(64).nullable(),
    hash: p.string().length(64).nullable(),
  },
});
export type AuditEvent = InferEntity<typeof AuditEvent>;
