import type { MikroORM } from '@mikro-orm/core';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import pino from 'pino';
import { defaultPolicy, MINUTE } from '../domain/policy.ts';
import { type RetentionPolicy, type RetentionTarget, retentionPolicy } from '../domain/retention.ts';
import type { Config } from '../lib/config.ts';
import { expireExports } from '../lib/export.ts';
import { loggerOptions } from '../lib/logger.ts';
import { affected, sqlOf } from '../lib/sql.ts';
import { startDeletion } from '../workflows/deletion.client.ts';
import { deletionWorkflowId } from '../workflows/deletion.messages.ts';
import type { RetentionSweepInput, SweepProgress } from '../workflows/retention.messages.ts';
import { beating } from './heartbeat.ts';

// The retention sweep: one policy (domain/retention.ts) per call. A deleting policy's statements
// each handle at most one batch (`where ctid in (select ctid … limit n)`), commit on their own and
// heartbeat, so a killed worker loses at most one batch of work and a retry simply carries on; what
// was already removed is not selected again, which makes every sweep idempotent. Expired exports go
// through lib/export.ts; the safety nets start deletion workflows by their fixed ids. Only counts and
// ids are logged.

export interface RetentionDeps {
  orm: MikroORM;
  config: Config;
  /** For the safety nets, which start deletion workflows. */
  temporal: Client;
  log?: pino.Logger;
}

const DEFAULT_BATCHES_PER_CALL = 100;
/** Lateness beyond one interval plus this counts as late (the sweeper missed runs). */
const LATE_SLACK_MS = 5 * MINUTE;

/** Replaces `:cutoff` and `:now` with positional parameters. */
export function bindRetentionSql(sql: string, values: { cutoff: Date; now: Date }): { sql: string; params: Date[] } {
  const params: Date[] = [];
  const text = sql.replace(/(?<!:):(cutoff|now)\b/g, (_m, name: 'cutoff' | 'now') => {
    params.push(values[name]);
    return '?';
  });
  return { sql: text, params };
}

const dueWhere = (t: RetentionTarget) => `${t.since} < :cutoff${t.condition ? ` and (${t.condition})` : ''}`;

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw ApplicationFailure.nonRetryable(`${name} must be a positive integer`, 'InvalidSweepInput');
  }
  return value;
}

const toMs = (v: unknown): number | null => (v === null || v === undefined ? null : new Date(v as string).getTime());

