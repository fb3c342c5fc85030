import { ConnectionException, type EntityManager, type MikroORM } from '@mikro-orm/core';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { Connection } from '../db/entities/index.ts';
import { defaultPolicy } from '../domain/policy.ts';
import type { Config } from '../lib/config.ts';
import type { SentimentClassifier } from '../lib/sentiment.ts';
import { affected, jsonList, sqlOf } from '../lib/sql.ts';
import type { ObjectStorage } from '../lib/storage.ts';
import { PlatformError } from '../platforms/errors.ts';
import type { Adapters } from '../platforms/index.ts';
import type { PlatformId, StreamCursor, SyncContext, WebhookEvent } from '../platforms/types.ts';
import { connectionInput, refreshNow } from '../workflows/connection.client.ts';
import { ensureSync, syncNow } from '../workflows/sync.client.ts';
import type { PassTally, SyncReconcileInput, SyncReconcileResult, SyncStep } from '../workflows/sync.messages.ts';
import { accountOf, readConnectionTokens } from './connections.ts';
import { beating } from './heartbeat.ts';
import { platformFailure } from './platform-failure.ts';
import {
  removeMessages,
  type SyncOwner,
  setHidden,
  touchMedia,
  writeCursor,
  writeMedia,
  writeMessages,
  writeMetrics,
} from './sync-store.ts';

// Sync activities. A pass walks the adapter's streams in order, a page at a time; each page's rows
// and the stream's next cursor are committed together, so a pass stopped anywhere (rate limit,
// expired token, killed worker) resumes at the page it stopped at. Webhook events arrive as rows
// (api/routes/webhooks.ts) and are ingested here through the same idempotent writes.

export interface SyncDeps {
  orm: MikroORM;
  config: Config;
  adapters: Adapters;
  temporal: Client;
  storage: ObjectStorage;
  /** Absent: no classifier configured; messages stay untagged. */
  sentiment?: SentimentClassifier;
}

const policy = defaultPolicy.sync;
const NOTHING_YET: PassTally = { metricRows: 0, messages: 0, problems: [], answered: false };

/** What the API stores per webhook event (platforms/types.ts WebhookEvent, less the routing fields). */
type WebhookPayload = Pick<WebhookEvent, 'message' | 'removed' | 'hidden'>;
const SENTIMENT_CONCURRENCY = 4;

/** Two SHA-256 digests, each hex or base64, are the same. */
function sameDigest(a: string, b: string): boolean {
  const bytes = (d: string) => (/^[0-9a-f]{64}$/i.test(d) ? Buffer.from(d, 'hex') : Buffer.from(d, 'base64'));
  return bytes(a).equals(bytes(b));
}

