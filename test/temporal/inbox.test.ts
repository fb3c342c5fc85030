import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createStorage } from '../../lib/storage.ts';
import type { PlatformId } from '../../platforms/types.ts';
import type { SimMessage } from '../../simulators/content.ts';
import { attachmentSha256 } from '../../simulators/platforms/whatsapp.ts';
import { signDelivery } from '../../simulators/webhooks.ts';
import { replyPolicy, startReply } from '../../workflows/inbox.client.ts';
import { replyWorkflowId } from '../../workflows/inbox.messages.ts';
import { syncNow } from '../../workflows/sync.client.ts';
import { syncWorkflowId } from '../../workflows/sync.messages.ts';
import {
  bearer,
  eventually,
  historyText,
  recordHistory,
  simulatedSystem,
  spawnWorker,
  sql,
  testEnv,
} from '../helpers.ts';
import { admin } from '../platforms/contract.ts';
import { connect, workspace } from './publish-support.ts';

// Inbox webhooks end to end: a delivery signed the way the platform signs it is stored once per
// event however often and in whatever order it comes, a forged one is refused and stores nothing,
// the connection's sync workflow ingests the events, and sentiment is tagged through the OpenAI
// simulator without ever holding ingestion up.

const t = simulatedSystem();

/** Platforms that push inbox events, and the kind of message each test delivers. */
const WEBHOOK_PLATFORMS: [PlatformId, SimMessage['kind']][] = [
  ['instagram', 'comment'],
  ['facebook', 'comment'],
  ['threads', 'comment'],
  ['whatsapp', 'dm'],
  ['x', 'mention'],
  ['linkedin', 'comment'],
];

async function setUp(platform: PlatformId, kind: SimMessage['kind']) {
  const ws = await workspace(t.sys);
  const conn = await connect(t.sys, ws, platform);
  const simP = t.sim.platforms.get(platform)!;
  const accountId = simP.firstAccount().id;
  const { posts } = simP.content.seed(Date.now(), { accountId, posts: 1 }, simP.contentId);
  const threadId = kind === 'comment' ? posts[0]!.id : `thread-${randomUUID()}`;
  /** A message at the platform (`atPlatform: false`: one that never existed there, for forgeries). */
  const make = (text: string, atPlatform = true) => {
    const id = simP.contentId();
    const message = simP.content.message({
      id,
      accountId,
      kind,
      threadId: kind === 'mention' ? id : threadId,
      authorId: `fan-${randomUUID().slice(0, 8)}`,
      authorName: 'Fan',
      text,
      createdAt: Date.now(),
    });
    return atPlatform ? simP.content.addMessage(message) : message;
  };
  const deliver = (message: SimMessage, opts: { tamper?: boolean } = {}) => {
    const body = JSON.stringify(simP.webhookFor!(message));
    const headers = signDelivery(simP, body);
    // A changed byte after signing: what a forger or a broken proxy sends.
    const sent = opts.tamper ? body.replace(message.text, `${message.text}!`) : body;
    return t.sys.app.inject({
      method: 'POST',
      url: `/v1/webhooks/${platform}`,
      headers: { ...headers, 'content-type': 'application/json' },
      payload: sent,
    });
  };
  return { ws, conn, deliver, make };
}

const bodiesOf = async (connectionId: string) =>
  (
    await sql<{ body: string; sentiment: string | null }>(
      t.sys.orm,
      'select body, sentiment from inbox_messages where connection_id = ? order by sent_at',
      [connectionId],
    )
  ).map((r) => r.body);

