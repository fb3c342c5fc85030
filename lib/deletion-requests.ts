import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { type DeletionChannel, type DeletionKind, DeletionRequest } from '../db/entities/index.ts';
import { deletionDeadline } from '../domain/deadlines.ts';
import type { PlatformId } from '../platforms/types.ts';
import { audit } from './audit.ts';
import type { PrivacyPolicy } from './config.ts';
import { sqlOf } from './sql.ts';

// Stores a deletion request with its legal due date. The row is written before anyone is answered
// (Meta asks for that) and before the workflow starts, so a crash in between leaves a `received`
// request that the safety-net sweep starts.

export interface NewDeletionRequest {
  kind: DeletionKind;
  subjectId: string;
  workspaceId: string | null;
  requestedBy: string | null;
  channel: DeletionChannel;
  /** Repeats with the same key (a retried callback) return the first request. */
  sourceKey?: string;
  /** Platforms whose data the subject holds: they set the shorter platform deadline. */
  platforms?: PlatformId[];
  /** Public status-page code (Meta callbacks). */
  withConfirmationCode?: boolean;
  receivedAt?: Date;
}

/** 20 characters of base32 (100 bits), alphanumeric as Meta asks. */
function confirmationCode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return [...randomBytes(20)].map((b) => alphabet[b % 32]).join('');
}

export async function createDeletionRequest(
  em: EntityManager,
  input: NewDeletionRequest,
  policy: PrivacyPolicy,
): Promise<{ request: DeletionRequest; created: boolean }> {
  return em.transactional(async (tx) => {
    // One open request per subject: concurrent submissions queue on this lock and find the first.
    await sqlOf(tx).execute('select pg_advisory_xact_lock(hashtext(?))', [`deletion:${input.kind}:${input.subjectId}`]);
    if (input.sourceKey) {
      const existing = await tx.findOne(DeletionRequest, { sourceKey: input.sourceKey });
      if (existing) return { request: existing, created: false };
    }
    // Callbacks carry their own key (each is a request Meta wants answered); the rest merge.
    const open = input.sourceKey
      ? null
      : await tx.findOne(DeletionRequest, {
          kind: input.kind,
          subjectId: input.subjectId,
          status: { $in: ['received', 'in_grace', 'in_progress'] },
        });
    if (open) return { request: open, created: false };
    const receivedAt = input.receivedAt ?? new Date();
    const deadline = deletionDeadline(input.kind, receivedAt, policy, input.platforms ?? []);
    const request = tx.create(DeletionRequest, {
      id: randomUUID(),
      kind: input.kind,
      subjectId: input.subjectId,
      workspaceId: input.workspaceId,
      requestedBy: input.requestedBy,
      channel: input.channel,
      sourceKey: input.sourceKey ?? null,
      confirmationCode: input.withConfirmationCode ? confirmationCode() : null,
      deadlineRule: deadline.rule,
      receivedAt,
      dueAt: deadline.dueAt,
      graceEndsAt: deadline.graceEndsAt ?? null,
    });
    audit(tx, {
      action: 'deletion.requested',
      actorId: input.requestedBy,
      workspaceId: input.workspaceId,
      targetType: 'deletion_request',
      targetId: request.id,
      details: { kind: input.kind, channel: input.channel, rule: deadline.rule, dueAt: deadline.dueAt.toISOString() },
    });
    await tx.flush();
    return { request, created: true };
  });
}
