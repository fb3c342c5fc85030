import type { MikroORM } from '@mikro-orm/core';
import { Connection, InboxMessage, InboxReply, InboxThread } from '../db/entities/index.ts';
import { defaultPolicy } from '../domain/policy.ts';
import type { Config } from '../lib/config.ts';
import { sqlOf } from '../lib/sql.ts';
import { PlatformError } from '../platforms/errors.ts';
import type { Adapters } from '../platforms/index.ts';
import type { ModerationAction, PlatformId, ReplyTarget, ThreadKind } from '../platforms/types.ts';
import type { ReplyStep } from '../workflows/inbox.messages.ts';
import { accountOf, readConnectionTokens } from './connections.ts';
import { beating } from './heartbeat.ts';
import { platformFailure } from './platform-failure.ts';
import { writeMessages } from './sync-store.ts';

// Replies and moderation: the inbox's writes at the platforms. A reply is exactly once, like a
// post: the attempt is recorded before the call, and after a lost answer (timeout, dropped
// connection, 5xx, a killed worker) the platform's truth signal is asked before anything is sent
// again. "Not there" is believed only after a grace period, because platform lists lag the write.

export interface InboxDeps {
  orm: MikroORM;
  config: Config;
  adapters: Adapters;
}

const policy = defaultPolicy.sync;