describe.each(WEBHOOK_PLATFORMS)('%s webhooks', (platform, kind) => {
  it('store each event once whatever the redelivery, duplication or order; a forged delivery is refused', async () => {
    const { conn, deliver, make } = await setUp(platform, kind);
    const tag = randomUUID().slice(0, 8);
    const m1 = make(`first ${tag} I love this`);
    const m2 = make(`second ${tag} when is the next one`);
    const m3 = make(`third ${tag} this is terrible`);

    const first = await deliver(m1);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json().stored).toBe(1);
    // Redelivered (the platform did not see our 200), duplicated and out of order.
    expect((await deliver(m1)).json().stored).toBe(0);
    expect((await deliver(m3)).json().stored).toBe(1);
    expect((await deliver(m2)).json().stored).toBe(1);
    expect((await deliver(m2)).json().stored).toBe(0);

    const eventsBefore = await sql(t.sys.orm, 'select 1 from webhook_events where connection_id = ?', [conn.id]);
    const forged = await deliver(make(`forged ${tag}`, false), { tamper: true });
    expect(forged.statusCode, forged.body).toBe(401);
    expect(forged.json().error.code).toBe('INVALID_SIGNATURE');
    expect(await sql(t.sys.orm, 'select 1 from webhook_events where connection_id = ?', [conn.id])).toHaveLength(
      eventsBefore.length,
    );

    // The sync workflow ingests them: each message once, the forged one never.
    const bodies = await eventually(async () => {
      const b = (await bodiesOf(conn.id)).filter((x) => x.includes(tag));
      return b.length >= 3 ? b : undefined;
    }, 30_000);
    expect(bodies!.sort()).toEqual([m1.text, m2.text, m3.text].sort());
    // Payloads are not kept once ingested (a poll may have stored the messages first).
    await eventually(
      async () =>
        (
          await sql(
            t.sys.orm,
            'select 1 from webhook_events where connection_id = ? and (payload is not null or processed_at is null)',
            [conn.id],
          )
        ).length === 0,
      30_000,
    );
    expect(
      await sql(t.sys.orm, 'select 1 from webhook_events where connection_id = ? and processed_at is not null', [
        conn.id,
      ]),
    ).toHaveLength(3);
  }, 90_000);
});

