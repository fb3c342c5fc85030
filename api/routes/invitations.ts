import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { INVITATION_STATUSES, Invitation, Membership, User } from '../../db/entities/index.ts';
import { defaultPolicy, SECOND } from '../../domain/policy.ts';
import { canInvite } from '../../domain/roles.ts';
import { audit } from '../../lib/audit.ts';
import { newToken, sha256 } from '../../lib/secrets.ts';
import {
  acceptInvitation,
  revokeInvitation,
  startInvitation,
  updateFailureType,
} from '../../workflows/invitation.client.ts';
import { AppError, conflict, forbidden, notFound, unavailable } from '../errors.ts';
import { principalOf, requireRole } from '../plugins/auth.ts';
import {
  bearerSecurity,
  commonErrors,
  Email,
  ErrorResponse,
  RoleSchema,
  Strict,
  Timestamp,
  Uuid,
  WorkspaceParams,
} from '../schemas.ts';
import { invitationView } from '../views.ts';

const InvitationView = Type.Object({
  id: Uuid,
  workspaceId: Uuid,
  email: Type.String(),
  role: RoleSchema,
  status: Type.Enum(INVITATION_STATUSES),
  invitedBy: Type.Union([Uuid, Type.Null()]),
  acceptedBy: Type.Union([Uuid, Type.Null()]),
  createdAt: Timestamp,
  expiresAt: Timestamp,
  decidedAt: Type.Union([Timestamp, Type.Null()]),
});
const InvitationParams = Strict({ workspaceId: Uuid, invitationId: Uuid });

/** Maps a failed workflow update to the API's answer; the workflow is the judge of the invitation's state. */
function updateError(err: unknown): AppError {
  switch (updateFailureType(err)) {
    case 'InvitationNotPending':
      return conflict('INVITATION_NOT_PENDING', 'this invitation was already accepted, revoked or has expired');
    case 'InvitationEmailMismatch':
      return forbidden('this invitation was sent to another e-mail address');
    case 'InvitationNotFound':
      return notFound('invitation');
    case 'InvitationNoLongerValid':
      return conflict(
        'INVITATION_NO_LONGER_VALID',
        'the person who sent this invitation may no longer grant this role',
      );
    default:
      return unavailable('the invitation service did not answer; try again');
  }
}

