import type { EntityManager } from '@mikro-orm/core';
import { affected, jsonList, sqlOf } from '../lib/sql.ts';
import type { InboundMessage, MetricSample, PlatformId, StreamCursor, SyncedMedia } from '../platforms/types.ts';

// How synced pages reach PostgreSQL. Every statement is an idempotent upsert that writes only what
// changed, so repeating a page (a retried activity, a resumed pass, a redelivered webhook) writes
// nothing twice, and an account whose numbers did not move costs no metric rows at all.

export interface SyncOwner {
  connectionId: string;
  workspaceId: string;
  platform: PlatformId;
}

/**
 * Metric observations: a row only where the value differs from the last stored one for its key,
 * with the difference as delta. YouTube rows carry no delta: its terms forbid storing derived metrics.
 */
export async function writeMetrics(
  em: EntityManager,
  owner: SyncOwner,
  samples: MetricSample[],
  observedAt: Date,
): Promise<number> {
  if (!samples.length) return 0;
  const sql = sqlOf(em);
  const storeDelta = owner.platform !== 'youtube';
  let written = 0;
  // Daily series and running totals differ only in how the day matches; two statements keep both on the index.
  for (const daily of [true, false]) {
    const part = new Map<string, MetricSample>();
    for (const s of samples) {
      if (Boolean(s.day) !== daily || !Number.isFinite(s.value)) continue;
      part.set(`${s.objectKind}|${s.objectId}|${s.metric}|${s.day ?? ''}`, s);
    }
    if (!part.size) continue;
    const rows = [...part.values()];
    const dayMatch = daily ? 'm.day = i.day' : 'm.day is null';
    const res = await sql.execute(
      `insert into metric_points (workspace_id, connection_id, platform, object_kind, object_id, metric, day, value, delta, observed_at)
       select ?, ?, ?, i.object_kind, i.object_id, i.metric, i.day, i.value,
              case when ? then i.value - prev.value end, ?
       from jsonb_to_recordset(?::jsonb) as i(object_kind text, object_id text, metric text, day date, value float8)
       left join lateral (
         select m.value from metric_points m
         where m.connection_id = ? and m.object_kind = i.object_kind and m.object_id = i.object_id
           and m.metric = i.metric and ${dayMatch}
         order by m.observed_at desc, m.id desc limit 1
       ) prev on true
       where prev.value is distinct from i.value`,
      [
        owner.workspaceId,
        owner.connectionId,
        owner.platform,
        storeDelta,
        observedAt,
        jsonList(
          rows.map((r) => ({
            object_kind: r.objectKind,
            object_id: r.objectId,
            metric: r.metric,
            day: r.day ?? null,
            value: r.value,
          })),
        ),
        owner.connectionId,
      ],
      'run',
    );
    written += affected(res);
  }
  return written;
}

/** New posts are inserted; known ones only get fetched_at refreshed, at most every refreshMs. */
export async function writeMedia(
  em: EntityManager,
  owner: SyncOwner,
  media: SyncedMedia[],
  now: Date,
  refreshMs: number,
): Promise<number> {
  const unique = [...new Map(media.map((m) => [m.externalId, m])).values()];
  if (!unique.length) return 0;
  const res = await sqlOf(em).execute(
    `insert into synced_media (id, workspace_id, connection_id, platform, external_id, media_type, permalink, published_at, fetched_at)
     select gen_random_uuid(), ?, ?, ?, u.external_id, u.media_type, u.permalink, u.published_at, ?
     from jsonb_to_recordset(?::jsonb) as u(external_id text, media_type text, permalink text, published_at timestamptz)
     on conflict (connection_id, external_id) do update set fetched_at = excluded.fetched_at
     where synced_media.fetched_at < ?`,
    [
      owner.workspaceId,
      owner.connectionId,
      owner.platform,
      now,
      jsonList(
        unique.map((m) => ({
          external_id: m.externalId,
          media_type: m.mediaType ?? null,
          permalink: m.permalink ?? null,
          published_at: new Date(m.publishedAt),
        })),
      ),
      new Date(now.getTime() - refreshMs),
    ],
    'run',
  );
  return affected(res);
}

