import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type EntityManager, LockMode } from '@mikro-orm/core';
import type { FastifyBaseLogger } from 'fastify';
import { type Static, Type } from 'typebox';
import {
  BoardColumn,
  Connection,
  LIVE_TARGET_STATUSES,
  Post,
  PostTag,
  PostTarget,
  PostVariant,
  PublishAttempt,
  TARGET_STATUSES,
  Tag,
  type TargetStatus,
  Template,
} from '../../db/entities/index.ts';
import { DAY } from '../../domain/policy.ts';
import {
  checkPublishCap,
  effectiveVariant,
  publishCap,
  resolveDueAt,
  type Violation,
  validateTargetPlatform,
  validateVariant,
} from '../../domain/publishing-rules.ts';
import { audit } from '../../lib/audit.ts';
import { sqlOf } from '../../lib/sql.ts';
import {
  cancelPublish,
  notifyApprovalDecided,
  publishUpdateFailure,
  schedulePublish,
} from '../../workflows/publish.client.ts';
import { AppError, conflict, notFound } from '../errors.ts';
import { requireRole } from '../plugins/auth.ts';
import {
  attemptView,
  CalendarEntry,
  excerpt,
  loadPostViews,
  PostView,
  sortTargets,
  sortVariants,
  TargetStatusView,
  TargetView,
  targetView,
  VariantInput,
} from '../post-views.ts';
import { bearerSecurity, commonErrors, ErrorResponse, Strict, Timestamp, Uuid, WorkspaceParams } from '../schemas.ts';
import { lockBoard } from './board.ts';

// Posts, their per-platform variants and their targets (one post on one connection), and the
// routes that schedule them. PostgreSQL holds the plan; every change is committed first and only
// then are the targets' publish workflows (`publish/<targetId>`) told to read it again. If Temporal
// cannot be reached the plan still stands: the publish reconciler starts a workflow for every live
// target that lacks one, and a workflow re-reads its row whenever it wakes.
//
// Error fields: `body.…` points into the request; `variants[i]…` and `targets[i]…` point into the
// post as GET /posts/:postId shows it (variants: 'default' first, then by platform; targets by
// creation). A rule violation's message starts with its rule id (e.g. `x.text_length: …`).

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

/** Targets that a schedule request (re)plans: not yet planned, or planned and stopped. */
const SCHEDULABLE: readonly TargetStatus[] = ['draft', 'cancelled', 'failed'];
/** Planned and not yet claimed by the workflow: edits and unschedules still apply. */
const PLANNED: readonly TargetStatus[] = ['scheduled', 'awaiting_approval'];
const isPlanned = (status: TargetStatus) => PLANNED.includes(status);
const CALENDAR_MAX_DAYS = 92;
const BOARD_MAX_POSITION = 100_000;

const PostParams = Strict({ workspaceId: Uuid, postId: Uuid });
const TargetParams = Strict({ workspaceId: Uuid, postId: Uuid, targetId: Uuid });
const TargetInput = Strict({
  connectionId: Uuid,
  dueAt: Type.Optional(Timestamp),
});
const WorkflowState = Type.Enum(['started', 'pending', 'cancelled'], {
  description:
    'started: the publish workflows were told; pending: Temporal did not answer, the plan stands in PostgreSQL and the publish reconciler starts or corrects the workflows within minutes; cancelled: the workflows were stopped (or were not running)',
});
const ScheduleResult = Type.Object({ post: PostView, workflow: WorkflowState });
const TagIds = Type.Array(Uuid, { maxItems: 50, uniqueItems: true });
const Title = Nullable(Type.String({ minLength: 1, maxLength: 200, description: 'Internal name; never published' }));

const violationError = (v: Violation, more = 0) =>
  new AppError(
    400,
    v.rule.endsWith('.publish_cap') ? 'PUBLISH_CAP_REACHED' : 'VALIDATION_FAILED',
    `${v.rule}: ${v.message}${more > 0 ? ` (and ${more} more problem${more > 1 ? 's' : ''})` : ''}`,
    v.field,
  );
const refNotFound = (what: string, field: string) => new AppError(404, 'NOT_FOUND', `${what} not found`, field);
const publishInProgress = () =>
  conflict('PUBLISH_IN_PROGRESS', 'a target of this post is being published; try again when it has finished');

/** JSON with sorted keys, so two variant lists compare equal whatever order jsonb gave their keys. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
const variantsKey = (variants: { platform: string; caption: string; media: unknown; options?: unknown }[]) =>
  canonical(
    sortVariants(variants).map((v) => ({
      platform: v.platform,
      caption: v.caption,
      media: v.media,
      options: v.options ?? {},
    })),
  );

function checkUniqueVariants(variants: VariantInput[]): void {
  const seen = new Set<string>();
  variants.forEach((v, i) => {
    if (seen.has(v.platform)) {
      throw new AppError(
        400,
        'VALIDATION_FAILED',
        `there is already a ${v.platform} variant`,
        `body.variants[${i}].platform`,
      );
    }
    seen.add(v.platform);
  });
}

async function lockPost(em: EntityManager, workspaceId: string, postId: string): Promise<Post> {
  const post = await em.findOne(Post, { id: postId, workspace: workspaceId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  if (!post) throw notFound('post');
  return post;
}

/**
 * The post's targets, locked: the publish workflow claims a target by updating its row, so while
 * these locks are held a target cannot start publishing, and a claim made first is seen here.
 */