export function createSyncActivities({ orm, config, adapters, temporal, storage, sentiment }: SyncDeps) {
  const em = () => orm.em.fork();

  async function owner(connectionId: string) {
    const conn = await em().findOne(Connection, connectionId);
    if (!conn) return undefined;
    const o: SyncOwner = { connectionId, workspaceId: conn.workspace, platform: conn.platform as PlatformId };
    return { conn, owner: o, account: accountOf(conn) };
  }

  async function recentMedia(connectionId: string): Promise<string[]> {
    const rows = await sqlOf(em()).execute<{ external_id: string }[]>(
      'select external_id from synced_media where connection_id = ? order by published_at desc, external_id limit ?',
      [connectionId, policy.recentMedia],
    );
    return rows.map((r) => r.external_id);
  }

  /** Files of messages removed at the platform go with their words. */
  async function purgeRemovedAttachments(connectionId: string) {
    const rows = await sqlOf(em()).execute<{ id: string; storage_key: string | null }[]>(
      `select a.id, a.storage_key from inbox_attachments a join inbox_messages m on m.id = a.message_id
       where m.connection_id = ? and m.removed_at is not null`,
      [connectionId],
    );
    for (const r of rows) {
      if (r.storage_key) await storage.delete(r.storage_key);
      await sqlOf(em()).execute('delete from inbox_attachments where id = ?', [r.id], 'run');
    }
  }

  async function setState(o: SyncOwner, fields: Record<string, unknown>) {
    const cols = Object.keys(fields);
    await sqlOf(em()).execute(
      `insert into sync_states (connection_id, workspace_id, platform, ${cols.join(', ')}) values (?, ?, ?, ${cols.map(() => '?').join(', ')})
       on conflict (connection_id) do update set ${cols.map((c) => `${c} = excluded.${c}`).join(', ')}`,
      [o.connectionId, o.workspaceId, o.platform, ...Object.values(fields)],
      'run',
    );
  }

  const activities = {
    /**
     * One pass (or the rest of one, from stream `fromStream`). Rate limits and token problems end
     * the call with an outcome the workflow waits on; transient errors retry the activity, which
     * resumes from the stored cursors.
     */
    async syncPass({
      connectionId,
      fromStream = 0,
      carry = NOTHING_YET,
    }: {
      connectionId: string;
      fromStream?: number;
      carry?: PassTally;
    }): Promise<SyncStep> {
      const found = await owner(connectionId);
      if (!found || found.conn.status === 'disconnected' || found.conn.status === 'disconnecting')
        return { outcome: 'gone' };
      if (found.conn.status !== 'active') return { outcome: 'paused' };
      const { owner: o, account } = found;
      const adapter = adapters[o.platform];
      const tokens = await readConnectionTokens(orm, config, connectionId);
      if (!tokens) return { outcome: 'paused' };

      const started = new Date();
      await setState(o, {
        status: 'running',
        waiting_until: null,
        ...(fromStream === 0 ? { status_reason: null, last_pass_started_at: started } : {}),
      });
      const ctx: SyncContext = {
        now: started,
        mediaIds: await recentMedia(connectionId),
        lookbackDays: policy.lookbackDays,
        historyDays: policy.historyDays,
      };
      // What earlier parts of this pass (before a rate-limit wait or a token refresh) did.
      const tally: PassTally = { ...carry, problems: [...carry.problems] };
      const streams = adapter.streams;
      for (let index = fromStream; index < streams.length; index++) {
        const stream = streams[index]!;
        const stored = await sqlOf(em()).execute<{ cursor: StreamCursor }[]>(
          'select cursor from sync_cursors where connection_id = ? and stream = ?',
          [connectionId, stream.name],
        );
        let cursor: StreamCursor | null = stored[0]?.cursor ?? null;
        for (;;) {
          Context.current().heartbeat({ stream: stream.name });
          let page: Awaited<ReturnType<typeof stream.fetch>>;
          try {
            page = await stream.fetch(tokens, account, cursor, ctx);
          } catch (err) {
            if (!(err instanceof PlatformError)) throw err;
            if (err.kind === 'rate_limited') {
              const waitMs = Math.min(policy.maxWaitMs, err.retryAfterMs ?? policy.rateLimitWaitMs);
              await setState(o, {
                status: 'waiting',
                status_reason: `rate_limited:${stream.name}`,
                waiting_until: new Date(Date.now() + waitMs),
              });
              return { outcome: 'wait', waitMs, fromStream: index, stream: stream.name, tally };
            }
            if (err.kind === 'token_expired' || err.kind === 'token_revoked') {
              await setState(o, { status: 'waiting', status_reason: err.kind });
              return { outcome: 'token', kind: err.kind, fromStream: index, tally };
            }
            if (err.kind === 'permanent') {
              // One stream the platform refuses (a missing permission, a retired metric) does not stop the others.
              tally.problems.push(`${stream.name}: ${err.message}`.slice(0, 140));
              break;
            }
            platformFailure(err);
          }
          const now = new Date();
          await em().transactional(async (tx) => {
            tally.metricRows += await writeMetrics(tx, o, page.metrics ?? [], now);
            await writeMedia(tx, o, page.media ?? [], now, policy.refreshFetchedMs);
            const counted = [
              ...new Set((page.metrics ?? []).filter((m) => m.objectKind === 'media').map((m) => m.objectId)),
            ];
            await touchMedia(tx, o, counted, now, policy.refreshFetchedMs);
            tally.messages += await writeMessages(tx, o, page.messages ?? [], now, policy.refreshFetchedMs);
            await writeCursor(tx, o, stream.name, page.cursor, now);
          });
          // The platform answered with the connection's token: the authorisation holds.
          tally.answered = true;
          cursor = page.cursor;
          if (page.done) break;
        }
        if (stream.name === 'media') ctx.mediaIds = await recentMedia(connectionId);
      }
      await setState(o, {
        status: tally.problems.length ? 'failed' : 'idle',
        status_reason: tally.problems.length ? tally.problems.join('; ').slice(0, 300) : null,
        waiting_until: null,
        last_pass_completed_at: new Date(),
        last_pass_metric_rows: tally.metricRows,
        last_pass_messages: tally.messages,
        // Only a pass the platform answered proves the grant still works (YouTube's 30-day check).
        ...(tally.answered ? { verified_at: started } : {}),
      });
      await sqlOf(em()).execute(
        'update sync_states set passes = passes + 1 where connection_id = ?',
        [connectionId],
        'run',
      );
      return { outcome: 'done', metricRows: tally.metricRows, messages: tally.messages };
    },

    /** A token problem goes to the connection workflow, the one owner of refreshes. */
    async refreshForSync({ connectionId }: { connectionId: string }): Promise<'refreshed' | 'needs_reconnect'> {
      const conn = await em().findOne(Connection, connectionId);
      if (conn?.status !== 'active') return 'needs_reconnect';
      const result = await beating(() =>
        refreshNow(
          temporal,
          config.taskQueues.core,
          connectionInput(conn.id, conn.workspace, conn.platform as PlatformId),
        ),
      );
      return result.outcome === 'refreshed' ? 'refreshed' : 'needs_reconnect';
    },

    /**
     * Webhook events stored by the API become messages (idempotent). A message's payload is cleared
     * once ingested; a removal keeps its id (no personal data) so a message that arrives after its
     * removal is stored removed. An event that cannot be written is set aside with the reason rather
     * than holding up the ones behind it.
     */
    async ingestWebhookEvents({
      connectionId,
    }: {
      connectionId: string;
    }): Promise<{ events: number; messages: number }> {
      const found = await owner(connectionId);
      if (!found) return { events: 0, messages: 0 };
      let events = 0;
      let messages = 0;
      type Row = { id: string; payload: WebhookPayload | null };
      const apply = async (tx: EntityManager, rows: Row[]) => {
        const now = new Date();
        const incoming = rows.flatMap((r) => (r.payload?.message ? [r.payload.message] : []));
        const removed = rows.flatMap((r) => (r.payload?.removed ? [r.payload.removed.externalId] : []));
        await removeMessages(tx, found.owner, removed, now);
        const written = await writeMessages(tx, found.owner, incoming, now, policy.refreshFetchedMs);
        await setHidden(
          tx,
          found.owner,
          rows.flatMap((r) => (r.payload?.hidden ? [r.payload.hidden] : [])),
        );
        await sqlOf(tx).execute(
          `update webhook_events set processed_at = ?,
             payload = case when payload->'removed' is not null then jsonb_build_object('removed', payload->'removed') end
           where id in (select jsonb_array_elements_text(?::jsonb)::bigint)`,
          [now, jsonList(rows.map((r) => String(r.id)))],
          'run',
        );
        return written;
      };
      for (;;) {
        Context.current().heartbeat({ events });
        const rows = await sqlOf(em()).execute<Row[]>(
          `select id, payload from webhook_events where connection_id = ? and processed_at is null order by id limit 200`,
          [connectionId],
        );
        if (!rows.length) break;
        try {
          messages += await em().transactional((tx) => apply(tx, rows));
        } catch (err) {
          // The database itself is away: retry the activity rather than set events aside.
          if (err instanceof ConnectionException) throw err;
          // One bad event must not block the rest: each alone, and the one that still fails is set aside.
          for (const row of rows) {
            try {
              messages += await em().transactional((tx) => apply(tx, [row]));
            } catch (err) {
              await sqlOf(em()).execute(
                'update webhook_events set processed_at = ?, payload = null, error = ? where id = ?',
                [new Date(), String((err as Error).message).slice(0, 300), row.id],
                'run',
              );
            }
          }
        }
        events += rows.length;
      }
      await purgeRemovedAttachments(connectionId);
      return { events, messages };
    },

    /** Attachment bytes through the storage layer; a file that cannot be fetched is marked failed, never blocking. */
    async storeAttachments({ connectionId }: { connectionId: string }): Promise<{ stored: number; failed: number }> {
      const found = await owner(connectionId);
      if (!found) return { stored: 0, failed: 0 };
      const inbox = adapters[found.owner.platform].inbox;
      if (!inbox?.fetchAttachment) {
        // The platform offers no download: say so rather than leave them pending for ever.
        const n = affected(
          await sqlOf(em()).execute(
            `update inbox_attachments set status = 'failed', error = 'the platform offers no download of attachments'
             where status = 'pending' and message_id in (select id from inbox_messages where connection_id = ?)`,
            [connectionId],
            'run',
          ),
        );
        return { stored: 0, failed: n };
      }
      const tokens = await readConnectionTokens(orm, config, connectionId);
      if (!tokens) return { stored: 0, failed: 0 };
      const pending = await sqlOf(em()).execute<{ id: string; external_id: string; sha256: string | null }[]>(
        `select a.id, a.external_id, a.sha256 from inbox_attachments a join inbox_messages m on m.id = a.message_id
         where m.connection_id = ? and a.status = 'pending' order by a.created_at limit 50`,
        [connectionId],
      );
      let stored = 0;
      let failed = 0;
      for (const a of pending) {
        Context.current().heartbeat();
        const key = `inbox/${found.owner.workspaceId}/${a.id}`;
        try {
          const fetch = inbox.fetchAttachment;
          const file = await beating(() => fetch(tokens, found.account, a.external_id));
          const put = await beating(() => storage.put(key, file.bytes, { contentType: file.mimeType }));
          // The platform states the file's SHA-256 (WhatsApp: base64): a file that does not match is not kept.
          if (a.sha256 && !sameDigest(a.sha256, put.sha256)) {
            await storage.delete(key);
            throw new PlatformError(found.owner.platform, 'permanent', 'attachment checksum does not match');
          }
          const kept = affected(
            await sqlOf(em()).execute(
              `update inbox_attachments set status = 'stored', storage_key = ?, size_bytes = ?, sha256 = ?, mime_type = coalesce(mime_type, ?) where id = ?`,
              [key, put.sizeBytes, put.sha256, file.mimeType, a.id],
              'run',
            ),
          );
          // The message went meanwhile (retention, deletion): its file must not stay behind.
          if (!kept) await storage.delete(key);
          else stored++;
        } catch (err) {
          if (err instanceof PlatformError && err.kind !== 'permanent') platformFailure(err);
          if (!(err instanceof PlatformError)) throw err;
          await sqlOf(em()).execute(
            `update inbox_attachments set status = 'failed', error = ? where id = ?`,
            [err.message.slice(0, 300), a.id],
            'run',
          );
          failed++;
        }
      }
      return { stored, failed };
    },

    /** Read marks made here reach the platform where it takes read receipts (WhatsApp). */
    async sendReadReceipts({ connectionId }: { connectionId: string }): Promise<{ sent: number }> {
      const found = await owner(connectionId);
      const markRead = found ? adapters[found.owner.platform].inbox?.markRead : undefined;
      if (!found || !markRead) return { sent: 0 };
      const tokens = await readConnectionTokens(orm, config, connectionId);
      if (!tokens) return { sent: 0 };
      const rows = await sqlOf(em()).execute<{ id: string; external_id: string }[]>(
        `select id, external_id from inbox_messages where connection_id = ? and direction = 'in'
         and read_at is not null and read_receipt_at is null and removed_at is null order by read_at limit 100`,
        [connectionId],
      );
      let sent = 0;
      for (const r of rows) {
        Context.current().heartbeat();
        try {
          await markRead(tokens, found.account, r.external_id);
        } catch (err) {
          // A receipt the platform refuses for good (too old, unknown) is not tried again.
          if (!(err instanceof PlatformError) || err.kind !== 'permanent') platformFailure(err);
        }
        await sqlOf(em()).execute(
          'update inbox_messages set read_receipt_at = ? where id = ?',
          [new Date(), r.id],
          'run',
        );
        sent++;
      }
      return { sent };
    },

    /**
     * Sentiment for inbound messages not yet tagged. Only the text goes to the classifier. A failure
     * counts an attempt and moves on: ingestion never waits for it, and the next pass tries again.
     */
    async tagSentiment({
      connectionId,
    }: {
      connectionId: string;
    }): Promise<{ tagged: number; failed: number; skipped?: true }> {
      if (!sentiment) return { tagged: 0, failed: 0, skipped: true };
      const rows = await sqlOf(em()).execute<{ id: string; body: string }[]>(
        `select id, body from inbox_messages where connection_id = ? and direction = 'in' and sentiment is null
         and removed_at is null and sentiment_attempts < ? order by received_at limit ?`,
        [connectionId, policy.sentimentAttempts, policy.sentimentBatch],
      );
      let tagged = 0;
      let failed = 0;
      // A few at a time: the classifier is a remote call, and one slow answer should not hold the rest.
      let next = 0;
      const lane = async () => {
        while (next < rows.length) {
          const row = rows[next++]!;
          Context.current().heartbeat();
          try {
            const result = await sentiment.classify(row.body);
            await sqlOf(em()).execute(
              `update inbox_messages set sentiment = ?, sentiment_score = ?, sentiment_model = ?, sentiment_at = ?,
               sentiment_attempts = sentiment_attempts + 1 where id = ?`,
              [result.label, result.score, sentiment.model, new Date(), row.id],
              'run',
            );
            tagged++;
          } catch {
            await sqlOf(em()).execute(
              'update inbox_messages set sentiment_attempts = sentiment_attempts + 1 where id = ?',
              [row.id],
              'run',
            );
            failed++;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(SENTIMENT_CONCURRENCY, rows.length) }, lane));
      return { tagged, failed };
    },

    /**
     * After a connect or reconnect: a pass now, starting the connection's sync workflow if it is
     * not running (its first act is a pass).
     */
    async kickSync({ connectionId }: { connectionId: string }): Promise<'kicked' | 'gone'> {
      const conn = await em().findOne(Connection, connectionId);
      if (!conn || conn.status === 'disconnected' || conn.status === 'disconnecting') return 'gone';
      await syncNow(temporal, config.taskQueues.core, {
        connectionId: conn.id,
        workspaceId: conn.workspace,
        platform: conn.platform as PlatformId,
      });
      return 'kicked';
    },

    /** The safety net: every connection that is not disconnected has a running sync workflow. */
    async reconcileSync({ batchSize, workspaceId }: SyncReconcileInput): Promise<SyncReconcileResult> {
      const result: SyncReconcileResult = { examined: 0, started: 0 };
      let after = '00000000-0000-0000-0000-000000000000';
      for (;;) {
        const rows = await sqlOf(em()).execute<{ id: string; workspace_id: string; platform: PlatformId }[]>(
          `select id, workspace_id, platform from connections where status in ('active', 'needs_reconnect') and id > ?
           ${workspaceId ? 'and workspace_id = ?' : ''} order by id limit ?`,
          [after, ...(workspaceId ? [workspaceId] : []), batchSize],
        );
        if (!rows.length) return result;
        for (const r of rows) {
          Context.current().heartbeat();
          result.examined++;
          const outcome = await ensureSync(temporal, config.taskQueues.core, {
            connectionId: r.id,
            workspaceId: r.workspace_id,
            platform: r.platform,
          });
          if (outcome === 'started') result.started++;
        }
        after = rows[rows.length - 1]!.id;
      }
    },
  };

  return {
    ...activities,
    /** The inbox's housekeeping after ingestion, as one activity: attachment bytes, read receipts, sentiment. */
    async tidyInbox({ connectionId }: { connectionId: string }) {
      const attachments = await activities.storeAttachments({ connectionId });
      const receipts = await activities.sendReadReceipts({ connectionId });
      const sentiment = await activities.tagSentiment({ connectionId });
      return { attachments, receipts, sentiment };
    },
  };
}

export type SyncActivities = ReturnType<typeof createSyncActivities>;
