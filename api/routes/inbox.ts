import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { type Static, Type } from 'typebox';
import { Connection, InboxMessage, InboxReply, InboxThread, SENTIMENTS } from '../../db/entities/index.ts';
import { sqlOf } from '../../lib/sql.ts';
import { PLATFORMS, type PlatformId, THREAD_KINDS, type ThreadKind } from '../../platforms/types.ts';
import { replyPolicy, runModeration, startReply } from '../../workflows/inbox.client.ts';
import { notifyInboxEvent } from '../../workflows/sync.client.ts';
import { AppError, notFound, unavailable } from '../errors.ts';
import { requireRole } from '../plugins/auth.ts';
import { bearerSecurity, commonErrors, Strict, Timestamp, Uuid } from '../schemas.ts';

// The inbox: comments, DMs and mentions the sync stored, filtered and paged from PostgreSQL;
// replies (written once, through `reply/<replyId>`), read marks, and moderation at the platform.

/** Longest reply each platform takes (characters; X counts its own way and refuses the rest). */
const REPLY_MAX: Record<PlatformId, number> = {
  youtube: 10_000,
  instagram: 2_200,
  facebook: 8_000,
  tiktok: 150,
  linkedin: 1_250,
  x: 280,
  threads: 500,
  whatsapp: 4_096,
};

const MessageView = Type.Object({
  id: Uuid,
  threadId: Uuid,
  connectionId: Uuid,
  platform: Type.String(),
  kind: Type.Enum(THREAD_KINDS),
  externalId: Type.String(),
  parentExternalId: Type.Union([Type.String(), Type.Null()]),
  direction: Type.Union([Type.Literal('in'), Type.Literal('out')]),
  author: Type.Object({ externalId: Type.String(), name: Type.Union([Type.String(), Type.Null()]) }),
  text: Type.String(),
  sentAt: Timestamp,
  receivedAt: Timestamp,
  read: Type.Boolean(),
  hidden: Type.Boolean(),
  removed: Type.Boolean(),
  sentiment: Type.Union([Type.Enum(SENTIMENTS), Type.Null()]),
  sentimentScore: Type.Union([Type.Number(), Type.Null()]),
  attachments: Type.Array(
    Type.Object({ id: Uuid, mimeType: Type.Union([Type.String(), Type.Null()]), status: Type.String() }),
  ),
});
type MessageView = Static<typeof MessageView>;

const ThreadView = Type.Object({
  id: Uuid,
  connectionId: Uuid,
  platform: Type.String(),
  kind: Type.Enum(THREAD_KINDS),
  externalId: Type.String(),
  lastMessageAt: Timestamp,
  unreadCount: Type.Integer(),
  messages: Type.Array(MessageView),
});

const ReplyView = Type.Object({
  id: Uuid,
  messageId: Uuid,
  status: Type.String(),
  statusReason: Type.Union([Type.String(), Type.Null()]),
  externalId: Type.Union([Type.String(), Type.Null()]),
  attempts: Type.Integer(),
  createdAt: Timestamp,
  sentAt: Type.Union([Timestamp, Type.Null()]),
});

