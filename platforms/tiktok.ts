import { PlatformError } from './errors.ts';
import {
  asRecord,
  type Classifier,
  callPlatform,
  oauthError,
  oauthTokens,
  type PlatformRequest,
  type PlatformResponse,
  retryAfter,
  url,
} from './http.ts';
import { fetchMedia } from './media.ts';
import { byTime, mediaMetricsStream, num, watermarkPage } from './sync.ts';
import type {
  AdapterConfig,
  MetricSample,
  PlatformAdapter,
  PublishAccount,
  PublishContent,
  PublishedPost,
  Publisher,
  PublishHandle,
  SyncedMedia,
  SyncStream,
  TokenSet,
  Verdict,
} from './types.ts';

// TikTok: Login Kit v2 (PKCE, rotating refresh tokens, comma-separated scopes) and the Display API.
const HOSTS = {
  web: 'https://www.tiktok.com',
  api: 'https://open.tiktokapis.com',
};
const SCOPES = ['user.info.basic', 'user.info.profile', 'user.info.stats', 'video.list', 'video.publish'];

/**
 * TikTok's two error shapes: the token endpoint's {error, error_description, log_id} and the API
 * envelope {data, error:{code, message, log_id}}. Both can arrive with HTTP 200, so the body decides.
 */
export function tiktokError(res: PlatformResponse, req?: PlatformRequest): PlatformError | undefined {
  const body = asRecord(res.body);
  if (typeof body.error === 'string') return oauthError('tiktok', { ...res, status: Math.max(res.status, 400) });
  const error = asRecord(body.error);
  const code = typeof error.code === 'string' ? error.code : undefined;
  if (code === 'ok' || (!code && res.status < 400)) return undefined;
  const message = `tiktok: ${code ?? res.status}${error.message ? ` (${String(error.message)})` : ''}`;
  const opts = { status: res.status, code };
  const minuteWindow = req?.url.includes('/v2/post/publish/') || req?.url.includes('/v2/video/');
  const throttledFor = () => retryAfter(res) ?? (minuteWindow ? MINUTE_MS : undefined);
  // A server error on the last upload chunk may still have posted: only status/fetch can tell.
  const serverError = () => new PlatformError('tiktok', req?.write ? 'outcome_unknown' : 'transient', message, opts);
  switch (code) {
    case 'access_token_invalid':
      return new PlatformError('tiktok', 'token_expired', message, opts);
    case 'scope_not_authorized':
    case 'scope_permission_missed':
      return new PlatformError('tiktok', 'permanent', message, opts);
    // TikTok sends no rate-limit headers. The Content Posting API's windows are all one minute long
    // (creator_info 20, init 6, status/fetch 30 a minute), and so are video/list and video/query
    // (600 a minute), so there a minute always clears it; elsewhere the wait stays unknown unless a
    // Retry-After shows up.
    case 'rate_limit_exceeded':
      return new PlatformError('tiktok', 'rate_limited', message, { ...opts, retryAfterMs: throttledFor() });
    // Daily caps on the creator's posts (and inbox drafts, and the app's active creators): the window
    // is reported as a rolling day and its oldest entry is not visible, so the sure wait is a day.
    case 'spam_risk_too_many_posts':
    case 'spam_risk_too_many_pending_share':
    case 'reached_active_user_cap':
      return new PlatformError('tiktok', 'rate_limited', message, { ...opts, retryAfterMs: DAY_MS });
    case 'internal_error':
      return serverError();
  }
  if (res.status === 401) return new PlatformError('tiktok', 'token_expired', message, opts);
  if (res.status === 429) {
    return new PlatformError('tiktok', 'rate_limited', message, { ...opts, retryAfterMs: throttledFor() });
  }
  if (res.status >= 500) return serverError();
  return new PlatformError('tiktok', 'permanent', message, opts);
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

export function createTikTokAdapter(cfg: AdapterConfig): PlatformAdapter {
  const host = (name: keyof typeof HOSTS) => cfg.baseUrl || HOSTS[name];
  const classify: Classifier = (res, req) => tiktokError(res, req);
  const call = (req: Parameters<typeof callPlatform>[2]) => callPlatform('tiktok', cfg.timeoutMs, req, classify);

  return {
    platform: 'tiktok',
    displayName: 'TikTok',
    pkce: true,
    refreshRule: 'rotating',
    minRefreshAgeMs: 0,
    scopes: SCOPES,
    simulated: Boolean(cfg.baseUrl),
    // No inbox: the Display API has no comments or DMs (reference §4.4), and no inbox webhooks.
    streams: tiktokStreams(call, host('api')),

    authorizeUrl({ state, redirectUri, codeChallenge }) {
      return url(host('web'), '/v2/auth/authorize/', {
        client_key: cfg.clientId,
        response_type: 'code',
        scope: SCOPES.join(','),
        redirect_uri: redirectUri,
        state,
        code_challenge: codeChallenge,
        code_challenge_method: codeChallenge ? 'S256' : undefined,
      });
    },

    async exchangeCode({ code, redirectUri, codeVerifier }) {
      const res = await call({
        method: 'POST',
        url: url(host('api'), '/v2/oauth/token/'),
        form: {
          client_key: cfg.clientId,
          client_secret: cfg.clientSecret,
          code,
          grant_type: 'authorization_code',
          redirect_uri: redirectUri,
          code_verifier: codeVerifier,
        },
      });
      return oauthTokens('tiktok', res, ',');
    },

    async refresh(tokens) {
      if (!tokens.refreshToken) throw new PlatformError('tiktok', 'token_revoked', 'tiktok: no refresh token stored');
      const res = await call({
        method: 'POST',
        url: url(host('api'), '/v2/oauth/token/'),
        form: {
          client_key: cfg.clientId,
          client_secret: cfg.clientSecret,
          grant_type: 'refresh_token',
          refresh_token: tokens.refreshToken,
        },
      });
      // Rotating: the answer carries the only refresh token that works from now on.
      return oauthTokens('tiktok', res, ',');
    },

    async profile(tokens: TokenSet) {
      const res = await call({
        url: url(host('api'), '/v2/user/info/', { fields: 'open_id,union_id,avatar_url,display_name,username' }),
        headers: { authorization: `Bearer ${tokens.accessToken}` },
      });
      const user = asRecord(asRecord(asRecord(res.body).data).user);
      if (!user.open_id) throw new PlatformError('tiktok', 'permanent', 'tiktok: user/info returned no user');
      return {
        externalId: String(user.open_id),
        displayName: String(user.display_name ?? user.username ?? user.open_id),
        handle: typeof user.username === 'string' ? `@${user.username}` : undefined,
        ids: typeof user.union_id === 'string' ? { unionId: user.union_id } : undefined,
      };
    },

    async revoke(tokens) {
      // TikTok revokes by access token; the app then disappears from the user's connected apps.
      const res = await call({
        method: 'POST',
        url: url(host('api'), '/v2/oauth/revoke/'),
        form: { client_key: cfg.clientId, client_secret: cfg.clientSecret, token: tokens.accessToken },
      });
      return { outcome: 'revoked', status: res.status };
    },

    publisher: tiktokPublisher(cfg, host('api'), call, classify),
  };
}

// Publishing: the Content Posting API's direct post with FILE_UPLOAD (reference §4.5). prepare asks
// creator_info and inits the post (a publish_id and an upload_url; nothing is posted before the bytes
// arrive), commit uploads the chunks (the last one is the commit), status/fetch is both the truth
// signal and the processing and moderation poll.

const MIB = 1024 * 1024;
/** TikTok's chunks are 5–64 MB with the last taking the rest; a video under 5 MB goes up whole. */
const CHUNK_BYTES = 5 * MIB;
/** Upload URLs are reported to live about an hour (unverified); a handle older than this is not reused. */
const UPLOAD_URL_TTL_MS = 55 * MINUTE_MS;
const PROCESSING_POLL_MS = 10_000;
/** Moderation hands out the public post id "usually within a minute, sometimes hours". */
const MODERATION_POLL_MS = 30_000;

interface UploadHandle {
  publishId: string;
  uploadUrl: string;
  size: number;
  chunkSize: number;
  chunks: number;
  /** Our clock: past this the upload_url is taken as expired and the post is prepared again. */
  uploadExpiresAt?: string;
  /** The creator's username from creator_info, for the permalink. */
  username?: string;
}

const permanent = (message: string, code?: string) =>
  new PlatformError('tiktok', 'permanent', `tiktok: ${message}`, { code });

function uploadHandle(handle: PublishHandle): UploadHandle {
  const { publishId, uploadUrl, size, chunkSize, chunks, uploadExpiresAt, username } = handle;
  if (
    typeof publishId !== 'string' ||
    typeof uploadUrl !== 'string' ||
    typeof size !== 'number' ||
    typeof chunkSize !== 'number' ||
    typeof chunks !== 'number'
  ) {
    throw permanent('the publish handle is not a TikTok upload');
  }
  return {
    publishId,
    uploadUrl,
    size,
    chunkSize,
    chunks,
    uploadExpiresAt: typeof uploadExpiresAt === 'string' ? uploadExpiresAt : undefined,
    username: typeof username === 'string' ? username : undefined,
  };
}

/** FILE_UPLOAD's chunk arithmetic (media transfer guide): total_chunk_count = floor(size / chunk_size). */
export function tiktokChunks(size: number): { chunkSize: number; chunks: number } {
  if (size < CHUNK_BYTES) return { chunkSize: size, chunks: 1 };
  return { chunkSize: CHUNK_BYTES, chunks: Math.floor(size / CHUNK_BYTES) };
}

/** Bytes [first, last] of chunk `index`; the last chunk takes the trailing remainder. */
function chunkRange(h: UploadHandle, index: number): [number, number] {
  const first = index * h.chunkSize;
  return [first, index === h.chunks - 1 ? h.size - 1 : first + h.chunkSize - 1];
}

interface PublishStatus {
  status: string;
  failReason?: string;
  uploadedBytes: number;
  /** publicaly_available_post_id[0], read from the raw text: the ids are int64 JSON numbers. */
  postId?: string;
}

function publishStatus(res: PlatformResponse): PublishStatus {
  const data = asRecord(asRecord(res.body).data);
  const ids = /"publicaly_available_post_id"\s*:\s*\[\s*"?(\d+)/.exec(res.text);
  return {
    status: String(data.status ?? ''),
    failReason: typeof data.fail_reason === 'string' && data.fail_reason ? data.fail_reason : undefined,
    uploadedBytes: typeof data.uploaded_bytes === 'number' ? data.uploaded_bytes : 0,
    postId: ids?.[1],
  };
}

/** The video options of a direct post; refuses what cannot be posted before anything is sent. */
function videoOptions(content: PublishContent) {
  const [media, ...more] = content.media;
  if (media?.kind === 'image' || more.some((m) => m.kind === 'image')) {
    // Photo posts pull from a URL and commit at init: a lost init answer leaves no publish_id to ask
    // about, so there is no truth signal to keep them exactly-once. Not supported here.
    throw permanent('photo posts are not supported; a TikTok post publishes exactly one video');
  }
  if (!media || more.length || media.kind !== 'video') throw permanent('a TikTok post publishes exactly one video');
  const o = content.options;
  if (typeof o.privacyLevel !== 'string' || !o.privacyLevel) {
    throw permanent('options.privacyLevel is required (one of the creator’s privacy_level_options)');
  }
  for (const key of ['disableComment', 'disableDuet', 'disableStitch']) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') throw permanent(`options.${key} must be true or false`);
  }
  return {
    media,
    privacyLevel: o.privacyLevel,
    disableComment: o.disableComment === true,
    disableDuet: o.disableDuet === true,
    disableStitch: o.disableStitch === true,
  };
}

function tiktokPublisher(
  cfg: AdapterConfig,
  api: string,
  call: (req: PlatformRequest) => Promise<PlatformResponse>,
  classify: Classifier,
): Publisher {
  const bearer = (tokens: TokenSet) => ({ authorization: `Bearer ${tokens.accessToken}` });
  const uploadTimeout = (n: number) => cfg.timeoutMs + Math.ceil(n / MIB) * 1000;

  async function fetchStatus(tokens: TokenSet, publishId: string): Promise<PublishStatus> {
    const res = await call({
      method: 'POST',
      url: url(api, '/v2/post/publish/status/fetch/'),
      headers: bearer(tokens),
      json: { publish_id: publishId },
    });
    return publishStatus(res);
  }

  /** The post's permalink needs the creator's username; without one the post id stands alone. */
  function post(postId: string, h: UploadHandle, account: PublishAccount): PublishedPost {
    const name = (h.username ?? account.ids.username ?? account.ids.handle ?? '').replace(/^@/, '');
    return name ? { postId, permalink: `https://www.tiktok.com/@${name}/video/${postId}` } : { postId };
  }

  /** Whether the bytes are all up: from then on the post exists at TikTok (or failed there). */
  const uploaded = (s: PublishStatus, h: UploadHandle) => s.status !== 'PROCESSING_UPLOAD' || s.uploadedBytes >= h.size;

  return {
    textNeedsPrepare: true,
    async prepare(tokens, _account, content) {
      const opts = videoOptions(content);
      const info = await call({
        method: 'POST',
        url: url(api, '/v2/post/publish/creator_info/query/'),
        headers: bearer(tokens),
        json: {},
      });
      const creator = asRecord(asRecord(info.body).data);
      const offered = Array.isArray(creator.privacy_level_options) ? creator.privacy_level_options.map(String) : [];
      if (!offered.includes(opts.privacyLevel)) {
        throw permanent(
          `privacy level ${opts.privacyLevel} is not offered to this creator (${offered.join(', ') || 'none'})`,
          'privacy_level_option_mismatch',
        );
      }
      const maxS = creator.max_video_post_duration_sec;
      if (typeof maxS === 'number' && opts.media.durationS !== undefined && opts.media.durationS > maxS) {
        throw permanent(`the video is longer than this creator may post (${maxS} s)`, 'duration_check_failed');
      }
      const size = opts.media.sizeBytes;
      const { chunkSize, chunks } = tiktokChunks(size);
      const res = await call({
        method: 'POST',
        url: url(api, '/v2/post/publish/video/init/'),
        headers: bearer(tokens),
        json: {
          post_info: {
            title: content.caption,
            privacy_level: opts.privacyLevel,
            // A creator who turned an interaction off keeps it off (TikTok's UX guidelines).
            disable_comment: opts.disableComment || creator.comment_disabled === true,
            disable_duet: opts.disableDuet || creator.duet_disabled === true,
            disable_stitch: opts.disableStitch || creator.stitch_disabled === true,
          },
          source_info: { source: 'FILE_UPLOAD', video_size: size, chunk_size: chunkSize, total_chunk_count: chunks },
        },
      });
      const data = asRecord(asRecord(res.body).data);
      if (typeof data.publish_id !== 'string' || typeof data.upload_url !== 'string') {
        throw new PlatformError('tiktok', 'transient', 'tiktok: video/init answered without publish_id or upload_url');
      }
      const handle: UploadHandle = {
        publishId: data.publish_id,
        uploadUrl: data.upload_url,
        size,
        chunkSize,
        chunks,
        uploadExpiresAt: new Date(Date.now() + UPLOAD_URL_TTL_MS).toISOString(),
        username: typeof creator.creator_username === 'string' ? creator.creator_username : undefined,
      };
      return { ...handle };
    },

    // Nothing to wait for before the bytes go up.
    async check() {
      return { state: 'ready' };
    },

    async commit(tokens, _account, content, handle) {
      const h = uploadHandle(handle);
      // Where the upload stands first: a commit repeated after a lost middle chunk resumes, and one
      // repeated after the last chunk landed sends nothing (TikTok has no other idempotency).
      const before = await fetchStatus(tokens, h.publishId);
      if (before.status === 'FAILED')
        throw permanent(`the post failed: ${before.failReason ?? 'unknown'}`, before.failReason);
      if (uploaded(before, h)) return { done: false, handle: { ...h } };
      const media = content.media[0];
      if (!media) throw permanent('a TikTok post publishes exactly one video');
      const bytes = await fetchMedia('tiktok', media, cfg);
      if (bytes.length !== h.size) {
        throw permanent(`the video has ${bytes.length} bytes, the upload was opened for ${h.size}; prepare again`);
      }
      for (let index = Math.floor(before.uploadedBytes / h.chunkSize); index < h.chunks; index++) {
        const [first, last] = chunkRange(h, index);
        await callPlatform(
          'tiktok',
          uploadTimeout(last - first + 1),
          {
            method: 'PUT',
            url: h.uploadUrl,
            headers: { 'content-type': media.mimeType, 'content-range': `bytes ${first}-${last}/${h.size}` },
            bytes: bytes.subarray(first, last + 1),
            // The last chunk posts the video: its lost answer is outcome_unknown.
            write: index === h.chunks - 1,
          },
          classify,
        );
      }
      return { done: false, handle: { ...h } };
    },

    async verify(tokens, account, _content, handle): Promise<Verdict> {
      const h = uploadHandle(handle);
      const s = await fetchStatus(tokens, h.publishId);
      if (s.status === 'FAILED') {
        // The upload landed and TikTok refused the post for good: no verdict fits, and re-posting
        // would only fail again.
        throw permanent(`the post failed: ${s.failReason ?? 'unknown'}`, s.failReason);
      }
      if (!uploaded(s, h)) {
        const expired = h.uploadExpiresAt !== undefined && Date.parse(h.uploadExpiresAt) <= Date.now();
        return { landed: false, handleUsable: !expired };
      }
      if (s.status === 'PUBLISH_COMPLETE' && s.postId) return { landed: true, post: post(s.postId, h, account) };
      // The bytes are all up, so the post exists at TikTok: never commit again, only ask later.
      return {
        landed: 'unknown',
        checkAfterMs: s.status === 'PUBLISH_COMPLETE' ? MODERATION_POLL_MS : PROCESSING_POLL_MS,
      };
    },

    async settle(tokens, account, handle) {
      const h = uploadHandle(handle);
      const s = await fetchStatus(tokens, h.publishId);
      switch (s.status) {
        case 'FAILED':
          return { state: 'failed', reason: s.failReason ?? 'unknown' };
        case 'PUBLISH_COMPLETE':
          // Public once moderation hands out the post id.
          return s.postId
            ? { state: 'ready', post: post(s.postId, h, account) }
            : { state: 'pending', checkAfterMs: MODERATION_POLL_MS };
        case 'SEND_TO_USER_INBOX':
          return { state: 'failed', reason: 'sent to the creator’s inbox instead of posted' };
        default:
          return { state: 'pending', checkAfterMs: PROCESSING_POLL_MS };
      }
    },

    // TikTok's daily post cap cannot be queried; a refusal is rate_limited.
    async capacity() {
      return { waitMs: 0 };
    },
  };
}

// Sync (reference §4.3): current totals only, no time series. user/info for the account, video/list
// for the account's videos (newest first, with their counters, down to the newest video of the pass
// before) and video/query for the counters of known videos, 20 ids a call.

const VIDEO_PAGE = 20;
const QUERY_BATCH = 20;
const COUNTERS: Record<string, string> = {
  view_count: 'views',
  like_count: 'likes',
  comment_count: 'comments',
  share_count: 'shares',
};

/** The counters of one video as running totals. */
function videoMetrics(video: Record<string, unknown>): MetricSample[] {
  const id = video.id === undefined ? undefined : String(video.id);
  if (!id) return [];
  return Object.entries(COUNTERS).flatMap(([field, metric]): MetricSample[] => {
    const value = num(video[field]);
    return value === undefined ? [] : [{ objectKind: 'media', objectId: id, metric, value }];
  });
}

function tiktokStreams(call: (req: PlatformRequest) => Promise<PlatformResponse>, api: string): SyncStream[] {
  const bearer = (tokens: TokenSet) => ({ authorization: `Bearer ${tokens.accessToken}` });
  const videoFields = ['id', 'create_time', 'share_url', 'duration', ...Object.keys(COUNTERS)].join(',');

  const accountTotals: SyncStream = {
    name: 'account_totals',
    async fetch(tokens) {
      const res = await call({
        url: url(api, '/v2/user/info/', { fields: 'open_id,follower_count,likes_count,video_count' }),
        headers: bearer(tokens),
      });
      const user = asRecord(asRecord(asRecord(res.body).data).user);
      const totals: [string, unknown][] = [
        ['followers', user.follower_count],
        ['likes', user.likes_count],
        ['video_count', user.video_count],
      ];
      const metrics = totals.flatMap(([metric, value]): MetricSample[] => {
        const n = num(value);
        return n === undefined ? [] : [{ objectKind: 'account', objectId: '', metric, value: n }];
      });
      return { metrics, cursor: {}, done: true };
    },
  };

  /**
   * Down to the newest video of the pass before; `before` is TikTok's cursor inside a pass (a create
   * time in ms). Each page also brings the listed videos' counters.
   */
  const media: SyncStream = {
    name: 'media',
    async fetch(tokens, _account, cursor) {
      const before = typeof cursor?.before === 'number' ? cursor.before : undefined;
      const res = await call({
        method: 'POST',
        url: url(api, '/v2/video/list/', { fields: videoFields }),
        headers: bearer(tokens),
        json: { max_count: VIDEO_PAGE, ...(before === undefined ? {} : { cursor: before }) },
      });
      const data = asRecord(asRecord(res.body).data);
      // create_time has whole seconds: a video of the same second as the mark that is not the mark is new.
      const videos = (Array.isArray(data.videos) ? data.videos.map(asRecord) : []).flatMap((video) => {
        const seconds = num(video.create_time);
        return video.id === undefined || seconds === undefined
          ? []
          : [{ id: String(video.id), at: seconds * 1000, video }];
      });
      const next = num(data.cursor);
      const more = data.has_more === true && next !== undefined;
      const { fresh, ...page } = watermarkPage(cursor, videos, byTime, more ? { before: next } : undefined);
      return {
        media: fresh.map(
          ({ id, at, video }): SyncedMedia => ({
            externalId: id,
            publishedAt: new Date(at),
            mediaType: 'video',
            ...(typeof video.share_url === 'string' ? { permalink: video.share_url } : {}),
          }),
        ),
        metrics: fresh.flatMap(({ video }) => videoMetrics(video)),
        ...page,
      };
    },
  };

  /** Counters of the known videos, 20 ids a call. */
  const mediaMetrics = mediaMetricsStream(QUERY_BATCH, async (tokens, _account, ids) => {
    const res = await call({
      method: 'POST',
      url: url(api, '/v2/video/query/', { fields: ['id', ...Object.keys(COUNTERS)].join(',') }),
      headers: bearer(tokens),
      json: { filters: { video_ids: ids } },
    });
    const videos = asRecord(asRecord(res.body).data).videos;
    return (Array.isArray(videos) ? videos.map(asRecord) : []).flatMap(videoMetrics);
  });

  return [accountTotals, media, mediaMetrics];
}
