import { describe, expect, it } from 'vitest';
import { isPlatformError } from '../../platforms/errors.ts';
import { createThreadsAdapter } from '../../platforms/threads.ts';
import { createWhatsAppAdapter } from '../../platforms/whatsapp.ts';
import { DEMOGRAPHICS } from '../../simulators/platforms/meta.ts';
import { attachmentBytes, attachmentSha256 } from '../../simulators/platforms/whatsapp.ts';
import { platformFailure as failure } from './contract.ts';
import {
  audienceNames,
  audienceTwiceAndThrottled,
  type Connected,
  DAY_MS,
  dayOf,
  deliveryOf,
  expectEachOnce,
  expectHubChallenge,
  expectSameMetrics,
  expectSignedOnly,
  type FullPass,
  metricMap,
  pass,
  refusedThenResumed,
  replyTarget,
  stored,
  useSyncSimulator,
} from './sync-support.ts';

// Threads and WhatsApp sync against their simulators. Threads: insights, posts, replies and
// mentions paged from scratch and again, replies as reply containers (one publish, found after a
// lost answer), hiding replies, its own webhook shape. WhatsApp: WABA analytics only (messages
// have no history API), replies with context and callback data, read receipts, webhooks with media
// fetched by id.

const env = useSyncSimulator();
const { writes, calls, fault, bump, addMessage, context, unknownOutcome } = env;

const connect = (id: 'threads' | 'whatsapp') =>
  env.connect(id === 'threads' ? createThreadsAdapter : createWhatsAppAdapter, id);

