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
import type {
  AdapterConfig,
  MediaRef,
  PlatformAdapter,
  PublishAccount,
  PublishContent,
  PublishedPost,
  Publisher,
  PublishHandle,
  TokenSet,
  Verdict,
} from './types.ts';

// X: OAuth 2 with mandatory PKCE, single-use (rotating) refresh tokens, and the API v2.
const HOSTS = {
  web: 'https://x.com',
  api: 'https://api.x.com',
};
const SCOPES = ['tweet.read', 'users.read', 'tweet.write', 'media.write', 'offline.access'];

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
