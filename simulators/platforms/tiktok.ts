import { randomBytes, randomUUID } from 'node:crypto';
import type { SimPost } from '../content.ts';
import {
  type Clock,
  type Grant,
  numericId,
  PlatformSim,
  type SimAccount,
  type SimJob,
  type SimReply,
  type SimRequest,
  type SimToken,
} from '../core.ts';
import { counterOf } from '../sync-content.ts';

// TikTok: Login Kit v2 (www.tiktok.com/v2/auth/authorize/, open.tiktokapis.com/v2/oauth/*) with
// rotating refresh tokens (2026 lifetimes: access 2 h, refresh 180 d), the Display API's user/info
// with its 1-minute window, and the Content Posting API (creator_info, video and photo init, chunked
// upload, status/fetch). The token endpoint answers its errors with HTTP 200.

/** Log ids look like 20260301093012 + 20 hex digits. */
const logId = (now: number) =>
  new Date(now).toISOString().replace(/\D/g, '').slice(0, 14) + randomBytes(10).toString('hex').toUpperCase();

const avatarUrl = (openId: string) =>
  `https://p16-sign.tiktokcdn-us.com/tos-useast5-avt-0068-tx/${openId}~c5_168x168.jpeg`;

/** Which scope each user/info field needs. */
const FIELD_SCOPES: Record<string, string> = {
  open_id: 'user.info.basic',
  union_id: 'user.info.basic',
  avatar_url: 'user.info.basic',
  display_name: 'user.info.basic',
  username: 'user.info.profile',
  bio_description: 'user.info.profile',
  is_verified: 'user.info.profile',
  follower_count: 'user.info.stats',
  following_count: 'user.info.stats',
  likes_count: 'user.info.stats',
  video_count: 'user.info.stats',
};

