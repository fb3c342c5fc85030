import type { EntityManager } from '@mikro-orm/core';
import { AuditEvent } from '../db/entities/index.ts';

export type AuditAction =
  | 'account.created'
  | 'auth.sign_in.succeeded'
  | 'auth.sign_in.failed'
  | 'auth.sign_in.throttled'
  | 'auth.lockout'
  | 'auth.signed_out'
  | 'auth.signed_out_everywhere'
  | 'token.created'
  | 'token.revoked'
  | 'workspace.created'
  | 'workspace.renamed'
  | 'member.role_changed'
  | 'member.removed'
  | 'member.left'
  | 'invitation.created'
  | 'invitation.accepted'
  | 'invitation.revoked'
  | 'invitation.expired'
  | 'auth.google.signed_in'
  | 'auth.google.linked'
  | 'connection.started'
  | 'connection.connected'
  | 'connection.reconnected'
  | 'connection.failed'
  | 'connection.needs_reconnect'
  | 'connection.disconnect_requested'
  | 'connection.disconnected'
  | 'vault.rotated'
  | 'deletion.requested'
  | 'deletion.started'
  | 'deletion.step'
  | 'deletion.refused'
  | 'deletion.at_risk'
  | 'deletion.overdue'
  | 'deletion.cancelled'
  | 'deletion.completed'
  | 'legal_hold.placed'
  | 'legal_hold.released'
  | 'export.requested'
  | 'export.completed'
  | 'export.downloaded'
  | 'audit.verified'
  | 'meta.deauthorized'
  | 'post.created'
  | 'post.updated'
  | 'post.deleted'
  | 'post.scheduled'
  | 'post.unscheduled'
  | 'post.target_added'
  | 'post.target_removed'
  | 'publish.published'
  | 'publish.failed'
  | 'publish.cancelled'
  | 'approval_link.created'
  | 'approval_link.revoked'
  | 'approval_link.throttled'
  | 'approval.decided';

export interface AuditEntry {
  action: AuditAction;
  actorId?: string | null;
  workspaceId?: string | null;
  targetType?: string;
  targetId?: string;
  requestId?: string;
  /** Ids and enums only. */
  details?: Record<string, string | number | boolean | null>;
}

/** Adds an audit row to the unit of work, so it commits (or not) with the change it describes. */
export function audit(em: EntityManager, entry: AuditEntry): void {
  em.create(AuditEvent, {
    action: entry.action,
    actorId: entry.actorId ?? null,
    workspaceId: entry.workspaceId ?? null,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    requestId: entry.requestId ?? null,
    details: entry.details ?? null,
  });
}
