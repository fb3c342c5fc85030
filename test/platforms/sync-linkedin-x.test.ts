import { createHmac } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLinkedInAdapter } from '../../platforms/linkedin.ts';
import type { InboundMessage, PlatformAdapter, PublishAccount } from '../../platforms/types.ts';
import { createXAdapter } from '../../platforms/x.ts';
import type { SimMessage, SimPost } from '../../simulators/content.ts';
import { FOLLOWER_BREAKDOWNS } from '../../simulators/platforms/linkedin.ts';
import { admin, platformFailure as failure } from './contract.ts';
import {
  accountTotals,
  audienceNames,
  audienceTwiceAndThrottled,
  ctxOf,
  DAY_MS,
  drain,
  expectSignedOnly,
  metricOf,
  readPastThrottle,
  replyTarget,
  signed,
  stream,
  useSyncSimulator,
} from './sync-support.ts';

// Analytics and inbox sync for X and LinkedIn against their simulators: every stream pages through
// seeded history, a second pass reads nothing new, a bump shows up, a throttled page is read again
// from its cursor, replies are written once (and found again after a lost answer), and webhooks verify.

const env = useSyncSimulator();
const { writes, fault, seed, bump, content, addMessage, simNow, mint, advanceClock, unknownOutcome } = env;

let x: PlatformAdapter;
let linkedin: PlatformAdapter;
beforeAll(() => {
  x = env.adapter(createXAdapter, 'x');
  linkedin = env.adapter(createLinkedInAdapter, 'linkedin');
});