describe('webhook endpoint checks', () => {
  it('answer Meta hub.challenge with the verify token, refuse a wrong token', async () => {
    const token = t.sys.config.webhookVerifyToken;
    const ok = await t.sys.app.inject({
      method: 'GET',
      url: `/v1/webhooks/instagram?hub.mode=subscribe&hub.verify_token=${token}&hub.challenge=1158201444`,
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.body).toBe('1158201444');
    const wrong = await t.sys.app.inject({
      method: 'GET',
      url: '/v1/webhooks/instagram?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1',
    });
    expect(wrong.statusCode).toBe(403);
  });

  it('answer X crc_token with the HMAC response token', async () => {
    const { createHmac } = await import('node:crypto');
    const res = await t.sys.app.inject({ method: 'GET', url: '/v1/webhooks/x?crc_token=abc123' });
    expect(res.statusCode, res.body).toBe(200);
    const expected = createHmac('sha256', t.sys.config.platforms.x.clientSecret).update('abc123').digest('base64');
    expect(res.json().response_token).toBe(`sha256=${expected}`);
  });

  it('refuse platforms without inbox webhooks', async () => {
    const res = await t.sys.app.inject({ method: 'POST', url: '/v1/webhooks/tiktok', payload: '{}' });
    expect(res.statusCode).toBe(404);
  });
});

describe('sentiment', () => {
  it('tags inbound messages through the OpenAI simulator, and a failing classifier never holds up ingestion', async () => {
    const { ws, conn, deliver, make } = await setUp('instagram', 'comment');
    // The classifier fails for a while: messages are still stored at once, untagged.
    await admin(t.sim, 'POST', '/openai/faults', { route: 'chat_completions', kind: 'http', status: 500, count: 1000 });
    const tag = randomUUID().slice(0, 8);
    const happy = make(`${tag} I love this, brilliant work`);
    const angry = make(`${tag} this is terrible and broken`);
    // Stored once for every connection of the account (another test's workspace connected it too).
    expect((await deliver(happy)).json().stored).toBeGreaterThanOrEqual(1);
    expect((await deliver(angry)).json().stored).toBeGreaterThanOrEqual(1);
    await eventually(async () => (await bodiesOf(conn.id)).filter((b) => b.includes(tag)).length === 2, 30_000);
    const untagged = await sql<{ sentiment: string | null }>(
      t.sys.orm,
      'select sentiment from inbox_messages where connection_id = ? and body like ?',
      [conn.id, `${tag}%`],
    );
    expect(untagged.map((r) => r.sentiment)).toEqual([null, null]);

    // The classifier is back: the next pass tags them. Only the text was sent.
    await admin(t.sim, 'DELETE', '/openai/faults');
    await syncNow(t.client, t.sys.config.taskQueues.core, {
      connectionId: conn.id,
      workspaceId: ws.workspaceId,
      platform: 'instagram',
    });
    const tagged = await eventually(async () => {
      const rows = await sql<{ body: string; sentiment: string | null }>(
        t.sys.orm,
        'select body, sentiment from inbox_messages where connection_id = ? and body like ? order by body',
        [conn.id, `${tag}%`],
      );
      return rows.every((r) => r.sentiment) ? rows : undefined;
    }, 60_000);
    expect(Object.fromEntries(tagged!.map((r) => [r.body, r.sentiment]))).toEqual({
      [happy.text]: 'positive',
      [angry.text]: 'negative',
    });
    const requests = await (await fetch(`${t.sim.url}/openai/v1/_sim/requests?route=chat_completions`)).json();
    const sent = JSON.stringify(requests);
    expect(sent).toContain(happy.text);
    expect(sent).not.toContain(happy.authorId);

    // The inbox API filters by sentiment.
    const res = await t.sys.app.inject({
      method: 'GET',
      url: `/v1/workspaces/${ws.workspaceId}/inbox?connectionId=${conn.id}&sentiment=negative`,
      headers: bearer(ws.token),
    });
    expect(res.statusCode, res.body).toBe(200);
    const negative = res.json().items.map((m: { text: string; sentiment: string }) => m.text);
    expect(negative).toContain(angry.text);
    expect(negative).not.toContain(happy.text);
    expect(res.json().items.every((m: { sentiment: string }) => m.sentiment === 'negative')).toBe(true);
    await recordHistory(t.client, syncWorkflowId(conn.id), 'syncWorkflow', 'instagram-webhooks-sentiment');
  }, 120_000);
});

describe('replies', () => {
  const writes = async (platform: string, route: string) =>
    (await admin<unknown[]>(t.sim, 'GET', `/${platform}/writes?route=${route}`)).length;

  /** An Instagram comment delivered and ingested; returns its row id. */
  async function ingestedComment() {
    const s = await setUp('instagram', 'comment');
    const tag = randomUUID().slice(0, 8);
    const m = s.make(`${tag} do you ship to Norway?`);
    expect((await s.deliver(m)).statusCode).toBe(200);
    const [row] = (await eventually(async () => {
      const rows = await sql<{ id: string }>(
        t.sys.orm,
        'select id from inbox_messages where connection_id = ? and body = ?',
        [s.conn.id, m.text],
      );
      return rows.length ? rows : undefined;
    }, 30_000))!;
    return { ...s, messageId: row!.id };
  }

  const replyRow = (id: string) =>
    sql<{ status: string; external_id: string | null; attempts: number; attempt_state: string | null }>(
      t.sys.orm,
      'select status, external_id, attempts, attempt_state from inbox_replies where id = ?',
      [id],
    ).then((r) => r[0]);

  it('a reply whose answer is lost after it landed is found at the platform, not sent again: one reply', async () => {
    const { ws, conn, messageId } = await ingestedComment();
    const before = await writes('instagram', 'reply');
    await admin(t.sim, 'POST', '/instagram/faults', { route: 'reply', kind: 'drop_after' });
    const res = await t.sys.app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws.workspaceId}/inbox/messages/${messageId}/replies`,
      headers: bearer(ws.token),
      payload: { text: 'Yes, we ship to Norway!' },
    });
    expect(res.statusCode, res.body).toBe(202);
    const sent = await eventually(async () => {
      const r = await replyRow(res.json().id);
      return r?.status === 'sent' ? r : undefined;
    }, 60_000);
    expect(sent!.attempts).toBe(1);
    expect(await writes('instagram', 'reply')).toBe(before + 1);
    // Our copy sits in the thread once, as the account's own message.
    const ours = await sql<{ direction: string }>(
      t.sys.orm,
      'select direction from inbox_messages where connection_id = ? and external_id = ?',
      [conn.id, sent!.external_id],
    );
    expect(ours).toEqual([{ direction: 'out' }]);
    // A later pass sees the reply at the platform and changes nothing.
    await syncNow(t.client, t.sys.config.taskQueues.core, {
      connectionId: conn.id,
      workspaceId: ws.workspaceId,
      platform: 'instagram',
    });
    await eventually(
      async () =>
        (await sql(t.sys.orm, `select 1 from sync_states where connection_id = ? and status = 'idle'`, [conn.id]))
          .length === 1,
    );
    expect(
      await sql(t.sys.orm, 'select 1 from inbox_messages where connection_id = ? and external_id = ?', [
        conn.id,
        sent!.external_id,
      ]),
    ).toHaveLength(1);
    const history = await recordHistory(
      t.client,
      replyWorkflowId(res.json().id),
      'replyWorkflow',
      'instagram-outcome-unknown',
    );
    expect(historyText(history)).not.toContain('Norway');
  }, 120_000);

  it('a retried request with the same Idempotency-Key gets the same reply; the same text again while it is sent is refused', async () => {
    const { ws, messageId } = await ingestedComment();
    const before = await writes('instagram', 'reply');
    const post = (headers: Record<string, string>, text = 'Same answer, once') =>
      t.sys.app.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws.workspaceId}/inbox/messages/${messageId}/replies`,
        headers: { ...bearer(ws.token), ...headers },
        payload: { text },
      });
    const first = await post({ 'idempotency-key': 'retry-1' });
    const again = await post({ 'idempotency-key': 'retry-1' });
    expect(first.statusCode, first.body).toBe(202);
    expect(again.statusCode, again.body).toBe(202);
    expect(again.json().id).toBe(first.json().id);
    await eventually(async () => (await replyRow(first.json().id))?.status === 'sent', 60_000);
    expect(await writes('instagram', 'reply')).toBe(before + 1);

    // A double click without a key: the second is refused while the first is on its way.
    await admin(t.sim, 'POST', '/instagram/faults', { route: 'reply', kind: 'delay', delayMs: 2_000 });
    const once = await post({}, 'Thanks!');
    const twice = await post({}, 'Thanks!');
    expect(once.statusCode, once.body).toBe(202);
    expect(twice.statusCode, twice.body).toBe(409);
    expect(twice.json().error.code).toBe('REPLY_IN_PROGRESS');
    await eventually(async () => (await replyRow(once.json().id))?.status === 'sent', 60_000);
    expect(await writes('instagram', 'reply')).toBe(before + 2);
  }, 120_000);

  it('a worker killed while the reply is in flight: the next worker asks the platform first, one reply', async () => {
    const { ws, conn, messageId } = await ingestedComment();
    const env = testEnv({ SIMULATOR_URL: t.sim.url });
    const queue = env.TASK_QUEUE_CORE as string;
    const before = await writes('instagram', 'reply');
    const callsBefore = (await admin<unknown[]>(t.sim, 'GET', '/instagram/calls?route=reply')).length;
    const replyId = randomUUID();
    await sql(
      t.sys.orm,
      `insert into inbox_replies (id, workspace_id, connection_id, message_id, body, status, attempts, created_at)
       values (?, ?, ?, ?, 'We do, within 3 days.', 'pending', 0, now())`,
      [replyId, ws.workspaceId, conn.id, messageId],
    );
    const first = spawnWorker(env);
    // The platform is slow to answer, so the reply is in flight when the worker dies.
    await admin(t.sim, 'POST', '/instagram/faults', { route: 'reply', kind: 'delay', delayMs: 3_000 });
    await startReply(
      t.client,
      queue,
      { replyId, connectionId: conn.id, workspaceId: ws.workspaceId, policy: replyPolicy({ verifyGraceMs: 2_000 }) },
      'instagram',
    );
    await eventually(
      async () => (await admin<unknown[]>(t.sim, 'GET', '/instagram/calls?route=reply')).length > callsBefore,
      30_000,
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const second = spawnWorker(env);
    try {
      const sent = await eventually(async () => {
        const r = await replyRow(replyId);
        return r?.status === 'sent' ? r : undefined;
      }, 60_000);
      // The killed worker's attempt stayed `started`; the next one looked first and found it.
      expect(sent!.attempts).toBe(1);
      expect(await writes('instagram', 'reply')).toBe(before + 1);
      await recordHistory(t.client, replyWorkflowId(replyId), 'replyWorkflow', 'instagram-worker-killed');
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  }, 120_000);

  it('a reply that never reached the platform is sent again after the grace period: one reply', async () => {
    const { ws, conn, messageId } = await ingestedComment();
    const before = await writes('instagram', 'reply');
    const replyId = randomUUID();
    await sql(
      t.sys.orm,
      `insert into inbox_replies (id, workspace_id, connection_id, message_id, body, status, attempts, created_at)
       values (?, ?, ?, ?, 'Thanks for asking!', 'pending', 0, now())`,
      [replyId, ws.workspaceId, conn.id, messageId],
    );
    // The connection drops before the platform does anything: the write did not land.
    await admin(t.sim, 'POST', '/instagram/faults', { route: 'reply', kind: 'drop' });
    await startReply(
      t.client,
      t.sys.config.taskQueues.core,
      { replyId, connectionId: conn.id, workspaceId: ws.workspaceId, policy: replyPolicy({ verifyGraceMs: 1_000 }) },
      'instagram',
    );
    const sent = await eventually(async () => {
      const r = await replyRow(replyId);
      return r?.status === 'sent' ? r : undefined;
    }, 60_000);
    expect(sent!.attempts).toBe(2);
    expect(await writes('instagram', 'reply')).toBe(before + 1);
    await recordHistory(t.client, replyWorkflowId(replyId), 'replyWorkflow', 'instagram-not-landed');
  }, 120_000);
});