export const invitationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { orm, temporal, config } = app.deps;
  const tags = ['invitations'];
  const errors = { ...commonErrors, 403: ErrorResponse, 409: ErrorResponse, 503: ErrorResponse };
  const maxTtlSeconds = defaultPolicy.invitationMaxTtlMs / SECOND;

  app.post(
    '/workspaces/:workspaceId/invitations',
    {
      schema: {
        tags,
        summary: 'Invite someone by e-mail (admin or owner)',
        description:
          'Starts the invitation workflow `invitation/<id>`, which waits for accept, revoke or expiry. The token is returned once; deliver it to the invitee.',
        security: bearerSecurity,
        params: WorkspaceParams,
        body: Strict({
          email: Email,
          role: RoleSchema,
          expiresInSeconds: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: maxTtlSeconds,
              description: `Default ${config.invitationTtlMs / SECOND}`,
            }),
          ),
        }),
        response: { 201: Type.Object({ invitation: InvitationView, token: Type.String() }), ...errors },
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      const actor = await requireRole(request, workspaceId, 'admin');
      const { role } = request.body;
      const email = request.body.email.toLowerCase();
      if (!canInvite(actor.role, role)) throw forbidden(`a ${actor.role} cannot invite a ${role}`);

      const existingUser = await orm.em.findOne(User, { email });
      if (existingUser && (await orm.em.count(Membership, { workspace: workspaceId, user: existingUser.id }))) {
        throw conflict('ALREADY_MEMBER', 'this person is already a member', 'body.email');
      }
      if (
        await orm.em.count(Invitation, {
          workspace: workspaceId,
          email,
          status: 'pending',
          expiresAt: { $gt: new Date() },
        })
      ) {
        throw conflict(
          'INVITATION_PENDING',
          'a pending invitation for this address exists; revoke it first',
          'body.email',
        );
      }

      const token = newToken('invitation');
      const ttlMs = (request.body.expiresInSeconds ?? config.invitationTtlMs / SECOND) * SECOND;
      const expiresAt = new Date(Date.now() + ttlMs);
      // The row commits first, so the workflow never runs ahead of it; if the start fails the row is
      // removed again. A start that did reach Temporal then finds no row and ends without effect.
      const invitation = await orm.em.transactional(async (em) => {
        const inv = em.create(Invitation, {
          workspace: workspaceId,
          email,
          role,
          tokenHash: sha256(token),
          invitedBy: actor.user,
          expiresAt,
        });
        await em.flush();
        return inv;
      });
      try {
        await startInvitation(temporal, config.taskQueues.core, {
          invitationId: invitation.id,
          workspaceId,
          expiresAt: expiresAt.toISOString(),
        });
      } catch (err) {
        request.log.error({ err }, 'starting the invitation workflow failed');
        await orm.em.fork().nativeDelete(Invitation, { id: invitation.id });
        throw unavailable('the invitation service did not answer; nothing was created, try again');
      }
      await orm.em.transactional(async (em) =>
        audit(em, {
          action: 'invitation.created',
          actorId: actor.user,
          workspaceId,
          targetType: 'invitation',
          targetId: invitation.id,
          requestId: request.id,
          details: { role },
        }),
      );
      return reply.status(201).send({ invitation: invitationView(invitation), token });
    },
  );

  app.get(
    '/workspaces/:workspaceId/invitations',
    {
      schema: {
        tags,
        summary: "A workspace's invitations",
        security: bearerSecurity,
        params: WorkspaceParams,
        querystring: Strict({ status: Type.Optional(Type.Enum(INVITATION_STATUSES)) }),
        response: { 200: Type.Array(InvitationView), ...commonErrors },
      },
    },
    async (request) => {
      await requireRole(request, request.params.workspaceId);
      const { status } = request.query;
      const rows = await orm.em.find(
        Invitation,
        { workspace: request.params.workspaceId, ...(status ? { status } : {}) },
        { orderBy: { createdAt: 'desc' }, limit: 500 },
      );
      return rows.map(invitationView);
    },
  );

  app.get(
    '/workspaces/:workspaceId/invitations/:invitationId',
    {
      schema: {
        tags,
        summary: "An invitation's state (from PostgreSQL, projected by its workflow)",
        security: bearerSecurity,
        params: InvitationParams,
        response: { 200: InvitationView, ...commonErrors },
      },
    },
    async (request) => {
      const { workspaceId, invitationId } = request.params;
      await requireRole(request, workspaceId);
      const invitation = await orm.em.findOne(Invitation, { id: invitationId, workspace: workspaceId });
      if (!invitation) throw notFound('invitation');
      return invitationView(invitation);
    },
  );

  app.delete(
    '/workspaces/:workspaceId/invitations/:invitationId',
    {
      schema: {
        tags,
        summary: 'Revoke a pending invitation (admin or owner)',
        security: bearerSecurity,
        params: InvitationParams,
        response: { 200: InvitationView, ...errors },
      },
    },
    async (request) => {
      const { workspaceId, invitationId } = request.params;
      const actor = await requireRole(request, workspaceId, 'admin');
      const invitation = await orm.em.findOne(Invitation, { id: invitationId, workspace: workspaceId });
      if (!invitation) throw notFound('invitation');
      if (invitation.status !== 'pending')
        throw conflict('INVITATION_NOT_PENDING', `this invitation is ${invitation.status}`);
      try {
        await revokeInvitation(temporal, invitationId, actor.user);
      } catch (err) {
        throw updateError(err);
      }
      return invitationView(await orm.em.fork().findOneOrFail(Invitation, invitationId));
    },
  );

  app.post(
    '/invitations/accept',
    {
      schema: {
        tags,
        summary: 'Accept an invitation with its token',
        description: "The signed-in account's e-mail address must be the one the invitation was sent to.",
        security: bearerSecurity,
        body: Strict({ token: Type.String({ minLength: 10, maxLength: 100 }) }),
        response: { 200: Type.Object({ workspaceId: Uuid, role: RoleSchema }), ...errors, 410: ErrorResponse },
      },
    },
    async (request) => {
      const { userId } = principalOf(request);
      const invitation = await orm.em.findOne(Invitation, { tokenHash: sha256(request.body.token) });
      if (!invitation) throw notFound('invitation');
      const user = await orm.em.findOneOrFail(User, userId);
      if (user.email !== invitation.email) throw forbidden('this invitation was sent to another e-mail address');
      if (invitation.status === 'accepted' && invitation.acceptedBy === userId) {
        const member = await orm.em.findOne(Membership, { workspace: invitation.workspace, user: userId });
        if (member) return { workspaceId: invitation.workspace, role: member.role };
        throw conflict('INVITATION_NOT_PENDING', 'this invitation was already used');
      }
      if (invitation.status === 'expired' || (invitation.status === 'pending' && invitation.expiresAt <= new Date())) {
        throw new AppError(410, 'INVITATION_EXPIRED', 'this invitation has expired; ask for a new one');
      }
      if (invitation.status !== 'pending')
        throw conflict('INVITATION_NOT_PENDING', `this invitation is ${invitation.status}`);
      try {
        const result = await acceptInvitation(temporal, invitation.id, userId);
        return { workspaceId: result.workspaceId, role: result.role };
      } catch (err) {
        throw updateError(err);
      }
    },
  );
};
