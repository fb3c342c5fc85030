import type { EntityManager } from '@mikro-orm/core';
import { type Static, Type } from 'typebox';
import {
  APPROVAL_STATES,
  ATTEMPT_STATES,
  ATTEMPT_STEPS,
  type Post,
  PostTag,
  PostTarget,
  PostVariant,
  type PublishAttempt,
  TARGET_STATUSES,
  VARIANT_KEYS,
} from '../db/entities/index.ts';
import { PLATFORMS } from '../platforms/types.ts';
import { Strict, Timestamp, Uuid } from './schemas.ts';

// Schemas and entity → response shapes of posts, their variants and targets. Attempts are shown
// without their platform handles (container ids, upload sessions): those stay in PostgreSQL.

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;

export const MEDIA_KINDS = ['image', 'video', 'document'] as const;

export const MediaRefSchema = Strict({
  url: Type.String({
    format: 'uri',
    pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
    maxLength: 2048,
    description: 'http(s) URL',
  }),
  kind: Type.Enum(MEDIA_KINDS),
  mimeType: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}$' }),
  sizeBytes: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  durationS: Type.Optional(Type.Number({ minimum: 0, maximum: 86_400 })),
  altText: Type.Optional(Type.String({ maxLength: 1000 })),
});

const OptionValue = Type.Union([
  Type.String({ maxLength: 5000 }),
  Type.Number(),
  Type.Boolean(),
  Type.Array(Type.String({ maxLength: 500 }), { maxItems: 100 }),
  Type.Null(),
]);

export const OptionsSchema = Type.Record(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$' }), OptionValue, {
  additionalProperties: false,
  maxProperties: 50,
  description:
    'Platform options: youtube {title, privacyStatus}, tiktok {privacyLevel}, instagram {mediaType}, linkedin {visibility}, x {replySettings}, facebook {link}',
});

export const VariantInput = Strict({
  platform: Type.Enum(VARIANT_KEYS, {
    description: "'default' applies to every platform without a variant of its own",
  }),
  caption: Type.String({ maxLength: 70_000 }),
  media: Type.Array(MediaRefSchema, { maxItems: 35 }),
  options: Type.Optional(OptionsSchema),
});
export type VariantInput = Static<typeof VariantInput>;

export const VariantView = Type.Object({
  id: Uuid,
  platform: Type.Enum(VARIANT_KEYS),
  caption: Type.String(),
  media: Type.Array(MediaRefSchema),
  options: Type.Record(Type.String(), OptionValue),
  updatedAt: Timestamp,
});