export function createTikTokSim(clock: Clock) {
  const envelope = (status: number, code: string, message: string, data: unknown = {}): SimReply => ({
    status,
    body: { data, error: { code, message, log_id: logId(clock.now()) } },
  });
  const oauthError = (error: string, description: string): SimReply => ({
    status: 200,
    body: { error, error_description: description, log_id: logId(clock.now()) },
  });

  const sim = new PlatformSim(clock, {
    id: 'tiktok',
    clientId: 'sim-tiktok-client',
    clientSecret: 'sim-tiktok-secret',
    policy: {
      accessTtlS: 7200,
      refreshTtlS: 15_552_000,
      rotate: true,
      refreshExtends: true,
      minRefreshAgeS: 0,
      codeTtlS: 600,
    },
    tokenPrefix: { access: 'act.', refresh: 'rft.' },
    // No rate-limit headers: TikTok documents none.
    throttle: () => envelope(429, 'rate_limit_exceeded', 'API rate limit exceeded, please retry later.'),
    serverError: (_sim, status) => envelope(status, 'internal_error', 'Something went wrong. Please try again later.'),
  });
  sim.limit('user_info', 600, 60_000);
  sim.limit('media_list', 600, 60_000);
  sim.limit('media_stats', 600, 60_000);
  // Video ids are int64 digits (7…, 19 long).
  sim.contentId = () => `7${numericId(18)}`;
  // TikTok counts these per access token; the simulator's windows are per app, which is the same
  // thing while a test drives one creator.
  sim.limit('creator_info', 20, 60_000);
  sim.limit('video_init', 6, 60_000);
  sim.limit('content_init', 6, 60_000);
  sim.limit('status_fetch', 30, 60_000);

  /** The presented refresh token retires; its successor keeps or renews the lifetime per policy. */
  function rotate(grant: Grant, old: SimToken): SimToken {
    if (!sim.policy.rotate) return old;
    old.retiredAt = clock.now();
    const next = sim.issue(grant, 'refresh', sim.policy.refreshTtlS);
    if (!sim.policy.refreshExtends) next.expiresAt = old.expiresAt;
    return next;
  }

  function tokenReply(grant: Grant, refresh: SimToken): SimReply {
    const access = sim.issue(grant, 'access', sim.policy.accessTtlS);
    const remaining = (t: SimToken) => (t.expiresAt === null ? null : Math.floor((t.expiresAt - clock.now()) / 1000));
    return {
      status: 200,
      body: {
        access_token: access.value,
        expires_in: remaining(access),
        open_id: grant.accountId,
        refresh_expires_in: remaining(refresh),
        refresh_token: refresh.value,
        scope: grant.scopes.join(','),
        token_type: 'Bearer',
      },
    };
  }

  sim.route('GET', '/v2/auth/authorize/', 'authorize', (req) => {
    const q = req.query;
    if (q.get('response_type') !== 'code') return { status: 400, body: { error: 'unsupported_response_type' } };
    // PKCE is optional for web apps and required for desktop and mobile ones.
    return sim.authorize({
      clientId: q.get('client_key'),
      redirectUri: q.get('redirect_uri'),
      scopes: (q.get('scope') ?? '').split(',').filter(Boolean),
      state: q.get('state'),
      challenge: q.get('code_challenge'),
      challengeMethod: q.get('code_challenge_method'),
    });
  });

  sim.route('POST', '/v2/oauth/token/', 'token', (req) => {
    const f = req.form;
    if (!sim.checkClient(f.get('client_key'), f.get('client_secret'))) {
      return oauthError('invalid_client', 'Client key or secret is incorrect.');
    }
    if (f.get('grant_type') === 'authorization_code') {
      const redeemed = sim.redeemCode(f.get('code'), {
        clientId: f.get('client_key'),
        redirectUri: f.get('redirect_uri'),
        verifier: f.get('code_verifier'),
      });
      if ('error' in redeemed) return oauthError(redeemed.error, redeemed.description);
      return tokenReply(redeemed.grant, sim.issue(redeemed.grant, 'refresh', sim.policy.refreshTtlS));
    }
    if (f.get('grant_type') === 'refresh_token') {
      const auth = sim.check(f.get('refresh_token') ?? undefined, 'refresh');
      if (!auth.ok || !auth.grant || !auth.token)
        return oauthError('invalid_grant', 'Refresh token is invalid or expired.');
      return tokenReply(auth.grant, rotate(auth.grant, auth.token));
    }
    return oauthError('unsupported_grant_type', 'The grant type is not supported.');
  });

  sim.route(
    'POST',
    '/v2/oauth/revoke/',
    'revoke',
    (req) => {
      const f = req.form;
      if (!sim.checkClient(f.get('client_key'), f.get('client_secret'))) {
        return oauthError('invalid_client', 'Client key or secret is incorrect.');
      }
      const value = f.get('token');
      const token = value ? sim.tokens.get(value) : undefined;
      const grant = token ? sim.grants.get(token.grantId) : undefined;
      // A token that is unknown or already dead is answered like a revoked one (RFC 7009).
      if (grant && grant.revokedAt === undefined) {
        sim.revokeGrant(grant.id);
        sim.recordWrite('revoke', { grantId: grant.id }, grant.accountId);
      }
      return { status: 200, body: {} };
    },
    { write: true },
  );

  sim.route('GET', '/v2/user/info/', 'user_info', (req) => {
    const auth = sim.check(req.token);
    // Expired, revoked and unknown tokens all get access_token_invalid.
    if (!auth.ok || !auth.account || !auth.grant) {
      return envelope(401, 'access_token_invalid', 'The access token is invalid or not found in the request.');
    }
    const fields = (req.query.get('fields') ?? '').split(',').filter(Boolean);
    const unknown = fields.find((f) => !FIELD_SCOPES[f]);
    if (!fields.length || unknown) return envelope(400, 'invalid_params', `Invalid fields: ${unknown ?? '(none)'}`);
    const granted = auth.grant.scopes;
    if (fields.some((f) => !granted.includes(FIELD_SCOPES[f] as string))) {
      return envelope(
        401,
        'scope_not_authorized',
        'The user did not authorize the scope required for completing this request.',
      );
    }
    const a = auth.account;
    const values: Record<string, unknown> = {
      open_id: a.id,
      union_id: a.extra?.unionId,
      avatar_url: avatarUrl(a.id),
      display_name: a.name,
      username: a.handle,
      bio_description: '',
      is_verified: false,
      // Seeded counts plus what content/bump added (TikTok's names: follower_count, …).
      follower_count: Number(a.extra?.followers ?? 0) + bumped(a.id, 'follower_count'),
      following_count: Number(a.extra?.following ?? 0) + bumped(a.id, 'following_count'),
      likes_count: Number(a.extra?.likes ?? 0) + bumped(a.id, 'likes_count'),
      video_count: Number(a.extra?.videos ?? 0) + bumped(a.id, 'video_count'),
    };
    return envelope(200, 'ok', '', { user: Object.fromEntries(fields.map((f) => [f, values[f]])) });
  });

  const bumped = (accountId: string, key: string) => sim.content.totals.get(accountId)?.[key] ?? 0;

  const publishing = contentPosting(sim, envelope);
  displayVideos(sim, envelope);

  const seed = () => {
    publishing.seed();
    sim.addAccount({
      id: `-000${randomBytes(24).toString('base64url')}`,
      name: 'Switchboard Sim',
      handle: 'switchboard.sim',
      extra: { unionId: randomUUID(), followers: '5310', following: '87', likes: '120044', videos: '64' },
    });
  };
  return { sim, seed };
}