/** Posts the platform still answers for (their metrics came back) count as refreshed. */
export async function touchMedia(
  em: EntityManager,
  owner: SyncOwner,
  externalIds: string[],
  now: Date,
  refreshMs: number,
): Promise<void> {
  if (!externalIds.length) return;
  await sqlOf(em).execute(
    `update synced_media set fetched_at = ? where connection_id = ?
     and external_id in (select jsonb_array_elements_text(?::jsonb)) and fetched_at < ?`,
    [now, owner.connectionId, jsonList([...new Set(externalIds)]), new Date(now.getTime() - refreshMs)],
    'run',
  );
}

/**
 * Messages by the platform's id: new ones are inserted (threads created, unread counts raised,
 * attachments queued); a known one changes only when its hidden flag did, or to refresh fetched_at.
 * Returns the number of new messages.
 */
export async function writeMessages(
  em: EntityManager,
  owner: SyncOwner,
  messages: InboundMessage[],
  now: Date,
  refreshMs: number,
): Promise<number> {
  const unique = [...new Map(messages.map(clean).map((m) => [m.externalId, m])).values()];
  if (!unique.length) return 0;
  const sql = sqlOf(em);
  const threads = [...new Map(unique.map((m) => [`${m.threadKind}|${m.threadExternalId}`, m])).values()];
  await sql.execute(
    `insert into inbox_threads (id, workspace_id, connection_id, platform, kind, external_id, last_message_at, unread_count, created_at)
     select gen_random_uuid(), ?, ?, ?, u.kind, u.external_id, u.at, 0, ?
     from jsonb_to_recordset(?::jsonb) as u(kind text, external_id text, at timestamptz)
     on conflict (connection_id, kind, external_id) do nothing`,
    [
      owner.workspaceId,
      owner.connectionId,
      owner.platform,
      now,
      jsonList(
        threads.map((m) => ({ kind: m.threadKind, external_id: m.threadExternalId, at: new Date(m.createdAt) })),
      ),
    ],
    'run',
  );
  const inserted = await sql.execute<{ id: string; thread_id: string; external_id: string; direction: string }[]>(
    `insert into inbox_messages (id, workspace_id, connection_id, thread_id, platform, external_id, parent_external_id,
       direction, author_external_id, author_name, body, sent_at, received_at, fetched_at, hidden)
     select gen_random_uuid(), ?, ?, t.id, ?, u.external_id, u.parent, u.direction, u.author, u.author_name, u.body,
            u.sent_at, ?, ?, coalesce(u.hidden, false)
     from jsonb_to_recordset(?::jsonb) as u(external_id text, parent text, direction text, author text, author_name text,
       body text, kind text, sent_at timestamptz, hidden boolean, thread_external_id text)
     join inbox_threads t on t.connection_id = ? and t.kind = u.kind and t.external_id = u.thread_external_id
     on conflict (connection_id, external_id) do update set fetched_at = excluded.fetched_at
     where inbox_messages.fetched_at < ?
     returning id, thread_id, external_id, direction, (xmax = 0) as inserted`,
    [
      owner.workspaceId,
      owner.connectionId,
      owner.platform,
      now,
      now,
      jsonList(
        unique.map((m) => ({
          external_id: m.externalId,
          parent: m.parentExternalId ?? null,
          direction: m.fromAccount ? 'out' : 'in',
          author: m.authorExternalId,
          author_name: m.authorName ?? null,
          body: m.text,
          kind: m.threadKind,
          sent_at: new Date(m.createdAt),
          hidden: m.hidden ?? null,
          thread_external_id: m.threadExternalId,
        })),
      ),
      owner.connectionId,
      new Date(now.getTime() - refreshMs),
    ],
  );
  // Where the source says whether a message is hidden, that is its state now.
  await setHidden(
    em,
    owner,
    unique.flatMap((m) => (m.hidden === undefined ? [] : [{ externalId: m.externalId, hidden: m.hidden }])),
  );
  const fresh = inserted.filter((r) => (r as unknown as { inserted: boolean }).inserted);
  if (!fresh.length) return 0;
  // A removal can arrive before its message (webhooks come in any order): the message is stored removed.
  await sql.execute(
    `update inbox_messages set removed_at = ?, body = '' where connection_id = ? and removed_at is null
     and id in (select jsonb_array_elements_text(?::jsonb)::uuid)
     and external_id in (select payload->'removed'->>'externalId' from webhook_events
                         where connection_id = ? and payload->'removed' is not null)`,
    [now, owner.connectionId, jsonList(fresh.map((r) => r.id)), owner.connectionId],
    'run',
  );

  const byThread = new Map<string, { unread: number; last: Date }>();
  const sentAt = new Map(unique.map((m) => [m.externalId, new Date(m.createdAt)]));
  for (const r of fresh) {
    const t = byThread.get(r.thread_id) ?? { unread: 0, last: new Date(0) };
    if (r.direction === 'in') t.unread++;
    const at = sentAt.get(r.external_id) ?? now;
    if (at > t.last) t.last = at;
    byThread.set(r.thread_id, t);
  }
  const ids = [...byThread.keys()];
  await sql.execute(
    `update inbox_threads t set unread_count = t.unread_count + u.unread, last_message_at = greatest(t.last_message_at, u.last)
     from jsonb_to_recordset(?::jsonb) as u(id uuid, unread int, last timestamptz) where t.id = u.id`,
    [jsonList(ids.map((id) => ({ id, unread: byThread.get(id)?.unread ?? 0, last: byThread.get(id)?.last ?? now })))],
    'run',
  );

  const attachments = fresh.flatMap((r) => {
    const m = unique.find((x) => x.externalId === r.external_id);
    return (m?.attachments ?? []).map((a) => ({ messageId: r.id, ...a }));
  });
  if (attachments.length) {
    await sql.execute(
      `insert into inbox_attachments (id, workspace_id, message_id, external_id, mime_type, sha256, status, created_at)
       select gen_random_uuid(), ?, u.message_id, u.external_id, u.mime_type, u.sha256, 'pending', ?
       from jsonb_to_recordset(?::jsonb) as u(message_id uuid, external_id text, mime_type text, sha256 text)`,
      [
        owner.workspaceId,
        now,
        jsonList(
          attachments.map((a) => ({
            message_id: a.messageId,
            external_id: a.externalId,
            mime_type: a.mimeType ?? null,
            sha256: a.sha256 ?? null,
          })),
        ),
      ],
      'run',
    );
  }
  return fresh.length;
}