const lockTargets = async (em: EntityManager, postId: string) =>
  sortTargets(
    await em.find(
      PostTarget,
      { post: postId },
      { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { createdAt: 'asc', id: 'asc' } },
    ),
  );

async function checkRefs(
  em: EntityManager,
  workspaceId: string,
  refs: { columnId?: string | null; templateId?: string | null; tagIds?: string[] },
): Promise<void> {
  if (refs.columnId && !(await em.count(BoardColumn, { id: refs.columnId, workspace: workspaceId }))) {
    throw refNotFound('column', 'body.columnId');
  }
  if (refs.templateId && !(await em.count(Template, { id: refs.templateId, workspace: workspaceId }))) {
    throw refNotFound('template', 'body.templateId');
  }
  if (refs.tagIds?.length) {
    const found = new Set((await em.find(Tag, { id: { $in: refs.tagIds }, workspace: workspaceId })).map((t) => t.id));
    refs.tagIds.forEach((id, i) => {
      if (!found.has(id)) throw refNotFound('tag', `body.tagIds[${i}]`);
    });
  }
}

/** A connection a new target may go to: in the workspace, active, and with a feed. */
async function targetConnection(em: EntityManager, workspaceId: string, connectionId: string, field: string) {
  const conn = await em.findOne(Connection, { id: connectionId, workspace: workspaceId });
  if (!conn) throw refNotFound('connection', field);
  const noFeed = validateTargetPlatform(conn.platform, field);
  if (noFeed) throw violationError(noFeed);
  if (conn.status !== 'active') {
    throw conflict('CONNECTION_NOT_ACTIVE', `this connection is ${conn.status}; reconnect it first`, field);
  }
  return conn;
}

function writeVariants(em: EntityManager, workspaceId: string, postId: string, variants: VariantInput[]): void {
  for (const v of variants) {
    em.create(PostVariant, {
      workspace: workspaceId,
      post: postId,
      platform: v.platform,
      caption: v.caption,
      media: v.media,
      options: v.options ?? {},
    });
  }
}

function writeTags(em: EntityManager, workspaceId: string, postId: string, tagIds: string[]): void {
  for (const tag of tagIds) em.create(PostTag, { workspace: workspaceId, post: postId, tag });
}

/**
 * Serialises cap checks per connection until the transaction ends, so two requests cannot both
 * take the last place in a window. Taken in id order, after the post's row locks.
 */
