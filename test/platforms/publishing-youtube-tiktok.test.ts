import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SimJob, WriteRecord } from '../../simulators/core.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { admin } from './contract.ts';

// Publishing on the simulated YouTube (resumable upload) and TikTok (Content Posting API), driven with
// raw HTTP: sessions and probes, chunk rules, the commit landing exactly once even when its answer is
// lost, processing outcomes, quotas and rate limits.

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

const QUANTUM = 262_144;
const MIB = 1024 * 1024;
const UPLOAD_SCOPE = 'https://www.googleapis.com/auth/youtube.upload';

const bytes = (n: number) => new Uint8Array(n).fill(7);
const json = async <T = GoogleError>(res: Response) => (await res.json()) as T;

interface GoogleError {
  error: { code: number; message: string; errors: { reason: string; domain: string }[] };
}
interface Video {
  kind: string;
  id: string;
  snippet: { title: string; description: string };
  status: { uploadStatus: string; privacyStatus: string; failureReason?: string; rejectionReason?: string };
  processingDetails?: { processingStatus: string };
}
interface TikTokBody {
  data: Record<string, unknown> & { publish_id: string; upload_url?: string; privacy_level_options?: string[] };
  error: { code: string; message: string; log_id: string };
}
interface PublishStatus {
  status: string;
  fail_reason?: string;
  uploaded_bytes?: number;
  downloaded_bytes?: number;
  /** publicaly_available_post_id[0], read from the raw text. */
  postId?: string;
}
const writes = (platform: string) => admin<WriteRecord[]>(sim, 'GET', `/${platform}/writes?route=publish`);
const advance = (advanceMs: number) => admin(sim, 'POST', '/clock', { advanceMs });
const knobs = (platform: string, values: Record<string, number>) => admin(sim, 'PATCH', `/${platform}/knobs`, values);

async function token(platform: string, scopes: string[]): Promise<string> {
  return (await admin<{ accessToken: string }>(sim, 'POST', `/${platform}/tokens`, { scopes })).accessToken;
}

