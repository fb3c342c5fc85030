import { beforeAll, describe, expect, it } from 'vitest';
import { createTikTokAdapter } from '../../platforms/tiktok.ts';
import type { PlatformAdapter, PublishAccount } from '../../platforms/types.ts';
import { createYouTubeAdapter, uploadsPlaylist } from '../../platforms/youtube.ts';
import type { SimMessage, SimPost } from '../../simulators/content.ts';
import { admin, platformFailure as failure } from './contract.ts';
import {
  accountTotals,
  audienceNames,
  audienceTwiceAndThrottled,
  ctxOf,
  DAY_MS,
  dayOf,
  drain,
  metricOf,
  readPastThrottle,
  replyTarget,
  stream,
  useSyncSimulator,
} from './sync-support.ts';

// Analytics and inbox sync for YouTube and TikTok against their simulators: every stream pages
// through seeded history, a second pass reads nothing new, a bump shows up, a throttled page is read
// again from its cursor, and YouTube replies are written once (and found again after a lost answer).

const env = useSyncSimulator();
const { writes, fault, seed, bump, content, simNow, mint, advanceClock, unknownOutcome } = env;

let youtube: PlatformAdapter;
let tiktok: PlatformAdapter;
beforeAll(() => {
  youtube = env.adapter(createYouTubeAdapter, 'youtube');
  tiktok = env.adapter(createTikTokAdapter, 'tiktok');
});

