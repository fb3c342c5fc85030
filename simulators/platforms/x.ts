import { STATUS_CODES } from 'node:http';
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
    const count = (key: string) => Number(a.extra?.[key] ?? 0);
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
    return {
      id: t.id,
      text: t.text,
      edit_history_tweet_ids: [t.id],
      ...(fields.has('created_at') ? { created_at: new Date(t.createdAt).toISOString() } : {}),
      ...(fields.has('author_id') ? { author_id: t.accountId } : {}),
      ...(fields.has('attachments') && t.mediaKeys.length ? { attachments: { media_keys: t.mediaKeys } } : {}),
      ...(fields.has('referenced_tweets') && refs.length ? { referenced_tweets: refs } : {}),
      ...(fields.has('reply_settings') ? { reply_settings: t.replySettings ?? 'everyone' } : {}),
    };
  };

  const liveTweet = (id: unknown) => tweets.find((t) => t.id === id && t.deletedAt === undefined);

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

  // The truth after an ambiguous create: the user's posts, newest first, from since_id or start_time on.
  api('GET', /^\/2\/users\/(?<id>\d+)\/tweets$/, 'timeline', (req) => {
    const account = caller(req, 'tweet.read');
    if ('status' in account) return account;
    const id = req.params.id ?? '';
    if (!sim.accounts.has(id)) return { status: 200, body: { errors: [notFound('user', id)] } };
    const q = req.query;
    const maxResults = q.get('max_results');
    const max = Number(maxResults ?? 10);
    if (!Number.isInteger(max) || max < 5 || max > 100) {
      return invalidRequest(`The \`max_results\` value [${maxResults}] is not between 5 and 100`, {
        max_results: [maxResults],
      });
    }
    // Snowflake bounds; the pagination token carries the oldest id of the previous page.
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
        return invalidRequest(`The \`${name}\` query parameter value is not valid.`, { [name]: [q.get(name)] });
      }
      ids[name] = BigInt(value);
    }
    const { since_id: since, until_id: until, pagination_token: before } = ids;
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
    const exclude = new Set((q.get('exclude') ?? '').split(','));
    const matching = tweets
      .filter((t) => t.accountId === id && t.deletedAt === undefined && !(exclude.has('replies') && t.replyTo))
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
        meta: {
          result_count: shown.length,
          newest_id: shown[0]?.id,
          oldest_id: oldest.id,
          ...(matching.length > max ? { next_token: Buffer.from(`before:${oldest.id}`).toString('base64url') } : {}),
        },
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
      const tweet = tweets.find((t) => t.id === req.params.id);
      if (!tweet) return { status: 200, body: { data: { deleted: false } } };
      if (tweet.accountId !== account.id) {
        return problem(403, 'Forbidden', 'You are not allowed to delete a Tweet that is not yours.');
      }
      // A repeated delete (after a lost answer) finds it gone and answers the same.
      if (tweet.deletedAt === undefined) {
        tweet.deletedAt = clock.now();
        sim.recordWrite('delete', { id: tweet.id }, account.id);
      }
      return { status: 200, body: { data: { deleted: true } } };
    },
    { write: true },
  );

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
