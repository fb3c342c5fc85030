import { createHmac } from 'node:crypto';
import { DUPLICATE_CODE, PlatformError } from './errors.ts';
import {
  asRecord,
  type Classifier,
  callPlatform,
  oauthError,
  oauthTokens,
  type PlatformResponse,
  retryAfter,
  url,
} from './http.ts';
import { fetchMedia } from './media.ts';
import { compact, FIND_PAGES, mediaMetricsStream, type Order, sameSecret, str, watermarkPage } from './sync.ts';
import type {
  AdapterConfig,
  InboundMessage,
  Inbox,
  MediaRef,
  MetricSample,
  PlatformAdapter,
  PublishAccount,
  PublishContent,
  PublishedPost,
  Publisher,
  PublishHandle,
  StreamPage,
  SyncedMedia,
  SyncStream,
  TokenSet,
  Verdict,
  WebhookEvent,
  Webhooks,
} from './types.ts';

// X: OAuth 2 with mandatory PKCE, single-use (rotating) refresh tokens, and the API v2.
const HOSTS = {
  web: 'https://x.com',
  api: 'https://api.x.com',
};
/**
 * Read, publish, and the inbox: DMs (the dms stream and DM replies) and hiding replies. Connections
 * made before the inbox lack the last three and must reconnect for DMs; their other streams still work.
 */
const SCOPES = [
  'tweet.read',
  'users.read',
  'tweet.write',
  'media.write',
  'dm.read',
  'dm.write',
  'tweet.moderate.write',
  'offline.access',
];

/**
 * X reports a dead grant (a reused or revoked refresh token, a spent code, a wrong PKCE verifier) as
 * invalid_request "Value passed for the … was invalid." rather than RFC 6749's invalid_grant.
 */
const DEAD_GRANT = /^Value passed for the /;

/**
 * x-rate-limit-reset is epoch seconds in X's clock. POST /2/tweets also carries 24-hour user and app
 * windows; when one of those is spent, its reset (the later one) is the wait that matters.
 */
function untilReset(res: PlatformResponse): number | undefined {
  const at = (prefix: string) => Number(res.headers.get(`${prefix}-reset`));
  const daily = ['x-user-limit-24hour', 'x-app-limit-24hour']
    .filter((prefix) => res.headers.get(`${prefix}-remaining`) === '0' && at(prefix) > 0)
    .map(at);
  const reset = daily.length ? Math.max(...daily) : at('x-rate-limit');
  return reset > 0 ? Math.max(0, reset * 1000 - res.serverNowMs) : retryAfter(res);
}

/** X's refusal of a repeated text: the v2 problem's detail, or the v1.1 code 187 some answers still carry. */
function isDuplicate(body: Record<string, unknown>): boolean {
  if (/duplicate content/i.test(String(body.detail ?? ''))) return true;
  const errors = Array.isArray(body.errors) ? body.errors : [];
  return errors.some((e) => asRecord(e).code === 187);
}

/** OAuth errors and the v2 problem form: {title, type, status, detail}. */
export function xError(res: PlatformResponse): PlatformError | undefined {
  const body = asRecord(res.body);
  if (body.error === 'invalid_request' && DEAD_GRANT.test(String(body.error_description ?? ''))) {
    return new PlatformError('x', 'token_revoked', `x: invalid_request (${String(body.error_description)})`, {
      status: res.status,
      code: 'invalid_request',
    });
  }
  const oauth = oauthError('x', res);
  if (oauth || res.status < 400) return oauth;
  const title = String(body.title ?? res.status);
  const message = `x: ${title}${body.detail ? ` (${String(body.detail)})` : ''}`;
  const opts = { status: res.status, code: title };
  // No idempotency key at X: the same text again is refused, which after a lost answer is proof it landed.
  if (res.status === 403 && isDuplicate(body)) {
    return new PlatformError('x', 'permanent', message, { status: res.status, code: DUPLICATE_CODE });
  }
  // The monthly usage cap is a 429 too; it carries no reset, so the wait stays unknown.
  if (res.status === 429 || String(body.type ?? '').endsWith('/usage-capped')) {
    return new PlatformError('x', 'rate_limited', message, { ...opts, retryAfterMs: untilReset(res) });
  }
  // Expired and revoked access tokens look alike here; the refresh that follows tells them apart.
  if (res.status === 401) return new PlatformError('x', 'token_expired', message, opts);
  if (res.status >= 500) return new PlatformError('x', 'transient', message, opts);
  return new PlatformError('x', 'permanent', message, opts);
}

