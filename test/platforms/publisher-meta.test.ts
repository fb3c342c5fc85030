import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DUPLICATE_CODE, type PlatformError } from '../../platforms/errors.ts';
import { createFacebookAdapter } from '../../platforms/facebook.ts';
import { createInstagramAdapter } from '../../platforms/instagram.ts';
import { createThreadsAdapter } from '../../platforms/threads.ts';
import type {
  MediaRef,
  PlatformAdapter,
  PublishAccount,
  PublishContent,
  Publisher,
  PublishHandle,
  TokenSet,
} from '../../platforms/types.ts';
import type { SimJob, WriteRecord } from '../../simulators/core.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { admin, connectDirect, simAdapterConfig } from './contract.ts';

// The Meta publishers (Instagram and Threads containers, Facebook Pages) driven through their
// adapters against the simulators: one write per post, lost answers settled by the platform's truth
// signal rather than by publishing again, publish caps, failed containers and duplicate refusals.

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(async () => {
  await sim.close();
});
beforeEach(async () => {
  await admin(sim, 'POST', '/reset');
});

const DAY_MS = 86_400_000;
type Meta = 'instagram' | 'threads' | 'facebook';

// The simulator's file host; read when the adapter reads the URL (the cases are built before it starts).
const image = (name: string, altText?: string): MediaRef => ({
  get url() {
    return `${sim.url}/_media/${name}.jpg?bytes=2048&type=image/jpeg`;
  },
  kind: 'image',
  mimeType: 'image/jpeg',
  sizeBytes: 2048,
  altText,
});
const video = (name: string): MediaRef => ({
  get url() {
    return `${sim.url}/_media/${name}.mp4?bytes=4096&type=video/mp4`;
  },
  kind: 'video',
  mimeType: 'video/mp4',
  sizeBytes: 4096,
  durationS: 12,
});
const content = (caption: string, media: MediaRef[] = [], options: Record<string, unknown> = {}): PublishContent => ({
  caption,
  media,
  options,
});

const writes = (platform: Meta, route = 'publish') =>
  admin<WriteRecord[]>(sim, 'GET', `/${platform}/writes?route=${route}`);
const fault = (platform: Meta, route: string, kind: string) =>
  admin(sim, 'POST', `/${platform}/faults`, { route, kind });
const knobs = (platform: Meta, values: Record<string, number>) => admin(sim, 'PATCH', `/${platform}/knobs`, values);
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as PlatformError,
  );

const ADAPTERS = {
  instagram: createInstagramAdapter,
  threads: createThreadsAdapter,
  facebook: createFacebookAdapter,
} satisfies Record<Meta, unknown>;

interface Connected {
  adapter: PlatformAdapter;
  p: Publisher;
  tokens: TokenSet;
  account: PublishAccount;
}

async function connect(platform: Meta): Promise<Connected> {
  const adapter = ADAPTERS[platform](simAdapterConfig(sim, platform));
  const { tokens } = await connectDirect(adapter);
  const profile = await adapter.profile(tokens);
  if (!adapter.publisher) throw new Error(`${platform} has no publisher`);
  return { adapter, p: adapter.publisher, tokens, account: { externalId: profile.externalId, ids: profile.ids ?? {} } };
}

/** prepare, then check until ready; returns the handle and every check's state. */
async function prepareReady(c: Connected, post: PublishContent) {
  const handle = await c.p.prepare(c.tokens, c.account, post);
  const states: string[] = [];
  for (let i = 0; i < 10; i++) {
    const state = await c.p.check(c.tokens, c.account, handle);
    states.push(state.state);
    if (state.state === 'ready') return { handle, states };
    if (state.state === 'failed') throw new Error(`processing failed: ${state.reason}`);
    expect(state.checkAfterMs).toBeGreaterThan(0);
  }
  throw new Error(`never ready: ${states}`);
}

async function checkUntilDone(c: Connected, handle: PublishHandle) {
  for (let i = 0; i < 10; i++) {
    const state = await c.p.check(c.tokens, c.account, handle);
    if (state.state !== 'pending') return state;
  }
  throw new Error('still pending');
}

