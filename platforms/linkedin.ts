import { createHmac } from 'node:crypto';
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
import {
  type AudienceDimension,
  audienceSample,
  byTime,
  compact,
  DAY_MS,
  dailyCursor,
  dailyPass,
  dayOf,
  FIND_PAGES,
  FIND_SKEW_MS,
  laterDay,
  mediaMetricsStream,
  num,
  sameSecret,
  str,
  totalsStream,
  watermarkPage,
} from './sync.ts';
import type {
  AdapterConfig,
  InboundMessage,
  Inbox,
  MediaRef,
  MetricSample,
  PlatformAdapter,
  PublishAccount,
  PublishContent,
  Publisher,
  PublishHandle,
  SyncedMedia,
  SyncStream,
  TokenSet,
  WebhookEvent,
  Webhooks,
} from './types.ts';

// LinkedIn: OAuth 2 without PKCE for web apps, programmatic refresh tokens that are kept (their
// one-year lifetime never resets), OIDC userinfo for the member, and the Community Management API.
const HOSTS = {
  web: 'https://www.linkedin.com',
  api: 'https://api.linkedin.com',
};
/**
 * The member (identity, posting as themself) and the company page they administer: its posts
 * (r_/w_organization_social) and its statistics and ACLs (rw_organization_admin). All need the
 * Community Management API product on the app. r_organization_admin (read-only, the Marketing
 * product) is not asked for: rw_organization_admin covers it, and an unprovisioned scope fails consent.
 */
