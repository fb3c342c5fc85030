import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type EntityManager, LockMode } from '@mikro-orm/core';
import { Type } from 'typebox';
import { Membership, User, Workspace } from '../../db/entities/index.ts';
import { canChangeRole, canRemove } from '../../domain/roles.ts';
import { audit } from '../../lib/audit.ts';
import { conflict, forbidden, notFound } from '../errors.ts';
import { requireRole } from '../plugins/auth.ts';
import {
  bearerSecurity,
  commonErrors,
  ErrorResponse,
  RoleSchema,
  Strict,
  Timestamp,
  Uuid,
  WorkspaceParams,
} from '../schemas.ts';

const MemberView = Type.Object({
  userId: Uuid,
  name: Type.String(),
  email: Type.String(),
  role: RoleSchema,
  joinedAt: Timestamp,
});
const MemberParams = Strict({ workspaceId: Uuid, userId: Uuid });

/**
 * Locks the workspace row, so two owners demoting or removing each other at once cannot leave it
 * without an owner, then refuses if `member` is its last owner.
 */
async function assertNotLastOwner(em: EntityManager, member: Membership): Promise<void> {
  if (member.role !== 'owner') return;
  await em.findOneOrFail(Workspace, member.workspace, { lockMode: LockMode.PESSIMISTIC_WRITE });
  const owners = await em.count(Membership, { workspace: member.workspace, role: 'owner' });
  if (owners <= 1)
    throw conflict('LAST_OWNER', 'a workspace must keep at least one owner; make someone else owner first');
}

export const memberRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { orm } = app.deps;
  const tags = ['members'];
  const errors = { ...commonErrors, 403: ErrorResponse, 409: ErrorResponse };

  app.get(
    '/workspaces/:workspaceId/members',
    {
      schema: {
        tags,
        summary: 'Members of a workspace',
        security: bearerSecurity,
        params: WorkspaceParams,
        response: { 200: Type.Array(MemberView), ...commonErrors },
      },
    },
    async (request) => {
      await requireRole(request, request.params.workspaceId);
      const members = await orm.em.find(
        Membership,
        { workspace: request.params.workspaceId },
        { orderBy: { createdAt: 'asc' } },
      );
      const users = new Map(
        (await orm.em.find(User, { id: { $in: members.map((m) => m.user) } })).map((u) => [u.id, u]),
      );
      return members.map((m) => {
        const u = users.get(m.user)!;
        return { userId: m.user, name: u.name, email: u.email, role: m.role, joinedAt: m.createdAt.toISOString() };
      });
    },
  );

  app.patch(
    '/workspaces/:workspaceId/members/:userId',
    {
      schema: {
        tags,
        summary: "Change a member's role",
        description:
          'Owners may change any role; admins may move people between member and admin. The last owner cannot be demoted.',
        security: bearerSecurity,
        params: MemberParams,
        body: Strict({ role: RoleSchema }),
        response: { 200: Type.Object({ userId: Uuid, role: RoleSchema }), ...errors },
      },
    },
    async (request) => {
      const { workspaceId, userId } = request.params;
      const actor = await requireRole(request, workspaceId);
      return orm.em.transactional(async (em) => {
        const target = await em.findOne(Membership, { workspace: workspaceId, user: userId });
        if (!target) throw notFound('member');
        const { role } = request.body;
        if (!canChangeRole(actor.role, target.role, role))
          throw forbidden(`a ${actor.role} cannot change a ${target.role} to ${role}`);
        if (target.role !== role) {
          if (role !== 'owner') await assertNotLastOwner(em, target);
          audit(em, {
            action: 'member.role_changed',
            actorId: actor.user,
            workspaceId,
            targetType: 'user',
            targetId: userId,
            requestId: request.id,
            details: { from: target.role, to: role },
          });
          target.role = role;
        }
        return { userId, role: target.role };
      });
    },
  );

  app.delete(
    '/workspaces/:workspaceId/members/:userId',
    {
      schema: {
        tags,
        summary: 'Remove a member, or leave (your own user id)',
        description:
          'Owners may remove anyone; admins may remove members and admins. The last owner cannot leave or be removed.',
        security: bearerSecurity,
        params: MemberParams,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const { workspaceId, userId } = request.params;
      const actor = await requireRole(request, workspaceId);
      const leaving = actor.user === userId;
      await orm.em.transactional(async (em) => {
        const target = await em.findOne(Membership, { workspace: workspaceId, user: userId });
        if (!target) throw notFound('member');
        if (!leaving && !canRemove(actor.role, target.role))
          throw forbidden(`a ${actor.role} cannot remove a ${target.role}`);
        await assertNotLastOwner(em, target);
        em.remove(target);
        audit(em, {
          action: leaving ? 'member.left' : 'member.removed',
          actorId: actor.user,
          workspaceId,
          targetType: 'user',
          targetId: userId,
          requestId: request.id,
        });
      });
      return reply.status(204).send(null);
    },
  );
};