export function createXAdapter(cfg: AdapterConfig): PlatformAdapter {
  const host = (name: keyof typeof HOSTS) => cfg.baseUrl || HOSTS[name];
  const classify: Classifier = (res) => xError(res);
  const call = (req: Parameters<typeof callPlatform>[2]) => callPlatform('x', cfg.timeoutMs, req, classify);
  // A confidential client authenticates with HTTP Basic; a public client names itself in the form.
  const client: { headers: Record<string, string>; form: Record<string, string> } = cfg.clientSecret
    ? {
        headers: { authorization: `Basic ${Buffer.from(`${cfg.clientId}:${cfg.clientSecret}`).toString('base64')}` },
        form: {},
      }
    : { headers: {}, form: { client_id: cfg.clientId } };

  return {
    platform: 'x',
    displayName: 'X',
    pkce: true,
    refreshRule: 'rotating',
    minRefreshAgeMs: 0,
    scopes: SCOPES,
    simulated: Boolean(cfg.baseUrl),
    ...createXSync(cfg, call, () => host('api')),

    authorizeUrl({ state, redirectUri, codeChallenge }) {
      return url(host('web'), '/i/oauth2/authorize', {
        response_type: 'code',
        client_id: cfg.clientId,
        redirect_uri: redirectUri,
        scope: SCOPES.join(' '),
        state,
        code_challenge: codeChallenge,
        code_challenge_method: codeChallenge ? 'S256' : undefined,
      });
    },

    async exchangeCode({ code, redirectUri, codeVerifier }) {
      const res = await call({
        method: 'POST',
        url: url(host('api'), '/2/oauth2/token'),
        headers: client.headers,
        form: {
          ...client.form,
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirectUri,
          code_verifier: codeVerifier,
        },
      });
      return oauthTokens('x', res);
    },

    async refresh(tokens) {
      if (!tokens.refreshToken) throw new PlatformError('x', 'token_revoked', 'x: no refresh token stored');
      const res = await call({
        method: 'POST',
        url: url(host('api'), '/2/oauth2/token'),
        headers: client.headers,
        form: { ...client.form, grant_type: 'refresh_token', refresh_token: tokens.refreshToken },
      });
      // Rotating: the answer carries the only refresh token that works from now on.
      return oauthTokens('x', res);
    },

    async profile(tokens: TokenSet) {
      const res = await call({
        url: url(host('api'), '/2/users/me', { 'user.fields': 'id,name,username,profile_image_url,public_metrics' }),
        headers: { authorization: `Bearer ${tokens.accessToken}` },
      });
      const user = asRecord(asRecord(res.body).data);
      if (!user.id) throw new PlatformError('x', 'permanent', 'x: users/me returned no user');
      return {
        externalId: String(user.id),
        displayName: String(user.name ?? user.username ?? user.id),
        handle: typeof user.username === 'string' ? `@${user.username}` : undefined,
      };
    },

    publisher: createXPublisher(cfg, call, () => host('api')),

    async revoke(tokens) {
      // Revoking the refresh token ends the grant; X answers 200 for tokens that are already dead.
      const res = await call({
        method: 'POST',
        url: url(host('api'), '/2/oauth2/revoke'),
        headers: client.headers,
        form: {
          ...client.form,
          token: tokens.refreshToken ?? tokens.accessToken,
          token_type_hint: tokens.refreshToken ? 'refresh_token' : 'access_token',
        },
      });
      return { outcome: 'revoked', status: res.status };
    },
  };
}

// Publishing: media are uploaded first (prepare; media ids live 24 h and nothing is public), videos
// and GIFs process (check), then one POST /2/tweets publishes (commit). X has no idempotency key: after
// a lost answer the user timeline is the truth signal (verify), and repeating the text is refused as
// duplicate content.

export const X_REPLY_SETTINGS = ['following', 'mentionedUsers', 'subscribers', 'verified'] as const;
const MAX_IMAGES = 4;
/** Chunks of the chunked upload (X takes up to 5 MB a segment). */
const SEGMENT_BYTES = 4 * 1024 * 1024;
/** How far before `since` (our clock) verify looks, for the difference between our clock and X's. */
export const X_VERIFY_SKEW_MS = 2 * 60_000;
/** Timeline pages verify reads at most (100 posts each). */
const VERIFY_PAGES = 5;
/** A media id this close to its expiry is not worth committing with: prepare again. */
const MEDIA_EXPIRY_MARGIN_MS = 5 * 60_000;
const DEFAULT_CHECK_MS = 1_000;

export const xPermalink = (id: string) => `https://x.com/i/web/status/${id}`;

/**
 * The prepared work: media ids in post order, their media keys (what the timeline shows of a post's
 * media, when X names them), the ids whose processing check waits for (videos and GIFs), and when
 * the first of them expires in X's clock (epoch ms). Text-only posts: `{}`.
 */
