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
import {
  addDays,
  audienceSample,
  byTime,
  dailyCursor,
  dailyPass,
  dayOf,
  FIND_PAGES,
  FIND_SKEW_MS,
  laterDay,
  type Mark,
  mediaMetricsStream,
  str,
  totalsStream,
  watermarkPage,
} from './sync.ts';
import type {
  AdapterConfig,
  InboundMessage,
  Inbox,
  MetricSample,
  PlatformAdapter,
  PublishAccount,
  PublishContent,
  PublishedPost,
  Publisher,
  PublishHandle,
  StreamPage,
  SyncContext,
  SyncStream,
  TokenSet,
  Verdict,
} from './types.ts';

// YouTube: Google OAuth (PKCE, offline access, non-rotating refresh token) and the Data API v3.
const HOSTS = {
  accounts: 'https://accounts.google.com',
  oauth: 'https://oauth2.googleapis.com',
  api: 'https://www.googleapis.com',
  analytics: 'https://youtubeanalytics.googleapis.com',
};
const SCOPES = [
  'https://www.googleapis.com/auth/youtube.readonly',
  'https://www.googleapis.com/auth/yt-analytics.readonly',
  'https://www.googleapis.com/auth/youtube.upload',
  'https://www.googleapis.com/auth/youtube.force-ssl',
];