async function lockCaps(em: EntityManager, connectionIds: string[]): Promise<void> {
  for (const id of [...new Set(connectionIds)].sort()) {
    await sqlOf(em).execute('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`publish-cap:${id}`]);
  }
}

/** The window around `dueAt` in which other posts of the same connection count against the cap. */
async function capCheck(
  em: EntityManager,
  target: PostTarget,
  dueAt: Date,
  field: string,
): Promise<Violation | undefined> {
  const cap = publishCap(target.platform);
  if (!cap) return undefined;
  const from = new Date(dueAt.getTime() - cap.windowMs);
  const to = new Date(dueAt.getTime() + cap.windowMs);
  const others = await em.find(PostTarget, {
    connection: target.connection,
    id: { $ne: target.id },
    $or: [
      { status: { $in: [...LIVE_TARGET_STATUSES] }, dueAt: { $gt: from, $lt: to } },
      { status: 'published', publishedAt: { $gt: from, $lt: to } },
    ],
  });
  const times = others.map((t) => (t.status === 'published' ? t.publishedAt : t.dueAt)).filter((d): d is Date => !!d);
  return checkPublishCap(target.platform, dueAt, times, field);
}

interface PlannedTarget {
  target: PostTarget;
  /** The time asked for (before past → now). */
  requested: Date;
  /** Where the time came from, for error fields. */
  field: string;
  dueAt?: Date;
}

/**
 * Checks every planned target against its platform's rules (content of its effective variant,
 * connection, publish cap, due time) and fills in the resolved due times; throws the first problem.
 */
async function validatePlan(
  em: EntityManager,
  post: Post,
  allTargets: PostTarget[],
  plan: PlannedTarget[],
  now: Date,
): Promise<void> {
  const variants = sortVariants(await em.find(PostVariant, { post: post.id }));
  const connections = new Map(
    (await em.find(Connection, { id: { $in: plan.map((p) => p.target.connection) } })).map((c) => [c.id, c]),
  );
  const violations: Violation[] = [];
  for (const p of plan) {
    const { target } = p;
    const at = `targets[${allTargets.indexOf(target)}]`;
    const conn = connections.get(target.connection);
    if (!conn || conn.status === 'disconnected' || conn.status === 'disconnecting') {
      throw conflict(
        'CONNECTION_NOT_ACTIVE',
        `the ${target.platform} connection of this target is ${conn?.status ?? 'gone'}; reconnect it or remove the target`,
        `${at}.connectionId`,
      );
    }
    const noFeed = validateTargetPlatform(target.platform, `${at}.connectionId`);
    if (noFeed) violations.push(noFeed);
    const variant = effectiveVariant(variants, target.platform);
    if (!variant) {
      violations.push({
        rule: 'post.variant_missing',
        field: 'variants',
        message: `there is no ${target.platform} or default variant for this target`,
      });
    } else if (!noFeed) {
      violations.push(...validateVariant(target.platform, variant, `variants[${variants.indexOf(variant)}]`));
    }
    const due = resolveDueAt(p.requested, now, p.field);
    if (due.violation) violations.push(due.violation);
    else p.dueAt = due.dueAt;
  }
  if (violations.length > 0) throw violationError(violations[0]!, violations.length - 1);
  await lockCaps(
    em,
    plan.map((p) => p.target.connection),
  );
  for (const p of plan) {
    const capped = await capCheck(em, p.target, p.dueAt!, p.field);
    if (capped) throw violationError(capped);
  }
}

export const postRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { orm, temporal, config } = app.deps;
  const tags = ['posts'];
  const security = bearerSecurity;
  const errors = { ...commonErrors, 403: ErrorResponse, 409: ErrorResponse };

  const tx = <T>(fn: (em: EntityManager) => Promise<T>): Promise<T> => orm.em.fork().transactional(fn);
  const viewOf = async (post: Post) => (await loadPostViews(orm.em.fork(), [post]))[0]!;

  /** Tells each target's workflow to read its plan; 'pending' when any call failed (logged). */
  async function startWorkflows(targets: PostTarget[], log: FastifyBaseLogger): Promise<'started' | 'pending'> {
    const results = await Promise.allSettled(
      targets.map((t) =>
        schedulePublish(temporal, config.taskQueues.core, {
          id: t.id,
          workspaceId: t.workspace,
          platform: t.platform,
          scheduleVersion: t.scheduleVersion,
        }),
      ),
    );
    let started = true;
    results.forEach((r, i) => {
      // Not accepted: the workflow was just ending; the reconciler starts a new one for the row.
      if (r.status === 'fulfilled' && r.value.accepted) return;
      started = false;
      log.warn(
        { err: r.status === 'rejected' ? r.reason : undefined, targetId: targets[i]!.id },
        'publish plan stored; its workflow did not take it, the reconciler will start it',
      );
    });
    return started ? 'started' : 'pending';
  }

  /** Stops the workflows of targets that were planned; failures are logged (each re-reads its row at wake). */
  async function cancelWorkflows(
    targetIds: string[],
    reason: string,
    log: FastifyBaseLogger,
  ): Promise<'cancelled' | 'pending'> {
    const results = await Promise.allSettled(targetIds.map((id) => cancelPublish(temporal, id, reason)));
    let cancelled = true;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return;
      cancelled = false;
      log.warn(
        { err: r.reason, targetId: targetIds[i], failure: publishUpdateFailure(r.reason) },
        'cancelling a publish workflow failed; it reads the target again when it wakes',
      );
    });
    return cancelled ? 'cancelled' : 'pending';
  }

  // ---------------------------------------------------------------------------------------------
  // Posts

  app.post(
    '/workspaces/:workspaceId/posts',
    {
      schema: {
        tags,
        summary: 'Create a post with its variants, tags and (draft) targets',
        description:
          "One transaction. `variants` hold what the post says: `default` applies to every platform without a variant of its own. Targets are created as drafts (a `dueAt` given here is kept as the planned time and used by POST /posts/:postId/schedule when it names none). Columns, templates, tags and connections must belong to the workspace (404 naming the field); a target's connection must be active (409) and have a feed (WhatsApp: 400 `whatsapp.no_feed`). Content is checked against the platforms' rules when the post is scheduled, not here, so drafts may be incomplete. With `requiresApproval` the post's approvalState starts as `pending`.",
        security,
        params: WorkspaceParams,
        body: Strict({
          title: Type.Optional(Title),
          columnId: Type.Optional(Nullable(Uuid)),
          templateId: Type.Optional(Nullable(Uuid)),
          requiresApproval: Type.Optional(Type.Boolean()),
          tagIds: Type.Optional(TagIds),
          variants: Type.Array(VariantInput, { minItems: 1, maxItems: 9 }),
          targets: Type.Optional(Type.Array(TargetInput, { maxItems: 50 })),
        }),
        response: { 201: PostView, ...errors },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      const actor = await requireRole(request, workspaceId, 'member');
      const body = request.body;
      checkUniqueVariants(body.variants);
      const targets = body.targets ?? [];
      const post = await tx(async (em) => {
        await checkRefs(em, workspaceId, body);
        const connections: Connection[] = [];
        const seen = new Set<string>();
        for (const [i, t] of targets.entries()) {
          const field = `body.targets[${i}].connectionId`;
          if (seen.has(t.connectionId)) {
            throw new AppError(400, 'VALIDATION_FAILED', 'this connection is already a target of the post', field);
          }
          seen.add(t.connectionId);
          connections.push(await targetConnection(em, workspaceId, t.connectionId, field));
        }
        await lockBoard(em, workspaceId);
        const column = body.columnId ?? null;
        const [last] = await em.find(
          Post,
          { workspace: workspaceId, column },
          { orderBy: { position: 'desc' }, limit: 1, fields: ['id', 'position'] },
        );
        const requiresApproval = body.requiresApproval ?? false;
        const post = em.create(Post, {
          id: randomUUID(),
          workspace: workspaceId,
          title: body.title ?? null,
          column,
          position: last ? last.position + 1 : 0,
          template: body.templateId ?? null,
          requiresApproval,
          approvalState: requiresApproval ? 'pending' : 'not_required',
          contentVersion: 1,
          createdBy: actor.user,
        });
        writeVariants(em, workspaceId, post.id, body.variants);
        writeTags(em, workspaceId, post.id, body.tagIds ?? []);
        targets.forEach((t, i) => {
          em.create(PostTarget, {
            workspace: workspaceId,
            post: post.id,
            connection: t.connectionId,
            platform: connections[i]!.platform,
            dueAt: t.dueAt ? new Date(t.dueAt) : null,
            status: 'draft',
          });
        });
        audit(em, {
          action: 'post.created',
          actorId: actor.user,
          workspaceId,
          targetType: 'post',
          targetId: post.id,
          requestId: request.id,
          details: { variants: body.variants.length, targets: targets.length },
        });
        await em.flush();
        return post;
      });
      return reply.status(201).send(await viewOf(post));
    },
  );

  app.get(
    '/workspaces/:workspaceId/posts',
    {
      schema: {
        tags,
        summary: "A workspace's posts, newest first",
        description:
          '`status` keeps posts with at least one target in that status; `tagId` and `columnId` keep posts with that tag or in that column.',
        security,
        params: WorkspaceParams,
        querystring: Strict({
          status: Type.Optional(Type.Enum(TARGET_STATUSES)),
          tagId: Type.Optional(Uuid),
          columnId: Type.Optional(Uuid),
          limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
          offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
        }),
        response: {
          200: Type.Object({
            items: Type.Array(PostView),
            total: Type.Integer({ description: 'Posts matching the filters' }),
            limit: Type.Integer(),
            offset: Type.Integer(),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const { status, tagId, columnId, limit, offset } = request.query;
      const where = ['p.workspace_id = ?'];
      const params: unknown[] = [workspaceId];
      if (status) {
        where.push('exists (select 1 from post_targets t where t.post_id = p.id and t.status = ?)');
        params.push(status);
      }
      if (tagId) {
        where.push('exists (select 1 from post_tags pt where pt.post_id = p.id and pt.tag_id = ?)');
        params.push(tagId);
      }
      if (columnId) {
        where.push('p.column_id = ?');
        params.push(columnId);
      }
      const em = orm.em.fork();
      const sql = sqlOf(em);
      const filter = where.join(' and ');
      const [count] = await sql.execute<{ total: number }[]>(
        `select cast(count(*) as int) as total from posts p where ${filter}`,
        params,
      );
      const ids = (
        await sql.execute<{ id: string }[]>(
          `select p.id from posts p where ${filter} order by p.created_at desc, p.id desc limit ? offset ?`,
          [...params, limit, offset],
        )
      ).map((r) => r.id);
      const byId = new Map((await em.find(Post, { id: { $in: ids } })).map((p) => [p.id, p]));
      const posts = ids.map((id) => byId.get(id)).filter((p): p is Post => !!p);
      return { items: await loadPostViews(em, posts), total: count?.total ?? 0, limit, offset };
    },
  );

  app.get(
    '/workspaces/:workspaceId/posts/:postId',
    {
      schema: {
        tags,
        summary: 'One post with its variants, targets and tags',
        security,
        params: PostParams,
        response: { 200: PostView, ...errors },
      },
    },
    async (request) => {
      const { workspaceId, postId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const post = await orm.em.fork().findOne(Post, { id: postId, workspace: workspaceId });
      if (!post) throw notFound('post');
      return viewOf(post);
    },
  );

  app.patch(
    '/workspaces/:workspaceId/posts/:postId',
    {
      schema: {
        tags,
        summary: 'Edit a post: title, column and position, approval, tags, variants',
        description:
          "`variants` and `tagIds` replace the post's lists. Changed variants raise `contentVersion` (a publish prepared from older content is prepared again), send a post that needs approval back to `pending`, and are checked against the platforms of the post's scheduled targets first (400 naming the rule, field `body.variants[i]…`). `position` places the post among its column's posts (0-based; the others move along). Turning `requiresApproval` off lets targets waiting for approval go on. 409 `PUBLISH_IN_PROGRESS` while a target is being published.",
        security,
        params: PostParams,
        body: Strict({
          title: Type.Optional(Title),
          columnId: Type.Optional(Nullable(Uuid)),
          position: Type.Optional(Type.Integer({ minimum: 0, maximum: BOARD_MAX_POSITION })),
          requiresApproval: Type.Optional(Type.Boolean()),
          tagIds: Type.Optional(TagIds),
          variants: Type.Optional(Type.Array(VariantInput, { minItems: 1, maxItems: 9 })),
        }),
        response: { 200: PostView, ...errors },
      },
    },
    async (request) => {
      const { workspaceId, postId } = request.params;
      const actor = await requireRole(request, workspaceId, 'member');
      const body = request.body;
      if (body.variants) checkUniqueVariants(body.variants);
      const moves = body.columnId !== undefined || body.position !== undefined;
      let released: string[] = [];
      const post = await tx(async (em) => {
        if (moves) await lockBoard(em, workspaceId);
        const post = await lockPost(em, workspaceId, postId);
        const targets = await lockTargets(em, postId);
        if (targets.some((t) => t.status === 'publishing')) throw publishInProgress();
        await checkRefs(em, workspaceId, { columnId: body.columnId, tagIds: body.tagIds });
        const planned = targets.filter((t) => isPlanned(t.status));

        let contentChanged = false;
        if (body.variants) {
          const current = await em.find(PostVariant, { post: postId });
          contentChanged = variantsKey(current) !== variantsKey(body.variants);
        }
        if (contentChanged && body.variants) {
          const variants = body.variants;
          const violations: Violation[] = [];
          for (const t of planned) {
            const variant = effectiveVariant(variants, t.platform);
            if (!variant) {
              violations.push({
                rule: 'post.variant_missing',
                field: 'body.variants',
                message: `the scheduled ${t.platform} target needs a ${t.platform} or default variant`,
              });
            } else {
              violations.push(...validateVariant(t.platform, variant, `body.variants[${variants.indexOf(variant)}]`));
            }
          }
          if (violations.length > 0) throw violationError(violations[0]!, violations.length - 1);
          await em.nativeDelete(PostVariant, { post: postId });
          writeVariants(em, workspaceId, postId, variants);
          post.contentVersion += 1;
        }

        if (body.title !== undefined) post.title = body.title;
        if (moves) {
          const column = body.columnId === undefined ? (post.column ?? null) : body.columnId;
          const siblings = await em.find(
            Post,
            { workspace: workspaceId, column, id: { $ne: postId } },
            { orderBy: { position: 'asc', createdAt: 'asc', id: 'asc' } },
          );
          // Without a position, a post moved to another column goes to its end; one staying keeps its place.
          const previous = post.column ?? null;
          const stays = column === previous;
          const current = siblings.filter((p) => p.position < post.position).length;
          const position = Math.min(body.position ?? (stays ? current : siblings.length), siblings.length);
          siblings.splice(position, 0, post);
          post.column = column;
          const renumber = (group: Post[]) =>
            group.forEach((p, i) => {
              if (p.position !== i) p.position = i;
            });
          renumber(siblings);
          if (!stays) {
            // The column it left closes the gap.
            const left = await em.find(
              Post,
              { workspace: workspaceId, column: previous, id: { $ne: postId } },
              { orderBy: { position: 'asc', createdAt: 'asc', id: 'asc' } },
            );
            renumber(left);
          }
        }
        if (body.tagIds) {
          await em.nativeDelete(PostTag, { post: postId });
          writeTags(em, workspaceId, postId, body.tagIds);
        }

        let approvalReset = false;
        if (body.requiresApproval !== undefined && body.requiresApproval !== post.requiresApproval) {
          post.requiresApproval = body.requiresApproval;
          if (body.requiresApproval) {
            approvalReset = true;
          } else {
            post.approvalState = 'not_required';
            post.approvalDecidedAt = null;
            released = targets.filter((t) => t.status === 'awaiting_approval').map((t) => t.id);
          }
        }
        if (post.requiresApproval && contentChanged) approvalReset = true;
        if (approvalReset) {
          post.approvalState = 'pending';
          post.approvalDecidedAt = null;
          // A new schedule version makes a claim based on the old approval fail (the workflow reads
          // the plan again and waits for the new decision).
          for (const t of planned) t.scheduleVersion += 1;
        }
        post.updatedAt = new Date();
        audit(em, {
          action: 'post.updated',
          actorId: actor.user,
          workspaceId,
          targetType: 'post',
          targetId: postId,
          requestId: request.id,
          details: { contentChanged, contentVersion: post.contentVersion, approvalReset },
        });
        await em.flush();
        return post;
      });
      if (released.length > 0) {
        await notifyApprovalDecided(temporal, released).catch((err) =>
          request.log.warn({ err }, 'telling targets that approval is no longer needed failed; they re-read at wake'),
        );
      }
      return viewOf(post);
    },
  );

  app.delete(
    '/workspaces/:workspaceId/posts/:postId',
    {
      schema: {
        tags,
        summary: 'Delete a post with its variants, targets and attempts',
        description:
          'One transaction (audited). Then the publish workflows of its scheduled targets are cancelled; if Temporal does not answer, each workflow finds the target gone when it wakes and ends without publishing. Posts already published stay on the platforms. 409 `PUBLISH_IN_PROGRESS` while a target is being published.',
        security,
        params: PostParams,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const { workspaceId, postId } = request.params;
      const actor = await requireRole(request, workspaceId, 'member');
      const planned = await tx(async (em) => {
        await lockBoard(em, workspaceId);
        const post = await lockPost(em, workspaceId, postId);
        const targets = await lockTargets(em, postId);
        if (targets.some((t) => t.status === 'publishing')) throw publishInProgress();
        await em.nativeDelete(Post, { id: postId, workspace: workspaceId });
        // Its column's posts close the gap.
        const rest = await em.find(
          Post,
          { workspace: workspaceId, column: post.column ?? null, id: { $ne: postId } },
          { orderBy: { position: 'asc', createdAt: 'asc', id: 'asc' } },
        );
        rest.forEach((p, i) => {
          if (p.position !== i) p.position = i;
        });
        audit(em, {
          action: 'post.deleted',
          actorId: actor.user,
          workspaceId,
          targetType: 'post',
          targetId: postId,
          requestId: request.id,
          details: { targets: targets.length },
        });
        await em.flush();
        return targets.filter((t) => isPlanned(t.status)).map((t) => t.id);
      });
      await cancelWorkflows(planned, 'deleted', request.log);
      return reply.status(204).send(null);
    },
  );

  // ---------------------------------------------------------------------------------------------
  // Targets

  app.post(
    '/workspaces/:workspaceId/posts/:postId/targets',
    {
      schema: {
        tags,
        summary: 'Add a target (a connection to publish to) as a draft',
        description:
          'The connection must belong to the workspace (404), be active (409 `CONNECTION_NOT_ACTIVE`) and have a feed (WhatsApp: 400 `whatsapp.no_feed`); a post has at most one target per connection (409 `TARGET_EXISTS`). `dueAt` is kept as the planned time; schedule with POST /posts/:postId/schedule.',
        security,
        params: PostParams,
        body: TargetInput,
        response: { 201: TargetView, ...errors },
      },
    },
    async (request, reply) => {
      const { workspaceId, postId } = request.params;
      const actor = await requireRole(request, workspaceId, 'member');
      const { connectionId, dueAt } = request.body;
      const target = await tx(async (em) => {
        await lockPost(em, workspaceId, postId);
        const conn = await targetConnection(em, workspaceId, connectionId, 'body.connectionId');
        if (await em.count(PostTarget, { post: postId, connection: connectionId })) {
          throw conflict('TARGET_EXISTS', 'this connection is already a target of the post', 'body.connectionId');
        }
        const target = em.create(PostTarget, {
          id: randomUUID(),
          workspace: workspaceId,
          post: postId,
          connection: connectionId,
          platform: conn.platform,
          dueAt: dueAt ? new Date(dueAt) : null,
          status: 'draft',
        });
        audit(em, {
          action: 'post.target_added',
          actorId: actor.user,
          workspaceId,
          targetType: 'post_target',
          targetId: target.id,
          requestId: request.id,
          details: { postId, platform: conn.platform },
        });
        await em.flush();
        return target;
      });
      return reply.status(201).send(targetView(target));
    },
  );

  app.get(
    '/workspaces/:workspaceId/posts/:postId/targets/:targetId',
    {
      schema: {
        tags,
        summary: "A target's publishing status, from PostgreSQL",
        description:
          'Status, reason, due time, schedule version and, once published, the platform post id and permalink, with the prepare and commit attempts (states and error kinds only; platform handles are never shown).',
        security,
        params: TargetParams,
        response: { 200: TargetStatusView, ...errors },
      },
    },
    async (request) => {
      const { workspaceId, postId, targetId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const em = orm.em.fork();
      const target = await em.findOne(PostTarget, { id: targetId, post: postId, workspace: workspaceId });
      if (!target) throw notFound('target');
      const attempts = await em.find(
        PublishAttempt,
        { target: targetId, workspace: workspaceId },
        { orderBy: { startedAt: 'asc', id: 'asc' } },
      );
      return { ...targetView(target), attempts: attempts.map(attemptView) };
    },
  );

  app.patch(
    '/workspaces/:workspaceId/posts/:postId/targets/:targetId',
    {
      schema: {
        tags,
        summary: 'Reschedule a scheduled target',
        description:
          "Moves a scheduled (or approval-waiting) target to `dueAt` (a time in the past means now; at most one year ahead), checks the connection's publish cap there, raises scheduleVersion and tells the target's workflow. 409 `PUBLISH_IN_PROGRESS` while it is being published, `TARGET_NOT_SCHEDULED` for drafts and finished targets (use POST /posts/:postId/schedule). 202 with `workflow: 'pending'` when Temporal did not answer: the new time is stored and the reconciler brings the workflow in line.",
        security,
        params: TargetParams,
        body: Strict({ dueAt: Timestamp }),
        response: {
          200: Type.Object({ target: TargetView, workflow: WorkflowState }),
          202: Type.Object({ target: TargetView, workflow: WorkflowState }),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const { workspaceId, postId, targetId } = request.params;
      const actor = await requireRole(request, workspaceId, 'member');
      const now = new Date();
      const target = await tx(async (em) => {
        await lockPost(em, workspaceId, postId);
        const target = (await lockTargets(em, postId)).find((t) => t.id === targetId);
        if (!target) throw notFound('target');
        if (target.status === 'publishing') throw publishInProgress();
        if (!isPlanned(target.status)) {
          throw conflict(
            'TARGET_NOT_SCHEDULED',
            `this target is ${target.status}; schedule it with POST /posts/:postId/schedule`,
          );
        }
        const due = resolveDueAt(new Date(request.body.dueAt), now, 'body.dueAt');
        if (due.violation) throw violationError(due.violation);
        await lockCaps(em, [target.connection]);
        const capped = await capCheck(em, target, due.dueAt, 'body.dueAt');
        if (capped) throw violationError(capped);
        target.dueAt = due.dueAt;
        target.scheduleVersion += 1;
        audit(em, {
          action: 'post.scheduled',
          actorId: actor.user,
          workspaceId,
          targetType: 'post_target',
          targetId,
          requestId: request.id,
          details: { postId, reschedule: true, scheduleVersion: target.scheduleVersion },
        });
        await em.flush();
        return target;
      });
      const workflow = await startWorkflows([target], request.log);
      return reply.status(workflow === 'started' ? 200 : 202).send({ target: targetView(target), workflow });
    },
  );

  app.delete(
    '/workspaces/:workspaceId/posts/:postId/targets/:targetId',
    {
      schema: {
        tags,
        summary: 'Remove a target',
        description:
          "One transaction (audited); then a scheduled target's workflow is cancelled (if Temporal does not answer, the workflow finds the target gone when it wakes). 409 `PUBLISH_IN_PROGRESS` while it is being published. A published post stays on the platform.",
        security,
        params: TargetParams,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const { workspaceId, postId, targetId } = request.params;
      const actor = await requireRole(request, workspaceId, 'member');
      const wasPlanned = await tx(async (em) => {
        await lockPost(em, workspaceId, postId);
        const target = (await lockTargets(em, postId)).find((t) => t.id === targetId);
        if (!target) throw notFound('target');
        if (target.status === 'publishing') throw publishInProgress();
        await em.nativeDelete(PostTarget, { id: targetId });
        audit(em, {
          action: 'post.target_removed',
          actorId: actor.user,
          workspaceId,
          targetType: 'post_target',
          targetId,
          requestId: request.id,
          details: { postId, status: target.status },
        });
        await em.flush();
        return isPlanned(target.status);
      });
      if (wasPlanned) await cancelWorkflows([targetId], 'target_removed', request.log);
      return reply.status(204).send(null);
    },
  );

  // ---------------------------------------------------------------------------------------------
  // Scheduling

  const ScheduleBody = Strict({
    dueAt: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'For every draft, cancelled or failed target not listed in `targets`',
      }),
    ),
    targets: Type.Optional(
      Type.Array(Strict({ targetId: Uuid, dueAt: Timestamp }), { maxItems: 50, description: 'Per-target due times' }),
    ),
  });
  type ScheduleBody = Static<typeof ScheduleBody>;

  /**
   * Schedules `choose(targets)` of a post in one transaction after checking every rule, then tells
   * their workflows. Shared by schedule and publish-now.
   */
  async function schedule(
    request: { id: string; log: FastifyBaseLogger },
    actorId: string,
    workspaceId: string,
    postId: string,
    choose: (targets: PostTarget[], now: Date) => PlannedTarget[],
    publishNow: boolean,
  ) {
    const now = new Date();
    const { post, planned } = await tx(async (em) => {
      const post = await lockPost(em, workspaceId, postId);
      const targets = await lockTargets(em, postId);
      if (targets.length === 0) {
        throw new AppError(400, 'NO_TARGETS', 'this post has no targets; add one first', 'targets');
      }
      const plan = choose(targets, now);
      if (plan.length === 0) {
        throw conflict(
          'NOTHING_TO_SCHEDULE',
          targets.some((t) => t.status === 'publishing')
            ? 'the remaining targets are being published'
            : 'no target of this post is a draft, cancelled or failed',
        );
      }
      await validatePlan(em, post, targets, plan, now);
      for (const p of plan) {
        const t = p.target;
        if (!isPlanned(t.status)) t.status = 'scheduled';
        t.dueAt = p.dueAt!;
        t.statusReason = null;
        t.scheduleVersion += 1;
      }
      if (post.requiresApproval && post.approvalState === 'not_required') post.approvalState = 'pending';
      audit(em, {
        action: 'post.scheduled',
        actorId,
        workspaceId,
        targetType: 'post',
        targetId: postId,
        requestId: request.id,
        details: { targets: plan.length, publishNow },
      });
      await em.flush();
      return { post, planned: plan.map((p) => p.target) };
    });
    const workflow = await startWorkflows(planned, request.log);
    return { status: workflow === 'started' ? 200 : 202, body: { post: await viewOf(post), workflow } };
  }

  app.post(
    '/workspaces/:workspaceId/posts/:postId/schedule',
    {
      schema: {
        tags,
        summary: "Schedule a post's targets",
        description:
          "Schedules the draft, cancelled and failed targets: those listed in `targets` at their own `dueAt`; the others (all of them when `targets` is absent, none when only `targets` is given without `dueAt`) at `dueAt`, else at the time planned when the target was added. A time in the past means now; more than one year ahead is refused. Before anything is written, each target's effective variant (its platform's, else `default`) is checked against the platform's rules and the connection's publish cap in the window around the due time: 400 `VALIDATION_FAILED` (or `PUBLISH_CAP_REACHED`) whose message starts with the rule id (e.g. `x.text_length`) and whose field names the variant or target. Then, in one transaction, the targets become `scheduled` with a new scheduleVersion (and a post that needs approval becomes `pending`). Afterwards each target's workflow `publish/<targetId>` is started or told to read its plan: 200 with `workflow: 'started'`; if Temporal does not answer, 202 with `workflow: 'pending'`: the schedule is stored, and the publish reconciler starts the missing workflows within minutes.",
        security,
        params: PostParams,
        body: ScheduleBody,
        response: { 200: ScheduleResult, 202: ScheduleResult, ...errors },
      },
    },
    async (request, reply) => {
      const { workspaceId, postId } = request.params;
      const actor = await requireRole(request, workspaceId, 'member');
      const body: ScheduleBody = request.body;
      const result = await schedule(
        request,
        actor.user,
        workspaceId,
        postId,
        (targets) => {
          const listed = new Map<string, PlannedTarget>();
          (body.targets ?? []).forEach((item, i) => {
            const field = `body.targets[${i}]`;
            const target = targets.find((t) => t.id === item.targetId);
            if (!target) throw refNotFound('target', `${field}.targetId`);
            if (listed.has(target.id)) {
              throw new AppError(400, 'VALIDATION_FAILED', 'this target is listed twice', `${field}.targetId`);
            }
            if (target.status === 'publishing') throw publishInProgress();
            if (!SCHEDULABLE.includes(target.status)) {
              throw conflict(
                'TARGET_NOT_SCHEDULABLE',
                `this target is ${target.status}; reschedule a scheduled target with PATCH /posts/:postId/targets/:targetId`,
                `${field}.targetId`,
              );
            }
            listed.set(target.id, { target, requested: new Date(item.dueAt), field: `${field}.dueAt` });
          });
          const others = body.dueAt !== undefined || body.targets === undefined;
          const plan = [...listed.values()];
          targets.forEach((target, i) => {
            if (listed.has(target.id) || !others || !SCHEDULABLE.includes(target.status)) return;
            if (body.dueAt !== undefined) {
              plan.push({ target, requested: new Date(body.dueAt), field: 'body.dueAt' });
            } else if (target.dueAt) {
              plan.push({ target, requested: target.dueAt, field: `targets[${i}].dueAt` });
            } else {
              throw new AppError(
                400,
                'VALIDATION_FAILED',
                `target ${target.id} (${target.platform}) has no planned time; give dueAt`,
                'body.dueAt',
              );
            }
          });
          return plan;
        },
        false,
      );
      return reply.status(result.status).send(result.body);
    },
  );

  app.post(
    '/workspaces/:workspaceId/posts/:postId/publish-now',
    {
      schema: {
        tags,
        summary: "Publish a post's targets now",
        description:
          "Like schedule with `dueAt` = now, for every draft, cancelled, failed or scheduled target (targets waiting for approval still wait for it; targets being published are left alone). Same checks, same answers: 200 `workflow: 'started'`, or 202 `workflow: 'pending'` when Temporal did not answer (the reconciler starts the workflows).",
        security,
        params: PostParams,
        response: { 200: ScheduleResult, 202: ScheduleResult, ...errors },
      },
    },
    async (request, reply) => {
      const { workspaceId, postId } = request.params;
      const actor = await requireRole(request, workspaceId, 'member');
      const result = await schedule(
        request,
        actor.user,
        workspaceId,
        postId,
        (targets, now) =>
          targets
            .filter((t) => SCHEDULABLE.includes(t.status) || isPlanned(t.status))
            .map((target) => ({ target, requested: now, field: 'dueAt' })),
        true,
      );
      return reply.status(result.status).send(result.body);
    },
  );

  app.post(
    '/workspaces/:workspaceId/posts/:postId/unschedule',
    {
      schema: {
        tags,
        summary: "Take a post's scheduled targets back to draft",
        description:
          "In one transaction the scheduled and approval-waiting targets become drafts (dueAt cleared, scheduleVersion raised); targets being published are left alone. Then their workflows are cancelled: `workflow: 'cancelled'`, or `'pending'` when Temporal did not answer (each workflow reads the draft when it wakes and ends without publishing).",
        security,
        params: PostParams,
        response: { 200: ScheduleResult, ...errors },
      },
    },
    async (request) => {
      const { workspaceId, postId } = request.params;
      const actor = await requireRole(request, workspaceId, 'member');
      const { post, ids } = await tx(async (em) => {
        const post = await lockPost(em, workspaceId, postId);
        const planned = (await lockTargets(em, postId)).filter((t) => isPlanned(t.status));
        for (const t of planned) {
          t.status = 'draft';
          t.dueAt = null;
          t.statusReason = null;
          t.scheduleVersion += 1;
        }
        if (planned.length > 0) {
          audit(em, {
            action: 'post.unscheduled',
            actorId: actor.user,
            workspaceId,
            targetType: 'post',
            targetId: postId,
            requestId: request.id,
            details: { targets: planned.length },
          });
        }
        await em.flush();
        return { post, ids: planned.map((t) => t.id) };
      });
      const workflow = await cancelWorkflows(ids, 'unscheduled', request.log);
      return { post: await viewOf(post), workflow };
    },
  );

  // ---------------------------------------------------------------------------------------------
  // Calendar

  app.get(
    '/workspaces/:workspaceId/calendar',
    {
      schema: {
        tags,
        summary: 'Targets due or published in a time range, in time order',
        description: `Every target of the workspace whose dueAt or publishedAt lies in [from, to) (at most ${CALENDAR_MAX_DAYS} days), ordered by publishedAt if published, else dueAt (at most 5000 entries). Drafts with a planned time are included.`,
        security,
        params: WorkspaceParams,
        querystring: Strict({ from: Timestamp, to: Timestamp }),
        response: { 200: Type.Array(CalendarEntry), ...errors },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const from = new Date(request.query.from);
      const to = new Date(request.query.to);
      if (to <= from) {
        throw new AppError(400, 'VALIDATION_FAILED', 'querystring.to must be after from', 'querystring.to');
      }
      if (to.getTime() - from.getTime() > CALENDAR_MAX_DAYS * DAY) {
        throw new AppError(
          400,
          'VALIDATION_FAILED',
          `the range may span at most ${CALENDAR_MAX_DAYS} days`,
          'querystring.to',
        );
      }
      const rows = await sqlOf(orm.em.fork()).execute<
        {
          id: string;
          post_id: string;
          title: string | null;
          platform: PostTarget['platform'];
          connection_id: string;
          status: TargetStatus;
          due_at: Date | null;
          published_at: Date | null;
          permalink: string | null;
          caption: string | null;
        }[]
      >(
        `select t.id, t.post_id, p.title, t.platform, t.connection_id, t.status, t.due_at, t.published_at, t.permalink,
                coalesce(v.caption, d.caption) as caption
           from post_targets t
           join posts p on p.id = t.post_id
           left join post_variants v on v.post_id = t.post_id and v.platform = t.platform
           left join post_variants d on d.post_id = t.post_id and d.platform = 'default'
          where t.workspace_id = ?
            and ((t.due_at >= ? and t.due_at < ?) or (t.published_at >= ? and t.published_at < ?))
          order by coalesce(t.published_at, t.due_at), t.id
          limit 5000`,
        [workspaceId, from, to, from, to],
      );
      const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
      return rows.map((r) => ({
        targetId: r.id,
        postId: r.post_id,
        title: r.title,
        excerpt: excerpt(r.caption ?? ''),
        platform: r.platform,
        connectionId: r.connection_id,
        status: r.status,
        dueAt: iso(r.due_at),
        publishedAt: iso(r.published_at),
        permalink: r.permalink,
      }));
    },
  );
};