export interface XHandle {
  mediaIds?: string[];
  mediaKeys?: string[];
  processing?: string[];
  mediaExpiresAt?: number;
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

function readHandle(handle: PublishHandle) {
  return {
    mediaIds: strings(handle.mediaIds),
    mediaKeys: strings(handle.mediaKeys),
    processing: strings(handle.processing),
    mediaExpiresAt: typeof handle.mediaExpiresAt === 'number' ? handle.mediaExpiresAt : undefined,
  };
}

type Category = 'tweet_image' | 'tweet_gif' | 'tweet_video';
const categoryOf = (ref: MediaRef): Category =>
  ref.kind === 'video' ? 'tweet_video' : ref.mimeType === 'image/gif' ? 'tweet_gif' : 'tweet_image';

/** Up to 4 images, or one video or GIF; X takes no documents. */
function checkMedia(media: MediaRef[]): void {
  const refuse = (why: string) => new PlatformError('x', 'permanent', `x: ${why}`);
  if (media.some((m) => m.kind === 'document')) throw refuse('posts cannot carry documents');
  const moving = media.filter((m) => categoryOf(m) !== 'tweet_image');
  if (moving.length && media.length > 1) throw refuse('a post takes one video or GIF, alone');
  if (media.length > MAX_IMAGES) throw refuse(`a post takes at most ${MAX_IMAGES} images`);
}

function replySettings(options: Record<string, unknown>): string | undefined {
  const value = options.replySettings;
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string' && (X_REPLY_SETTINGS as readonly string[]).includes(value)) return value;
  throw new PlatformError('x', 'permanent', `x: replySettings must be one of ${X_REPLY_SETTINGS.join(', ')}`);
}

/**
 * What X's timeline shows of a text: links become t.co links (and media add one), &, < and > come
 * back as entities. Compared without links, entities or runs of whitespace.
 */
export function comparableText(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/https?:\/\/\S+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .normalize('NFC');
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));