describe('Threads sync streams', () => {
  const HISTORY = 60;
  const COUNTERS = ['views', 'likes', 'replies', 'reposts', 'quotes', 'shares'];

  const seed = (x: Connected) =>
    env.seed('threads', {
      accountId: x.key,
      posts: 55,
      days: HISTORY + 5,
      commentsPerPost: 52,
      mentions: 55,
      dailyMetrics: ['views'],
      counters: COUNTERS,
    });
  const fullPass = (x: Connected, after?: FullPass) => env.fullPass(x, HISTORY, after);

  it('pages every stream from scratch to the seeded history, then a second pass finds nothing new', async () => {
    const x = await connect('threads');
    expect(x.adapter.streams.map((s) => s.name)).toEqual([
      'account_metrics',
      'account_totals',
      'audience',
      'media',
      'media_metrics',
      'comments',
      'mentions',
    ]);
    const seeded = await seed(x);
    const { out, mediaIds } = await fullPass(x);

    expect(out.media!.pages).toBeGreaterThanOrEqual(2);
    expect(mediaIds).toEqual(seeded.posts.map((p) => p.id));

    const series = x.platform.content.daily.get(x.key)!;
    const daily = out.account_metrics!;
    expect(daily.pages).toBeGreaterThanOrEqual(2);
    expect(daily.metrics).toHaveLength(HISTORY);
    for (const m of daily.metrics) expect(m).toMatchObject({ metric: 'views', value: series.get(m.day!)?.views });
    expect(out.account_totals!.metrics.find((m) => m.metric === 'followers')?.value).toBe(2048);

    const perPost = metricMap(out.media_metrics!.metrics);
    for (const post of seeded.posts) {
      for (const name of COUNTERS) expect(perPost.get(`${post.id}|${name}|`)).toBe(post.counters[name]);
    }

    const comments = out.comments!.messages;
    expectEachOnce(comments, seeded.messages, 'comment');
    // Newest first: the last seeded reply of the newest post.
    expect(comments[0]).toMatchObject({ threadKind: 'comment', authorExternalId: 'fan-51', fromAccount: false });
    expect(comments[0]?.parentExternalId).toBeUndefined();
    const mentions = out.mentions!;
    expect(mentions.pages).toBeGreaterThanOrEqual(2);
    expect(mentions.messages.map((m) => m.externalId)).toEqual(
      seeded.messages.filter((m) => m.kind === 'mention').map((m) => m.id),
    );
    expect(mentions.messages[0]).toMatchObject({ threadKind: 'mention', authorExternalId: 'mentioner-0' });
    expect(mentions.messages[0]?.threadExternalId).toBe(mentions.messages[0]?.externalId);

    const before = await calls('threads', 'media_list');
    const again = await fullPass(x, { out, mediaIds });
    expect(again.out.media!.media).toEqual([]);
    expect(await calls('threads', 'media_list')).toBe(before + 1);
    expect(again.out.comments!.messages).toEqual([]);
    expect(again.out.mentions!.messages).toEqual([]);
    expect(again.out.mentions!.pages).toBe(1);
    expectSameMetrics(out, again.out);
  });

  it('shows a changed counter, daily value and total in the next pass; a new reply and mention too', async () => {
    const x = await connect('threads');
    const seeded = await seed(x);
    const { out, mediaIds } = await fullPass(x);
    const post = seeded.posts[0]!;
    const yesterday = dayOf(env.sim.clock.now() - DAY_MS);
    const id = x.key;
    await bump('threads', { postId: post.id, metric: 'reposts', by: 3 });
    await bump('threads', { accountId: id, day: yesterday, metric: 'views', by: 40 });
    await bump('threads', { accountId: id, metric: 'followers_count', by: 2 });
    const reply = await addMessage('threads', {
      accountId: id,
      kind: 'comment',
      threadId: post.id,
      authorId: 'newfan',
      text: 'Late to the party',
    });
    const mention = await addMessage('threads', {
      accountId: id,
      kind: 'mention',
      threadId: 'x',
      authorId: 'someone',
      text: '@simulated.studio hello',
    });

    const again = await fullPass(x, { out, mediaIds });
    const before = metricMap([...out.account_metrics!.metrics, ...out.media_metrics!.metrics]);
    expect(again.out.account_metrics!.metrics.find((m) => m.day === yesterday)?.value).toBe(
      (before.get(`|views|${yesterday}`) ?? 0) + 40,
    );
    expect(again.out.media_metrics!.metrics.find((m) => m.objectId === post.id && m.metric === 'reposts')?.value).toBe(
      (before.get(`${post.id}|reposts|`) ?? 0) + 3,
    );
    expect(again.out.account_totals!.metrics.find((m) => m.metric === 'followers')?.value).toBe(2050);
    expect(again.out.comments!.messages.map((m) => m.externalId)).toEqual([reply.id]);
    expect(again.out.mentions!.messages.map((m) => m.externalId)).toEqual([mention.id]);
  });

  it.each([
    ['media', 'media_list'],
    ['comments', 'comments'],
    ['mentions', 'mentions'],
    ['account_metrics', 'insights'],
  ])(
    'a throttled second %s page throws rate_limited, and the same cursor then reads that page',
    async (name, route) => {
      const x = await connect('threads');
      await seed(x);
      const ids = (await pass(x, 'media', null, context(HISTORY))).media.map((m) => m.externalId);
      const { err } = await refusedThenResumed(x, name, context(HISTORY, ids.slice(0, 2)), () =>
        fault('threads', { route, kind: 'throttle', after: 1, retryAfterS: 60 }),
      );
      expect(isPlatformError(err) && err.kind).toBe('rate_limited');
      expect(err.retryAfterMs).toBe(60_000);
    },
  );
});

