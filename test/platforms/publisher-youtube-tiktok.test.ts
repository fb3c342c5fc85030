import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PlatformError } from '../../platforms/errors.ts';
import { createTikTokAdapter } from '../../platforms/tiktok.ts';
import type { MediaRef, PublishAccount, PublishContent, Publisher, TokenSet } from '../../platforms/types.ts';
import { createYouTubeAdapter } from '../../platforms/youtube.ts';
import type { CallRecord, SimAccount, WriteRecord } from '../../simulators/core.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { admin, simAdapterConfig } from './contract.ts';

// The YouTube and TikTok publishers driven through prepare → check → commit → settle against the
// simulator: one write per post, lost commit answers resolved by the truth signal (session probe,
// status/fetch), rate limits and processing failures classified.

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

const MIB = 1024 * 1024;
const writes = (platform: string) => admin<WriteRecord[]>(sim, 'GET', `/${platform}/writes?route=publish`);
const calls = (platform: string, route: string) => admin<CallRecord[]>(sim, 'GET', `/${platform}/calls?route=${route}`);
const fault = (platform: string, body: Record<string, unknown>) => admin(sim, 'POST', `/${platform}/faults`, body);
const knobs = (platform: string, values: Record<string, number>) => admin(sim, 'PATCH', `/${platform}/knobs`, values);
const advance = (advanceMs: number) => admin(sim, 'POST', '/clock', { advanceMs });

async function tokensFor(platform: string, scopes: string[]): Promise<{ tokens: TokenSet; account: SimAccount }> {
  const minted = await admin<{ accountId: string; accessToken: string }>(sim, 'POST', `/${platform}/tokens`, {
    scopes,
  });
  const accounts = await admin<SimAccount[]>(sim, 'GET', `/${platform}/accounts`);
  const account = accounts.find((a) => a.id === minted.accountId);
  if (!account) throw new Error('minted a token for an unknown account');
  return { tokens: { accessToken: minted.accessToken, scopes }, account };
}

const video = (name: string, bytes: number, mimeType = 'video/mp4'): MediaRef => ({
  url: `${sim.url}/_media/${name}?bytes=${bytes}&type=${encodeURIComponent(mimeType)}`,
  kind: 'video',
  mimeType,
  sizeBytes: bytes,
  durationS: 12,
});

async function failure(promise: Promise<unknown>): Promise<PlatformError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PlatformError);
  return err as PlatformError;
}

