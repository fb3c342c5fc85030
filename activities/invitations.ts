import { LockMode, type MikroORM } from '@mikro-orm/core';
import { ApplicationFailure } from '@temporalio/activity';
import { Invitation, Membership, User } from '../db/entities/index.ts';
import { canInvite } from '../domain/roles.ts';
import { audit } from '../lib/audit.ts';
import type { AcceptInvitationResult } from '../workflows/invitation.messages.ts';

// Each activity is one transaction that locks the invitation row, so retries and races are safe:
// a retry after a committed write finds the outcome already recorded and returns it.

export function createInvitationActivities({ orm }: { orm: MikroORM }) {
  const inTx = <T>(fn: (em: MikroORM['em']) => Promise<T>) =>
    orm.em.fork().transactional((em) => fn(em as MikroORM['em']));

  const findLocked = (em: MikroORM['em'], invitationId: string) =>
    em.findOne(Invitation, invitationId, { lockMode: LockMode.PESSIMISTIC_WRITE });

  async function lockInvitation(em: MikroORM['em'], invitationId: string) {
    const invitation = await findLocked(em, invitationId);
    if (!invitation)
      throw ApplicationFailure.nonRetryable(`invitation ${invitationId} not found`, 'InvitationNotFound');
    return invitation;
  }

  return {
    async acceptInvitation({
      invitationId,
      userId,
    }: {
      invitationId: string;
      userId: string;
    }): Promise<AcceptInvitationResult> {
      return inTx(async (em) => {
        const invitation = await lockInvitation(em, invitationId);
        if (invitation.status === 'accepted' && invitation.acceptedBy === userId) {
          // A retry after a committed accept; if the member has left since, the invitation is used up.
          const member = await em.findOne(Membership, { workspace: invitation.workspace, user: userId });
          if (member) return { workspaceId: invitation.workspace, role: member.role };
        }
        if (invitation.status !== 'pending') {
          throw ApplicationFailure.nonRetryable(`invitation is ${invitation.status}`, 'InvitationNotPending');
        }
        const user = await em.findOne(User, userId);
        if (!user || user.email !== invitation.email) {
          throw ApplicationFailure.nonRetryable('invitation was sent to another address', 'InvitationEmailMismatch');
        }
        // An invitation is only as good as its sender's standing today (demoted or removed since?).
        const inviter = invitation.invitedBy
          ? await em.findOne(Membership, { workspace: invitation.workspace, user: invitation.invitedBy })
          : null;
        if (!inviter || !canInvite(inviter.role, invitation.role)) {
          throw ApplicationFailure.nonRetryable('the inviter may no longer grant this role', 'InvitationNoLongerValid');
        }
        let member = await em.findOne(Membership, { workspace: invitation.workspace, user: userId });
        member ??= em.create(Membership, { workspace: invitation.workspace, user: userId, role: invitation.role });
        invitation.status = 'accepted';
        invitation.acceptedBy = userId;
        invitation.decidedAt = new Date();
        audit(em, {
          action: 'invitation.accepted',
          actorId: userId,
          workspaceId: invitation.workspace,
          targetType: 'invitation',
          targetId: invitationId,
          details: { role: member.role },
        });
        return { workspaceId: invitation.workspace, role: member.role };
      });
    },

    async revokeInvitation({ invitationId, byUserId }: { invitationId: string; byUserId: string }): Promise<void> {
      await inTx(async (em) => {
        const invitation = await lockInvitation(em, invitationId);
        if (invitation.status === 'revoked') return;
        if (invitation.status !== 'pending') {
          throw ApplicationFailure.nonRetryable(`invitation is ${invitation.status}`, 'InvitationNotPending');
        }
        invitation.status = 'revoked';
        invitation.decidedAt = new Date();
        audit(em, {
          action: 'invitation.revoked',
          actorId: byUserId,
          workspaceId: invitation.workspace,
          targetType: 'invitation',
          targetId: invitationId,
        });
      });
    },

    async expireInvitation({ invitationId }: { invitationId: string }): Promise<void> {
      await inTx(async (em) => {
        const invitation = await findLocked(em, invitationId);
        // Gone (workspace deleted, or creation undone) or already decided: nothing left to expire.
        if (invitation?.status !== 'pending') return;
        invitation.status = 'expired';
        invitation.decidedAt = new Date();
        audit(em, {
          action: 'invitation.expired',
          workspaceId: invitation.workspace,
          targetType: 'invitation',
          targetId: invitationId,
        });
      });
    },
  };
}

export type InvitationActivities = ReturnType<typeof createInvitationActivities>;