describe('Threads inbox', () => {
  async function target(x: Connected) {
    const seeded = await env.seed('threads', { accountId: x.key, posts: 1, days: 3, commentsPerPost: 2, mentions: 1 });
    const comment = seeded.messages.find((m) => m.kind === 'comment')!;
    const onComment = replyTarget('comment', comment);
    return { seeded, comment, onComment };
  }

  it('replies with one publish; a lost answer is found by findReply, a dropped one is not', async () => {
    const x = await connect('threads');
    const { comment, onComment } = await target(x);
    const inbox = x.adapter.inbox!;
    expect(inbox.replyKinds).toEqual(['comment', 'mention']);

    const sent = await inbox.reply(x.tokens, x.account, onComment, 'Thank you!');
    const [write, ...more] = await writes('threads', 'publish');
    expect(more).toHaveLength(0);
    expect(write?.data).toMatchObject({ mediaId: sent.externalId, replyToId: comment.id, text: 'Thank you!' });

    const since = new Date();
    const lost = await unknownOutcome('threads', 'publish', 'drop_after', () =>
      inbox.reply(x.tokens, x.account, onComment, 'Lost answer'),
    );
    const landed = lost[1];
    expect(landed?.data.text).toBe('Lost answer');
    expect(await inbox.findReply(x.tokens, x.account, onComment, 'Lost answer', since)).toEqual({
      found: true,
      externalId: landed?.data.mediaId,
    });

    const dropped = await unknownOutcome('threads', 'publish', 'drop', () =>
      inbox.reply(x.tokens, x.account, onComment, 'Never sent'),
    );
    expect(dropped).toHaveLength(2);
    expect(await inbox.findReply(x.tokens, x.account, onComment, 'Never sent', since)).toEqual({ found: false });

    // The account's replies come back in the conversation, marked as its own, not as posts.
    const { messages } = await pass(x, 'comments', null, context(7, [comment.threadId]));
    expect(messages.find((m) => m.externalId === sent.externalId)).toMatchObject({
      fromAccount: true,
      parentExternalId: comment.id,
      text: 'Thank you!',
    });
    const { media } = await pass(x, 'media', null, context(7));
    expect(media.map((m) => m.externalId)).not.toContain(sent.externalId);
  });

  it('hides and unhides a reply; deleting others’ replies is refused', async () => {
    const x = await connect('threads');
    const { comment, onComment } = await target(x);
    const inbox = x.adapter.inbox!;
    expect(inbox.moderation).toEqual(['hide', 'unhide']);
    const current = () => stored(x, comment.id);
    await inbox.moderate(x.tokens, x.account, onComment, 'hide');
    expect(current().hidden).toBe(true);
    const { messages } = await pass(x, 'comments', null, context(7, [comment.threadId]));
    expect(messages.find((m) => m.externalId === comment.id)?.hidden).toBe(true);
    await inbox.moderate(x.tokens, x.account, onComment, 'unhide');
    expect(current().hidden).toBe(false);
    expect(await writes('threads', 'moderate')).toHaveLength(2);
    const refused = await failure(inbox.moderate(x.tokens, x.account, onComment, 'delete'));
    expect(refused.kind).toBe('permanent');
    expect(current().deleted).toBe(false);
  });

  it('verifies and parses its own webhook shape for replies and mentions', async () => {
    const x = await connect('threads');
    const { comment } = await target(x);
    const hooks = x.adapter.webhooks!;
    expectHubChallenge(hooks, 'c-42', 'v', 'x');

    for (const kind of ['comment', 'mention'] as const) {
      const added = await addMessage('threads', {
        accountId: x.key,
        kind,
        threadId: kind === 'comment' ? comment.threadId : 'self',
        parentId: kind === 'comment' ? comment.id : undefined,
        authorId: 'replier',
        text: 'Webhook says hi',
      });
      const delivery = deliveryOf(x, added.id);
      expectSignedOnly(hooks, delivery, (tampered) => {
        tampered.write('ho', tampered.indexOf('hi'));
      });
      const events = hooks.parse(delivery.body);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ accountExternalId: x.account.externalId, dedupeKey: added.id });
      expect(events[0]?.message).toMatchObject(
        kind === 'comment'
          ? {
              threadKind: 'comment',
              threadExternalId: comment.threadId,
              parentExternalId: comment.id,
              authorExternalId: 'replier',
              text: 'Webhook says hi',
            }
          : { threadKind: 'mention', threadExternalId: added.id, authorExternalId: 'replier' },
      );
    }
  });
});