/** Milliseconds until the next midnight in Pacific time, when YouTube's daily quota resets. */
export function msUntilPacificMidnight(nowMs: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: 'America/Los_Angeles',
    hourCycle: 'h23',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(nowMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const sinceMidnight = ((get('hour') * 60 + get('minute')) * 60 + get('second')) * 1000;
  return 86_400_000 - sinceMidnight;
}

/** Google API error envelope: {error:{code, message, status, errors:[{reason, domain}]}}. */
export function googleApiError(res: PlatformResponse, req?: PlatformRequest): PlatformError | undefined {
  const error = asRecord(asRecord(res.body).error);
  if (res.status < 400 || !('code' in error || 'errors' in error)) return undefined;
  const reason = String(asRecord((error.errors as unknown[] | undefined)?.[0]).reason ?? error.status ?? '');
  const message = `youtube: ${reason || res.status} (${String(error.message ?? '')})`;
  const opts = { status: res.status, code: reason };
  switch (reason) {
    case 'quotaExceeded':
      return new PlatformError('youtube', 'rate_limited', message, {
        ...opts,
        retryAfterMs: msUntilPacificMidnight(res.serverNowMs),
      });
    case 'rateLimitExceeded':
    case 'userRateLimitExceeded':
      return new PlatformError('youtube', 'rate_limited', message, { ...opts, retryAfterMs: retryAfter(res) });
    case 'uploadLimitExceeded':
      return new PlatformError('youtube', 'rate_limited', message, { ...opts, retryAfterMs: 86_400_000 });
    case 'authError':
    case 'UNAUTHENTICATED':
      return new PlatformError('youtube', 'token_expired', message, opts);
  }
  if (res.status === 401) return new PlatformError('youtube', 'token_expired', message, opts);
  if (res.status === 429)
    return new PlatformError('youtube', 'rate_limited', message, { ...opts, retryAfterMs: retryAfter(res) });
  // A 5xx on the last upload chunk may still have created the video: only the session probe can tell.
  if (res.status >= 500)
    return new PlatformError('youtube', req?.write ? 'outcome_unknown' : 'transient', message, opts);
  return new PlatformError('youtube', 'permanent', message, opts);
}

export function createYouTubeAdapter(cfg: AdapterConfig): PlatformAdapter {
  const host = (name: keyof typeof HOSTS) => cfg.baseUrl || HOSTS[name];
  const classify: Classifier = (res, req) => oauthError('youtube', res) ?? googleApiError(res, req);
  const call = (req: Parameters<typeof callPlatform>[2]) => callPlatform('youtube', cfg.timeoutMs, req, classify);

  return {
    platform: 'youtube',
    displayName: 'YouTube',
    pkce: true,
    refreshRule: 'stable',
    minRefreshAgeMs: 0,
    scopes: SCOPES,
    simulated: Boolean(cfg.baseUrl),
    ...youtubeSync(call, host),

    authorizeUrl({ state, redirectUri, codeChallenge }) {
      return url(host('accounts'), '/o/oauth2/v2/auth', {
        client_id: cfg.clientId,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: SCOPES.join(' '),
        state,
        // offline + consent: a refresh token on every connect, so a reconnect never lacks one.
        access_type: 'offline',
        prompt: 'consent',
        include_granted_scopes: 'true',
        code_challenge: codeChallenge,
        code_challenge_method: codeChallenge ? 'S256' : undefined,
      });
    },

    async exchangeCode({ code, redirectUri, codeVerifier }) {
      const res = await call({
        method: 'POST',
        url: url(host('oauth'), '/token'),
        form: {
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirectUri,
          client_id: cfg.clientId,
          client_secret: cfg.clientSecret,
          code_verifier: codeVerifier,
        },
      });
      return oauthTokens('youtube', res);
    },

    async refresh(tokens) {
      if (!tokens.refreshToken) throw new PlatformError('youtube', 'token_revoked', 'youtube: no refresh token stored');
      const res = await call({
        method: 'POST',
        url: url(host('oauth'), '/token'),
        form: {
          grant_type: 'refresh_token',
          refresh_token: tokens.refreshToken,
          client_id: cfg.clientId,
          client_secret: cfg.clientSecret,
        },
      });
      // Google does not rotate: the response normally omits refresh_token and the old one stays.
      const fresh = oauthTokens('youtube', res);
      return { ...fresh, refreshToken: fresh.refreshToken ?? tokens.refreshToken };
    },

    async profile(tokens: TokenSet) {
      const res = await call({
        url: url(host('api'), '/youtube/v3/channels', { part: 'snippet,contentDetails', mine: 'true' }),
        headers: { authorization: `Bearer ${tokens.accessToken}` },
      });
      const channel = asRecord((asRecord(res.body).items as unknown[] | undefined)?.[0]);
      if (!channel.id) throw new PlatformError('youtube', 'permanent', 'youtube: this Google account has no channel');
      const snippet = asRecord(channel.snippet);
      const uploads = asRecord(asRecord(channel.contentDetails).relatedPlaylists).uploads;
      return {
        externalId: String(channel.id),
        displayName: String(snippet.title ?? channel.id),
        handle: typeof snippet.customUrl === 'string' ? snippet.customUrl : undefined,
        ids: typeof uploads === 'string' ? { uploadsPlaylist: uploads } : undefined,
      };
    },

    async revoke(tokens) {
      // Revoking the refresh token ends the whole grant; an already dead token answers invalid_token.
      try {
        const res = await call({
          method: 'POST',
          url: url(host('oauth'), '/revoke'),
          form: { token: tokens.refreshToken ?? tokens.accessToken },
        });
        return { outcome: 'revoked', status: res.status };
      } catch (err) {
        if (err instanceof PlatformError && err.code === 'invalid_token') return { outcome: 'revoked', status: 400 };
        throw err;
      }
    },

    publisher: youtubePublisher(cfg, host('api'), call, classify),
  };
}

// Publishing: videos.insert through the resumable upload protocol (reference §1.5). prepare opens
// the session (no video exists yet), commit sends the bytes (the last byte creates the video), the
// session probe (`Content-Range: bytes */size`) is the truth signal, and videos.list tells when
// processing is over.

/** Bytes per upload request; chunks other than the last must be multiples of 256 KiB. */
const UPLOAD_CHUNK = 32 * 262_144;
const PRIVACY = ['public', 'unlisted', 'private'];
/** Processing is polled at most this often, and at least this often while YouTube estimates more. */
const POLL_MIN_MS = 5_000;
const POLL_MAX_MS = 60_000;

export const youtubeWatchUrl = (videoId: string) => `https://www.youtube.com/watch?v=${videoId}`;

/** What prepare hands over: the session URI (its own credential at Google) and what it was opened for. */
interface UploadHandle {
  sessionUri: string;
  size: number;
  mimeType: string;
  /** Set by commit once the last byte created the video. */
  videoId?: string;
}

function uploadHandle(handle: PublishHandle): UploadHandle {
  const { sessionUri, size, mimeType, videoId } = handle;
  if (typeof sessionUri !== 'string' || typeof size !== 'number' || typeof mimeType !== 'string') {
    throw new PlatformError('youtube', 'permanent', 'youtube: the publish handle is not an upload session');
  }
  return { sessionUri, size, mimeType, videoId: typeof videoId === 'string' ? videoId : undefined };
}

const permanent = (message: string) => new PlatformError('youtube', 'permanent', `youtube: ${message}`);

/** The video resource of videos.insert, from the variant's options; refuses what cannot be published. */
export function youtubeVideoResource(content: PublishContent): Record<string, unknown> {
  const [media, ...more] = content.media;
  if (!media || more.length || media.kind !== 'video') throw permanent('a post publishes exactly one video');
  const o = content.options;
  if (typeof o.title !== 'string' || !o.title.trim()) throw permanent('a video needs a title (options.title)');
  const privacyStatus = o.privacyStatus ?? 'public';
  if (typeof privacyStatus !== 'string' || !PRIVACY.includes(privacyStatus)) {
    throw permanent(`options.privacyStatus must be one of ${PRIVACY.join(', ')}`);
  }
  if (o.tags !== undefined && !(Array.isArray(o.tags) && o.tags.every((t) => typeof t === 'string'))) {
    throw permanent('options.tags must be a list of strings');
  }
  if (o.categoryId !== undefined && typeof o.categoryId !== 'string' && typeof o.categoryId !== 'number') {
    throw permanent('options.categoryId must be a category id');
  }
  if (o.madeForKids !== undefined && typeof o.madeForKids !== 'boolean') {
    throw permanent('options.madeForKids must be true or false');
  }
  return {
    snippet: {
      title: o.title,
      description: content.caption,
      ...(o.tags ? { tags: o.tags } : {}),
      ...(o.categoryId !== undefined ? { categoryId: String(o.categoryId) } : {}),
    },
    status: {
      privacyStatus,
      ...(o.madeForKids !== undefined ? { selfDeclaredMadeForKids: o.madeForKids } : {}),
    },
  };
}

/** Last stored byte + 1 from a 308's `Range: bytes=0-N`; 0 when the session holds nothing yet. */
function storedBytes(res: PlatformResponse): number {
  const m = /bytes=0-(\d+)/.exec(res.headers.get('range') ?? '');
  return m ? Number(m[1]) + 1 : 0;
}

const isDone = (res: PlatformResponse) => res.status === 200 || res.status === 201;

function videoIdOf(res: PlatformResponse): string {
  const id = asRecord(res.body).id;
  if (typeof id !== 'string' || !id)
    throw new PlatformError('youtube', 'transient', 'youtube: upload answer lacks the video id');
  return id;
}

function youtubePublisher(
  cfg: AdapterConfig,
  api: string,
  call: (req: PlatformRequest) => Promise<PlatformResponse>,
  classify: Classifier,
): Publisher {
  const bearer = (tokens: TokenSet) => ({ authorization: `Bearer ${tokens.accessToken}` });
  // A chunk may take a while on a slow link: the call timeout plus a second per MiB.
  const uploadTimeout = (n: number) => cfg.timeoutMs + Math.ceil(n / 1_048_576) * 1000;

  /** The session probe: done (with the video), how many bytes it holds, or gone (404/410). */
  async function probe(
    tokens: TokenSet,
    h: UploadHandle,
  ): Promise<{ videoId: string } | { stored: number } | { gone: true }> {
    try {
      const res = await call({
        method: 'PUT',
        url: h.sessionUri,
        headers: { ...bearer(tokens), 'content-range': `bytes */${h.size}` },
      });
      if (isDone(res)) return { videoId: videoIdOf(res) };
      if (res.status === 308) return { stored: storedBytes(res) };
      throw new PlatformError('youtube', 'transient', `youtube: session probe answered ${res.status}`, {
        status: res.status,
      });
    } catch (err) {
      if (err instanceof PlatformError && (err.status === 404 || err.status === 410)) return { gone: true };
      throw err;
    }
  }

  /**
   * Sends the bytes from where the session stands. Starts at 0 without asking (a fresh session holds
   * nothing); a 308 says where to go on, and a refused or lost middle chunk is followed by a probe, so
   * a commit repeated on a half-filled session resumes instead of failing.
   */
  async function upload(tokens: TokenSet, h: UploadHandle, bytes: Buffer): Promise<string> {
    let offset = 0;
    let recoveries = 0;
    let stalls = 0;
    while (true) {
      const end = Math.min(offset + UPLOAD_CHUNK, h.size);
      const last = end === h.size;
      let res: PlatformResponse;
      try {
        res = await callPlatform(
          'youtube',
          uploadTimeout(end - offset),
          {
            method: 'PUT',
            url: h.sessionUri,
            headers: {
              ...bearer(tokens),
              'content-type': h.mimeType,
              'content-range': `bytes ${offset}-${end - 1}/${h.size}`,
            },
            bytes: bytes.subarray(offset, end),
            // The last byte creates the video: its lost answer is outcome_unknown, never retried here.
            write: last,
          },
          classify,
        );
      } catch (err) {
        const recoverable =
          err instanceof PlatformError &&
          recoveries < 2 &&
          (err.kind === 'transient' || (err.kind === 'permanent' && err.status === 400 && err.code === 'badRequest'));
        if (!recoverable) throw err;
        recoveries++;
        const at = await probe(tokens, h);
        if ('videoId' in at) return at.videoId;
        if ('gone' in at) throw permanent('the upload session expired; prepare again');
        // A refused chunk whose start was right was refused for another reason.
        if (err.kind === 'permanent' && at.stored === offset) throw err;
        offset = at.stored;
        continue;
      }
      if (isDone(res)) return videoIdOf(res);
      if (res.status !== 308) {
        const kind = last ? 'outcome_unknown' : 'transient';
        throw new PlatformError('youtube', kind, `youtube: upload answered ${res.status}`, { status: res.status });
      }
      const stored = storedBytes(res);
      stalls = stored > offset ? 0 : stalls + 1;
      if (stalls > 2) throw new PlatformError('youtube', 'transient', 'youtube: the upload session stores nothing');
      offset = stored;
    }
  }

  async function videoStatus(tokens: TokenSet, videoId: string) {
    const res = await call({
      url: url(api, '/youtube/v3/videos', { part: 'status,processingDetails', id: videoId }),
      headers: bearer(tokens),
    });
    const video = asRecord((asRecord(res.body).items as unknown[] | undefined)?.[0]);
    return video.id === videoId ? video : undefined;
  }

  const post = (videoId: string): PublishedPost => ({ postId: videoId, permalink: youtubeWatchUrl(videoId) });

  return {
    textNeedsPrepare: true,
    async prepare(tokens: TokenSet, _account: PublishAccount, content: PublishContent) {
      const resource = youtubeVideoResource(content);
      const media = content.media[0] as PublishContent['media'][number];
      const res = await call({
        method: 'POST',
        url: url(api, '/upload/youtube/v3/videos', { uploadType: 'resumable', part: 'snippet,status' }),
        headers: {
          ...bearer(tokens),
          'x-upload-content-length': String(media.sizeBytes),
          'x-upload-content-type': media.mimeType,
        },
        json: resource,
      });
      const sessionUri = res.headers.get('location');
      if (!sessionUri) throw new PlatformError('youtube', 'transient', 'youtube: no upload session URI in the answer');
      const handle: UploadHandle = { sessionUri, size: media.sizeBytes, mimeType: media.mimeType };
      return { ...handle };
    },

    // Nothing to wait for before the bytes go up.
    async check() {
      return { state: 'ready' };
    },

    async commit(tokens, _account, content, handle) {
      const h = uploadHandle(handle);
      const media = content.media[0];
      if (!media) throw permanent('a post publishes exactly one video');
      const bytes = await fetchMedia('youtube', media, cfg);
      if (bytes.length !== h.size) {
        throw permanent(
          `the video has ${bytes.length} bytes, the upload session was opened for ${h.size}; prepare again`,
        );
      }
      const videoId = await upload(tokens, h, bytes);
      // Not done yet, by choice: the video exists now, but YouTube may still fail or reject it in
      // processing (codec, copyright, duplicate, length), and then it never plays. Settle waits for
      // uploadStatus `processed`, so a post is published only once viewers can watch it.
      return { done: false, handle: { ...h, videoId } };
    },

    async verify(tokens, _account, _content, handle): Promise<Verdict> {
      const at = await probe(tokens, uploadHandle(handle));
      // Landed, but still processing: settle (which finds the video through the session) follows.
      if ('videoId' in at) return { landed: true, post: post(at.videoId), processing: true };
      // 308: the last byte never arrived, and committing again resumes from what the session holds.
      if ('stored' in at) return { landed: false, handleUsable: true };
      return { landed: false, handleUsable: false };
    },

    async settle(tokens, _account, handle) {
      const h = uploadHandle(handle);
      let videoId = h.videoId;
      if (!videoId) {
        // Called with prepare's handle after verify found the upload landed: the session names the video.
        const at = await probe(tokens, h);
        if (!('videoId' in at)) return { state: 'failed', reason: 'the upload never completed' };
        videoId = at.videoId;
      }
      const video = await videoStatus(tokens, videoId);
      // The uploader always sees its own video; a miss right after upload is worth another look, and
      // the publish's processing timeout ends a video that was deleted meanwhile.
      if (!video) return { state: 'pending', checkAfterMs: POLL_MAX_MS };
      const status = asRecord(video.status);
      switch (status.uploadStatus) {
        case 'processed':
          return { state: 'ready', post: post(videoId) };
        case 'failed':
          return { state: 'failed', reason: `failed: ${String(status.failureReason ?? 'unknown')}` };
        case 'rejected':
          return { state: 'failed', reason: `rejected: ${String(status.rejectionReason ?? 'unknown')}` };
        case 'deleted':
          return { state: 'failed', reason: 'deleted' };
      }
      const left = asRecord(asRecord(video.processingDetails).processingProgress).timeLeftMs;
      const hint = typeof left === 'number' || typeof left === 'string' ? Number(left) : Number.NaN;
      const checkAfterMs = Number.isFinite(hint) ? Math.min(POLL_MAX_MS, Math.max(POLL_MIN_MS, hint)) : 15_000;
      return { state: 'pending', checkAfterMs };
    },

    // The daily quota cannot be queried; a refusal says when it resets (rate_limited).
    async capacity() {
      return { waitMs: 0 };
    },
  };
}

// Sync (reference §1.3, §1.4): daily channel metrics from YouTube Analytics reports, current channel
// totals and per-video counters from the Data API (1 unit a call), uploads from the uploads playlist
// (newest first, down to the newest video of the pass before), and comment threads of the whole
// channel (newest first, likewise). There are no DMs and no comment webhooks: the inbox is polled.
// audience comes from Analytics reports too, over a moving window (its values move as days pass).

/** Days of a report page (startIndex / maxResults paging). */
const REPORT_PAGE = 30;
const LIST_PAGE = 50;
const COMMENT_PAGE = 100;
const STATS_BATCH = 50;
/** The audience window: the last 28 days, as YouTube Studio shows it. */
const AUDIENCE_DAYS = 28;

/** Analytics report columns under the shared metric names. */
const REPORT_METRICS: Record<string, string> = {
  views: 'views',
  estimatedMinutesWatched: 'watch_minutes',
  likes: 'likes',
  comments: 'comments',
  shares: 'shares',
  subscribersGained: 'subscribers_gained',
  subscribersLost: 'subscribers_lost',
};

const STATISTICS: Record<string, string> = { viewCount: 'views', likeCount: 'likes', commentCount: 'comments' };

const list = (value: unknown) => (Array.isArray(value) ? value.map(asRecord) : []);
/** Counts arrive as strings ("123"). */
const count = (value: unknown): number | undefined => {
  const n = typeof value === 'string' || typeof value === 'number' ? Number(value) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
};

/** The uploads playlist: stored at connect (profile ids), else UC… → UU…. */
export const uploadsPlaylist = (account: PublishAccount) =>
  account.ids.uploadsPlaylist ?? `UU${account.externalId.replace(/^UC/, '')}`;

function commentMessage(comment: Record<string, unknown>, channelId: string): InboundMessage | undefined {
  const id = str(comment.id);
  const snippet = asRecord(comment.snippet);
  if (!id) return undefined;
  const author = String(asRecord(snippet.authorChannelId).value ?? '');
  const status = str(snippet.moderationStatus);
  return {
    externalId: id,
    threadKind: 'comment',
    threadExternalId: String(snippet.videoId ?? ''),
    ...(str(snippet.parentId) ? { parentExternalId: str(snippet.parentId) } : {}),
    authorExternalId: author,
    ...(str(snippet.authorDisplayName) ? { authorName: str(snippet.authorDisplayName) } : {}),
    text: String(snippet.textOriginal ?? snippet.textDisplay ?? ''),
    createdAt: new Date(String(snippet.publishedAt ?? '')),
    fromAccount: author === channelId,
    ...(status && status !== 'published' ? { hidden: true } : {}),
  };
}

/** A reply's id is its thread's id, a dot and its own part; replies go to the thread's top comment. */
const topLevelOf = (commentId: string) => commentId.split('.')[0] ?? commentId;

function youtubeSync(
  call: (req: PlatformRequest) => Promise<PlatformResponse>,
  host: (name: keyof typeof HOSTS) => string,
): { streams: SyncStream[]; inbox: Inbox } {
  const bearer = (tokens: TokenSet) => ({ authorization: `Bearer ${tokens.accessToken}` });
  const api = (path: string, query: Record<string, string | undefined> = {}) => url(host('api'), path, query);

  /** A daily pass (YouTube restates recent days) paged by startIndex; the cursor keeps it in a pass. */
  const accountMetrics: SyncStream = {
    name: 'account_metrics',
    async fetch(tokens, _account, cursor, ctx) {
      const pass = dailyPass(cursor, ctx);
      const startIndex = pass.resumed && typeof cursor?.startIndex === 'number' ? cursor.startIndex : 1;
      const res = await call({
        url: url(host('analytics'), '/v2/reports', {
          ids: 'channel==MINE',
          startDate: pass.from,
          endDate: pass.to,
          metrics: Object.keys(REPORT_METRICS).join(','),
          dimensions: 'day',
          sort: 'day',
          startIndex: String(startIndex),
          maxResults: String(REPORT_PAGE),
        }),
        headers: bearer(tokens),
      });
      const body = asRecord(res.body);
      const columns = list(body.columnHeaders).map((h) => String(h.name ?? ''));
      const rows = Array.isArray(body.rows) ? (body.rows as unknown[][]) : [];
      const metrics: MetricSample[] = [];
      let last = pass.last;
      for (const row of rows) {
        const day = String(row[columns.indexOf('day')] ?? '');
        if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) continue;
        last = laterDay(last, day);
        columns.forEach((name, i) => {
          const metric = REPORT_METRICS[name];
          const value = count(row[i]);
          if (metric && value !== undefined) metrics.push({ objectKind: 'account', objectId: '', metric, day, value });
        });
      }
      const more = rows.length === REPORT_PAGE;
      return { metrics, ...dailyCursor(pass, last, more ? { startIndex: startIndex + rows.length } : undefined) };
    },
  };

  const accountTotals: SyncStream = {
    name: 'account_totals',
    async fetch(tokens) {
      const res = await call({
        url: api('/youtube/v3/channels', { part: 'statistics', mine: 'true' }),
        headers: bearer(tokens),
      });
      const stats = asRecord(list(asRecord(res.body).items)[0]?.statistics);
      const metrics: MetricSample[] = [];
      const add = (metric: string, value: number | undefined) => {
        if (value !== undefined) metrics.push({ objectKind: 'account', objectId: '', metric, value });
      };
      // A hidden subscriber count is reported rounded, or not at all: not worth storing.
      if (stats.hiddenSubscriberCount !== true) add('followers', count(stats.subscriberCount));
      add('views', count(stats.viewCount));
      add('video_count', count(stats.videoCount));
      return { metrics, cursor: {}, done: true };
    },
  };

  /** Rows of an Analytics report over the audience window, by column name. */
  async function report(tokens: TokenSet, ctx: SyncContext, dimensions: string, metrics: string) {
    const endDate = dayOf(ctx.now.getTime());
    const res = await call({
      url: url(host('analytics'), '/v2/reports', {
        ids: 'channel==MINE',
        startDate: addDays(endDate, 1 - AUDIENCE_DAYS),
        endDate,
        metrics,
        dimensions,
      }),
      headers: bearer(tokens),
    });
    const body = asRecord(res.body);
    const columns = list(body.columnHeaders).map((h) => String(h.name ?? ''));
    const rows = Array.isArray(body.rows) ? (body.rows as unknown[][]) : [];
    return rows.map((row) => Object.fromEntries(columns.map((name, i) => [name, row[i]])));
  }

  /** Viewers by age group and gender (percentages only) and views by country, over the last 28 days. */
  const audience = totalsStream('audience', async (tokens, _account, ctx) => {
    const metrics: MetricSample[] = [];
    for (const row of await report(tokens, ctx, 'ageGroup,gender', 'viewerPercentage')) {
      const age = str(row.ageGroup);
      const gender = str(row.gender);
      const pct = count(row.viewerPercentage);
      // age18-24 … age65-: the buckets Instagram and Threads name 18-24 … 65+.
      const bucket = age?.replace(/^age/, '').replace(/-$/, '+');
      if (bucket && gender && pct !== undefined) {
        metrics.push(audienceSample('age_gender', `${bucket}.${gender}`, pct, 'pct'));
      }
    }
    for (const row of await report(tokens, ctx, 'country', 'views')) {
      const country = str(row.country);
      const views = count(row.views);
      if (country && views !== undefined) metrics.push(audienceSample('country', country, views));
    }
    return metrics;
  });

  /**
   * A Data API list read newest first, down to the newest item of the pass before (there is no
   * since filter); `page` is the pageToken inside a pass.
   */
  function newestFirst<T extends Mark>(
    name: string,
    list: (account: PublishAccount, pageToken: string | undefined) => string,
    items: (body: Record<string, unknown>) => T[],
    rows: (fresh: T[], account: PublishAccount) => Omit<StreamPage, 'cursor' | 'done'>,
  ): SyncStream {
    return {
      name,
      async fetch(tokens, account, cursor) {
        const res = await call({ url: list(account, str(cursor?.page)), headers: bearer(tokens) });
        const body = asRecord(res.body);
        const next = str(body.nextPageToken);
        const { fresh, ...page } = watermarkPage(cursor, items(body), byTime, next ? { page: next } : undefined);
        return { ...rows(fresh, account), ...page };
      },
    };
  }

  /** The uploads playlist. */
  const media = newestFirst(
    'media',
    (account, pageToken) =>
      api('/youtube/v3/playlistItems', {
        part: 'snippet,contentDetails',
        playlistId: uploadsPlaylist(account),
        maxResults: String(LIST_PAGE),
        pageToken,
      }),
    (body) =>
      list(body.items).map((item) => {
        const details = asRecord(item.contentDetails);
        const id = String(details.videoId ?? asRecord(asRecord(item.snippet).resourceId).videoId ?? '');
        return { id, at: Date.parse(String(details.videoPublishedAt ?? asRecord(item.snippet).publishedAt ?? '')) };
      }),
    (fresh) => ({
      media: fresh
        .filter((v) => v.id)
        .map((v) => ({
          externalId: v.id,
          publishedAt: new Date(v.at),
          mediaType: 'video',
          permalink: youtubeWatchUrl(v.id),
        })),
    }),
  );

  /** Lifetime counters of the known videos, 50 ids a call. */
  const mediaMetrics = mediaMetricsStream(STATS_BATCH, async (tokens, _account, ids) => {
    const res = await call({
      url: api('/youtube/v3/videos', { part: 'statistics', id: ids.join(',') }),
      headers: bearer(tokens),
    });
    const metrics: MetricSample[] = [];
    for (const video of list(asRecord(res.body).items)) {
      const stats = asRecord(video.statistics);
      for (const [field, metric] of Object.entries(STATISTICS)) {
        const value = count(stats[field]);
        if (typeof video.id === 'string' && value !== undefined) {
          metrics.push({ objectKind: 'media', objectId: video.id, metric, value });
        }
      }
    }
    return metrics;
  });

  /**
   * Every comment thread of the channel, by its top-level comment. Replies come inside their thread
   * (up to five; newer replies on older threads are not seen again here).
   */
  const comments = newestFirst(
    'comments',
    (account, pageToken) =>
      api('/youtube/v3/commentThreads', {
        part: 'snippet,replies',
        allThreadsRelatedToChannelId: account.externalId,
        order: 'time',
        maxResults: String(COMMENT_PAGE),
        textFormat: 'plainText',
        pageToken,
      }),
    (body) =>
      list(body.items).map((thread) => {
        const top = asRecord(asRecord(thread.snippet).topLevelComment);
        return {
          id: String(top.id ?? thread.id ?? ''),
          at: Date.parse(String(asRecord(top.snippet).publishedAt ?? '')),
          comments: [top, ...list(asRecord(thread.replies).comments)],
        };
      }),
    (fresh, account) => ({
      messages: fresh
        .flatMap((t) => t.comments)
        .map((c) => commentMessage(c, account.externalId))
        .filter((m): m is InboundMessage => !!m),
    }),
  );

  const inbox: Inbox = {
    replyKinds: ['comment'],
    moderation: ['hide', 'unhide', 'delete'],

    // comments.insert (50 units) under the thread's top-level comment.
    async reply(tokens, _account, target, replyText) {
      const res = await call({
        method: 'POST',
        url: api('/youtube/v3/comments', { part: 'snippet' }),
        headers: bearer(tokens),
        json: { snippet: { parentId: topLevelOf(target.messageExternalId), textOriginal: replyText } },
        write: true,
      });
      const id = str(asRecord(res.body).id);
      if (!id) throw new PlatformError('youtube', 'outcome_unknown', 'youtube: the reply was accepted without an id');
      return { externalId: id };
    },

    // The thread's replies (comments.list?parentId): one by the channel with this text since `since`.
    async findReply(tokens, account, target, replyText, since) {
      const floor = since.getTime() - FIND_SKEW_MS;
      let pageToken: string | undefined;
      for (let page = 0; page < FIND_PAGES; page++) {
        const res = await call({
          url: api('/youtube/v3/comments', {
            part: 'snippet',
            parentId: topLevelOf(target.messageExternalId),
            maxResults: '100',
            textFormat: 'plainText',
            pageToken,
          }),
          headers: bearer(tokens),
        });
        const body = asRecord(res.body);
        for (const comment of list(body.items)) {
          const m = commentMessage(comment, account.externalId);
          if (m?.fromAccount && m.text === replyText && m.createdAt.getTime() >= floor) {
            return { found: true, externalId: m.externalId };
          }
        }
        pageToken = str(body.nextPageToken);
        if (!pageToken) break;
      }
      return { found: false };
    },

    async moderate(tokens, _account, target, action) {
      const id = target.messageExternalId;
      if (action === 'delete') {
        try {
          await call({ method: 'DELETE', url: api('/youtube/v3/comments', { id }), headers: bearer(tokens) });
        } catch (err) {
          // Gone already (an earlier delete whose answer was lost): what was asked for holds.
          if (err instanceof PlatformError && err.status === 404) return;
          throw err;
        }
        return;
      }
      // heldForReview hides and can be undone; rejected would also hide the comment's replies.
      await call({
        method: 'POST',
        url: api('/youtube/v3/comments/setModerationStatus', {
          id,
          moderationStatus: action === 'hide' ? 'heldForReview' : 'published',
        }),
        headers: bearer(tokens),
      });
    },
  };

  return { streams: [accountMetrics, accountTotals, audience, media, mediaMetrics, comments], inbox };
}