const MIB = 1024 * 1024;
/** Chunks are 5–64 MB; a video under 5 MB goes up whole. */
const MIN_CHUNK = 5 * MIB;
const MAX_CHUNK = 64 * MIB;
const MAX_VIDEO_BYTES = 4 * 1024 * MIB;
const DAY_MS = 86_400_000;
const PRIVACY_LEVELS = ['PUBLIC_TO_EVERYONE', 'MUTUAL_FOLLOW_FRIENDS', 'SELF_ONLY'];

const record = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const isReply = (v: object): v is SimReply => 'status' in v;
const isUrl = (v: unknown) => typeof v === 'string' && /^https?:\/\/\S+$/.test(v);

/** A post from init to its outcome; its id is the publish_id. */
interface SimPublish {
  id: string;
  accountId: string;
  mediaType: 'VIDEO' | 'PHOTO';
  postMode: 'DIRECT_POST' | 'MEDIA_UPLOAD';
  source: 'FILE_UPLOAD' | 'PULL_FROM_URL';
  title: string;
  privacyLevel?: string;
  /** FILE_UPLOAD: the upload_url's state. */
  upload?: {
    id: string;
    token: string;
    videoSize: number;
    chunkSize: number;
    totalChunks: number;
    chunksReceived: number;
    received: number;
    expiresAt: number;
  };
  /** PULL_FROM_URL: what TikTok reports as downloaded once it has the media. */
  pullBytes?: number;
  /** Processing and moderation (kind `publish`, id = publish_id); starts at the commit. */
  job?: SimJob;
  /** When status/fetch first saw the post complete; the public post id shows up moderationMs later. */
  completedAt?: number;
  postId?: string;
}

/**
 * The Content Posting API. The commit is the last upload chunk (FILE_UPLOAD) or the init itself
 * (PULL_FROM_URL, photos): that is where the `publish` write is recorded and the `publish` job starts.
 */
