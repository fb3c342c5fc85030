import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type EntityManager, UniqueConstraintViolationException } from '@mikro-orm/core';
import { Type } from 'typebox';
import {
  APPROVAL_STATES,
  BoardColumn,
  Idea,
  type PlatformOptions,
  Post,
  PostVariant,
  Tag,
  Template,
  VARIANT_KEYS,
} from '../../db/entities/index.ts';
import { sqlOf } from '../../lib/sql.ts';
import { conflict, notFound } from '../errors.ts';
import { requireRole } from '../plugins/auth.ts';
import { bearerSecurity, commonErrors, ErrorResponse, Strict, Timestamp, Uuid, WorkspaceParams } from '../schemas.ts';

// The planning board of a workspace: tags, ordered columns, templates and ideas, which become draft
// posts. Every row is read by (id, workspace), so another tenant's id is simply not found. Positions
// in a group (the columns of a workspace, the ideas of a column) are kept as 0..n-1; every change
// that renumbers takes the workspace's board lock first, so two moves at once cannot interleave.

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;
/** The largest position a move or insert accepts; larger values are clamped to the end anyway. */
const MAX_POSITION = 100_000;
const Position = Type.Integer({ minimum: 0, maximum: MAX_POSITION });

const TagName = Type.String({ minLength: 1, maxLength: 50 });
const Color = Type.String({ pattern: '^#[0-9a-fA-F]{6}$', minLength: 7, maxLength: 7, description: '#rrggbb' });
const ColumnName = Type.String({ minLength: 1, maxLength: 100 });
const TemplateName = Type.String({ minLength: 1, maxLength: 100 });
const Caption = Type.String({ maxLength: 10_000 });
const IdeaTitle = Type.String({ minLength: 1, maxLength: 200 });
const Notes = Type.String({ maxLength: 10_000 });

/** One platform's options: small scalar values (checked per platform when a post is scheduled). */
const OptionsSchema = Type.Record(
  Type.String({ minLength: 1, maxLength: 50 }),
  Type.Union([
    Type.String({ maxLength: 5000 }),
    Type.Number(),
    Type.Boolean(),
    Type.Array(Type.String({ maxLength: 500 }), { maxItems: 50 }),
    Type.Null(),
  ]),
  { maxProperties: 50 },
);
/** Options per platform (or `default`). */
const TemplateOptions = Type.Object(
  Object.fromEntries(VARIANT_KEYS.map((k) => [k, Type.Optional(OptionsSchema)])) as Record<
    (typeof VARIANT_KEYS)[number],
    Type.TOptional<typeof OptionsSchema>
  >,
  { additionalProperties: false },
);