/** ISO 8601 to the second, the form X's start_time takes. */
const xTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function createXPublisher(
  cfg: AdapterConfig,
  call: (req: Parameters<typeof callPlatform>[2]) => Promise<PlatformResponse>,
  api: () => string,
): Publisher {
  const bearer = (tokens: TokenSet) => ({ authorization: `Bearer ${tokens.accessToken}` });

  interface Uploaded {
    id: string;
    key: string | undefined;
    /** X's clock, epoch ms. */
    expiresAt: number | undefined;
    processing: boolean;
  }

  function uploaded(res: PlatformResponse, processing: boolean): Uploaded {
    const data = asRecord(asRecord(res.body).data);
    const id = String(data.id ?? '');
    if (!/^\d+$/.test(id)) throw new PlatformError('x', 'permanent', 'x: media upload answered no media id');
    const ttl = Number(data.expires_after_secs);
    return {
      id,
      key: typeof data.media_key === 'string' ? data.media_key : undefined,
      expiresAt: ttl > 0 ? res.serverNowMs + ttl * 1000 : undefined,
      processing,
    };
  }

  /** Images: one request with the bytes as base64. */
  async function uploadImage(tokens: TokenSet, ref: MediaRef, bytes: Buffer): Promise<Uploaded> {
    const res = await call({
      method: 'POST',
      url: url(api(), '/2/media/upload'),
      headers: bearer(tokens),
      json: { media: bytes.toString('base64'), media_category: 'tweet_image', media_type: ref.mimeType },
    });
    return uploaded(res, false);
  }

  /** Videos and GIFs: initialize, append the segments, finalize; processing follows. */
  async function uploadChunked(tokens: TokenSet, ref: MediaRef, bytes: Buffer, category: Category): Promise<Uploaded> {
    const init = await call({
      method: 'POST',
      url: url(api(), '/2/media/upload/initialize'),
      headers: bearer(tokens),
      json: { media_type: ref.mimeType, total_bytes: bytes.length, media_category: category },
    });
    const media = uploaded(init, true);
    for (let index = 0, at = 0; at < bytes.length; index++, at += SEGMENT_BYTES) {
      await call({
        method: 'POST',
        url: url(api(), `/2/media/upload/${media.id}/append`),
        headers: bearer(tokens),
        json: { segment_index: index, media: bytes.subarray(at, at + SEGMENT_BYTES).toString('base64') },
      });
    }
    const finalized = await call({
      method: 'POST',
      url: url(api(), `/2/media/upload/${media.id}/finalize`),
      headers: bearer(tokens),
    });
    const info = asRecord(asRecord(asRecord(finalized.body).data).processing_info);
    // Without processing_info (or already succeeded) the media can be posted at once.
    return { ...media, processing: info.state !== undefined && info.state !== 'succeeded' };
  }

  /** The user's posts (from `sinceMs` on, when given), newest first, page by page, until one matches. */
  async function findOnTimeline(
    tokens: TokenSet,
    account: PublishAccount,
    match: (tweet: Record<string, unknown>) => boolean,
    sinceMs: number | undefined,
  ): Promise<{ found?: PublishedPost; serverNowMs: number }> {
    let paginationToken: string | undefined;
    let serverNowMs = Date.now();
    for (let page = 0; page < VERIFY_PAGES; page++) {
      const res = await call({
        url: url(api(), `/2/users/${encodeURIComponent(account.externalId)}/tweets`, {
          max_results: '100',
          start_time: sinceMs === undefined ? undefined : xTime(sinceMs),
          'tweet.fields': 'created_at,attachments',
          pagination_token: paginationToken,
        }),
        headers: bearer(tokens),
      });
      serverNowMs = res.serverNowMs;
      const body = asRecord(res.body);
      const tweets = Array.isArray(body.data) ? body.data.map(asRecord) : [];
      for (const tweet of tweets) {
        const createdAt = Date.parse(String(tweet.created_at ?? ''));
        if (sinceMs !== undefined && !Number.isNaN(createdAt) && createdAt < sinceMs) continue;
        if (typeof tweet.id === 'string' && match(tweet)) {
          return { found: { postId: tweet.id, permalink: xPermalink(tweet.id) }, serverNowMs };
        }
      }
      const next = asRecord(body.meta).next_token;
      if (typeof next !== 'string' || !next) break;
      paginationToken = next;
    }
    return { serverNowMs };
  }

  /**
   * X's duplicate refusal does not name the post it matched. The recent timeline does: a post with
   * this text and this upload's media is the one an earlier, unanswered commit made, and becomes the
   * refusal's existingId. Without a match (or when the look fails) the refusal goes on as it came.
   */
  async function namingDuplicate(
    err: unknown,
    tokens: TokenSet,
    account: PublishAccount,
    content: PublishContent,
    handle: PublishHandle,
  ): Promise<unknown> {
    if (!(err instanceof PlatformError) || err.code !== DUPLICATE_CODE) return err;
    let found: PublishedPost | undefined;
    try {
      ({ found } = await findOnTimeline(tokens, account, isThis(content, handle), undefined));
    } catch {
      return err;
    }
    if (!found) return err;
    return new PlatformError('x', 'permanent', `${err.message}; it is ${found.postId}`, {
      status: err.status,
      code: DUPLICATE_CODE,
      existingId: found.postId,
    });
  }

  /** A timeline post is this content as prepared: the same text, and this upload's media. */
  function isThis(content: PublishContent, handle: PublishHandle) {
    const { mediaIds, mediaKeys } = readHandle(handle);
    const text = comparableText(content.caption);
    return (tweet: Record<string, unknown>) => {
      const keys = strings(asRecord(tweet.attachments).media_keys);
      // Media keys are unique to an upload; without all of them, the number of media must agree.
      const media = mediaKeys.length === mediaIds.length ? sameSet(keys, mediaKeys) : keys.length === mediaIds.length;
      return media && comparableText(String(tweet.text ?? '')) === text;
    };
  }

  return {
    textNeedsPrepare: false,
    async prepare(tokens, _account, content) {
      checkMedia(content.media);
      if (!content.media.length) return {};
      const media: Uploaded[] = [];
      for (const ref of content.media) {
        const bytes = await fetchMedia('x', ref, cfg);
        const category = categoryOf(ref);
        media.push(
          category === 'tweet_image'
            ? await uploadImage(tokens, ref, bytes)
            : await uploadChunked(tokens, ref, bytes, category),
        );
      }
      const expiries = media.map((m) => m.expiresAt).filter((at): at is number => at !== undefined);
      const handle: XHandle = {
        mediaIds: media.map((m) => m.id),
        mediaKeys: media.map((m) => m.key).filter((key): key is string => key !== undefined),
        processing: media.filter((m) => m.processing).map((m) => m.id),
        ...(expiries.length ? { mediaExpiresAt: Math.min(...expiries) } : {}),
      };
      return { ...handle };
    },

    async check(tokens, _account, handle) {
      let waitMs = 0;
      for (const id of readHandle(handle).processing) {
        const res = await call({
          url: url(api(), '/2/media/upload', { command: 'STATUS', media_id: id }),
          headers: bearer(tokens),
        });
        const info = asRecord(asRecord(asRecord(res.body).data).processing_info);
        if (info.state === 'failed') {
          const error = asRecord(info.error);
          const why = String(error.message ?? error.name ?? 'processing failed');
          return { state: 'failed', reason: `x: media ${id} failed processing: ${why}` };
        }
        if (info.state === 'pending' || info.state === 'in_progress') {
          const after = Number(info.check_after_secs);
          waitMs = Math.max(waitMs, after > 0 ? after * 1000 : DEFAULT_CHECK_MS);
        }
      }
      return waitMs ? { state: 'pending', checkAfterMs: waitMs } : { state: 'ready' };
    },

    async commit(tokens, account, content, handle) {
      const { mediaIds } = readHandle(handle);
      const settings = replySettings(content.options);
      const body: Record<string, unknown> = {
        ...(content.caption ? { text: content.caption } : {}),
        ...(mediaIds.length ? { media: { media_ids: mediaIds } } : {}),
        ...(settings ? { reply_settings: settings } : {}),
      };
      let res: PlatformResponse;
      try {
        res = await call({
          method: 'POST',
          url: url(api(), '/2/tweets'),
          headers: bearer(tokens),
          json: body,
          write: true,
        });
      } catch (err) {
        throw await namingDuplicate(err, tokens, account, content, handle);
      }
      const id = asRecord(asRecord(res.body).data).id;
      // Accepted but unnamed: it landed, and only the timeline can say as what.
      if (typeof id !== 'string' || !id) {
        throw new PlatformError('x', 'outcome_unknown', 'x: the post was accepted without an id', {
          status: res.status,
        });
      }
      return { done: true, post: { postId: id, permalink: xPermalink(id) } };
    },

    async verify(tokens, account, content, handle, since): Promise<Verdict> {
      const { mediaIds, mediaExpiresAt } = readHandle(handle);
      const { found, serverNowMs } = await findOnTimeline(
        tokens,
        account,
        isThis(content, handle),
        since.getTime() - X_VERIFY_SKEW_MS,
      );
      if (found) return { landed: true, post: found };
      // Media ids expire (24 h); past that the upload must be done again. Both times are X's clock.
      const expired =
        mediaIds.length > 0 && mediaExpiresAt !== undefined && mediaExpiresAt - MEDIA_EXPIRY_MARGIN_MS <= serverNowMs;
      return { landed: false, handleUsable: !expired };
    },

    // A post is public once POST /2/tweets answers, so commit is always done and settle is never
    // needed. It answers from the handle when that names the post, and otherwise says it is not used.
    async settle(_tokens, _account, handle) {
      const postId = handle.postId;
      if (typeof postId === 'string' && postId) {
        return { state: 'ready', post: { postId, permalink: xPermalink(postId) } };
      }
      return { state: 'failed', reason: 'x: settle is not used; commit publishes at once' };
    },

    // X has no publish cap to read ahead; its windows come back as rate_limited with x-rate-limit-reset.
    async capacity() {
      return { waitMs: 0 };
    },
  };
}

