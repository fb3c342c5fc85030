import { LockMode, type MikroORM } from '@mikro-orm/core';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import {
  type ApprovalState,
  Connection,
  type ConnectionStatus,
  LIVE_TARGET_STATUSES,
  PostTarget,
  PublishAttempt,
  type TargetStatus,
} from '../db/entities/index.ts';
import { defaultPolicy } from '../domain/policy.ts';
import { audit } from '../lib/audit.ts';
import type { Config } from '../lib/config.ts';
import { affected, sqlOf } from '../lib/sql.ts';
import { DUPLICATE_CODE, PlatformError } from '../platforms/errors.ts';
import type { Adapters } from '../platforms/index.ts';
import type {
  PlatformId,
  PublishAccount,
  PublishContent,
  PublishedPost,
  Publisher,
  PublishHandle,
  TokenSet,
} from '../platforms/types.ts';
import { connectionInput, refreshNow } from '../workflows/connection.client.ts';
import { schedulePublish } from '../workflows/publish.client.ts';
import {
  publishStateQuery,
  publishWorkflowId,
  type ReconcileInput,
  type ReconcileResult,
} from '../workflows/publish.messages.ts';
import { readConnectionTokens } from './connections.ts';
import { beating } from './heartbeat.ts';

// Publishing activities. The publish workflow calls them step by step; each reads what it needs
// from PostgreSQL (content, handles, tokens) and answers with a small outcome the workflow can act
// on, so captions, tokens and platform handles never enter workflow history.
//
// Exactly once: every platform write is recorded (publish_attempts) before it is sent. A commit
// whose answer was lost (timeout, dropped connection, 5xx) or whose worker died leaves its attempt
// `started` or `unknown`; the next try asks the platform's truth signal before sending anything.

export interface PublishDeps {
  orm: MikroORM;
  config: Config;
  adapters: Adapters;
  temporal: Client;
}

export type PublishPlan =
  | { status: 'gone' }
  | {
      status: TargetStatus;
      dueAt: string | null;
      scheduleVersion: number;
      requiresApproval: boolean;
      approval: ApprovalState;
      connection: ConnectionStatus;
      /** Whether there is work to do ahead of the due time (media to upload, a container to make). */
      prepareAhead: boolean;
    };

/** What one step came to; the workflow decides what follows. */
export type StepOutcome =
  | { outcome: 'ok' }
  /** Processing (container, upload, moderation): look again later. */
  | { outcome: 'pending'; checkAfterMs: number }
  /** Committed; the post becomes public after processing (settle). Internal to advancePublish. */
  | { outcome: 'settling' }
  | { outcome: 'published' }
  /** The prepared handle cannot be used (expired, or the content changed): prepare again. Internal. */
  | { outcome: 'reprepare' }
  /** Throttled or capped: wait and try the same step again (waitMs 0: the platform gave no time). */
  | { outcome: 'wait'; why: 'rate_limit' | 'publish_cap'; waitMs: number }
  | { outcome: 'token'; kind: 'token_expired' | 'token_revoked' }
  /** For good; reason is a short code, the platform's words are kept in the attempt row. */
  | { outcome: 'failed'; reason: string };

/** Prepared handles (containers, sessions) that may expire for one content version before the post fails. */
const MAX_PREPARES = 4;

type Phase = 'prepare' | 'check' | 'commit' | 'settle';
/**
 * How long after a commit its absence from the platform's lists is believed. Lists lag the write;
 * committing again too soon is how schedulers post twice.
 */
const VERIFY_GRACE_MS = defaultPolicy.publish.verifyGraceMs;

interface Loaded {
  target: PostTarget;
  /** The post's contentVersion when loaded. */
  contentVersion: number;
  content: PublishContent;
  account: PublishAccount;
  tokens: TokenSet;
  publisher: Publisher;
}

