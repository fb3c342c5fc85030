import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { InvitationActivities } from '../activities/invitations.ts';
import { ProcessState } from '../domain/search-attributes.ts';
import {
  type AcceptInvitationArgs,
  acceptInvitationUpdate,
  type InvitationInput,
  type InvitationResult,
  type InvitationState,
  invitationStateQuery,
  type RevokeInvitationArgs,
  revokeInvitationUpdate,
} from './invitation.messages.ts';

const acts = proxyActivities<InvitationActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * Waits for accept, revoke, or the expiry timer; whichever comes first decides. Each decision is
 * written to PostgreSQL by an activity before the workflow reports it.
 */
export async function invitationWorkflow(input: InvitationInput): Promise<InvitationResult> {
  let state: InvitationState = 'pending';
  let deciding = false;
  let decidedBy: string | undefined;

  const decide = async <T>(
    outcome: InvitationResult['outcome'],
    userId: string | undefined,
    write: () => Promise<T>,
  ) => {
    deciding = true;
    try {
      const result = await write();
      state = outcome;
      decidedBy = userId;
      upsertSearchAttributes([{ key: ProcessState, value: outcome }]);
      return result;
    } finally {
      deciding = false;
    }
  };
  const mustBePending = () => {
    if (state !== 'pending' || deciding) {
      throw ApplicationFailure.nonRetryable(
        `invitation is ${deciding ? 'being decided' : state}`,
        'InvitationNotPending',
      );
    }
  };

  setHandler(invitationStateQuery, () => state);
  setHandler(
    acceptInvitationUpdate,
    ({ userId }) =>
      decide('accepted', userId, () => acts.acceptInvitation({ invitationId: input.invitationId, userId })),
    { validator: (_: AcceptInvitationArgs) => mustBePending() },
  );
  setHandler(
    revokeInvitationUpdate,
    ({ byUserId }) =>
      decide('revoked', byUserId, () => acts.revokeInvitation({ invitationId: input.invitationId, byUserId })),
    { validator: (_: RevokeInvitationArgs) => mustBePending() },
  );

  const remainingMs = Math.max(0, Date.parse(input.expiresAt) - Date.now());
  const decided = await condition(() => state !== 'pending', remainingMs);
  if (!decided) {
    // The timer may fire while an accept or revoke is being written; that one wins.
    await condition(() => !deciding);
    if (state === 'pending') {
      await decide('expired', undefined, () => acts.expireInvitation({ invitationId: input.invitationId }));
    }
  }
  await condition(allHandlersFinished);
  return { invitationId: input.invitationId, outcome: state as InvitationResult['outcome'], userId: decidedBy };
}