export const TargetView = Type.Object({
  id: Uuid,
  postId: Uuid,
  connectionId: Uuid,
  platform: Type.Enum(PLATFORMS),
  status: Type.Enum(TARGET_STATUSES),
  statusReason: Nullable(Type.String()),
  dueAt: Nullable(Timestamp),
  scheduleVersion: Type.Integer(),
  publishedContentVersion: Nullable(Type.Integer()),
  platformPostId: Nullable(Type.String()),
  permalink: Nullable(Type.String()),
  publishedAt: Nullable(Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const AttemptView = Type.Object({
  id: Uuid,
  step: Type.Enum(ATTEMPT_STEPS),
  state: Type.Enum(ATTEMPT_STATES),
  contentVersion: Type.Integer(),
  errorKind: Nullable(Type.String()),
  startedAt: Timestamp,
  finishedAt: Nullable(Timestamp),
});

export const TargetStatusView = Type.Object({
  ...TargetView.properties,
  attempts: Type.Array(AttemptView, { description: 'Prepare and commit attempts, oldest first' }),
});

export const PostView = Type.Object({
  id: Uuid,
  workspaceId: Uuid,
  title: Nullable(Type.String()),
  columnId: Nullable(Uuid),
  position: Type.Integer(),
  templateId: Nullable(Uuid),
  requiresApproval: Type.Boolean(),
  approvalState: Type.Enum(APPROVAL_STATES),
  approvalFeedback: Nullable(Type.String()),
  approvalDecidedAt: Nullable(Timestamp),
  contentVersion: Type.Integer(),
  createdBy: Nullable(Uuid),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  tagIds: Type.Array(Uuid),
  variants: Type.Array(VariantView, { description: "Ordered: 'default' first, then by platform" }),
  targets: Type.Array(TargetView, { description: 'Ordered by creation' }),
});
export type PostView = Static<typeof PostView>;

const variantRank = (platform: string) => (VARIANT_KEYS as readonly string[]).indexOf(platform);
export const sortVariants = <V extends { platform: string }>(variants: V[]) =>
  [...variants].sort((a, b) => variantRank(a.platform) - variantRank(b.platform));
export const sortTargets = <T extends { createdAt: Date; id: string }>(targets: T[]) =>
  [...targets].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));

export const variantView = (v: PostVariant) => ({
  id: v.id,
  platform: v.platform,
  caption: v.caption,
  media: v.media,
  options: v.options ?? {},
  updatedAt: v.updatedAt.toISOString(),
});

export const targetView = (t: PostTarget) => ({
  id: t.id,
  postId: t.post,
  connectionId: t.connection,
  platform: t.platform,
  status: t.status,
  statusReason: t.statusReason ?? null,
  dueAt: iso(t.dueAt),
  scheduleVersion: t.scheduleVersion,
  publishedContentVersion: t.publishedContentVersion ?? null,
  platformPostId: t.platformPostId ?? null,
  permalink: t.permalink ?? null,
  publishedAt: iso(t.publishedAt),
  createdAt: t.createdAt.toISOString(),
  updatedAt: t.updatedAt.toISOString(),
});

/** Never the attempt's handle or raw platform error text. */
export const attemptView = (a: PublishAttempt) => ({
  id: a.id,
  step: a.step,
  state: a.state,
  contentVersion: a.contentVersion,
  errorKind: a.errorKind ?? null,
  startedAt: a.startedAt.toISOString(),
  finishedAt: iso(a.finishedAt),
});

export function postView(
  post: Post,
  parts: { variants: PostVariant[]; targets: PostTarget[]; tagIds: string[] },
): PostView {
  return {
    id: post.id,
    workspaceId: post.workspace,
    title: post.title ?? null,
    columnId: post.column ?? null,
    position: post.position,
    templateId: post.template ?? null,
    requiresApproval: post.requiresApproval,
    approvalState: post.approvalState,
    approvalFeedback: post.approvalFeedback ?? null,
    approvalDecidedAt: iso(post.approvalDecidedAt),
    contentVersion: post.contentVersion,
    createdBy: post.createdBy ?? null,
    createdAt: post.createdAt.toISOString(),
    updatedAt: post.updatedAt.toISOString(),
    tagIds: [...parts.tagIds].sort(),
    variants: sortVariants(parts.variants).map(variantView),
    targets: sortTargets(parts.targets).map(targetView),
  };
}

/** Views of `posts` in their given order, with three queries for all their variants, targets and tags. */
export async function loadPostViews(em: EntityManager, posts: Post[]): Promise<PostView[]> {
  if (posts.length === 0) return [];
  const ids = posts.map((p) => p.id);
  const [variants, targets, tags] = await Promise.all([
    em.find(PostVariant, { post: { $in: ids } }),
    em.find(PostTarget, { post: { $in: ids } }),
    em.find(PostTag, { post: { $in: ids } }),
  ]);
  const group = <T extends { post: string }>(rows: T[]) => {
    const map = new Map<string, T[]>();
    for (const row of rows) map.set(row.post, [...(map.get(row.post) ?? []), row]);
    return map;
  };
  const [byVariant, byTarget, byTag] = [group(variants), group(targets), group(tags)];
  return posts.map((p) =>
    postView(p, {
      variants: byVariant.get(p.id) ?? [],
      targets: byTarget.get(p.id) ?? [],
      tagIds: (byTag.get(p.id) ?? []).map((t) => t.tag),
    }),
  );
}

export const CalendarEntry = Type.Object({
  targetId: Uuid,
  postId: Uuid,
  title: Nullable(Type.String()),
  excerpt: Type.String({
    description: "The target's caption (its platform's variant, else default), ≤ 140 characters",
  }),
  platform: Type.Enum(PLATFORMS),
  connectionId: Uuid,
  status: Type.Enum(TARGET_STATUSES),
  dueAt: Nullable(Timestamp),
  publishedAt: Nullable(Timestamp),
  permalink: Nullable(Type.String()),
});

export const EXCERPT_MAX = 140;
/** At most 140 code points; a cut caption ends with an ellipsis. */
export function excerpt(caption: string): string {
  const chars = [...caption.replace(/\s+/g, ' ').trim()];
  return chars.length <= EXCERPT_MAX ? chars.join('') : `${chars.slice(0, EXCERPT_MAX - 1).join('')}…`;
}