const SCOPES = [
  'openid',
  'profile',
  'email',
  'w_member_social',
  'r_organization_social',
  'w_organization_social',
  'rw_organization_admin',
];
/** Grants under which organizationAcls answers a member's own roles. */
const ACL_SCOPES = ['rw_organization_admin', 'r_organization_admin'];

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

  /**
   * The first page the member administers (urn:li:organization:<id>), when the grant lets us ask.
   * Without the scope, or refused (no page role, the app lacks the product), the connection stays
   * the member's alone.
   */
  async function administeredOrganization(tokens: TokenSet): Promise<string | undefined> {
    if (!tokens.scopes.some((s) => ACL_SCOPES.includes(s))) return undefined;
    let res: PlatformResponse;
    try {
      res = await call({
        url: url(host('api'), '/rest/organizationAcls', {
          q: 'roleAssignee',
          role: 'ADMINISTRATOR',
          state: 'APPROVED',
        }),
        headers: {
          authorization: `Bearer ${tokens.accessToken}`,
          'LinkedIn-Version': LINKEDIN_VERSION,
          'X-Restli-Protocol-Version': '2.0.0',
        },
      });
    } catch (err) {
      if (isPlatformError(err) && err.kind === 'permanent' && err.status === 403) return undefined;
      throw err;
    }
    const elements = asRecord(res.body).elements;
    for (const raw of Array.isArray(elements) ? elements : []) {
      const acl = asRecord(raw);
      const org = acl.organization;
      // The finder filters already; a stale or lesser role is still not a page to speak for.
      if (acl.role !== undefined && acl.role !== 'ADMINISTRATOR') continue;
      if (acl.state !== undefined && acl.state !== 'APPROVED') continue;
      if (typeof org === 'string' && org.startsWith('urn:li:organization:')) return org;
    }
    return undefined;
  }

  return {
    platform: 'linkedin',
    displayName: 'LinkedIn',
    // PKCE is only for native apps LinkedIn enables on request; web apps use the client secret.
    pkce: false,
    refreshRule: 'stable',
    minRefreshAgeMs: 0,
    scopes: SCOPES,
    simulated: Boolean(cfg.baseUrl),
    ...linkedInSync(call, () => host('api')),
    webhooks: linkedInWebhooks(cfg.clientSecret),

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
      const externalId = `urn:li:person:${info.sub}`;
      const organization = await administeredOrganization(tokens);
      return {
        externalId,
        displayName: String(info.name ?? info.sub),
        // The page the connection speaks for: its statistics, its posts, its comments.
        ...(organization ? { ids: { organization } } : {}),
      };
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

// Sync (reference §5.3, §5.4). A company page (the connection's `organization` id) has daily
// statistics (followers gained, page views, share statistics; DAY granularity over an epoch-ms range),
// a follower count (networkSizes), lifetime follower demographics (audience) and per-post share
// statistics; a member has none of these through this API, only its posts' likes and comments
// (socialActions). Posts come from posts?q=author (offset-paged, newest first, down to the newest
// post of the pass before); comments per post from socialActions/{urn}/comments. Rest.li 2.0: URNs in values are encoded, List(…) and (…) are not.

const POSTS_PAGE = 50;
const STATS_BATCH = 20;
const COMMENTS_PAGE = 100;
/** Comments are read per post: the newest this many posts of ctx.mediaIds each pass. */
const COMMENT_POSTS = 50;

/** The organization the connection speaks for (ids.organization, a URN or a bare id), if any. */
export function linkedInOrganization(account: PublishAccount): string | undefined {
  const org = account.ids.organization ?? account.ids.organizationUrn;
  if (!org) return undefined;
  return org.startsWith('urn:li:') ? org : `urn:li:organization:${org}`;
}

/** Lifetime follower breakdowns: the field, the key naming each entry's URN, the audience dimension. */
const FOLLOWER_BREAKDOWNS: [string, string, AudienceDimension][] = [
  ['followerCountsBySeniority', 'seniority', 'seniority'],
  ['followerCountsByFunction', 'function', 'function'],
  ['followerCountsByIndustry', 'industry', 'industry'],
  ['followerCountsByGeoCountry', 'geo', 'country'],
];

const SHARE_STATISTICS: Record<string, string> = {
  impressionCount: 'impressions',
  uniqueImpressionsCount: 'reach',
  clickCount: 'clicks',
  likeCount: 'likes',
  commentCount: 'comments',
  shareCount: 'shares',
};

const elementsOf = (body: unknown) => {
  const elements = asRecord(body).elements;
  return Array.isArray(elements) ? elements.map(asRecord) : [];
};

/** A Rest.li 2.0 URL: `raw` values go as given (List(…), (…)), URNs inside them already encoded. */
function restli(base: string, path: string, raw: Record<string, string | undefined>): string {
  const query = Object.entries(raw)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return `${base.replace(/\/$/, '')}${path}${query ? `?${query}` : ''}`;
}
const enc = encodeURIComponent;
const list = (urns: string[]) => `List(${urns.map(enc).join(',')})`;

function mediaTypeOf(content: unknown): string {
  const c = asRecord(content);
  if (c.multiImage) return 'image';
  if (c.article) return 'article';
  const id = str(asRecord(c.media).id);
  return (id && /^urn:li:(image|video|document):/.exec(id)?.[1]) || 'text';
}

/** The numeric id a comment URN ends in: urn:li:comment:(urn:li:share:1,<id>). */
const commentIdOf = (urn: string) => /,(\d+)\)$/.exec(urn)?.[1];

function commentMessage(comment: Record<string, unknown>, postUrn: string, own: string[]): InboundMessage | undefined {
  const id = str(comment.commentUrn) ?? (str(comment.id) ? `urn:li:comment:(${postUrn},${comment.id})` : undefined);
  if (!id) return undefined;
  const actor = String(comment.actor ?? asRecord(comment.created).actor ?? '');
  const parent = str(comment.parentComment);
  return {
    externalId: id,
    threadKind: 'comment',
    threadExternalId: postUrn,
    ...(parent ? { parentExternalId: parent } : {}),
    authorExternalId: actor,
    text: String(asRecord(comment.message).text ?? ''),
    createdAt: new Date(Number(asRecord(comment.created).time)),
    fromAccount: own.includes(actor),
  };
}

