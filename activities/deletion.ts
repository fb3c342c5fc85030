import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import {
  Connection,
  DeletionRequest,
  type DeletionRisk,
  type DeletionStatus,
  type StepResult,
  type StepStatus,
  User,
} from '../db/entities/index.ts';
import { reachedBy, type Subject } from '../domain/deletion-graph.ts';
import { defaultPolicy } from '../domain/policy.ts';
import { audit } from '../lib/audit.ts';
import type { Config } from '../lib/config.ts';
import type { Mailer } from '../lib/mailer.ts';
import { affected, jsonList, sqlOf } from '../lib/sql.ts';
import { createStorage, type ObjectStorage } from '../lib/storage.ts';
import type { PlatformId } from '../platforms/types.ts';
import { connectionInput, connectionUpdateFailure, disconnect } from '../workflows/connection.client.ts';
import type { ConnectionRef, DeletionPlan } from '../workflows/deletion.messages.ts';
import { beating } from './heartbeat.ts';

// The deletion workflow's side effects. Each step writes its evidence (rows per table, upstream
// answers) to deletion_steps and the audit chain; deleting rows and counting them happen in the same
// transaction, so a retried or re-run step adds exactly what it removed and never counts twice.

export interface DeletionDeps {
  orm: MikroORM;
  config: Config;
  temporal: Client;
  mailer: Mailer;
  /** Where storageKeyColumn objects live (defaults to the configured storage). */
  storage?: ObjectStorage;
}

const RISK_RANK: Record<DeletionRisk, number> = { on_track: 0, at_risk: 1, overdue: 2 };
const DONE: DeletionStatus[] = ['completed', 'completed_with_exceptions', 'cancelled', 'refused'];

/** Adds counts to a step's result (the step row is locked by the caller's transaction). */
function mergeCounts(into: Record<string, number> = {}, add: Record<string, number>): Record<string, number> {
  const out = { ...into };
  for (const [k, v] of Object.entries(add)) if (v) out[k] = (out[k] ?? 0) + v;
  return out;
}

