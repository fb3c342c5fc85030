import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { EntityManager } from '@mikro-orm/core';
import type { FastifyBaseLogger } from 'fastify';
import { Type } from 'typebox';
import {
  Connection,
  DELETION_KINDS,
  DELETION_RISKS,
  DELETION_STATUSES,
  DeletionRequest,
} from '../../db/entities/index.ts';
import { listRequests, requestView } from '../../lib/compliance.ts';
import type { Config } from '../../lib/config.ts';
import { createDeletionRequest, type NewDeletionRequest } from '../../lib/deletion-requests.ts';
import type { PlatformId } from '../../platforms/types.ts';
import { startDeletion } from '../../workflows/deletion.client.ts';
import type { AppDeps } from '../context.ts';
import { conflict, notFound } from '../errors.ts';
import { principalOf, requireRole, stepUp } from '../plugins/auth.ts';
import { bearerSecurity, commonErrors, Strict, Timestamp, Uuid, WorkspaceParams } from '../schemas.ts';

// Deletion requests a user or a workspace asks for. Each stores the request (with its legal due
// date) first, then starts `deletion/<id>`; a start that fails leaves a `received` request that the
// retention safety net starts, so nothing is half-written.

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const DeletionRequestView = Type.Object({
  id: Uuid,
  kind: Type.Enum(DELETION_KINDS),
  subjectId: Type.String(),
  workspaceId: Nullable(Uuid),
  channel: Type.String(),
  status: Type.Enum(DELETION_STATUSES),
  risk: Type.Enum(DELETION_RISKS),
  deadlineRule: Type.String(),
  receivedAt: Timestamp,
  dueAt: Timestamp,
  graceEndsAt: Nullable(Timestamp),
  startedAt: Nullable(Timestamp),
  completedAt: Nullable(Timestamp),
  cancelledAt: Nullable(Timestamp),
  reason: Nullable(Type.String()),
  late: Type.Boolean(),
});

/** Stores the request, then starts its workflow; returns the stored view either way. */
export async function submitDeletion(
  deps: AppDeps,
  em: EntityManager,
  input: NewDeletionRequest,
  log: FastifyBaseLogger,
): Promise<DeletionRequest> {
  const { request } = await createDeletionRequest(em, input, deps.config.privacy);
  try {
    await startDeletion(deps.temporal, deps.config, request);
  } catch (err) {
    log.warn(
      { err, requestId: request.id },
      'deletion stored; workflow start failed, the safety-net sweep will start it',
    );
  }
  return request;
}

async function openRequestFor(em: EntityManager, kind: string, subjectId: string) {
  return em.findOne(DeletionRequest, {
    kind: kind as never,
    subjectId,
    status: { $in: ['received', 'in_grace', 'in_progress'] },
  });
}

export function platformsOf(rows: { platform: string }[]): PlatformId[] {
  return [...new Set(rows.map((r) => r.platform as PlatformId))];
}