function contentPosting(
  sim: PlatformSim,
  envelope: (status: number, code: string, message: string, data?: unknown) => SimReply,
) {
  const clock = sim.clock;
  const publishes = new Map<string, SimPublish>();
  const uploads = new Map<string, SimPublish>();
  const invalidParams = (message: string) => envelope(400, 'invalid_params', message);
  const privacyOptions = () => (sim.knobs.unaudited ? ['SELF_ONLY'] : PRIVACY_LEVELS);

  /** The caller's account, or TikTok's 401 when the token is dead or carries none of `scopes`. */
  function creator(req: SimRequest, scopes: string[]): SimAccount | SimReply {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account || !auth.grant) {
      return envelope(401, 'access_token_invalid', 'The access token is invalid or not found in the request.');
    }
    const granted = auth.grant.scopes;
    if (!scopes.some((s) => granted.includes(s))) {
      return envelope(
        401,
        'scope_not_authorized',
        'The user did not authorize the scope required for completing this request.',
      );
    }
    return auth.account;
  }

  /** Refusals of a direct post by policy: unaudited client, privacy option, daily post cap. */
  function policy(accountId: string, privacyLevel: unknown): SimReply | undefined {
    if (typeof privacyLevel !== 'string') return invalidParams('post_info.privacy_level is required.');
    if (sim.knobs.unaudited && privacyLevel !== 'SELF_ONLY') {
      return envelope(
        403,
        'unaudited_client_can_only_post_to_private_accounts',
        'Please review our integration guidelines at https://developers.tiktok.com/doc/content-sharing-guidelines/',
      );
    }
    if (!privacyOptions().includes(privacyLevel)) {
      return envelope(
        403,
        'privacy_level_option_mismatch',
        'privacy_level is not among the privacy_level_options of creator_info.',
      );
    }
    const cap = sim.knobs.spamPostsPerDay;
    if (cap !== undefined && sim.capUsage('publish', accountId, DAY_MS).used >= cap) {
      return envelope(403, 'spam_risk_too_many_posts', 'The user has reached the daily post limit for this client.');
    }
    return undefined;
  }

  const unverifiedUrl = () =>
    sim.knobs.urlOwnershipVerified === 0
      ? envelope(403, 'url_ownership_unverified', 'The domain or URL prefix of the media URL is not verified.')
      : undefined;

  /** What is wrong with FILE_UPLOAD's chunk arithmetic (media transfer guide), if anything. */
  function chunkProblem(size: unknown, chunk: unknown, count: unknown): string | undefined {
    const positive = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) > 0;
    if (!positive(size) || !positive(chunk) || !positive(count)) {
      return 'video_size, chunk_size and total_chunk_count must be positive integers.';
    }
    if (size > MAX_VIDEO_BYTES) return 'video_size is over 4 GB.';
    if (size < MIN_CHUNK) {
      return chunk === size && count === 1
        ? undefined
        : 'A video under 5 MB goes up whole: chunk_size = video_size and total_chunk_count = 1.';
    }
    if (chunk < MIN_CHUNK || chunk > MAX_CHUNK || chunk > size) {
      return 'chunk_size must be 5–64 MB and at most video_size; videos over 64 MB go up in chunks.';
    }
    const expected = Math.floor(size / chunk);
    if (count !== expected) return `total_chunk_count must be floor(video_size / chunk_size) = ${expected}.`;
    if (count > 1000) return 'At most 1000 chunks.';
    return undefined;
  }

  /** The commit: the post now exists at TikTok and will publish unless processing fails. */
  function commit(p: SimPublish): void {
    p.job = sim.startJob('publish', { publishId: p.id, source: p.source }, { id: p.id, accountId: p.accountId });
    sim.recordWrite(
      'publish',
      {
        publishId: p.id,
        mediaType: p.mediaType,
        postMode: p.postMode,
        source: p.source,
        title: p.title,
        privacyLevel: p.privacyLevel,
      },
      p.accountId,
    );
  }

  sim.route('POST', '/v2/post/publish/creator_info/query/', 'creator_info', (req) => {
    const account = creator(req, ['video.publish']);
    if (isReply(account)) return account;
    return envelope(200, 'ok', '', {
      creator_avatar_url: avatarUrl(account.id),
      creator_username: account.handle,
      creator_nickname: account.name,
      privacy_level_options: privacyOptions(),
      comment_disabled: false,
      duet_disabled: false,
      stitch_disabled: false,
      max_video_post_duration_sec: 600,
    });
  });

  sim.route('POST', '/v2/post/publish/video/init/', 'video_init', (req) => {
    const account = creator(req, ['video.publish']);
    if (isReply(account)) return account;
    const post = record(req.json?.post_info);
    const source = record(req.json?.source_info);
    const title = post.title ?? '';
    if (typeof title !== 'string' || title.length > 2200)
      return invalidParams('post_info.title must be text of at most 2200 characters.');
    const cover = post.video_cover_timestamp_ms;
    if (cover !== undefined && !(Number.isSafeInteger(cover) && (cover as number) >= 0)) {
      return invalidParams('post_info.video_cover_timestamp_ms must be a non-negative integer.');
    }
    if (source.source === 'FILE_UPLOAD') {
      const problem = chunkProblem(source.video_size, source.chunk_size, source.total_chunk_count);
      if (problem) return invalidParams(problem);
    } else if (source.source === 'PULL_FROM_URL') {
      if (!isUrl(source.video_url)) return invalidParams('source_info.video_url must be an http(s) URL.');
    } else {
      return invalidParams('source_info.source must be FILE_UPLOAD or PULL_FROM_URL.');
    }
    const refused =
      policy(account.id, post.privacy_level) ?? (source.source === 'PULL_FROM_URL' ? unverifiedUrl() : undefined);
    if (refused) return refused;

    const base = {
      accountId: account.id,
      mediaType: 'VIDEO' as const,
      postMode: 'DIRECT_POST' as const,
      title,
      privacyLevel: post.privacy_level as string,
    };
    if (source.source === 'PULL_FROM_URL') {
      const p: SimPublish = {
        ...base,
        id: `v_pub_url~v2-1.${numericId(19)}`,
        source: 'PULL_FROM_URL',
        pullBytes: MIB + Math.floor(Math.random() * 49 * MIB),
      };
      publishes.set(p.id, p);
      commit(p);
      return envelope(200, 'ok', '', { publish_id: p.id });
    }
    const upload = {
      id: numericId(19),
      token: randomBytes(16).toString('base64url'),
      videoSize: source.video_size as number,
      chunkSize: source.chunk_size as number,
      totalChunks: source.total_chunk_count as number,
      chunksReceived: 0,
      received: 0,
      expiresAt: clock.now() + (sim.knobs.uploadUrlTtlS ?? 3600) * 1000,
    };
    const p: SimPublish = { ...base, id: `v_pub_file~v2-1.${numericId(19)}`, source: 'FILE_UPLOAD', upload };
    publishes.set(p.id, p);
    uploads.set(upload.id, p);
    // open-upload.tiktokapis.com/video/ collapses onto the simulator's /tiktok prefix.
    const uploadUrl = `http://${req.headers.host}/${sim.id}/video/?upload_id=${upload.id}&upload_token=${upload.token}`;
    return envelope(200, 'ok', '', { publish_id: p.id, upload_url: uploadUrl });
  });

  sim.route('POST', '/v2/post/publish/content/init/', 'content_init', (req) => {
    const body = req.json ?? {};
    const direct = body.post_mode !== 'MEDIA_UPLOAD';
    const account = creator(req, direct ? ['video.publish'] : ['video.upload', 'video.publish']);
    if (isReply(account)) return account;
    if (body.media_type !== 'PHOTO') return invalidParams('media_type must be PHOTO.');
    if (body.post_mode !== 'DIRECT_POST' && body.post_mode !== 'MEDIA_UPLOAD') {
      return invalidParams('post_mode must be DIRECT_POST or MEDIA_UPLOAD.');
    }
    const post = record(body.post_info);
    const source = record(body.source_info);
    const title = post.title ?? '';
    if (typeof title !== 'string' || title.length > 90)
      return invalidParams('post_info.title must be text of at most 90 characters.');
    const description = post.description ?? '';
    if (typeof description !== 'string' || description.length > 4000) {
      return invalidParams('post_info.description must be text of at most 4000 characters.');
    }
    if (source.source !== 'PULL_FROM_URL') return invalidParams('Photos are posted with source PULL_FROM_URL.');
    const images = source.photo_images;
    if (!Array.isArray(images) || images.length < 1 || images.length > 35 || !images.every(isUrl)) {
      return invalidParams('source_info.photo_images must hold 1 to 35 http(s) URLs.');
    }
    const cover = source.photo_cover_index;
    if (!Number.isSafeInteger(cover) || (cover as number) < 0 || (cover as number) >= images.length) {
      return invalidParams('source_info.photo_cover_index must index photo_images.');
    }
    const refused = (direct ? policy(account.id, post.privacy_level) : undefined) ?? unverifiedUrl();
    if (refused) return refused;
    const p: SimPublish = {
      id: `p_pub_url~v2-1.${numericId(19)}`,
      accountId: account.id,
      mediaType: 'PHOTO',
      postMode: direct ? 'DIRECT_POST' : 'MEDIA_UPLOAD',
      source: 'PULL_FROM_URL',
      title,
      privacyLevel: direct ? (post.privacy_level as string) : undefined,
      pullBytes: images.length * (200_000 + Math.floor(Math.random() * 800_000)),
    };
    publishes.set(p.id, p);
    commit(p);
    return envelope(200, 'ok', '', { publish_id: p.id });
  });

  // The upload answers are bare 206/201; its error bodies follow the API envelope (shape unverified).
  sim.route(
    'PUT',
    '/video/',
    'upload',
    (req) => {
      const p = uploads.get(req.query.get('upload_id') ?? '');
      const up = p?.upload;
      if (!p || !up || req.query.get('upload_token') !== up.token) {
        return envelope(404, 'invalid_file_upload', 'The upload_id or upload_token is invalid.');
      }
      // Done already: a retried last chunk learns that, and nothing is posted twice.
      if (p.job) return { status: 201 };
      if (up.expiresAt <= clock.now()) return envelope(404, 'invalid_file_upload', 'The upload_url has expired.');
      const type = String(req.headers['content-type'] ?? '');
      if (!/^video\/(mp4|quicktime|webm)/.test(type)) {
        return envelope(400, 'invalid_file_upload', 'Content-Type must be video/mp4, video/quicktime or video/webm.');
      }
      const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(req.headers['content-range'] ?? '').trim());
      if (!range) return envelope(400, 'invalid_file_upload', 'Content-Range must be bytes first-last/total.');
      const [first, last, total] = [Number(range[1]), Number(range[2]), Number(range[3])];
      const index = up.chunksReceived;
      const wantFirst = index * up.chunkSize;
      // The last chunk takes the trailing bytes.
      const wantLast = index === up.totalChunks - 1 ? up.videoSize - 1 : wantFirst + up.chunkSize - 1;
      if (total !== up.videoSize || first !== wantFirst || last !== wantLast) {
        return envelope(
          400,
          'invalid_file_upload',
          `Chunks go up in order: expected bytes ${wantFirst}-${wantLast}/${up.videoSize}.`,
        );
      }
      if (req.bytes.length !== last - first + 1) {
        return envelope(400, 'invalid_file_upload', 'The body length does not match Content-Range.');
      }
      up.chunksReceived++;
      up.received = last + 1;
      if (up.received < up.videoSize) return { status: 206 };
      commit(p);
      return { status: 201 };
    },
    { write: true },
  );

  sim.route('POST', '/v2/post/publish/status/fetch/', 'status_fetch', (req) => {
    const account = creator(req, ['video.publish', 'video.upload']);
    if (isReply(account)) return account;
    const id = req.json?.publish_id;
    const p = typeof id === 'string' ? publishes.get(id) : undefined;
    if (!p || p.accountId !== account.id) return invalidParams('publish_id is invalid.');
    const file = p.source === 'FILE_UPLOAD';
    const phase = p.job ? sim.jobPhase(p.job, { poll: true }) : 'pending';
    const data: Record<string, unknown> = {};
    if (phase === 'failed') {
      data.status = 'FAILED';
      data.fail_reason = p.job?.failure;
    } else if (phase === 'ready') {
      data.status = p.postMode === 'MEDIA_UPLOAD' ? 'SEND_TO_USER_INBOX' : 'PUBLISH_COMPLETE';
      p.completedAt ??= clock.now();
      // Moderation hands out the public post id later (usually under a minute, sometimes hours).
      if (p.postMode === 'DIRECT_POST' && clock.now() - p.completedAt >= (sim.knobs.moderationMs ?? 0)) {
        if (!p.postId) {
          p.postId = `7${numericId(18)}`;
          // Public now: video/list and video/query show it, with counters from zero.
          sim.content.posts.unshift({
            id: p.postId,
            accountId: p.accountId,
            createdAt: clock.now(),
            text: p.title,
            mediaType: p.mediaType,
            counters: {},
          });
        }
      }
    } else {
      data.status = file ? 'PROCESSING_UPLOAD' : 'PROCESSING_DOWNLOAD';
    }
    data.publicaly_available_post_id = p.postId ? [p.postId] : [];
    if (file) data.uploaded_bytes = p.upload?.received ?? 0;
    else data.downloaded_bytes = p.job && phase !== 'pending' ? p.pullBytes : 0;
    const reply = envelope(200, 'ok', '', data);
    // The post ids are int64 JSON numbers, past what a JS number holds exactly: send them bare, as
    // TikTok does, so an adapter that JSON.parses them finds out.
    const text = JSON.stringify(reply.body).replace(
      /"publicaly_available_post_id":\[[^\]]*\]/,
      `"publicaly_available_post_id":[${p.postId ?? ''}]`,
    );
    return { status: 200, body: text, headers: { 'content-type': 'application/json; charset=UTF-8' } };
  });

  return {
    seed() {
      publishes.clear();
      uploads.clear();
      Object.assign(sim.knobs, {
        unaudited: 0,
        // Reported as about 15 posts a day per creator (unverified).
        spamPostsPerDay: 15,
        urlOwnershipVerified: 1,
        uploadUrlTtlS: 3600,
        publishMs: 0,
        publishPolls: 0,
        moderationMs: 0,
      });
    },
  };
}