describe('Threads audience', () => {
  it('reads follower demographics by age, gender, country and city, the same again, and refuses when throttled', async () => {
    const x = await connect('threads');
    const followers = x.platform.content.totals.get(x.key)?.followers_count ?? 0;
    const metrics = await audienceTwiceAndThrottled(x.adapter, x.tokens, x.account, context(30), () =>
      fault('threads', { route: 'insights', kind: 'throttle', retryAfterS: 60 }),
    );
    const expected = Object.entries(DEMOGRAPHICS).flatMap(([dimension, values]) => audienceNames(dimension, values));
    expect(metrics.map((m) => m.metric).sort()).toEqual(expected.sort());
    for (const [dimension, values] of Object.entries(DEMOGRAPHICS)) {
      const sum = metrics.filter((m) => m.metric.startsWith(`audience.${dimension}.`)).reduce((t, m) => t + m.value, 0);
      expect(sum).toBeLessThanOrEqual(followers);
      expect(sum).toBeGreaterThan(followers - values.length);
    }

    const us = metricMap(metrics).get('|audience.country.US|') ?? 0;
    await bump('threads', { accountId: x.key, metric: 'country.US', by: 12 });
    const again = await pass(x, 'audience', {}, context(30));
    expect(metricMap(again.metrics).get('|audience.country.US|')).toBe(us + 12);
  });
});