describe('inbox API', () => {
  it('lists and filters messages, pages with a cursor, shows threads, and keeps read marks and unread counts in step', async () => {
    const { ws, conn, deliver, make } = await setUp('instagram', 'comment');
    const tag = randomUUID().slice(0, 8);
    const sent = [make(`${tag} one`), make(`${tag} two`), make(`${tag} three`)];
    for (const m of sent) expect((await deliver(m)).statusCode).toBe(200);
    await eventually(async () => (await bodiesOf(conn.id)).filter((b) => b.includes(tag)).length === 3, 30_000);
    const get = (query: string) =>
      t.sys.app.inject({
        method: 'GET',
        url: `/v1/workspaces/${ws.workspaceId}/inbox?connectionId=${conn.id}&${query}`,
        headers: bearer(ws.token),
      });

    const page1 = await get('limit=2&unread=true');
    expect(page1.statusCode, page1.body).toBe(200);
    expect(page1.json().items).toHaveLength(2);
    expect(page1.json().next).toBeTruthy();
    const page2 = await get(`limit=2&unread=true&before=${page1.json().next}`);
    const seen = [...page1.json().items, ...page2.json().items].map((m: { id: string }) => m.id);
    expect(new Set(seen).size).toBe(seen.length);
    const ours = [...page1.json().items, ...page2.json().items].filter((m: { text: string }) => m.text.includes(tag));
    expect(ours).toHaveLength(3);

    const message = ours[0] as { id: string; threadId: string };
    const thread = await t.sys.app.inject({
      method: 'GET',
      url: `/v1/workspaces/${ws.workspaceId}/inbox/threads/${message.threadId}`,
      headers: bearer(ws.token),
    });
    expect(thread.statusCode, thread.body).toBe(200);
    const unreadBefore = thread.json().unreadCount as number;
    expect(thread.json().messages.map((m: { id: string }) => m.id)).toContain(message.id);

    const mark = (read: boolean) =>
      t.sys.app.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws.workspaceId}/inbox/messages/${message.id}/read`,
        headers: bearer(ws.token),
        payload: { read },
      });
    expect((await mark(true)).json().threadUnread).toBe(unreadBefore - 1);
    // Marking twice changes nothing more.
    expect((await mark(true)).json().threadUnread).toBe(unreadBefore - 1);
    expect((await get('unread=true&limit=200')).json().items.map((m: { id: string }) => m.id)).not.toContain(
      message.id,
    );
    expect((await mark(false)).json().threadUnread).toBe(unreadBefore);

    const all = await t.sys.app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws.workspaceId}/inbox/threads/${message.threadId}/read`,
      headers: bearer(ws.token),
    });
    expect(all.statusCode, all.body).toBe(200);
    expect(all.json().marked).toBe(unreadBefore);

    const bad = await get('before=not-a-cursor');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('querystring.before');
  }, 90_000);

  it('refuses replies the platform would refuse, and moderates at the platform', async () => {
    const { ws, conn, deliver, make } = await setUp('instagram', 'comment');
    const tag = randomUUID().slice(0, 8);
    const m = make(`${tag} spam spam spam`);
    expect((await deliver(m)).statusCode).toBe(200);
    const [row] = (await eventually(async () => {
      const rows = await sql<{ id: string; external_id: string }>(
        t.sys.orm,
        'select id, external_id from inbox_messages where connection_id = ? and body = ?',
        [conn.id, m.text],
      );
      return rows.length ? rows : undefined;
    }, 30_000))!;
    const tooLong = await t.sys.app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws.workspaceId}/inbox/messages/${row!.id}/replies`,
      headers: bearer(ws.token),
      payload: { text: 'x'.repeat(2_201) },
    });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().error.field).toBe('body.text');

    const moderate = (action: string) =>
      t.sys.app.inject({
        method: 'POST',
        url: `/v1/workspaces/${ws.workspaceId}/inbox/messages/${row!.id}/moderate`,
        headers: bearer(ws.token),
        payload: { action },
      });
    const hidden = await moderate('hide');
    expect(hidden.statusCode, hidden.body).toBe(200);
    expect(hidden.json()).toMatchObject({ hidden: true, removed: false });
    expect(t.sim.platforms.get('instagram')!.content.messages.find((x) => x.id === m.id)?.hidden).toBe(true);
    await recordHistory(t.client, `moderate/${row!.id}/hide`, 'moderateWorkflow', 'instagram-hide');
    const deleted = await moderate('delete');
    expect(deleted.statusCode, deleted.body).toBe(200);
    expect(deleted.json().removed).toBe(true);
    expect(t.sim.platforms.get('instagram')!.content.messages.find((x) => x.id === m.id)?.deleted).toBe(true);
    // Deleting again is harmless; the tombstone keeps no words.
    expect((await moderate('delete')).statusCode).toBe(200);
    const [tomb] = await sql<{ body: string }>(t.sys.orm, 'select body from inbox_messages where id = ?', [row!.id]);
    expect(tomb?.body).toBe('');
  }, 90_000);

  it('reports sync state, syncs on request, and gives best times only with enough posts', async () => {
    const { ws, conn } = await setUp('instagram', 'comment');
    const state = await t.sys.app.inject({
      method: 'GET',
      url: `/v1/workspaces/${ws.workspaceId}/connections/${conn.id}/sync`,
      headers: bearer(ws.token),
    });
    expect(state.statusCode, state.body).toBe(200);
    const passes = state.json().passes as number;
    const now = await t.sys.app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws.workspaceId}/connections/${conn.id}/sync`,
      headers: bearer(ws.token),
    });
    expect(now.statusCode, now.body).toBe(202);
    await eventually(async () => {
      const res = await t.sys.app.inject({
        method: 'GET',
        url: `/v1/workspaces/${ws.workspaceId}/connections/${conn.id}/sync`,
        headers: bearer(ws.token),
      });
      return res.json().passes > passes;
    }, 60_000);

    const best = (tz: string) =>
      t.sys.app.inject({
        method: 'GET',
        url: `/v1/workspaces/${ws.workspaceId}/analytics/best-times?connectionId=${conn.id}&timezone=${tz}`,
        headers: bearer(ws.token),
      });
    const res = await best('Europe/Oslo');
    expect(res.statusCode, res.body).toBe(200);
    // A handful of posts is not enough to recommend anything.
    expect(res.json().reason).toBe('not_enough_data');
    expect(res.json().slots).toEqual([]);
    expect(res.json().method).toMatch(/shrunk|Bayesian|prior/i);
    const badTz = await best('Mars/Olympus');
    expect(badTz.statusCode).toBe(400);
    expect(badTz.json().error.field).toBe('querystring.timezone');
  }, 90_000);
});