interface ContainerCase {
  id: 'instagram' | 'threads';
  /** A post with one container and no children. */
  single: PublishContent;
  carousel: PublishContent;
  /** A container that can fail processing. */
  video: PublishContent;
  failureReason: string;
  permalink: RegExp;
}

const CONTAINERS: ContainerCase[] = [
  {
    id: 'instagram',
    single: content('Fresh out of the oven', [image('cake')]),
    carousel: content('Three slides', [image('a', 'A loaf'), video('b'), image('c')]),
    video: content('Kneading', [video('knead')], { mediaType: 'REELS' }),
    failureReason: '2207026',
    permalink: /^https:\/\/www\.instagram\.com\/p\/[\w-]{11}\/$/,
  },
  {
    id: 'threads',
    single: content('Fresh out of the oven'),
    carousel: content('Three slides', [image('a', 'A loaf'), video('b'), image('c')]),
    video: content('Kneading', [video('knead')]),
    failureReason: 'FAILED_PROCESSING_VIDEO',
    permalink: /^https:\/\/www\.threads\.net\/@simulated\.studio\/post\/[\w-]{11}$/,
  },
];

describe.each(CONTAINERS)('$id publisher', (t) => {
  it('publishes once: a container that needs polls, one publish write, the media id and permalink', async () => {
    const c = await connect(t.id);
    await knobs(t.id, { containerPolls: 4 });
    const { handle, states } = await prepareReady(c, t.single);
    expect(handle).toEqual({ containerId: expect.stringMatching(/^\d+$/) });
    expect(states).toEqual(['pending', 'pending', 'pending', 'ready']);
    expect(await writes(t.id)).toHaveLength(0);

    const result = await c.p.commit(c.tokens, c.account, t.single, handle);
    if (!result.done) throw new Error('expected a finished publish');
    expect(result.post.postId).toMatch(/^\d+$/);
    expect(result.post.postId).not.toBe(handle.containerId);
    expect(result.post.permalink).toMatch(t.permalink);
    const published = await writes(t.id);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      accountId: c.account.externalId,
      data: { containerId: handle.containerId, mediaId: result.post.postId },
    });
    // Nothing left to settle, and the cap is far away.
    expect(await c.p.settle(c.tokens, c.account, handle)).toMatchObject({ state: 'failed' });
    expect(await c.p.capacity(c.tokens, c.account)).toEqual({ waitMs: 0 });
  });

  it('publishes a carousel: finished items first, then the parent, with one write', async () => {
    const c = await connect(t.id);
    const { handle } = await prepareReady(c, t.carousel);
    const childIds = handle.childIds as string[];
    expect(childIds).toHaveLength(3);
    expect(childIds).not.toContain(handle.containerId);
    const jobs = await admin<SimJob[]>(sim, 'GET', `/${t.id}/jobs`);
    const items = childIds.map((id) => jobs.find((j) => j.id === id)?.data);
    expect(items.map((d) => d?.isCarouselItem)).toEqual([true, true, true]);
    expect(items.map((d) => d?.mediaType)).toEqual(['IMAGE', 'VIDEO', 'IMAGE']);
    expect(items[1]?.videoUrl).toBe(t.carousel.media[1]?.url);

    const result = await c.p.commit(c.tokens, c.account, t.carousel, handle);
    expect(result.done).toBe(true);
    const published = await writes(t.id);
    expect(published).toHaveLength(1);
    expect(published[0]?.data).toMatchObject({ mediaType: 'CAROUSEL', children: childIds });
  });

  it('lands a publish whose answer is lost (drop_after): verify names the same post, and a blind retry is a duplicate', async () => {
    const c = await connect(t.id);
    const { handle } = await prepareReady(c, t.single);
    const since = new Date();
    await fault(t.id, 'publish', 'drop_after');
    const lost = await failure(c.p.commit(c.tokens, c.account, t.single, handle));
    expect(lost.kind).toBe('outcome_unknown');

    const [write, ...more] = await writes(t.id);
    expect(more).toHaveLength(0);
    const verdict = await c.p.verify(c.tokens, c.account, t.single, handle, since);
    expect(verdict).toEqual({
      landed: true,
      post: { postId: write?.data.mediaId, permalink: expect.stringMatching(t.permalink) },
    });

    const retry = await failure(c.p.commit(c.tokens, c.account, t.single, handle));
    expect(retry).toMatchObject({ kind: 'permanent', code: DUPLICATE_CODE });
    expect(await writes(t.id)).toHaveLength(1);
  });

  it('finds a lost publish among earlier posts with the same and other text, on the platform clock', async () => {
    const c = await connect(t.id);
    const other = content('Something else', t.single.media);
    for (const post of [t.single, other]) {
      const earlier = await prepareReady(c, post);
      await c.p.commit(c.tokens, c.account, post, earlier.handle);
    }
    // The platform's clock runs ten minutes ahead of ours: the same-text post is older than `since`
    // there, though not by our clock.
    await admin(sim, 'POST', '/clock', { advanceMs: 600_000 });
    const { handle } = await prepareReady(c, t.single);
    const since = new Date();
    await fault(t.id, 'publish', 'drop_after');
    await failure(c.p.commit(c.tokens, c.account, t.single, handle));
    const published = await writes(t.id);
    expect(published).toHaveLength(3);
    const verdict = await c.p.verify(c.tokens, c.account, t.single, handle, since);
    expect(verdict).toMatchObject({ landed: true, post: { postId: published[2]?.data.mediaId } });
  });

  it('does not land a publish dropped before it arrived (drop): verify says so, and the commit again writes once', async () => {
    const c = await connect(t.id);
    const { handle } = await prepareReady(c, t.single);
    const since = new Date();
    await fault(t.id, 'publish', 'drop');
    expect((await failure(c.p.commit(c.tokens, c.account, t.single, handle))).kind).toBe('outcome_unknown');
    expect(await writes(t.id)).toHaveLength(0);

    expect(await c.p.verify(c.tokens, c.account, t.single, handle, since)).toEqual({
      landed: false,
      handleUsable: true,
    });
    const result = await c.p.commit(c.tokens, c.account, t.single, handle);
    expect(result.done).toBe(true);
    const published = await writes(t.id);
    expect(published).toHaveLength(1);
    expect(result).toMatchObject({ post: { postId: published[0]?.data.mediaId } });
  });

  it('reports a full publish cap through capacity() and a refused commit as rate_limited', async () => {
    const c = await connect(t.id);
    await knobs(t.id, { publishCap: 1 });
    expect(await c.p.capacity(c.tokens, c.account)).toEqual({ waitMs: 0 });
    const first = await prepareReady(c, t.single);
    await c.p.commit(c.tokens, c.account, t.single, first.handle);

    // The only post in the window leaves it in 24 hours: that is the wait.
    const { waitMs } = await c.p.capacity(c.tokens, c.account);
    expect(waitMs).toBeGreaterThan(DAY_MS - 3_600_000);
    expect(waitMs).toBeLessThanOrEqual(DAY_MS + 2_000);

    const second = content('Second of the day', t.single.media);
    const { handle } = await prepareReady(c, second);
    const refused = await failure(c.p.commit(c.tokens, c.account, second, handle));
    expect(refused).toMatchObject({ kind: 'rate_limited', code: '9/2207042' });
    expect(refused.retryAfterMs).toBeGreaterThan(DAY_MS - 3_600_000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(DAY_MS + 2_000);
    expect(await writes(t.id)).toHaveLength(1);

    // Once the window rolls past the first post there is room; the container made right after that
    // post has expired meanwhile, so the post is prepared again.
    await admin(sim, 'POST', '/clock', { advanceMs: waitMs });
    expect(await c.p.capacity(c.tokens, c.account)).toEqual({ waitMs: 0 });
    expect(await c.p.check(c.tokens, c.account, handle)).toEqual({ state: 'failed', reason: 'expired' });
    const again = await prepareReady(c, second);
    expect((await c.p.commit(c.tokens, c.account, second, again.handle)).done).toBe(true);
    expect(await writes(t.id)).toHaveLength(2);
  });

  it('reports a container that failed processing (jobs/fail) with its reason; verify says prepare again', async () => {
    const c = await connect(t.id);
    const handle = await c.p.prepare(c.tokens, c.account, t.video);
    await admin(sim, 'POST', `/${t.id}/jobs/fail`, {
      kind: 'container',
      reason: t.failureReason,
      id: handle.containerId,
    });
    const state = await checkUntilDone(c, handle);
    expect(state.state).toBe('failed');
    expect(state.state === 'failed' && state.reason).toContain(t.failureReason);
    expect(await c.p.verify(c.tokens, c.account, t.video, handle, new Date())).toEqual({
      landed: false,
      handleUsable: false,
    });
    expect(await writes(t.id)).toHaveLength(0);
  });

  it('reports an expired container as failed "expired"', async () => {
    const c = await connect(t.id);
    const { handle } = await prepareReady(c, t.single);
    await admin(sim, 'POST', '/clock', { advanceMs: DAY_MS });
    expect(await c.p.check(c.tokens, c.account, handle)).toEqual({ state: 'failed', reason: 'expired' });
    expect(await c.p.verify(c.tokens, c.account, t.single, handle, new Date())).toEqual({
      landed: false,
      handleUsable: false,
    });
  });

  it('fails a carousel item for good in prepare, and refuses content the platform cannot take', async () => {
    const c = await connect(t.id);
    await admin(sim, 'POST', `/${t.id}/jobs/fail`, { kind: 'container', reason: t.failureReason });
    const err = await failure(c.p.prepare(c.tokens, c.account, t.carousel));
    expect(err.kind).toBe('permanent');
    expect(err.message).toContain(t.failureReason);

    const tooMany = content(
      'Too many',
      Array.from({ length: 21 }, (_, i) => image(`s${i}`)),
    );
    expect((await failure(c.p.prepare(c.tokens, c.account, tooMany))).kind).toBe('permanent');
  });
});