export function createDeletionActivities(deps: DeletionDeps) {
  const { orm, config } = deps;
  const storage = deps.storage ?? createStorage(config);
  const em = () => orm.em.fork();
  const batch = defaultPolicy.privacy.batchSize;

  async function request(tx: EntityManager, requestId: string): Promise<DeletionRequest> {
    const r = await tx.findOne(DeletionRequest, requestId);
    if (!r) throw ApplicationFailure.nonRetryable(`deletion request ${requestId} does not exist`, 'UnknownRequest');
    return r;
  }

  /** Opens (or re-opens) a step; undefined when it already finished, so a re-run skips it. */
  async function openStep(tx: EntityManager, requestId: string, name: string): Promise<StepResult | undefined> {
    const [row] = await sqlOf(tx).execute<{ status: StepStatus; result: StepResult | null }[]>(
      `insert into deletion_steps (id, request_id, name, status, attempts, started_at)
         values (gen_random_uuid(), ?, ?, 'running', 1, now())
         on conflict (request_id, name) do update set attempts = deletion_steps.attempts + 1
         returning status, result`,
      [requestId, name],
    );
    if (!row || (row.status !== 'running' && row.status !== 'failed')) return undefined;
    return row.result ?? {};
  }

  async function closeStep(
    tx: EntityManager,
    req: DeletionRequest,
    name: string,
    status: StepStatus,
    result: StepResult,
    error: string | null = null,
  ): Promise<void> {
    await sqlOf(tx).execute(
      `update deletion_steps set status = ?, result = ?::jsonb, error = ?, finished_at = now()
         where request_id = ? and name = ?`,
      [status, JSON.stringify(result), error, req.id, name],
      'run',
    );
    const total = (counts?: Record<string, number>) => Object.values(counts ?? {}).reduce((a, b) => a + b, 0);
    audit(tx, {
      action: 'deletion.step',
      workspaceId: req.workspaceId,
      targetType: 'deletion_request',
      targetId: req.id,
      details: {
        step: name,
        status,
        rows: total(result.rows),
        anonymised: total(result.anonymised),
        objects: result.objects ?? 0,
      },
    });
  }

  /**
   * Active holds on anything a purge of this subject would touch. Conservative on purpose: a hold on
   * one connection keeps its whole workspace; a hold on a workspace keeps the accounts that belong to
   * it; a platform-user hold keeps that platform account's connections.
   */
  async function holdsFor(tx: EntityManager, subject: Subject, subjectId: string) {
    // The subjects the purge reaches, as (kind, id) pairs a hold may name; `s.id` is the subject.
    const touched: Record<Subject, string> = {
      connection: `select 'connection', s.id from s
        union all select 'workspace', c.workspace_id::text from connections c, s where c.id::text = s.id
        union all select 'platform_user', c.platform || ':' || x.v from connections c, s,
          lateral (values (c.external_id), (c.external_ids ->> 'userId'), (c.external_ids ->> 'appScopedId')) x(v)
          where c.id::text = s.id and x.v is not null`,
      workspace: `select 'workspace', s.id from s
        union all select 'connection', c.id::text from connections c, s where c.workspace_id::text = s.id
        union all select 'platform_user', c.platform || ':' || c.external_id from connections c, s where c.workspace_id::text = s.id
        union all select 'account', m.user_id::text from memberships m, s where m.workspace_id::text = s.id`,
      account: `select 'account', s.id from s
        union all select 'workspace', m.workspace_id::text from memberships m, s where m.user_id::text = s.id
        union all select 'connection', c.id::text from connections c join memberships m on m.workspace_id = c.workspace_id, s
          where m.user_id::text = s.id`,
      file: `select 'file', s.id from s`,
    };
    return sqlOf(tx).execute<{ id: string; kind: string; reason: string }[]>(
      `with s(id) as (select ?::text)
       select h.id, h.kind, h.reason from legal_holds h
        where h.released_at is null and (h.subject_kind, h.subject_id) in (${touched[subject]})`,
      [subjectId],
    );
  }

  /** Rows a subject still reaches, per table and action (the verification query). */
  async function remaining(tx: EntityManager, subject: Subject, subjectId: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const { table, reach } of reachedBy(subject)) {
      const [row] = await sqlOf(tx).execute<{ n: string }[]>(
        `select count(*)::text as n from ${table.table} where ${reach.where}`,
        [subjectId],
      );
      const n = Number(row?.n ?? 0);
      if (n) out[`${table.table}${reach.action === 'anonymise' ? ` (${reach.columns?.join(',')})` : ''}`] = n;
    }
    return out;
  }

  /** The revoke step of a connection that is already disconnected: its stored outcome is the evidence. */
  async function recordStoredRevoke(
    tx: EntityManager,
    req: DeletionRequest,
    conn: Connection | null,
    connectionId: string,
  ) {
    const name = `revoke:${connectionId}`;
    if (!(await openStep(tx, req.id, name))) return;
    await closeStep(
      tx,
      req,
      name,
      conn ? 'done' : 'skipped',
      conn
        ? {
            revocations: [
              {
                connectionId: conn.id,
                platform: conn.platform,
                outcome: conn.revokeOutcome ?? 'unknown',
                detail: conn.revokeDetail ?? null,
              },
            ],
          }
        : { note: 'the connection was already gone' },
    );
  }

  /**
   * Deletes (or anonymises) up to `budget` rows of one reach entry; files first, so a crash between
   * the two leaves rows whose files are gone, which a re-run finishes, never files nobody points at.
   */
  async function purgeBatch(
    tx: EntityManager,
    entry: ReturnType<typeof reachedBy>[number],
    subjectId: string,
    budget: number,
    add: { rows: Record<string, number>; anonymised: Record<string, number>; objects: number },
  ): Promise<number> {
    const { table, reach } = entry;
    const sql = sqlOf(tx);
    const pick = `select ctid from ${table.table} where ${reach.where} limit ${budget}`;
    if (reach.action === 'anonymise') {
      const sets = (reach.columns ?? []).map((c) => `${c} = null`).join(', ');
      const n = affected(
        await sql.execute(`update ${table.table} set ${sets} where ctid in (${pick})`, [subjectId], 'run'),
      );
      add.anonymised[table.table] = (add.anonymised[table.table] ?? 0) + n;
      return n;
    }
    const filePath = table.filePath ?? table.fileColumn;
    const storageKey = table.storageKey ?? table.storageKeyColumn;
    const prefix = table.storagePrefix;
    let target = pick;
    let params: unknown[] = [subjectId];
    if (filePath || storageKey || prefix) {
      // One choice of rows: their files and objects go, then exactly those rows.
      const rows = await sql.execute<{ t: string; p: string | null; k: string | null; x: string | null }[]>(
        `select ctid::text as t, ${filePath ?? 'null'} as p, ${storageKey ?? 'null'} as k, ${prefix ?? 'null'} as x
         from ${table.table} where ctid in (${pick}) for update`,
        [subjectId],
      );
      for (const r of rows) {
        if (r.p) {
          await rm(path.resolve(config.dataDir, r.p), { force: true });
          add.objects++;
        }
        if (r.k && (await storage.delete(r.k))) add.objects++;
        if (r.x) add.objects += await storage.deletePrefix(r.x);
      }
      target = 'select (jsonb_array_elements_text(?::jsonb))::tid';
      params = [jsonList(rows.map((r) => r.t))];
    }
    const n = affected(await sql.execute(`delete from ${table.table} where ctid in (${target})`, params, 'run'));
    add.rows[table.table] = (add.rows[table.table] ?? 0) + n;
    return n;
  }

  /**
   * Works through every table the subject reaches, in graph order, at most `batch` rows per
   * transaction; the step's counts grow in the same transaction as the deletes they count. A small
   * subject is one transaction from opening the step to closing it.
   */
  async function purgeSubject(requestId: string, subject: Subject, subjectId: string): Promise<StepResult> {
    const name = `purge:${subject}:${subjectId}`;
    const entries = reachedBy(subject);
    let next = 0;
    let opened = false;
    for (;;) {
      Context.current().heartbeat(name);
      const outcome = await em().transactional(async (tx) => {
        const req = await request(tx, requestId);
        if (!opened) {
          const prior = await openStep(tx, requestId, name);
          if (!prior) return { done: true, result: {} as StepResult };
          const holds = await holdsFor(tx, subject, subjectId);
          if (holds.length) {
            const retained = holds.map((h) => ({
              what: `${subject} ${subjectId}`,
              reason: `${h.kind} hold ${h.id}: ${h.reason}`,
            }));
            await closeStep(tx, req, name, 'held', { ...prior, retained });
            return { done: true, result: {} as StepResult };
          }
        }
        const add = { rows: {} as Record<string, number>, anonymised: {} as Record<string, number>, objects: 0 };
        let budget = batch;
        let at = next;
        while (at < entries.length && budget > 0) {
          const n = await purgeBatch(tx, entries[at] as (typeof entries)[number], subjectId, budget, add);
          if (n < budget) at++;
          budget -= n;
        }
        const result = await addToStep(tx, requestId, name, add);
        if (at < entries.length) return { done: false, at, result };
        await closeStep(tx, req, name, 'done', result);
        return { done: true, result };
      });
      if (outcome.done) return outcome.result;
      opened = true;
      next = outcome.at ?? next;
    }
  }

  async function addToStep(
    tx: EntityManager,
    requestId: string,
    name: string,
    add: { rows?: Record<string, number>; anonymised?: Record<string, number>; objects?: number },
  ): Promise<StepResult> {
    const sql = sqlOf(tx);
    const [row] = await sql.execute<{ result: StepResult | null }[]>(
      'select result from deletion_steps where request_id = ? and name = ? for update',
      [requestId, name],
    );
    const prior = row?.result ?? {};
    const next: StepResult = {
      ...prior,
      rows: mergeCounts(prior.rows, add.rows ?? {}),
      anonymised: mergeCounts(prior.anonymised, add.anonymised ?? {}),
      objects: (prior.objects ?? 0) + (add.objects ?? 0),
    };
    await sql.execute(
      'update deletion_steps set result = ?::jsonb where request_id = ? and name = ?',
      [JSON.stringify(next), requestId, name],
      'run',
    );
    return next;
  }

  /**
   * What deleting an account takes with it, as of now: workspaces it shares stay (its membership
   * goes); a workspace with nobody else goes with it; being the only owner of a shared one refuses
   * the request until ownership moves. Evaluated at the start and again when the grace ends, since
   * memberships change in between.
   */
  async function accountPlan(tx: EntityManager, userId: string) {
    const sql = sqlOf(tx);
    const rows = await sql.execute<{ workspace_id: string; role: string; others: string; other_owners: string }[]>(
      `select m.workspace_id, m.role,
              (select count(*) from memberships o where o.workspace_id = m.workspace_id and o.user_id <> m.user_id)::text as others,
              (select count(*) from memberships o where o.workspace_id = m.workspace_id and o.user_id <> m.user_id and o.role = 'owner')::text as other_owners
         from memberships m where m.user_id = ?::uuid`,
      [userId],
    );
    const blocking = rows.filter((r) => r.role === 'owner' && Number(r.others) > 0 && Number(r.other_owners) === 0);
    const workspaces = rows.filter((r) => Number(r.others) === 0).map((r) => r.workspace_id);
    const connections: ConnectionRef[] = [];
    for (const w of workspaces) {
      connections.push(
        ...(await sql.execute<ConnectionRef[]>(
          `select id as "connectionId", workspace_id as "workspaceId", platform from connections where workspace_id = ? order by created_at`,
          [w],
        )),
      );
    }
    return {
      refusal: blocking.length
        ? `sole owner of ${blocking.length} shared workspace(s); transfer ownership first`
        : undefined,
      workspaces,
      connections,
    };
  }

  /** Marks which connections still need an upstream revoke; the others' stored outcome is recorded now. */
  async function markRevokes(tx: EntityManager, req: DeletionRequest, refs: ConnectionRef[]) {
    for (const ref of refs) {
      const conn = await tx.findOne(Connection, ref.connectionId);
      ref.needsRevoke = conn !== null && conn.status !== 'disconnected';
      if (!ref.needsRevoke) await recordStoredRevoke(tx, req, conn, ref.connectionId);
    }
  }

  async function refuse(tx: EntityManager, req: DeletionRequest, reason: string) {
    req.status = 'refused';
    req.reason = reason;
    req.completedAt = new Date();
    // An account waiting out its grace is usable again: nothing first-party was purged.
    if (req.kind === 'account') {
      await tx.nativeUpdate(User, { id: req.subjectId, pendingDeletionId: req.id }, { pendingDeletionId: null });
    }
    audit(tx, {
      action: 'deletion.refused',
      workspaceId: req.workspaceId,
      targetType: 'deletion_request',
      targetId: req.id,
      details: { kind: req.kind },
    });
  }

  return {
    async beginDeletion(args: { requestId: string }): Promise<DeletionPlan> {
      return em().transactional(async (tx) => {
        const req = await request(tx, args.requestId);
        const base = {
          kind: req.kind,
          subjectId: req.subjectId,
          dueAt: req.dueAt.toISOString(),
          atRiskAt: new Date(
            Math.max(req.receivedAt.getTime(), req.dueAt.getTime() - config.privacy.atRiskBeforeMs),
          ).toISOString(),
          graceEndsAt: req.graceEndsAt?.toISOString() ?? null,
          connections: [] as ConnectionRef[],
          workspaces: [] as string[],
        };
        if (DONE.includes(req.status)) return { ...base, outcome: req.status === 'refused' ? 'refused' : 'finished' };
        const sql = sqlOf(tx);
        const refs = (where: string, param: string) =>
          sql.execute<{ connectionId: string; workspaceId: string; platform: string }[]>(
            `select id as "connectionId", workspace_id as "workspaceId", platform from connections where ${where} order by created_at`,
            [param],
          );
        let refusal: string | undefined;
        switch (req.kind) {
          case 'connection':
            base.connections = await refs('id::text = ?', req.subjectId);
            break;
          case 'platform_user': {
            const colon = req.subjectId.indexOf(':');
            const [platform, externalId] = [req.subjectId.slice(0, colon), req.subjectId.slice(colon + 1)];
            // Meta callbacks name the app-scoped user id: a Facebook connection keeps it as
            // external_ids.userId (its external_id is the Page), an Instagram one as
            // external_ids.appScopedId (its external_id is the professional account).
            base.connections = await sql.execute(
              `select id as "connectionId", workspace_id as "workspaceId", platform from connections
                where platform = ? and (external_id = ? or external_ids ->> 'userId' = ? or external_ids ->> 'appScopedId' = ?)
                order by created_at`,
              [platform, externalId, externalId, externalId],
            );
            break;
          }
          case 'workspace':
            base.connections = await refs('workspace_id::text = ?', req.subjectId);
            base.workspaces = [req.subjectId];
            break;
          case 'account': {
            const account = await accountPlan(tx, req.subjectId);
            refusal = account.refusal;
            base.workspaces = account.workspaces;
            base.connections = account.connections;
            break;
          }
          case 'file':
            break;
        }
        if (refusal) {
          await refuse(tx, req, refusal);
          return { ...base, outcome: 'refused' };
        }
        // Connections already disconnected need no upstream call: their stored outcome is recorded now.
        await markRevokes(tx, req, base.connections);
        if (req.status === 'received') {
          req.status = 'in_progress';
          req.startedAt = new Date();
          audit(tx, {
            action: 'deletion.started',
            workspaceId: req.workspaceId,
            targetType: 'deletion_request',
            targetId: req.id,
            details: { kind: req.kind, channel: req.channel, rule: req.deadlineRule },
          });
        }
        // An account's platform data keeps the platform's own clock (YouTube: 7 days), though the
        // request as a whole is due after the grace.
        if (req.kind === 'account' && base.connections.length) {
          const due = Math.min(req.receivedAt.getTime() + config.privacy.platformDeadlineMs, req.dueAt.getTime());
          const atRisk = Math.max(req.receivedAt.getTime(), due - config.privacy.atRiskBeforeMs);
          return {
            ...base,
            outcome: 'proceed',
            platformDueAt: new Date(due).toISOString(),
            platformAtRiskAt: new Date(atRisk).toISOString(),
          };
        }
        return { ...base, outcome: 'proceed' };
      });
    },

    /** Account, when the grace ends: what to purge as of now, or a refusal that gives the account back. */
    async replanAccount(args: {
      requestId: string;
    }): Promise<Pick<DeletionPlan, 'outcome' | 'workspaces' | 'connections'>> {
      return em().transactional(async (tx) => {
        const req = await request(tx, args.requestId);
        if (DONE.includes(req.status)) return { outcome: 'finished', workspaces: [], connections: [] };
        const plan = await accountPlan(tx, req.subjectId);
        if (plan.refusal) {
          await refuse(tx, req, `${plan.refusal} (found when the grace ended)`);
          return { outcome: 'refused', workspaces: [], connections: [] };
        }
        await markRevokes(tx, req, plan.connections);
        return { outcome: 'proceed', workspaces: plan.workspaces, connections: plan.connections };
      });
    },

    /** Account: sessions and API tokens die now; sign-in is refused until a restore. */
    async closeAccess(args: { requestId: string }): Promise<void> {
      await em().transactional(async (tx) => {
        const req = await request(tx, args.requestId);
        const prior = await openStep(tx, req.id, 'access');
        if (!prior) return;
        const sql = sqlOf(tx);
        const sessions = affected(
          await sql.execute('delete from sessions where user_id = ?::uuid', [req.subjectId], 'run'),
        );
        const tokens = affected(
          await sql.execute('delete from api_tokens where user_id = ?::uuid', [req.subjectId], 'run'),
        );
        await sql.execute(
          'update users set pending_deletion_id = ? where id = ?::uuid',
          [req.id, req.subjectId],
          'run',
        );
        req.status = 'in_grace';
        await closeStep(tx, req, 'access', 'done', { rows: { sessions, api_tokens: tokens } });
      });
    },

    /** Upstream revoke through the connection's own workflow (the only owner of its tokens). */
    async revokeConnection(args: { requestId: string; connectionId: string }): Promise<void> {
      const name = `revoke:${args.connectionId}`;
      const setup = await em().transactional(async (tx) => {
        const req = await request(tx, args.requestId);
        // Opened here and closed after the revoke: a retry repeats the revoke, a finished step is skipped.
        if (!(await openStep(tx, req.id, name))) return undefined;
        return { req, conn: await tx.findOne(Connection, args.connectionId) };
      });
      if (!setup) return;
      const { req, conn } = setup;
      let outcome: { outcome: string; detail: string | null } | undefined;
      if (conn && conn.status !== 'disconnected') {
        try {
          const result = await beating(() =>
            disconnect(
              deps.temporal,
              config.taskQueues.core,
              connectionInput(conn.id, conn.workspace, conn.platform as PlatformId),
              req.requestedBy ?? null,
            ),
          );
          outcome = { outcome: result.outcome, detail: `attempts: ${result.attempts}` };
        } catch (err) {
          if (connectionUpdateFailure(err) !== 'ConnectionDisconnected') throw err;
        }
      }
      await em().transactional(async (tx) => {
        const fresh = await tx.findOne(Connection, args.connectionId);
        const current = await request(tx, req.id);
        if (!fresh || !outcome) return recordStoredRevoke(tx, current, fresh, args.connectionId);
        await closeStep(tx, current, name, 'done', {
          revocations: [{ connectionId: fresh.id, platform: fresh.platform, ...outcome }],
        });
      });
    },

    async purge(args: { requestId: string; subject: Subject; subjectId: string }): Promise<StepResult> {
      return purgeSubject(args.requestId, args.subject, args.subjectId);
    },

    /**
     * The post-delete check, as production code: every purged subject must reach zero rows. It only
     * counts; leftovers (a row written while the purge ran) go back to the workflow, which purges
     * those subjects again and checks once more.
     */
    async verifyDeletion(args: { requestId: string }): Promise<{ subject: Subject; subjectId: string }[]> {
      return em().transactional(async (tx) => {
        const req = await request(tx, args.requestId);
        const steps = await sqlOf(tx).execute<{ name: string }[]>(
          `select name from deletion_steps where request_id = ? and name like 'purge:%' and status = 'done'`,
          [req.id],
        );
        const left: Record<string, number> = {};
        const again: { subject: Subject; subjectId: string }[] = [];
        for (const { name } of steps) {
          const [, subject, subjectId] = name.split(':') as [string, Subject, string];
          const counts = await remaining(tx, subject, subjectId);
          if (!Object.keys(counts).length) continue;
          again.push({ subject, subjectId });
          for (const [table, n] of Object.entries(counts)) left[`${subject}:${table}`] = n;
        }
        await openStep(tx, req.id, 'verify');
        await closeStep(tx, req, 'verify', again.length ? 'failed' : 'done', { remaining: left });
        if (again.length) {
          // Reopen them, so the next purge runs instead of being skipped as done.
          await sqlOf(tx).execute(
            `update deletion_steps set status = 'running' where request_id = ? and (name like 'purge:%' and status = 'done' and name = any(?::text[]) or name = 'verify')`,
            [req.id, `{${again.map((a) => `purge:${a.subject}:${a.subjectId}`).join(',')}}`],
            'run',
          );
        }
        return again;
      });
    },

    async finishDeletion(args: { requestId: string }): Promise<DeletionStatus> {
      return em().transactional(async (tx) => {
        const req = await request(tx, args.requestId);
        if (DONE.includes(req.status)) return req.status;
        const [row] = await sqlOf(tx).execute<{ exceptions: string }[]>(
          `select count(*)::text as exceptions from deletion_steps where request_id = ?
             and (status = 'held' or result -> 'revocations' @> '[{"outcome":"revoke_failed"}]')`,
          [req.id],
        );
        req.status = Number(row?.exceptions ?? 0) > 0 ? 'completed_with_exceptions' : 'completed';
        req.completedAt = new Date();
        audit(tx, {
          action: 'deletion.completed',
          workspaceId: req.workspaceId,
          targetType: 'deletion_request',
          targetId: req.id,
          details: { kind: req.kind, status: req.status, late: req.completedAt > req.dueAt, risk: req.risk },
        });
        return req.status;
      });
    },

    async markRisk(args: { requestId: string; risk: DeletionRisk }): Promise<void> {
      await em().transactional(async (tx) => {
        const req = await request(tx, args.requestId);
        if (DONE.includes(req.status) || RISK_RANK[args.risk] <= RISK_RANK[req.risk as DeletionRisk]) return;
        req.risk = args.risk;
        const kind = args.risk === 'overdue' ? 'deletion.overdue' : 'deletion.at_risk';
        await sqlOf(tx).execute(
          `insert into compliance_alerts (id, request_id, kind, created_at) values (gen_random_uuid(), ?, ?, now())
             on conflict (request_id, kind) do nothing`,
          [req.id, kind],
          'run',
        );
        audit(tx, {
          action: kind,
          workspaceId: req.workspaceId,
          targetType: 'deletion_request',
          targetId: req.id,
          details: { kind: req.kind, dueAt: req.dueAt.toISOString() },
        });
        // Mailed before the commit: a failed send rolls the alert back and the retry sends again
        // (at least once, never silently lost).
        if (config.complianceEmail) {
          const what = args.risk.replace('_', ' ');
          await deps.mailer.send({
            userId: 'compliance',
            to: config.complianceEmail,
            subject: `Deletion request ${args.requestId} is ${what}`,
            text: `Deletion request ${args.requestId} is ${what}. See /v1/compliance/deletion-requests/${args.requestId}.`,
          });
        }
      });
    },

    async setStatus(args: { requestId: string; status: DeletionStatus }): Promise<void> {
      await em().transactional(async (tx) => {
        const req = await request(tx, args.requestId);
        if (!DONE.includes(req.status)) req.status = args.status;
      });
    },

    /** A restore within the grace: the account is usable again and nothing first-party was purged. */
    async cancelDeletion(args: { requestId: string; byUserId: string | null }): Promise<void> {
      await em().transactional(async (tx) => {
        const req = await request(tx, args.requestId);
        if (req.status === 'cancelled') return;
        req.status = 'cancelled';
        req.cancelledAt = new Date();
        await tx.nativeUpdate(User, { id: req.subjectId, pendingDeletionId: req.id }, { pendingDeletionId: null });
        audit(tx, {
          action: 'deletion.cancelled',
          actorId: args.byUserId,
          targetType: 'deletion_request',
          targetId: req.id,
          details: { kind: req.kind },
        });
      });
    },
  };
}

export type DeletionActivities = ReturnType<typeof createDeletionActivities>;