describe('attachments', () => {
  it('a WhatsApp image is fetched with the token and kept through the storage layer, once', async () => {
    const { conn, deliver, make } = await setUp('whatsapp', 'dm');
    const message = make(`photo ${randomUUID().slice(0, 8)}`);
    const file = { id: `wamedia${randomUUID().replaceAll('-', '')}`, mimeType: 'image/jpeg', bytes: 2_048 };
    message.attachments.push(file);
    expect((await deliver(message)).json().stored).toBeGreaterThanOrEqual(1);
    expect((await deliver(message)).json().stored).toBe(0);
    const [row] = (await eventually(async () => {
      const rows = await sql<{ status: string; storage_key: string; size_bytes: string; sha256: string }>(
        t.sys.orm,
        `select a.status, a.storage_key, a.size_bytes::text, a.sha256 from inbox_attachments a
         join inbox_messages m on m.id = a.message_id where m.connection_id = ? and a.external_id = ?`,
        [conn.id, file.id],
      );
      return rows.length && rows.every((r) => r.status !== 'pending') ? rows : undefined;
    }, 30_000))!;
    // WhatsApp states the SHA-256 in base64; the stored file matched it and is kept with its hex digest.
    expect(row).toMatchObject({
      status: 'stored',
      size_bytes: '2048',
      sha256: Buffer.from(attachmentSha256(file), 'base64').toString('hex'),
    });
    const stored = await createStorage(t.sys.config).stat(row!.storage_key);
    expect(stored?.sizeBytes).toBe(2_048);
  }, 90_000);
});

describe('read receipts', () => {
  it('a WhatsApp message marked read here is marked read at WhatsApp, once', async () => {
    const { ws, conn, deliver, make } = await setUp('whatsapp', 'dm');
    const message = make(`are you open today ${randomUUID().slice(0, 8)}`);
    expect((await deliver(message)).statusCode).toBe(200);
    const [row] = (await eventually(async () => {
      const rows = await sql<{ id: string }>(
        t.sys.orm,
        'select id from inbox_messages where connection_id = ? and body = ?',
        [conn.id, message.text],
      );
      return rows.length ? rows : undefined;
    }, 30_000))!;
    const res = await t.sys.app.inject({
      method: 'POST',
      url: `/v1/workspaces/${ws.workspaceId}/inbox/messages/${row!.id}/read`,
      headers: bearer(ws.token),
      payload: { read: true },
    });
    expect(res.statusCode, res.body).toBe(200);
    await eventually(async () => message.read, 30_000);
    const [after] = await sql<{ read_receipt_at: string | null }>(
      t.sys.orm,
      'select read_receipt_at from inbox_messages where id = ?',
      [row!.id],
    );
    expect(after?.read_receipt_at).toBeTruthy();
  }, 90_000);
});
