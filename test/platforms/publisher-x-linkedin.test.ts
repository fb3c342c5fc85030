import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DUPLICATE_CODE, PlatformError } from '../../platforms/errors.ts';
import { createLinkedInAdapter, linkedInAuthor, littleText } from '../../platforms/linkedin.ts';
import type {
  MediaRef,
  PublishAccount,
  PublishContent,
  Publisher,
  PublishHandle,
  TokenSet,
} from '../../platforms/types.ts';
import { comparableText, createXAdapter } from '../../platforms/x.ts';
import type { CallRecord, WriteRecord } from '../../simulators/core.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { admin, connectDirect, simAdapterConfig } from './contract.ts';

// The X and LinkedIn publishers driven against their simulators: uploads and processing (prepare,
// check), the one write (commit), and what happens when its answer is lost (verify, duplicates).

const DAY_MS = 86_400_000;
const MIB = 1_048_576;

let sim: Simulator;
let x: Publisher;
let linkedin: Publisher;
beforeAll(async () => {
  sim = await startSimulator();
  x = createXAdapter(simAdapterConfig(sim, 'x')).publisher!;
  linkedin = createLinkedInAdapter(simAdapterConfig(sim, 'linkedin')).publisher!;
});
afterAll(async () => {
  await sim.close();
});
beforeEach(async () => {
  await admin(sim, 'POST', '/reset');
});

const failure = (work: Promise<unknown>) =>
  work.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => {
      expect(err).toBeInstanceOf(PlatformError);
      return err as PlatformError;
    },
  );

const writes = (platform: string, route = 'publish') =>
  admin<WriteRecord[]>(sim, 'GET', `/${platform}/writes?route=${route}`);
const calls = (platform: string, route: string) => admin<CallRecord[]>(sim, 'GET', `/${platform}/calls?route=${route}`);
const fault = (platform: string, body: Record<string, unknown>) => admin(sim, 'POST', `/${platform}/faults`, body);

async function simNow(): Promise<number> {
  const { now } = await admin<{ now: string }>(sim, 'GET', '/clock');
  return Date.parse(now);
}

function media(name: string, kind: MediaRef['kind'], mimeType: string, sizeBytes: number): MediaRef {
  return {
    url: `${sim.url}/_media/${name}?bytes=${sizeBytes}&type=${encodeURIComponent(mimeType)}`,
    kind,
    mimeType,
    sizeBytes,
  };
}
const png = (name: string, sizeBytes = 2048) => media(`${name}.png`, 'image', 'image/png', sizeBytes);
const mp4 = (name: string, sizeBytes: number) => media(`${name}.mp4`, 'video', 'video/mp4', sizeBytes);

const post = (caption: string, files: MediaRef[] = [], options: Record<string, unknown> = {}): PublishContent => ({
  caption,
  media: files,
  options,
});

async function mint(
  platform: 'x' | 'linkedin',
  scopes: string[],
): Promise<{ tokens: TokenSet; account: PublishAccount }> {
  const { accountId, accessToken } = await admin<{ accountId: string; accessToken: string }>(
    sim,
    'POST',
    `/${platform}/tokens`,
    { scopes },
  );
  return { tokens: { accessToken, scopes }, account: { externalId: accountId, ids: {} } };
}

/** prepare → check until ready (the simulator's jobs count polls, not time) → commit. */
async function publish(p: Publisher, tokens: TokenSet, account: PublishAccount, content: PublishContent) {
  const handle = await p.prepare(tokens, account, content);
  for (let i = 0; i < 5; i++) {
    const state = await p.check(tokens, account, handle);
    if (state.state === 'ready') break;
    expect(state.state).toBe('pending');
  }
  return { handle, result: await p.commit(tokens, account, content, handle) };
}