describe('WhatsApp', () => {
  const HISTORY = 120;

  it('syncs WABA analytics only: sent and delivered per day, in windows, then again from the last day', async () => {
    const x = await connect('whatsapp');
    expect(x.adapter.streams.map((s) => s.name)).toEqual(['account_metrics']);
    await env.seed('whatsapp', {
      accountId: x.key,
      days: HISTORY + 10,
      dailyMetrics: ['sent', 'delivered'],
    });
    const first = await pass(x, 'account_metrics', null, context(HISTORY));
    expect(first.pages).toBeGreaterThanOrEqual(2);
    const series = x.platform.content.daily.get(x.key)!;
    expect(first.metrics).toHaveLength(HISTORY * 2);
    for (const m of first.metrics) expect(m.value).toBe(series.get(m.day!)?.[m.metric]);
    expect(new Set(first.metrics.map((m) => m.metric))).toEqual(new Set(['sent', 'delivered']));

    const yesterday = dayOf(env.sim.clock.now() - DAY_MS);
    const values = metricMap(first.metrics);
    const second = await pass(x, 'account_metrics', first.cursor, context(HISTORY));
    expect(second.pages).toBe(1);
    expect(second.metrics).toHaveLength(4 * 2);
    for (const m of second.metrics) expect(m.value).toBe(values.get(`|${m.metric}|${m.day}`));

    await bump('whatsapp', {
      accountId: x.key,
      day: yesterday,
      metric: 'delivered',
      by: 9,
    });
    const third = await pass(x, 'account_metrics', second.cursor, context(HISTORY));
    expect(third.metrics.find((m) => m.metric === 'delivered' && m.day === yesterday)?.value).toBe(
      (values.get(`|delivered|${yesterday}`) ?? 0) + 9,
    );
  });

  it('a throttled second analytics window throws rate_limited (WABA limit), and the same cursor reads it', async () => {
    const x = await connect('whatsapp');
    await env.seed('whatsapp', {
      accountId: x.key,
      days: HISTORY,
      dailyMetrics: ['sent', 'delivered'],
    });
    const { err, truth } = await refusedThenResumed(x, 'account_metrics', context(HISTORY), () =>
      fault('whatsapp', { route: 'analytics', kind: 'throttle', after: 1, retryAfterS: 600 }),
    );
    expect(err.kind).toBe('rate_limited');
    expect(err.code).toBe('80007');
    expect(err.retryAfterMs).toBe(600_000);
    expect(truth.metrics?.length).toBeGreaterThan(0);
  });

  /** A customer's message in the store: it opens the 24 h window. */
  const inbound = (x: Connected, more: Record<string, unknown> = {}) =>
    addMessage('whatsapp', {
      accountId: x.key,
      kind: 'dm',
      threadId: '4915112345678',
      authorId: '4915112345678',
      authorName: 'Jana',
      text: 'Do you deliver on Sundays?',
      ...more,
    });

  it('replies with context and callback data; a lost answer cannot be checked, only waited for', async () => {
    const x = await connect('whatsapp');
    const m = await inbound(x);
    const inbox = x.adapter.inbox!;
    expect(inbox.replyKinds).toEqual(['dm']);
    const target = replyTarget('dm', m, m.authorId);
    const sent = await inbox.reply(x.tokens, x.account, target, 'Yes, 9 to 12.');
    expect(sent.externalId).toMatch(/^wamid\./);
    const [write, ...more] = await writes('whatsapp', 'send');
    expect(more).toHaveLength(0);
    expect(write?.data).toMatchObject({ wamid: sent.externalId, to: m.authorId, type: 'text', context: m.id });
    expect(write?.data.biz_opaque_callback_data).toMatch(/^reply:/);
    expect(stored(x, sent.externalId)).toMatchObject({
      fromAccount: true,
      parentId: m.id,
      threadId: m.authorId,
    });

    const lost = await unknownOutcome('whatsapp', 'send', 'drop_after', () =>
      inbox.reply(x.tokens, x.account, target, 'Lost'),
    );
    expect(lost).toHaveLength(2);
    const check = await inbox.findReply(x.tokens, x.account, target, 'Lost', new Date());
    expect(check.found).toBe('unknown');
    expect(check.found === 'unknown' && check.checkAfterMs).toBeGreaterThan(0);

    const dropped = await unknownOutcome('whatsapp', 'send', 'drop', () =>
      inbox.reply(x.tokens, x.account, target, 'Dropped'),
    );
    expect(dropped).toHaveLength(2);

    expect(inbox.moderation).toEqual([]);
    await expect(inbox.moderate(x.tokens, x.account, target, 'hide')).rejects.toThrow();
  });

  it('marks a message read', async () => {
    const x = await connect('whatsapp');
    const m = await inbound(x);
    const current = () => stored(x, m.id);
    expect(current().read).toBe(false);
    await x.adapter.inbox!.markRead!(x.tokens, x.account, m.id);
    expect(current().read).toBe(true);
  });

  it('verifies and parses message webhooks, and fetches a file by its media id', async () => {
    const x = await connect('whatsapp');
    const hooks = x.adapter.webhooks!;
    expectHubChallenge(hooks, '77', 't', 'u');

    const text = await inbound(x);
    const file = { id: '7730293847561234', mimeType: 'image/jpeg', bytes: 5000 };
    const photo = await inbound(x, { text: 'My receipt', parentId: text.id, attachments: [file] });
    for (const m of [text, photo]) {
      const delivery = deliveryOf(x, m.id);
      expectSignedOnly(hooks, delivery, (changed) => {
        changed[10] = (changed[10] as number) ^ 0x20;
      });
      const events = hooks.parse(delivery.body);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ accountExternalId: x.account.externalId, dedupeKey: m.id });
      expect(events[0]?.message).toMatchObject({
        externalId: m.id,
        threadKind: 'dm',
        threadExternalId: '4915112345678',
        authorExternalId: '4915112345678',
        authorName: 'Jana',
        text: m.text,
        fromAccount: false,
      });
    }
    const [withFile] = hooks.parse(deliveryOf(x, photo.id).body);
    expect(withFile?.message?.parentExternalId).toBe(text.id);
    expect(withFile?.message?.attachments).toEqual([
      { externalId: file.id, mimeType: 'image/jpeg', sha256: attachmentSha256(file) },
    ]);

    const fetched = await x.adapter.inbox!.fetchAttachment!(x.tokens, x.account, file.id);
    expect(fetched.mimeType).toBe('image/jpeg');
    expect(Buffer.from(fetched.bytes).equals(attachmentBytes(file))).toBe(true);
    expect(fetched.bytes).toHaveLength(5000);
    expect(await calls('whatsapp', 'media_download')).toBe(1);

    // Delivery statuses of what the business sent are no inbox messages.
    const sent = x.platform.content.message({
      id: 'wamid.sent',
      accountId: x.key,
      kind: 'dm',
      threadId: '4915112345678',
      authorId: x.account.externalId,
      authorName: 'Simulated Bakery',
      text: 'hi',
      createdAt: env.sim.clock.now(),
      fromAccount: true,
    });
    expect(hooks.parse(x.platform.webhookFor!(sent))).toEqual([]);
  });
});
