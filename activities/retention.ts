import type { MikroORM } from '@mikro-orm/core';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import pino from 'pino';
import { DAY, defaultPolicy, MINUTE } from '../domain/policy.ts';
import { type RetentionPolicy, type RetentionTarget, retentionPolicy } from '../domain/retention.ts';
import type { Config } from '../lib/config.ts';
import { expireExports } from '../lib/export.ts';
import { loggerOptions } from '../lib/logger.ts';
import { affected, sqlOf } from '../lib/sql.ts';
import { startDeletion } from '../workflows/deletion.client.ts';
import { deletionWorkflowId } from '../workflows/deletion.messages.ts';
import type { RetentionSweepInput, SweepProgress } from '../workflows/retention.messages.ts';
import { syncNow } from '../workflows/sync.client.ts';
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
/** How long past 30 days an active YouTube connection may stay unverified before its data goes. */
const YOUTUBE_VERIFY_GRACE_MS = 2 * DAY;
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

  /**
   * First-party analytics at 24 months: per connection, the rows of whole months whose start is past
   * the cutoff become monthly rows — daily series as the sum of each day's latest value, running
   * totals as the sum of their changes over all posts (which adds up whichever posts moved) — and
   * the per-post, per-day rows go. A running total's newest reading stays (it is the current value,
   * and without it the next pass would write it again). Never YouTube (R-YT-5).
   */
  async function aggregateAnalytics(
    values: { cutoff: Date; now: Date },
    batch: number,
    maxBatches: number,
    p: SweepProgress,
  ) {
    const before = `(date_trunc('month', ?::timestamptz at time zone 'UTC') + interval '1 month')::date`;
    // A running total's reading goes only once a newer reading of the same key exists.
    const due = `platform <> 'youtube' and coalesce(day, (observed_at at time zone 'UTC')::date) < ${before}
      and (day is not null or exists (
        select 1 from metric_points n where n.connection_id = metric_points.connection_id
          and n.object_kind = metric_points.object_kind and n.object_id = metric_points.object_id
          and n.metric = metric_points.metric and n.day is null
          and (n.observed_at, n.id) > (metric_points.observed_at, metric_points.id)))`;
    for (;;) {
      if (p.batches >= maxBatches) {
        p.more = true;
        return;
      }
      const conns = await db().execute<{ connection_id: string }[]>(
        `select distinct connection_id from metric_points where ${due} limit ${batch}`,
        [values.cutoff],
      );
      if (!conns.length) return;
      for (const { connection_id } of conns) {
        Context.current().heartbeat({ aggregated: p.deleted });
        const n = await orm.em.fork().transactional(async (tx) => {
          const [row] = await sqlOf(tx).execute<{ n: number }[]>(
            `with old as (
               delete from metric_points where connection_id = ? and ${due} returning *),
             daily as (
               select distinct on (object_kind, object_id, metric, day) workspace_id, platform, object_kind, metric,
                 'daily' as series, date_trunc('month', day)::date as month, value
               from old where day is not null order by object_kind, object_id, metric, day, observed_at desc, id desc),
             changes as (
               select workspace_id, platform, object_kind, metric, 'change' as series,
                 date_trunc('month', observed_at at time zone 'UTC')::date as month, coalesce(delta, value) as value
               from old where day is null),
             merged as (
               insert into metric_monthly (workspace_id, connection_id, platform, object_kind, metric, series, month, value, samples)
               select workspace_id, ?, platform, object_kind, metric, series, month, sum(value), count(*)
               from (select * from daily union all select * from changes) a
               group by workspace_id, platform, object_kind, metric, series, month
               on conflict (connection_id, object_kind, metric, series, month)
               do update set value = metric_monthly.value + excluded.value, samples = metric_monthly.samples + excluded.samples)
             select count(*)::int as n from old`,
            [connection_id, values.cutoff, connection_id],
          );
          return row?.n ?? 0;
        });
        p.deleted += n;
        p.tables.metric_points = (p.tables.metric_points ?? 0) + n;
      }
      p.batches++;
    }
  }

  /**
   * YouTube's 30-day rules: rows the platform no longer showed for 30 days go (the sync refreshes
   * what it still shows); a connection not verified for 30 days gets a pass now if it is active,
   * and loses all its YouTube data if its authorisation can no longer be used.
   */
  async function refreshOrDeleteYouTube(
    policy: RetentionPolicy,
    values: { cutoff: Date; now: Date },
    batch: number,
    maxBatches: number,
    p: SweepProgress,
  ) {
    await deleteRows(policy, values, batch, maxBatches, p);
    if (p.more) return;
    const stale = await db().execute<{ id: string; status: string; workspace_id: string; verified: Date }[]>(
      `select c.id, c.status, c.workspace_id, coalesce(s.verified_at, c.created_at) as verified
       from connections c left join sync_states s on s.connection_id = c.id
       where c.platform = 'youtube' and coalesce(s.verified_at, c.created_at) < ? order by c.id`,
      [values.cutoff],
    );
    for (const c of stale) {
      Context.current().heartbeat({ connection: c.id });
      // An active connection gets a pass to re-verify; one that still has not verified after the
      // grace (its passes keep failing) is treated like a lost grant.
      const overdue = new Date(c.verified).getTime() < values.cutoff.getTime() - YOUTUBE_VERIFY_GRACE_MS;
      if (c.status === 'active' && !overdue) {
        await syncNow(temporal, config.taskQueues.core, {
          connectionId: c.id,
          workspaceId: c.workspace_id,
          platform: 'youtube',
        });
        p.started++;
        continue;
      }
      await orm.em.fork().transactional(async (tx) => {
        for (const table of ['inbox_messages', 'inbox_threads', 'metric_points', 'synced_media', 'sync_cursors']) {
          const n = affected(await sqlOf(tx).execute(`delete from ${table} where connection_id = ?`, [c.id], 'run'));
          p.deleted += n;
          p.tables[table] = (p.tables[table] ?? 0) + n;
        }
      });
      log.info({ policy: policy.id, connectionId: c.id }, 'YouTube data of an unverifiable connection deleted');
    }
    p.batches++;
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
        case 'aggregate':
          await aggregateAnalytics(values, batch, maxBatches, p);
          break;
        case 'refresh-or-delete':
          await refreshOrDeleteYouTube(policy, values, batch, maxBatches, p);
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