export function createInboxActivities({ orm, config, adapters }: InboxDeps) {
  const em = () => orm.em.fork();

  /** A message with its thread and connection, and where a reply or moderation of it goes. */
  async function loadMessage(messageId: string) {
    const message = await em().findOne(InboxMessage, messageId);
    const thread = message ? await em().findOne(InboxThread, message.thread) : null;
    const conn = message ? await em().findOne(Connection, message.connection) : null;
    if (!message || !thread || !conn) return undefined;
    const target: ReplyTarget = {
      threadKind: thread.kind as ThreadKind,
      threadExternalId: thread.externalId,
      messageExternalId: message.externalId,
      recipientExternalId: message.authorExternalId,
    };
    return { message, thread, conn, target, account: accountOf(conn), platform: conn.platform as PlatformId };
  }

  async function load(replyId: string) {
    const reply = await em().findOne(InboxReply, replyId);
    const found = reply ? await loadMessage(reply.message) : undefined;
    return reply && found ? { reply, ...found } : undefined;
  }

  async function update(replyId: string, fields: Record<string, unknown>) {
    const cols = Object.keys(fields);
    await sqlOf(em()).execute(
      `update inbox_replies set ${cols.map((c) => `${c} = ?`).join(', ')} where id = ?`,
      [...Object.values(fields), replyId],
      'run',
    );
  }

  /** Sent: the reply row and our copy of the message in its thread (a later sync finds it known). */
  async function markSent(loaded: NonNullable<Awaited<ReturnType<typeof load>>>, externalId: string) {
    const now = new Date();
    await em().transactional(async (tx) => {
      await sqlOf(tx).execute(
        `update inbox_replies set status = 'sent', attempt_state = 'succeeded', external_id = ?, sent_at = ?, status_reason = null where id = ?`,
        [externalId, now, loaded.reply.id],
        'run',
      );
      await writeMessages(
        tx,
        { connectionId: loaded.conn.id, workspaceId: loaded.conn.workspace, platform: loaded.platform },
        [
          {
            externalId,
            threadKind: loaded.target.threadKind,
            threadExternalId: loaded.target.threadExternalId,
            parentExternalId: loaded.target.messageExternalId,
            authorExternalId: loaded.conn.externalId,
            authorName: loaded.conn.displayName,
            text: loaded.reply.body,
            createdAt: now,
            fromAccount: true,
          },
        ],
        now,
        policy.refreshFetchedMs,
      );
    });
  }

  return {
    /** One step of a reply: verify an open attempt, or send. Answers what the workflow waits on. */
    async sendReply({
      replyId,
      verifyGraceMs = policy.replyVerifyGraceMs,
      unknownAfterMs = policy.replyUnknownAfterMs,
    }: {
      replyId: string;
      verifyGraceMs?: number;
      unknownAfterMs?: number;
    }): Promise<ReplyStep> {
      const loaded = await load(replyId);
      if (!loaded) return { outcome: 'failed', reason: 'gone' };
      const { reply, target, account, platform } = loaded;
      if (reply.status === 'sent') return { outcome: 'sent' };
      if (reply.status === 'failed' || reply.status === 'unknown')
        return { outcome: reply.status, reason: reply.statusReason ?? '' };
      if (loaded.conn.status !== 'active') return { outcome: 'token', kind: 'token_revoked' };
      const inbox = adapters[platform].inbox;
      if (!inbox) return { outcome: 'failed', reason: 'no_inbox' };
      const tokens = await readConnectionTokens(orm, config, loaded.conn.id);
      if (!tokens) return { outcome: 'token', kind: 'token_revoked' };

      // An attempt that may have landed: the platform's truth signal first.
      if ((reply.attemptState === 'started' || reply.attemptState === 'unknown') && reply.attemptStartedAt) {
        const since = new Date(reply.attemptStartedAt);
        const age = Date.now() - since.getTime();
        let check: Awaited<ReturnType<typeof inbox.findReply>>;
        try {
          check = await beating(() => inbox.findReply(tokens, account, target, reply.body, since));
        } catch (err) {
          if (err instanceof PlatformError && err.kind === 'rate_limited')
            return { outcome: 'wait', waitMs: Math.max(policy.minWaitMs, err.retryAfterMs ?? policy.rateLimitWaitMs) };
          if (err instanceof PlatformError && (err.kind === 'token_expired' || err.kind === 'token_revoked'))
            return { outcome: 'token', kind: err.kind };
          platformFailure(err);
        }
        if (check.found === true) {
          await markSent(loaded, check.externalId);
          return { outcome: 'sent' };
        }
        if (check.found === 'unknown') {
          if (age >= unknownAfterMs) {
            // The platform cannot say, and sending again could answer twice: a person decides.
            await update(replyId, {
              status: 'unknown',
              status_reason: 'outcome_unknown: the platform cannot confirm it',
            });
            return { outcome: 'unknown', reason: 'outcome_unknown' };
          }
          return { outcome: 'wait', waitMs: Math.min(check.checkAfterMs, unknownAfterMs - age) };
        }
        if (age < verifyGraceMs) return { outcome: 'wait', waitMs: verifyGraceMs - age };
        await update(replyId, { attempt_state: 'failed' });
      }

      // Recorded before it is sent: a crash from here on leaves `started`, and the next try verifies.
      await update(replyId, {
        status: 'sending',
        attempts: reply.attempts + 1,
        attempt_state: 'started',
        attempt_started_at: new Date(),
      });
      try {
        const sent = await beating(() => inbox.reply(tokens, account, target, reply.body));
        await markSent(loaded, sent.externalId);
        return { outcome: 'sent' };
      } catch (err) {
        if (!(err instanceof PlatformError)) throw err;
        switch (err.kind) {
          case 'outcome_unknown':
            await update(replyId, { attempt_state: 'unknown' });
            return { outcome: 'wait', waitMs: 0 };
          case 'rate_limited':
            await update(replyId, { attempt_state: 'failed' });
            return { outcome: 'wait', waitMs: Math.max(policy.minWaitMs, err.retryAfterMs ?? policy.rateLimitWaitMs) };
          case 'token_expired':
          case 'token_revoked':
            await update(replyId, { attempt_state: 'failed' });
            return { outcome: 'token', kind: err.kind };
          case 'transient':
            // The platform said it did nothing; the activity's retry sends again.
            await update(replyId, { attempt_state: 'failed' });
            return platformFailure(err);
          default:
            await update(replyId, {
              status: 'failed',
              attempt_state: 'failed',
              status_reason: err.message.slice(0, 500),
            });
            return { outcome: 'failed', reason: err.code ?? 'refused' };
        }
      }
    },

    /** The reply could not be sent (the account needs reconnecting, retries exhausted). */
    async failReply({ replyId, reason }: { replyId: string; reason: string }): Promise<void> {
      // An attempt that may have landed stays visible as unknown rather than failed.
      await sqlOf(em()).execute(
        `update inbox_replies set status = case when attempt_state in ('started', 'unknown') then 'unknown' else 'failed' end,
         status_reason = ? where id = ? and status not in ('sent', 'failed', 'unknown')`,
        [reason.slice(0, 500), replyId],
        'run',
      );
    },

    /** Hide, unhide or delete a message at the platform, then here. Repeating it is harmless. */
    async moderateMessage({
      messageId,
      action,
    }: {
      messageId: string;
      action: ModerationAction;
    }): Promise<{ ok: true } | { ok: false; reason: string }> {
      const found = await loadMessage(messageId);
      if (!found) return { ok: false, reason: 'gone' };
      const { message, conn } = found;
      const inbox = adapters[found.platform].inbox;
      if (!inbox?.moderation.includes(action)) return { ok: false, reason: 'not_supported' };
      const tokens = await readConnectionTokens(orm, config, conn.id);
      if (!tokens) return { ok: false, reason: 'needs_reconnect' };
      if (!(action === 'delete' && message.removedAt)) {
        try {
          await inbox.moderate(tokens, found.account, found.target, action);
        } catch (err) {
          // A second delete finds nothing to delete: the outcome wanted is there.
          const alreadyGone = err instanceof PlatformError && action === 'delete' && err.status === 404;
          if (!alreadyGone) {
            if (err instanceof PlatformError && err.kind === 'permanent') return { ok: false, reason: err.message };
            platformFailure(err);
          }
        }
      }
      if (action === 'delete') {
        await sqlOf(em()).execute(
          `update inbox_messages set removed_at = coalesce(removed_at, ?), body = '' where id = ?`,
          [new Date(), messageId],
          'run',
        );
      } else {
        await sqlOf(em()).execute(
          'update inbox_messages set hidden = ? where id = ?',
          [action === 'hide', messageId],
          'run',
        );
      }
      return { ok: true };
    },
  };
}

export type InboxActivities = ReturnType<typeof createInboxActivities>;