describe('X publisher', () => {
  const user = () => mint('x', ['tweet.read', 'tweet.write', 'users.read', 'media.write', 'offline.access']);

  it('posts an image: prepare uploads without publishing, check is ready, commit writes once', async () => {
    const { tokens, account } = await user();
    const content = post('Hello from Switchboard', [png('hello')], { replySettings: 'following' });
    const handle = await x.prepare(tokens, account, content);
    expect(handle).toMatchObject({
      mediaIds: [expect.stringMatching(/^\d+$/)],
      mediaKeys: [expect.stringMatching(/^3_\d+$/)],
      processing: [],
    });
    expect(await calls('x', 'media_upload')).toHaveLength(1);
    expect(await writes('x')).toHaveLength(0);
    await expect(x.check(tokens, account, handle)).resolves.toEqual({ state: 'ready' });

    const result = await x.commit(tokens, account, content, handle);
    expect(result.done).toBe(true);
    const postId = result.done ? result.post.postId : '';
    expect(result).toEqual({ done: true, post: { postId, permalink: `https://x.com/i/web/status/${postId}` } });
    const published = await writes('x');
    expect(published).toHaveLength(1);
    expect(published[0]?.data).toEqual({
      id: postId,
      text: 'Hello from Switchboard',
      mediaIds: handle.mediaIds,
      replySettings: 'following',
    });
  });

  it('uploads a video in segments, waits for processing, then posts it', async () => {
    const { tokens, account } = await user();
    await admin(sim, 'PATCH', '/x/knobs', { mediaPolls: 2 });
    const content = post('Watch this', [mp4('clip', 4 * MIB + 100)]);
    const handle = await x.prepare(tokens, account, content);
    expect(await calls('x', 'media_append')).toHaveLength(2);
    expect(handle.processing).toEqual(handle.mediaIds);
    expect(handle.mediaKeys).toEqual([`7_${(handle.mediaIds as string[])[0]}`]);

    const first = await x.check(tokens, account, handle);
    expect(first).toMatchObject({ state: 'pending', checkAfterMs: expect.any(Number) });
    expect(first.state === 'pending' && first.checkAfterMs).toBeGreaterThan(0);
    await expect(x.check(tokens, account, handle)).resolves.toEqual({ state: 'ready' });

    const result = await x.commit(tokens, account, content, handle);
    const published = await writes('x');
    expect(published).toHaveLength(1);
    expect(result).toMatchObject({ done: true, post: { postId: published[0]?.data.id } });
    expect(published[0]?.data).toMatchObject({ text: 'Watch this', mediaIds: handle.mediaIds });
  });

  it('a text-only post has an empty handle and nothing to process', async () => {
    const { tokens, account } = await user();
    const content = post('Just words');
    const handle = await x.prepare(tokens, account, content);
    expect(handle).toEqual({});
    await expect(x.check(tokens, account, handle)).resolves.toEqual({ state: 'ready' });
    await expect(x.commit(tokens, account, content, handle)).resolves.toMatchObject({ done: true });
    expect(await writes('x')).toHaveLength(1);
  });

  it('after a dropped answer that landed, verify finds the post on the timeline', async () => {
    const { tokens, account } = await user();
    await publish(x, tokens, account, post('An earlier post', [png('earlier')]));
    const content = post('Did this go out? https://example.com/launch & more', [png('launch')]);
    const handle = await x.prepare(tokens, account, content);
    const since = new Date();
    await fault('x', { route: 'publish', kind: 'drop_after' });
    const lost = await failure(x.commit(tokens, account, content, handle));
    expect(lost.kind).toBe('outcome_unknown');

    const published = await writes('x');
    expect(published).toHaveLength(2);
    const landedId = String(published[1]?.data.id);
    await expect(x.verify(tokens, account, content, handle, since)).resolves.toEqual({
      landed: true,
      post: { postId: landedId, permalink: `https://x.com/i/web/status/${landedId}` },
    });
    // The truth signal was read from the timeline, and nothing was written again.
    expect((await calls('x', 'timeline')).length).toBeGreaterThan(0);
    expect(await writes('x')).toHaveLength(2);
  });

  it('verify does not take a post with the same text but other media for this one', async () => {
    const { tokens, account } = await user();
    const landed = post('Same words, other picture', [png('one')]);
    await publish(x, tokens, account, landed);
    const since = new Date(Date.now() - 1000);
    // Prepared again with a new upload: its media keys are not those of the post that landed.
    const handle = await x.prepare(tokens, account, landed);
    await expect(x.verify(tokens, account, landed, handle, since)).resolves.toEqual({
      landed: false,
      handleUsable: true,
    });
  });

  it('after a connection dropped before the work, verify says not landed and the retry writes once', async () => {
    const { tokens, account } = await user();
    const content = post('Second time lucky', [png('lucky')]);
    const handle = await x.prepare(tokens, account, content);
    const since = new Date();
    await fault('x', { route: 'publish', kind: 'drop' });
    expect((await failure(x.commit(tokens, account, content, handle))).kind).toBe('outcome_unknown');
    expect(await writes('x')).toHaveLength(0);

    await expect(x.verify(tokens, account, content, handle, since)).resolves.toEqual({
      landed: false,
      handleUsable: true,
    });
    const result = await x.commit(tokens, account, content, handle);
    const published = await writes('x');
    expect(published).toHaveLength(1);
    expect(result).toMatchObject({ done: true, post: { postId: published[0]?.data.id } });
  });

  it('committing again after a landed unknown is a duplicate, named from the timeline', async () => {
    const { tokens, account } = await user();
    const content = post('Only once, please', [png('once')]);
    const handle = await x.prepare(tokens, account, content);
    await fault('x', { route: 'publish', kind: 'drop_after' });
    expect((await failure(x.commit(tokens, account, content, handle))).kind).toBe('outcome_unknown');
    const [first] = await writes('x');

    const duplicate = await failure(x.commit(tokens, account, content, handle));
    expect(duplicate).toMatchObject({
      kind: 'permanent',
      code: DUPLICATE_CODE,
      status: 403,
      existingId: first?.data.id,
    });
    expect(await writes('x')).toHaveLength(1);

    // The same words with another upload's media: X still refuses the text, but the post it holds is
    // not this one, so nothing is named.
    const other = await x.prepare(tokens, account, content);
    const unnamed = await failure(x.commit(tokens, account, content, other));
    expect(unnamed).toMatchObject({ kind: 'permanent', code: DUPLICATE_CODE, existingId: undefined });
    expect(await writes('x')).toHaveLength(1);
  });

  it('says the handle is not usable once the media ids have expired', async () => {
    const { tokens, account } = await user();
    const content = post('Too late', [png('late')]);
    const handle = await x.prepare(tokens, account, content);
    expect(handle.mediaExpiresAt).toBeGreaterThan(await simNow());
    const since = new Date();
    await fault('x', { route: 'publish', kind: 'drop' });
    expect((await failure(x.commit(tokens, account, content, handle))).kind).toBe('outcome_unknown');

    await admin(sim, 'POST', '/clock', { advanceMs: DAY_MS + 60_000 });
    // A day on, the access token has long been refreshed; media ids are not renewed with it.
    const later = await user();
    await expect(x.verify(later.tokens, account, content, handle, since)).resolves.toEqual({
      landed: false,
      handleUsable: false,
    });
  });

  it('turns a throttled commit into rate_limited with the wait from x-rate-limit-reset', async () => {
    const { tokens, account } = await user();
    const content = post('Throttled');
    const handle = await x.prepare(tokens, account, content);
    await fault('x', { route: 'publish', kind: 'throttle', retryAfterS: 120 });
    const limited = await failure(x.commit(tokens, account, content, handle));
    expect(limited).toMatchObject({ kind: 'rate_limited', status: 429 });
    expect(limited.retryAfterMs).toBeGreaterThanOrEqual(119_000);
    expect(limited.retryAfterMs).toBeLessThanOrEqual(121_000);
    expect(await writes('x')).toHaveLength(0);
    await expect(x.capacity(tokens, account)).resolves.toEqual({ waitMs: 0 });
  });

  it('reports a failed transcode from STATUS as failed with the reason', async () => {
    const { tokens, account } = await user();
    await admin(sim, 'POST', '/x/jobs/fail', { kind: 'media', reason: 'Unsupported video format' });
    const handle = await x.prepare(tokens, account, post('Broken', [mp4('broken', 4096)]));
    const state = await x.check(tokens, account, handle);
    expect(state).toEqual({ state: 'failed', reason: expect.stringContaining('Unsupported video format') });
  });

  it('refuses media X cannot take, and bad options, before anything is sent', async () => {
    const { tokens, account } = await user();
    const five = [1, 2, 3, 4, 5].map((i) => png(`p${i}`));
    expect((await failure(x.prepare(tokens, account, post('Too many', five)))).kind).toBe('permanent');
    const mixed = [png('a'), mp4('b', 1000)];
    expect((await failure(x.prepare(tokens, account, post('Mixed', mixed)))).kind).toBe('permanent');
    const pdf = media('deck.pdf', 'document', 'application/pdf', 1000);
    expect((await failure(x.prepare(tokens, account, post('Deck', [pdf])))).kind).toBe('permanent');
    const bad = post('Reply to whom?', [], { replySettings: 'everybody' });
    expect((await failure(x.commit(tokens, account, bad, {}))).kind).toBe('permanent');
    expect(await calls('x', 'media_upload')).toHaveLength(0);
    expect(await calls('x', 'media_init')).toHaveLength(0);
    expect(await calls('x', 'publish')).toHaveLength(0);
  });

  it('answers settle from the handle only; commit is done at once', async () => {
    const { tokens, account } = await user();
    await expect(x.settle(tokens, account, {})).resolves.toMatchObject({ state: 'failed' });
    await expect(x.settle(tokens, account, { postId: '123' })).resolves.toEqual({
      state: 'ready',
      post: { postId: '123', permalink: 'https://x.com/i/web/status/123' },
    });
  });

  it('compares timeline text without links, entities or extra whitespace', () => {
    expect(comparableText('Fish &amp; chips  https://t.co/abc')).toBe(comparableText('Fish & chips'));
    expect(comparableText('a <b>')).not.toBe(comparableText('a b'));
  });
});

