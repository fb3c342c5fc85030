import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Membership, Workspace } from '../../db/entities/index.ts';
import { audit } from '../../lib/audit.ts';
import { principalOf, requireRole } from '../plugins/auth.ts';
import {
  bearerSecurity,
  commonErrors,
  DisplayName,
  ErrorResponse,
  RoleSchema,
  Strict,
  Timestamp,
  Uuid,
  WorkspaceParams,
} from '../schemas.ts';
import { workspaceView } from '../views.ts';

const WorkspaceView = Type.Object({ id: Uuid, name: Type.String(), role: RoleSchema, createdAt: Timestamp });

export const workspaceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { orm } = app.deps;
  const tags = ['workspaces'];

  app.post(
    '/workspaces',
    {
      schema: {
        tags,
        summary: 'Create a workspace (the creator becomes its owner)',
        security: bearerSecurity,
        body: Strict({ name: DisplayName }),
        response: { 201: WorkspaceView, ...commonErrors },
      },
    },
    async (request, reply) => {
      const { userId } = principalOf(request);
      const workspace = await orm.em.transactional(async (em) => {
        const ws = em.create(Workspace, { name: request.body.name });
        await em.flush();
        em.create(Membership, { workspace: ws.id, user: userId, role: 'owner' });
        audit(em, {
          action: 'workspace.created',
          actorId: userId,
          workspaceId: ws.id,
          targetType: 'workspace',
          targetId: ws.id,
          requestId: request.id,
        });
        return ws;
      });
      return reply.status(201).send(workspaceView(workspace, 'owner'));
    },
  );

  app.get(
    '/workspaces',
    {
      schema: {
        tags,
        summary: 'Workspaces the caller belongs to',
        security: bearerSecurity,
        response: { 200: Type.Array(WorkspaceView), ...commonErrors },
      },
    },
    async (request) => {
      const memberships = await orm.em.find(Membership, { user: principalOf(request).userId });
      const workspaces = await orm.em.find(
        Workspace,
        { id: { $in: memberships.map((m) => m.workspace) } },
        { orderBy: { createdAt: 'asc' } },
      );
      const roles = new Map(memberships.map((m) => [m.workspace, m.role]));
      return workspaces.map((w) => workspaceView(w, roles.get(w.id)!));
    },
  );

  app.get(
    '/workspaces/:workspaceId',
    {
      schema: {
        tags,
        summary: 'One workspace',
        security: bearerSecurity,
        params: WorkspaceParams,
        response: { 200: WorkspaceView, ...commonErrors },
      },
    },
    async (request) => {
      const membership = await requireRole(request, request.params.workspaceId);
      return workspaceView(await orm.em.findOneOrFail(Workspace, request.params.workspaceId), membership.role);
    },
  );

  app.patch(
    '/workspaces/:workspaceId',
    {
      schema: {
        tags,
        summary: 'Rename a workspace (admin or owner)',
        security: bearerSecurity,
        params: WorkspaceParams,
        body: Strict({ name: DisplayName }),
        response: { 200: WorkspaceView, ...commonErrors, 403: ErrorResponse },
      },
    },
    async (request) => {
      const membership = await requireRole(request, request.params.workspaceId, 'admin');
      const workspace = await orm.em.transactional(async (em) => {
        const ws = await em.findOneOrFail(Workspace, request.params.workspaceId);
        ws.name = request.body.name;
        audit(em, {
          action: 'workspace.renamed',
          actorId: membership.user,
          workspaceId: ws.id,
          targetType: 'workspace',
          targetId: ws.id,
          requestId: request.id,
        });
        return ws;
      });
      return workspaceView(workspace, membership.role);
    },
  );
};
