import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { WriteRecord } from '../../simulators/core.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { admin } from './contract.ts';

// Publishing on the LinkedIn and X simulators, spoken to over raw HTTP: uploads and their processing,
// the commit, duplicate refusals that name what already landed, lost answers, and the limits.

const DAY_MS = 86_400_000;

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

const writes = (platform: string, route: string) =>
  admin<WriteRecord[]>(sim, 'GET', `/${platform}/writes?route=${route}`);

async function simNow(): Promise<number> {
  const { now } = await admin<{ now: string }>(sim, 'GET', '/clock');
  return Date.parse(now);
}

function request(base: string, headers: Record<string, string>) {
  return (method: string, path: string, body?: unknown) =>
    fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
}

describe('LinkedIn publishing', () => {
  async function member() {
    const { accountId, accessToken } = await admin<{ accountId: string; accessToken: string }>(
      sim,
      'POST',
      '/linkedin/tokens',
      { scopes: ['openid', 'profile', 'w_member_social'] },
    );
    // The simulator's current month is always an active version.
    const version = new Date(await simNow()).toISOString().slice(0, 7).replace('-', '');
    const headers = {
      authorization: `Bearer ${accessToken}`,
      'linkedin-version': version,
      'x-restli-protocol-version': '2.0.0',
    };
    return { person: `urn:li:person:${accountId}`, headers, call: request(`${sim.url}/linkedin`, headers) };
  }
  type Member = Awaited<ReturnType<typeof member>>;

  const post = (m: Member, commentary: string, content?: unknown) =>
    m.call('POST', '/rest/posts', {
      author: m.person,
      commentary,
      visibility: 'PUBLIC',
      distribution: { feedDistribution: 'MAIN_FEED', targetEntities: [], thirdPartyDistributionChannels: [] },
      ...(content === undefined ? {} : { content }),
      lifecycleState: 'PUBLISHED',
      isReshareDisabledByAuthor: false,
    });

  const status = async (m: Member, urn: string) => {
    const type = urn.split(':')[2];
    const res = await m.call('GET', `/rest/${type}s/${encodeURIComponent(urn)}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { status: string }).status;
  };

  async function uploadVideo(m: Member, size: number) {
    const init = await m.call('POST', '/rest/videos?action=initializeUpload', {
      initializeUploadRequest: { owner: m.person, fileSizeBytes: size, uploadCaptions: false, uploadThumbnail: false },
    });
    expect(init.status).toBe(200);
    const { value } = (await init.json()) as {
      value: {
        video: string;
        uploadToken: string;
        uploadInstructions: { uploadUrl: string; firstByte: number; lastByte: number }[];
      };
    };
    const etags: string[] = [];
    for (const part of value.uploadInstructions) {
      const res = await fetch(part.uploadUrl, {
        method: 'PUT',
        body: Buffer.alloc(part.lastByte - part.firstByte + 1, etags.length + 1),
      });
      expect(res.status).toBe(200);
      etags.push(res.headers.get('etag') ?? '');
    }
    return { ...value, etags };
  }

  const finalize = (m: Member, video: string, uploadToken: string, uploadedPartIds: string[]) =>
    m.call('POST', '/rest/videos?action=finalizeUpload', {
      finalizeUploadRequest: { video, uploadToken, uploadedPartIds },
    });

  it('uploads an image, waits for AVAILABLE and posts it: 201 with x-restli-id and one write', async () => {
    const m = await member();
    const init = await m.call('POST', '/rest/images?action=initializeUpload', {
      initializeUploadRequest: { owner: m.person },
    });
    expect(init.status).toBe(200);
    const { value } = (await init.json()) as {
      value: { uploadUrl: string; image: string; uploadUrlExpiresAt: number };
    };
    expect(value.image).toMatch(/^urn:li:image:\w+$/);
    expect(value.uploadUrl.startsWith(`${sim.url}/linkedin/upload/images/`)).toBe(true);
    expect(value.uploadUrlExpiresAt).toBeGreaterThan(await simNow());
    expect(await status(m, value.image)).toBe('WAITING_UPLOAD');

    const put = await fetch(value.uploadUrl, { method: 'PUT', body: Buffer.from('not really a png') });
    expect(put.status).toBe(201);
    expect(await status(m, value.image)).toBe('AVAILABLE');

    const res = await post(m, 'Launch day', { media: { id: value.image, title: 'launch.png' } });
    expect(res.status).toBe(201);
    expect(await res.text()).toBe('');
    const urn = res.headers.get('x-restli-id') ?? '';
    expect(urn).toMatch(/^urn:li:share:\d{19}$/);
    const published = await writes('linkedin', 'publish');
    expect(published).toHaveLength(1);
    expect(published[0]?.data).toMatchObject({ urn, author: m.person, commentary: 'Launch day', media: [value.image] });

    const read = await m.call('GET', `/rest/posts/${encodeURIComponent(urn)}`);
    expect(await read.json()).toMatchObject({ id: urn, author: m.person, content: { media: { id: value.image } } });

    const removed = await m.call('DELETE', `/rest/posts/${encodeURIComponent(urn)}`);
    expect(removed.status).toBe(204);
    expect((await m.call('GET', `/rest/posts/${encodeURIComponent(urn)}`)).status).toBe(404);
    expect(await writes('linkedin', 'delete')).toHaveLength(1);
  });

  it('insists on the version headers, encoded URNs and the member as owner', async () => {
    const m = await member();
    const body = { initializeUploadRequest: { owner: m.person } };
    const bare = await fetch(`${sim.url}/linkedin/rest/images?action=initializeUpload`, {
      method: 'POST',
      headers: { authorization: m.headers.authorization, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(bare.status).toBe(400);
    expect(await bare.json()).toMatchObject({ code: 'VERSION_MISSING' });
    const sunset = await fetch(`${sim.url}/linkedin/rest/images?action=initializeUpload`, {
      method: 'POST',
      headers: { ...m.headers, 'linkedin-version': '202304', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(sunset.status).toBe(426);
    expect(await sunset.json()).toMatchObject({ code: 'NONEXISTENT_VERSION' });

    const other = await m.call('POST', '/rest/images?action=initializeUpload', {
      initializeUploadRequest: { owner: 'urn:li:person:someoneElse' },
    });
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({ code: 'ACCESS_DENIED' });

    const created = await post(m, 'Encoded, please');
    const urn = created.headers.get('x-restli-id') ?? '';
    expect((await m.call('GET', `/rest/posts/${urn}`)).status).toBe(400);
    expect((await m.call('GET', `/rest/posts/${encodeURIComponent(urn)}`)).status).toBe(200);
  });

  it('uploads a video in 4 MiB parts, finalizes with the ETags, and processes it', async () => {
    const m = await member();
    await admin(sim, 'PATCH', '/linkedin/knobs', { assetPolls: 2 });
    const size = 4_194_304 + 1000;
    const video = await uploadVideo(m, size);
    expect(video.video).toMatch(/^urn:li:video:\w+$/);
    expect(video.uploadToken).toBe('');
    expect(video.uploadInstructions.map((p) => [p.firstByte, p.lastByte])).toEqual([
      [0, 4_194_303],
      [4_194_304, size - 1],
    ]);
    expect(video.etags.every(Boolean)).toBe(true);
    expect(await status(m, video.video)).toBe('WAITING_UPLOAD');

    const short = await fetch(video.uploadInstructions[1]!.uploadUrl, { method: 'PUT', body: Buffer.alloc(10) });
    expect(short.status).toBe(400);
    // The short PUT was refused, so the part's ETag still stands.
    expect((await finalize(m, video.video, '', [...video.etags].reverse())).status).toBe(400);
    expect((await finalize(m, video.video, '', video.etags.slice(0, 1))).status).toBe(400);
    expect((await finalize(m, video.video, '', video.etags)).status).toBe(200);

    expect(await status(m, video.video)).toBe('PROCESSING');
    const early = await post(m, 'Watch this', { media: { id: video.video } });
    expect(early.status).toBe(422);
    expect(((await early.json()) as { message: string }).message).toContain('PROCESSING');
    expect(await status(m, video.video)).toBe('AVAILABLE');
    expect((await post(m, 'Watch this', { media: { id: video.video } })).status).toBe(201);

    // A failed transcode ends PROCESSING_FAILED, and the video cannot be posted.
    await admin(sim, 'PATCH', '/linkedin/knobs', { assetPolls: 0 });
    await admin(sim, 'POST', '/linkedin/jobs/fail', { kind: 'asset', reason: 'VIDEO_TRANSCODE_FAILED' });
    const broken = await uploadVideo(m, 2048);
    expect((await finalize(m, broken.video, broken.uploadToken, broken.etags)).status).toBe(200);
    expect(await status(m, broken.video)).toBe('PROCESSING_FAILED');
    expect((await post(m, 'Watch this too', { media: { id: broken.video } })).status).toBe(422);
    expect(await writes('linkedin', 'publish')).toHaveLength(1);
  });

  it('refuses media that was never uploaded', async () => {
    const m = await member();
    const init = await m.call('POST', '/rest/images?action=initializeUpload', {
      initializeUploadRequest: { owner: m.person },
    });
    const { value } = (await init.json()) as { value: { image: string } };
    const res = await post(m, 'Too soon', { media: { id: value.image } });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { message: string }).message).toContain('WAITING_UPLOAD');
    expect(await writes('linkedin', 'publish')).toHaveLength(0);
  });

  it('answers a repeated post with 422 naming the first one, and writes nothing', async () => {
    const m = await member();
    const first = await post(m, 'Same words twice');
    expect(first.status).toBe(201);
    const urn = first.headers.get('x-restli-id');
    const again = await post(m, 'Same words twice');
    expect(again.status).toBe(422);
    expect(await again.json()).toMatchObject({
      status: 422,
      code: 'DUPLICATE_POST',
      message: `Content is a duplicate of ${urn}`,
    });
    const tooLong = await post(m, 'x'.repeat(3001));
    expect(tooLong.status).toBe(422);
    expect(await writes('linkedin', 'publish')).toHaveLength(1);
  });

  it('after a lost answer, lists the post that landed and names it in the duplicate refusal', async () => {
    const m = await member();
    await admin(sim, 'POST', '/linkedin/faults', { route: 'publish', kind: 'drop_after' });
    await expect(post(m, 'Did this go out?')).rejects.toThrow();

    const list = await m.call('GET', `/rest/posts?q=author&author=${encodeURIComponent(m.person)}&count=10&start=0`);
    expect(list.status).toBe(200);
    const { elements, paging } = (await list.json()) as {
      elements: { id: string; commentary: string }[];
      paging: { total: number };
    };
    expect(paging.total).toBe(1);
    expect(elements[0]?.commentary).toBe('Did this go out?');

    const retry = await post(m, 'Did this go out?');
    expect(retry.status).toBe(422);
    expect(((await retry.json()) as { message: string }).message).toBe(`Content is a duplicate of ${elements[0]?.id}`);
    expect(await writes('linkedin', 'publish')).toHaveLength(1);
  });

  it('stops at the daily post limit with a bare 429 until midnight UTC', async () => {
    const m = await member();
    await admin(sim, 'PATCH', '/linkedin/knobs', { dailyPosts: 2 });
    expect((await post(m, 'one')).status).toBe(201);
    expect((await post(m, 'two')).status).toBe(201);
    const limited = await post(m, 'three');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBeNull();
    expect(limited.headers.get('x-rate-limit-reset')).toBeNull();
    expect(await writes('linkedin', 'publish')).toHaveLength(2);

    const now = await simNow();
    await admin(sim, 'POST', '/clock', { advanceMs: DAY_MS - (now % DAY_MS) + 1000 });
    expect((await post(m, 'three')).status).toBe(201);
  });
});

describe('X publishing', () => {
  async function user() {
    const { accountId, accessToken } = await admin<{ accountId: string; accessToken: string }>(
      sim,
      'POST',
      '/x/tokens',
      { scopes: ['tweet.read', 'tweet.write', 'users.read', 'media.write', 'offline.access'] },
    );
    const auth = { authorization: `Bearer ${accessToken}` };
    return { accountId, auth, call: request(`${sim.url}/x`, auth) };
  }
  type User = Awaited<ReturnType<typeof user>>;
  type MediaData = {
    id: string;
    media_key: string;
    size?: number;
    processing_info?: { state: string; error?: { name: string; message: string } };
  };

  const tweet = (u: User, text: string, mediaIds?: string[]) =>
    u.call('POST', '/2/tweets', { text, ...(mediaIds ? { media: { media_ids: mediaIds } } : {}) });

  const mediaStatus = async (u: User, id: string) => {
    const res = await u.call('GET', `/2/media/upload?command=STATUS&media_id=${id}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { data: MediaData }).data.processing_info;
  };

  /** initialize, two appends (multipart, then JSON base64) and finalize. */
  async function uploadVideo(u: User, totalBytes: number, sent = totalBytes) {
    const init = await u.call('POST', '/2/media/upload/initialize', {
      media_type: 'video/mp4',
      total_bytes: totalBytes,
      media_category: 'tweet_video',
    });
    expect(init.status).toBe(200);
    const { data } = (await init.json()) as { data: MediaData & { expires_after_secs: number } };
    expect(data.media_key).toBe(`7_${data.id}`);
    const half = Math.floor(sent / 2);
    const form = new FormData();
    form.set('segment_index', '0');
    form.set('media', new Blob([Buffer.alloc(half, 1)]));
    const first = await fetch(`${sim.url}/x/2/media/upload/${data.id}/append`, {
      method: 'POST',
      headers: u.auth,
      body: form,
    });
    expect(first.status).toBe(200);
    const second = await u.call('POST', `/2/media/upload/${data.id}/append`, {
      segment_index: 1,
      media: Buffer.alloc(sent - half, 2).toString('base64'),
    });
    expect(second.status).toBe(200);
    return { id: data.id, finalized: await u.call('POST', `/2/media/upload/${data.id}/finalize`) };
  }

  it('uploads an image in one shot and posts it: 201 with rate headers and one write', async () => {
    const u = await user();
    const form = new FormData();
    form.set('media', new Blob([Buffer.from('GIF89a but pretend it is a jpeg')]), 'photo.jpg');
    form.set('media_category', 'tweet_image');
    const upload = await fetch(`${sim.url}/x/2/media/upload`, { method: 'POST', headers: u.auth, body: form });
    expect(upload.status).toBe(200);
    const { data: image } = (await upload.json()) as { data: MediaData };
    expect(image.media_key).toBe(`3_${image.id}`);
    expect(image.size).toBe(31);
    expect(image.processing_info).toBeUndefined();

    const res = await tweet(u, 'Hello with a picture', [image.id]);
    expect(res.status).toBe(201);
    expect(res.headers.get('x-rate-limit-limit')).toBe('100');
    expect(res.headers.get('x-rate-limit-remaining')).toBe('99');
    const { data } = (await res.json()) as { data: { id: string; text: string; edit_history_tweet_ids: string[] } };
    expect(data).toEqual({ id: data.id, text: 'Hello with a picture', edit_history_tweet_ids: [data.id] });
    const published = await writes('x', 'publish');
    expect(published).toHaveLength(1);
    expect(published[0]?.data).toEqual({ id: data.id, text: 'Hello with a picture', mediaIds: [image.id] });
  });

  it('uploads a video in chunks, refuses it while processing, and posts it once succeeded', async () => {
    const u = await user();
    await admin(sim, 'PATCH', '/x/knobs', { mediaPolls: 2 });
    const video = await uploadVideo(u, 1000);
    expect(video.finalized.status).toBe(200);
    const { data } = (await video.finalized.json()) as { data: MediaData };
    expect(data).toMatchObject({ id: video.id, size: 1000, processing_info: { state: 'pending' } });

    const early = await tweet(u, 'Watch this', [video.id]);
    expect(early.status).toBe(400);
    expect(await early.json()).toMatchObject({ detail: 'Your media IDs are invalid.' });
    expect(await mediaStatus(u, video.id)).toMatchObject({ state: 'pending' });
    expect(await mediaStatus(u, video.id)).toMatchObject({ state: 'succeeded', progress_percent: 100 });
    expect((await tweet(u, 'Watch this', [video.id])).status).toBe(201);

    // The bytes must add up to total_bytes.
    const short = await uploadVideo(u, 1000, 900);
    expect(short.finalized.status).toBe(400);
    expect(await short.finalized.json()).toMatchObject({ status: 400, title: 'Bad Request' });

    // A failed transcode: STATUS says so, and the media cannot be posted.
    await admin(sim, 'PATCH', '/x/knobs', { mediaPolls: 1 });
    await admin(sim, 'POST', '/x/jobs/fail', { kind: 'media', reason: 'Unsupported video format' });
    const broken = await uploadVideo(u, 500);
    expect(broken.finalized.status).toBe(200);
    expect(await mediaStatus(u, broken.id)).toMatchObject({
      state: 'failed',
      error: { name: 'InvalidMedia', message: 'Unsupported video format' },
    });
    expect((await tweet(u, 'Watch this too', [broken.id])).status).toBe(400);
    expect(await writes('x', 'publish')).toHaveLength(1);
  });

  it('refuses duplicate text with 403 and overlong text with 400, writing nothing', async () => {
    const u = await user();
    expect((await tweet(u, 'Only once')).status).toBe(201);
    const again = await tweet(u, 'Only once');
    expect(again.status).toBe(403);
    expect(await again.json()).toEqual({
      detail: 'You are not allowed to create a Tweet with duplicate content.',
      type: 'about:blank',
      title: 'Forbidden',
      status: 403,
    });
    const long = await tweet(u, 'y'.repeat(281));
    expect(long.status).toBe(400);
    expect(await long.json()).toMatchObject({ type: 'https://api.x.com/2/problems/invalid-request' });
    expect(await writes('x', 'publish')).toHaveLength(1);
  });

  it('after a lost answer, finds the post on the timeline since the last id, and a retry is a duplicate', async () => {
    const u = await user();
    const before = await tweet(u, 'Earlier post');
    const { data: earlier } = (await before.json()) as { data: { id: string } };

    await admin(sim, 'POST', '/x/faults', { route: 'publish', kind: 'drop_after' });
    await expect(tweet(u, 'Did this go out?')).rejects.toThrow();

    const timeline = await u.call(
      'GET',
      `/2/users/${u.accountId}/tweets?since_id=${earlier.id}&tweet.fields=created_at`,
    );
    expect(timeline.status).toBe(200);
    const { data, meta } = (await timeline.json()) as {
      data: { id: string; text: string; created_at: string }[];
      meta: { result_count: number; newest_id: string };
    };
    expect(meta.result_count).toBe(1);
    expect(data[0]).toMatchObject({ id: meta.newest_id, text: 'Did this go out?' });
    expect(Date.parse(data[0]!.created_at)).not.toBeNaN();
    expect(BigInt(meta.newest_id) > BigInt(earlier.id)).toBe(true);

    const retry = await tweet(u, 'Did this go out?');
    expect(retry.status).toBe(403);
    expect(await writes('x', 'publish')).toHaveLength(2);
  });

  it('allows 100 posts per 15 minutes, then 429 with a reset in the future', async () => {
    const u = await user();
    for (let i = 0; i < 100; i++) expect((await tweet(u, `post number ${i}`)).status).toBe(201);
    const limited = await tweet(u, 'one too many');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-rate-limit-limit')).toBe('100');
    expect(limited.headers.get('x-rate-limit-remaining')).toBe('0');
    const reset = Number(limited.headers.get('x-rate-limit-reset')) * 1000;
    expect(reset).toBeGreaterThan(Date.parse(limited.headers.get('date') ?? ''));
    expect(await writes('x', 'publish')).toHaveLength(100);

    await admin(sim, 'POST', '/clock', { advanceMs: 15 * 60_000 });
    const later = await tweet(u, 'one too many');
    expect(later.status).toBe(201);
    expect(later.headers.get('x-rate-limit-remaining')).toBe('99');
  });

  it('deletes its own post', async () => {
    const u = await user();
    const created = await tweet(u, 'Short-lived');
    const { data } = (await created.json()) as { data: { id: string } };
    const res = await u.call('DELETE', `/2/tweets/${data.id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { deleted: true } });
    expect(await writes('x', 'delete')).toHaveLength(1);

    const lookup = await u.call('GET', `/2/tweets/${data.id}`);
    expect(await lookup.json()).toMatchObject({ errors: [{ resource_id: data.id, title: 'Not Found Error' }] });
    const timeline = await u.call('GET', `/2/users/${u.accountId}/tweets`);
    expect(await timeline.json()).toEqual({ meta: { result_count: 0 } });
    // With the post gone, the same text may be posted again.
    expect((await tweet(u, 'Short-lived')).status).toBe(201);
  });
});
