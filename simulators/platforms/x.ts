import { createHash } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { SimMessage, SimPost } from '../content.ts';
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

// X: OAuth 2 with mandatory PKCE (x.com/i/oauth2/authorize, api.x.com/2/oauth2/*), single-use refresh
// tokens, 15-minute windows with x-rate-limit-* headers on every answer, media uploads (simple and
// chunked, with processing), and posts whose only duplicate guard is X refusing identical text.

const problem = (status: number, title: string, detail = title, type = 'about:blank'): SimReply => ({
  status,
  body: { title, type, status, detail },
});

/** X's answer to a refresh token it will not take: rotated out, revoked or unknown. */
const invalidToken = (): SimReply => ({
  status: 400,
  body: { error: 'invalid_request', error_description: 'Value passed for the token was invalid.' },
});

/** X's invalid-request problem, naming the parameters at fault. */
const invalidRequest = (message: string, parameters: Record<string, unknown[]> = {}): SimReply => ({
  status: 400,
  body: {
    errors: [{ parameters, message }],
    title: 'Invalid Request',
    detail: 'One or more parameters to your request was invalid.',
    type: 'https://api.x.com/2/problems/invalid-request',
  },
});

const notFound = (resource: 'tweet' | 'user', id: string) => ({
  value: id,
  detail: `Could not find ${resource} with id: [${id}].`,
  title: 'Not Found Error',
  resource_type: resource,
  parameter: 'id',
  resource_id: id,
  type: 'https://api.x.com/2/problems/resource-not-found',
});

const usageCapped = (): SimReply => ({
  status: 429,
  body: {
    title: 'UsageCapExceeded',
    type: 'https://api.x.com/2/problems/usage-capped',
    period: 'Monthly',
    scope: 'Product',
    detail: 'Usage cap exceeded: Monthly product cap',
    status: 429,
  },
});

/** X's own message for a repeated text; after a lost answer it means the first post landed. */
const DUPLICATE = 'You are not allowed to create a Tweet with duplicate content.';
const MEDIA_INVALID = 'Your media IDs are invalid.';
/** Who may reply to a new post; leaving it out lets everyone reply. */
const REPLY_SETTINGS = ['following', 'mentionedUsers', 'subscribers', 'verified'];

/** Per-endpoint 15-minute windows. X counts most per user; the simulator has one app and counts per app. */
const WINDOW_MS = 15 * 60_000;
const LIMITS: Record<string, number> = {
  me: 75,
  publish: 100,
  delete: 50,
  timeline: 900,
  tweet: 900,
  media_upload: 1875,
  media_init: 1875,
  media_append: 1875,
  media_finalize: 1875,
  media_status: 1000,
  media_stats: 900,
  mentions: 300,
  dms: 15,
  dm_conversation: 15,
  dm_send: 15,
  moderate: 50,
};

/**
 * x-rate-limit-* for a route: its window as it stands after this call, or, when throttled, nothing
 * left until `retryAfterS` from now. Routes without a window get only the reset of a forced throttle.
 */
function rateHeaders(sim: PlatformSim, route: string, retryAfterS?: number): Record<string, string> {
  const window = sim.windows.find((w) => w.route === route);
  const now = sim.clock.now();
  const resetMs =
    retryAfterS !== undefined
      ? now + retryAfterS * 1000
      : window
        ? (window.hits[0] ?? now) + window.windowMs
        : undefined;
  return {
    ...(window
      ? {
          'x-rate-limit-limit': String(window.limit),
          'x-rate-limit-remaining': String(
            retryAfterS !== undefined ? 0 : Math.max(0, window.limit - window.hits.length),
          ),
        }
      : {}),
    ...(resetMs !== undefined ? { 'x-rate-limit-reset': String(Math.ceil(resetMs / 1000)) } : {}),
  };
}

/** Milliseconds since X's snowflake epoch (2010-11-04). */
const TWEPOCH = 1_288_834_974_657;
const MIB = 1_048_576;
const MEDIA_TTL_S = 86_400;
/** Counted in code points; X weighs some characters double and URLs as 23, which the sim skips. */
const MAX_TEXT = 280;

type MediaKind = 'image' | 'gif' | 'video';
/** What each category holds, its media_key prefix (3 photo, 16 animated GIF, 7 video, 13 amplify video), its size cap. */
const CATEGORIES: Record<string, { kind: MediaKind; keyPrefix: string; maxBytes: number }> = {
  tweet_image: { kind: 'image', keyPrefix: '3', maxBytes: 5 * MIB },
  tweet_gif: { kind: 'gif', keyPrefix: '16', maxBytes: 15 * MIB },
  tweet_video: { kind: 'video', keyPrefix: '7', maxBytes: 512 * MIB },
  amplify_video: { kind: 'video', keyPrefix: '13', maxBytes: 512 * MIB },
};

interface Media {
  id: string;
  key: string;
  accountId: string;
  kind: MediaKind;
  mediaType: string;
  totalBytes: number;
  /** Bytes received per segment_index; a re-sent segment replaces its earlier copy. */
  segments: Map<number, number>;
  expiresAt: number;
  finalized: boolean;
  /** Videos and GIFs process after finalize as a 'media' job; images are ready at once. */
  job?: SimJob;
}

interface Tweet {
  id: string;
  text: string;
  accountId: string;
  createdAt: number;
  mediaIds: string[];
  mediaKeys: string[];
  replyTo?: string;
  quoteOf?: string;
  /** Who may reply (absent: everyone). */
  replySettings?: string;
  deletedAt?: number;
  /** Posts of other users (mentions, replies) from the content store. */
  authorName?: string;
  /** The post that started the conversation (absent: this one). */
  conversationId?: string;
  inReplyToUserId?: string;
  /** Users a post mentions (the account, for mentions and replies to its posts). */
  mentions?: string[];
  /** Lifetime counters (content store names: impression_count, like_count, … or views, likes, …). */
  counters?: Record<string, number>;
}

/** X user ids are numeric; the content store's made-up authors (fan-0, …) get a stable one. */
export function xUserId(authorId: string): string {
  if (/^\d{1,19}$/.test(authorId)) return authorId;
  const n = createHash('sha256').update(authorId).digest().readBigUInt64BE(0);
  return String(10n ** 17n + (n % (9n * 10n ** 17n)));
}

const handleOf = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '')
    .slice(0, 15) || 'user';

/** A one-to-one DM conversation is named by both user ids, smaller first. */
export function xConversationId(a: string, b: string): string {
  const [x, y] = [xUserId(a), xUserId(b)];
  return BigInt(x) < BigInt(y) ? `${x}-${y}` : `${y}-${x}`;
}