describe('LinkedIn publisher', () => {
  const member = () => mint('linkedin', ['openid', 'profile', 'w_member_social']);

  it('posts an image as the connected member: escaped commentary, chosen visibility, one write', async () => {
    const adapter = createLinkedInAdapter(simAdapterConfig(sim, 'linkedin'));
    const { tokens } = await connectDirect(adapter);
    const profile = await adapter.profile(tokens);
    // The connection's externalId is the member URN itself.
    const account: PublishAccount = { externalId: profile.externalId, ids: {} };
    const caption = 'Launch (v2) is out #launch @team_x <3';
    const content = post(caption, [{ ...png('launch'), altText: 'The launch' }], { visibility: 'CONNECTIONS' });

    const handle = await linkedin.prepare(tokens, account, content);
    expect(handle).toEqual({ media: [{ urn: expect.stringMatching(/^urn:li:image:\w+$/) }] });
    expect(await calls('linkedin', 'upload')).toHaveLength(1);
    expect(await writes('linkedin')).toHaveLength(0);
    await expect(linkedin.check(tokens, account, handle)).resolves.toEqual({ state: 'ready' });

    const result = await linkedin.commit(tokens, account, content, handle);
    const published = await writes('linkedin');
    expect(published).toHaveLength(1);
    const urn = String(published[0]?.data.urn);
    expect(urn).toMatch(/^urn:li:share:\d+$/);
    expect(result).toEqual({
      done: true,
      post: { postId: urn, permalink: `https://www.linkedin.com/feed/update/${urn}/` },
    });
    const [image] = handle.media as { urn: string }[];
    expect(published[0]?.data).toEqual({
      urn,
      author: profile.externalId,
      commentary: 'Launch \\(v2\\) is out #launch \\@team\\_x \\<3',
      media: [image?.urn],
      visibility: 'CONNECTIONS',
    });
  });

  it('posts as the page a connected member administers, and finds that post again after a lost answer', async () => {
    const adapter = createLinkedInAdapter(simAdapterConfig(sim, 'linkedin'));
    const { tokens } = await connectDirect(adapter);
    const profile = await adapter.profile(tokens);
    // What the connect stores: the page is the author of what the connection publishes.
    const org = profile.ids?.organization ?? '';
    expect(org).toMatch(/^urn:li:organization:\d+$/);
    const account: PublishAccount = { externalId: profile.externalId, ids: profile.ids ?? {} };
    const content = post('From the page', [png('page')]);
    const handle = await linkedin.prepare(tokens, account, content);
    const since = new Date();
    await fault('linkedin', { route: 'publish', kind: 'drop_after' });
    expect((await failure(linkedin.commit(tokens, account, content, handle))).kind).toBe('outcome_unknown');

    const published = await writes('linkedin');
    expect(published).toHaveLength(1);
    expect(published[0]?.data).toMatchObject({ author: org });
    const urn = String(published[0]?.data.urn);
    await expect(linkedin.verify(tokens, account, content, handle, since)).resolves.toMatchObject({
      landed: true,
      post: { postId: urn },
    });

    // Without w_organization_social the page is not the member's to post as.
    const { tokens: memberOnly } = await member();
    expect(await failure(linkedin.prepare(memberOnly, account, post('Not mine', [png('nope')])))).toMatchObject({
      kind: 'permanent',
      status: 403,
    });
  });

  it('uploads a video in parts, finalizes it, waits for processing, then posts it', async () => {
    const { tokens, account } = await member();
    await admin(sim, 'PATCH', '/linkedin/knobs', { assetPolls: 2 });
    const content = post('Watch this', [mp4('clip', 4 * MIB + 1000)]);
    const handle = await linkedin.prepare(tokens, account, content);
    expect(handle).toEqual({ media: [{ urn: expect.stringMatching(/^urn:li:video:\w+$/) }] });
    expect(await calls('linkedin', 'upload')).toHaveLength(2);

    const first = await linkedin.check(tokens, account, handle);
    expect(first).toMatchObject({ state: 'pending' });
    expect(first.state === 'pending' && first.checkAfterMs).toBeGreaterThan(0);
    await expect(linkedin.check(tokens, account, handle)).resolves.toEqual({ state: 'ready' });

    const result = await linkedin.commit(tokens, account, content, handle);
    const published = await writes('linkedin');
    expect(published).toHaveLength(1);
    expect(result).toMatchObject({ done: true, post: { postId: published[0]?.data.urn } });
    expect(published[0]?.data).toMatchObject({
      author: `urn:li:person:${account.externalId}`,
      media: [(handle.media as { urn: string }[])[0]?.urn],
      visibility: 'PUBLIC',
    });
  });

  it('posts several images as a multi-image post, and a document with a title', async () => {
    const { tokens, account } = await member();
    const images = post('Three views', [png('a'), png('b'), png('c')]);
    const { handle, result } = await publish(linkedin, tokens, account, images);
    const urns = (handle.media as { urn: string }[]).map((m) => m.urn);
    expect(urns).toHaveLength(3);
    expect(result).toMatchObject({ done: true });

    const deck = post('The deck', [media('q3-deck.pdf', 'document', 'application/pdf', 3000)]);
    const doc = await publish(linkedin, tokens, account, deck);
    expect(doc.handle).toEqual({ media: [{ urn: expect.stringMatching(/^urn:li:document:\w+$/) }] });

    const published = await writes('linkedin');
    expect(published.map((w) => w.data.media)).toEqual([urns, [(doc.handle.media as { urn: string }[])[0]?.urn]]);
    const postId = doc.result.done ? doc.result.post.postId : '';
    const res = await fetch(`${sim.url}/linkedin/rest/posts/${encodeURIComponent(postId)}`, {
      headers: {
        authorization: `Bearer ${tokens.accessToken}`,
        'linkedin-version': new Date(await simNow()).toISOString().slice(0, 7).replace('-', ''),
        'x-restli-protocol-version': '2.0.0',
      },
    });
    expect(await res.json()).toMatchObject({ content: { media: { title: 'q3-deck.pdf' } } });
  });

  it('after a dropped answer that landed, verify finds the post in the author list', async () => {
    const { tokens, account } = await member();
    await publish(linkedin, tokens, account, post('An earlier post'));
    const content = post('Did this go out? (really)', [png('out')]);
    const handle = await linkedin.prepare(tokens, account, content);
    const since = new Date();
    await fault('linkedin', { route: 'publish', kind: 'drop_after' });
    expect((await failure(linkedin.commit(tokens, account, content, handle))).kind).toBe('outcome_unknown');

    const published = await writes('linkedin');
    expect(published).toHaveLength(2);
    const urn = String(published[1]?.data.urn);
    await expect(linkedin.verify(tokens, account, content, handle, since)).resolves.toEqual({
      landed: true,
      post: { postId: urn, permalink: `https://www.linkedin.com/feed/update/${urn}/` },
    });
    expect((await calls('linkedin', 'posts')).length).toBeGreaterThan(0);
    expect(await writes('linkedin')).toHaveLength(2);
  });

  it('after a connection dropped before the work, verify says not landed and the retry writes once', async () => {
    const { tokens, account } = await member();
    const content = post('Second time lucky', [png('lucky')]);
    const handle = await linkedin.prepare(tokens, account, content);
    const since = new Date();
    await fault('linkedin', { route: 'publish', kind: 'drop' });
    expect((await failure(linkedin.commit(tokens, account, content, handle))).kind).toBe('outcome_unknown');
    expect(await writes('linkedin')).toHaveLength(0);

    await expect(linkedin.verify(tokens, account, content, handle, since)).resolves.toEqual({
      landed: false,
      handleUsable: true,
    });
    const result = await linkedin.commit(tokens, account, content, handle);
    const published = await writes('linkedin');
    expect(published).toHaveLength(1);
    expect(result).toMatchObject({ done: true, post: { postId: published[0]?.data.urn } });
  });

  it('committing again after a landed unknown is a duplicate naming the first post', async () => {
    const { tokens, account } = await member();
    const content = post('Only once, please', [png('once')]);
    const handle = await linkedin.prepare(tokens, account, content);
    await fault('linkedin', { route: 'publish', kind: 'drop_after' });
    expect((await failure(linkedin.commit(tokens, account, content, handle))).kind).toBe('outcome_unknown');
    const [first] = await writes('linkedin');

    const duplicate = await failure(linkedin.commit(tokens, account, content, handle));
    expect(duplicate).toMatchObject({
      kind: 'permanent',
      status: 422,
      code: DUPLICATE_CODE,
      existingId: first?.data.urn,
    });
    expect(String(first?.data.urn)).toMatch(/^urn:li:share:/);
    expect(await writes('linkedin')).toHaveLength(1);
  });

  it('stops at the daily post limit with rate_limited until midnight UTC', async () => {
    const { tokens, account } = await member();
    await admin(sim, 'PATCH', '/linkedin/knobs', { dailyPosts: 0 });
    const content = post('Over the limit');
    const handle = await linkedin.prepare(tokens, account, content);
    // The wait comes from the Date header (whole seconds, up to 999 ms early): bound it by the
    // sim time before the commit above and after it below.
    const before = await simNow();
    const limited = await failure(linkedin.commit(tokens, account, content, handle));
    const untilMidnight = DAY_MS - ((await simNow()) % DAY_MS);
    expect(limited).toMatchObject({ kind: 'rate_limited', status: 429 });
    expect(limited.retryAfterMs).toBeGreaterThan(untilMidnight - 5_000);
    expect(limited.retryAfterMs).toBeLessThanOrEqual(DAY_MS - (before % DAY_MS) + 1_000);
    expect(await writes('linkedin')).toHaveLength(0);
    await expect(linkedin.capacity(tokens, account)).resolves.toEqual({ waitMs: 0 });
  });

  it('reports PROCESSING_FAILED as failed with the reason', async () => {
    const { tokens, account } = await member();
    await admin(sim, 'POST', '/linkedin/jobs/fail', { kind: 'asset', reason: 'VIDEO_TRANSCODE_FAILED' });
    const handle = await linkedin.prepare(tokens, account, post('Broken', [mp4('broken', 2048)]));
    await expect(linkedin.check(tokens, account, handle)).resolves.toEqual({
      state: 'failed',
      reason: expect.stringContaining('VIDEO_TRANSCODE_FAILED'),
    });
  });

  it('without the right to list posts, verify leaves the proof to the duplicate refusal', async () => {
    const { tokens, account } = await member();
    const content = post('Listed or not');
    const handle: PublishHandle = await linkedin.prepare(tokens, account, content);
    await fault('linkedin', { route: 'publish', kind: 'drop_after' });
    expect((await failure(linkedin.commit(tokens, account, content, handle))).kind).toBe('outcome_unknown');
    await fault('linkedin', { route: 'posts', kind: 'http', status: 403 });
    await expect(linkedin.verify(tokens, account, content, handle, new Date(Date.now() - 5000))).resolves.toEqual({
      landed: false,
      handleUsable: true,
    });
    const [first] = await writes('linkedin');
    await expect(linkedin.commit(tokens, account, content, handle)).rejects.toMatchObject({
      code: DUPLICATE_CODE,
      existingId: first?.data.urn,
    });
  });

  it('goes on when image status may not be read, but not when video status may not', async () => {
    const { tokens, account } = await member();
    const image = await linkedin.prepare(tokens, account, post('Picture', [png('pic')]));
    await fault('linkedin', { route: 'asset', kind: 'http', status: 403 });
    await expect(linkedin.check(tokens, account, image)).resolves.toEqual({ state: 'ready' });

    const video = await linkedin.prepare(tokens, account, post('Clip', [mp4('clip', 2048)]));
    await fault('linkedin', { route: 'asset', kind: 'http', status: 403 });
    expect(await failure(linkedin.check(tokens, account, video))).toMatchObject({ kind: 'permanent', status: 403 });
  });

  it('refuses media LinkedIn cannot take and unknown visibility, before anything is sent', async () => {
    const { tokens, account } = await member();
    const many = Array.from({ length: 21 }, (_, i) => png(`p${i}`));
    expect((await failure(linkedin.prepare(tokens, account, post('Too many', many)))).kind).toBe('permanent');
    const mixed = [png('a'), mp4('b', 1000)];
    expect((await failure(linkedin.prepare(tokens, account, post('Mixed', mixed)))).kind).toBe('permanent');
    const hidden = post('Secret', [], { visibility: 'LOGGED_IN' });
    expect((await failure(linkedin.commit(tokens, account, hidden, {}))).kind).toBe('permanent');
    expect(await calls('linkedin', 'images')).toHaveLength(0);
    expect(await calls('linkedin', 'videos')).toHaveLength(0);
    expect(await calls('linkedin', 'publish')).toHaveLength(0);
  });

  it('escapes little text, keeps hashtags, and picks the author', () => {
    expect(littleText('a_b *c* [d](e) {f} ~g~ |h| \\i #tag #_no x#y')).toBe(
      'a\\_b \\*c\\* \\[d\\]\\(e\\) \\{f\\} \\~g\\~ \\|h\\| \\\\i #tag \\#\\_no x\\#y',
    );
    expect(linkedInAuthor({ externalId: 'abc123', ids: {} })).toBe('urn:li:person:abc123');
    expect(linkedInAuthor({ externalId: 'urn:li:person:abc123', ids: {} })).toBe('urn:li:person:abc123');
    expect(linkedInAuthor({ externalId: 'abc123', ids: { organization: '2414183' } })).toBe(
      'urn:li:organization:2414183',
    );
    expect(linkedInAuthor({ externalId: 'abc123', ids: { organization: 'urn:li:organization:7' } })).toBe(
      'urn:li:organization:7',
    );
  });
});