const ListQuery = Strict({
  connectionId: Type.Optional(Uuid),
  platform: Type.Optional(Type.Enum(PLATFORMS)),
  kind: Type.Optional(Type.Enum(THREAD_KINDS)),
  sentiment: Type.Optional(Type.Union([Type.Enum(SENTIMENTS), Type.Literal('untagged')])),
  unread: Type.Optional(Type.Boolean()),
  threadId: Type.Optional(Uuid),
  direction: Type.Optional(Type.Union([Type.Literal('in'), Type.Literal('out')])),
  /** Keyset paging: the `next` of the previous page. */
  before: Type.Optional(Type.String({ maxLength: 100 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
});

type Row = {
  id: string;
  thread_id: string;
  connection_id: string;
  platform: string;
  kind: ThreadKind;
  external_id: string;
  parent_external_id: string | null;
  direction: 'in' | 'out';
  author_external_id: string;
  author_name: string | null;
  body: string;
  sent_at: Date;
  received_at: Date;
  read_at: Date | null;
  hidden: boolean;
  removed_at: Date | null;
  sentiment: (typeof SENTIMENTS)[number] | null;
  sentiment_score: number | null;
  attachments: { id: string; mimeType: string | null; status: string }[] | null;
};

const SELECT = `select m.id, m.thread_id, m.connection_id, m.platform, t.kind, m.external_id, m.parent_external_id,
  m.direction, m.author_external_id, m.author_name, m.body, m.sent_at, m.received_at, m.read_at, m.hidden,
  m.removed_at, m.sentiment, m.sentiment_score,
  (select json_agg(json_build_object('id', a.id, 'mimeType', a.mime_type, 'status', a.status) order by a.created_at)
     from inbox_attachments a where a.message_id = m.id) as attachments
  from inbox_messages m join inbox_threads t on t.id = m.thread_id`;

function view(r: Row): MessageView {
  return {
    id: r.id,
    threadId: r.thread_id,
    connectionId: r.connection_id,
    platform: r.platform,
    kind: r.kind,
    externalId: r.external_id,
    parentExternalId: r.parent_external_id,
    direction: r.direction,
    author: { externalId: r.author_external_id, name: r.author_name },
    text: r.body,
    sentAt: new Date(r.sent_at).toISOString(),
    receivedAt: new Date(r.received_at).toISOString(),
    read: r.direction === 'out' || r.read_at !== null,
    hidden: r.hidden,
    removed: r.removed_at !== null,
    sentiment: r.sentiment,
    sentimentScore: r.sentiment_score === null ? null : Number(r.sentiment_score),
    attachments: r.attachments ?? [],
  };
}

const replyView = (r: InboxReply) => ({
  id: r.id,
  messageId: r.message,
  status: r.status,
  statusReason: r.statusReason ?? null,
  externalId: r.externalId ?? null,
  attempts: r.attempts,
  createdAt: new Date(r.createdAt).toISOString(),
  sentAt: r.sentAt ? new Date(r.sentAt).toISOString() : null,
});

/** `before` cursor: the last message's sent time and id. */
const encodeCursor = (r: Row) => Buffer.from(`${new Date(r.sent_at).toISOString()}|${r.id}`).toString('base64url');
function decodeCursor(value: string): [string, string] {
  const [at, id] = Buffer.from(value, 'base64url').toString('utf8').split('|');
  if (!at || !id || Number.isNaN(Date.parse(at)) || !/^[0-9a-f-]{36}$/.test(id)) {
    throw new AppError(
      400,
      'VALIDATION_FAILED',
      'querystring.before is not a cursor this API gave',
      'querystring.before',
    );
  }
  return [at, id];
}

export const inboxRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { orm, temporal, config } = app.deps;
  const { adapters } = app;
  const tags = ['inbox'];

  async function messageOf(workspaceId: string, messageId: string) {
    const message = await orm.em.fork().findOne(InboxMessage, { id: messageId, workspace: workspaceId });
    if (!message) throw notFound('message');
    return message;
  }

  app.get(
    '/workspaces/:workspaceId/inbox',
    {
      schema: {
        tags,
        summary: 'Inbox messages, newest first, filtered',
        security: bearerSecurity,
        params: Strict({ workspaceId: Uuid }),
        querystring: ListQuery,
        response: {
          200: Type.Object({ items: Type.Array(MessageView), next: Type.Union([Type.String(), Type.Null()]) }),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const q = request.query as Static<typeof ListQuery>;
      const where = ['m.workspace_id = ?'];
      const params: unknown[] = [workspaceId];
      const add = (clause: string, ...values: unknown[]) => {
        where.push(clause);
        params.push(...values);
      };
      // Another workspace's connection or thread is not found, rather than an empty list.
      const em = orm.em.fork();
      if (q.connectionId && !(await em.findOne(Connection, { id: q.connectionId, workspace: workspaceId }))) {
        throw new AppError(404, 'NOT_FOUND', 'connection not found', 'querystring.connectionId');
      }
      if (q.threadId && !(await em.findOne(InboxThread, { id: q.threadId, workspace: workspaceId }))) {
        throw new AppError(404, 'NOT_FOUND', 'thread not found', 'querystring.threadId');
      }
      if (q.connectionId) add('m.connection_id = ?', q.connectionId);
      if (q.platform) add('m.platform = ?', q.platform);
      if (q.kind) add('t.kind = ?', q.kind);
      if (q.threadId) add('m.thread_id = ?', q.threadId);
      if (q.direction) add('m.direction = ?', q.direction);
      if (q.sentiment === 'untagged') where.push(`m.sentiment is null and m.direction = 'in'`);
      else if (q.sentiment) add('m.sentiment = ?', q.sentiment);
      if (q.unread === true) where.push(`m.read_at is null and m.direction = 'in'`);
      if (q.unread === false) where.push(`(m.read_at is not null or m.direction = 'out')`);
      if (q.before) {
        const [at, id] = decodeCursor(q.before);
        add('(m.sent_at, m.id) < (?::timestamptz, ?::uuid)', at, id);
      }
      const limit = q.limit ?? 50;
      const rows = await sqlOf(orm.em.fork()).execute<Row[]>(
        `${SELECT} where ${where.join(' and ')} order by m.sent_at desc, m.id desc limit ?`,
        [...params, limit + 1],
      );
      const items = rows.slice(0, limit);
      return { items: items.map(view), next: rows.length > limit ? encodeCursor(items[items.length - 1]!) : null };
    },
  );

  app.get(
    '/workspaces/:workspaceId/inbox/threads/:threadId',
    {
      schema: {
        tags,
        summary: 'A thread with its messages, oldest first',
        security: bearerSecurity,
        params: Strict({ workspaceId: Uuid, threadId: Uuid }),
        response: { 200: ThreadView, ...commonErrors },
      },
    },
    async (request) => {
      const { workspaceId, threadId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const thread = await orm.em.fork().findOne(InboxThread, { id: threadId, workspace: workspaceId });
      if (!thread) throw notFound('thread');
      const rows = await sqlOf(orm.em.fork()).execute<Row[]>(
        `${SELECT} where m.thread_id = ? order by m.sent_at, m.id limit 1000`,
        [thread.id],
      );
      return {
        id: thread.id,
        connectionId: thread.connection,
        platform: thread.platform,
        kind: thread.kind as ThreadKind,
        externalId: thread.externalId,
        lastMessageAt: new Date(thread.lastMessageAt).toISOString(),
        unreadCount: thread.unreadCount,
        messages: rows.map(view),
      };
    },
  );

  app.post(
    '/workspaces/:workspaceId/inbox/messages/:messageId/read',
    {
      schema: {
        tags,
        summary: 'Mark a message read (or unread)',
        security: bearerSecurity,
        params: Strict({ workspaceId: Uuid, messageId: Uuid }),
        body: Type.Optional(Strict({ read: Type.Optional(Type.Boolean()) })),
        response: {
          200: Type.Object({ id: Uuid, read: Type.Boolean(), threadUnread: Type.Integer() }),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      const { workspaceId, messageId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const message = await messageOf(workspaceId, messageId);
      const read = request.body?.read ?? true;
      // Message and thread counter change together; a repeated mark changes nothing.
      const unread = await orm.em.fork().transactional(async (tx) => {
        const sql = sqlOf(tx);
        const changed = await sql.execute<{ id: string }[]>(
          `update inbox_messages set read_at = ${read ? '?' : 'null'} where id = ? and direction = 'in'
           and read_at is ${read ? 'null' : 'not null'} returning id`,
          read ? [new Date(), message.id] : [message.id],
        );
        const [t] = await sql.execute<{ unread_count: number }[]>(
          'update inbox_threads set unread_count = greatest(0, unread_count + ?) where id = ? returning unread_count',
          [changed.length ? (read ? -1 : 1) : 0, message.thread],
        );
        return t?.unread_count ?? 0;
      });
      // Where the platform takes read receipts (WhatsApp), the connection's sync workflow sends them.
      if (read && adapters[message.platform as PlatformId].inbox?.markRead) {
        await notifyInboxEvent(temporal, config.taskQueues.core, {
          connectionId: message.connection,
          workspaceId,
          platform: message.platform as PlatformId,
        }).catch((err) => request.log.warn({ err }, 'read receipt deferred to the next pass'));
      }
      return { id: message.id, read: message.direction === 'out' || read, threadUnread: unread };
    },
  );

  app.post(
    '/workspaces/:workspaceId/inbox/threads/:threadId/read',
    {
      schema: {
        tags,
        summary: 'Mark every message of a thread read',
        security: bearerSecurity,
        params: Strict({ workspaceId: Uuid, threadId: Uuid }),
        response: { 200: Type.Object({ id: Uuid, marked: Type.Integer() }), ...commonErrors },
      },
    },
    async (request) => {
      const { workspaceId, threadId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const thread = await orm.em.fork().findOne(InboxThread, { id: threadId, workspace: workspaceId });
      if (!thread) throw notFound('thread');
      const marked = await orm.em.fork().transactional(async (tx) => {
        const rows = await sqlOf(tx).execute<{ id: string }[]>(
          `update inbox_messages set read_at = ? where thread_id = ? and direction = 'in' and read_at is null returning id`,
          [new Date(), thread.id],
        );
        // Counted again rather than zeroed: a message ingested meanwhile stays unread.
        await sqlOf(tx).execute(
          `update inbox_threads set unread_count = (select count(*) from inbox_messages
             where thread_id = ? and direction = 'in' and read_at is null and removed_at is null) where id = ?`,
          [thread.id, thread.id],
          'run',
        );
        return rows.length;
      });
      return { id: thread.id, marked };
    },
  );

  app.post(
    '/workspaces/:workspaceId/inbox/messages/:messageId/replies',
    {
      schema: {
        tags,
        summary: 'Reply to a message (sent once, in the background)',
        security: bearerSecurity,
        params: Strict({ workspaceId: Uuid, messageId: Uuid }),
        headers: Type.Object({
          'idempotency-key': Type.Optional(
            Type.String({
              minLength: 1,
              maxLength: 200,
              description: 'Repeating a request with the same key returns the reply it made instead of sending again',
            }),
          ),
        }),
        body: Strict({ text: Type.String({ minLength: 1, maxLength: 10_000 }) }),
        response: { 202: ReplyView, 409: commonErrors[404], ...commonErrors },
      },
    },
    async (request, reply) => {
      const { workspaceId, messageId } = request.params;
      const actor = await requireRole(request, workspaceId, 'member');
      const message = await messageOf(workspaceId, messageId);
      const thread = await orm.em.fork().findOneOrFail(InboxThread, message.thread);
      const conn = await orm.em.fork().findOneOrFail(Connection, message.connection);
      const platform = conn.platform as PlatformId;
      const inbox = adapters[platform].inbox;
      if (!inbox?.replyKinds.includes(thread.kind as ThreadKind)) {
        throw new AppError(
          400,
          'REPLY_NOT_SUPPORTED',
          `${platform} does not take replies to ${thread.kind}s through its API`,
          'params.messageId',
        );
      }
      if (message.removedAt) throw new AppError(409, 'MESSAGE_REMOVED', 'the message was removed', 'params.messageId');
      if (message.direction === 'out') {
        throw new AppError(400, 'VALIDATION_FAILED', 'this message was sent by the account itself', 'params.messageId');
      }
      if (conn.status !== 'active') {
        throw new AppError(409, 'CONNECTION_NOT_ACTIVE', `the connection is ${conn.status}`, 'params.messageId');
      }
      const text = request.body.text.trim();
      if (!text) throw new AppError(400, 'VALIDATION_FAILED', 'body.text is empty', 'body.text');
      if ([...text].length > REPLY_MAX[platform]) {
        throw new AppError(
          400,
          'VALIDATION_FAILED',
          `body.text is longer than ${platform} allows (${REPLY_MAX[platform]})`,
          'body.text',
        );
      }
      const key = request.headers['idempotency-key'];
      const start = (id: string) =>
        startReply(
          temporal,
          config.taskQueues.core,
          { replyId: id, connectionId: conn.id, workspaceId, policy: replyPolicy() },
          platform,
        );
      // A retried request (same key) gets the reply it already made; its workflow id is the reply's.
      const earlier = await orm.em.fork().findOne(
        InboxReply,
        key
          ? { message: message.id, idempotencyKey: key }
          : {
              message: message.id,
              body: text,
              status: { $in: ['pending', 'sending'] },
            },
      );
      if (earlier && key) {
        await start(earlier.id).catch((err) =>
          request.log.warn({ err, replyId: earlier.id }, 'reply workflow not reached'),
        );
        reply.code(202);
        return replyView(earlier);
      }
      if (earlier) {
        throw new AppError(
          409,
          'REPLY_IN_PROGRESS',
          'the same reply to this message is already being sent',
          'body.text',
        );
      }
      const em = orm.em.fork();
      const row = em.create(InboxReply, {
        workspace: workspaceId,
        connection: conn.id,
        message: message.id,
        body: text,
        idempotencyKey: key ?? null,
        createdBy: actor.user,
      });
      try {
        await em.flush();
      } catch (err) {
        // The same key raced in from another request: that one's reply is the answer.
        if (!(err instanceof UniqueConstraintViolationException) || !key) throw err;
        const raced = await orm.em.fork().findOneOrFail(InboxReply, { message: message.id, idempotencyKey: key });
        reply.code(202);
        return replyView(raced);
      }
      try {
        await start(row.id);
      } catch (err) {
        request.log.warn({ err, replyId: row.id }, 'could not start the reply workflow');
        await sqlOf(orm.em.fork()).execute(
          `update inbox_replies set status = 'failed', status_reason = 'not_started: workflow service unavailable' where id = ? and attempts = 0`,
          [row.id],
          'run',
        );
        throw unavailable('the reply could not be started; nothing was sent, try again');
      }
      reply.code(202);
      return replyView(row);
    },
  );

  app.get(
    '/workspaces/:workspaceId/inbox/replies/:replyId',
    {
      schema: {
        tags,
        summary: 'A reply and where it stands',
        security: bearerSecurity,
        params: Strict({ workspaceId: Uuid, replyId: Uuid }),
        response: { 200: ReplyView, ...commonErrors },
      },
    },
    async (request) => {
      const { workspaceId, replyId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const row = await orm.em.fork().findOne(InboxReply, { id: replyId, workspace: workspaceId });
      if (!row) throw notFound('reply');
      return replyView(row);
    },
  );

  app.post(
    '/workspaces/:workspaceId/inbox/messages/:messageId/moderate',
    {
      schema: {
        tags,
        summary: 'Hide, unhide or delete a message at the platform',
        security: bearerSecurity,
        params: Strict({ workspaceId: Uuid, messageId: Uuid }),
        body: Strict({ action: Type.Union([Type.Literal('hide'), Type.Literal('unhide'), Type.Literal('delete')]) }),
        response: {
          200: Type.Object({ id: Uuid, action: Type.String(), hidden: Type.Boolean(), removed: Type.Boolean() }),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      const { workspaceId, messageId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const message = await messageOf(workspaceId, messageId);
      const conn = await orm.em.fork().findOneOrFail(Connection, message.connection);
      const platform = conn.platform as PlatformId;
      const action = request.body.action;
      if (!adapters[platform].inbox?.moderation.includes(action)) {
        throw new AppError(
          400,
          'MODERATION_NOT_SUPPORTED',
          `${platform} does not allow ${action} through its API`,
          'body.action',
        );
      }
      if (message.direction === 'out' && action !== 'delete') {
        throw new AppError(400, 'VALIDATION_FAILED', 'only messages from others can be hidden', 'body.action');
      }
      let result: { ok: boolean; reason?: string };
      try {
        result = await runModeration(temporal, config.taskQueues.core, { messageId, workspaceId, action }, platform);
      } catch (err) {
        request.log.warn({ err, messageId }, 'moderation did not finish');
        throw unavailable('the platform did not confirm the moderation in time; try again');
      }
      if (!result.ok)
        throw new AppError(
          409,
          'MODERATION_REFUSED',
          `the platform refused: ${result.reason ?? 'unknown'}`,
          'body.action',
        );
      const after = await orm.em.fork().findOneOrFail(InboxMessage, messageId);
      return { id: messageId, action, hidden: after.hidden, removed: after.removedAt !== null };
    },
  );
};