const TagView = Type.Object({ id: Uuid, name: Type.String(), color: Nullable(Type.String()), createdAt: Timestamp });
const ColumnView = Type.Object({ id: Uuid, name: Type.String(), position: Type.Integer(), createdAt: Timestamp });
const TemplateView = Type.Object({
  id: Uuid,
  name: Type.String(),
  caption: Type.String(),
  options: TemplateOptions,
  createdBy: Nullable(Uuid),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
const IdeaView = Type.Object({
  id: Uuid,
  title: Type.String(),
  notes: Nullable(Type.String()),
  columnId: Nullable(Uuid),
  position: Type.Integer(),
  createdBy: Nullable(Uuid),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
const BoardPostView = Type.Object({
  id: Uuid,
  title: Nullable(Type.String()),
  approvalState: Type.Enum(APPROVAL_STATES),
  position: Type.Integer(),
});
const BoardView = Type.Object({
  columns: Type.Array(
    Type.Object({
      ...ColumnView.properties,
      ideas: Type.Array(IdeaView),
      posts: Type.Array(BoardPostView),
    }),
  ),
  unassignedIdeas: Type.Array(IdeaView, {
    description: 'Ideas without a column (e.g. after their column was deleted)',
  }),
});

const tagView = (t: Tag) => ({ id: t.id, name: t.name, color: t.color ?? null, createdAt: t.createdAt.toISOString() });
const columnView = (c: BoardColumn) => ({
  id: c.id,
  name: c.name,
  position: c.position,
  createdAt: c.createdAt.toISOString(),
});
const templateView = (t: Template) => ({
  id: t.id,
  name: t.name,
  caption: t.caption,
  options: t.options ?? {},
  createdBy: t.createdBy ?? null,
  createdAt: t.createdAt.toISOString(),
  updatedAt: t.updatedAt.toISOString(),
});
const ideaView = (i: Idea) => ({
  id: i.id,
  title: i.title,
  notes: i.notes ?? null,
  columnId: i.column ?? null,
  position: i.position,
  createdBy: i.createdBy ?? null,
  createdAt: i.createdAt.toISOString(),
  updatedAt: iso(i.updatedAt) ?? i.createdAt.toISOString(),
});

/** Serialises every renumbering change of one workspace's board (held until the transaction ends). */
export async function lockBoard(em: EntityManager, workspaceId: string): Promise<void> {
  await sqlOf(em).execute('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`board:${workspaceId}`]);
}

/**
 * Puts `item` at `position` (clamped) in `group` (which may or may not hold it already) and numbers
 * the group 0..n-1; only rows whose position changes are written.
 */
function place<T extends { id: string; position: number }>(group: T[], item: T, position: number): void {
  const rest = group.filter((x) => x.id !== item.id);
  rest.splice(Math.min(position, rest.length), 0, item);
  renumber(rest);
}

function renumber<T extends { position: number }>(group: T[]): void {
  group.forEach((x, i) => {
    if (x.position !== i) x.position = i;
  });
}

const ORDER = { position: 'asc', createdAt: 'asc', id: 'asc' } as const;

const tagExists = (name: string) => conflict('TAG_EXISTS', `a tag named "${name}" already exists`, 'body.name');

export const boardRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { orm } = app.deps;
  const security = bearerSecurity;
  const errors = { ...commonErrors, 403: ErrorResponse };
  const deleted = { 204: Type.Null(), ...errors };

  const ideasOf = (em: EntityManager, workspaceId: string, columnId: string | null) =>
    em.find(Idea, { workspace: workspaceId, column: columnId }, { orderBy: ORDER });
  const columnOf = async (em: EntityManager, workspaceId: string, columnId: string) => {
    const column = await em.findOne(BoardColumn, { id: columnId, workspace: workspaceId });
    if (!column) throw notFound('column');
    return column;
  };

  // ── Tags ─────────────────────────────────────────────────────────────────────────────────────

  const TagParams = Strict({ workspaceId: Uuid, tagId: Uuid });

  app.get(
    '/workspaces/:workspaceId/tags',
    {
      schema: {
        tags: ['board'],
        summary: "A workspace's tags, by name",
        security,
        params: WorkspaceParams,
        response: { 200: Type.Array(TagView), ...errors },
      },
    },
    async (request) => {
      await requireRole(request, request.params.workspaceId, 'member');
      const rows = await orm.em.find(Tag, { workspace: request.params.workspaceId }, { orderBy: { name: 'asc' } });
      return rows.map(tagView);
    },
  );

  app.post(
    '/workspaces/:workspaceId/tags',
    {
      schema: {
        tags: ['board'],
        summary: 'Create a tag (names are unique in a workspace)',
        security,
        params: WorkspaceParams,
        body: Strict({ name: TagName, color: Type.Optional(Nullable(Color)) }),
        response: { 201: TagView, ...errors, 409: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const { name, color } = request.body;
      try {
        const tag = await orm.em.transactional(async (em) => {
          const row = em.create(Tag, { workspace: workspaceId, name, color: color?.toLowerCase() ?? null });
          await em.flush();
          return row;
        });
        return reply.status(201).send(tagView(tag));
      } catch (err) {
        if (err instanceof UniqueConstraintViolationException) throw tagExists(name);
        throw err;
      }
    },
  );

  app.patch(
    '/workspaces/:workspaceId/tags/:tagId',
    {
      schema: {
        tags: ['board'],
        summary: 'Rename or recolour a tag',
        security,
        params: TagParams,
        body: Strict({ name: Type.Optional(TagName), color: Type.Optional(Nullable(Color)) }),
        response: { 200: TagView, ...errors, 409: ErrorResponse },
      },
    },
    async (request) => {
      const { workspaceId, tagId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const { name, color } = request.body;
      try {
        return await orm.em.transactional(async (em) => {
          const tag = await em.findOne(Tag, { id: tagId, workspace: workspaceId });
          if (!tag) throw notFound('tag');
          if (name !== undefined) tag.name = name;
          if (color !== undefined) tag.color = color?.toLowerCase() ?? null;
          await em.flush();
          return tagView(tag);
        });
      } catch (err) {
        if (err instanceof UniqueConstraintViolationException) throw tagExists(name ?? '');
        throw err;
      }
    },
  );

  app.delete(
    '/workspaces/:workspaceId/tags/:tagId',
    {
      schema: {
        tags: ['board'],
        summary: 'Delete a tag (it is removed from its posts)',
        security,
        params: TagParams,
        response: deleted,
      },
    },
    async (request, reply) => {
      const { workspaceId, tagId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const n = await orm.em.nativeDelete(Tag, { id: tagId, workspace: workspaceId });
      if (!n) throw notFound('tag');
      return reply.status(204).send(null);
    },
  );

  // ── Columns ──────────────────────────────────────────────────────────────────────────────────

  const ColumnParams = Strict({ workspaceId: Uuid, columnId: Uuid });

  app.get(
    '/workspaces/:workspaceId/columns',
    {
      schema: {
        tags: ['board'],
        summary: 'Board columns, in order',
        security,
        params: WorkspaceParams,
        response: { 200: Type.Array(ColumnView), ...errors },
      },
    },
    async (request) => {
      await requireRole(request, request.params.workspaceId, 'member');
      const rows = await orm.em.find(BoardColumn, { workspace: request.params.workspaceId }, { orderBy: ORDER });
      return rows.map(columnView);
    },
  );

  app.post(
    '/workspaces/:workspaceId/columns',
    {
      schema: {
        tags: ['board'],
        summary: 'Add a column (at the end, or at `position`, moving the others along)',
        security,
        params: WorkspaceParams,
        body: Strict({ name: ColumnName, position: Type.Optional(Position) }),
        response: { 201: ColumnView, ...errors },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const column = await orm.em.transactional(async (em) => {
        await lockBoard(em, workspaceId);
        const columns = await em.find(BoardColumn, { workspace: workspaceId }, { orderBy: ORDER });
        const row = em.create(BoardColumn, {
          workspace: workspaceId,
          name: request.body.name,
          position: columns.length,
        });
        place(columns, row, request.body.position ?? columns.length);
        await em.flush();
        return row;
      });
      return reply.status(201).send(columnView(column));
    },
  );

  app.patch(
    '/workspaces/:workspaceId/columns/:columnId',
    {
      schema: {
        tags: ['board'],
        summary: 'Rename a column',
        security,
        params: ColumnParams,
        body: Strict({ name: ColumnName }),
        response: { 200: ColumnView, ...errors },
      },
    },
    async (request) => {
      const { workspaceId, columnId } = request.params;
      await requireRole(request, workspaceId, 'member');
      return orm.em.transactional(async (em) => {
        const column = await columnOf(em, workspaceId, columnId);
        column.name = request.body.name;
        await em.flush();
        return columnView(column);
      });
    },
  );

  app.post(
    '/workspaces/:workspaceId/columns/:columnId/move',
    {
      schema: {
        tags: ['board'],
        summary: 'Move a column to `position`; the others are renumbered (0..n-1) in the same transaction',
        security,
        params: ColumnParams,
        body: Strict({ position: Position }),
        response: { 200: Type.Array(ColumnView, { description: 'All columns, in their new order' }), ...errors },
      },
    },
    async (request) => {
      const { workspaceId, columnId } = request.params;
      await requireRole(request, workspaceId, 'member');
      return orm.em.transactional(async (em) => {
        await lockBoard(em, workspaceId);
        const columns = await em.find(BoardColumn, { workspace: workspaceId }, { orderBy: ORDER });
        const column = columns.find((c) => c.id === columnId);
        if (!column) throw notFound('column');
        place(columns, column, request.body.position);
        await em.flush();
        return [...columns].sort((a, b) => a.position - b.position).map(columnView);
      });
    },
  );

  app.delete(
    '/workspaces/:workspaceId/columns/:columnId',
    {
      schema: {
        tags: ['board'],
        summary: 'Delete a column; its ideas and posts stay, without a column',
        security,
        params: ColumnParams,
        response: deleted,
      },
    },
    async (request, reply) => {
      const { workspaceId, columnId } = request.params;
      await requireRole(request, workspaceId, 'member');
      await orm.em.transactional(async (em) => {
        await lockBoard(em, workspaceId);
        const column = await columnOf(em, workspaceId, columnId);
        // Its ideas join the end of the unassigned ideas; its posts simply lose their column.
        const moving = await ideasOf(em, workspaceId, columnId);
        const unassigned = await ideasOf(em, workspaceId, null);
        for (const idea of moving) idea.column = null;
        renumber([...unassigned, ...moving]);
        await em.flush();
        // Posts lose their column through the foreign key (on delete set null).
        em.remove(column);
        await em.flush();
        renumber(await em.find(BoardColumn, { workspace: workspaceId }, { orderBy: ORDER }));
        await em.flush();
      });
      return reply.status(204).send(null);
    },
  );

  // ── Templates ────────────────────────────────────────────────────────────────────────────────

  const TemplateParams = Strict({ workspaceId: Uuid, templateId: Uuid });

  app.get(
    '/workspaces/:workspaceId/templates',
    {
      schema: {
        tags: ['board'],
        summary: "A workspace's post templates, by name",
        security,
        params: WorkspaceParams,
        response: { 200: Type.Array(TemplateView), ...errors },
      },
    },
    async (request) => {
      await requireRole(request, request.params.workspaceId, 'member');
      const rows = await orm.em.find(
        Template,
        { workspace: request.params.workspaceId },
        { orderBy: { name: 'asc', createdAt: 'asc' } },
      );
      return rows.map(templateView);
    },
  );

  app.post(
    '/workspaces/:workspaceId/templates',
    {
      schema: {
        tags: ['board'],
        summary: 'Create a template: a caption and options per platform',
        security,
        params: WorkspaceParams,
        body: Strict({ name: TemplateName, caption: Caption, options: Type.Optional(TemplateOptions) }),
        response: { 201: TemplateView, ...errors },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      const actor = await requireRole(request, workspaceId, 'member');
      const template = await orm.em.transactional(async (em) => {
        const row = em.create(Template, {
          workspace: workspaceId,
          name: request.body.name,
          caption: request.body.caption,
          options: (request.body.options ?? {}) as Record<string, PlatformOptions>,
          createdBy: actor.user,
        });
        await em.flush();
        return row;
      });
      return reply.status(201).send(templateView(template));
    },
  );

  app.patch(
    '/workspaces/:workspaceId/templates/:templateId',
    {
      schema: {
        tags: ['board'],
        summary: 'Change a template (options are replaced as a whole)',
        security,
        params: TemplateParams,
        body: Strict({
          name: Type.Optional(TemplateName),
          caption: Type.Optional(Caption),
          options: Type.Optional(TemplateOptions),
        }),
        response: { 200: TemplateView, ...errors },
      },
    },
    async (request) => {
      const { workspaceId, templateId } = request.params;
      await requireRole(request, workspaceId, 'member');
      return orm.em.transactional(async (em) => {
        const template = await em.findOne(Template, { id: templateId, workspace: workspaceId });
        if (!template) throw notFound('template');
        const { name, caption, options } = request.body;
        if (name !== undefined) template.name = name;
        if (caption !== undefined) template.caption = caption;
        if (options !== undefined) template.options = options as Record<string, PlatformOptions>;
        await em.flush();
        return templateView(template);
      });
    },
  );

  app.delete(
    '/workspaces/:workspaceId/templates/:templateId',
    {
      schema: {
        tags: ['board'],
        summary: 'Delete a template (posts made from it keep their content)',
        security,
        params: TemplateParams,
        response: deleted,
      },
    },
    async (request, reply) => {
      const { workspaceId, templateId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const n = await orm.em.nativeDelete(Template, { id: templateId, workspace: workspaceId });
      if (!n) throw notFound('template');
      return reply.status(204).send(null);
    },
  );

  // ── Ideas ────────────────────────────────────────────────────────────────────────────────────

  const IdeaParams = Strict({ workspaceId: Uuid, ideaId: Uuid });

  app.get(
    '/workspaces/:workspaceId/ideas',
    {
      schema: {
        tags: ['board'],
        summary: 'Ideas, by column and position',
        security,
        params: WorkspaceParams,
        querystring: Strict({ columnId: Type.Optional(Uuid) }),
        response: { 200: Type.Array(IdeaView), ...errors },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const { columnId } = request.query;
      const rows = await orm.em.find(
        Idea,
        { workspace: workspaceId, ...(columnId ? { column: columnId } : {}) },
        { orderBy: { column: 'asc', ...ORDER }, limit: 5000 },
      );
      return rows.map(ideaView);
    },
  );

  app.post(
    '/workspaces/:workspaceId/ideas',
    {
      schema: {
        tags: ['board'],
        summary: 'Add an idea (at the end of its column, or at `position`)',
        security,
        params: WorkspaceParams,
        body: Strict({
          title: IdeaTitle,
          notes: Type.Optional(Nullable(Notes)),
          columnId: Type.Optional(Nullable(Uuid)),
          position: Type.Optional(Position),
        }),
        response: { 201: IdeaView, ...errors },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      const actor = await requireRole(request, workspaceId, 'member');
      const columnId = request.body.columnId ?? null;
      const idea = await orm.em.transactional(async (em) => {
        await lockBoard(em, workspaceId);
        if (columnId) await columnOf(em, workspaceId, columnId);
        const group = await ideasOf(em, workspaceId, columnId);
        const row = em.create(Idea, {
          workspace: workspaceId,
          title: request.body.title,
          notes: request.body.notes ?? null,
          column: columnId,
          position: group.length,
          createdBy: actor.user,
        });
        place(group, row, request.body.position ?? group.length);
        await em.flush();
        return row;
      });
      return reply.status(201).send(ideaView(idea));
    },
  );

  app.patch(
    '/workspaces/:workspaceId/ideas/:ideaId',
    {
      schema: {
        tags: ['board'],
        summary: "Change an idea's title or notes (move it with …/move)",
        security,
        params: IdeaParams,
        body: Strict({ title: Type.Optional(IdeaTitle), notes: Type.Optional(Nullable(Notes)) }),
        response: { 200: IdeaView, ...errors },
      },
    },
    async (request) => {
      const { workspaceId, ideaId } = request.params;
      await requireRole(request, workspaceId, 'member');
      return orm.em.transactional(async (em) => {
        const idea = await em.findOne(Idea, { id: ideaId, workspace: workspaceId });
        if (!idea) throw notFound('idea');
        if (request.body.title !== undefined) idea.title = request.body.title;
        if (request.body.notes !== undefined) idea.notes = request.body.notes;
        await em.flush();
        return ideaView(idea);
      });
    },
  );

  app.post(
    '/workspaces/:workspaceId/ideas/:ideaId/move',
    {
      schema: {
        tags: ['board'],
        summary: 'Move an idea to a column (null: no column) at `position`; both columns are renumbered',
        security,
        params: IdeaParams,
        body: Strict({ columnId: Nullable(Uuid), position: Position }),
        response: { 200: IdeaView, ...errors },
      },
    },
    async (request) => {
      const { workspaceId, ideaId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const { columnId, position } = request.body;
      return orm.em.transactional(async (em) => {
        await lockBoard(em, workspaceId);
        const idea = await em.findOne(Idea, { id: ideaId, workspace: workspaceId });
        if (!idea) throw notFound('idea');
        if (columnId) await columnOf(em, workspaceId, columnId);
        const from = idea.column ?? null;
        if (from !== columnId) {
          renumber((await ideasOf(em, workspaceId, from)).filter((x) => x.id !== idea.id));
          idea.column = columnId;
        }
        place(await ideasOf(em, workspaceId, columnId), idea, position);
        await em.flush();
        return ideaView(idea);
      });
    },
  );

  app.post(
    '/workspaces/:workspaceId/ideas/:ideaId/convert',
    {
      schema: {
        tags: ['board'],
        summary: 'Turn an idea into a draft post (its notes become the caption) and remove the idea',
        description:
          'One transaction: a post (title from the idea, same column, at the end of its posts) with a `default` variant, and the idea deleted.',
        security,
        params: IdeaParams,
        response: { 201: Type.Object({ postId: Uuid }), ...errors },
      },
    },
    async (request, reply) => {
      const { workspaceId, ideaId } = request.params;
      const actor = await requireRole(request, workspaceId, 'member');
      const postId = await orm.em.transactional(async (em) => {
        await lockBoard(em, workspaceId);
        const idea = await em.findOne(Idea, { id: ideaId, workspace: workspaceId });
        if (!idea) throw notFound('idea');
        const column = idea.column ?? null;
        const [last] = await em.find(
          Post,
          { workspace: workspaceId, column },
          { orderBy: { position: 'desc' }, limit: 1, fields: ['id', 'position'] },
        );
        const post = em.create(Post, {
          id: randomUUID(),
          workspace: workspaceId,
          title: idea.title,
          column,
          position: last ? last.position + 1 : 0,
          requiresApproval: false,
          approvalState: 'not_required',
          contentVersion: 1,
          createdBy: actor.user,
        });
        em.create(PostVariant, {
          workspace: workspaceId,
          post: post.id,
          platform: 'default',
          caption: idea.notes ?? '',
          media: [],
          options: {},
        });
        const siblings = (await ideasOf(em, workspaceId, column)).filter((x) => x.id !== idea.id);
        em.remove(idea);
        renumber(siblings);
        await em.flush();
        return post.id;
      });
      return reply.status(201).send({ postId });
    },
  );

  app.delete(
    '/workspaces/:workspaceId/ideas/:ideaId',
    {
      schema: {
        tags: ['board'],
        summary: 'Delete an idea (its column is renumbered)',
        security,
        params: IdeaParams,
        response: deleted,
      },
    },
    async (request, reply) => {
      const { workspaceId, ideaId } = request.params;
      await requireRole(request, workspaceId, 'member');
      await orm.em.transactional(async (em) => {
        await lockBoard(em, workspaceId);
        const idea = await em.findOne(Idea, { id: ideaId, workspace: workspaceId });
        if (!idea) throw notFound('idea');
        const siblings = (await ideasOf(em, workspaceId, idea.column ?? null)).filter((x) => x.id !== idea.id);
        em.remove(idea);
        renumber(siblings);
        await em.flush();
      });
      return reply.status(204).send(null);
    },
  );

  // ── The board ────────────────────────────────────────────────────────────────────────────────

  app.get(
    '/workspaces/:workspaceId/board',
    {
      schema: {
        tags: ['board'],
        summary: 'The board: columns in order, each with its ideas and posts by position',
        security,
        params: WorkspaceParams,
        response: { 200: BoardView, ...errors },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const em = orm.em.fork();
      const columns = await em.find(BoardColumn, { workspace: workspaceId }, { orderBy: ORDER });
      const columnIds = columns.map((c) => c.id);
      const ideas = await em.find(Idea, { workspace: workspaceId }, { orderBy: ORDER, limit: 5000 });
      const posts = columnIds.length
        ? await em.find(Post, { workspace: workspaceId, column: { $in: columnIds } }, { orderBy: ORDER })
        : [];
      return {
        columns: columns.map((c) => ({
          ...columnView(c),
          ideas: ideas.filter((i) => i.column === c.id).map(ideaView),
          posts: posts
            .filter((p) => p.column === c.id)
            .map((p) => ({ id: p.id, title: p.title ?? null, approvalState: p.approvalState, position: p.position })),
        })),
        unassignedIdeas: ideas.filter((i) => !i.column).map(ideaView),
      };
    },
  );
};