describe('YouTube sync', () => {
  const scopes = [
    'https://www.googleapis.com/auth/youtube.readonly',
    'https://www.googleapis.com/auth/yt-analytics.readonly',
    'https://www.googleapis.com/auth/youtube.force-ssl',
  ];
  async function channel() {
    const { tokens, accountId } = await mint('youtube', scopes);
    const profile = await youtube.profile(tokens);
    const account: PublishAccount = { externalId: profile.externalId, ids: profile.ids ?? {} };
    expect(uploadsPlaylist(account)).toBe(`UU${profile.externalId.slice(2)}`);
    return { tokens, accountId, account };
  }
  const dailyMetrics = ['views', 'estimatedMinutesWatched', 'subscribersGained', 'likes'];

  it('reads daily channel metrics over history, then the restated days again', async () => {
    const { tokens, accountId, account } = await channel();
    await seed('youtube', { accountId, days: 40, dailyMetrics });
    const now = await simNow();
    const store = env.sim.platforms.get('youtube')!.content;
    const days = store.dailyOf(accountId, '0000-01-01', '9999-12-31');
    expect(days).toHaveLength(40);
    const lastDay = days.at(-1)!.day;

    const s = stream(youtube, 'account_metrics');
    const first = await drain(s, tokens, account, null, ctxOf(now));
    expect(first.pages).toBe(2);
    expect(new Set(first.metrics.map((m) => m.day)).size).toBe(40);
    for (const { day, metrics } of [days[0]!, days[25]!, days.at(-1)!]) {
      expect(metricOf(first.metrics, '', 'views', day)).toBe(metrics.views);
      expect(metricOf(first.metrics, '', 'watch_minutes', day)).toBe(metrics.estimatedMinutesWatched);
      expect(metricOf(first.metrics, '', 'subscribers_gained', day)).toBe(metrics.subscribersGained);
    }
    expect(first.cursor).toEqual({ last: lastDay });

    // The next pass reads from the last day with data less the lookback: four days, one page, same values.
    const second = await drain(s, tokens, account, first.cursor, ctxOf(now));
    expect(second.pages).toBe(1);
    expect([...new Set(second.metrics.map((m) => m.day))]).toEqual(days.slice(-4).map((d) => d.day));
    for (const m of second.metrics) expect(metricOf(first.metrics, '', m.metric, m.day)).toBe(m.value);

    // YouTube restates a recent day: the next pass carries the new value.
    const restated = days.at(-2)!.day;
    const before = metricOf(second.metrics, '', 'views', restated) ?? 0;
    await bump('youtube', { accountId, day: restated, metric: 'views', by: 11 });
    const third = await drain(s, tokens, account, second.cursor, ctxOf(now));
    expect(metricOf(third.metrics, '', 'views', restated)).toBe(before + 11);
  });

  it('lists uploads, their counters and comment threads, then nothing new, then what changed', async () => {
    const { tokens, accountId, account } = await channel();
    const seeded = await seed('youtube', {
      accountId,
      posts: 60,
      commentsPerPost: 2,
      counters: ['viewCount', 'likeCount', 'commentCount'],
    });
    for (const p of seeded.posts) expect(p.id).toMatch(/^[\w-]{11}$/);
    for (const m of seeded.messages) expect(m.id).toMatch(/^Ug[wxyz][\w-]{19}4AaABAg$/);
    const now = await simNow();

    const totals = await drain(stream(youtube, 'account_totals'), tokens, account, null, ctxOf(now));
    expect(totals.metrics).toEqual(accountTotals({ followers: 1520, views: 98_000, video_count: 60 }));

    const media = await drain(stream(youtube, 'media'), tokens, account, null, ctxOf(now));
    expect(media.pages).toBe(2);
    expect(media.media.map((m) => m.externalId)).toEqual(seeded.posts.map((p) => p.id));
    expect(media.media[0]).toMatchObject({
      mediaType: 'video',
      permalink: `https://www.youtube.com/watch?v=${seeded.posts[0]?.id}`,
    });
    const mediaIds = media.media.map((m) => m.externalId);

    const metrics = await drain(stream(youtube, 'media_metrics'), tokens, account, null, ctxOf(now, mediaIds));
    expect(metrics.pages).toBe(2);
    expect(metrics.metrics).toHaveLength(180);
    const post = seeded.posts[42] as SimPost;
    expect(metricOf(metrics.metrics, post.id, 'views')).toBe(post.counters.viewCount);
    expect(metricOf(metrics.metrics, post.id, 'likes')).toBe(post.counters.likeCount);

    const comments = await drain(stream(youtube, 'comments'), tokens, account, null, ctxOf(now));
    expect(comments.pages).toBe(2);
    expect(comments.messages).toHaveLength(120);
    const comment = comments.messages.find((m) => m.externalId === seeded.messages[0]?.id);
    expect(comment).toMatchObject({
      threadKind: 'comment',
      threadExternalId: seeded.posts[0]?.id,
      text: seeded.messages[0]?.text,
      fromAccount: false,
    });

    // Second pass: one page each, nothing new, the same counters.
    const again = ctxOf(now, mediaIds);
    expect(await drain(stream(youtube, 'media'), tokens, account, media.cursor, again)).toMatchObject({
      pages: 1,
      media: [],
    });
    const comments2 = await drain(stream(youtube, 'comments'), tokens, account, comments.cursor, again);
    expect(comments2).toMatchObject({ pages: 1, messages: [] });
    const metrics2 = await drain(stream(youtube, 'media_metrics'), tokens, account, metrics.cursor, again);
    expect(metrics2.metrics).toEqual(metrics.metrics);

    // What changed: a counter, the subscriber count, a new video, a new comment.
    await bump('youtube', { postId: post.id, metric: 'viewCount', by: 250 });
    await bump('youtube', { accountId, metric: 'subscriberCount', by: 4 });
    await advanceClock(2 * DAY_MS);
    const fresh = await seed('youtube', { accountId, posts: 1, days: 1, commentsPerPost: 1 });
    const later = await simNow();
    const metrics3 = await drain(stream(youtube, 'media_metrics'), tokens, account, metrics2.cursor, again);
    expect(metricOf(metrics3.metrics, post.id, 'views')).toBe((post.counters.viewCount ?? 0) + 250);
    const totals2 = await drain(stream(youtube, 'account_totals'), tokens, account, totals.cursor, ctxOf(later));
    expect(metricOf(totals2.metrics, '', 'followers')).toBe(1524);
    const media3 = await drain(stream(youtube, 'media'), tokens, account, media.cursor, ctxOf(later));
    expect(media3.media.map((m) => m.externalId)).toEqual([fresh.posts[0]?.id]);
    const comments3 = await drain(stream(youtube, 'comments'), tokens, account, comments2.cursor, ctxOf(later));
    expect(comments3.messages.map((m) => m.externalId)).toEqual([fresh.messages[0]?.id]);
  });

  it("reads the last 28 days' audience: viewer shares by age and gender, views by country", async () => {
    expect(youtube.streams.map((s) => s.name)).toEqual([
      'account_metrics',
      'account_totals',
      'audience',
      'media',
      'media_metrics',
      'comments',
    ]);
    const { tokens, accountId, account } = await channel();
    await seed('youtube', { accountId, days: 40, dailyMetrics: ['views'] });
    const now = await simNow();
    const metrics = await audienceTwiceAndThrottled(youtube, tokens, account, ctxOf(now), () =>
      fault('youtube', { route: 'analytics', kind: 'throttle', retryAfterS: 30 }),
    );

    // Percentages only, by age bucket (age18-24 → 18-24, age65- → 65+) and gender; together 100,
    // give or take each share's rounding to one decimal.
    const ages = ['13-17', '18-24', '25-34', '35-44', '45-54', '55-64', '65+'];
    const cells = ages.flatMap((age) => ['female', 'male', 'user_specified'].map((gender) => `${age}.${gender}`));
    const shares = metrics.filter((m) => m.metric.startsWith('audience_pct.'));
    expect(shares.map((m) => m.metric).sort()).toEqual(audienceNames('age_gender', cells, 'audience_pct').sort());
    const total = shares.reduce((sum, m) => sum + m.value, 0);
    expect(Math.abs(total - 100)).toBeLessThanOrEqual(shares.length * 0.05 + 1e-9);

    // Views by country: the window's views, split.
    const countries = metrics.filter((m) => m.metric.startsWith('audience.country.'));
    expect(countries.map((m) => m.metric).sort()).toEqual(
      audienceNames('country', ['US', 'GB', 'DE', 'IN', 'BR', 'JP']).sort(),
    );
    const store = env.sim.platforms.get('youtube')!.content;
    const views = store
      .dailyOf(accountId, dayOf(now.getTime() - 27 * DAY_MS), dayOf(now.getTime()))
      .reduce((sum, d) => sum + (d.metrics.views ?? 0), 0);
    const counted = countries.reduce((sum, m) => sum + m.value, 0);
    expect(counted).toBeLessThanOrEqual(views);
    expect(counted).toBeGreaterThan(views - countries.length);

    // 50 more views from the US show up in the next pass.
    const us = metricOf(metrics, '', 'audience.country.US') ?? 0;
    await bump('youtube', { accountId, metric: 'country.US', by: 50 });
    const again = await drain(stream(youtube, 'audience'), tokens, account, {}, ctxOf(now));
    expect(metricOf(again.metrics, '', 'audience.country.US')).toBe(us + 50);
  });

  it('reads a throttled page again from its cursor, and waits for Pacific midnight when out of quota', async () => {
    const { tokens, accountId, account } = await channel();
    await seed('youtube', { accountId, posts: 120 });
    const now = await simNow();
    const s = stream(youtube, 'media');
    await fault('youtube', { route: 'media_list', kind: 'throttle', after: 1, retryAfterS: 20 });
    const { page1, throttled, ids } = await readPastThrottle(s, tokens, account, ctxOf(now));
    expect(throttled).toMatchObject({ kind: 'rate_limited', code: 'rateLimitExceeded', retryAfterMs: 20_000 });
    expect(new Set(ids).size).toBe(120);
    expect(ids).toHaveLength(120);

    await admin(env.sim, 'PATCH', '/youtube/knobs', { dailyUnits: 0 });
    const quota = await failure(s.fetch(tokens, account, page1.cursor, ctxOf(now)));
    expect(quota).toMatchObject({ kind: 'rate_limited', code: 'quotaExceeded' });
    expect(quota.retryAfterMs).toBeGreaterThan(0);
    expect(quota.retryAfterMs).toBeLessThanOrEqual(DAY_MS);
  });

  it('replies once under the thread; a lost answer is found again, a dropped request is not', async () => {
    const { tokens, accountId, account } = await channel();
    const seeded = await seed('youtube', { accountId, posts: 3, commentsPerPost: 1 });
    const inbox = youtube.inbox!;
    expect(inbox.replyKinds).toEqual(['comment']);
    const target = (m: SimMessage) => replyTarget('comment', m);
    const [c1, c2, c3] = seeded.messages as [SimMessage, SimMessage, SimMessage];
    const since = await simNow();

    const sent = await inbox.reply(tokens, account, target(c1), 'Thank you!');
    expect(sent.externalId.startsWith(`${c1.id}.`)).toBe(true);
    expect(await writes('youtube', 'reply')).toMatchObject([{ data: { id: sent.externalId, parentId: c1.id } }]);
    // A reply to a reply goes under the same thread.
    const nested = await inbox.reply(tokens, account, { ...target(c1), messageExternalId: sent.externalId }, 'Also');
    expect(nested.externalId.startsWith(`${c1.id}.`)).toBe(true);
    // The account's replies come back in the thread as its own messages.
    const threads = await drain(stream(youtube, 'comments'), tokens, account, null, ctxOf(await simNow()));
    expect(threads.messages.filter((m) => m.fromAccount).map((m) => m.text)).toEqual(['Thank you!', 'Also']);

    const lost = await unknownOutcome('youtube', 'reply', 'drop_after', () =>
      inbox.reply(tokens, account, target(c2), 'Glad you liked it'),
    );
    const landed = lost[2]?.data.id;
    expect(landed).toBeDefined();
    await expect(inbox.findReply(tokens, account, target(c2), 'Glad you liked it', since)).resolves.toEqual({
      found: true,
      externalId: landed,
    });

    const dropped = await unknownOutcome('youtube', 'reply', 'drop', () =>
      inbox.reply(tokens, account, target(c3), 'Never sent'),
    );
    expect(dropped).toHaveLength(3);
    await expect(inbox.findReply(tokens, account, target(c3), 'Never sent', since)).resolves.toEqual({ found: false });
  });

  it('hides, shows again and deletes a comment', async () => {
    const { tokens, accountId, account } = await channel();
    const seeded = await seed('youtube', { accountId, posts: 1, commentsPerPost: 2 });
    const [c1, c2] = seeded.messages as [SimMessage, SimMessage];
    const target = (m: SimMessage) => replyTarget('comment', m);
    const listed = async () =>
      (await drain(stream(youtube, 'comments'), tokens, account, null, ctxOf(await simNow()))).messages.map(
        (m) => m.externalId,
      );
    expect((await listed()).sort()).toEqual([c1.id, c2.id].sort());

    await youtube.inbox!.moderate(tokens, account, target(c1), 'hide');
    expect(await listed()).toEqual([c2.id]);
    expect((await content('youtube')).messages.find((m) => m.id === c1.id)?.hidden).toBe(true);
    await youtube.inbox!.moderate(tokens, account, target(c1), 'unhide');
    expect((await listed()).sort()).toEqual([c1.id, c2.id].sort());
    await youtube.inbox!.moderate(tokens, account, target(c2), 'delete');
    expect(await listed()).toEqual([c1.id]);
    // Deleting again (after a lost answer) finds it gone and is done.
    await youtube.inbox!.moderate(tokens, account, target(c2), 'delete');
    expect(await writes('youtube', 'moderate')).toMatchObject([
      { data: { id: c1.id, moderationStatus: 'heldForReview' } },
      { data: { id: c1.id, moderationStatus: 'published' } },
      { data: { id: c2.id, deleted: true } },
    ]);
    expect(youtube.webhooks).toBeUndefined();
  });
});