export function createRetentionActivities(deps: RetentionDeps) {
  const { orm, config, temporal } = deps;
  const log = deps.log ?? pino(loggerOptions(config.logLevel, 'retention'));
  const db = () => sqlOf(orm.em.fork());

  /** The oldest `since` among rows matching `where`, over every target. */
  async function oldest(
    policy: RetentionPolicy,
    where: (t: RetentionTarget) => string,
    values: { cutoff: Date; now: Date },
  ) {
    let min: number | null = null;
    for (const t of policy.targets) {
      const q = bindRetentionSql(`select min(${t.since}) as oldest from ${t.table} where ${where(t)}`, values);
      const [row] = await db().execute<{ oldest: unknown }[]>(q.sql, q.params);
      const ms = toMs(row?.oldest);
      if (ms !== null && (min === null || ms < min)) min = ms;
    }
    return min;
  }

  async function deleteRows(
    policy: RetentionPolicy,
    values: { cutoff: Date; now: Date },
    batch: number,
    maxBatches: number,
    p: SweepProgress,
  ) {
    for (const t of policy.targets) {
      for (;;) {
        if (p.batches >= maxBatches) {
          p.more = true;
          return;
        }
        const q = bindRetentionSql(
          `delete from ${t.table} where ctid in (select ctid from ${t.table} where ${dueWhere(t)} limit ${batch})`,
          values,
        );
        const n = affected(await db().execute(q.sql, q.params, 'run'));
        p.batches++;
        p.deleted += n;
        p.tables[t.table] = (p.tables[t.table] ?? 0) + n;
        Context.current().heartbeat({ table: t.table, deleted: p.deleted });
        if (n < batch) break;
      }
    }
  }

  /**
   * Ready exports past their link expiry become `expired` and lose their file: lib/export.ts owns
   * that (files first, then the row; idempotent). `cutoff` is "now" unless maxAgeMs is overridden.
   */
  async function expireExportFiles(values: { cutoff: Date; now: Date }, p: SweepProgress) {
    const { expired } = await beating(() => expireExports(orm.em.fork(), config, values.cutoff));
    p.batches++;
    p.updated += expired.length;
  }

  async function workflowRunning(requestId: string): Promise<boolean> {
    try {
      const d = await temporal.workflow.getHandle(deletionWorkflowId(requestId)).describe();
      return d.status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  /** Starts the deletion workflow of each selected request whose workflow is not running. */
  async function startDeletions(
    policy: RetentionPolicy,
    values: { cutoff: Date; now: Date },
    batch: number,
    maxBatches: number,
    p: SweepProgress,
  ) {
    const t = policy.targets[0]!;
    let after: string | null = null;
    for (;;) {
      if (p.batches >= maxBatches) {
        p.more = true;
        return;
      }
      // Keyset by id: starting a workflow does not change the row at once, so a page is never re-read.
      const q = bindRetentionSql(
        `select id, workspace_id as "workspaceId", due_at as "dueAt" from ${t.table}
          where ${dueWhere(t)}${after ? ' and id > ?::uuid' : ''} order by id limit ${batch}`,
        values,
      );
      const rows: { id: string; workspaceId: string | null; dueAt: unknown }[] = await db().execute(q.sql, [
        ...q.params,
        ...(after ? [after] : []),
      ]);
      for (const r of rows) {
        Context.current().heartbeat({ started: p.started });
        if (await workflowRunning(r.id)) continue;
        await startDeletion(temporal, config, {
          id: r.id,
          workspaceId: r.workspaceId,
          dueAt: new Date(r.dueAt as string),
        });
        p.started++;
        log.info({ policy: policy.id, requestId: r.id }, 'retention safety net started a deletion workflow');
      }
      p.batches++;
      if (rows.length < batch) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  return {
    /** One call of a retention sweep: at most `batchesPerCall` batches; `more` says whether to call again. */
    async sweep(input: RetentionSweepInput): Promise<SweepProgress> {
      const policy = retentionPolicy(input.policyId);
      if (!policy) {
        throw ApplicationFailure.nonRetryable(`no retention policy ${input.policyId}`, 'UnknownRetentionPolicy');
      }
      if (policy.table === null || policy.targets.length === 0) {
        throw ApplicationFailure.nonRetryable(
          `retention policy ${policy.id} has no table yet`,
          'InactiveRetentionPolicy',
        );
      }
      const maxAgeMs = input.maxAgeMs ?? policy.maxAgeMs;
      if (!Number.isFinite(maxAgeMs) || maxAgeMs < 0) {
        throw ApplicationFailure.nonRetryable('maxAgeMs must be a non-negative number', 'InvalidSweepInput');
      }
      const batch = positiveInt(input.batchSize, defaultPolicy.privacy.batchSize, 'batchSize');
      const maxBatches = positiveInt(input.batchesPerCall, DEFAULT_BATCHES_PER_CALL, 'batchesPerCall');
      const now = new Date();
      const values = { now, cutoff: new Date(now.getTime() - maxAgeMs) };
      const p: SweepProgress = {
        deleted: 0,
        tables: {},
        updated: 0,
        started: 0,
        batches: 0,
        lateByMs: null,
        late: false,
        oldestRemainingAgeMs: null,
        more: false,
      };

      // Lateness first: how long the oldest row past retention has been due.
      const oldestDue = await oldest(policy, dueWhere, values);
      if (oldestDue !== null) {
        p.lateByMs = Math.max(0, values.cutoff.getTime() - oldestDue);
        p.late = p.lateByMs > policy.everyMs + LATE_SLACK_MS;
      }

      switch (policy.action) {
        case 'delete':
          await deleteRows(policy, values, batch, maxBatches, p);
          break;
        case 'expire-exports':
          await expireExportFiles(values, p);
          break;
        case 'kick-deletions':
        case 'restart-purges':
          await startDeletions(policy, values, batch, maxBatches, p);
          break;
        default:
          throw ApplicationFailure.nonRetryable(
            // Only reachable for an action added to the policy list without its sweep here.
            `retention policy ${policy.id}: no sweep for action ${policy.action}`,
            'InactiveRetentionPolicy',
          );
      }

      // What is left that the policy looks at, for the record (its age stays under maxAgeMs + interval).
      const left = await oldest(
        policy,
        (t) => `${t.since} <= :now${t.condition ? ` and (${t.condition})` : ''}`,
        values,
      );
      p.oldestRemainingAgeMs = left === null ? null : now.getTime() - left;

      const fields = {
        policy: policy.id,
        deleted: p.deleted,
        tables: p.tables,
        updated: p.updated,
        started: p.started,
        batches: p.batches,
        lateByMs: p.lateByMs,
        more: p.more,
      };
      if (p.late) log.warn(fields, 'retention sweep ran late: rows stayed past retention for more than one interval');
      else log.info(fields, 'retention sweep');
      return p;
    },
  };
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
