import { DUPLICATE_CODE, isPlatformError, PlatformError } from './errors.ts';
import {
  asRecord,
  type Classifier,
  callPlatform,
  oauthError,
  oauthTokens,
  type PlatformRequest,
  type PlatformResponse,
  url,
} from './http.ts';
import { fetchMedia } from './media.ts';
import type {
  AdapterConfig,
  MediaRef,
  PlatformAdapter,
  PublishAccount,
  PublishContent,
  Publisher,
  PublishHandle,
  TokenSet,
} from './types.ts';

// LinkedIn: OAuth 2 without PKCE for web apps, programmatic refresh tokens that are kept (their
// one-year lifetime never resets), OIDC userinfo for the member, and the Community Management API.
const HOSTS = {
  web: 'https://www.linkedin.com',
  api: 'https://api.linkedin.com',
};
const SCOPES = ['openid', 'profile', 'email', 'w_member_social'];

/** Milliseconds until the next 00:00 UTC, when LinkedIn's daily limits reset. */
export const msUntilUtcMidnight = (nowMs: number): number => 86_400_000 - (nowMs % 86_400_000);

/** LinkedIn error envelope: {status, serviceErrorCode, code, message}. */
export function linkedInError(res: PlatformResponse): PlatformError | undefined {
  if (res.status < 400) return undefined;
  const body = asRecord(res.body);
  const code = String(body.code ?? body.serviceErrorCode ?? res.status);
  const message = `linkedin: ${code}${body.message ? ` (${String(body.message)})` : ''}`;
  const opts = { status: res.status, code };
  // No idempotency key at LinkedIn: identical content is refused with a 422 naming the post that exists,
  // which after a lost answer is proof the first attempt landed.
  const duplicateOf = /\bduplicate of (urn:li:[A-Za-z]+:[^\s"',)]+)/.exec(String(body.message ?? ''))?.[1];
  if (res.status === 422 && (body.code === 'DUPLICATE_POST' || duplicateOf)) {
    return new PlatformError('linkedin', 'permanent', message, {
      status: res.status,
      code: DUPLICATE_CODE,
      existingId: duplicateOf,
    });
  }
  switch (body.serviceErrorCode) {
    case 65600: // INVALID_ACCESS_TOKEN
    case 65601: // REVOKED_ACCESS_TOKEN
      return new PlatformError('linkedin', 'token_revoked', message, opts);
    case 65602: // EXPIRED_ACCESS_TOKEN
      return new PlatformError('linkedin', 'token_expired', message, opts);
  }
  // A bare 429 without headers: the daily limits are the only clock to go by.
  if (res.status === 429) {
    return new PlatformError('linkedin', 'rate_limited', message, {
      ...opts,
      retryAfterMs: msUntilUtcMidnight(res.serverNowMs),
    });
  }
  if (res.status === 401) return new PlatformError('linkedin', 'token_expired', message, opts);
  if (res.status >= 500) return new PlatformError('linkedin', 'transient', message, opts);
  return new PlatformError('linkedin', 'permanent', message, opts);
}

export function createLinkedInAdapter(cfg: AdapterConfig): PlatformAdapter {
  const host = (name: keyof typeof HOSTS) => cfg.baseUrl || HOSTS[name];
  const classify: Classifier = (res) => oauthError('linkedin', res) ?? linkedInError(res);
  const call = (req: Parameters<typeof callPlatform>[2]) => callPlatform('linkedin', cfg.timeoutMs, req, classify);

  return {
    platform: 'linkedin',
    displayName: 'LinkedIn',
    // PKCE is only for native apps LinkedIn enables on request; web apps use the client secret.
    pkce: false,
    refreshRule: 'stable',
    minRefreshAgeMs: 0,
    scopes: SCOPES,
    simulated: Boolean(cfg.baseUrl),

    authorizeUrl({ state, redirectUri }) {
      return url(host('web'), '/oauth/v2/authorization', {
        response_type: 'code',
        client_id: cfg.clientId,
        redirect_uri: redirectUri,
        state,
        scope: SCOPES.join(' '),
      });
    },

    async exchangeCode({ code, redirectUri }) {
      const res = await call({
        method: 'POST',
        url: url(host('web'), '/oauth/v2/accessToken'),
        form: {
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirectUri,
          client_id: cfg.clientId,
          client_secret: cfg.clientSecret,
        },
      });
      // Requested space-separated, granted comma-separated.
      return oauthTokens('linkedin', res, ',');
    },

    async refresh(tokens) {
      if (!tokens.refreshToken)
        throw new PlatformError('linkedin', 'token_revoked', 'linkedin: no refresh token stored');
      const res = await call({
        method: 'POST',
        url: url(host('web'), '/oauth/v2/accessToken'),
        form: {
          grant_type: 'refresh_token',
          refresh_token: tokens.refreshToken,
          client_id: cfg.clientId,
          client_secret: cfg.clientSecret,
        },
      });
      // The same refresh token comes back with what is left of its lifetime, which never grows.
      const fresh = oauthTokens('linkedin', res, ',');
      return {
        ...fresh,
        refreshToken: fresh.refreshToken ?? tokens.refreshToken,
        refreshExpiresAt: fresh.refreshExpiresAt ?? tokens.refreshExpiresAt,
      };
    },

    async profile(tokens: TokenSet) {
      const res = await call({
        url: url(host('api'), '/v2/userinfo'),
        headers: { authorization: `Bearer ${tokens.accessToken}` },
      });
      const info = asRecord(res.body);
      if (typeof info.sub !== 'string' || !info.sub) {
        throw new PlatformError('linkedin', 'permanent', 'linkedin: userinfo returned no member');
      }
      return { externalId: `urn:li:person:${info.sub}`, displayName: String(info.name ?? info.sub) };
    },

    publisher: createLinkedInPublisher(cfg, call, classify, () => host('api')),

    async revoke(tokens) {
      const res = await call({
        method: 'POST',
        url: url(host('web'), '/oauth/v2/revoke'),
        form: { client_id: cfg.clientId, client_secret: cfg.clientSecret, token: tokens.accessToken },
      });
      return { outcome: 'revoked', status: res.status };
    },
  };
}

// Publishing: media are uploaded to the versioned REST API (prepare; nothing is public), LinkedIn
// processes them (check), then one POST /rest/posts publishes (commit). LinkedIn has no idempotency
// key: after a lost answer the author's post list is the truth signal (verify), and repeating the
// same content is refused with a 422 that names the post.

/**
 * The Marketing API version sent as LinkedIn-Version. Versions are sunset about a year after release
 * (the simulator enforces the same), so this must be moved forward at least yearly.
 */
export const LINKEDIN_VERSION = '202610';
const MAX_IMAGES = 20;
/** How far before `since` (our clock) verify looks, for the difference between our clock and LinkedIn's. */
export const LINKEDIN_VERIFY_SKEW_MS = 2 * 60_000;
const VERIFY_PAGE = 50;
const VERIFY_PAGES = 4;
/** LinkedIn gives no hint when to look again at processing media. */
const CHECK_VIDEO_MS = 5_000;
const CHECK_OTHER_MS = 2_000;
export const LINKEDIN_VISIBILITIES = ['PUBLIC', 'CONNECTIONS'] as const;

export const linkedInPermalink = (urn: string) => `https://www.linkedin.com/feed/update/${urn}/`;

/** The prepared work: the uploaded assets (urn:li:image|video|document:…) in post order. Text-only: `{}`. */
export interface LinkedInHandle {
  media?: { urn: string }[];
}

function handleUrns(handle: PublishHandle): string[] {
  const media = Array.isArray(handle.media) ? handle.media : [];
  return media.map((m) => asRecord(m).urn).filter((urn): urn is string => typeof urn === 'string' && urn !== '');
}

/**
 * Who posts: an organization when the connection's ids name one (`organization`, a URN or a bare
 * id), otherwise the member. externalId may be the member URN itself or its id.
 */
export function linkedInAuthor(account: PublishAccount): string {
  const org = account.ids.organization ?? account.ids.organizationUrn;
  if (org) return org.startsWith('urn:li:') ? org : `urn:li:organization:${org}`;
  const id = account.externalId;
  return id.startsWith('urn:li:') ? id : `urn:li:person:${id}`;
}

/**
 * Commentary is "little text": \ | { } @ [ ] ( ) < > # * _ ~ are markup and are escaped so the caption
 * reads as written. A # that starts a word stays, since that is LinkedIn's own hashtag element.
 */
const LITTLE_RESERVED = /(?<hashtag>(?<![\p{L}\p{N}_\\])#(?=[\p{L}\p{N}]))|(?<reserved>[\\|{}@[\]()<>#*_~])/gu;
export const littleText = (text: string): string =>
  text.replace(LITTLE_RESERVED, (match, hashtag: string | undefined) => (hashtag ? match : `\\${match}`));

/** Up to 20 images (multiImage from two on), or one video, or one document. */
function checkMedia(media: MediaRef[]): void {
  const refuse = (why: string) => new PlatformError('linkedin', 'permanent', `linkedin: ${why}`);
  const single = media.filter((m) => m.kind !== 'image');
  if (single.length && media.length > 1) throw refuse('a post takes one video or one document, alone');
  if (media.length > MAX_IMAGES) throw refuse(`a post takes at most ${MAX_IMAGES} images`);
}

function visibility(options: Record<string, unknown>): string {
  const value = options.visibility ?? 'PUBLIC';
  if (typeof value === 'string' && (LINKEDIN_VISIBILITIES as readonly string[]).includes(value)) return value;
  throw new PlatformError(
    'linkedin',
    'permanent',
    `linkedin: visibility must be ${LINKEDIN_VISIBILITIES.join(' or ')}`,
  );
}

const assetType = (urn: string) => /^urn:li:(image|video|document):/.exec(urn)?.[1];

/** A document post needs a title: the option, else the file's name. */
function documentTitle(content: PublishContent, ref: MediaRef | undefined): string {
  if (typeof content.options.title === 'string' && content.options.title) return content.options.title;
  const name = ref ? decodeURIComponent(new URL(ref.url).pathname.split('/').pop() ?? '') : '';
  return name || 'Document';
}

/** The post's content for the uploaded assets (alt text and titles from the media refs, by position). */
function postContent(content: PublishContent, urns: string[]): Record<string, unknown> | undefined {
  const [first] = urns;
  if (first === undefined) return undefined;
  const alt = (i: number) => {
    const text = content.media[i]?.altText;
    return text ? { altText: text } : {};
  };
  if (urns.length > 1) return { multiImage: { images: urns.map((id, i) => ({ id, ...alt(i) })) } };
  const type = assetType(first);
  if (type === 'document') return { media: { id: first, title: documentTitle(content, content.media[0]) } };
  if (type === 'video') {
    const title = content.options.title;
    return { media: { id: first, ...(typeof title === 'string' && title ? { title } : {}) } };
  }
  return { media: { id: first, ...alt(0) } };
}

/** The asset URNs a listed post carries. */
function postedUrns(content: unknown): string[] {
  const c = asRecord(content);
  const single = asRecord(c.media).id;
  if (typeof single === 'string') return [single];
  const images = asRecord(c.multiImage).images;
  return Array.isArray(images)
    ? images.map((i) => asRecord(i).id).filter((id): id is string => typeof id === 'string')
    : [];
}

const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));

function createLinkedInPublisher(
  cfg: AdapterConfig,
  call: (req: PlatformRequest) => Promise<PlatformResponse>,
  classify: Classifier,
  api: () => string,
): Publisher {
  const headers = (tokens: TokenSet) => ({
    authorization: `Bearer ${tokens.accessToken}`,
    'LinkedIn-Version': LINKEDIN_VERSION,
    'X-Restli-Protocol-Version': '2.0.0',
  });

  /** One PUT of raw bytes to an upload URL. Safe to repeat: the upload is not the post. */
  const put = (tokens: TokenSet, uploadUrl: string, bytes: Uint8Array): Promise<PlatformResponse> =>
    callPlatform(
      'linkedin',
      // Uploads carry whole files: the same allowance as fetching them.
      cfg.timeoutMs * 3,
      {
        method: 'PUT',
        url: uploadUrl,
        headers: { authorization: `Bearer ${tokens.accessToken}`, 'content-type': 'application/octet-stream' },
        bytes,
      },
      classify,
    );

  const initializeUpload = async (tokens: TokenSet, resource: string, request: Record<string, unknown>) => {
    const res = await call({
      method: 'POST',
      url: url(api(), `/rest/${resource}`, { action: 'initializeUpload' }),
      headers: headers(tokens),
      json: { initializeUploadRequest: request },
    });
    return asRecord(asRecord(res.body).value);
  };

  const missing = (what: string) => new PlatformError('linkedin', 'permanent', `linkedin: upload answered no ${what}`);

  /** Images and documents: initializeUpload, then one PUT of the whole file. */
  async function uploadFile(tokens: TokenSet, owner: string, type: 'image' | 'document', bytes: Buffer) {
    const value = await initializeUpload(tokens, `${type}s`, { owner });
    const urn = value[type];
    if (typeof value.uploadUrl !== 'string' || typeof urn !== 'string') throw missing(`${type} or uploadUrl`);
    await put(tokens, value.uploadUrl, bytes);
    return urn;
  }

  /** Videos: initializeUpload, a PUT per byte range (each answers an ETag), finalizeUpload with the ETags. */
  async function uploadVideo(tokens: TokenSet, owner: string, bytes: Buffer) {
    const value = await initializeUpload(tokens, 'videos', {
      owner,
      fileSizeBytes: bytes.length,
      uploadCaptions: false,
      uploadThumbnail: false,
    });
    const urn = value.video;
    const instructions = Array.isArray(value.uploadInstructions) ? value.uploadInstructions.map(asRecord) : [];
    if (typeof urn !== 'string' || !instructions.length) throw missing('video or upload instructions');
    const etags: string[] = [];
    for (const part of instructions) {
      const first = Number(part.firstByte);
      const last = Number(part.lastByte);
      if (typeof part.uploadUrl !== 'string' || !Number.isInteger(first) || !Number.isInteger(last)) {
        throw missing('usable upload instruction');
      }
      const res = await put(tokens, part.uploadUrl, bytes.subarray(first, last + 1));
      const etag = res.headers.get('etag');
      if (!etag) throw missing('ETag for an uploaded part');
      etags.push(etag);
    }
    await call({
      method: 'POST',
      url: url(api(), '/rest/videos', { action: 'finalizeUpload' }),
      headers: headers(tokens),
      json: {
        finalizeUploadRequest: {
          video: urn,
          uploadToken: typeof value.uploadToken === 'string' ? value.uploadToken : '',
          uploadedPartIds: etags,
        },
      },
    });
    return urn;
  }

  return {
    textNeedsPrepare: false,
    async prepare(tokens, account, content) {
      checkMedia(content.media);
      if (!content.media.length) return {};
      const owner = linkedInAuthor(account);
      const media: { urn: string }[] = [];
      for (const ref of content.media) {
        const bytes = await fetchMedia('linkedin', ref, cfg);
        const urn =
          ref.kind === 'video'
            ? await uploadVideo(tokens, owner, bytes)
            : await uploadFile(tokens, owner, ref.kind, bytes);
        media.push({ urn });
      }
      const handle: LinkedInHandle = { media };
      return { ...handle };
    },

    async check(tokens, _account, handle) {
      let waitMs = 0;
      for (const urn of handleUrns(handle)) {
        const type = assetType(urn);
        if (!type) return { state: 'failed', reason: `linkedin: ${urn} is not an image, video or document` };
        let res: PlatformResponse;
        try {
          res = await call({ url: url(api(), `/rest/${type}s/${encodeURIComponent(urn)}`), headers: headers(tokens) });
        } catch (err) {
          // Member tokens are reported to be refused reading image and document status (Postiz waits
          // instead). Their single PUT was taken and they are ready within seconds: go on to commit.
          if (type !== 'video' && isPlatformError(err) && err.status === 403) continue;
          throw err;
        }
        const body = asRecord(res.body);
        if (body.status === 'PROCESSING_FAILED') {
          const why = String(body.processingFailureReason ?? 'PROCESSING_FAILED');
          return { state: 'failed', reason: `linkedin: ${urn} failed processing: ${why}` };
        }
        // WAITING_UPLOAD (the upload is not seen yet) and PROCESSING both mean: look again.
        if (body.status !== 'AVAILABLE') {
          waitMs = Math.max(waitMs, type === 'video' ? CHECK_VIDEO_MS : CHECK_OTHER_MS);
        }
      }
      return waitMs ? { state: 'pending', checkAfterMs: waitMs } : { state: 'ready' };
    },

    async commit(tokens, account, content, handle) {
      const body = {
        author: linkedInAuthor(account),
        commentary: littleText(content.caption),
        visibility: visibility(content.options),
        distribution: { feedDistribution: 'MAIN_FEED', targetEntities: [], thirdPartyDistributionChannels: [] },
        content: postContent(content, handleUrns(handle)),
        lifecycleState: 'PUBLISHED',
        isReshareDisabledByAuthor: false,
      };
      const res = await call({
        method: 'POST',
        url: url(api(), '/rest/posts'),
        headers: headers(tokens),
        json: body,
        write: true,
      });
      const urn = res.headers.get('x-restli-id') ?? asRecord(res.body).id;
      // Created but unnamed: it landed, and only the post list can say as what.
      if (typeof urn !== 'string' || !urn) {
        throw new PlatformError('linkedin', 'outcome_unknown', 'linkedin: the post was created without an id', {
          status: res.status,
        });
      }
      return { done: true, post: { postId: urn, permalink: linkedInPermalink(urn) } };
    },

    async verify(tokens, account, content, handle, since) {
      const author = linkedInAuthor(account);
      const commentary = littleText(content.caption);
      const urns = handleUrns(handle);
      const floor = since.getTime() - LINKEDIN_VERIFY_SKEW_MS;
      for (let page = 0; page < VERIFY_PAGES; page++) {
        let res: PlatformResponse;
        try {
          res = await call({
            url: url(api(), '/rest/posts', {
              q: 'author',
              author,
              count: String(VERIFY_PAGE),
              start: String(page * VERIFY_PAGE),
              sortBy: 'CREATED',
            }),
            headers: headers(tokens),
          });
        } catch (err) {
          // Reading a member's posts needs r_member_social, which LinkedIn grants few apps. Without it
          // there is no list to read, but committing again is still safe: identical content is refused
          // with the 422 that names the post (a duplicate with existingId), so the retry is the probe.
          if (isPlatformError(err) && err.status === 403) return { landed: false, handleUsable: true };
          throw err;
        }
        const body = asRecord(res.body);
        const elements = Array.isArray(body.elements) ? body.elements.map(asRecord) : [];
        let older = false;
        for (const post of elements) {
          const createdAt = Number(post.createdAt ?? post.publishedAt);
          if (Number.isFinite(createdAt) && createdAt < floor) {
            older = true;
            continue;
          }
          if (
            typeof post.id === 'string' &&
            post.author === author &&
            post.commentary === commentary &&
            sameList(postedUrns(post.content), urns)
          ) {
            return { landed: true, post: { postId: post.id, permalink: linkedInPermalink(post.id) } };
          }
        }
        // Newest first by creation: past the first older post, nothing later can match.
        if (older || elements.length < VERIFY_PAGE) break;
      }
      // Uploaded assets stay usable after a post that did not land.
      return { landed: false, handleUsable: true };
    },

    // A post is public once POST /rest/posts answers 201, so commit is always done and settle is never
    // needed. It answers from the handle when that names the post, and otherwise says it is not used.
    async settle(_tokens, _account, handle) {
      const postId = handle.postId;
      if (typeof postId === 'string' && postId) {
        return { state: 'ready', post: { postId, permalink: linkedInPermalink(postId) } };
      }
      return { state: 'failed', reason: 'linkedin: settle is not used; commit publishes at once' };
    },

    // Daily limits cannot be read ahead (they are only in the developer portal); they come back as a
    // bare 429, which waits until 00:00 UTC.
    async capacity() {
      return { waitMs: 0 };
    },
  };
}