describe('Instagram specifics', () => {
  it('publishes a Reel and a story; a lost story publish is found on the stories edge', async () => {
    const c = await connect('instagram');
    const reel = content('A Reel', [video('reel')], { mediaType: 'REELS' });
    const { handle: reelHandle } = await prepareReady(c, reel);
    const reelPost = await c.p.commit(c.tokens, c.account, reel, reelHandle);
    expect(reelPost).toMatchObject({
      done: true,
      post: { permalink: expect.stringMatching(/^https:\/\/www\.instagram\.com\/reel\//) },
    });

    const story = content('Stories take no caption', [image('story')], { mediaType: 'STORIES' });
    const { handle } = await prepareReady(c, story);
    const since = new Date();
    await fault('instagram', 'publish', 'drop_after');
    expect((await failure(c.p.commit(c.tokens, c.account, story, handle))).kind).toBe('outcome_unknown');
    const published = await writes('instagram');
    expect(published.map((w) => w.data.mediaType)).toEqual(['REELS', 'STORIES']);
    expect(published[1]?.data.caption).toBeUndefined();
    const verdict = await c.p.verify(c.tokens, c.account, story, handle, since);
    expect(verdict).toMatchObject({
      landed: true,
      post: {
        postId: published[1]?.data.mediaId,
        permalink: expect.stringMatching(/^https:\/\/www\.instagram\.com\/stories\/simulated\.studio\//),
      },
    });
    expect((await admin<{ route: string }[]>(sim, 'GET', '/instagram/calls?route=stories_list')).length).toBe(1);
  });

  it('refuses content Instagram cannot take before any call', async () => {
    const c = await connect('instagram');
    const refusals = [
      content('No media'),
      content('x'.repeat(2201), [image('a')]),
      content('Reel of an image', [image('a')], { mediaType: 'REELS' }),
      content('Two stories', [image('a'), image('b')], { mediaType: 'STORIES' }),
      content('Unknown type', [image('a')], { mediaType: 'IGTV' }),
    ];
    for (const post of refusals) {
      expect((await failure(c.p.prepare(c.tokens, c.account, post))).kind).toBe('permanent');
    }
    expect(await admin<unknown[]>(sim, 'GET', '/instagram/calls?route=container')).toHaveLength(0);
  });
});

describe('Threads specifics', () => {
  it('refuses text over 500 characters and an empty post', async () => {
    const c = await connect('threads');
    expect((await failure(c.p.prepare(c.tokens, c.account, content('x'.repeat(501))))).kind).toBe('permanent');
    expect((await failure(c.p.prepare(c.tokens, c.account, content('')))).kind).toBe('permanent');
    await c.p.prepare(c.tokens, c.account, content('🍞'.repeat(500)));
  });
});

describe('Facebook Pages publisher', () => {
  const pagePost = (id: string, pageId: string) => expect(id).toMatch(new RegExp(`^${pageId}_\\d+$`));

  it('publishes a link post and a multi-photo post, each with one publish write', async () => {
    const c = await connect('facebook');
    const pageId = c.account.externalId;
    const linkPost = content('Fresh sourdough at 8', [], { link: 'https://bakery.example/sourdough' });
    const { handle: linkHandle } = await prepareReady(c, linkPost);
    expect(linkHandle).toEqual({ kind: 'feed' });
    const link = await c.p.commit(c.tokens, c.account, linkPost, linkHandle);
    if (!link.done) throw new Error('expected a finished post');
    pagePost(link.post.postId, pageId);
    expect(link.post.permalink).toBe(`https://www.facebook.com/${pageId}/posts/${link.post.postId.split('_')[1]}`);

    // A link cannot ride on photos as a preview: it ends the message instead.
    const photos = content('Two loaves', [image('a'), image('b')], { link: 'https://bakery.example/loaves' });
    const { handle } = await prepareReady(c, photos);
    const photoIds = handle.photoIds as string[];
    expect(photoIds).toHaveLength(2);
    expect(await writes('facebook', 'photo')).toHaveLength(2);
    expect(await writes('facebook')).toHaveLength(1);
    const result = await c.p.commit(c.tokens, c.account, photos, handle);
    if (!result.done) throw new Error('expected a finished post');
    pagePost(result.post.postId, pageId);

    const published = await writes('facebook');
    expect(published.map((w) => w.data)).toEqual([
      {
        postId: link.post.postId,
        message: 'Fresh sourdough at 8',
        link: 'https://bakery.example/sourdough',
        media: [],
      },
      { postId: result.post.postId, message: 'Two loaves\n\nhttps://bakery.example/loaves', media: photoIds },
    ]);
    expect(await c.p.capacity(c.tokens, c.account)).toEqual({ waitMs: 0 });
  });

  it('publishes a Reel: upload in prepare, finish is the one write, settle polls until it shows', async () => {
    const c = await connect('facebook');
    await knobs('facebook', { videoPolls: 3 });
    const reel = content('Kneading, sped up', [video('knead')]);
    const { handle } = await prepareReady(c, reel);
    expect(handle).toEqual({ kind: 'reel', videoId: expect.stringMatching(/^\d+$/) });
    expect(await writes('facebook')).toHaveLength(0);

    const result = await c.p.commit(c.tokens, c.account, reel, handle);
    expect(result).toEqual({ done: false, handle });
    const states: string[] = [];
    let settled: Awaited<ReturnType<Publisher['settle']>> | undefined;
    for (let i = 0; i < 10 && settled?.state !== 'ready'; i++) {
      settled = await c.p.settle(c.tokens, c.account, handle);
      states.push(settled.state);
    }
    expect(states).toEqual(['pending', 'pending', 'ready']);
    const published = await writes('facebook');
    expect(published).toHaveLength(1);
    expect(settled).toEqual({
      state: 'ready',
      post: { postId: published[0]?.data.postId, permalink: `https://www.facebook.com/reel/${handle.videoId}` },
    });
  });

  it('reports a Reel whose processing failed', async () => {
    const c = await connect('facebook');
    await admin(sim, 'POST', '/facebook/jobs/fail', { kind: 'video', reason: 'Video Creation failed' });
    const reel = content('Doomed', [video('doomed')]);
    const { handle } = await prepareReady(c, reel);
    await c.p.commit(c.tokens, c.account, reel, handle);
    expect(await c.p.settle(c.tokens, c.account, handle)).toEqual({
      state: 'failed',
      reason: 'Video Creation failed',
    });
    expect(await c.p.verify(c.tokens, c.account, reel, handle, new Date())).toEqual({
      landed: false,
      handleUsable: false,
    });
  });

  it('lands a photo post whose answer is lost (drop_after): published_posts names it, a retry is a duplicate', async () => {
    const c = await connect('facebook');
    const photos = content('Rye is back', [image('rye')], { link: 'https://bakery.example/rye' });
    const { handle } = await prepareReady(c, photos);
    const since = new Date();
    await fault('facebook', 'publish', 'drop_after');
    expect((await failure(c.p.commit(c.tokens, c.account, photos, handle))).kind).toBe('outcome_unknown');

    const [write, ...more] = await writes('facebook');
    expect(more).toHaveLength(0);
    const verdict = await c.p.verify(c.tokens, c.account, photos, handle, since);
    expect(verdict).toMatchObject({ landed: true, post: { postId: write?.data.postId } });

    const retry = await failure(c.p.commit(c.tokens, c.account, photos, handle));
    expect(retry).toMatchObject({ kind: 'permanent', code: DUPLICATE_CODE });
    expect(await writes('facebook')).toHaveLength(1);
  });

  it('lands a lost Reel finish: verify reads the Reel status', async () => {
    const c = await connect('facebook');
    const reel = content('Lost finish', [video('lost')]);
    const { handle } = await prepareReady(c, reel);
    expect(await c.p.verify(c.tokens, c.account, reel, handle, new Date())).toEqual({
      landed: false,
      handleUsable: true,
    });
    await fault('facebook', 'video_reels', 'drop_after');
    expect((await failure(c.p.commit(c.tokens, c.account, reel, handle))).kind).toBe('outcome_unknown');
    const [write] = await writes('facebook');
    expect(await c.p.verify(c.tokens, c.account, reel, handle, new Date())).toMatchObject({
      landed: true,
      post: { postId: write?.data.postId },
    });
    const again = await failure(c.p.commit(c.tokens, c.account, reel, handle));
    expect(again).toMatchObject({ kind: 'permanent', code: DUPLICATE_CODE, existingId: write?.data.postId });
    expect(await writes('facebook')).toHaveLength(1);
  });

  it('does not land a post dropped before it arrived (drop): verify says so, the commit again writes once', async () => {
    const c = await connect('facebook');
    const text = content('Closed on Monday');
    const { handle } = await prepareReady(c, text);
    const since = new Date();
    await fault('facebook', 'publish', 'drop');
    expect((await failure(c.p.commit(c.tokens, c.account, text, handle))).kind).toBe('outcome_unknown');
    expect(await c.p.verify(c.tokens, c.account, text, handle, since)).toEqual({ landed: false, handleUsable: true });
    const result = await c.p.commit(c.tokens, c.account, text, handle);
    const published = await writes('facebook');
    expect(published).toHaveLength(1);
    expect(result).toMatchObject({ done: true, post: { postId: published[0]?.data.postId } });
  });

  it('turns the duplicate status refusal (506) into permanent/duplicate, and posting too fast into rate_limited', async () => {
    const c = await connect('facebook');
    const text = content('Closed on Monday');
    const first = await prepareReady(c, text);
    await c.p.commit(c.tokens, c.account, text, first.handle);
    const second = await prepareReady(c, text);
    const dup = await failure(c.p.commit(c.tokens, c.account, text, second.handle));
    expect(dup).toMatchObject({ kind: 'permanent', code: DUPLICATE_CODE });
    expect(await writes('facebook')).toHaveLength(1);

    await knobs('facebook', { postsPerMinute: 1 });
    const other = content('Open on Tuesday');
    const { handle } = await prepareReady(c, other);
    const fast = await failure(c.p.commit(c.tokens, c.account, other, handle));
    expect(fast).toMatchObject({ kind: 'rate_limited', code: '368/1390008' });
    expect(fast.retryAfterMs).toBeGreaterThan(0);
    expect(await writes('facebook')).toHaveLength(1);
  });

  it('refuses what a Page cannot take before any call', async () => {
    const c = await connect('facebook');
    const refusals = [
      content(''),
      content('Bad link', [], { link: 'ftp://bakery.example' }),
      content('Video and photo', [image('a'), video('b')]),
    ];
    for (const post of refusals) {
      expect((await failure(c.p.prepare(c.tokens, c.account, post))).kind).toBe('permanent');
    }
    expect(await admin<unknown[]>(sim, 'GET', '/facebook/calls?route=photos')).toHaveLength(0);
    expect(await admin<unknown[]>(sim, 'GET', '/facebook/calls?route=video_reels')).toHaveLength(0);
  });
});