describe('X sync', () => {
  const scopes = [
    'tweet.read',
    'users.read',
    'tweet.write',
    'offline.access',
    'dm.read',
    'dm.write',
    'tweet.moderate.write',
  ];
  const user = async () => {
    const { tokens, accountId } = await mint('x', scopes);
    return { tokens, accountId, account: { externalId: accountId, ids: {} } as PublishAccount };
  };

  it('pages posts, counters, mentions and DMs, then reads nothing new, then sees a bump', async () => {
    const { tokens, accountId, account } = await user();
    const seeded = await seed('x', {
      accountId,
      posts: 130,
      commentsPerPost: 1,
      mentions: 20,
      dms: 120,
      counters: ['impression_count', 'like_count', 'reply_count', 'retweet_count'],
    });
    const now = await simNow();
    const postIds = new Set(seeded.posts.map((p) => p.id));
    for (const id of postIds) expect(id).toMatch(/^\d{18,19}$/);

    const totals = await drain(stream(x, 'account_totals'), tokens, account, null, ctxOf(now));
    expect(totals.metrics).toEqual(accountTotals({ followers: 1204 }));

    const media = await drain(stream(x, 'media'), tokens, account, null, ctxOf(now));
    expect(media.pages).toBe(2);
    expect(new Set(media.media.map((m) => m.externalId))).toEqual(postIds);
    const newestFirst = media.media.map((m) => m.publishedAt.getTime());
    expect(newestFirst).toEqual([...newestFirst].sort((a, b) => b - a));
    const mediaIds = media.media.map((m) => m.externalId);

    const metrics = await drain(stream(x, 'media_metrics'), tokens, account, null, ctxOf(now, mediaIds));
    expect(metrics.pages).toBe(2);
    const first = seeded.posts[0] as SimPost;
    expect(metricOf(metrics.metrics, first.id, 'likes')).toBe(first.counters.like_count);
    expect(metricOf(metrics.metrics, first.id, 'reposts')).toBe(first.counters.retweet_count);
    expect(new Set(metrics.metrics.map((m) => m.objectId)).size).toBe(130);

    // Mentions: 20 mentions and 130 replies to the account's posts (comments), in two pages.
    const mentions = await drain(stream(x, 'mentions'), tokens, account, null, ctxOf(now));
    expect(mentions.pages).toBe(2);
    expect(mentions.messages).toHaveLength(150);
    expect(mentions.messages.filter((m) => m.threadKind === 'comment')).toHaveLength(130);
    const reply = mentions.messages.find((m) => m.threadKind === 'comment') as InboundMessage;
    expect(postIds.has(reply.threadExternalId)).toBe(true);
    expect(reply.parentExternalId).toBe(reply.threadExternalId);

    const dms = await drain(stream(x, 'dms'), tokens, account, null, ctxOf(now));
    expect(dms.pages).toBe(2);
    expect(dms.messages).toHaveLength(120);
    const dm = dms.messages[0] as InboundMessage;
    expect(dm).toMatchObject({ threadKind: 'dm', fromAccount: false });
    expect(dm.threadExternalId).toContain(accountId);
    expect(dm.threadExternalId).toContain(dm.authorExternalId);

    // Second pass: one page each, nothing new, the same counters.
    const again = ctxOf(now, mediaIds);
    const media2 = await drain(stream(x, 'media'), tokens, account, media.cursor, again);
    expect(media2).toMatchObject({ pages: 1, media: [] });
    const mentions2 = await drain(stream(x, 'mentions'), tokens, account, mentions.cursor, again);
    expect(mentions2).toMatchObject({ pages: 1, messages: [] });
    const dms2 = await drain(stream(x, 'dms'), tokens, account, dms.cursor, again);
    expect(dms2).toMatchObject({ pages: 1, messages: [] });
    const metrics2 = await drain(stream(x, 'media_metrics'), tokens, account, metrics.cursor, again);
    expect(metrics2.metrics).toEqual(metrics.metrics);

    // A bump shows in the next read of counters and totals.
    await bump('x', { postId: first.id, metric: 'like_count', by: 7 });
    await bump('x', { accountId, metric: 'followers_count', by: 3 });
    const metrics3 = await drain(stream(x, 'media_metrics'), tokens, account, metrics2.cursor, again);
    expect(metricOf(metrics3.metrics, first.id, 'likes')).toBe((first.counters.like_count ?? 0) + 7);
    const totals2 = await drain(stream(x, 'account_totals'), tokens, account, totals.cursor, again);
    expect(totals2.metrics[0]?.value).toBe(1207);

    // A new DM and a new mention are all the next pass brings.
    await addMessage('x', {
      accountId,
      kind: 'dm',
      threadId: dm.threadExternalId,
      authorId: dm.authorExternalId,
      text: 'One more question',
    });
    await addMessage('x', { accountId, kind: 'mention', threadId: '0', text: 'Hi @sim' });
    const dms3 = await drain(stream(x, 'dms'), tokens, account, dms2.cursor, again);
    expect(dms3.messages.map((m) => m.text)).toEqual(['One more question']);
    const mentions3 = await drain(stream(x, 'mentions'), tokens, account, mentions2.cursor, again);
    expect(mentions3.messages.map((m) => m.text)).toEqual(['Hi @sim']);
  });

  it('reads a throttled page again from its cursor: nothing lost, nothing repeated', async () => {
    const { tokens, accountId, account } = await user();
    await seed('x', { accountId, posts: 250 });
    const now = await simNow();
    const s = stream(x, 'media');
    await fault('x', { route: 'timeline', kind: 'throttle', after: 1, retryAfterS: 30 });
    // The stored cursor gives the page that was refused, and the same page again on a repeat.
    const { throttled, ids } = await readPastThrottle(s, tokens, account, ctxOf(now));
    expect(throttled.kind).toBe('rate_limited');
    expect(throttled.retryAfterMs).toBeGreaterThan(25_000);
    expect(throttled.retryAfterMs).toBeLessThanOrEqual(31_000);
    expect(ids).toHaveLength(250);
    expect(new Set(ids).size).toBe(250);
  });

  it('replies to a mention once; a lost answer is found again, a dropped request is not', async () => {
    const { tokens, accountId, account } = await user();
    const seeded = await seed('x', { accountId, mentions: 3 });
    const inbox = x.inbox!;
    expect(inbox.replyKinds).toEqual(['comment', 'mention', 'dm']);
    const [m1, m2, m3] = seeded.messages as [SimMessage, SimMessage, SimMessage];
    const target = (m: SimMessage) => replyTarget('mention', m);

    const since = await simNow();
    const sent = await inbox.reply(tokens, account, target(m1), 'Thanks for the shout-out!');
    expect(sent.externalId).toMatch(/^\d+$/);
    const published = await writes('x', 'publish');
    expect(published).toHaveLength(1);
    expect(published[0]?.data).toMatchObject({ id: sent.externalId, text: 'Thanks for the shout-out!' });
    // The reply is the account's own message in the mention's thread now.
    const xContent = await content('x');
    expect(xContent.messages.find((m) => m.id === sent.externalId)).toMatchObject({
      fromAccount: true,
      parentId: m1.id,
    });

    const lost = await unknownOutcome('x', 'publish', 'drop_after', () =>
      inbox.reply(tokens, account, target(m2), 'Glad you liked it'),
    );
    expect(lost).toHaveLength(2);
    const found = await inbox.findReply(tokens, account, target(m2), 'Glad you liked it', since);
    expect(found).toEqual({ found: true, externalId: lost[1]?.data.id });

    const dropped = await unknownOutcome('x', 'publish', 'drop', () =>
      inbox.reply(tokens, account, target(m3), 'Never sent'),
    );
    expect(dropped).toHaveLength(2);
    await expect(inbox.findReply(tokens, account, target(m3), 'Never sent', since)).resolves.toEqual({
      found: false,
    });
    // The same text under another mention is not this reply.
    await expect(inbox.findReply(tokens, account, target(m3), 'Glad you liked it', since)).resolves.toEqual({
      found: false,
    });
  });

  it('answers a DM once, finds a lost one, and hides a reply to its post', async () => {
    const { tokens, accountId, account } = await user();
    const seeded = await seed('x', { accountId, dms: 2, posts: 1, commentsPerPost: 1 });
    const inbox = x.inbox!;
    const [dm1, dm2] = seeded.messages.filter((m) => m.kind === 'dm') as [SimMessage, SimMessage];
    const dmTarget = (m: SimMessage) => replyTarget('dm', m);
    const since = await simNow();
    const sent = await inbox.reply(tokens, account, dmTarget(dm1), 'Your order ships today.');
    expect(await writes('x', 'dm_send')).toMatchObject([
      { data: { dm_event_id: sent.externalId, dm_conversation_id: dm1.threadId } },
    ]);
    const lost = await unknownOutcome('x', 'dm_send', 'drop_after', () =>
      inbox.reply(tokens, account, dmTarget(dm2), 'Refund is on its way.'),
    );
    const landed = lost[1]?.data.dm_event_id;
    await expect(inbox.findReply(tokens, account, dmTarget(dm2), 'Refund is on its way.', since)).resolves.toEqual({
      found: true,
      externalId: landed,
    });
    await expect(inbox.findReply(tokens, account, dmTarget(dm1), 'Refund is on its way.', since)).resolves.toEqual({
      found: false,
    });
    // Our answers come back as the account's own DMs.
    const dms = await drain(stream(x, 'dms'), tokens, account, null, ctxOf(await simNow()));
    expect(dms.messages.filter((m) => m.fromAccount).map((m) => m.text)).toEqual([
      'Refund is on its way.',
      'Your order ships today.',
    ]);

    const comment = seeded.messages.find((m) => m.kind === 'comment') as SimMessage;
    const commentTarget = replyTarget('comment', comment);
    await inbox.moderate(tokens, account, commentTarget, 'hide');
    expect(await writes('x', 'moderate')).toMatchObject([{ data: { id: comment.id, hidden: true } }]);
    expect((await content('x')).messages.find((m) => m.id === comment.id)?.hidden).toBe(true);
    await inbox.moderate(tokens, account, commentTarget, 'unhide');
    expect(await writes('x', 'moderate')).toHaveLength(2);
    // Others' replies cannot be deleted, and a DM cannot be hidden.
    expect((await failure(inbox.moderate(tokens, account, commentTarget, 'delete'))).kind).toBe('permanent');
    expect((await failure(inbox.moderate(tokens, account, dmTarget(dm1), 'hide'))).kind).toBe('permanent');
    expect(await writes('x', 'moderate')).toHaveLength(2);
  });

  it("refuses to hide a mention outside the account's own conversations", async () => {
    const { tokens, accountId, account } = await user();
    const [mention] = (await seed('x', { accountId, mentions: 1 })).messages as [SimMessage];
    const target = replyTarget('mention', mention);
    const refused = await failure(x.inbox!.moderate(tokens, account, target, 'hide'));
    expect(refused).toMatchObject({ kind: 'permanent', status: 403 });
    expect(await writes('x', 'moderate')).toHaveLength(0);
  });

  it('answers the CRC, verifies signed deliveries, and parses mentions and DMs', async () => {
    const { accountId } = await user();
    const hooks = x.webhooks!;
    const crc = hooks.handshake({ crc_token: 'challenge-123' }, '');
    expect(crc).toEqual({
      status: 200,
      body: {
        response_token: `sha256=${createHmac('sha256', 'sim-x-secret').update('challenge-123').digest('base64')}`,
      },
    });
    expect(hooks.handshake({}, '')).toBeUndefined();

    const seeded = await seed('x', { accountId, posts: 1 });
    const post = seeded.posts[0] as SimPost;
    const xSim = env.sim.platforms.get('x')!;
    const mention = xSim.content.message({
      id: '1900000000000000001',
      accountId,
      kind: 'comment',
      threadId: post.id,
      parentId: post.id,
      authorId: '2244994945',
      authorName: 'A Fan',
      text: '@switchboardsim love it',
      createdAt: Date.now(),
    });
    const delivery = signed(xSim, xSim.webhookFor!(mention));
    expectSignedOnly(hooks, delivery, (tampered) => {
      tampered[10] = tampered[10] === 0x41 ? 0x42 : 0x41;
    });
    expect(hooks.verify({}, delivery.raw, Date.now()).ok).toBe(false);

    const events = hooks.parse(delivery.body);
    expect(events).toEqual([
      {
        accountExternalId: accountId,
        dedupeKey: 'x:tweet:1900000000000000001',
        message: {
          externalId: '1900000000000000001',
          threadKind: 'comment',
          threadExternalId: post.id,
          parentExternalId: post.id,
          authorExternalId: '2244994945',
          authorName: 'A Fan',
          text: '@switchboardsim love it',
          createdAt: new Date(mention.createdAt),
          fromAccount: false,
        },
      },
    ]);

    const dm = xSim.content.message({
      id: '1900000000000000002',
      accountId,
      kind: 'dm',
      threadId: `2244994945-${accountId}`,
      authorId: '2244994945',
      authorName: 'A Fan',
      text: 'psst',
      createdAt: Date.now(),
    });
    const dmDelivery = signed(xSim, xSim.webhookFor!(dm));
    expect(hooks.verify(dmDelivery.headers, dmDelivery.raw, Date.now())).toEqual({ ok: true });
    expect(hooks.parse(dmDelivery.body)).toMatchObject([
      {
        accountExternalId: accountId,
        dedupeKey: 'x:dm:1900000000000000002',
        message: { threadKind: 'dm', threadExternalId: `2244994945-${accountId}`, text: 'psst', fromAccount: false },
      },
    ]);
  });
});