describe('YouTube resumable upload', () => {
  const ytToken = () => token('youtube', [UPLOAD_SCOPE]);

  function openSession(accessToken: string, total: number, snippet: Record<string, unknown> = {}) {
    return fetch(`${sim.url}/youtube/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${accessToken}`,
        'content-type': 'application/json; charset=UTF-8',
        'x-upload-content-length': String(total),
        'x-upload-content-type': 'video/mp4',
      },
      body: JSON.stringify({
        snippet: {
          title: 'Launch day',
          description: 'From the simulator',
          tags: ['sim'],
          categoryId: '22',
          ...snippet,
        },
        status: { privacyStatus: 'private', selfDeclaredMadeForKids: false },
      }),
    });
  }

  async function session(accessToken: string, total: number): Promise<string> {
    const res = await openSession(accessToken, total);
    expect(res.status).toBe(200);
    const location = res.headers.get('location');
    expect(location).toMatch(/\/youtube\/upload\/youtube\/v3\/videos\?uploadType=resumable&upload_id=AB/);
    return location!;
  }

  const put = (uri: string, first: number, size: number, total: number) =>
    fetch(uri, {
      method: 'PUT',
      redirect: 'manual',
      headers: { 'content-type': 'video/mp4', 'content-range': `bytes ${first}-${first + size - 1}/${total}` },
      body: bytes(size),
    });
  const probe = (uri: string, total: number) =>
    fetch(uri, { method: 'PUT', redirect: 'manual', headers: { 'content-range': `bytes */${total}` } });

  async function uploadWhole(accessToken: string, total = 1000): Promise<Video> {
    const uri = await session(accessToken, total);
    const res = await fetch(uri, { method: 'PUT', headers: { 'content-type': 'video/mp4' }, body: bytes(total) });
    expect(res.status).toBe(200);
    return json<Video>(res);
  }

  const list = async (accessToken: string, id: string) => {
    const res = await fetch(`${sim.url}/youtube/youtube/v3/videos?part=status,processingDetails,snippet&id=${id}`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(res.status).toBe(200);
    const body = await json<{ items: Video[] }>(res);
    expect(body.items).toHaveLength(1);
    return body.items[0]!;
  };

  it('takes chunks with 308 + Range, refuses odd chunks, and creates the video once on the last byte', async () => {
    const total = 2 * QUANTUM + 1000;
    const uri = await session(await ytToken(), total);
    expect(uri.startsWith(`${sim.url}/youtube/`)).toBe(true);

    const empty = await probe(uri, total);
    expect(empty.status).toBe(308);
    expect(empty.headers.get('range')).toBeNull();

    const first = await put(uri, 0, QUANTUM, total);
    expect(first.status).toBe(308);
    expect(first.headers.get('range')).toBe(`bytes=0-${QUANTUM - 1}`);

    // A middle chunk that is not a multiple of 256 KiB, then one that skips ahead.
    expect((await put(uri, QUANTUM, 1000, total)).status).toBe(400);
    const skipped = await put(uri, 2 * QUANTUM, 1000, total);
    expect(skipped.status).toBe(400);
    expect((await json(skipped)).error.code).toBe(400);

    // Probing mid-upload tells how far the session got; the refused chunks stored nothing.
    const mid = await probe(uri, total);
    expect(mid.status).toBe(308);
    expect(mid.headers.get('range')).toBe(`bytes=0-${QUANTUM - 1}`);

    const second = await put(uri, QUANTUM, QUANTUM, total);
    expect(second.status).toBe(308);
    expect(second.headers.get('range')).toBe(`bytes=0-${2 * QUANTUM - 1}`);
    expect(await writes('youtube')).toHaveLength(0);

    const last = await put(uri, 2 * QUANTUM, 1000, total);
    expect(last.status).toBe(200);
    const video = await json<Video>(last);
    expect(video).toMatchObject({
      kind: 'youtube#video',
      snippet: { title: 'Launch day', description: 'From the simulator' },
      status: { uploadStatus: 'uploaded', privacyStatus: 'private' },
    });
    expect(video.id).toMatch(/^[A-Za-z0-9_-]{11}$/);
    const landed = await writes('youtube');
    expect(landed).toHaveLength(1);
    expect(landed[0]!.data).toMatchObject({ videoId: video.id, title: 'Launch day', bytes: total });
  });

  it('answers a probe after the last chunk lost its answer with the video, and never writes twice', async () => {
    const total = QUANTUM + 500;
    const uri = await session(await ytToken(), total);
    expect((await put(uri, 0, QUANTUM, total)).status).toBe(308);

    await admin(sim, 'POST', '/youtube/faults', { route: 'upload', kind: 'drop_after' });
    await expect(put(uri, QUANTUM, 500, total)).rejects.toThrow();
    const landed = await writes('youtube');
    expect(landed).toHaveLength(1);

    const probed = await probe(uri, total);
    expect(probed.status).toBe(200);
    const video = await json<Video>(probed);
    expect(video.id).toBe(landed[0]!.data.videoId);
    expect(video.kind).toBe('youtube#video');

    // Resending the last chunk blindly also gets the same video back.
    const resent = await put(uri, QUANTUM, 500, total);
    expect(resent.status).toBe(200);
    expect((await json<Video>(resent)).id).toBe(video.id);
    expect(await writes('youtube')).toHaveLength(1);
  });

  it('expires a session after a week (410) and does not know a made-up one (404)', async () => {
    const total = QUANTUM + 10;
    const uri = await session(await ytToken(), total);
    expect((await put(uri, 0, QUANTUM, total)).status).toBe(308);

    await advance(6 * 86_400_000);
    const stillOpen = await probe(uri, total);
    expect(stillOpen.status).toBe(308);
    expect(stillOpen.headers.get('range')).toBe(`bytes=0-${QUANTUM - 1}`);

    await advance(86_400_000);
    const expired = await probe(uri, total);
    expect(expired.status).toBe(410);
    expect((await json(expired)).error.code).toBe(410);
    expect((await put(uri, QUANTUM, 10, total)).status).toBe(410);

    const unknown = await probe(uri.replace(/upload_id=[^&]+/, 'upload_id=ABnope'), total);
    expect(unknown.status).toBe(404);
    expect((await json(unknown)).error.errors[0]?.reason).toBe('notFound');
    expect(await writes('youtube')).toHaveLength(0);
  });

  it('processes an uploaded video until videos.list shows it processed', async () => {
    await knobs('youtube', { processingPolls: 2 });
    const accessToken = await ytToken();
    const video = await uploadWhole(accessToken);
    expect(video.status.uploadStatus).toBe('uploaded');

    const first = await list(accessToken, video.id);
    expect(first.status.uploadStatus).toBe('uploaded');
    expect(first.processingDetails?.processingStatus).toBe('processing');
    expect(first.snippet.title).toBe('Launch day');

    const second = await list(accessToken, video.id);
    expect(second.status.uploadStatus).toBe('processed');
    expect(second.processingDetails?.processingStatus).toBe('succeeded');
  });

  it('reports processing that fails, and a rejection', async () => {
    const accessToken = await ytToken();
    await admin(sim, 'POST', '/youtube/jobs/fail', { kind: 'processing', reason: 'codec' });
    const failed = await uploadWhole(accessToken);
    const seen = await list(accessToken, failed.id);
    expect(seen.status).toMatchObject({ uploadStatus: 'failed', failureReason: 'codec' });
    expect(seen.processingDetails?.processingStatus).toBe('failed');

    await admin(sim, 'POST', '/youtube/jobs/fail', { kind: 'processing', reason: 'duplicate' });
    const rejected = await uploadWhole(accessToken);
    expect((await list(accessToken, rejected.id)).status).toMatchObject({
      uploadStatus: 'rejected',
      rejectionReason: 'duplicate',
    });
    const jobs = await admin<(SimJob & { phase: string })[]>(sim, 'GET', '/youtube/jobs');
    expect(jobs.filter((j) => j.kind === 'processing').map((j) => j.phase)).toEqual(['failed', 'failed']);
    expect(await writes('youtube')).toHaveLength(2);
  });

  it('validates the title and description', async () => {
    const accessToken = await ytToken();
    const long = await openSession(accessToken, 100, { title: 'x'.repeat(101) });
    expect(long.status).toBe(400);
    expect((await json(long)).error.errors[0]?.reason).toBe('invalidTitle');
    const missing = await openSession(accessToken, 100, { title: undefined });
    expect((await json(missing)).error.errors[0]?.reason).toBe('invalidTitle');
    // 5000 bytes, not characters: 2500 two-byte characters pass, one more does not.
    expect((await openSession(accessToken, 100, { description: 'é'.repeat(2500) })).status).toBe(200);
    const wordy = await openSession(accessToken, 100, { description: 'é'.repeat(2501) });
    expect(wordy.status).toBe(400);
    expect((await json(wordy)).error.errors[0]?.reason).toBe('invalidDescription');
  });

  it('charges videos.insert 1600 units, or a bucket of its own in the newer cost model', async () => {
    const accessToken = await ytToken();
    await knobs('youtube', { dailyUnits: 1599 });
    const refused = await openSession(accessToken, 100);
    expect(refused.status).toBe(403);
    expect((await json(refused)).error.errors[0]).toMatchObject({ reason: 'quotaExceeded', domain: 'youtube.quota' });
    // The refused insert spent nothing: a 1-unit read still fits.
    const channels = await fetch(`${sim.url}/youtube/youtube/v3/channels?part=id&mine=true`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(channels.status).toBe(200);

    await knobs('youtube', { costModel: 1, dailyVideoInserts: 1 });
    expect((await openSession(accessToken, 100)).status).toBe(200);
    const second = await openSession(accessToken, 100);
    expect(second.status).toBe(403);
    expect((await json(second)).error.errors[0]?.reason).toBe('quotaExceeded');
  });

  it('refuses uploads past the per-channel daily cap until a day has passed', async () => {
    await knobs('youtube', { dailyUploads: 1 });
    const accessToken = await ytToken();
    // An open session is no upload yet; the finished video is.
    const pending = await openSession(accessToken, 100);
    expect(pending.status).toBe(200);
    await uploadWhole(accessToken);
    const refused = await openSession(accessToken, 100);
    expect(refused.status).toBe(400);
    expect((await json(refused)).error.errors[0]?.reason).toBe('uploadLimitExceeded');

    await advance(86_400_000 + 1000);
    expect((await openSession(await ytToken(), 100)).status).toBe(200);
  });
});