export const deletionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { orm } = app.deps;
  const _config: Config = app.deps.config;
  const tags = ['privacy'];
  const accepted = { 202: DeletionRequestView, ...commonErrors };

  app.post(
    '/account/deletion',
    {
      schema: {
        tags,
        summary: 'Delete my account',
        description:
          'Sessions and API tokens stop working at once and connected platforms are revoked; platform data is purged at once. First-party data can be restored during the grace period (sign in with `restore: true`), then it is purged. Refused while you are the only owner of a workspace that has other members.',
        security: bearerSecurity,
        body: Strict({
          password: Type.Optional(
            Type.String({ minLength: 1, maxLength: 1024, description: 'Required for accounts with a password.' }),
          ),
        }),
        response: accepted,
      },
    },
    async (request, reply) => {
      const { userId } = principalOf(request);
      const em = orm.em.fork();
      await stepUp(request, request.body.password);
      if (await openRequestFor(em, 'account', userId))
        throw conflict('DELETION_PENDING', 'this account is already being deleted');
      const [blocking] = await em.getConnection().execute<{ n: string }[]>(
        `select count(*)::text as n from memberships m where m.user_id = ? and m.role = 'owner'
           and exists (select 1 from memberships o where o.workspace_id = m.workspace_id and o.user_id <> m.user_id)
           and not exists (select 1 from memberships o where o.workspace_id = m.workspace_id and o.user_id <> m.user_id and o.role = 'owner')`,
        [userId],
      );
      if (Number(blocking?.n ?? 0) > 0) {
        throw conflict(
          'SOLE_OWNER',
          'you are the only owner of a workspace with other members; make someone else owner first',
        );
      }
      const platforms = platformsOf(
        await em.getConnection().execute(
          `select distinct c.platform from connections c join memberships m on m.workspace_id = c.workspace_id
            where m.user_id = ? and not exists (select 1 from memberships o where o.workspace_id = m.workspace_id and o.user_id <> m.user_id)`,
          [userId],
        ),
      );
      const created = await submitDeletion(
        app.deps,
        em,
        { kind: 'account', subjectId: userId, workspaceId: null, requestedBy: userId, channel: 'api', platforms },
        request.log,
      );
      return reply.status(202).send(requestView(created));
    },
  );

  app.get(
    '/account/deletion-requests',
    {
      schema: {
        tags,
        summary: 'Deletion requests I made',
        security: bearerSecurity,
        response: { 200: Type.Array(DeletionRequestView), ...commonErrors },
      },
    },
    async (request) => {
      const { userId } = principalOf(request);
      const rows = await orm.em
        .fork()
        .find(DeletionRequest, { requestedBy: userId }, { orderBy: { receivedAt: 'desc' }, limit: 200 });
      return rows.map(requestView);
    },
  );

  app.post(
    '/workspaces/:workspaceId/deletion',
    {
      schema: {
        tags,
        summary: 'Delete a workspace (owner)',
        description:
          'Revokes every connection upstream, then deletes the workspace and everything in it: members, invitations, connections, notices, exports. Blocked items under a legal hold are kept and reported.',
        security: bearerSecurity,
        params: WorkspaceParams,
        response: accepted,
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      const { user } = await requireRole(request, workspaceId, 'owner');
      const em = orm.em.fork();
      if (await openRequestFor(em, 'workspace', workspaceId)) {
        throw conflict('DELETION_PENDING', 'this workspace is already being deleted');
      }
      const platforms = platformsOf(await em.find(Connection, { workspace: workspaceId }, { fields: ['platform'] }));
      const created = await submitDeletion(
        app.deps,
        em,
        { kind: 'workspace', subjectId: workspaceId, workspaceId, requestedBy: user, channel: 'api', platforms },
        request.log,
      );
      return reply.status(202).send(requestView(created));
    },
  );

  app.post(
    '/workspaces/:workspaceId/connections/:connectionId/deletion',
    {
      schema: {
        tags,
        summary: 'Disconnect a connection and delete its data (admin)',
        description:
          'Revokes upstream, deletes the tokens and every row that came from the platform account, then the connection.',
        security: bearerSecurity,
        params: Strict({ workspaceId: Uuid, connectionId: Uuid }),
        response: accepted,
      },
    },
    async (request, reply) => {
      const { workspaceId, connectionId } = request.params;
      const { user } = await requireRole(request, workspaceId, 'admin');
      const em = orm.em.fork();
      const conn = await em.findOne(Connection, { id: connectionId, workspace: workspaceId });
      if (!conn) throw notFound('connection');
      if (await openRequestFor(em, 'connection', connectionId)) {
        throw conflict('DELETION_PENDING', 'this connection is already being deleted');
      }
      const created = await submitDeletion(
        app.deps,
        em,
        {
          kind: 'connection',
          subjectId: connectionId,
          workspaceId,
          requestedBy: user,
          channel: 'api',
          platforms: [conn.platform as PlatformId],
        },
        request.log,
      );
      return reply.status(202).send(requestView(created));
    },
  );

  app.get(
    '/workspaces/:workspaceId/deletion-requests',
    {
      schema: {
        tags,
        summary: 'Deletion requests of a workspace (admin)',
        security: bearerSecurity,
        params: WorkspaceParams,
        response: { 200: Type.Array(DeletionRequestView), ...commonErrors },
      },
    },
    async (request) => {
      await requireRole(request, request.params.workspaceId, 'admin');
      const rows = await listRequests(orm.em.fork(), { workspaceId: request.params.workspaceId });
      return rows.map(requestView);
    },
  );
};