function linkedInSync(
  call: (req: PlatformRequest) => Promise<PlatformResponse>,
  api: () => string,
): { streams: SyncStream[]; inbox: Inbox } {
  const headers = (tokens: TokenSet) => ({
    authorization: `Bearer ${tokens.accessToken}`,
    'LinkedIn-Version': LINKEDIN_VERSION,
    'X-Restli-Protocol-Version': '2.0.0',
  });
  /** Who the account's own comments are by: the page, and the member behind it. */
  const ownActors = (account: PublishAccount) => [linkedInAuthor(account), linkedInAuthor({ ...account, ids: {} })];

  /** The three daily statistics of a page, one call (one page) each. */
  const DAILY: {
    path: string;
    entity: string;
    read: (element: Record<string, unknown>) => [string, number | undefined][];
  }[] = [
    {
      path: '/rest/organizationalEntityFollowerStatistics',
      entity: 'organizationalEntity',
      read: (e) => {
        const gains = asRecord(e.followerGains);
        const organic = num(gains.organicFollowerGain);
        const paid = num(gains.paidFollowerGain);
        return [
          ['followers_gained', organic === undefined && paid === undefined ? undefined : (organic ?? 0) + (paid ?? 0)],
        ];
      },
    },
    {
      path: '/rest/organizationPageStatistics',
      entity: 'organization',
      read: (e) => {
        const all = asRecord(asRecord(asRecord(e.totalPageStatistics).views).allPageViews);
        return [['views', num(all.pageViews) ?? num(asRecord(asRecord(e.totalPageStatistics).views).allPageViews)]];
      },
    },
    {
      path: '/rest/organizationalEntityShareStatistics',
      entity: 'organizationalEntity',
      read: (e) => {
        const stats = asRecord(e.totalShareStatistics);
        return Object.entries(SHARE_STATISTICS).map(([field, metric]) => [metric, num(stats[field])]);
      },
    },
  ];

  /**
   * Page statistics by day: a daily pass, one statistic (`part`) a page. A member connection has
   * none: done at once.
   */
  const accountMetrics: SyncStream = {
    name: 'account_metrics',
    async fetch(tokens, account, cursor, ctx) {
      const org = linkedInOrganization(account);
      if (!org) return { cursor: {}, done: true };
      const pass = dailyPass(cursor, ctx);
      const part = pass.resumed && typeof cursor?.part === 'number' ? cursor.part : 0;
      const stat = DAILY[part] ?? DAILY[0]!;
      const start = Date.parse(`${pass.from}T00:00:00Z`);
      const end = Date.parse(`${pass.to}T00:00:00Z`) + DAY_MS;
      const res = await call({
        url: restli(api(), stat.path, {
          q: stat.entity,
          [stat.entity]: enc(org),
          timeIntervals: `(timeRange:(start:${start},end:${end}),timeGranularityType:DAY)`,
        }),
        headers: headers(tokens),
      });
      let last = pass.last;
      const metrics: MetricSample[] = [];
      for (const element of elementsOf(res.body)) {
        const dayStart = num(asRecord(element.timeRange).start);
        if (dayStart === undefined) continue;
        const day = dayOf(dayStart);
        let any = false;
        for (const [metric, value] of stat.read(element)) {
          if (value === undefined) continue;
          any = true;
          metrics.push({ objectKind: 'account', objectId: '', metric, day, value });
        }
        if (any) last = laterDay(last, day);
      }
      return { metrics, ...dailyCursor(pass, last, part + 1 < DAILY.length ? { part: part + 1 } : undefined) };
    },
  };

  const accountTotals: SyncStream = {
    name: 'account_totals',
    async fetch(tokens, account) {
      const org = linkedInOrganization(account);
      if (!org) return { cursor: {}, done: true };
      const res = await call({
        url: restli(api(), `/rest/networkSizes/${enc(org)}`, { edgeType: 'COMPANY_FOLLOWED_BY_MEMBER' }),
        headers: headers(tokens),
      });
      const size = num(asRecord(res.body).firstDegreeSize);
      const metrics: MetricSample[] =
        size === undefined ? [] : [{ objectKind: 'account', objectId: '', metric: 'followers', value: size }];
      return { metrics, cursor: {}, done: true };
    },
  };

  /**
   * Lifetime follower demographics of a page: follower statistics asked without timeIntervals.
   * Each breakdown names its value by URN (urn:li:seniority:3); the metric keeps the id. A member
   * connection has none.
   */
  const audience = totalsStream('audience', async (tokens, account) => {
    const org = linkedInOrganization(account);
    if (!org) return [];
    const res = await call({
      url: restli(api(), '/rest/organizationalEntityFollowerStatistics', {
        q: 'organizationalEntity',
        organizationalEntity: enc(org),
      }),
      headers: headers(tokens),
    });
    const element = elementsOf(res.body)[0] ?? {};
    const metrics: MetricSample[] = [];
    for (const [field, key, dimension] of FOLLOWER_BREAKDOWNS) {
      const entries = element[field];
      for (const entry of Array.isArray(entries) ? entries.map(asRecord) : []) {
        const id = str(entry[key])?.split(':').at(-1);
        const counts = asRecord(entry.followerCounts);
        const organic = num(counts.organicFollowerCount);
        const paid = num(counts.paidFollowerCount);
        if (id && (organic !== undefined || paid !== undefined)) {
          metrics.push(audienceSample(dimension, id, (organic ?? 0) + (paid ?? 0)));
        }
      }
    }
    return metrics;
  });

  /** Down to the newest post of the pass before; `start` is the page's offset inside a pass. */
  const media: SyncStream = {
    name: 'media',
    async fetch(tokens, account, cursor) {
      const start = typeof cursor?.start === 'number' ? cursor.start : 0;
      const res = await call({
        url: restli(api(), '/rest/posts', {
          q: 'author',
          author: enc(linkedInAuthor(account)),
          count: String(POSTS_PAGE),
          start: String(start),
          sortBy: 'CREATED',
        }),
        headers: headers(tokens),
      });
      const elements = elementsOf(res.body);
      const posts = elements
        .filter((p) => typeof p.id === 'string')
        .map((p) => ({ post: p, id: String(p.id), at: num(p.createdAt) ?? num(p.publishedAt) ?? 0 }));
      const total = num(asRecord(asRecord(res.body).paging).total);
      const more = total === undefined ? elements.length === POSTS_PAGE : start + elements.length < total;
      const next = more && elements.length ? { start: start + elements.length } : undefined;
      const { fresh, ...page } = watermarkPage(cursor, posts, byTime, next);
      return {
        media: fresh.map(
          ({ post, id, at }): SyncedMedia => ({
            externalId: id,
            publishedAt: new Date(num(post.publishedAt) ?? at),
            mediaType: mediaTypeOf(post.content),
            permalink: linkedInPermalink(id),
          }),
        ),
        ...page,
      };
    },
  };

  /**
   * Lifetime counters of the known posts, 20 a call: share statistics for a page, likes and comments
   * (socialActions) for a member.
   */
  const mediaMetrics = mediaMetricsStream(STATS_BATCH, async (tokens, account, urns) => {
    const org = linkedInOrganization(account);
    const metrics: MetricSample[] = [];
    if (org) {
      const shares = urns.filter((u) => !u.startsWith('urn:li:ugcPost:'));
      const ugcPosts = urns.filter((u) => u.startsWith('urn:li:ugcPost:'));
      const res = await call({
        url: restli(api(), '/rest/organizationalEntityShareStatistics', {
          q: 'organizationalEntity',
          organizationalEntity: enc(org),
          shares: shares.length ? list(shares) : undefined,
          ugcPosts: ugcPosts.length ? list(ugcPosts) : undefined,
        }),
        headers: headers(tokens),
      });
      for (const element of elementsOf(res.body)) {
        const urn = str(element.share) ?? str(element.ugcPost);
        const stats = asRecord(element.totalShareStatistics);
        for (const [field, metric] of Object.entries(SHARE_STATISTICS)) {
          const value = num(stats[field]);
          if (urn && value !== undefined) metrics.push({ objectKind: 'media', objectId: urn, metric, value });
        }
      }
    } else {
      const res = await call({
        url: restli(api(), '/rest/socialActions', { ids: list(urns) }),
        headers: headers(tokens),
      });
      for (const [urn, raw] of Object.entries(asRecord(asRecord(res.body).results))) {
        const actions = asRecord(raw);
        const likes = asRecord(actions.likesSummary);
        const comments = asRecord(actions.commentsSummary);
        const likeCount = num(likes.totalLikes) ?? num(likes.aggregatedTotalLikes);
        const commentCount = num(comments.aggregatedTotalComments) ?? num(comments.totalFirstLevelComments);
        if (likeCount !== undefined)
          metrics.push({ objectKind: 'media', objectId: urn, metric: 'likes', value: likeCount });
        if (commentCount !== undefined) {
          metrics.push({ objectKind: 'media', objectId: urn, metric: 'comments', value: commentCount });
        }
      }
    }
    return metrics;
  });

  /**
   * Comments of the newest posts, one post at a time, newest first down to `since`: LinkedIn's clock
   * when the pass before began, so a comment made while that pass ran is still read. Cursor in a
   * pass: since, started (LinkedIn's clock at this pass's first call), posts (the pass's post list),
   * i (which post) and start (offset); done: { since: started }.
   */
  const comments: SyncStream = {
    name: 'comments',
    async fetch(tokens, account, cursor, ctx) {
      const since = num(cursor?.since);
      const posts = Array.isArray(cursor?.posts)
        ? cursor.posts.filter((p): p is string => typeof p === 'string')
        : ctx.mediaIds.slice(0, COMMENT_POSTS);
      const i = num(cursor?.i) ?? 0;
      const start = num(cursor?.start) ?? 0;
      const post = posts[i];
      if (!post) return { cursor: compact({ since: num(cursor?.started) ?? since }), done: true };
      const res = await call({
        url: restli(api(), `/rest/socialActions/${enc(post)}/comments`, {
          start: String(start),
          count: String(COMMENTS_PAGE),
        }),
        headers: headers(tokens),
      });
      const started = num(cursor?.started) ?? res.serverNowMs;
      const elements = elementsOf(res.body);
      const stop = since === undefined ? -1 : elements.findIndex((c) => Number(asRecord(c.created).time) < since);
      const fresh = stop === -1 ? elements : elements.slice(0, stop);
      const own = ownActors(account);
      const messages = fresh.map((c) => commentMessage(c, post, own)).filter((m): m is InboundMessage => !!m);
      const total = num(asRecord(asRecord(res.body).paging).total);
      const more =
        stop === -1 && (total === undefined ? elements.length === COMMENTS_PAGE : start + elements.length < total);
      const next = more ? { i, start: start + elements.length } : { i: i + 1, start: 0 };
      if (next.i >= posts.length) return { messages, cursor: compact({ since: started }), done: true };
      return { messages, cursor: compact({ since, started, posts, ...next }), done: false };
    },
  };

  const inbox: Inbox = {
    replyKinds: ['comment'],
    // LinkedIn has no hiding of comments through the API.
    moderation: ['delete'],

    async reply(tokens, account, target, text) {
      const parent = target.messageExternalId.startsWith('urn:li:comment:') ? target.messageExternalId : undefined;
      const res = await call({
        method: 'POST',
        url: url(api(), `/rest/socialActions/${enc(target.threadExternalId)}/comments`),
        headers: headers(tokens),
        json: {
          actor: linkedInAuthor(account),
          object: target.threadExternalId,
          message: { text },
          ...(parent ? { parentComment: parent } : {}),
        },
        write: true,
      });
      const body = asRecord(res.body);
      const id = str(body.commentUrn) ?? str(body.id) ?? str(res.headers.get('x-restli-id'));
      if (!id)
        throw new PlatformError('linkedin', 'outcome_unknown', 'linkedin: the comment was created without an id');
      return { externalId: id.startsWith('urn:li:') ? id : `urn:li:comment:(${target.threadExternalId},${id})` };
    },

    // The post's comments, newest first: one by the account with this text since `since`.
    async findReply(tokens, account, target, text, since) {
      const floor = since.getTime() - FIND_SKEW_MS;
      const own = ownActors(account);
      for (let page = 0; page < FIND_PAGES; page++) {
        const res = await call({
          url: restli(api(), `/rest/socialActions/${enc(target.threadExternalId)}/comments`, {
            start: String(page * COMMENTS_PAGE),
            count: String(COMMENTS_PAGE),
          }),
          headers: headers(tokens),
        });
        const elements = elementsOf(res.body);
        for (const c of elements) {
          const m = commentMessage(c, target.threadExternalId, own);
          if (!m || m.createdAt.getTime() < floor) return { found: false };
          if (m.fromAccount && m.text === text) return { found: true, externalId: m.externalId };
        }
        if (elements.length < COMMENTS_PAGE) break;
      }
      return { found: false };
    },

    async moderate(tokens, account, target, action) {
      if (action !== 'delete') {
        throw new PlatformError(
          'linkedin',
          'permanent',
          `linkedin: comments cannot be ${action === 'hide' ? 'hidden' : 'shown again'}; delete them`,
        );
      }
      const id = commentIdOf(target.messageExternalId);
      if (!id)
        throw new PlatformError('linkedin', 'permanent', `linkedin: ${target.messageExternalId} is not a comment`);
      try {
        await call({
          method: 'DELETE',
          url: restli(api(), `/rest/socialActions/${enc(target.threadExternalId)}/comments/${id}`, {
            actor: enc(linkedInAuthor(account)),
          }),
          headers: headers(tokens),
        });
      } catch (err) {
        // Gone already (an earlier delete whose answer was lost): what was asked for holds.
        if (isPlatformError(err) && err.status === 404) return;
        throw err;
      }
    },
  };

  return { streams: [accountMetrics, accountTotals, audience, media, mediaMetrics, comments], inbox };
}