describe('TikTok sync', () => {
  const scopes = ['user.info.basic', 'user.info.stats', 'video.list'];
  async function creator() {
    const { tokens, accountId } = await mint('tiktok', scopes);
    return { tokens, accountId, account: { externalId: accountId, ids: {} } as PublishAccount };
  }
  const counters = ['view_count', 'like_count', 'comment_count', 'share_count'];

  it('has no inbox, reads totals, and lists videos with their counters, then nothing new', async () => {
    expect(tiktok.inbox).toBeUndefined();
    expect(tiktok.webhooks).toBeUndefined();
    expect(tiktok.streams.map((s) => s.name)).toEqual(['account_totals', 'media', 'media_metrics']);
    const { tokens, accountId, account } = await creator();
    const seeded = await seed('tiktok', { accountId, posts: 30, counters });
    for (const p of seeded.posts) expect(p.id).toMatch(/^7\d{18}$/);
    const now = await simNow();

    const totals = await drain(stream(tiktok, 'account_totals'), tokens, account, null, ctxOf(now));
    expect(totals.metrics).toEqual(accountTotals({ followers: 5310, likes: 120_044, video_count: 64 }));

    const media = await drain(stream(tiktok, 'media'), tokens, account, null, ctxOf(now));
    expect(media.pages).toBe(2);
    expect(media.media.map((m) => m.externalId)).toEqual(seeded.posts.map((p) => p.id));
    expect(media.media[0]?.permalink).toBe(`https://www.tiktok.com/@switchboard.sim/video/${seeded.posts[0]?.id}`);
    // Seconds, as create_time has them.
    expect(media.media[0]?.publishedAt.getTime()).toBe(Math.floor((seeded.posts[0]?.createdAt ?? 0) / 1000) * 1000);
    // The list carries each video's counters.
    expect(media.metrics).toHaveLength(120);
    const post = seeded.posts[25] as SimPost;
    expect(metricOf(media.metrics, post.id, 'views')).toBe(post.counters.view_count);
    expect(metricOf(media.metrics, post.id, 'shares')).toBe(post.counters.share_count);
    const mediaIds = media.media.map((m) => m.externalId);

    const metrics = await drain(stream(tiktok, 'media_metrics'), tokens, account, null, ctxOf(now, mediaIds));
    expect(metrics.pages).toBe(2);
    expect(metrics.metrics).toEqual(expect.arrayContaining(media.metrics));
    expect(metrics.metrics).toHaveLength(120);

    // Second pass: one page, no videos; the same counters.
    const again = ctxOf(now, mediaIds);
    expect(await drain(stream(tiktok, 'media'), tokens, account, media.cursor, again)).toMatchObject({
      pages: 1,
      media: [],
      metrics: [],
    });
    const metrics2 = await drain(stream(tiktok, 'media_metrics'), tokens, account, metrics.cursor, again);
    expect(metrics2.metrics).toEqual(metrics.metrics);

    // A bump, a follower and a new video show up.
    await bump('tiktok', { postId: post.id, metric: 'like_count', by: 9 });
    await bump('tiktok', { accountId, metric: 'follower_count', by: 2 });
    await advanceClock(2 * DAY_MS);
    const fresh = await seed('tiktok', { accountId, posts: 1, days: 1, counters });
    const later = await simNow();
    const metrics3 = await drain(stream(tiktok, 'media_metrics'), tokens, account, metrics2.cursor, again);
    expect(metricOf(metrics3.metrics, post.id, 'likes')).toBe((post.counters.like_count ?? 0) + 9);
    const totals2 = await drain(stream(tiktok, 'account_totals'), tokens, account, totals.cursor, ctxOf(later));
    expect(metricOf(totals2.metrics, '', 'followers')).toBe(5312);
    const media3 = await drain(stream(tiktok, 'media'), tokens, account, media.cursor, ctxOf(later));
    expect(media3.media.map((m) => m.externalId)).toEqual([fresh.posts[0]?.id]);
    expect(media3.metrics.map((m) => m.objectId)).toEqual(Array(4).fill(fresh.posts[0]?.id));
  });

  it('reads a throttled page again from its cursor: nothing lost, nothing repeated', async () => {
    const { tokens, accountId, account } = await creator();
    await seed('tiktok', { accountId, posts: 50 });
    const now = await simNow();
    const s = stream(tiktok, 'media');
    await fault('tiktok', { route: 'media_list', kind: 'throttle', after: 1 });
    const { throttled, ids } = await readPastThrottle(s, tokens, account, ctxOf(now));
    expect(throttled).toMatchObject({ kind: 'rate_limited', code: 'rate_limit_exceeded', retryAfterMs: 60_000 });
    expect(ids).toHaveLength(50);
    expect(new Set(ids).size).toBe(50);

    // video/query is throttled the same way.
    await fault('tiktok', { route: 'media_stats', kind: 'throttle' });
    const metrics = stream(tiktok, 'media_metrics');
    const refused = await failure(metrics.fetch(tokens, account, null, ctxOf(now, ids)));
    expect(refused).toMatchObject({ kind: 'rate_limited', retryAfterMs: 60_000 });
  });

  it('lists a video published through the Content Posting API once it is public', async () => {
    const { tokens, accountId, account } = await mint('tiktok', [...scopes, 'video.publish']).then((m) => ({
      ...m,
      account: { externalId: m.accountId, ids: {} } as PublishAccount,
    }));
    const publisher = tiktok.publisher!;
    const content = {
      caption: 'Fresh from the studio',
      media: [
        {
          url: `${env.sim.url}/_media/clip.mp4?bytes=4096&type=video%2Fmp4`,
          kind: 'video' as const,
          mimeType: 'video/mp4',
          sizeBytes: 4096,
        },
      ],
      options: { privacyLevel: 'PUBLIC_TO_EVERYONE' },
    };
    const handle = await publisher.prepare(tokens, account, content);
    const committed = await publisher.commit(tokens, account, content, handle);
    expect(committed.done).toBe(false);
    const settled = await publisher.settle(tokens, account, committed.done ? handle : committed.handle);
    expect(settled.state).toBe('ready');
    const postId = settled.state === 'ready' ? settled.post.postId : '';
    const media = await drain(stream(tiktok, 'media'), tokens, account, null, ctxOf(await simNow()));
    expect(media.media.map((m) => m.externalId)).toEqual([postId]);
    expect(accountId).toBe(account.externalId);
  });
});
