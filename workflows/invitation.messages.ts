import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Role } from '../domain/roles.ts';

// The invitation workflow's contract, shared by the workflow, its client helpers and the API.
// Inputs and results are ids and enums: the invitee's address and the token never enter history.

export const INVITATION_PROCESS_KIND = 'invitation';
export const invitationWorkflowId = (invitationId: string) => `invitation/${invitationId}`;

export interface InvitationInput {
  invitationId: string;
  workspaceId: string;
  /** ISO-8601 instant after which the invitation expires; an input so tests can pass seconds. */
  expiresAt: string;
}

export type InvitationOutcome = 'accepted' | 'revoked' | 'expired';
export type InvitationState = 'pending' | InvitationOutcome;

export interface InvitationResult {
  invitationId: string;
  outcome: InvitationOutcome;
  /** The member who accepted, or who revoked. */
  userId?: string;
}

export interface AcceptInvitationArgs {
  userId: string;
}
export interface AcceptInvitationResult {
  workspaceId: string;
  role: Role;
}
export interface RevokeInvitationArgs {
  byUserId: string;
}

export const acceptInvitationUpdate = defineUpdate<AcceptInvitationResult, [AcceptInvitationArgs]>('accept');
export const revokeInvitationUpdate = defineUpdate<void, [RevokeInvitationArgs]>('revoke');
export const invitationStateQuery = defineQuery<InvitationState>('state');