/** Hidden or shown again at the platform (or by our moderation); only rows whose state differs change. */
export async function setHidden(
  em: EntityManager,
  owner: SyncOwner,
  changes: { externalId: string; hidden: boolean }[],
) {
  if (!changes.length) return;
  await sqlOf(em).execute(
    `update inbox_messages m set hidden = u.hidden
     from jsonb_to_recordset(?::jsonb) as u(external_id text, hidden boolean)
     where m.connection_id = ? and m.external_id = u.external_id and m.hidden is distinct from u.hidden`,
    [jsonList(changes.map((c) => ({ external_id: c.externalId, hidden: c.hidden }))), owner.connectionId],
    'run',
  );
}

const cut = (value: string | undefined, max: number) => (value === undefined ? undefined : value.slice(0, max));

/** What the columns hold: ids and names cut to their length, an unreadable date replaced by now. */
function clean(m: InboundMessage): InboundMessage {
  const at = new Date(m.createdAt);
  return {
    ...m,
    externalId: m.externalId.slice(0, 200),
    threadExternalId: m.threadExternalId.slice(0, 200),
    parentExternalId: cut(m.parentExternalId, 200),
    authorExternalId: m.authorExternalId.slice(0, 200),
    authorName: cut(m.authorName, 200),
    text: m.text ?? '',
    createdAt: Number.isNaN(at.getTime()) ? new Date() : at,
  };
}

/** A message removed at the platform keeps its row as a tombstone, without its words. */
export async function removeMessages(em: EntityManager, owner: SyncOwner, externalIds: string[], now: Date) {
  if (!externalIds.length) return;
  await sqlOf(em).execute(
    `update inbox_messages set removed_at = ?, body = '' where connection_id = ?
     and external_id in (select jsonb_array_elements_text(?::jsonb)) and removed_at is null`,
    [now, owner.connectionId, jsonList(externalIds)],
    'run',
  );
}

/** The cursor is written only when it moved, so an unchanged stream writes nothing. */
export async function writeCursor(
  em: EntityManager,
  owner: SyncOwner,
  stream: string,
  cursor: StreamCursor,
  now: Date,
): Promise<void> {
  await sqlOf(em).execute(
    `insert into sync_cursors (connection_id, stream, workspace_id, cursor, updated_at) values (?, ?, ?, ?::jsonb, ?)
     on conflict (connection_id, stream) do update set cursor = excluded.cursor, updated_at = excluded.updated_at
     where sync_cursors.cursor is distinct from excluded.cursor`,
    [owner.connectionId, stream, owner.workspaceId, JSON.stringify(cursor), now],
    'run',
  );
}
