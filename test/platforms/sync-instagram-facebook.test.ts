import { describe, expect, it } from 'vitest';
import { isPlatformError } from '../../platforms/errors.ts';
import { createFacebookAdapter } from '../../platforms/facebook.ts';
import { createInstagramAdapter } from '../../platforms/instagram.ts';
import type { InboundMessage } from '../../platforms/types.ts';
import { DEMOGRAPHICS } from '../../simulators/platforms/meta.ts';
import {
  audienceNames,
  audienceTwiceAndThrottled,
  type Connected,
  DAY_MS,
  dayOf,
  deliveryOf,
  expectEachOnce,
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

// Instagram and Facebook Pages sync against their simulators: every stream paged from scratch
// returns the seeded history, a second pass brings nothing new, a changed counter shows up, a
// throttled page is read again from the same cursor; replies are written once and found after a
// lost answer; moderation; signed webhooks.

const env = useSyncSimulator();
const { writes, calls, fault, bump, addMessage, unknownOutcome } = env;

interface Case {
  id: 'instagram' | 'facebook';
  create: typeof createInstagramAdapter;
  historyDays: number;
  /** Seeded daily metric → the name the adapter reports. */
  daily: Record<string, string>;
  /** Seeded post counters → the name the adapter reports. */
  counters: Record<string, string>;
  /** The seeded followers total (account_totals' followers). */
  followersTotal: string;
  routes: { media: string; comments: string; insights: string };
}

const CASES: Case[] = [
  {
    id: 'instagram',
    create: createInstagramAdapter,
    historyDays: 60,
    daily: { reach: 'reach', follower_count: 'follows' },
    counters: { views: 'views', likes: 'likes', comments: 'comments', shares: 'shares', saves: 'saves' },
    followersTotal: 'followers_count',
    routes: { media: 'media_list', comments: 'comments', insights: 'insights' },
  },
  {
    id: 'facebook',
    create: createFacebookAdapter,
    historyDays: 120,
    daily: { page_media_view: 'views', page_follows: 'followers', page_daily_follows: 'follows' },
    counters: {
      views: 'views',
      reach: 'reach',
      clicks: 'clicks',
      likes: 'likes',
      shares: 'shares',
      comments: 'comments',
    },
    followersTotal: 'followers_count',
    routes: { media: 'published_posts', comments: 'comments', insights: 'insights' },
  },
];

const connect = (c: Case) => env.connect(c.create, c.id);
const context = (c: Case, mediaIds: string[] = []) => env.context(c.historyDays, mediaIds);
const fullPass = (c: Case, x: Connected, after?: FullPass) => env.fullPass(x, c.historyDays, after);

/** Seeds history deep enough for two pages of every paged stream. */
const seed = (c: Case, x: Connected) =>
  env.seed(c.id, {
    accountId: x.key,
    posts: 55,
    days: c.historyDays + 5,
    commentsPerPost: 52,
    dms: 30,
    dailyMetrics: Object.keys(c.daily),
    counters: Object.keys(c.counters),
  });

describe.each(CASES)('$id sync streams', (c) => {
  it('pages every stream from scratch to the seeded history, then a second pass finds nothing new', async () => {
    const x = await connect(c);
    expect(x.adapter.streams.map((s) => s.name)).toEqual([
      'account_metrics',
      'account_totals',
      // Facebook has no audience: its page_fans_* demographics are deprecated.
      ...(c.id === 'instagram' ? ['audience'] : []),
      'media',
      'media_metrics',
      'comments',
      'dms',
    ]);
    const seeded = await seed(c, x);
    const { out, mediaIds } = await fullPass(c, x);

    // media: every seeded post, newest first, over two pages.
    const media = out.media!;
    expect(media.pages).toBeGreaterThanOrEqual(2);
    expect(mediaIds).toEqual(seeded.posts.map((p) => p.id));
    expect(media.media.every((m) => m.publishedAt instanceof Date && m.permalink)).toBe(true);

    // account_metrics: one sample per day and metric for historyDays, in ≥ 2 windows, as seeded.
    const daily = out.account_metrics!;
    expect(daily.pages).toBeGreaterThanOrEqual(2);
    const series = x.platform.content.daily.get(x.key)!;
    const today = dayOf(env.sim.clock.now());
    const days = new Set(daily.metrics.map((m) => m.day));
    expect(days.size).toBe(c.historyDays);
    expect([...days].every((d) => d !== undefined && d < today)).toBe(true);
    for (const [seededName, name] of Object.entries(c.daily)) {
      const got = daily.metrics.filter((m) => m.metric === name);
      expect(got).toHaveLength(c.historyDays);
      for (const m of got) expect(m.value).toBe(series.get(m.day!)?.[seededName] ?? 0);
    }

    // account_totals: the current followers.
    const followers = out.account_totals!.metrics.find((m) => m.metric === 'followers');
    expect(followers?.value).toBe(x.platform.content.totals.get(x.key)?.[c.followersTotal]);
    expect(followers?.day).toBeUndefined();

    // media_metrics: every post's counters, as running totals.
    const perPost = metricMap(out.media_metrics!.metrics);
    expect(out.media_metrics!.pages).toBeGreaterThanOrEqual(2);
    for (const post of seeded.posts) {
      for (const [counter, name] of Object.entries(c.counters)) {
        expect(perPost.get(`${post.id}|${name}|`)).toBe(post.counters[counter]);
      }
    }

    // comments and dms: every seeded message exactly once.
    const comments = out.comments!.messages;
    expectEachOnce(comments, seeded.messages, 'comment');
    expect(comments[0]).toMatchObject({ threadKind: 'comment', fromAccount: false, hidden: false });
    expect(mediaIds).toContain(comments[0]?.threadExternalId);
    const dms = out.dms!.messages;
    expectEachOnce(dms, seeded.messages, 'dm');
    expect(dms.find((m) => m.authorExternalId === 'customer-0')).toMatchObject({
      threadKind: 'dm',
      threadExternalId: 'customer-0',
      text: 'Hello, I have a question about my order.',
      fromAccount: false,
    });

    // Second pass from the stored cursors: no new media or messages, the same values.
    const mediaCalls = await calls(c.id, c.routes.media);
    const commentCalls = await calls(c.id, 'comments');
    const again = await fullPass(c, x, { out, mediaIds });
    expect(again.out.media!.media).toEqual([]);
    expect(again.out.media!.pages).toBe(1);
    expect(await calls(c.id, c.routes.media)).toBe(mediaCalls + 1);
    expect(again.out.comments!.messages).toEqual([]);
    // Each post's comments stop at the first page: nothing there is newer than the last pass.
    expect(await calls(c.id, 'comments')).toBe(commentCalls + mediaIds.length);
    expect(again.out.dms!.messages).toEqual([]);
    expect(expectSameMetrics(out, again.out).length).toBeGreaterThan(0);
    // Re-read from the last day with data less the lookback: 3 days back through yesterday.
    expect(new Set(again.out.account_metrics!.metrics.map((m) => m.day)).size).toBe(4);
  });

  it('a pass over an empty account keeps no watermark: history that appears later is read in full', async () => {
    const x = await connect(c);
    const empty = await fullPass(c, x);
    expect(empty.mediaIds).toEqual([]);
    expect(empty.out.dms!.messages).toEqual([]);
    const seeded = await seed(c, x);
    const { out } = await fullPass(c, x, empty);
    expect(out.media!.media).toHaveLength(seeded.posts.length);
    expect(out.comments!.messages).toHaveLength(seeded.messages.filter((m) => m.kind === 'comment').length);
    expect(out.dms!.messages).toHaveLength(seeded.messages.filter((m) => m.kind === 'dm').length);
    // No day had data before: the whole history is read again, not just the lookback.
    expect(new Set(out.account_metrics!.metrics.map((m) => m.day)).size).toBe(c.historyDays);
    expect(out.account_metrics!.metrics.some((m) => m.value > 0)).toBe(true);
    // A message newer than everything read, yet older than that pass's start, is still found next.
    const late = await addMessage(c.id, {
      accountId: x.key,
      kind: 'dm',
      threadId: seeded.messages.find((m) => m.kind === 'dm')!.threadId,
      authorId: 'customer-0',
      text: 'Any news?',
      createdAt: env.sim.clock.now() - 3_600_000 + 60_000,
    });
    const again = await pass(x, 'dms', out.dms!.cursor, context(c));
    expect(again.messages.map((m) => m.externalId)).toEqual([late.id]);
  });

  it('shows a changed counter, daily value and total in the next pass', async () => {
    const x = await connect(c);
    const seeded = await seed(c, x);
    const { out, mediaIds } = await fullPass(c, x);
    const post = seeded.posts[3]!;
    const yesterday = dayOf(env.sim.clock.now() - DAY_MS);
    const [dailyName, dailyShared] = Object.entries(c.daily)[0]!;
    const before = metricMap([...out.account_metrics!.metrics, ...out.media_metrics!.metrics]);
    const followersBefore = out.account_totals!.metrics.find((m) => m.metric === 'followers')!.value;

    await bump(c.id, { postId: post.id, metric: 'likes', by: 7 });
    await bump(c.id, {
      accountId: x.key,
      day: yesterday,
      metric: dailyName,
      by: 11,
    });
    await bump(c.id, {
      accountId: x.key,
      metric: c.followersTotal,
      by: 5,
    });

    const daily = await pass(x, 'account_metrics', out.account_metrics!.cursor, context(c));
    const changed = daily.metrics.find((m) => m.metric === dailyShared && m.day === yesterday);
    expect(changed?.value).toBe((before.get(`|${dailyShared}|${yesterday}`) ?? 0) + 11);
    const perPost = await pass(x, 'media_metrics', out.media_metrics!.cursor, context(c, mediaIds));
    expect(perPost.metrics.find((m) => m.objectId === post.id && m.metric === 'likes')?.value).toBe(
      (before.get(`${post.id}|likes|`) ?? 0) + 7,
    );
    const totals = await pass(x, 'account_totals', out.account_totals!.cursor, context(c));
    expect(totals.metrics.find((m) => m.metric === 'followers')?.value).toBe(followersBefore + 5);
  });

  it.each(['media', 'comments', 'account_metrics'] as const)(
    'a throttled second %s page throws rate_limited, and the same cursor then reads that page',
    async (name) => {
      const x = await connect(c);
      await seed(c, x);
      const ids = (await pass(x, 'media', null, context(c))).media.map((m) => m.externalId);
      const route = name === 'media' ? c.routes.media : name === 'comments' ? c.routes.comments : c.routes.insights;
      // The unthrottled truth first, for comparison; then the second page throttled once.
      const { err } = await refusedThenResumed(x, name, context(c, ids.slice(0, 2)), () =>
        fault(c.id, { route, kind: 'throttle', after: 1, retryAfterS: 120 }),
      );
      expect(isPlatformError(err)).toBe(true);
      expect(err.kind).toBe('rate_limited');
      expect(err.retryAfterMs).toBe(120_000);
    },
  );
});

describe('Instagram audience', () => {
  const connect = () => env.connect(createInstagramAdapter, 'instagram');

  it('reads follower demographics by age, gender, country and city, the same again, and refuses when throttled', async () => {
    const x = await connect();
    const followers = x.platform.content.totals.get(x.key)?.followers_count ?? 0;
    expect(followers).toBeGreaterThanOrEqual(100);
    const metrics = await audienceTwiceAndThrottled(x.adapter, x.tokens, x.account, env.context(30), () =>
      fault('instagram', { route: 'insights', kind: 'throttle', retryAfterS: 60 }),
    );
    const expected = Object.entries(DEMOGRAPHICS).flatMap(([dimension, values]) => audienceNames(dimension, values));
    expect(metrics.map((m) => m.metric).sort()).toEqual(expected.sort());
    for (const name of [
      'audience.age.18-24',
      'audience.gender.F',
      'audience.country.US',
      'audience.city.London, England',
    ]) {
      expect(metrics.map((m) => m.metric)).toContain(name);
    }
    // Each breakdown spreads the followers (rounded down per value).
    for (const [dimension, values] of Object.entries(DEMOGRAPHICS)) {
      const sum = metrics.filter((m) => m.metric.startsWith(`audience.${dimension}.`)).reduce((t, m) => t + m.value, 0);
      expect(sum).toBeLessThanOrEqual(followers);
      expect(sum).toBeGreaterThan(followers - values.length);
    }

    const women = metricMap(metrics).get('|audience.gender.F|') ?? 0;
    await bump('instagram', { accountId: x.key, metric: 'gender.F', by: 3 });
    const again = await pass(x, 'audience', {}, env.context(30));
    expect(metricMap(again.metrics).get('|audience.gender.F|')).toBe(women + 3);
  });

  it('has no demographics for an account under 100 followers', async () => {
    const x = await connect();
    const followers = x.platform.content.totals.get(x.key)?.followers_count ?? 0;
    await bump('instagram', { accountId: x.key, metric: 'followers_count', by: 99 - followers });
    expect(await pass(x, 'audience', null, env.context(30))).toMatchObject({ pages: 1, metrics: [], cursor: {} });
  });
});

/** A seeded comment and DM of the account, and their reply targets. */
async function targets(c: Case, x: Connected) {
  const seeded = await env.seed(c.id, { accountId: x.key, posts: 2, days: 5, commentsPerPost: 2, dms: 2 });
  const comment = seeded.messages.find((m) => m.kind === 'comment')!;
  const dm = seeded.messages.find((m) => m.kind === 'dm')!;
  const onComment = replyTarget('comment', comment);
  const onDm = replyTarget('dm', dm, dm.authorId);
  return { seeded, comment, dm, onComment, onDm };
}

describe.each(CASES)('$id inbox', (c) => {
  it.each([
    ['comment', 'reply'],
    ['dm', 'messages_send'],
  ] as const)(
    'a %s reply is one write; a lost answer is found by findReply, a dropped one is not',
    async (kind, route) => {
      const x = await connect(c);
      const t = await targets(c, x);
      const target = kind === 'comment' ? t.onComment : t.onDm;
      const inbox = x.adapter.inbox!;
      expect(inbox.replyKinds).toContain(kind);

      const sent = await inbox.reply(x.tokens, x.account, target, 'Thanks, we are on it!');
      expect(await writes(c.id, route)).toHaveLength(1);
      expect(stored(x, sent.externalId)).toMatchObject({ fromAccount: true, text: 'Thanks, we are on it!' });

      // The answer is lost after the write: outcome_unknown, and the truth signal names the reply.
      const since = new Date();
      const lost = await unknownOutcome(c.id, route, 'drop_after', () =>
        inbox.reply(x.tokens, x.account, target, 'Second answer'),
      );
      expect(lost).toHaveLength(2);
      const landed = x.platform.content.messages.find((m) => m.text === 'Second answer' && m.fromAccount)!;
      expect(await inbox.findReply(x.tokens, x.account, target, 'Second answer', since)).toEqual({
        found: true,
        externalId: landed.id,
      });

      // Dropped before the platform did anything: not found, so it may be sent again.
      const dropped = await unknownOutcome(c.id, route, 'drop', () =>
        inbox.reply(x.tokens, x.account, target, 'Third answer'),
      );
      expect(dropped).toHaveLength(2);
      expect(await inbox.findReply(x.tokens, x.account, target, 'Third answer', since)).toEqual({ found: false });

      // The reply shows up in a later sync as the account's own message.
      if (kind === 'comment') {
        const { messages } = await pass(x, 'comments', null, context(c, [target.threadExternalId]));
        expect(messages.find((m) => m.externalId === sent.externalId)).toMatchObject({
          fromAccount: true,
          parentExternalId: target.messageExternalId,
        });
      } else {
        const { messages } = await pass(x, 'dms', null, context(c));
        expect(messages.find((m) => m.externalId === sent.externalId)).toMatchObject({
          fromAccount: true,
          threadExternalId: target.recipientExternalId,
        });
      }
    },
  );

  it('hides, unhides and deletes a comment', async () => {
    const x = await connect(c);
    const t = await targets(c, x);
    const inbox = x.adapter.inbox!;
    expect(inbox.moderation).toEqual(['hide', 'unhide', 'delete']);
    const current = () => stored(x, t.comment.id);

    await inbox.moderate(x.tokens, x.account, t.onComment, 'hide');
    expect(current().hidden).toBe(true);
    const { messages } = await pass(x, 'comments', null, context(c, [t.comment.threadId]));
    expect(messages.find((m) => m.externalId === t.comment.id)?.hidden).toBe(true);
    await inbox.moderate(x.tokens, x.account, t.onComment, 'unhide');
    expect(current().hidden).toBe(false);
    await inbox.moderate(x.tokens, x.account, t.onComment, 'delete');
    expect(current().deleted).toBe(true);
    expect(await writes(c.id, 'moderate')).toHaveLength(3);
    const after = await pass(x, 'comments', null, context(c, [t.comment.threadId]));
    expect(after.messages.map((m) => m.externalId)).not.toContain(t.comment.id);
    await expect(inbox.moderate(x.tokens, x.account, t.onDm, 'hide')).rejects.toThrow();
  });
});

describe.each(CASES)('$id webhooks', (c) => {
  it('answers the hub.challenge handshake only for the right verify token', async () => {
    const x = await connect(c);
    const hooks = x.adapter.webhooks!;
    const query = { 'hub.mode': 'subscribe', 'hub.challenge': '1158201444', 'hub.verify_token': 'my-token' };
    expect(hooks.handshake(query, 'my-token')).toEqual({ status: 200, body: '1158201444' });
    expect(hooks.handshake(query, 'other-token')?.status).toBe(403);
    expect(hooks.handshake({ 'hub.mode': 'unsubscribe', 'hub.verify_token': 'my-token' }, 'my-token')?.status).toBe(
      403,
    );
    expect(hooks.handshake({}, 'my-token')).toBeUndefined();
  });

  it.each(['comment', 'dm'] as const)(
    'verifies a signed %s delivery, refuses a changed byte, and parses it',
    async (kind) => {
      const x = await connect(c);
      const t = await targets(c, x);
      const added = await addMessage(c.id, {
        accountId: x.key,
        kind,
        threadId: kind === 'comment' ? t.comment.threadId : t.dm.threadId,
        parentId: kind === 'comment' ? t.comment.id : undefined,
        authorId: kind === 'comment' ? 'fan-9' : t.dm.authorId,
        authorName: 'Fan Nine',
        text: 'Is this still available?',
      });
      const delivery = deliveryOf(x, added.id);
      const hooks = x.adapter.webhooks!;
      expectSignedOnly(hooks, delivery, (tampered) => {
        tampered[tampered.length - 2] = (tampered[tampered.length - 2] as number) ^ 1;
      });
      expect(hooks.verify({}, delivery.raw, Date.now()).ok).toBe(false);

      const [event, ...more] = hooks.parse(delivery.body);
      expect(more).toHaveLength(0);
      expect(event).toMatchObject({ accountExternalId: x.account.externalId, dedupeKey: added.id });
      const expected: Partial<InboundMessage> =
        kind === 'comment'
          ? {
              externalId: added.id,
              threadKind: 'comment',
              threadExternalId: t.comment.threadId,
              parentExternalId: t.comment.id,
              authorExternalId: 'fan-9',
              text: 'Is this still available?',
              fromAccount: false,
            }
          : {
              externalId: added.id,
              threadKind: 'dm',
              threadExternalId: t.dm.authorId,
              authorExternalId: t.dm.authorId,
              text: 'Is this still available?',
              fromAccount: false,
            };
      expect(event?.message).toMatchObject(expected);
      expect(Math.abs((event?.message?.createdAt.getTime() ?? 0) - added.createdAt)).toBeLessThan(1000);
    },
  );
});