describe('YouTube publisher', () => {
  const UPLOAD_SCOPE = 'https://www.googleapis.com/auth/youtube.upload';
  const adapter = () => createYouTubeAdapter(simAdapterConfig(sim, 'youtube'));
  const publisher = (): Publisher => {
    const p = adapter().publisher;
    if (!p) throw new Error('the YouTube adapter has no publisher');
    return p;
  };

  async function setup() {
    const { tokens, account } = await tokensFor('youtube', [UPLOAD_SCOPE]);
    const target: PublishAccount = { externalId: account.extra?.channelId ?? '', ids: {} };
    return { tokens, account: target };
  }

  const content = (media: MediaRef[], options: Record<string, unknown> = {}): PublishContent => ({
    caption: 'Shot on the simulator',
    media,
    options: { title: 'Launch day', privacyStatus: 'unlisted', tags: ['sim', 'launch'], categoryId: '22', ...options },
  });

  it('prepares a session, uploads in 256 KiB-multiple chunks, and settles once processed', async () => {
    await knobs('youtube', { processingPolls: 2 });
    const { tokens, account } = await setup();
    const p = publisher();
    // Over one 8 MiB request: two PUTs, the first answered 308 + Range.
    const size = 8 * MIB + 1000;
    const post = content([video('launch.mp4', size)], { madeForKids: false });

    const handle = await p.prepare(tokens, account, post);
    expect(handle).toMatchObject({ size, mimeType: 'video/mp4' });
    expect(handle.sessionUri).toMatch(/\/youtube\/upload\/youtube\/v3\/videos\?uploadType=resumable&upload_id=AB/);
    expect(JSON.stringify(handle)).not.toContain(tokens.accessToken);
    // Preparing made nothing public.
    expect(await writes('youtube')).toHaveLength(0);
    expect(await p.check(tokens, account, handle)).toEqual({ state: 'ready' });

    const committed = await p.commit(tokens, account, post, handle);
    expect(committed.done).toBe(false);
    if (committed.done) return;
    const videoId = committed.handle.videoId as string;
    expect(videoId).toMatch(/^[A-Za-z0-9_-]{11}$/);
    const landed = await writes('youtube');
    expect(landed).toHaveLength(1);
    expect(landed[0]!.data).toMatchObject({
      videoId,
      title: 'Launch day',
      privacyStatus: 'unlisted',
      bytes: size,
      channelId: account.externalId,
    });
    expect((await calls('youtube', 'upload')).map((c) => c.status)).toEqual([308, 200]);

    expect(await p.settle(tokens, account, committed.handle)).toMatchObject({ state: 'pending' });
    expect(await p.settle(tokens, account, committed.handle)).toEqual({
      state: 'ready',
      post: { postId: videoId, permalink: `https://www.youtube.com/watch?v=${videoId}` },
    });
    expect(await writes('youtube')).toHaveLength(1);
  });

  it('after the last chunk’s answer is lost, the session probe finds the video, written once', async () => {
    const { tokens, account } = await setup();
    const p = publisher();
    const post = content([video('lost.mp4', 4000)]);
    const handle = await p.prepare(tokens, account, post);

    await fault('youtube', { route: 'upload', kind: 'drop_after' });
    const err = await failure(p.commit(tokens, account, post, handle));
    expect(err.kind).toBe('outcome_unknown');
    const landed = await writes('youtube');
    expect(landed).toHaveLength(1);

    const verdict = await p.verify(tokens, account, post, handle, new Date());
    expect(verdict).toEqual({
      landed: true,
      post: {
        postId: landed[0]!.data.videoId,
        permalink: `https://www.youtube.com/watch?v=${landed[0]!.data.videoId}`,
      },
      // Landed, not yet watchable: settle follows.
      processing: true,
    });
    // Settle works from prepare's handle too: the session names the video.
    expect(await p.settle(tokens, account, handle)).toMatchObject({
      state: 'ready',
      post: { postId: landed[0]!.data.videoId },
    });
    expect(await writes('youtube')).toHaveLength(1);
  });

  it('after a dropped commit that did nothing, verify says not landed and committing again writes once', async () => {
    const { tokens, account } = await setup();
    const p = publisher();
    const post = content([video('again.mp4', 4000)]);
    const handle = await p.prepare(tokens, account, post);

    await fault('youtube', { route: 'upload', kind: 'drop' });
    expect((await failure(p.commit(tokens, account, post, handle))).kind).toBe('outcome_unknown');
    expect(await writes('youtube')).toHaveLength(0);
    expect(await p.verify(tokens, account, post, handle, new Date())).toEqual({ landed: false, handleUsable: true });

    const again = await p.commit(tokens, account, post, handle);
    expect(again.done).toBe(false);
    const landed = await writes('youtube');
    expect(landed).toHaveLength(1);
    if (!again.done) expect(again.handle.videoId).toBe(landed[0]!.data.videoId);
  });

  it('a 5xx on the last chunk is outcome_unknown too; a middle chunk lost resumes from the probe', async () => {
    const { tokens, account } = await setup();
    const p = publisher();
    const small = content([video('five.mp4', 4000)]);
    const h1 = await p.prepare(tokens, account, small);
    await fault('youtube', { route: 'upload', kind: 'error_after', status: 503 });
    expect((await failure(p.commit(tokens, account, small, h1))).kind).toBe('outcome_unknown');
    expect(await p.verify(tokens, account, small, h1, new Date())).toMatchObject({ landed: true });
    expect(await writes('youtube')).toHaveLength(1);

    // The first of two chunks is stored but its answer lost: the commit probes and goes on.
    const size = 8 * MIB + 10;
    const big = content([video('middle.mp4', size)]);
    const h2 = await p.prepare(tokens, account, big);
    await fault('youtube', { route: 'upload', kind: 'drop_after' });
    const done = await p.commit(tokens, account, big, h2);
    expect(done.done).toBe(false);
    const landed = await writes('youtube');
    expect(landed).toHaveLength(2);
    expect(landed[1]!.data).toMatchObject({ bytes: size });
  });

  it('says an expired session is not usable', async () => {
    const { tokens, account } = await setup();
    const p = publisher();
    const post = content([video('old.mp4', 4000)]);
    const handle = await p.prepare(tokens, account, post);
    await advance(8 * 86_400_000);
    expect(await p.verify(tokens, account, post, handle, new Date())).toEqual({ landed: false, handleUsable: false });
  });

  it('surfaces quota, rate and upload limits as rate_limited with a wait', async () => {
    const { tokens, account } = await setup();
    const p = publisher();
    const post = content([video('quota.mp4', 4000)]);

    await knobs('youtube', { dailyUnits: 1000 });
    const quota = await failure(p.prepare(tokens, account, post));
    expect(quota).toMatchObject({ kind: 'rate_limited', code: 'quotaExceeded' });
    expect(quota.retryAfterMs).toBeGreaterThan(0);
    expect(quota.retryAfterMs).toBeLessThanOrEqual(86_400_000);

    await knobs('youtube', { dailyUnits: 10_000, dailyUploads: 0 });
    const uploads = await failure(p.prepare(tokens, account, post));
    expect(uploads).toMatchObject({ kind: 'rate_limited', code: 'uploadLimitExceeded', retryAfterMs: 86_400_000 });

    await knobs('youtube', { dailyUploads: 100 });
    const handle = await p.prepare(tokens, account, post);
    await fault('youtube', { route: 'upload', kind: 'throttle', retryAfterS: 42 });
    const throttled = await failure(p.commit(tokens, account, post, handle));
    expect(throttled).toMatchObject({ kind: 'rate_limited', code: 'rateLimitExceeded', retryAfterMs: 42_000 });
    expect(await writes('youtube')).toHaveLength(0);
  });

  it('reports failed and rejected processing with YouTube’s reason', async () => {
    const { tokens, account } = await setup();
    const p = publisher();
    const post = content([video('codec.mp4', 4000)]);

    await admin(sim, 'POST', '/youtube/jobs/fail', { kind: 'processing', reason: 'codec' });
    const committed = await p.commit(tokens, account, post, await p.prepare(tokens, account, post));
    if (committed.done) throw new Error('expected settle to follow');
    expect(await p.settle(tokens, account, committed.handle)).toEqual({ state: 'failed', reason: 'failed: codec' });

    await admin(sim, 'POST', '/youtube/jobs/fail', { kind: 'processing', reason: 'duplicate' });
    const second = await p.commit(tokens, account, post, await p.prepare(tokens, account, post));
    if (second.done) throw new Error('expected settle to follow');
    expect(await p.settle(tokens, account, second.handle)).toEqual({
      state: 'failed',
      reason: 'rejected: duplicate',
    });
  });

  it('refuses a post without a title or with other than one video, before calling YouTube', async () => {
    const { tokens, account } = await setup();
    const p = publisher();
    const clip = video('v.mp4', 100);
    for (const bad of [
      content([clip], { title: '' }),
      content([clip, clip]),
      content([{ ...clip, kind: 'image', mimeType: 'image/jpeg' }]),
      content([clip], { privacyStatus: 'friends' }),
    ]) {
      expect((await failure(p.prepare(tokens, account, bad))).kind).toBe('permanent');
    }
    expect(await calls('youtube', 'videos_insert')).toHaveLength(0);
    // The platform's own validation is permanent too.
    const long = await failure(p.prepare(tokens, account, content([clip], { title: 'x'.repeat(101) })));
    expect(long).toMatchObject({ kind: 'permanent', code: 'invalidTitle' });
    expect(await p.capacity(tokens, account)).toEqual({ waitMs: 0 });
  });
});