// Webhooks: organization social action notifications. LinkedIn validates the endpoint with a
// challengeCode (answered with its HMAC under the client secret) and signs deliveries in X-LI-Signature.

const hmacHex = (secret: string, data: string | Buffer) => createHmac('sha256', secret).update(data).digest('hex');

export function linkedInWebhooks(clientSecret: string): Webhooks {
  return {
    handshake(query) {
      const code = query.challengeCode;
      if (!code) return undefined;
      return { status: 200, body: { challengeCode: code, challengeResponse: hmacHex(clientSecret, code) } };
    },

    verify(headers, rawBody) {
      const raw = headers['x-li-signature'];
      const signature = (Array.isArray(raw) ? raw[0] : raw)?.trim();
      if (!signature) return { ok: false, reason: 'x-li-signature is missing' };
      if (!clientSecret) return { ok: false, reason: 'no client secret to check the signature with' };
      // hmacsha256=<hex of the body's HMAC>; LinkedIn's guide also shows the bare hex of the HMAC of
      // "hmacsha256=" + body. Either proves the client secret.
      const ok =
        sameSecret(signature, `hmacsha256=${hmacHex(clientSecret, rawBody)}`) ||
        sameSecret(signature, hmacHex(clientSecret, Buffer.concat([Buffer.from('hmacsha256='), rawBody])));
      return ok ? { ok: true } : { ok: false, reason: 'the signature does not match the body' };
    },

    parse(body) {
      const events: WebhookEvent[] = [];
      const notifications = asRecord(body).notifications;
      for (const raw of Array.isArray(notifications) ? notifications : []) {
        const n = asRecord(raw);
        const org = str(n.organizationalEntity);
        const activity = str(n.generatedActivity);
        if (!org || n.notificationId === undefined || !activity) continue;
        const base = { accountExternalId: org, dedupeKey: `linkedin:${String(n.notificationId)}` };
        const at = new Date(num(n.lastModifiedAt) ?? Date.now());
        const decorated = asRecord(n.decoratedGeneratedActivity);
        switch (n.action) {
          case 'COMMENT':
          case 'ADMIN_COMMENT': {
            const comment = asRecord(decorated.comment);
            const author = String(comment.owner ?? n.actor ?? '');
            const parent = str(comment.parentComment);
            events.push({
              ...base,
              message: {
                externalId: activity,
                threadKind: 'comment',
                threadExternalId: String(n.sourcePost ?? comment.object ?? ''),
                ...(parent ? { parentExternalId: parent } : {}),
                authorExternalId: author,
                text: String(comment.text ?? asRecord(comment.message).text ?? ''),
                createdAt: at,
                fromAccount: n.action === 'ADMIN_COMMENT' || author === org,
              },
            });
            break;
          }
          case 'SHARE_MENTION': {
            const share = asRecord(decorated.share);
            events.push({
              ...base,
              message: {
                externalId: activity,
                threadKind: 'mention',
                threadExternalId: activity,
                authorExternalId: String(share.owner ?? ''),
                text: String(share.text ?? asRecord(share.commentary).text ?? ''),
                createdAt: at,
                fromAccount: false,
              },
            });
            break;
          }
          case 'COMMENT_DELETE':
            events.push({ ...base, removed: { externalId: activity } });
            break;
        }
      }
      return events;
    },
  };
}