describe('LinkedIn sync', () => {
  const scopes = ['openid', 'profile', 'w_member_social', 'w_organization_social', 'rw_organization_admin'];
  /** The member, connected for the page it administers. */
  async function page(opts: { member?: boolean } = {}) {
    const { tokens, accountId } = await mint('linkedin', scopes);
    const [simAccount] = await admin<{ id: string; extra: Record<string, string> }[]>(
      env.sim,
      'GET',
      '/linkedin/accounts',
    );
    const orgId = simAccount?.extra.organizationId ?? '';
    const account: PublishAccount = {
      externalId: `urn:li:person:${accountId}`,
      ids: opts.member ? {} : { organization: orgId },
    };
    return { tokens, accountId, account, org: `urn:li:organization:${orgId}` };
  }
  const daily = [
    'organicFollowerGain',
    'paidFollowerGain',
    'pageViews',
    'impressionCount',
    'uniqueImpressionsCount',
    'clickCount',
    'likeCount',
  ];
  const counters = [
    'impressionCount',
    'uniqueImpressionsCount',
    'clickCount',
    'likeCount',
    'commentCount',
    'shareCount',
  ];

  it('reads daily page statistics over history, then the restated days again', async () => {
    const { tokens, accountId, account } = await page();
    await seed('linkedin', { accountId, days: 40, dailyMetrics: daily });
    const now = await simNow();
    const days = env.sim.platforms.get('linkedin')!.content.dailyOf(accountId, '0000-01-01', '9999-12-31');
    const s = stream(linkedin, 'account_metrics');

    const first = await drain(s, tokens, account, null, ctxOf(now));
    expect(first.pages).toBe(3);
    expect(new Set(first.metrics.map((m) => m.day)).size).toBe(40);
    for (const { day, metrics } of [days[0]!, days[20]!, days.at(-1)!]) {
      expect(metricOf(first.metrics, '', 'followers_gained', day)).toBe(
        (metrics.organicFollowerGain ?? 0) + (metrics.paidFollowerGain ?? 0),
      );
      expect(metricOf(first.metrics, '', 'views', day)).toBe(metrics.pageViews);
      expect(metricOf(first.metrics, '', 'impressions', day)).toBe(metrics.impressionCount);
      expect(metricOf(first.metrics, '', 'reach', day)).toBe(metrics.uniqueImpressionsCount);
      expect(metricOf(first.metrics, '', 'likes', day)).toBe(metrics.likeCount);
    }
    expect(first.cursor).toEqual({ last: days.at(-1)!.day });

    const second = await drain(s, tokens, account, first.cursor, ctxOf(now));
    expect([...new Set(second.metrics.map((m) => m.day))].sort()).toEqual(days.slice(-4).map((d) => d.day));
    for (const m of second.metrics) expect(metricOf(first.metrics, '', m.metric, m.day)).toBe(m.value);

    const restated = days.at(-3)!.day;
    const before = metricOf(second.metrics, '', 'impressions', restated) ?? 0;
    await bump('linkedin', { accountId, day: restated, metric: 'impressionCount', by: 40 });
    const third = await drain(s, tokens, account, second.cursor, ctxOf(now));
    expect(metricOf(third.metrics, '', 'impressions', restated)).toBe(before + 40);

    // Followers now, from networkSizes.
    const totals = await drain(stream(linkedin, 'account_totals'), tokens, account, null, ctxOf(now));
    expect(totals.metrics).toEqual(accountTotals({ followers: 2400 }));
    await bump('linkedin', { accountId, metric: 'firstDegreeSize', by: 5 });
    const totals2 = await drain(stream(linkedin, 'account_totals'), tokens, account, totals.cursor, ctxOf(now));
    expect(totals2.metrics[0]?.value).toBe(2405);
  });

  it("reads the page's lifetime follower demographics, the same again, and refuses when throttled", async () => {
    expect(linkedin.streams.map((s) => s.name)).toEqual([
      'account_metrics',
      'account_totals',
      'audience',
      'media',
      'media_metrics',
      'comments',
    ]);
    const { tokens, accountId, account } = await page();
    const now = await simNow();
    const metrics = await audienceTwiceAndThrottled(linkedin, tokens, account, ctxOf(now), () =>
      fault('linkedin', { route: 'analytics', kind: 'throttle', retryAfterS: 60 }),
    );
    // Seniority, function, industry and country, each value by the id its URN ends in (organic + paid).
    const expected = Object.entries(FOLLOWER_BREAKDOWNS).flatMap(([dimension, { values }]) =>
      audienceNames(dimension, values),
    );
    expect(metrics.map((m) => m.metric).sort()).toEqual(expected.sort());
    expect(metrics.map((m) => m.metric)).toContain('audience.country.103644278');
    for (const [dimension, { values }] of Object.entries(FOLLOWER_BREAKDOWNS)) {
      const sum = metrics.filter((m) => m.metric.startsWith(`audience.${dimension}.`)).reduce((t, m) => t + m.value, 0);
      expect(sum).toBeLessThanOrEqual(2400);
      expect(sum).toBeGreaterThan(2400 - values.length);
    }

    const seniors = metricOf(metrics, '', 'audience.seniority.3') ?? 0;
    await bump('linkedin', { accountId, metric: 'seniority.3', by: 7 });
    const again = await drain(stream(linkedin, 'audience'), tokens, account, {}, ctxOf(now));
    expect(metricOf(again.metrics, '', 'audience.seniority.3')).toBe(seniors + 7);

    // A member connection has no page, and so no audience: nothing is asked.
    const member = await page({ member: true });
    expect(await drain(stream(linkedin, 'audience'), member.tokens, member.account, null, ctxOf(now))).toMatchObject({
      pages: 1,
      metrics: [],
      cursor: {},
    });
  });

  it('lists the page posts and their statistics, then nothing new, then what changed', async () => {
    const { tokens, accountId, account } = await page();
    const seeded = await seed('linkedin', { accountId, posts: 60, counters });
    for (const p of seeded.posts) expect(p.id).toMatch(/^urn:li:share:7\d{18}$/);
    const now = await simNow();

    const media = await drain(stream(linkedin, 'media'), tokens, account, null, ctxOf(now));
    expect(media.pages).toBe(2);
    expect(media.media.map((m) => m.externalId)).toEqual(seeded.posts.map((p) => p.id));
    expect(media.media[0]).toMatchObject({
      mediaType: 'text',
      permalink: `https://www.linkedin.com/feed/update/${seeded.posts[0]?.id}/`,
    });
    const mediaIds = media.media.map((m) => m.externalId);

    const metrics = await drain(stream(linkedin, 'media_metrics'), tokens, account, null, ctxOf(now, mediaIds));
    expect(metrics.pages).toBe(3);
    expect(metrics.metrics).toHaveLength(360);
    const post = seeded.posts[33] as SimPost;
    expect(metricOf(metrics.metrics, post.id, 'impressions')).toBe(post.counters.impressionCount);
    expect(metricOf(metrics.metrics, post.id, 'reach')).toBe(post.counters.uniqueImpressionsCount);
    expect(metricOf(metrics.metrics, post.id, 'shares')).toBe(post.counters.shareCount);

    const again = ctxOf(now, mediaIds);
    expect(await drain(stream(linkedin, 'media'), tokens, account, media.cursor, again)).toMatchObject({
      pages: 1,
      media: [],
    });
    const metrics2 = await drain(stream(linkedin, 'media_metrics'), tokens, account, metrics.cursor, again);
    expect(metrics2.metrics).toEqual(metrics.metrics);

    await bump('linkedin', { postId: post.id, metric: 'clickCount', by: 12 });
    await advanceClock(2 * DAY_MS);
    const fresh = await seed('linkedin', { accountId, posts: 1, days: 1 });
    const metrics3 = await drain(stream(linkedin, 'media_metrics'), tokens, account, metrics2.cursor, again);
    expect(metricOf(metrics3.metrics, post.id, 'clicks')).toBe((post.counters.clickCount ?? 0) + 12);
    const media3 = await drain(stream(linkedin, 'media'), tokens, account, media.cursor, ctxOf(await simNow()));
    expect(media3.media.map((m) => m.externalId)).toEqual([fresh.posts[0]?.id]);
  });

  it("reads likes and comments of a member's posts, which has no page statistics", async () => {
    const { tokens, accountId, account } = await page({ member: true });
    // A member without a page: its seeded posts are its own (author urn:li:person:…).
    await admin(env.sim, 'POST', '/linkedin/accounts', {
      id: accountId,
      name: 'Switchboard Sim',
      extra: {},
    });
    const seeded = await seed('linkedin', { accountId, posts: 25, counters: ['likeCount', 'commentCount'] });
    const now = await simNow();
    const am = await drain(stream(linkedin, 'account_metrics'), tokens, account, null, ctxOf(now));
    expect(am).toMatchObject({ pages: 1, metrics: [] });
    const media = await drain(stream(linkedin, 'media'), tokens, account, null, ctxOf(now));
    expect(media.media).toHaveLength(25);
    const ids = media.media.map((m) => m.externalId);
    const metrics = await drain(stream(linkedin, 'media_metrics'), tokens, account, null, ctxOf(now, ids));
    expect(metrics.pages).toBe(2);
    const post = seeded.posts[3] as SimPost;
    expect(metricOf(metrics.metrics, post.id, 'likes')).toBe(post.counters.likeCount);
    expect(metricOf(metrics.metrics, post.id, 'comments')).toBe(post.counters.commentCount);
  });

  it('pages comments per post, then reads none that it saw, then the new one', async () => {
    const { tokens, accountId, account } = await page();
    const seeded = await seed('linkedin', { accountId, posts: 2, commentsPerPost: 110 });
    for (const m of seeded.messages) expect(m.id).toMatch(/^urn:li:comment:\(urn:li:share:\d+,\d+\)$/);
    const now = await simNow();
    const mediaIds = seeded.posts.map((p) => p.id);
    const s = stream(linkedin, 'comments');
    const first = await drain(s, tokens, account, null, ctxOf(now, mediaIds));
    expect(first.pages).toBe(4);
    expect(first.messages).toHaveLength(220);
    expect(new Set(first.messages.map((m) => m.externalId))).toEqual(new Set(seeded.messages.map((m) => m.id)));
    const one = first.messages.find((m) => m.externalId === seeded.messages[5]?.id);
    expect(one).toMatchObject({
      threadKind: 'comment',
      threadExternalId: seeded.messages[5]?.threadId,
      text: seeded.messages[5]?.text,
      fromAccount: false,
    });
    expect(one?.authorExternalId).toMatch(/^urn:li:person:/);

    const second = await drain(s, tokens, account, first.cursor, ctxOf(now, mediaIds));
    expect(second).toMatchObject({ pages: 2, messages: [] });

    await advanceClock(60_000);
    const added = await addMessage('linkedin', {
      accountId,
      threadId: mediaIds[1],
      text: 'Late to the party',
    });
    const third = await drain(s, tokens, account, second.cursor, ctxOf(now, mediaIds));
    expect(third.messages.map((m) => m.text)).toEqual(['Late to the party']);
    expect(third.messages[0]?.externalId).toMatch(new RegExp(`^urn:li:comment:\\(${mediaIds[1]},\\d+\\)$`));
    expect(added.threadId).toBe(mediaIds[1]);
  });

  it('reads a throttled page again from its cursor: nothing lost, nothing repeated', async () => {
    const { tokens, accountId, account } = await page();
    await seed('linkedin', { accountId, posts: 120 });
    const now = await simNow();
    const s = stream(linkedin, 'media');
    await fault('linkedin', { route: 'posts', kind: 'throttle', after: 1 });
    const { throttled, ids } = await readPastThrottle(s, tokens, account, ctxOf(now));
    expect(throttled).toMatchObject({ kind: 'rate_limited', status: 429 });
    // A bare 429: the daily limits reset at 00:00 UTC.
    expect(throttled.retryAfterMs).toBeGreaterThan(0);
    expect(throttled.retryAfterMs).toBeLessThanOrEqual(DAY_MS);
    expect(ids).toHaveLength(120);
    expect(new Set(ids).size).toBe(120);
  });

  it('replies once as the page; a lost answer is found again, a dropped request is not; deletes', async () => {
    const { tokens, accountId, account, org } = await page();
    const seeded = await seed('linkedin', { accountId, posts: 1, commentsPerPost: 3 });
    const inbox = linkedin.inbox!;
    expect(inbox).toMatchObject({ replyKinds: ['comment'], moderation: ['delete'] });
    const target = (m: SimMessage) => replyTarget('comment', m);
    const [c1, c2, c3] = seeded.messages as [SimMessage, SimMessage, SimMessage];
    const since = await simNow();

    const sent = await inbox.reply(tokens, account, target(c1), 'Thanks for reading!');
    expect(sent.externalId).toMatch(new RegExp(`^urn:li:comment:\\(${c1.threadId},\\d+\\)$`));
    expect(await writes('linkedin', 'reply')).toMatchObject([
      { data: { urn: sent.externalId, parentComment: c1.id, text: 'Thanks for reading!' } },
    ]);
    const comments = await drain(
      stream(linkedin, 'comments'),
      tokens,
      account,
      null,
      ctxOf(await simNow(), [c1.threadId]),
    );
    expect(comments.messages.find((m) => m.externalId === sent.externalId)).toMatchObject({
      fromAccount: true,
      authorExternalId: org,
      parentExternalId: c1.id,
    });

    const lost = await unknownOutcome('linkedin', 'reply', 'drop_after', () =>
      inbox.reply(tokens, account, target(c2), 'We will look into it'),
    );
    const landed = lost[1]?.data.urn;
    await expect(inbox.findReply(tokens, account, target(c2), 'We will look into it', since)).resolves.toEqual({
      found: true,
      externalId: landed,
    });
    const dropped = await unknownOutcome('linkedin', 'reply', 'drop', () =>
      inbox.reply(tokens, account, target(c3), 'Never sent'),
    );
    expect(dropped).toHaveLength(2);
    await expect(inbox.findReply(tokens, account, target(c3), 'Never sent', since)).resolves.toEqual({ found: false });

    await inbox.moderate(tokens, account, target(c3), 'delete');
    expect(await writes('linkedin', 'moderate')).toMatchObject([{ data: { urn: c3.id, deleted: true } }]);
    expect((await content('linkedin')).messages.find((m) => m.id === c3.id)?.deleted).toBe(true);
    // Again (after a lost answer): gone already, done.
    await inbox.moderate(tokens, account, target(c3), 'delete');
    expect(await writes('linkedin', 'moderate')).toHaveLength(1);
    expect((await failure(inbox.moderate(tokens, account, target(c2), 'hide'))).kind).toBe('permanent');
  });

  it('answers the challenge, verifies signed deliveries, and parses comment notifications', async () => {
    const { accountId, org } = await page();
    const hooks = linkedin.webhooks!;
    expect(hooks.handshake({ challengeCode: 'f2b9c1e0-1234' }, '')).toEqual({
      status: 200,
      body: {
        challengeCode: 'f2b9c1e0-1234',
        challengeResponse: createHmac('sha256', 'sim-linkedin-secret').update('f2b9c1e0-1234').digest('hex'),
      },
    });
    expect(hooks.handshake({}, '')).toBeUndefined();

    const seeded = await seed('linkedin', { accountId, posts: 1, commentsPerPost: 1 });
    const comment = seeded.messages[0] as SimMessage;
    const liSim = env.sim.platforms.get('linkedin')!;
    const delivery = signed(liSim, liSim.webhookFor!(comment));
    expectSignedOnly(hooks, delivery, (tampered) => {
      tampered[20] = tampered[20] === 0x41 ? 0x42 : 0x41;
    });
    expect(hooks.verify({ 'x-li-signature': 'hmacsha256=00' }, delivery.raw, Date.now()).ok).toBe(false);

    const [event] = hooks.parse(delivery.body);
    expect(event).toMatchObject({
      accountExternalId: org,
      dedupeKey: expect.stringMatching(/^linkedin:\d+$/),
      message: {
        externalId: comment.id,
        threadKind: 'comment',
        threadExternalId: comment.threadId,
        text: comment.text,
        createdAt: new Date(comment.createdAt),
        fromAccount: false,
      },
    });
    expect(event?.message?.authorExternalId).toMatch(/^urn:li:person:/);

    // The same comment seen by the poll has the same id.
    const { tokens, account } = await page();
    const polled = await drain(
      stream(linkedin, 'comments'),
      tokens,
      account,
      null,
      ctxOf(await simNow(), [comment.threadId]),
    );
    expect(polled.messages.map((m) => m.externalId)).toEqual([comment.id]);
    expect(polled.messages[0]?.authorExternalId).toBe(event?.message?.authorExternalId);

    // A delete notification removes it.
    expect(
      hooks.parse({
        type: 'ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS',
        notifications: [
          { notificationId: 9, organizationalEntity: org, action: 'COMMENT_DELETE', generatedActivity: comment.id },
        ],
      }),
    ).toEqual([{ accountExternalId: org, dedupeKey: 'linkedin:9', removed: { externalId: comment.id } }]);
  });
});