/** Fields video/list and video/query can return. */
const VIDEO_FIELDS = new Set([
  'id',
  'create_time',
  'cover_image_url',
  'share_url',
  'video_description',
  'duration',
  'height',
  'width',
  'title',
  'embed_html',
  'embed_link',
  'like_count',
  'comment_count',
  'share_count',
  'view_count',
]);

/**
 * The Display API's videos: video/list (newest first; the cursor is a create time in ms, and the
 * answer's cursor is the create time of its last video) and video/query (up to 20 ids), both with
 * lifetime counters. Backed by sim.content; errors in TikTok's envelope.
 */
function displayVideos(
  sim: PlatformSim,
  envelope: (status: number, code: string, message: string, data?: unknown) => SimReply,
) {
  const invalidParams = (message: string) => envelope(400, 'invalid_params', message);

  function reader(req: SimRequest): SimAccount | SimReply {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account || !auth.grant) {
      return envelope(401, 'access_token_invalid', 'The access token is invalid or not found in the request.');
    }
    if (!auth.grant.scopes.includes('video.list')) {
      return envelope(
        401,
        'scope_not_authorized',
        'The user did not authorize the scope required for completing this request.',
      );
    }
    return auth.account;
  }

  function fieldsOf(req: SimRequest): string[] | SimReply {
    const fields = (req.query.get('fields') ?? '').split(',').filter(Boolean);
    const unknown = fields.find((f) => !VIDEO_FIELDS.has(f));
    if (!fields.length || unknown) return invalidParams(`Invalid fields: ${unknown ?? '(none)'}`);
    return fields;
  }

  function view(p: SimPost, account: SimAccount, fields: string[]) {
    const values: Record<string, unknown> = {
      id: p.id,
      create_time: Math.floor(p.createdAt / 1000),
      cover_image_url: `https://p16-sign.tiktokcdn-us.com/obj/tos-useast5-p-0068-tx/${p.id}~tplv-noop.image`,
      share_url: `https://www.tiktok.com/@${account.handle}/video/${p.id}`,
      video_description: p.text,
      duration: 15 + (Number(p.id.slice(-2)) % 45),
      height: 1920,
      width: 1080,
      title: p.text,
      embed_html: `<blockquote class="tiktok-embed" data-video-id="${p.id}"></blockquote>`,
      embed_link: `https://www.tiktok.com/player/v1/${p.id}`,
      like_count: counterOf(p.counters, 'like_count', 'likes'),
      comment_count: counterOf(p.counters, 'comment_count', 'comments'),
      share_count: counterOf(p.counters, 'share_count', 'shares'),
      view_count: counterOf(p.counters, 'view_count', 'views'),
    };
    return Object.fromEntries(fields.map((f) => [f, values[f]]));
  }

  sim.route('POST', '/v2/video/list/', 'media_list', (req) => {
    const account = reader(req);
    if ('status' in account) return account;
    const fields = fieldsOf(req);
    if (!Array.isArray(fields)) return fields;
    const body = req.json ?? {};
    const max = body.max_count ?? 10;
    if (!Number.isInteger(max) || (max as number) < 1 || (max as number) > 20) {
      return invalidParams('max_count must be an integer from 1 to 20.');
    }
    const cursor = body.cursor;
    if (cursor !== undefined && !(Number.isSafeInteger(cursor) && (cursor as number) >= 0)) {
      return invalidParams('cursor must be a UTC Unix timestamp in milliseconds.');
    }
    const older = sim.content
      .postsOf(account.id)
      .filter((p) => cursor === undefined || cursor === 0 || p.createdAt < (cursor as number));
    const page = older.slice(0, max as number);
    const last = page.at(-1);
    // The next cursor is the create time (ms) of the last video shown; ids are strings here.
    return envelope(200, 'ok', '', {
      videos: page.map((p) => view(p, account, fields)),
      cursor: last ? last.createdAt : (cursor ?? 0),
      has_more: older.length > page.length,
    });
  });

  sim.route('POST', '/v2/video/query/', 'media_stats', (req) => {
    const account = reader(req);
    if ('status' in account) return account;
    const fields = fieldsOf(req);
    if (!Array.isArray(fields)) return fields;
    const ids = (req.json?.filters as { video_ids?: unknown } | undefined)?.video_ids;
    if (!Array.isArray(ids) || !ids.length || ids.length > 20 || ids.some((id) => typeof id !== 'string')) {
      return invalidParams('filters.video_ids must hold 1 to 20 video ids.');
    }
    // Ids that are not the creator's own (or are gone) are left out.
    const videos = (ids as string[])
      .map((id) => sim.content.post(id))
      .filter((p): p is SimPost => !!p && p.accountId === account.id)
      .map((p) => view(p, account, fields));
    return envelope(200, 'ok', '', { videos });
  });
}