describe('TikTok Content Posting API', () => {
  const ttToken = (scopes = ['video.publish']) => token('tiktok', scopes);
  const call = (path: string, accessToken: string, body: unknown = {}) =>
    fetch(`${sim.url}/tiktok${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json; charset=UTF-8' },
      body: JSON.stringify(body),
    });

  const postInfo = (privacy_level = 'PUBLIC_TO_EVERYONE') => ({
    title: 'Hello #sim',
    privacy_level,
    disable_comment: false,
    disable_duet: false,
    disable_stitch: false,
    video_cover_timestamp_ms: 1000,
  });
  const fileSource = (video_size: number, chunk_size: number, total_chunk_count: number) => ({
    source: 'FILE_UPLOAD',
    video_size,
    chunk_size,
    total_chunk_count,
  });

  async function init(accessToken: string, body: Record<string, unknown>) {
    const res = await call('/v2/post/publish/video/init/', accessToken, body);
    return { status: res.status, body: await json<TikTokBody>(res) };
  }

  const putChunk = (uploadUrl: string, first: number, size: number, total: number) =>
    fetch(uploadUrl, {
      method: 'PUT',
      headers: { 'content-type': 'video/mp4', 'content-range': `bytes ${first}-${first + size - 1}/${total}` },
      body: bytes(size),
    });

  /** status/fetch, with the raw text kept: the post ids are int64 numbers. */
  async function status(accessToken: string, publishId: string) {
    const res = await call('/v2/post/publish/status/fetch/', accessToken, { publish_id: publishId });
    expect(res.status).toBe(200);
    const text = await res.text();
    const body = JSON.parse(text) as TikTokBody;
    expect(body.error.code).toBe('ok');
    const ids = /"publicaly_available_post_id":\[(\d*)\]/.exec(text)?.[1];
    return { ...(body.data as unknown as PublishStatus), postId: ids || undefined };
  }

  // 11 MiB + 123 bytes in 5 MiB chunks: floor(size / chunk) = 2, the last chunk taking the rest.
  const SIZE = 11 * MIB + 123;
  const CHUNK = 5 * MIB;

  it('describes the creator, and only SELF_ONLY for an unaudited client', async () => {
    const accessToken = await ttToken();
    const res = await call('/v2/post/publish/creator_info/query/', accessToken);
    expect(res.status).toBe(200);
    const body = await json<TikTokBody>(res);
    expect(body.error.code).toBe('ok');
    expect(body.data).toMatchObject({
      creator_username: 'switchboard.sim',
      creator_nickname: 'Switchboard Sim',
      privacy_level_options: ['PUBLIC_TO_EVERYONE', 'MUTUAL_FOLLOW_FRIENDS', 'SELF_ONLY'],
      comment_disabled: false,
      duet_disabled: false,
      stitch_disabled: false,
    });
    expect(body.data.max_video_post_duration_sec as number).toBeGreaterThan(0);
    expect(body.data.creator_avatar_url).toMatch(/^https:\/\//);

    await knobs('tiktok', { unaudited: 1 });
    const unaudited = await json<TikTokBody>(await call('/v2/post/publish/creator_info/query/', accessToken));
    expect(unaudited.data.privacy_level_options).toEqual(['SELF_ONLY']);

    const noScope = await call('/v2/post/publish/creator_info/query/', await ttToken(['user.info.basic']));
    expect(noScope.status).toBe(401);
    expect((await json<TikTokBody>(noScope)).error.code).toBe('scope_not_authorized');
  });

  it('inits, takes chunks in order (206, 201), and publishes once after processing and moderation', async () => {
    await knobs('tiktok', { publishPolls: 2, moderationMs: 30_000 });
    const accessToken = await ttToken();
    const started = await init(accessToken, { post_info: postInfo(), source_info: fileSource(SIZE, CHUNK, 2) });
    expect(started.status).toBe(200);
    expect(started.body.error).toMatchObject({ code: 'ok', message: '' });
    const { publish_id: publishId, upload_url: uploadUrl = '' } = started.body.data;
    expect(publishId).toMatch(/^v_pub_file~v2-1\.\d+$/);
    expect(uploadUrl.startsWith(`${sim.url}/tiktok/`)).toBe(true);

    expect(await status(accessToken, publishId)).toMatchObject({ status: 'PROCESSING_UPLOAD', uploaded_bytes: 0 });
    expect((await putChunk(uploadUrl, 0, CHUNK, SIZE)).status).toBe(206);
    expect(await status(accessToken, publishId)).toMatchObject({ status: 'PROCESSING_UPLOAD', uploaded_bytes: CHUNK });
    // Init and a partial upload are no post yet; the same chunk again is out of order.
    expect(await writes('tiktok')).toHaveLength(0);
    expect((await putChunk(uploadUrl, 0, CHUNK, SIZE)).status).toBe(400);

    expect((await putChunk(uploadUrl, CHUNK, SIZE - CHUNK, SIZE)).status).toBe(201);
    const landed = await writes('tiktok');
    expect(landed).toHaveLength(1);
    expect(landed[0]!.data).toMatchObject({ publishId, title: 'Hello #sim', privacyLevel: 'PUBLIC_TO_EVERYONE' });

    expect(await status(accessToken, publishId)).toMatchObject({ status: 'PROCESSING_UPLOAD', uploaded_bytes: SIZE });
    const complete = await status(accessToken, publishId);
    expect(complete.status).toBe('PUBLISH_COMPLETE');
    expect(complete.postId).toBeUndefined();

    await advance(30_000);
    const moderated = await status(accessToken, publishId);
    expect(moderated.status).toBe('PUBLISH_COMPLETE');
    expect(moderated.postId).toMatch(/^7\d{18}$/);
    expect(await writes('tiktok')).toHaveLength(1);
  });

  it('publishes although the last chunk lost its answer; status/fetch is the truth', async () => {
    const accessToken = await ttToken();
    const { body } = await init(accessToken, { post_info: postInfo(), source_info: fileSource(SIZE, CHUNK, 2) });
    const { publish_id: publishId, upload_url: uploadUrl = '' } = body.data;
    expect((await putChunk(uploadUrl, 0, CHUNK, SIZE)).status).toBe(206);

    await admin(sim, 'POST', '/tiktok/faults', { route: 'upload', kind: 'drop_after' });
    await expect(putChunk(uploadUrl, CHUNK, SIZE - CHUNK, SIZE)).rejects.toThrow();

    const truth = await status(accessToken, publishId);
    expect(truth).toMatchObject({ status: 'PUBLISH_COMPLETE', uploaded_bytes: SIZE });
    expect(truth.postId).toMatch(/^\d{19}$/);
    expect(await writes('tiktok')).toHaveLength(1);
    // A blind resend of the last chunk is answered 201 without posting again.
    expect((await putChunk(uploadUrl, CHUNK, SIZE - CHUNK, SIZE)).status).toBe(201);
    expect(await writes('tiktok')).toHaveLength(1);
  });

  it('reports FAILED with the reason when processing fails', async () => {
    const accessToken = await ttToken();
    await admin(sim, 'POST', '/tiktok/jobs/fail', { kind: 'publish', reason: 'file_format_check_failed' });
    const { status: code, body } = await init(accessToken, {
      post_info: postInfo('SELF_ONLY'),
      source_info: { source: 'PULL_FROM_URL', video_url: 'https://cdn.example.com/v.mp4' },
    });
    expect(code).toBe(200);
    expect(body.data.publish_id).toMatch(/^v_pub_url~v2-1\.\d+$/);
    expect(body.data.upload_url).toBeUndefined();
    // Pulling from a URL commits at init.
    expect(await writes('tiktok')).toHaveLength(1);
    const failed = await status(accessToken, body.data.publish_id);
    expect(failed).toMatchObject({ status: 'FAILED', fail_reason: 'file_format_check_failed' });
    expect(failed.postId).toBeUndefined();
  });

  it('posts photos from URLs, committing at init', async () => {
    const accessToken = await ttToken();
    const res = await call('/v2/post/publish/content/init/', accessToken, {
      media_type: 'PHOTO',
      post_mode: 'DIRECT_POST',
      post_info: { title: 'Album', description: 'Two shots', privacy_level: 'SELF_ONLY' },
      source_info: {
        source: 'PULL_FROM_URL',
        photo_images: ['https://cdn.example.com/1.jpg', 'https://cdn.example.com/2.jpg'],
        photo_cover_index: 1,
      },
    });
    expect(res.status).toBe(200);
    const publishId = (await json<TikTokBody>(res)).data.publish_id;
    expect(publishId).toMatch(/^p_pub_url~v2-1\.\d+$/);
    const landed = await writes('tiktok');
    expect(landed).toHaveLength(1);
    expect(landed[0]!.data).toMatchObject({ publishId, mediaType: 'PHOTO' });
    expect((await status(accessToken, publishId)).status).toBe('PUBLISH_COMPLETE');
  });

  it('allows 6 inits a minute', async () => {
    const accessToken = await ttToken();
    const small = { post_info: postInfo(), source_info: fileSource(1000, 1000, 1) };
    for (let i = 0; i < 6; i++) expect((await init(accessToken, small)).status).toBe(200);
    const limited = await init(accessToken, small);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limit_exceeded');
    await advance(60_000);
    expect((await init(accessToken, small)).status).toBe(200);
  });

  it('refuses privacy levels the creator does not offer, unaudited public posts, and too many posts', async () => {
    const accessToken = await ttToken();
    const source = fileSource(1000, 1000, 1);
    const mismatch = await init(accessToken, { post_info: postInfo('FOLLOWER_OF_CREATOR'), source_info: source });
    expect(mismatch.status).toBe(403);
    expect(mismatch.body.error.code).toBe('privacy_level_option_mismatch');

    await knobs('tiktok', { unaudited: 1 });
    const unaudited = await init(accessToken, { post_info: postInfo('PUBLIC_TO_EVERYONE'), source_info: source });
    expect(unaudited.body.error.code).toBe('unaudited_client_can_only_post_to_private_accounts');
    expect((await init(accessToken, { post_info: postInfo('SELF_ONLY'), source_info: source })).status).toBe(200);

    await knobs('tiktok', { unaudited: 0, spamPostsPerDay: 1 });
    const pull = { post_info: postInfo(), source_info: { source: 'PULL_FROM_URL', video_url: 'https://x.test/v.mp4' } };
    expect((await init(accessToken, pull)).status).toBe(200);
    const spam = await init(accessToken, pull);
    expect(spam.body.error.code).toBe('spam_risk_too_many_posts');
    expect(await writes('tiktok')).toHaveLength(1);

    const noScope = await init(await ttToken(['user.info.basic']), { post_info: postInfo(), source_info: source });
    expect(noScope.status).toBe(401);
    expect(noScope.body.error.code).toBe('scope_not_authorized');
  });

  it('checks the chunk arithmetic at init', async () => {
    const accessToken = await ttToken();
    const cases = [
      fileSource(SIZE, CHUNK, 3), // floor(11 MiB / 5 MiB) is 2
      fileSource(3 * MIB, MIB, 3), // under 5 MB goes up whole
      fileSource(200 * MIB, 70 * MIB, 2), // chunks are at most 64 MB
      fileSource(100 * MIB, 100 * MIB, 1), // over 64 MB must be chunked
      fileSource(SIZE, CHUNK, 0),
    ];
    for (const source_info of cases) {
      const res = await init(accessToken, { post_info: postInfo(), source_info });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_params');
    }
    expect((await init(accessToken, { post_info: postInfo(), source_info: fileSource(SIZE, CHUNK, 2) })).status).toBe(
      200,
    );
  });
});