// Sync: the account's totals (users/me), its posts (the user timeline, since_id), their counters
// (tweets lookup, 100 ids a call), mentions (since_id) and DMs (dm_events, newest first, down to the
// newest event of the pass before). X bills reads per resource, so each pass reads only what is new.

const PAGE = '100';
const METRICS_BATCH = 100;

/** X's public_metrics under the shared metric names. */
const PUBLIC_METRICS: Record<string, string> = {
  impression_count: 'impressions',
  like_count: 'likes',
  reply_count: 'replies',
  retweet_count: 'reposts',
  quote_count: 'quotes',
  bookmark_count: 'bookmarks',
};

/** DM events are snowflakes: a larger id is a later event, so the watermark is the newest id. */
const bySnowflake: Order<Record<string, unknown>, string> = {
  read: str,
  of: (event) => str(event.id),
  reached: (event, mark) => /^\d+$/.test(String(event.id)) && BigInt(String(event.id)) <= BigInt(mark),
};

function postMetrics(tweet: Record<string, unknown>): MetricSample[] {
  const counts = asRecord(tweet.public_metrics);
  const id = str(tweet.id);
  if (!id) return [];
  return Object.entries(PUBLIC_METRICS)
    .filter(([field]) => typeof counts[field] === 'number')
    .map(([field, metric]) => ({ objectKind: 'media', objectId: id, metric, value: counts[field] as number }));
}

/** Photo, video and GIF media keys start 3_, 7_/13_ and 16_. */
function mediaTypeOf(tweet: Record<string, unknown>): string {
  const [key] = strings(asRecord(tweet.attachments).media_keys);
  if (!key) return 'text';
  if (key.startsWith('16_')) return 'animated_gif';
  return key.startsWith('3_') ? 'photo' : 'video';
}

const userNames = (body: Record<string, unknown>) => {
  const users = Array.isArray(asRecord(body.includes).users) ? (asRecord(body.includes).users as unknown[]) : [];
  return new Map(users.map(asRecord).map((u) => [String(u.id), str(u.name) ?? str(u.username)]));
};

/** A mention, or a reply in one of the account's conversations (a comment on its post). */
function tweetMessage(
  tweet: Record<string, unknown>,
  accountId: string,
  names: Map<string, string | undefined>,
): InboundMessage | undefined {
  const id = str(tweet.id);
  if (!id) return undefined;
  const refs = Array.isArray(tweet.referenced_tweets) ? tweet.referenced_tweets.map(asRecord) : [];
  const parent = str(refs.find((r) => r.type === 'replied_to')?.id);
  const author = String(tweet.author_id ?? '');
  return {
    externalId: id,
    threadKind: parent && tweet.in_reply_to_user_id === accountId ? 'comment' : 'mention',
    threadExternalId: str(tweet.conversation_id) ?? id,
    ...(parent ? { parentExternalId: parent } : {}),
    authorExternalId: author,
    ...(names.get(author) ? { authorName: names.get(author) } : {}),
    text: String(tweet.text ?? ''),
    createdAt: new Date(String(tweet.created_at ?? '')),
    fromAccount: author === accountId,
  };
}