/** public_metrics from content store counters (X's names, or the generic ones). */
function publicMetrics(c: Record<string, number> = {}) {
  const n = (own: string, generic: string) => c[own] ?? c[generic] ?? 0;
  return {
    retweet_count: n('retweet_count', 'shares'),
    reply_count: n('reply_count', 'comments'),
    like_count: n('like_count', 'likes'),
    quote_count: n('quote_count', 'quotes'),
    bookmark_count: n('bookmark_count', 'bookmarks'),
    impression_count: n('impression_count', 'views'),
  };
}

/** Pagination tokens are opaque at X; the simulator's carry the oldest id of the page before. */
const pageToken = (oldestId: string) => Buffer.from(`before:${oldestId}`).toString('base64url');

/** since_id, until_id and pagination_token as snowflakes, or X's refusal of a malformed one. */
function idBounds(q: URLSearchParams): { ids: Record<string, bigint> } | { refused: SimReply } {
  const token = q.get('pagination_token');
  const raw = {
    since_id: q.get('since_id'),
    until_id: q.get('until_id'),
    pagination_token: token
      ? Buffer.from(token, 'base64url')
          .toString('utf8')
          .replace(/^before:/, '')
      : null,
  };
  const ids: Record<string, bigint> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!value) continue;
    if (!/^\d{1,19}$/.test(value)) {
      return {
        refused: invalidRequest(`The \`${name}\` query parameter value is not valid.`, { [name]: [q.get(name)] }),
      };
    }
    ids[name] = BigInt(value);
  }
  return { ids };
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** v1.1 dates, as Account Activity events carry them: "Wed Oct 10 20:19:24 +0000 2018". */
function v1Date(ms: number): string {
  const d = new Date(ms);
  const time = d.toISOString().slice(11, 19);
  const day = String(d.getUTCDate()).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${day} ${time} +0000 ${d.getUTCFullYear()}`;
}

interface Part {
  data: Buffer;
  contentType?: string;
}

/** The fields of a multipart/form-data body (the server parses JSON and urlencoded bodies only). */
function multipart(req: SimRequest): Map<string, Part> | undefined {
  const m = /^multipart\/form-data;.*\bboundary=(?:"([^"]+)"|([^;\s]+))/i.exec(
    String(req.headers['content-type'] ?? ''),
  );
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) return undefined;
  const delimiter = Buffer.from(`--${boundary}`);
  const body = req.bytes;
  const parts = new Map<string, Part>();
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    const start = at + delimiter.length + 2; // past the CRLF (or the closing "--")
    if (body.subarray(at + delimiter.length, start).toString() === '--') break;
    const next = body.indexOf(delimiter, start);
    if (next === -1) break;
    const part = body.subarray(start, next - 2); // the CRLF before the next delimiter belongs to it
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd !== -1) {
      const head = part.subarray(0, headerEnd).toString('utf8');
      const name = /(?:^|;)\s*name="([^"]*)"/im.exec(head)?.[1];
      const contentType = /^content-type:\s*([^\r\n]+)/im.exec(head)?.[1];
      if (name !== undefined) parts.set(name, { data: part.subarray(headerEnd + 4), contentType });
    }
    at = next;
  }
  return parts;
}

/** Request fields from multipart, JSON (media as base64) or urlencoded bodies alike. */
interface Fields {
  get(name: string): string | undefined;
  /** Upload bytes: raw from multipart `media`, base64 from `media` in JSON or `media_data` anywhere. */
  media(): Buffer | undefined;
}

function fieldsOf(req: SimRequest): Fields {
  const parts = multipart(req);
  const json = req.json;
  const get = (name: string): string | undefined => {
    if (parts) return parts.get(name)?.data.toString('utf8');
    if (json) return json[name] === undefined || json[name] === null ? undefined : String(json[name]);
    return req.form.get(name) ?? undefined;
  };
  const base64 = (value: string | undefined) => (value ? Buffer.from(value, 'base64') : undefined);
  return {
    get,
    media: () => (parts ? parts.get('media')?.data : base64(get('media'))) ?? base64(get('media_data')),
  };
}

export function createXSim(clock: Clock) {
  const sim = new PlatformSim(clock, {
    id: 'x',
    clientId: 'sim-x-client',
    clientSecret: 'sim-x-secret',
    policy: {
      accessTtlS: 7200,
      refreshTtlS: null,
      rotate: true,
      refreshExtends: true,
      minRefreshAgeS: 0,
      codeTtlS: 30,
    },
    tokenPrefix: { access: 'xat.', refresh: 'xrt.' },
    throttle: (s, retryAfterS, route) => ({
      ...problem(429, 'Too Many Requests'),
      headers: rateHeaders(s, route, retryAfterS),
    }),
    serverError: (_sim, status) => problem(status, STATUS_CODES[status] ?? 'Server Error'),
  });
  for (const [route, limit] of Object.entries(LIMITS)) sim.limit(route, limit, WINDOW_MS);

  const media = new Map<string, Media>();
  const tweets: Tweet[] = [];
  let lastId = 0n;

  /** Ids are snowflakes: they grow with time, which is what since_id and until_id rely on. */
  function snowflake(): string {
    let id = BigInt(clock.now() - TWEPOCH) << 22n;
    if (id <= lastId) id = lastId + 1n;
    lastId = id;
    return id.toString();
  }
  /** The snowflake of something made at `ms` (seeded history); the low bits keep ids of one millisecond apart. */
  const snowflakeAt = (ms: number) =>
    ((BigInt(Math.max(0, ms - TWEPOCH)) << 22n) | BigInt(Math.floor(Math.random() * 4_194_304))).toString();

  sim.contentId = snowflake;
  // Seeded history gets X's shapes: snowflakes from each item's creation time (so since_id and the DM
  // watermark see the order they happened in), numeric authors, and DM threads named by both users.
  const seedContent = sim.content.seed.bind(sim.content);
  sim.content.seed = (now, spec, makeId) => {
    const seeded = seedContent(now, spec, makeId);
    const ids = new Map<string, string>();
    for (const item of [...seeded.posts, ...seeded.messages]) {
      const id = snowflakeAt(item.createdAt);
      ids.set(item.id, id);
      item.id = id;
    }
    for (const m of seeded.messages) {
      m.authorId = xUserId(m.authorId);
      m.threadId = m.kind === 'dm' ? xConversationId(spec.accountId, m.authorId) : (ids.get(m.threadId) ?? m.threadId);
      if (m.parentId) m.parentId = ids.get(m.parentId) ?? m.parentId;
    }
    return seeded;
  };

  /** An API route: its answers, errors included, carry the x-rate-limit-* headers of its window. */
  function api(
    method: string,
    path: string | RegExp,
    name: string,
    handler: (req: SimRequest) => SimReply,
    opts: { write?: boolean } = {},
  ): void {
    sim.route(
      method,
      path,
      name,
      (req) => {
        const reply = handler(req);
        // A handler's own 429 is the usage cap, which carries no reset to wait for.
        if (reply.status === 429) return reply;
        return { ...reply, headers: { ...rateHeaders(sim, name), ...reply.headers } };
      },
      opts,
    );
  }

  /** The token's account, or the answer that refuses it. */
  function caller(req: SimRequest, scope: string): SimAccount | SimReply {
    const auth = sim.check(req.token);
    // Expired, revoked and unknown tokens all get the same 401.
    if (!auth.ok || !auth.account || !auth.grant) return problem(401, 'Unauthorized');
    if (!auth.grant.scopes.includes(scope)) return problem(403, 'Forbidden');
    return auth.account;
  }

  /** Confidential clients authenticate with HTTP Basic, public ones send client_id; undefined: refused. */
  function clientOf(req: SimRequest): string | undefined {
    const basic = /^Basic\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''));
    if (basic) {
      const [id = '', secret = ''] = Buffer.from(basic[1] ?? '', 'base64')
        .toString('utf8')
        .split(':');
      return sim.checkClient(id, secret) ? id : undefined;
    }
    const id = req.form.get('client_id');
    return id && sim.checkClient(id) ? id : undefined;
  }

  const badClient = (): SimReply => ({
    status: 401,
    body: { error: 'unauthorized_client', error_description: 'Missing valid authorization header' },
  });

  /** The presented refresh token retires; its successor keeps or renews the lifetime per policy. */
  function rotate(grant: Grant, old: SimToken): SimToken {
    if (!sim.policy.rotate) return old;
    old.retiredAt = clock.now();
    const next = sim.issue(grant, 'refresh', sim.policy.refreshTtlS);
    if (!sim.policy.refreshExtends) next.expiresAt = old.expiresAt;
    return next;
  }

  function tokenReply(grant: Grant, refresh: SimToken | undefined): SimReply {
    const access = sim.issue(grant, 'access', sim.policy.accessTtlS);
    return {
      status: 200,
      body: {
        token_type: 'bearer',
        expires_in: sim.policy.accessTtlS,
        access_token: access.value,
        scope: grant.scopes.join(' '),
        ...(refresh ? { refresh_token: refresh.value } : {}),
      },
    };
  }

  sim.route('GET', '/i/oauth2/authorize', 'authorize', (req) => {
    const q = req.query;
    if (q.get('response_type') !== 'code') return { status: 400, body: { error: 'unsupported_response_type' } };
    // PKCE is mandatory: X's consent page will not start without a challenge.
    if (!q.get('code_challenge')) {
      return {
        status: 400,
        body: { error: 'invalid_request', error_description: 'Missing required parameter [code_challenge].' },
      };
    }
    return sim.authorize({
      clientId: q.get('client_id'),
      redirectUri: q.get('redirect_uri'),
      scopes: (q.get('scope') ?? '').split(' ').filter(Boolean),
      state: q.get('state'),
      challenge: q.get('code_challenge'),
      challengeMethod: q.get('code_challenge_method') ?? 'plain',
    });
  });

  sim.route('POST', '/2/oauth2/token', 'token', (req) => {
    const clientId = clientOf(req);
    if (!clientId) return badClient();
    const f = req.form;
    if (f.get('grant_type') === 'authorization_code') {
      if (!f.get('code_verifier')) {
        return {
          status: 400,
          body: { error: 'invalid_request', error_description: 'Missing required parameter [code_verifier].' },
        };
      }
      const redeemed = sim.redeemCode(f.get('code'), {
        clientId,
        redirectUri: f.get('redirect_uri'),
        verifier: f.get('code_verifier'),
      });
      if ('error' in redeemed) {
        const what =
          redeemed.description === 'Invalid code verifier.'
            ? 'code verifier did not match the code challenge'
            : 'authorization code was invalid';
        return { status: 400, body: { error: 'invalid_request', error_description: `Value passed for the ${what}.` } };
      }
      const { grant } = redeemed;
      // Only offline.access earns a refresh token.
      const refresh = grant.scopes.includes('offline.access')
        ? sim.issue(grant, 'refresh', sim.policy.refreshTtlS)
        : undefined;
      return tokenReply(grant, refresh);
    }
    if (f.get('grant_type') === 'refresh_token') {
      const auth = sim.check(f.get('refresh_token') ?? undefined, 'refresh');
      if (!auth.ok || !auth.grant || !auth.token) {
        // Optional family revocation: replaying a rotated-out token kills the whole grant.
        if (auth.problem === 'retired' && auth.grant && sim.knobs.familyRevocation) {
          sim.revokeGrant(auth.grant.id, 'refresh_token_reuse');
        }
        return invalidToken();
      }
      return tokenReply(auth.grant, rotate(auth.grant, auth.token));
    }
    return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' } };
  });

  sim.route(
    'POST',
    '/2/oauth2/revoke',
    'revoke',
    (req) => {
      if (!clientOf(req)) return badClient();
      const value = req.form.get('token');
      const token = value ? sim.tokens.get(value) : undefined;
      const grant = token ? sim.grants.get(token.grantId) : undefined;
      // RFC 7009: a token that is unknown or already dead is answered like a revoked one.
      if (grant && grant.revokedAt === undefined) {
        sim.revokeGrant(grant.id);
        sim.recordWrite('revoke', { grantId: grant.id }, grant.accountId);
      }
      return { status: 200, body: { revoked: true } };
    },
    { write: true },
  );

  api('GET', '/2/users/me', 'me', (req) => {
    const a = caller(req, 'users.read');
    if ('status' in a) return a;
    if (sim.knobs.usageCapped) return usageCapped();
    const fields = new Set((req.query.get('user.fields') ?? '').split(','));
    // Seeded counts plus what content/bump added (X's names: followers_count, …).
    const count = (key: string) => Number(a.extra?.[key] ?? 0) + (sim.content.totals.get(a.id)?.[`${key}_count`] ?? 0);
    return {
      status: 200,
      body: {
        data: {
          id: a.id,
          name: a.name,
          username: a.handle,
          ...(fields.has('profile_image_url')
            ? { profile_image_url: `https://pbs.twimg.com/profile_images/${a.id}/avatar_normal.jpg` }
            : {}),
          ...(fields.has('public_metrics')
            ? {
                public_metrics: {
                  followers_count: count('followers'),
                  following_count: count('following'),
                  tweet_count: count('tweets'),
                  listed_count: count('listed'),
                  like_count: count('likes'),
                },
              }
            : {}),
        },
      },
    };
  });

  /** Declares an upload: the simple upload, INIT and /initialize all start here. */
  function initialize(
    account: SimAccount,
    mediaType: unknown,
    totalBytes: unknown,
    category: unknown,
  ): Media | SimReply {
    if (typeof mediaType !== 'string' || !/^(image|video)\/[\w.+-]+$/.test(mediaType)) {
      return invalidRequest(`The \`media_type\` value [${String(mediaType)}] is not valid.`, {
        media_type: [mediaType],
      });
    }
    const bytes = Number(totalBytes);
    if (!Number.isInteger(bytes) || bytes <= 0) {
      return invalidRequest('`total_bytes` must be a positive integer.', { total_bytes: [totalBytes] });
    }
    const isVideo = mediaType.startsWith('video/');
    const name = category
      ? String(category)
      : isVideo
        ? 'tweet_video'
        : mediaType === 'image/gif'
          ? 'tweet_gif'
          : 'tweet_image';
    const cat = CATEGORIES[name];
    if (!cat) {
      return invalidRequest(`The \`media_category\` value [${name}] is not supported.`, { media_category: [name] });
    }
    if ((cat.kind === 'video') !== isVideo || (cat.kind === 'gif' && mediaType !== 'image/gif')) {
      return invalidRequest(`media_type ${mediaType} does not fit media_category ${name}.`, {
        media_type: [mediaType],
      });
    }
    if (bytes > cat.maxBytes) {
      return invalidRequest(`total_bytes ${bytes} exceeds the ${name} limit of ${cat.maxBytes} bytes.`, {
        total_bytes: [bytes],
      });
    }
    const id = snowflake();
    const m: Media = {
      id,
      key: `${cat.keyPrefix}_${id}`,
      accountId: account.id,
      kind: cat.kind,
      mediaType,
      totalBytes: bytes,
      segments: new Map(),
      expiresAt: clock.now() + MEDIA_TTL_S * 1000,
      finalized: false,
    };
    media.set(id, m);
    return m;
  }

  /** The account's unexpired upload, or why not. */
  function ownMedia(account: SimAccount, id: string | undefined): Media | SimReply {
    const m = id ? media.get(id) : undefined;
    if (!m || m.accountId !== account.id || m.expiresAt <= clock.now()) {
      return invalidRequest(`The media_id [${id ?? ''}] was not found.`, { media_id: [id ?? null] });
    }
    return m;
  }

  function append(m: Media, segmentIndex: string | undefined, bytes: Buffer | undefined): SimReply {
    if (m.finalized) return invalidRequest('The upload has already been finalized.', { media_id: [m.id] });
    const index = Number(segmentIndex);
    if (segmentIndex === undefined || !Number.isInteger(index) || index < 0 || index > 999) {
      return invalidRequest('`segment_index` must be an integer from 0 to 999.', {
        segment_index: [segmentIndex ?? null],
      });
    }
    if (!bytes?.length) return invalidRequest('`media` is required.', { media: [null] });
    if (bytes.length > 5 * MIB) return invalidRequest('A segment must be 5 MB or smaller.', { media: [bytes.length] });
    m.segments.set(index, bytes.length);
    return { status: 200, body: { data: { expires_at: Math.floor(m.expiresAt / 1000) } } };
  }

  /** Where processing stands; `poll` counts this look as a STATUS poll. */
  function processingInfo(m: Media, opts: { poll?: boolean } = {}): Record<string, unknown> {
    const job = m.job;
    if (!job) return { state: 'succeeded', progress_percent: 100 };
    const phase = sim.jobPhase(job, opts);
    if (phase === 'failed') {
      return {
        state: 'failed',
        progress_percent: 100,
        error: { code: 1, name: 'InvalidMedia', message: job.failure },
      };
    }
    if (phase !== 'pending') return { state: 'succeeded', progress_percent: 100 };
    const elapsed = clock.now() - job.createdAt;
    const byTime = job.readyAfterMs ? elapsed / job.readyAfterMs : 1;
    const byPolls = job.readyAfterPolls ? job.polls / job.readyAfterPolls : 1;
    return {
      // The first look finds it queued; later ones find it under way.
      state: job.polls <= 1 ? 'pending' : 'in_progress',
      check_after_secs: Math.max(1, Math.ceil((job.readyAfterMs - elapsed) / 1000)),
      progress_percent: Math.min(99, Math.floor(100 * Math.min(byTime, byPolls))),
    };
  }

  /** pending, in_progress, succeeded or failed; 'unfinished' before finalize, 'expired' after its ttl. */
  function mediaState(m: Media): string {
    if (m.expiresAt <= clock.now()) return 'expired';
    if (!m.finalized) return 'unfinished';
    return String(processingInfo(m).state);
  }

  const mediaData = (m: Media, info?: Record<string, unknown>) => ({
    id: m.id,
    media_key: m.key,
    size: m.totalBytes,
    expires_after_secs: Math.max(0, Math.floor((m.expiresAt - clock.now()) / 1000)),
    ...(info ? { processing_info: info } : {}),
  });

  function finalize(m: Media): SimReply {
    if (!m.finalized) {
      const indexes = [...m.segments.keys()].sort((a, b) => a - b);
      const received = [...m.segments.values()].reduce((sum, n) => sum + n, 0);
      if (received !== m.totalBytes || indexes.some((index, i) => index !== i)) {
        return problem(400, 'Bad Request', 'Segments do not add up to provided total file size.');
      }
      m.finalized = true;
      if (m.kind !== 'image') {
        m.job = sim.startJob(
          'media',
          { mediaKey: m.key },
          { id: m.id, accountId: m.accountId, ttlMs: m.expiresAt - clock.now() },
        );
      }
    }
    // Finalizing again (after a lost answer) reports where processing stands; images carry no processing_info.
    return { status: 200, body: { data: mediaData(m, m.job ? processingInfo(m) : undefined) } };
  }

  api('POST', '/2/media/upload/initialize', 'media_init', (req) => {
    const account = caller(req, 'media.write');
    if ('status' in account) return account;
    const f = fieldsOf(req);
    const m = initialize(account, f.get('media_type'), f.get('total_bytes'), f.get('media_category'));
    if ('status' in m) return m;
    return { status: 200, body: { data: { id: m.id, media_key: m.key, expires_after_secs: MEDIA_TTL_S } } };
  });

  api('POST', /^\/2\/media\/upload\/(?<id>\d+)\/append$/, 'media_append', (req) => {
    const account = caller(req, 'media.write');
    if ('status' in account) return account;
    const m = ownMedia(account, req.params.id);
    if ('status' in m) return m;
    const f = fieldsOf(req);
    return append(m, f.get('segment_index'), f.media());
  });

  api('POST', /^\/2\/media\/upload\/(?<id>\d+)\/finalize$/, 'media_finalize', (req) => {
    const account = caller(req, 'media.write');
    if ('status' in account) return account;
    const m = ownMedia(account, req.params.id);
    return 'status' in m ? m : finalize(m);
  });

  api('GET', '/2/media/upload', 'media_status', (req) => {
    const account = caller(req, 'media.write');
    if ('status' in account) return account;
    if (req.query.get('command') !== 'STATUS') {
      return invalidRequest('`command` must be STATUS.', { command: [req.query.get('command')] });
    }
    const m = ownMedia(account, req.query.get('media_id') ?? undefined);
    if ('status' in m) return m;
    if (!m.finalized) return invalidRequest('The upload has not been finalized.', { media_id: [m.id] });
    return { status: 200, body: { data: mediaData(m, processingInfo(m, { poll: true })) } };
  });

  // One-shot image upload; the older command=INIT|APPEND|FINALIZE form on the same path works too.
  api('POST', '/2/media/upload', 'media_upload', (req) => {
    const account = caller(req, 'media.write');
    if ('status' in account) return account;
    const f = fieldsOf(req);
    const command = f.get('command') ?? req.query.get('command') ?? undefined;
    if (command === 'INIT') {
      const m = initialize(account, f.get('media_type'), f.get('total_bytes'), f.get('media_category'));
      if ('status' in m) return m;
      return { status: 200, body: { data: { id: m.id, media_key: m.key, expires_after_secs: MEDIA_TTL_S } } };
    }
    if (command === 'APPEND' || command === 'FINALIZE') {
      const m = ownMedia(account, f.get('media_id') ?? req.query.get('media_id') ?? undefined);
      if ('status' in m) return m;
      return command === 'APPEND' ? append(m, f.get('segment_index'), f.media()) : finalize(m);
    }
    if (command !== undefined) return invalidRequest(`Unknown command [${command}].`, { command: [command] });
    const bytes = f.media();
    if (!bytes?.length) return invalidRequest('`media` is required.', { media: [null] });
    const category = f.get('media_category') ?? 'tweet_image';
    if (CATEGORIES[category]?.kind !== 'image') {
      return invalidRequest('The one-shot upload takes images only; use the chunked upload.', {
        media_category: [category],
      });
    }
    const m = initialize(account, f.get('media_type') ?? 'image/jpeg', bytes.length, category);
    if ('status' in m) return m;
    m.segments.set(0, bytes.length);
    m.finalized = true;
    return { status: 200, body: { data: mediaData(m) } };
  });

  const tweetView = (t: Tweet, fieldList: string | null) => {
    const fields = new Set((fieldList ?? '').split(','));
    const refs = [
      ...(t.replyTo ? [{ type: 'replied_to', id: t.replyTo }] : []),
      ...(t.quoteOf ? [{ type: 'quoted', id: t.quoteOf }] : []),
    ];
    const replyToUser = t.inReplyToUserId ?? (t.replyTo ? findTweet(t.replyTo)?.accountId : undefined);
    return {
      id: t.id,
      text: t.text,
      edit_history_tweet_ids: [t.id],
      ...(fields.has('created_at') ? { created_at: new Date(t.createdAt).toISOString() } : {}),
      ...(fields.has('author_id') ? { author_id: t.accountId } : {}),
      ...(fields.has('conversation_id') ? { conversation_id: t.conversationId ?? t.id } : {}),
      ...(fields.has('in_reply_to_user_id') && replyToUser ? { in_reply_to_user_id: replyToUser } : {}),
      ...(fields.has('attachments') && t.mediaKeys.length ? { attachments: { media_keys: t.mediaKeys } } : {}),
      ...(fields.has('referenced_tweets') && refs.length ? { referenced_tweets: refs } : {}),
      ...(fields.has('reply_settings') ? { reply_settings: t.replySettings ?? 'everyone' } : {}),
      ...(fields.has('public_metrics') ? { public_metrics: publicMetrics(t.counters) } : {}),
    };
  };

  /** includes.users for the authors of `shown`, when expansions asks for them. */
  function includedUsers(shown: Tweet[], expansions: string | null) {
    if (!(expansions ?? '').split(',').includes('author_id')) return {};
    const users = new Map<string, { id: string; name: string; username: string }>();
    for (const t of shown) {
      const account = sim.accounts.get(t.accountId);
      const name = account?.name ?? t.authorName ?? t.accountId;
      users.set(t.accountId, { id: t.accountId, name, username: account?.handle ?? handleOf(name) });
    }
    return { includes: { users: [...users.values()] } };
  }

  const postTweet = (p: SimPost): Tweet => ({
    id: p.id,
    text: p.text,
    accountId: p.accountId,
    createdAt: p.createdAt,
    mediaIds: [],
    mediaKeys: [],
    counters: p.counters,
  });

  /** Someone else's post from the content store: a mention of the account, or a reply in its conversation. */
  const messageTweet = (m: SimMessage): Tweet => {
    const ownPost = sim.content.post(m.threadId);
    const replyTo = m.parentId ?? (m.kind === 'comment' ? m.threadId : undefined);
    const author = m.fromAccount ? m.accountId : xUserId(m.authorId);
    return {
      id: m.id,
      text: m.text,
      accountId: author,
      authorName: m.authorName,
      createdAt: m.createdAt,
      mediaIds: [],
      mediaKeys: [],
      replyTo,
      conversationId: m.threadId,
      inReplyToUserId: replyTo && ownPost ? ownPost.accountId : undefined,
      mentions: m.fromAccount ? [] : [m.accountId],
    };
  };

  /** Every live post the simulator knows: published through the API, seeded, and other users' posts. */
  function everyTweet(): Tweet[] {
    const seen = new Set<string>();
    const out: Tweet[] = [];
    for (const t of tweets) {
      seen.add(t.id);
      if (t.deletedAt === undefined) out.push({ ...t, counters: sim.content.post(t.id)?.counters ?? t.counters });
    }
    for (const p of sim.content.posts) if (!seen.has(p.id)) out.push(postTweet(p));
    for (const m of sim.content.messages) {
      if (!seen.has(m.id) && m.kind !== 'dm' && !m.deleted) out.push(messageTweet(m));
    }
    return out;
  }

  function findTweet(id: unknown): Tweet | undefined {
    if (typeof id !== 'string') return undefined;
    const own = tweets.find((t) => t.id === id);
    if (own) return own.deletedAt === undefined ? own : undefined;
    const post = sim.content.post(id);
    if (post) return postTweet(post);
    const message = sim.content.messages.find((m) => m.id === id && m.kind !== 'dm' && !m.deleted);
    return message ? messageTweet(message) : undefined;
  }

  const liveTweet = findTweet;

  // The commit. X has no idempotency key: a retry after a lost answer is refused as duplicate content,
  // and the user timeline (since_id) shows the post that landed.
  api(
    'POST',
    '/2/tweets',
    'publish',
    (req) => {
      const account = caller(req, 'tweet.write');
      if ('status' in account) return account;
      if (sim.knobs.usageCapped) return usageCapped();
      const b = req.json ?? {};
      if (b.text !== undefined && typeof b.text !== 'string') return invalidRequest('`text` must be a string.');
      const text = (b.text as string | undefined) ?? '';
      const requested = b.media === undefined ? [] : (b.media as { media_ids?: unknown } | null)?.media_ids;
      if (!Array.isArray(requested) || requested.some((id) => typeof id !== 'string')) {
        return invalidRequest('`media.media_ids` must be an array of strings.', { 'media.media_ids': [requested] });
      }
      if (!text && !requested.length) return invalidRequest('Post text or media is required.', { text: [text] });
      if ([...text].length > MAX_TEXT) {
        return invalidRequest(`Post text is longer than ${MAX_TEXT} characters.`, { text: [text] });
      }
      if (requested.length > 4) return invalidRequest('At most 4 media ids.', { 'media.media_ids': requested });
      const attached: Media[] = [];
      for (const id of requested as string[]) {
        const m = media.get(id);
        // Unknown, someone else's, expired, still processing or failed: X says the same for each.
        if (!m || m.accountId !== account.id || mediaState(m) !== 'succeeded') {
          return problem(400, 'Bad Request', MEDIA_INVALID);
        }
        attached.push(m);
      }
      if (attached.length > 1 && attached.some((m) => m.kind !== 'image')) {
        return invalidRequest('A post takes up to 4 images or 1 video or GIF.', { 'media.media_ids': requested });
      }
      const replyTo =
        b.reply === undefined
          ? undefined
          : (b.reply as { in_reply_to_tweet_id?: unknown } | null)?.in_reply_to_tweet_id;
      if (b.reply !== undefined && !liveTweet(replyTo)) {
        return problem(403, 'Forbidden', 'You attempted to reply to a Tweet that is deleted or not visible to you.');
      }
      if (b.reply_settings !== undefined && !REPLY_SETTINGS.includes(String(b.reply_settings))) {
        return invalidRequest(
          `The \`reply_settings\` value [${String(b.reply_settings)}] is not one of [${REPLY_SETTINGS.join(', ')}]`,
          { reply_settings: [b.reply_settings] },
        );
      }
      if (b.quote_tweet_id !== undefined && !liveTweet(b.quote_tweet_id)) {
        return problem(403, 'Forbidden', 'You attempted to quote a Tweet that is deleted or not visible to you.');
      }
      if (text && tweets.some((t) => t.accountId === account.id && t.deletedAt === undefined && t.text === text)) {
        return problem(403, 'Forbidden', DUPLICATE);
      }
      const tweet: Tweet = {
        id: snowflake(),
        text,
        accountId: account.id,
        createdAt: clock.now(),
        mediaIds: attached.map((m) => m.id),
        mediaKeys: attached.map((m) => m.key),
        replyTo: replyTo === undefined ? undefined : String(replyTo),
        quoteOf: b.quote_tweet_id === undefined ? undefined : String(b.quote_tweet_id),
        replySettings: b.reply_settings === undefined ? undefined : String(b.reply_settings),
      };
      tweets.push(tweet);
      // The content store learns of it too, so syncs list it, counters can be bumped, and a reply
      // shows up as the account's own message in its thread.
      if (tweet.replyTo) {
        const parent = sim.content.messages.find((m) => m.id === tweet.replyTo);
        sim.content.addMessage(
          sim.content.message({
            id: tweet.id,
            accountId: account.id,
            kind: parent?.kind === 'mention' ? 'mention' : 'comment',
            threadId: parent?.threadId ?? findTweet(tweet.replyTo)?.conversationId ?? tweet.replyTo,
            parentId: tweet.replyTo,
            authorId: account.id,
            authorName: account.name,
            text,
            createdAt: tweet.createdAt,
            fromAccount: true,
          }),
        );
      } else {
        sim.content.posts.unshift({
          id: tweet.id,
          accountId: account.id,
          createdAt: tweet.createdAt,
          text,
          mediaType: attached[0]?.kind.toUpperCase() ?? 'TEXT',
          counters: {},
        });
      }
      sim.recordWrite(
        'publish',
        {
          id: tweet.id,
          text,
          mediaIds: tweet.mediaIds,
          ...(tweet.replySettings ? { replySettings: tweet.replySettings } : {}),
        },
        account.id,
      );
      return { status: 201, body: { data: { id: tweet.id, text, edit_history_tweet_ids: [tweet.id] } } };
    },
    { write: true },
  );

  /**
   * One page of posts, newest first: max_results, since_id / until_id / pagination_token (snowflake
   * bounds; the token carries the oldest id of the previous page), start_time / end_time.
   */
  function tweetPage(req: SimRequest, candidates: Tweet[]): SimReply {
    const q = req.query;
    const maxResults = q.get('max_results');
    const max = Number(maxResults ?? 10);
    if (!Number.isInteger(max) || max < 5 || max > 100) {
      return invalidRequest(`The \`max_results\` value [${maxResults}] is not between 5 and 100`, {
        max_results: [maxResults],
      });
    }
    const bounds = idBounds(q);
    if ('refused' in bounds) return bounds.refused;
    const { since_id: since, until_id: until, pagination_token: before } = bounds.ids;
    // Time bounds (ISO 8601, to the second or the millisecond): start_time inclusive, end_time too.
    const times: Record<string, number> = {};
    for (const name of ['start_time', 'end_time']) {
      const value = q.get(name);
      if (!value) continue;
      const at = Date.parse(value);
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/.test(value) || Number.isNaN(at)) {
        return invalidRequest(`Invalid '${name}':'${value}'. '${name}' must be a date in ISO 8601 format.`, {
          [name]: [value],
        });
      }
      times[name] = at;
    }
    const { start_time: startTime, end_time: endTime } = times;
    if (startTime !== undefined && endTime !== undefined && startTime >= endTime) {
      return invalidRequest('`start_time` must be before `end_time`.', { start_time: [q.get('start_time')] });
    }
    const matching = candidates
      .filter((t) => {
        const n = BigInt(t.id);
        return (
          (since === undefined || n > since) &&
          (until === undefined || n < until) &&
          (before === undefined || n < before) &&
          (startTime === undefined || t.createdAt >= startTime) &&
          (endTime === undefined || t.createdAt <= endTime)
        );
      })
      .sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1));
    const shown = matching.slice(0, max);
    const oldest = shown.at(-1);
    if (!oldest) return { status: 200, body: { meta: { result_count: 0 } } };
    return {
      status: 200,
      body: {
        data: shown.map((t) => tweetView(t, q.get('tweet.fields'))),
        ...includedUsers(shown, q.get('expansions')),
        meta: {
          result_count: shown.length,
          newest_id: shown[0]?.id,
          oldest_id: oldest.id,
          ...(matching.length > max ? { next_token: pageToken(oldest.id) } : {}),
        },
      },
    };
  }

  // The truth after an ambiguous create, and the media sync: the user's posts, newest first.
  api('GET', /^\/2\/users\/(?<id>\d+)\/tweets$/, 'timeline', (req) => {
    const account = caller(req, 'tweet.read');
    if ('status' in account) return account;
    const id = req.params.id ?? '';
    if (!sim.accounts.has(id)) return { status: 200, body: { errors: [notFound('user', id)] } };
    const exclude = new Set((req.query.get('exclude') ?? '').split(','));
    return tweetPage(
      req,
      everyTweet().filter((t) => t.accountId === id && !(exclude.has('replies') && t.replyTo)),
    );
  });

  // Posts of others that mention the user: mentions proper, and replies in its conversations.
  api('GET', /^\/2\/users\/(?<id>\d+)\/mentions$/, 'mentions', (req) => {
    const account = caller(req, 'tweet.read');
    if ('status' in account) return account;
    const id = req.params.id ?? '';
    if (!sim.accounts.has(id)) return { status: 200, body: { errors: [notFound('user', id)] } };
    return tweetPage(
      req,
      everyTweet().filter((t) => t.mentions?.includes(id)),
    );
  });

  // Lookup by ids (up to 100): the per-post metrics sync. Missing posts come back in errors.
  api('GET', '/2/tweets', 'media_stats', (req) => {
    const account = caller(req, 'tweet.read');
    if ('status' in account) return account;
    const raw = req.query.get('ids') ?? '';
    const ids = raw.split(',').filter(Boolean);
    if (!ids.length || ids.length > 100 || ids.some((id) => !/^\d{1,19}$/.test(id))) {
      return invalidRequest('`ids` must name 1 to 100 post ids.', { ids: [raw] });
    }
    const found = ids.map((id) => findTweet(id));
    const data = found.filter((t): t is Tweet => !!t);
    const errors = ids.filter((_, i) => !found[i]).map((id) => notFound('tweet', id));
    return {
      status: 200,
      body: {
        ...(data.length ? { data: data.map((t) => tweetView(t, req.query.get('tweet.fields'))) } : {}),
        ...includedUsers(data, req.query.get('expansions')),
        ...(errors.length ? { errors } : {}),
      },
    };
  });

  api('GET', /^\/2\/tweets\/(?<id>\d+)$/, 'tweet', (req) => {
    const account = caller(req, 'tweet.read');
    if ('status' in account) return account;
    const id = req.params.id ?? '';
    const tweet = liveTweet(id);
    // Lookups answer 200 with an errors array when the post is gone.
    return tweet
      ? { status: 200, body: { data: tweetView(tweet, req.query.get('tweet.fields')) } }
      : { status: 200, body: { errors: [notFound('tweet', id)] } };
  });

  api(
    'DELETE',
    /^\/2\/tweets\/(?<id>\d+)$/,
    'delete',
    (req) => {
      const account = caller(req, 'tweet.write');
      if ('status' in account) return account;
      const id = req.params.id ?? '';
      const tweet = tweets.find((t) => t.id === id);
      const seeded = tweet ? undefined : sim.content.post(id);
      const owner = tweet?.accountId ?? seeded?.accountId;
      if (!owner) return { status: 200, body: { data: { deleted: false } } };
      if (owner !== account.id) {
        return problem(403, 'Forbidden', 'You are not allowed to delete a Tweet that is not yours.');
      }
      // A repeated delete (after a lost answer) finds it gone and answers the same.
      if (tweet ? tweet.deletedAt === undefined : seeded) {
        if (tweet) tweet.deletedAt = clock.now();
        sim.content.posts = sim.content.posts.filter((p) => p.id !== id);
        for (const m of sim.content.messages) if (m.id === id) m.deleted = true;
        sim.recordWrite('delete', { id }, account.id);
      }
      return { status: 200, body: { data: { deleted: true } } };
    },
    { write: true },
  );

  // Hiding a reply: only in a conversation the account started, and not the account's own reply.
  api(
    'PUT',
    /^\/2\/tweets\/(?<id>\d+)\/hidden$/,
    'moderate',
    (req) => {
      const account = caller(req, 'tweet.moderate.write');
      if ('status' in account) return account;
      const id = req.params.id ?? '';
      const hidden = req.json?.hidden;
      if (typeof hidden !== 'boolean') return invalidRequest('`hidden` must be true or false.', { hidden: [hidden] });
      const reply = sim.content.messages.find((m) => m.id === id && m.kind !== 'dm' && !m.deleted);
      if (!reply) return { status: 200, body: { errors: [notFound('tweet', id)] } };
      const root = findTweet(reply.threadId);
      if (reply.fromAccount || !messageTweet(reply).replyTo || root?.accountId !== account.id) {
        return problem(403, 'Forbidden', 'You can only hide or unhide replies to conversations you authored.');
      }
      if (reply.hidden !== hidden) {
        reply.hidden = hidden;
        sim.recordWrite('moderate', { id, hidden }, account.id);
      }
      return { status: 200, body: { data: { hidden } } };
    },
    { write: true },
  );

  // Direct messages: events newest first (MessageCreate only), paged with pagination_token.
  const dmView = (m: SimMessage, fieldList: string | null) => {
    const fields = new Set((fieldList ?? '').split(','));
    const sender = m.fromAccount ? m.accountId : xUserId(m.authorId);
    return {
      id: m.id,
      event_type: 'MessageCreate',
      text: m.text,
      ...(fields.has('sender_id') ? { sender_id: sender } : {}),
      ...(fields.has('dm_conversation_id') ? { dm_conversation_id: m.threadId } : {}),
      ...(fields.has('created_at') ? { created_at: new Date(m.createdAt).toISOString() } : {}),
      ...(fields.has('participant_ids') ? { participant_ids: m.threadId.split('-') } : {}),
      ...(fields.has('attachments') && m.attachments.length
        ? { attachments: { media_keys: m.attachments.map((a) => `3_${a.id}`) } }
        : {}),
    };
  };

  function dmPage(req: SimRequest, events: SimMessage[]): SimReply {
    const q = req.query;
    const eventTypes = q.get('event_types');
    if (eventTypes && !eventTypes.split(',').includes('MessageCreate')) {
      return { status: 200, body: { meta: { result_count: 0 } } };
    }
    const maxResults = q.get('max_results');
    const max = Number(maxResults ?? 100);
    if (!Number.isInteger(max) || max < 1 || max > 100) {
      return invalidRequest(`The \`max_results\` value [${maxResults}] is not between 1 and 100`, {
        max_results: [maxResults],
      });
    }
    const bounds = idBounds(q);
    if ('refused' in bounds) return bounds.refused;
    const before = bounds.ids.pagination_token;
    const matching = events
      .filter((m) => before === undefined || BigInt(m.id) < before)
      .sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1));
    const shown = matching.slice(0, max);
    const oldest = shown.at(-1);
    if (!oldest) return { status: 200, body: { meta: { result_count: 0 } } };
    const expand = (q.get('expansions') ?? '').split(',').includes('sender_id');
    const senders = new Map<string, { id: string; name: string; username: string }>();
    for (const m of shown) {
      const id = m.fromAccount ? m.accountId : xUserId(m.authorId);
      const account = sim.accounts.get(id);
      const name = account?.name ?? m.authorName;
      senders.set(id, { id, name, username: account?.handle ?? handleOf(name) });
    }
    return {
      status: 200,
      body: {
        data: shown.map((m) => dmView(m, q.get('dm_event.fields'))),
        ...(expand ? { includes: { users: [...senders.values()] } } : {}),
        meta: {
          result_count: shown.length,
          ...(matching.length > max ? { next_token: pageToken(oldest.id) } : {}),
        },
      },
    };
  }

  const dmsOf = (accountId: string) =>
    sim.content.messages.filter((m) => m.accountId === accountId && m.kind === 'dm' && !m.deleted);

  api('GET', '/2/dm_events', 'dms', (req) => {
    const account = caller(req, 'dm.read');
    if ('status' in account) return account;
    return dmPage(req, dmsOf(account.id));
  });

  api('GET', /^\/2\/dm_conversations\/with\/(?<participant>\d+)\/dm_events$/, 'dm_conversation', (req) => {
    const account = caller(req, 'dm.read');
    if ('status' in account) return account;
    const conversation = xConversationId(account.id, req.params.participant ?? '');
    return dmPage(
      req,
      dmsOf(account.id).filter((m) => m.threadId === conversation),
    );
  });

  api(
    'POST',
    /^\/2\/dm_conversations\/with\/(?<participant>\d+)\/messages$/,
    'dm_send',
    (req) => {
      const account = caller(req, 'dm.write');
      if ('status' in account) return account;
      const participant = req.params.participant ?? '';
      if (participant === account.id) return problem(403, 'Forbidden', 'You cannot send a message to yourself.');
      const text = req.json?.text;
      if (typeof text !== 'string' || !text || [...text].length > 10_000) {
        return invalidRequest('`text` must be 1 to 10000 characters.', { text: [text ?? null] });
      }
      const message = sim.content.addMessage(
        sim.content.message({
          id: snowflake(),
          accountId: account.id,
          kind: 'dm',
          threadId: xConversationId(account.id, participant),
          authorId: account.id,
          authorName: account.name,
          text,
          createdAt: clock.now(),
          fromAccount: true,
        }),
      );
      sim.recordWrite(
        'dm_send',
        { dm_event_id: message.id, dm_conversation_id: message.threadId, participant, text },
        account.id,
      );
      return { status: 201, body: { data: { dm_conversation_id: message.threadId, dm_event_id: message.id } } };
    },
    { write: true },
  );

  // Account Activity deliveries: tweet_create_events for mentions and replies, direct_message_events for DMs.
  sim.webhookFor = (m) => {
    const account = sim.accounts.get(m.accountId);
    const author = m.fromAccount ? m.accountId : xUserId(m.authorId);
    const name = m.fromAccount ? (account?.name ?? m.authorName) : m.authorName;
    const user = {
      id: Number(author),
      id_str: author,
      name,
      screen_name: account && m.fromAccount ? account.handle : handleOf(name),
    };
    if (m.kind === 'dm') {
      const [a = '', b = ''] = m.threadId.split('-');
      const recipient = author === a ? b : a;
      return {
        for_user_id: m.accountId,
        direct_message_events: [
          {
            type: 'message_create',
            id: m.id,
            created_timestamp: String(m.createdAt),
            message_create: {
              target: { recipient_id: recipient },
              sender_id: author,
              message_data: { text: m.text, entities: { hashtags: [], symbols: [], user_mentions: [], urls: [] } },
            },
          },
        ],
        users: {
          [author]: { id: author, created_timestamp: String(m.createdAt), name, screen_name: user.screen_name },
        },
      };
    }
    const t = messageTweet(m);
    return {
      for_user_id: m.accountId,
      user_has_blocked: false,
      tweet_create_events: [
        {
          created_at: v1Date(m.createdAt),
          id: Number(m.id),
          id_str: m.id,
          text: m.text,
          in_reply_to_status_id: t.replyTo ? Number(t.replyTo) : null,
          in_reply_to_status_id_str: t.replyTo ?? null,
          in_reply_to_user_id_str: t.inReplyToUserId ?? null,
          user,
          entities: {
            hashtags: [],
            urls: [],
            user_mentions: [{ id: Number(m.accountId), id_str: m.accountId, screen_name: account?.handle }],
          },
          timestamp_ms: String(m.createdAt),
        },
      ],
    };
  };

  const seed = () => {
    media.clear();
    tweets.length = 0;
    sim.knobs.mediaMs = 0;
    // Video needs at least one STATUS look before it can be posted, as at X.
    sim.knobs.mediaPolls = 1;
    sim.knobs.familyRevocation = 0;
    sim.knobs.usageCapped = 0;
    sim.addAccount({
      id: numericId(19),
      name: 'Switchboard Sim',
      handle: 'switchboardsim',
      extra: { followers: '1204', following: '311', tweets: '5230', listed: '12', likes: '894' },
    });
  };
  return { sim, seed };
}