/** A platform's answer as a step outcome; transient trouble is thrown for the retry policy. */
function outcomeOf(err: unknown): StepOutcome {
  if (!(err instanceof PlatformError)) throw err;
  switch (err.kind) {
    case 'rate_limited':
      return { outcome: 'wait', why: 'rate_limit', waitMs: err.retryAfterMs ?? 0 };
    case 'token_expired':
    case 'token_revoked':
      return { outcome: 'token', kind: err.kind };
    case 'permanent':
      return { outcome: 'failed', reason: err.code === DUPLICATE_CODE ? 'duplicate' : 'refused' };
    default:
      // transient and outcome_unknown: the retry policy backs off; an unknown commit is verified first.
      // A fixed message: the platform's words (URLs, captions) stay out of workflow history.
      throw ApplicationFailure.retryable(`${err.platform}: ${err.kind}`, err.kind, { code: err.code ?? null });
  }
}

const short = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 500);

export function createPublishActivities({ orm, config, adapters, temporal }: PublishDeps) {
  const em = () => orm.em.fork();

  async function load(targetId: string): Promise<Loaded | StepOutcome> {
    const db = em();
    const target = await db.findOne(PostTarget, targetId, { populate: [] });
    if (!target) return { outcome: 'failed', reason: 'deleted' };
    // The post, its variant for this platform (or the default) and the connection, in one round trip.
    const [row] = await sqlOf(db).execute<
      {
        content_version: number;
        caption: string | null;
        media: PublishContent['media'] | null;
        options: PublishContent['options'] | null;
        external_id: string | null;
        external_ids: Record<string, string> | null;
        connection_status: ConnectionStatus | null;
      }[]
    >(
      `select p.content_version, v.caption, v.media, v.options,
              c.external_id, c.external_ids, c.status as connection_status
         from posts p
         left join lateral (select caption, media, options from post_variants
                             where post_id = p.id and platform in (?, 'default')
                             order by (platform = 'default') limit 1) v on true
         left join connections c on c.id = ?
        where p.id = ?`,
      [target.platform, target.connection, target.post],
    );
    if (!row) return { outcome: 'failed', reason: 'deleted' };
    if (row.caption === null) return { outcome: 'failed', reason: 'no_content' };
    if (
      !row.connection_status ||
      row.connection_status === 'disconnected' ||
      row.connection_status === 'disconnecting'
    ) {
      return { outcome: 'failed', reason: 'connection_removed' };
    }
    const publisher = adapters[target.platform as PlatformId].publisher;
    if (!publisher) return { outcome: 'failed', reason: 'platform_cannot_publish' };
    const tokens = await readConnectionTokens(orm, config, target.connection);
    if (!tokens) return { outcome: 'token', kind: 'token_revoked' };
    return {
      target,
      contentVersion: row.content_version,
      publisher,
      tokens,
      content: { caption: row.caption, media: row.media ?? [], options: row.options ?? {} },
      account: { externalId: row.external_id ?? '', ids: row.external_ids ?? {} },
    };
  }

  const isOutcome = (value: Loaded | StepOutcome): value is StepOutcome => 'outcome' in value;

  async function attempts(targetId: string): Promise<PublishAttempt[]> {
    return em().find(PublishAttempt, { target: targetId }, { orderBy: { startedAt: 'desc', id: 'desc' } });
  }

  /** Records an attempt before its call; the unique key makes a double record impossible. */
  async function recordAttempt(
    target: PostTarget,
    step: 'prepare' | 'commit',
    contentVersion: number,
    handle: PublishHandle | null,
  ): Promise<string> {
    const db = em();
    const n = (await db.count(PublishAttempt, { target: target.id, step })) + 1;
    const attempt = db.create(PublishAttempt, {
      workspace: target.workspace,
      target: target.id,
      step,
      idempotencyKey: `${target.id}:${step}:${n}`,
      contentVersion,
      state: 'started',
      handle,
    });
    await db.flush();
    return attempt.id;
  }

  async function settleAttempt(id: string, fields: Partial<PublishAttempt>): Promise<void> {
    await em().nativeUpdate(PublishAttempt, id, { ...fields, finishedAt: new Date() });
  }

  async function failAttempt(id: string, err: unknown): Promise<void> {
    await settleAttempt(id, {
      state: 'failed',
      errorKind: err instanceof PlatformError ? (err.code === DUPLICATE_CODE ? 'duplicate' : err.kind) : 'error',
      errorMessage: short(err),
    });
  }

  /** The post is out: attempt and target in one transaction, so the projection cannot lag the fact. */
  async function recordPublished(
    target: PostTarget,
    attemptId: string,
    state: 'succeeded' | 'landed',
    post: PublishedPost,
    contentVersion: number,
  ): Promise<StepOutcome> {
    await em().transactional(async (tx) => {
      const sql = sqlOf(tx);
      await sql.execute(
        `update publish_attempts set state = ?, platform_post_id = ?, finished_at = now() where id = ?`,
        [state, post.postId.slice(0, 200), attemptId],
        'run',
      );
      const changed = await sql.execute(
        `update post_targets set status = 'published', status_reason = null, platform_post_id = ?, permalink = ?,
           published_at = now(), published_content_version = ?, updated_at = now()
         where id = ? and status <> 'published'`,
        [post.postId.slice(0, 200), post.permalink?.slice(0, 500) ?? null, contentVersion, target.id],
        'run',
      );
      if (affected(changed)) {
        audit(tx, {
          action: 'publish.published',
          workspaceId: target.workspace,
          targetType: 'post_target',
          targetId: target.id,
          details: { platform: target.platform, verified: state === 'landed' },
        });
      }
    });
    return { outcome: 'published' };
  }

  /** The latest prepare that can still be used for this content, if any. */
  function usablePrepare(list: PublishAttempt[], contentVersion: number): PublishAttempt | undefined {
    const latest = list.find((a) => a.step === 'prepare');
    return latest?.state === 'succeeded' && latest.contentVersion === contentVersion ? latest : undefined;
  }

  /** Marks a prepared handle unusable (expired container or session), so the next step prepares anew. */
  async function dropPrepared(list: PublishAttempt[], reason: string): Promise<void> {
    const latest = list.find((a) => a.step === 'prepare' && a.state === 'succeeded');
    if (latest) await settleAttempt(latest.id, { state: 'failed', errorKind: 'expired', errorMessage: reason });
  }

  /** Where a commit whose answer we did not see stands, asked of the platform. */
  async function resolveUnknown(
    ctx: Loaded,
    list: PublishAttempt[],
    commit: PublishAttempt,
  ): Promise<StepOutcome | undefined> {
    // From the first commit that may have landed: a later one may be a duplicate refusal of it.
    const since = new Date(
      Math.min(
        commit.startedAt.getTime(),
        ...list.filter((a) => a.step === 'commit' && a.state !== 'failed').map((a) => a.startedAt.getTime()),
      ),
    );
    let verdict: Awaited<ReturnType<Publisher['verify']>>;
    try {
      verdict = await beating(() =>
        ctx.publisher.verify(ctx.tokens, ctx.account, ctx.content, commit.handle ?? {}, since),
      );
    } catch (err) {
      return outcomeOf(err);
    }
    if (verdict.landed === true) {
      if (verdict.processing) {
        await settleAttempt(commit.id, { state: 'landed' });
        return { outcome: 'settling' };
      }
      return recordPublished(ctx.target, commit.id, 'landed', verdict.post, commit.contentVersion);
    }
    if (verdict.landed === 'unknown') return { outcome: 'pending', checkAfterMs: verdict.checkAfterMs };
    // Lists (timelines, published posts) can lag the write: "not there" counts only after a grace.
    const sinceStart = Date.now() - commit.startedAt.getTime();
    if (sinceStart < VERIFY_GRACE_MS) return { outcome: 'pending', checkAfterMs: VERIFY_GRACE_MS - sinceStart };
    await settleAttempt(commit.id, { state: 'not_landed' });
    if (!verdict.handleUsable) {
      await dropPrepared(list, 'the platform no longer accepts the prepared upload');
      return { outcome: 'reprepare' };
    }
    return undefined;
  }

  /** Uploads media, opens sessions, creates containers: safe to repeat, nothing becomes public. */
  async function prepare(ctx: Loaded): Promise<StepOutcome> {
    const targetId = ctx.target.id;
    const list = await attempts(targetId);
    if (usablePrepare(list, ctx.contentVersion)) return { outcome: 'ok' };
    if (list.filter((a) => a.step === 'prepare').length >= MAX_PREPARES)
      return { outcome: 'failed', reason: 'media_expired' };
    const id = await recordAttempt(ctx.target, 'prepare', ctx.contentVersion, null);
    try {
      const handle = await beating(() => ctx.publisher.prepare(ctx.tokens, ctx.account, ctx.content));
      await settleAttempt(id, { state: 'succeeded', handle });
      return { outcome: 'ok' };
    } catch (err) {
      await failAttempt(id, err);
      return outcomeOf(err);
    }
  }

  /** Processing of the prepared media (containers, uploads) before the commit may go. */
  async function check(ctx: Loaded): Promise<StepOutcome> {
    const targetId = ctx.target.id;
    const list = await attempts(targetId);
    const prepared = usablePrepare(list, ctx.contentVersion);
    if (!prepared) return { outcome: 'reprepare' };
    try {
      const state = await beating(() => ctx.publisher.check(ctx.tokens, ctx.account, prepared.handle ?? {}));
      if (state.state === 'ready') return { outcome: 'ok' };
      if (state.state === 'pending') return { outcome: 'pending', checkAfterMs: state.checkAfterMs };
      await settleAttempt(prepared.id, { state: 'failed', errorKind: 'processing', errorMessage: state.reason });
      // An expired container or session is prepared again; a refused file fails the post.
      return /expired/i.test(state.reason)
        ? { outcome: 'reprepare' }
        : { outcome: 'failed', reason: 'processing_failed' };
    } catch (err) {
      return outcomeOf(err);
    }
  }

  /** The one irreversible write, exactly once. */
  async function commit(ctx: Loaded): Promise<StepOutcome> {
    const targetId = ctx.target.id;
    const list = await attempts(targetId);
    const lastCommit = list.find((a) => a.step === 'commit');
    if (lastCommit?.state === 'succeeded' || lastCommit?.state === 'landed') {
      if (lastCommit.platformPostId) {
        return recordPublished(
          ctx.target,
          lastCommit.id,
          lastCommit.state,
          { postId: lastCommit.platformPostId },
          lastCommit.contentVersion,
        );
      }
      return { outcome: 'settling' };
    }
    // A commit that may have landed (lost answer, or a worker that died mid-call): ask first.
    if (lastCommit?.state === 'started' || lastCommit?.state === 'unknown') {
      const resolved = await resolveUnknown(ctx, list, lastCommit);
      if (resolved) return resolved;
    }
    const prepared = usablePrepare(list, ctx.contentVersion);
    if (!prepared) return { outcome: 'reprepare' };
    try {
      const { waitMs } = await beating(() => ctx.publisher.capacity(ctx.tokens, ctx.account));
      if (waitMs > 0) return { outcome: 'wait', why: 'publish_cap', waitMs };
    } catch (err) {
      return outcomeOf(err);
    }
    // Still ours to publish? The API refuses changes once a target is publishing; this is a backstop.
    const current = await em().findOne(PostTarget, targetId);
    if (current?.status !== 'publishing') return { outcome: 'failed', reason: 'cancelled' };
    const handle = prepared.handle ?? {};
    const id = await recordAttempt(ctx.target, 'commit', prepared.contentVersion, handle);
    // Only the platform call is inside the try: a failure to record a success must not be taken
    // for a refusal (the attempt then stays `started` and the next try asks the platform).
    let result: Awaited<ReturnType<Publisher['commit']>>;
    try {
      result = await beating(() => ctx.publisher.commit(ctx.tokens, ctx.account, ctx.content, handle));
    } catch (err) {
      // Refusals the platform stated are known not to have landed; anything else may have.
      const refused =
        err instanceof PlatformError &&
        ['rate_limited', 'token_expired', 'token_revoked', 'permanent'].includes(err.kind);
      if (!refused) {
        await settleAttempt(id, { state: 'unknown', errorKind: 'outcome_unknown', errorMessage: short(err) });
        throw ApplicationFailure.retryable(`${ctx.target.platform}: commit outcome unknown`, 'outcome_unknown');
      }
      // A duplicate refusal after an ambiguous attempt is the platform saying the first one landed.
      const ambiguous = list.some((a) => a.step === 'commit' && a.state !== 'failed');
      if (err.code === DUPLICATE_CODE && ambiguous) {
        if (err.existingId) {
          return recordPublished(ctx.target, id, 'landed', { postId: err.existingId }, prepared.contentVersion);
        }
        await settleAttempt(id, { state: 'unknown', errorKind: 'duplicate', errorMessage: short(err) });
        throw ApplicationFailure.retryable(`${ctx.target.platform}: duplicate; looking the post up`, 'outcome_unknown');
      }
      await failAttempt(id, err);
      return outcomeOf(err);
    }
    if (result.done) return recordPublished(ctx.target, id, 'succeeded', result.post, prepared.contentVersion);
    await settleAttempt(id, { state: 'succeeded', handle: result.handle });
    return { outcome: 'settling' };
  }

  /** After a commit that was accepted but not yet public: has the platform finished? */
  async function settle(ctx: Loaded): Promise<StepOutcome> {
    const targetId = ctx.target.id;
    const last = (await attempts(targetId)).find((a) => a.step === 'commit');
    if (!last || (last.state !== 'succeeded' && last.state !== 'landed')) return { outcome: 'reprepare' };
    try {
      const state = await beating(() => ctx.publisher.settle(ctx.tokens, ctx.account, last.handle ?? {}));
      if (state.state === 'pending') return { outcome: 'pending', checkAfterMs: state.checkAfterMs };
      if (state.state === 'ready')
        return recordPublished(ctx.target, last.id, last.state, state.post, last.contentVersion);
      await settleAttempt(last.id, {
        state: 'failed',
        errorKind: 'processing',
        errorMessage: state.reason.slice(0, 500),
      });
      return { outcome: 'failed', reason: 'processing_failed' };
    } catch (err) {
      return outcomeOf(err);
    }
  }

  /** Where a publish stands, from its attempts: an open commit is resolved before anything else. */
  async function phaseOf(targetId: string): Promise<Phase> {
    const last = (await attempts(targetId)).find((a) => a.step === 'commit');
    if (last?.state === 'started' || last?.state === 'unknown') return 'commit';
    if (last?.state === 'succeeded' || last?.state === 'landed') return last.platformPostId ? 'commit' : 'settle';
    return 'prepare';
  }

  const steps: Record<Phase, (ctx: Loaded) => Promise<StepOutcome>> = { prepare, check, commit, settle };

  return {
    /** The plan as PostgreSQL holds it; read at every wake, so edits and deletes are always seen. */
    async planPublish({ targetId }: { targetId: string }): Promise<PublishPlan> {
      const rows = await sqlOf(em()).execute<
        {
          status: TargetStatus;
          due_at: Date | null;
          schedule_version: number;
          requires_approval: boolean;
          approval_state: ApprovalState;
          connection_status: ConnectionStatus;
          platform: PlatformId;
          has_media: boolean;
        }[]
      >(
        `select t.status, t.due_at, t.schedule_version, t.platform, p.requires_approval, p.approval_state,
                c.status as connection_status,
                exists (select 1 from post_variants v
                         where v.post_id = p.id and v.platform in ('default', t.platform::text)
                           and jsonb_array_length(v.media) > 0) as has_media
           from post_targets t join posts p on p.id = t.post_id join connections c on c.id = t.connection_id
          where t.id = ?`,
        [targetId],
      );
      const row = rows[0];
      if (!row) return { status: 'gone' };
      return {
        status: row.status,
        dueAt: row.due_at ? new Date(row.due_at).toISOString() : null,
        scheduleVersion: row.schedule_version,
        requiresApproval: row.requires_approval,
        approval: row.approval_state,
        connection: row.connection_status,
        prepareAhead: row.has_media || (adapters[row.platform].publisher?.textNeedsPrepare ?? false),
      };
    },

    /**
     * Claims the target for publishing, only if the plan is still the one the workflow read and the
     * post is approved where it must be. From here on the API refuses edits and deletes.
     */
    async beginPublishing({
      targetId,
      scheduleVersion,
    }: {
      targetId: string;
      scheduleVersion: number;
    }): Promise<boolean> {
      const res = await sqlOf(em()).execute(
        `update post_targets t set status = 'publishing', status_reason = null, updated_at = now()
           from posts p
          where t.id = ? and p.id = t.post_id and t.schedule_version = ?
            and t.status in ('scheduled', 'awaiting_approval')
            and (not p.requires_approval or p.approval_state = 'approved')`,
        [targetId, scheduleVersion],
        'run',
      );
      return affected(res) === 1;
    },

    /** Shows what a live target waits for (approval, a rate limit, processing, a reconnect). */
    async noteWaiting({
      targetId,
      status,
      note,
      scheduleVersion,
    }: {
      targetId: string;
      status: 'awaiting_approval' | 'publishing';
      note: string | null;
      scheduleVersion: number;
    }): Promise<void> {
      // Only for the plan the workflow read: a newer schedule keeps the status the API gave it.
      await sqlOf(em()).execute(
        `update post_targets set status = ?, status_reason = ?, updated_at = now()
          where id = ? and schedule_version = ? and status in ('scheduled', 'awaiting_approval', 'publishing')`,
        [status, note?.slice(0, 500) ?? null, targetId, scheduleVersion],
        'run',
      );
    },

    /**
     * Ends a target that did not publish; the reason names why, with the platform's words if any.
     * `written`: this ended it. `not_live`: nothing to end (gone, draft, already final). `moved`: it
     * is live under a newer plan than the workflow read, which must read it again.
     */
    async finishPublish({
      targetId,
      status,
      reason,
      scheduleVersion,
    }: {
      targetId: string;
      status: 'failed' | 'cancelled';
      reason: string;
      scheduleVersion: number;
    }): Promise<'written' | 'not_live' | 'moved'> {
      return em().transactional(async (tx) => {
        const target = await tx.findOne(PostTarget, targetId, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!target || !LIVE_TARGET_STATUSES.includes(target.status as never)) return 'not_live';
        if (target.scheduleVersion !== scheduleVersion) return 'moved';
        const last = await tx.findOne(
          PublishAttempt,
          { target: targetId, state: 'failed' },
          { orderBy: { startedAt: 'desc', id: 'desc' } },
        );
        target.status = status;
        target.statusReason = (last?.errorMessage ? `${reason}: ${last.errorMessage}` : reason).slice(0, 500);
        audit(tx, {
          action: status === 'failed' ? 'publish.failed' : 'publish.cancelled',
          workspaceId: target.workspace,
          targetType: 'post_target',
          targetId,
          details: { platform: target.platform, reason: reason.slice(0, 64) },
        });
        return 'written';
      });
    },

    /**
     * Moves a publish as far as it can go now: prepare → check → commit → settle, each step
     * recorded, and returns when it must wait (processing, a limit, a token) or is done. Nothing
     * waits inside: a pending container or upload comes back as `pending` for a durable timer.
     * `ahead`: before the due time, prepare and check only, so the commit goes out on time.
     */
    async advancePublish({ targetId, ahead }: { targetId: string; ahead?: boolean }): Promise<StepOutcome> {
      // Loaded once: from the claim on, the API refuses changes, so content and connection hold.
      const ctx = await load(targetId);
      if (isOutcome(ctx)) return ctx;
      let phase = await phaseOf(targetId);
      for (let hop = 0; hop < 12; hop++) {
        // Ahead of the due time only the steps that make nothing public run.
        if (ahead && (phase === 'commit' || phase === 'settle')) return { outcome: 'ok' };
        const result = await steps[phase](ctx);
        if (result.outcome === 'ok') phase = phase === 'prepare' ? 'check' : 'commit';
        else if (result.outcome === 'settling') phase = 'settle';
        else if (result.outcome === 'reprepare') phase = 'prepare';
        else return result;
      }
      return { outcome: 'pending', checkAfterMs: 0 };
    },

    /** Token trouble goes to the connection's own workflow, the only place tokens are refreshed. */
    async refreshForPublish({ targetId }: { targetId: string }): Promise<'refreshed' | 'needs_reconnect'> {
      const target = await em().findOne(PostTarget, targetId);
      const conn = target ? await em().findOne(Connection, target.connection) : null;
      if (conn?.status !== 'active') return 'needs_reconnect';
      const result = await refreshNow(
        temporal,
        config.taskQueues.core,
        connectionInput(conn.id, conn.workspace, conn.platform as PlatformId),
      );
      return result.outcome === 'refreshed' ? 'refreshed' : 'needs_reconnect';
    },

    /**
     * The safety net: every live target should have a running workflow that knows its plan. One
     * without (never started because Temporal was down when the API wrote the row, terminated by
     * an operator, failed by a bug) gets a new run, which reads the row and repairs it: a due post
     * publishes, a post that landed is recorded as published, an unknown commit is verified first.
     * A running one behind the row's scheduleVersion (a lost update) is told to read it again.
     */
    async reconcilePublishing({ batchSize, workspaceId }: ReconcileInput): Promise<ReconcileResult> {
      const result: ReconcileResult = { examined: 0, started: 0, replanned: 0 };
      // Every live target, a page at a time (keyset on id), so none is left out however many there are.
      let after = '00000000-0000-0000-0000-000000000000';
      for (;;) {
        const rows = await sqlOf(em()).execute<
          { id: string; workspace_id: string; platform: PlatformId; schedule_version: number }[]
        >(
          `select id, workspace_id, platform, schedule_version from post_targets
            where status in ('scheduled', 'awaiting_approval', 'publishing') and id > ?
              and (?::uuid is null or workspace_id = ?::uuid)
            order by id limit ?`,
          [after, workspaceId ?? null, workspaceId ?? null, batchSize],
        );
        for (const row of rows) {
          Context.current().heartbeat(row.id);
          result.examined++;
          const handle = temporal.workflow.getHandle(publishWorkflowId(row.id));
          let running = false;
          try {
            running = (await handle.describe()).status.name === 'RUNNING';
          } catch (err) {
            if (!(err instanceof WorkflowNotFoundError)) throw err;
          }
          // A running workflow that missed a plan change (its update never arrived) is told again.
          if (running) {
            const known = await handle.query(publishStateQuery).catch(() => undefined);
            if (!known || known.scheduleVersion >= row.schedule_version || known.status === 'publishing') continue;
            result.replanned++;
          } else {
            result.started++;
          }
          await schedulePublish(temporal, config.taskQueues.core, {
            id: row.id,
            workspaceId: row.workspace_id,
            platform: row.platform,
            scheduleVersion: row.schedule_version,
          });
        }
        if (rows.length < batchSize) return result;
        after = (rows.at(-1) as { id: string }).id;
      }
    },
  };
}

export type PublishActivities = ReturnType<typeof createPublishActivities>;