describe('TikTok publisher', () => {
  const adapter = () => createTikTokAdapter(simAdapterConfig(sim, 'tiktok'));
  const publisher = (): Publisher => {
    const p = adapter().publisher;
    if (!p) throw new Error('the TikTok adapter has no publisher');
    return p;
  };

  async function setup() {
    const { tokens, account } = await tokensFor('tiktok', ['video.publish']);
    return { tokens, account: { externalId: account.id, ids: {} } as PublishAccount, username: account.handle };
  }

  const content = (media: MediaRef[], options: Record<string, unknown> = {}): PublishContent => ({
    caption: 'Hello from the simulator #sim',
    media,
    options: { privacyLevel: 'PUBLIC_TO_EVERYONE', disableDuet: true, ...options },
  });

  /** status/fetch with the raw text: the post id as TikTok sent it, past a JS number's precision. */
  async function rawPostId(tokens: TokenSet, publishId: unknown): Promise<string | undefined> {
    const res = await fetch(`${sim.url}/tiktok/v2/post/publish/status/fetch/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ publish_id: publishId }),
    });
    return /"publicaly_available_post_id":\[(\d*)\]/.exec(await res.text())?.[1] || undefined;
  }

  async function committed(p: Publisher, tokens: TokenSet, account: PublishAccount, post: PublishContent) {
    const result = await p.commit(tokens, account, post, await p.prepare(tokens, account, post));
    if (result.done) throw new Error('expected settle to follow');
    return result.handle;
  }

  it('inits, uploads the chunks, and settles after processing and moderation with the exact post id', async () => {
    await knobs('tiktok', { publishPolls: 2, moderationMs: 30_000 });
    const { tokens, account, username } = await setup();
    const p = publisher();
    // 11 MiB + 123 bytes: floor(size / 5 MiB) = 2 chunks, the last taking the rest.
    const size = 11 * MIB + 123;
    const post = content([video('dance.mp4', size)]);

    const handle = await p.prepare(tokens, account, post);
    expect(handle).toMatchObject({ size, chunkSize: 5 * MIB, chunks: 2, username });
    expect(handle.publishId).toMatch(/^v_pub_file~v2-1\.\d+$/);
    expect(String(handle.uploadUrl).startsWith(`${sim.url}/tiktok/`)).toBe(true);
    expect(JSON.stringify(handle)).not.toContain(tokens.accessToken);
    expect(await writes('tiktok')).toHaveLength(0);
    expect(await p.check(tokens, account, handle)).toEqual({ state: 'ready' });

    const result = await p.commit(tokens, account, post, handle);
    expect(result).toEqual({ done: false, handle });
    expect((await calls('tiktok', 'upload')).map((c) => c.status)).toEqual([206, 201]);
    const landed = await writes('tiktok');
    expect(landed).toHaveLength(1);
    expect(landed[0]!.data).toMatchObject({
      publishId: handle.publishId,
      title: 'Hello from the simulator #sim',
      privacyLevel: 'PUBLIC_TO_EVERYONE',
      source: 'FILE_UPLOAD',
    });

    // Processing (two polls), then complete without a public id until moderation is through.
    expect(await p.settle(tokens, account, handle)).toMatchObject({ state: 'pending' });
    expect(await p.settle(tokens, account, handle)).toMatchObject({ state: 'pending' });
    await advance(30_000);
    const ready = await p.settle(tokens, account, handle);
    const postId = await rawPostId(tokens, handle.publishId);
    expect(postId).toMatch(/^7\d{18}$/);
    expect(ready).toEqual({
      state: 'ready',
      post: { postId, permalink: `https://www.tiktok.com/@${username}/video/${postId}` },
    });
    // A repeated commit sees the upload is done and sends nothing.
    expect(await p.commit(tokens, account, post, handle)).toEqual({ done: false, handle });
    expect(await calls('tiktok', 'upload')).toHaveLength(2);
    expect(await writes('tiktok')).toHaveLength(1);
  });

  it('after the last chunk’s answer is lost, status/fetch finds the post, written once', async () => {
    const { tokens, account } = await setup();
    const p = publisher();
    const post = content([video('lost.mp4', 3000)]);
    const handle = await p.prepare(tokens, account, post);

    await fault('tiktok', { route: 'upload', kind: 'drop_after' });
    expect((await failure(p.commit(tokens, account, post, handle))).kind).toBe('outcome_unknown');
    const landed = await writes('tiktok');
    expect(landed).toHaveLength(1);
    expect(landed[0]!.data.publishId).toBe(handle.publishId);

    const verdict = await p.verify(tokens, account, post, handle, new Date());
    const postId = await rawPostId(tokens, handle.publishId);
    expect(postId).toMatch(/^\d{19}$/);
    expect(verdict).toMatchObject({ landed: true, post: { postId } });
    expect(await p.settle(tokens, account, handle)).toMatchObject({ state: 'ready', post: { postId } });
    expect(await writes('tiktok')).toHaveLength(1);
  });

  it('while moderation holds the post id back, verify answers unknown, never not-landed', async () => {
    await knobs('tiktok', { moderationMs: 60_000 });
    const { tokens, account } = await setup();
    const p = publisher();
    const post = content([video('slow.mp4', 3000)]);
    const handle = await p.prepare(tokens, account, post);
    await fault('tiktok', { route: 'upload', kind: 'error_after', status: 500 });
    expect((await failure(p.commit(tokens, account, post, handle))).kind).toBe('outcome_unknown');

    const first = await p.verify(tokens, account, post, handle, new Date());
    expect(first).toMatchObject({ landed: 'unknown' });
    expect(first.landed === 'unknown' && first.checkAfterMs).toBeGreaterThan(0);
    await advance(60_000);
    expect(await p.verify(tokens, account, post, handle, new Date())).toMatchObject({ landed: true });
    expect(await writes('tiktok')).toHaveLength(1);
  });

  it('after a dropped commit that did nothing, verify says not landed and committing again writes once', async () => {
    const { tokens, account } = await setup();
    const p = publisher();
    const post = content([video('again.mp4', 3000)]);
    const handle = await p.prepare(tokens, account, post);

    await fault('tiktok', { route: 'upload', kind: 'drop' });
    expect((await failure(p.commit(tokens, account, post, handle))).kind).toBe('outcome_unknown');
    expect(await writes('tiktok')).toHaveLength(0);
    expect(await p.verify(tokens, account, post, handle, new Date())).toEqual({ landed: false, handleUsable: true });
    // A handle past the upload URL's life is not reused.
    const stale = { ...handle, uploadExpiresAt: new Date(Date.now() - 1000).toISOString() };
    expect(await p.verify(tokens, account, post, stale, new Date())).toEqual({ landed: false, handleUsable: false });

    expect(await p.commit(tokens, account, post, handle)).toEqual({ done: false, handle });
    const landed = await writes('tiktok');
    expect(landed).toHaveLength(1);
    expect(landed[0]!.data.publishId).toBe(handle.publishId);
    expect(await p.settle(tokens, account, handle)).toMatchObject({ state: 'ready' });
  });

  it('resumes a chunked upload whose middle chunk was lost', async () => {
    const { tokens, account } = await setup();
    const p = publisher();
    const size = 11 * MIB;
    const post = content([video('resume.mp4', size)]);
    const handle = await p.prepare(tokens, account, post);
    await fault('tiktok', { route: 'upload', kind: 'drop_after' });
    // The first chunk is stored; nothing is posted before the last, so this is no unknown outcome.
    expect((await failure(p.commit(tokens, account, post, handle))).kind).toBe('transient');
    expect(await writes('tiktok')).toHaveLength(0);
    expect(await p.verify(tokens, account, post, handle, new Date())).toEqual({ landed: false, handleUsable: true });
    await p.commit(tokens, account, post, handle);
    expect((await calls('tiktok', 'upload')).map((c) => c.status)).toEqual([206, 201]);
    expect(await writes('tiktok')).toHaveLength(1);
  });

  it('surfaces rate limits and the daily post cap as rate_limited with a wait', async () => {
    const { tokens, account } = await setup();
    const p = publisher();
    const post = content([video('limit.mp4', 3000)]);

    await fault('tiktok', { route: 'video_init', kind: 'throttle' });
    const throttled = await failure(p.prepare(tokens, account, post));
    expect(throttled).toMatchObject({ kind: 'rate_limited', code: 'rate_limit_exceeded', retryAfterMs: 60_000 });

    await knobs('tiktok', { spamPostsPerDay: 0 });
    const capped = await failure(p.prepare(tokens, account, post));
    expect(capped).toMatchObject({ kind: 'rate_limited', code: 'spam_risk_too_many_posts', retryAfterMs: 86_400_000 });

    // Six inits a minute: the seventh prepare is refused by the platform's window.
    await admin(sim, 'POST', '/reset');
    const fresh = await setup();
    for (let i = 0; i < 6; i++) await p.prepare(fresh.tokens, fresh.account, post);
    const windowed = await failure(p.prepare(fresh.tokens, fresh.account, post));
    expect(windowed.kind).toBe('rate_limited');
    expect(windowed.retryAfterMs).toBeGreaterThan(0);
    expect(await writes('tiktok')).toHaveLength(0);
  });

  it('reports a failed post with TikTok’s fail_reason', async () => {
    const { tokens, account } = await setup();
    const p = publisher();
    const post = content([video('broken.mp4', 3000)]);
    await admin(sim, 'POST', '/tiktok/jobs/fail', { kind: 'publish', reason: 'file_format_check_failed' });
    const handle = await committed(p, tokens, account, post);
    expect(await p.settle(tokens, account, handle)).toEqual({ state: 'failed', reason: 'file_format_check_failed' });
    // The truth signal agrees: the post failed for good, nothing to commit again.
    const err = await failure(p.verify(tokens, account, post, handle, new Date()));
    expect(err).toMatchObject({ kind: 'permanent', code: 'file_format_check_failed' });
    expect(await writes('tiktok')).toHaveLength(1);
  });

  it('refuses photos, a missing or unoffered privacy level, and other than one video', async () => {
    const { tokens, account } = await setup();
    const p = publisher();
    const clip = video('v.mp4', 100);
    const photo: MediaRef = {
      url: `${sim.url}/_media/p.jpg?bytes=100`,
      kind: 'image',
      mimeType: 'image/jpeg',
      sizeBytes: 100,
    };
    const photos = await failure(p.prepare(tokens, account, content([photo, photo])));
    expect(photos.kind).toBe('permanent');
    expect(photos.message).toMatch(/photo/);
    for (const bad of [content([clip], { privacyLevel: undefined }), content([clip, clip]), content([])]) {
      expect((await failure(p.prepare(tokens, account, bad))).kind).toBe('permanent');
    }
    await knobs('tiktok', { unaudited: 1 });
    const unoffered = await failure(p.prepare(tokens, account, content([clip])));
    expect(unoffered).toMatchObject({ kind: 'permanent', code: 'privacy_level_option_mismatch' });
    expect(await calls('tiktok', 'video_init')).toHaveLength(0);
    const handle = await p.prepare(tokens, account, content([clip], { privacyLevel: 'SELF_ONLY' }));
    expect(handle).toMatchObject({ size: 100, chunkSize: 100, chunks: 1 });
    expect(await p.capacity(tokens, account)).toEqual({ waitMs: 0 });
  });
});