function dmMessage(
  event: Record<string, unknown>,
  accountId: string,
  names: Map<string, string | undefined>,
): InboundMessage | undefined {
  const id = str(event.id);
  if (!id) return undefined;
  const sender = String(event.sender_id ?? '');
  const keys = strings(asRecord(event.attachments).media_keys);
  return {
    externalId: id,
    threadKind: 'dm',
    threadExternalId: str(event.dm_conversation_id) ?? sender,
    authorExternalId: sender,
    ...(names.get(sender) ? { authorName: names.get(sender) } : {}),
    text: String(event.text ?? ''),
    createdAt: new Date(String(event.created_at ?? '')),
    fromAccount: sender === accountId,
    ...(keys.length ? { attachments: keys.map((key) => ({ externalId: key })) } : {}),
  };
}

/** X's one-to-one conversation id: both user ids, the smaller first. */
function conversationOf(a: string, b: string): string {
  const smaller = a.length !== b.length ? a.length < b.length : a < b;
  return smaller ? `${a}-${b}` : `${b}-${a}`;
}

function createXSync(
  cfg: AdapterConfig,
  call: (req: Parameters<typeof callPlatform>[2]) => Promise<PlatformResponse>,
  api: () => string,
): { streams: SyncStream[]; inbox: Inbox; webhooks: Webhooks } {
  const bearer = (tokens: TokenSet) => ({ authorization: `Bearer ${tokens.accessToken}` });
  const user = (account: PublishAccount) => encodeURIComponent(account.externalId);

  /**
   * A since_id stream (timeline, mentions). Cursor: `since` (the newest id of the pass before),
   * `next` (X's token for the page to read) and `newest` (the newest id of this pass). A pass ends
   * without next_token, and the next one starts from its newest id.
   */
  function sinceIdStream(
    name: string,
    path: (account: PublishAccount) => string,
    query: Record<string, string>,
    page: (
      body: Record<string, unknown>,
      items: Record<string, unknown>[],
      account: PublishAccount,
    ) => Omit<StreamPage, 'cursor' | 'done'>,
  ): SyncStream {
    return {
      name,
      async fetch(tokens, account, cursor) {
        const since = str(cursor?.since);
        const next = str(cursor?.next);
        const res = await call({
          url: url(api(), path(account), { ...query, max_results: PAGE, since_id: since, pagination_token: next }),
          headers: bearer(tokens),
        });
        const body = asRecord(res.body);
        const items = Array.isArray(body.data) ? body.data.map(asRecord) : [];
        const meta = asRecord(body.meta);
        const newest = str(cursor?.newest) ?? str(meta.newest_id) ?? str(items[0]?.id);
        const rows = page(body, items, account);
        const token = str(meta.next_token);
        if (token) return { ...rows, cursor: compact({ since, next: token, newest }), done: false };
        return { ...rows, cursor: compact({ since: newest ?? since }), done: true };
      },
    };
  }

  const accountTotals: SyncStream = {
    name: 'account_totals',
    async fetch(tokens) {
      const res = await call({
        url: url(api(), '/2/users/me', { 'user.fields': 'public_metrics' }),
        headers: bearer(tokens),
      });
      const counts = asRecord(asRecord(asRecord(res.body).data).public_metrics);
      const metrics: MetricSample[] =
        typeof counts.followers_count === 'number'
          ? [{ objectKind: 'account', objectId: '', metric: 'followers', value: counts.followers_count }]
          : [];
      return { metrics, cursor: {}, done: true };
    },
  };

  const media = sinceIdStream(
    'media',
    (account) => `/2/users/${user(account)}/tweets`,
    // Replies are messages (our answers), not posts; reposts are someone else's post.
    { exclude: 'replies,retweets', 'tweet.fields': 'created_at,public_metrics,attachments' },
    (_body, items) => ({
      media: items
        .filter((t) => typeof t.id === 'string')
        .map(
          (t): SyncedMedia => ({
            externalId: String(t.id),
            publishedAt: new Date(String(t.created_at ?? '')),
            mediaType: mediaTypeOf(t),
            permalink: xPermalink(String(t.id)),
          }),
        ),
      // The timeline carries the counters too: no second read for the posts it lists.
      metrics: items.flatMap(postMetrics),
    }),
  );

  const mediaMetrics = mediaMetricsStream(METRICS_BATCH, async (tokens, _account, ids) => {
    const res = await call({
      url: url(api(), '/2/tweets', { ids: ids.join(','), 'tweet.fields': 'public_metrics' }),
      headers: bearer(tokens),
    });
    // Deleted posts come back in errors[], beside the ones found.
    const data = asRecord(res.body).data;
    return (Array.isArray(data) ? data.map(asRecord) : []).flatMap(postMetrics);
  });

  const mentions = sinceIdStream(
    'mentions',
    (account) => `/2/users/${user(account)}/mentions`,
    {
      'tweet.fields': 'created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets',
      expansions: 'author_id',
      'user.fields': 'name,username',
    },
    (body, items, account) => {
      const names = userNames(body);
      return {
        messages: items.map((t) => tweetMessage(t, account.externalId, names)).filter((m): m is InboundMessage => !!m),
      };
    },
  );

  /**
   * DM events have no since_id: newest first down to `mark`, the newest event id of the pass before
   * (event ids are snowflakes, so a larger id is a later event); `next` is X's token inside a pass.
   */
  const dms: SyncStream = {
    name: 'dms',
    async fetch(tokens, account, cursor) {
      const next = str(cursor?.next);
      const res = await call({
        url: url(api(), '/2/dm_events', {
          event_types: 'MessageCreate',
          max_results: PAGE,
          pagination_token: next,
          'dm_event.fields': 'id,text,event_type,created_at,dm_conversation_id,sender_id,participant_ids,attachments',
          expansions: 'sender_id',
          'user.fields': 'name,username',
        }),
        headers: bearer(tokens),
      });
      const body = asRecord(res.body);
      const events = Array.isArray(body.data) ? body.data.map(asRecord) : [];
      const token = str(asRecord(body.meta).next_token);
      const { fresh, ...page } = watermarkPage(cursor, events, bySnowflake, token ? { next: token } : undefined);
      const names = userNames(body);
      const messages = fresh
        .map((e) => dmMessage(e, account.externalId, names))
        .filter((m): m is InboundMessage => !!m);
      return { messages, ...page };
    },
  };

  /** The account's replies to `tweetId` since `sinceMs` on its timeline, matched by text. */
  async function findTweetReply(
    tokens: TokenSet,
    account: PublishAccount,
    tweetId: string,
    text: string,
    sinceMs: number,
  ): Promise<string | undefined> {
    let token: string | undefined;
    const wanted = comparableText(text);
    for (let page = 0; page < FIND_PAGES; page++) {
      const res = await call({
        url: url(api(), `/2/users/${user(account)}/tweets`, {
          max_results: PAGE,
          start_time: xTime(sinceMs),
          'tweet.fields': 'created_at,referenced_tweets',
          pagination_token: token,
        }),
        headers: bearer(tokens),
      });
      const body = asRecord(res.body);
      for (const tweet of Array.isArray(body.data) ? body.data.map(asRecord) : []) {
        const refs = Array.isArray(tweet.referenced_tweets) ? tweet.referenced_tweets.map(asRecord) : [];
        const answers = refs.some((r) => r.type === 'replied_to' && r.id === tweetId);
        if (answers && comparableText(String(tweet.text ?? '')) === wanted) return str(tweet.id);
      }
      token = str(asRecord(body.meta).next_token);
      if (!token) break;
    }
    return undefined;
  }

  /** The account's DMs to `participant` since `sinceMs`, newest first, matched by text. */
  async function findDmReply(
    tokens: TokenSet,
    account: PublishAccount,
    participant: string,
    text: string,
    sinceMs: number,
  ): Promise<string | undefined> {
    let token: string | undefined;
    for (let page = 0; page < FIND_PAGES; page++) {
      const res = await call({
        url: url(api(), `/2/dm_conversations/with/${encodeURIComponent(participant)}/dm_events`, {
          event_types: 'MessageCreate',
          max_results: PAGE,
          'dm_event.fields': 'id,text,created_at,sender_id',
          pagination_token: token,
        }),
        headers: bearer(tokens),
      });
      const body = asRecord(res.body);
      for (const event of Array.isArray(body.data) ? body.data.map(asRecord) : []) {
        const at = Date.parse(String(event.created_at ?? ''));
        // Newest first: past `since`, nothing older can be the reply.
        if (at < sinceMs) return undefined;
        if (event.sender_id === account.externalId && event.text === text) return str(event.id);
      }
      token = str(asRecord(body.meta).next_token);
      if (!token) break;
    }
    return undefined;
  }

  const inbox: Inbox = {
    replyKinds: ['comment', 'mention', 'dm'],
    // Others' replies can only be hidden; a mention outside the account's conversations not even that.
    moderation: ['hide', 'unhide'],

    async reply(tokens, _account, target, text) {
      if (target.threadKind === 'dm') {
        const res = await call({
          method: 'POST',
          url: url(api(), `/2/dm_conversations/with/${encodeURIComponent(target.recipientExternalId)}/messages`),
          headers: bearer(tokens),
          json: { text },
          write: true,
        });
        const id = str(asRecord(asRecord(res.body).data).dm_event_id);
        if (!id) throw new PlatformError('x', 'outcome_unknown', 'x: the DM was accepted without an event id');
        return { externalId: id };
      }
      const res = await call({
        method: 'POST',
        url: url(api(), '/2/tweets'),
        headers: bearer(tokens),
        json: { text, reply: { in_reply_to_tweet_id: target.messageExternalId } },
        write: true,
      });
      const id = str(asRecord(asRecord(res.body).data).id);
      if (!id) throw new PlatformError('x', 'outcome_unknown', 'x: the reply was accepted without an id');
      return { externalId: id };
    },

    async findReply(tokens, account, target, text, since) {
      const sinceMs = since.getTime() - X_VERIFY_SKEW_MS;
      const id =
        target.threadKind === 'dm'
          ? await findDmReply(tokens, account, target.recipientExternalId, text, sinceMs)
          : await findTweetReply(tokens, account, target.messageExternalId, text, sinceMs);
      return id ? { found: true, externalId: id } : { found: false };
    },

    async moderate(tokens, _account, target, action) {
      if (action === 'delete' || target.threadKind === 'dm') {
        throw new PlatformError('x', 'permanent', `x: ${action} is not possible here; replies by others can be hidden`);
      }
      await call({
        method: 'PUT',
        url: url(api(), `/2/tweets/${encodeURIComponent(target.messageExternalId)}/hidden`),
        headers: bearer(tokens),
        json: { hidden: action === 'hide' },
      });
    },
  };

  return {
    streams: [accountTotals, media, mediaMetrics, mentions, dms],
    inbox,
    webhooks: xWebhooks(cfg.clientSecret),
  };
}

