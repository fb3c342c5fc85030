import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { type MediaRef, PLATFORMS } from '../../platforms/types.ts';
import { User } from './accounts.ts';
import { Connection } from './connections.ts';
import { Workspace } from './workspaces.ts';

// The content model and its publishing. Every row carries its workspace, so tenant checks,
// deletion and export reach it with one predicate. Attempts hold platform handles (container ids,
// upload sessions) that workflows never see: histories carry ids and states only.

/** A variant's platform options (title, privacy, media type, …); checked by domain/publishing-rules.ts. */
export type { MediaRef };
export type PlatformOptions = Record<string, string | number | boolean | string[] | null>;

export const Tag = defineEntity({
  name: 'Tag',
  tableName: 'tags',
  uniques: [{ properties: ['workspace', 'name'] }],
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade'),
    name: p.string().length(50),
    color: p.string().length(7).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type Tag = InferEntity<typeof Tag>;

/** Board columns are ordered by position; moving one renumbers its neighbours. */
export const BoardColumn = defineEntity({
  name: 'BoardColumn',
  tableName: 'board_columns',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    name: p.string().length(100),
    position: p.integer(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type BoardColumn = InferEntity<typeof BoardColumn>;

export const Template = defineEntity({
  name: 'Template',
  tableName: 'templates',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    name: p.string().length(100),
    caption: p.text(),
    options: p.json<Record<string, PlatformOptions>>().nullable(),
    createdBy: () => p.manyToOne(User).mapToPk().deleteRule('set null').nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type Template = InferEntity<typeof Template>;

export const Idea = defineEntity({
  name: 'Idea',
  tableName: 'ideas',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    title: p.string().length(200),
    notes: p.text().nullable(),
    column: () => p.manyToOne(BoardColumn).mapToPk().deleteRule('set null').nullable().index(),
    position: p.integer().default(0),
    createdBy: () => p.manyToOne(User).mapToPk().deleteRule('set null').nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type Idea = InferEntity<typeof Idea>;

export const APPROVAL_STATES = ['not_required', 'pending', 'approved', 'rejected'] as const;
export type ApprovalState = (typeof APPROVAL_STATES)[number];

/**
 * A post: content shared by its targets. contentVersion grows with every content edit, so a
 * publish prepared from older content is prepared again before it commits.
 */
export const Post = defineEntity({
  name: 'Post',
  tableName: 'posts',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    /** Internal name on the board and calendar; never published. */
    title: p.string().length(200).nullable(),
    column: () => p.manyToOne(BoardColumn).mapToPk().deleteRule('set null').nullable().index(),
    position: p.integer().default(0),
    template: () => p.manyToOne(Template).mapToPk().deleteRule('set null').nullable(),
    requiresApproval: p.boolean().default(false),
    approvalState: p.enum(APPROVAL_STATES).default('not_required'),
    /** The client's words with a decision; shown to the team only. */
    approvalFeedback: p.text().nullable(),
    approvalDecidedAt: p.datetime().nullable(),
    contentVersion: p.integer().default(1),
    createdBy: () => p.manyToOne(User).mapToPk().deleteRule('set null').nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type Post = InferEntity<typeof Post>;

export const PostTag = defineEntity({
  name: 'PostTag',
  tableName: 'post_tags',
  uniques: [{ properties: ['post', 'tag'] }],
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    post: () => p.manyToOne(Post).mapToPk().deleteRule('cascade'),
    tag: () => p.manyToOne(Tag).mapToPk().deleteRule('cascade').index(),
  },
});
export type PostTag = InferEntity<typeof PostTag>;

/** What a post says on one platform; `default` applies where a platform has no variant of its own. */
export const VARIANT_KEYS = ['default', ...PLATFORMS] as const;
export type VariantKey = (typeof VARIANT_KEYS)[number];

export const PostVariant = defineEntity({
  name: 'PostVariant',
  tableName: 'post_variants',
  uniques: [{ properties: ['post', 'platform'] }],
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    post: () => p.manyToOne(Post).mapToPk().deleteRule('cascade'),
    platform: p.enum(VARIANT_KEYS),
    caption: p.text().default(''),
    media: p.json<MediaRef[]>(),
    options: p.json<PlatformOptions>(),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type PostVariant = InferEntity<typeof PostVariant>;

export const TARGET_STATUSES = [
  'draft',
  'scheduled',
  'awaiting_approval',
  'publishing',
  'published',
  'failed',
  'cancelled',
] as const;
export type TargetStatus = (typeof TARGET_STATUSES)[number];
/** States a publish workflow owns: the reconciler expects one running for these. */
export const LIVE_TARGET_STATUSES = ['scheduled', 'awaiting_approval', 'publishing'] as const;

/**
 * One post on one connection at one time: the unit the publish workflow `publish/<targetId>` owns.
 * scheduleVersion grows with every schedule change, so a workflow can tell a new plan from an old one.
 */
export const PostTarget = defineEntity({
  name: 'PostTarget',
  tableName: 'post_targets',
  uniques: [{ properties: ['post', 'connection'] }],
  indexes: [{ properties: ['status', 'dueAt'] }],
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    post: () => p.manyToOne(Post).mapToPk().deleteRule('cascade'),
    connection: () => p.manyToOne(Connection).mapToPk().deleteRule('cascade').index(),
    platform: p.enum(PLATFORMS),
    /** Null: not scheduled (a draft target). */
    dueAt: p.datetime().nullable(),
    status: p.enum(TARGET_STATUSES).default('draft'),
    /** Why it failed or was cancelled, or what it waits for (rate limit, approval, reconnect). */
    statusReason: p.string().length(500).nullable(),
    scheduleVersion: p.integer().default(0),
    /** The post's contentVersion that went out. */
    publishedContentVersion: p.integer().nullable(),
    platformPostId: p.string().length(200).nullable(),
    permalink: p.string().length(500).nullable(),
    publishedAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type PostTarget = InferEntity<typeof PostTarget>;

export const ATTEMPT_STEPS = ['prepare', 'commit'] as const;
export type AttemptStep = (typeof ATTEMPT_STEPS)[number];
/**
 * started: recorded before the call, so a crash leaves it here and the next try checks the platform;
 * unknown: the call's outcome was lost (timeout, dropped connection, 5xx);
 * landed / not_landed: what the platform's truth signal said about an unknown (or started) commit.
 */
export const ATTEMPT_STATES = ['started', 'succeeded', 'failed', 'unknown', 'landed', 'not_landed'] as const;
export type AttemptState = (typeof ATTEMPT_STATES)[number];

export const PublishAttempt = defineEntity({
  name: 'PublishAttempt',
  tableName: 'publish_attempts',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    target: () => p.manyToOne(PostTarget).mapToPk().deleteRule('cascade').index(),
    step: p.enum(ATTEMPT_STEPS),
    /** Our own key for this write: `<targetId>:<step>:<n>`; unique, so a write is never recorded twice. */
    idempotencyKey: p.string().length(120).unique(),
    contentVersion: p.integer(),
    state: p.enum(ATTEMPT_STATES),
    /** The platform's handle for the prepared work (container id, upload session, publish id, media ids). */
    handle: p.json<Record<string, unknown>>().nullable(),
    platformPostId: p.string().length(200).nullable(),
    errorKind: p.string().length(32).nullable(),
    errorMessage: p.string().length(500).nullable(),
    startedAt: p.datetime().onCreate(() => new Date()),
    finishedAt: p.datetime().nullable(),
  },
});
export type PublishAttempt = InferEntity<typeof PublishAttempt>;

/**
 * A client approval link for one post: a 256-bit token stored as SHA-256, an optional bcrypt
 * password, a hard expiry checked on every request, and a failure counter for throttling.
 */
export const ApprovalLink = defineEntity({
  name: 'ApprovalLink',
  tableName: 'approval_links',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    post: () => p.manyToOne(Post).mapToPk().deleteRule('cascade').index(),
    tokenHash: p.string().length(64).unique(),
    passwordHash: p.string().length(100).nullable(),
    createdBy: () => p.manyToOne(User).mapToPk().deleteRule('set null').nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime(),
    revokedAt: p.datetime().nullable(),
    failedAttempts: p.integer().default(0),
    lockedUntil: p.datetime().nullable(),
    lastUsedAt: p.datetime().nullable(),
  },
});
export type ApprovalLink = InferEntity<typeof ApprovalLink>;