// Webhooks: the Account Activity API. X checks the endpoint with a CRC (crc_token → an HMAC of it
// with the app's consumer secret), signs each delivery over its raw body, and sends v1.1 shapes:
// tweet_create_events, tweet_delete_events and direct_message_events, for the user in for_user_id.

const hmacBase64 = (secret: string, data: string | Buffer) =>
  createHmac('sha256', secret).update(data).digest('base64');

export function xWebhooks(clientSecret: string): Webhooks {
  return {
    handshake(query) {
      const token = query.crc_token;
      if (!token) return undefined;
      return { status: 200, body: { response_token: `sha256=${hmacBase64(clientSecret, token)}` } };
    },

    verify(headers, rawBody) {
      const raw = headers['x-twitter-webhooks-signature'];
      const signature = Array.isArray(raw) ? raw[0] : raw;
      if (!signature) return { ok: false, reason: 'x-twitter-webhooks-signature is missing' };
      if (!clientSecret) return { ok: false, reason: 'no client secret to check the signature with' };
      return sameSecret(signature, `sha256=${hmacBase64(clientSecret, rawBody)}`)
        ? { ok: true }
        : { ok: false, reason: 'the signature does not match the body' };
    },

    parse(body) {
      const b = asRecord(body);
      const forUser = str(b.for_user_id);
      if (!forUser) return [];
      const events: WebhookEvent[] = [];
      for (const raw of Array.isArray(b.tweet_create_events) ? b.tweet_create_events : []) {
        const t = asRecord(raw);
        const id = str(t.id_str);
        const author = asRecord(t.user);
        const authorId = str(author.id_str) ?? '';
        const parent = str(t.in_reply_to_status_id_str);
        // The account's own posts come here too; only its replies are messages.
        if (!id || (authorId === forUser && !parent)) continue;
        const at = Number(t.timestamp_ms) || Date.parse(String(t.created_at ?? ''));
        events.push({
          accountExternalId: forUser,
          dedupeKey: `x:tweet:${id}`,
          message: {
            externalId: id,
            threadKind: parent && t.in_reply_to_user_id_str === forUser ? 'comment' : 'mention',
            // v1.1 names no conversation root: the post answered stands in for it.
            threadExternalId: parent ?? id,
            ...(parent ? { parentExternalId: parent } : {}),
            authorExternalId: authorId,
            ...(str(author.name) ? { authorName: str(author.name) } : {}),
            text: String(t.full_text ?? asRecord(t.extended_tweet).full_text ?? t.text ?? ''),
            createdAt: new Date(at),
            fromAccount: authorId === forUser,
          },
        });
      }
      for (const raw of Array.isArray(b.tweet_delete_events) ? b.tweet_delete_events : []) {
        const id = str(asRecord(asRecord(raw).status).id);
        if (id) events.push({ accountExternalId: forUser, dedupeKey: `x:delete:${id}`, removed: { externalId: id } });
      }
      const users = asRecord(b.users);
      for (const raw of Array.isArray(b.direct_message_events) ? b.direct_message_events : []) {
        const e = asRecord(raw);
        const id = str(e.id);
        const create = asRecord(e.message_create);
        if (!id || e.type !== 'message_create') continue;
        const sender = String(create.sender_id ?? '');
        const recipient = String(asRecord(create.target).recipient_id ?? '');
        events.push({
          accountExternalId: forUser,
          dedupeKey: `x:dm:${id}`,
          message: {
            externalId: id,
            threadKind: 'dm',
            threadExternalId: conversationOf(sender, recipient),
            authorExternalId: sender,
            ...(str(asRecord(users[sender]).name) ? { authorName: str(asRecord(users[sender]).name) } : {}),
            text: String(asRecord(create.message_data).text ?? ''),
            createdAt: new Date(Number(e.created_timestamp)),
            fromAccount: sender === forUser,
          },
        });
      }
      return events;
    },
  };
}
