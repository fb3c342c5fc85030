import { createHash, createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { SimMessage, SimPost } from '../content.ts';
import {
  type Clock,
  numericId,
  PlatformSim,
  type SimAccount,
  type SimJob,
  type SimReply,
  type SimRequest,
} from '../core.ts';
import { audienceOf, counterOf, shapeSeededIds } from '../sync-content.ts';

// Google: OAuth 2 with PKCE and OIDC (accounts.google.com, oauth2.googleapis.com), and for the
// `youtube` instance the Data API v3 with its daily unit ledger. Two instances share this code:
// `google` (Switchboard sign-in) and `youtube` (channel connections).

const ISSUER = 'https://accounts.google.com';
/** Units each route costs against the daily quota (classic cost model). */
const UNIT_COST: Record<string, number> = {
  channels: 1,
  videos_list: 1,
  videos_insert: 1600,
  media_list: 1,
  comments: 1,
  replies_list: 1,
  reply: 50,
  moderate: 50,
};
/**
 * Routes with their own daily call bucket in the newer cost model (knob costModel = 1): "100
 * videos.insert calls and 10,000 units for everything else", every call then costing 1. Value: the
 * knob holding the bucket's size.
 */
const BUCKETS: Record<string, string> = { videos_insert: 'dailyVideoInserts' };

function googleError(status: number, reason: string, message: string, statusText: string, domain = 'global'): SimReply {
  return {
    status,
    body: { error: { code: status, message, errors: [{ message, domain, reason }], status: statusText } },
  };
}

const unauthenticated = () =>
  googleError(
    401,
    'authError',
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
    'UNAUTHENTICATED',
  );

const deadGrant = (): SimReply => ({
  status: 400,
  body: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' },
});

/** The Pacific-time calendar day, which YouTube's quota follows. */
const pacificDay = (ms: number) => new Date(ms).toLocaleDateString('en-CA', { timeZone: 'America/Los_Angeles' });

export function createGoogleSim(clock: Clock, id: 'google' | 'youtube') {
  const sim = new PlatformSim(clock, {
    id,
    clientId: `sim-${id}-client`,
    clientSecret: `sim-${id}-secret`,
    policy: {
      accessTtlS: 3599,
      refreshTtlS: null,
      rotate: false,
      refreshExtends: true,
      minRefreshAgeS: 0,
      codeTtlS: 600,
    },
    tokenPrefix: { access: 'ya29.', refresh: '1//' },
    throttle: (_sim, retryAfterS) => ({
      ...googleError(
        403,
        'rateLimitExceeded',
        'The request cannot be completed because you have exceeded your quota.',
        'PERMISSION_DENIED',
      ),
      headers: { 'retry-after': String(retryAfterS) },
    }),
    serverError: (_sim, status) => googleError(status, 'backendError', 'Backend Error', 'UNAVAILABLE'),
  });
  sim.knobs.dailyUnits = 10_000;
  const ledger = new Map<string, number>();
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `sim-${id}-key-1`;

  function idToken(accountId: string, nonce: string | undefined): string {
    const account = sim.accounts.get(accountId);
    const now = Math.floor(clock.now() / 1000);
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const head = enc({ alg: 'RS256', kid, typ: 'JWT' });
    const claims = enc({
      iss: ISSUER,
      azp: sim.opts.clientId,
      aud: sim.opts.clientId,
      sub: accountId,
      email: account?.email,
      email_verified: account?.emailVerified ?? false,
      name: account?.name,
      nonce,
      iat: now,
      exp: now + 3600,
    });
    const signature = createSign('RSA-SHA256').update(`${head}.${claims}`).sign(privateKey).toString('base64url');
    return `${head}.${claims}.${signature}`;
  }

  /** Charges the daily ledger (or the route's bucket); answers quotaExceeded when the day's units are spent. */
  function charge(route: string): SimReply | undefined {
    const buckets = sim.knobs.costModel === 1;
    const bucketKnob = buckets ? BUCKETS[route] : undefined;
    const key = `${pacificDay(clock.now())}/${bucketKnob ? route : 'units'}`;
    const used = ledger.get(key) ?? 0;
    const cost = buckets ? 1 : (UNIT_COST[route] ?? 1);
    const allowance = sim.knobs[bucketKnob ?? 'dailyUnits'] ?? Number.POSITIVE_INFINITY;
    if (used + cost > allowance) {
      return googleError(
        403,
        'quotaExceeded',
        'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>.',
        'PERMISSION_DENIED',
        'youtube.quota',
      );
    }
    ledger.set(key, used + cost);
    return undefined;
  }

  sim.route('GET', '/o/oauth2/v2/auth', 'authorize', (req) =>
    req.query.get('response_type') !== 'code'
      ? { status: 400, body: { error: 'unsupported_response_type' } }
      : sim.authorize({
          clientId: req.query.get('client_id'),
          redirectUri: req.query.get('redirect_uri'),
          scopes: (req.query.get('scope') ?? '').split(' ').filter(Boolean),
          state: req.query.get('state'),
          challenge: req.query.get('code_challenge'),
          challengeMethod: req.query.get('code_challenge_method'),
          nonce: req.query.get('nonce'),
        }),
  );

  sim.route('POST', '/token', 'token', (req: SimRequest): SimReply => {
    const f = req.form;
    if (!sim.checkClient(f.get('client_id'), f.get('client_secret'))) {
      return { status: 401, body: { error: 'invalid_client', error_description: 'The OAuth client was not found.' } };
    }
    if (f.get('grant_type') === 'authorization_code') {
      const redeemed = sim.redeemCode(f.get('code'), {
        clientId: f.get('client_id'),
        redirectUri: f.get('redirect_uri'),
        verifier: f.get('code_verifier'),
      });
      if ('error' in redeemed)
        return { status: 400, body: { error: redeemed.error, error_description: redeemed.description } };
      const { grant } = redeemed;
      const access = sim.issue(grant, 'access', sim.policy.accessTtlS);
      // A repeat consent may come back without a refresh token (knob issueRefreshToken = 0).
      const refresh =
        sim.knobs.issueRefreshToken === 0 ? undefined : sim.issue(grant, 'refresh', sim.policy.refreshTtlS);
      return {
        status: 200,
        body: {
          access_token: access.value,
          expires_in: sim.policy.accessTtlS,
          ...(refresh ? { refresh_token: refresh.value } : {}),
          scope: grant.scopes.join(' '),
          token_type: 'Bearer',
          ...(grant.scopes.includes('openid') ? { id_token: idToken(grant.accountId, redeemed.nonce) } : {}),
        },
      };
    }
    if (f.get('grant_type') === 'refresh_token') {
      const auth = sim.check(f.get('refresh_token') ?? undefined, 'refresh');
      if (!auth.ok || !auth.grant) return deadGrant();
      const access = sim.issue(auth.grant, 'access', sim.policy.accessTtlS);
      // Google keeps the refresh token: the response carries none.
      return {
        status: 200,
        body: {
          access_token: access.value,
          expires_in: sim.policy.accessTtlS,
          scope: auth.grant.scopes.join(' '),
          token_type: 'Bearer',
        },
      };
    }
    return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' } };
  });

  sim.route(
    'POST',
    '/revoke',
    'revoke',
    (req) => {
      const value = req.form.get('token') ?? req.query.get('token') ?? undefined;
      const access = sim.check(value, 'access');
      const auth = access.token ? access : sim.check(value, 'refresh');
      if (!auth.ok || !auth.grant)
        return { status: 400, body: { error: 'invalid_token', error_description: 'Token expired or revoked' } };
      sim.revokeGrant(auth.grant.id);
      sim.recordWrite('revoke', { grantId: auth.grant.id }, auth.grant.accountId);
      return { status: 200, body: {} };
    },
    { write: true },
  );

  sim.route('GET', '/.well-known/openid-configuration', 'discovery', (req) => {
    const base = `http://${req.headers.host}/${id}`;
    return {
      status: 200,
      body: {
        issuer: ISSUER,
        authorization_endpoint: `${base}/o/oauth2/v2/auth`,
        token_endpoint: `${base}/token`,
        userinfo_endpoint: `${base}/v1/userinfo`,
        revocation_endpoint: `${base}/revoke`,
        jwks_uri: `${base}/oauth2/v3/certs`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['plain', 'S256'],
        id_token_signing_alg_values_supported: ['RS256'],
      },
    };
  });

  sim.route('GET', '/oauth2/v3/certs', 'jwks', () => ({
    status: 200,
    body: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] },
  }));

  sim.route('GET', '/v1/userinfo', 'userinfo', (req) => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account) return unauthenticated();
    const a = auth.account;
    return { status: 200, body: { sub: a.id, email: a.email, email_verified: a.emailVerified ?? false, name: a.name } };
  });

  sim.route('GET', '/youtube/v3/channels', 'channels', (req) => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account) return unauthenticated();
    const overQuota = charge('channels');
    if (overQuota) return overQuota;
    const a = auth.account;
    const parts = new Set((req.query.get('part') ?? '').split(',').map((p) => p.trim()));
    // Seeded counts plus what content/bump added (YouTube's names: subscriberCount, viewCount).
    const total = (key: string) => Number(a.extra?.[key] ?? 0) + (sim.content.totals.get(a.id)?.[key] ?? 0);
    const items =
      req.query.get('mine') === 'true' && a.extra?.channelId
        ? [
            {
              kind: 'youtube#channel',
              id: a.extra.channelId,
              snippet: { title: a.name, customUrl: a.handle },
              contentDetails: { relatedPlaylists: { uploads: `UU${a.extra.channelId.slice(2)}` } },
              ...(parts.has('statistics')
                ? {
                    statistics: {
                      viewCount: String(total('viewCount')),
                      subscriberCount: String(total('subscriberCount')),
                      hiddenSubscriberCount: false,
                      videoCount: String(sim.content.postsOf(a.id).length),
                    },
                  }
                : {}),
            },
          ]
        : [];
    return {
      status: 200,
      body: { kind: 'youtube#channelListResponse', pageInfo: { totalResults: items.length, resultsPerPage: 5 }, items },
    };
  });

  const publishing = id === 'youtube' ? youtubePublishing(sim, charge) : undefined;
  if (id === 'youtube') youtubeContent(sim, charge);

  const seed = () => {
    ledger.clear();
    sim.knobs.dailyUnits = 10_000;
    sim.knobs.issueRefreshToken = 1;
    publishing?.seed();
    sim.addAccount({
      id: numericId(21),
      name: id === 'youtube' ? 'Simulated Channel' : 'Sim User',
      handle: id === 'youtube' ? '@simulatedchannel' : undefined,
      email: `${id}.user@example.com`,
      emailVerified: true,
      extra:
        id === 'youtube' ? { channelId: `UC${numericId(22)}`, subscriberCount: '1520', viewCount: '98000' } : undefined,
    });
  };
  return { sim, seed };
}

/** Resumable-upload chunks other than the last must be multiples of 256 KiB. */
const CHUNK_QUANTUM = 262_144;
const DAY_MS = 86_400_000;
const UPLOAD_SCOPES = ['youtube.upload', 'youtube', 'youtube.force-ssl'].map(
  (s) => `https://www.googleapis.com/auth/${s}`,
);
/** jobs/fail reasons that YouTube reports as status.rejectionReason; any other becomes failureReason. */
const REJECTION_REASONS = new Set([
  'claim',
  'copyright',
  'duplicate',
  'inappropriate',
  'legal',
  'length',
  'termsOfUse',
  'trademark',
  'uploaderAccountClosed',
  'uploaderAccountSuspended',
]);
/** `bytes a-b/total`, `bytes a-b/*` (total not known yet) or the probe `bytes *\/total`. */
const CONTENT_RANGE = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/;

const record = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

type VideoMeta = {
  snippet: { title: string; description: string; tags: string[]; categoryId: string };
  status: { privacyStatus: string; publishAt?: string; selfDeclaredMadeForKids?: boolean };
};

/** What an upload session (a SimJob of kind `upload`, listed by the admin API) carries. */
type UploadSession = VideoMeta & {
  channelId: string;
  channelTitle: string;
  /** The parts asked for when the session was opened; the final answer returns those. */
  parts: string[];
  /** X-Upload-Content-Length, or the total of the first Content-Range that names one. */
  total?: number;
  contentType?: string;
  /** Bytes stored so far (always a prefix: chunks must arrive in order). */
  received: number;
  /** Set by the last byte: the session is spent and answers with this video from then on. */
  videoId?: string;
};

interface SimVideo extends VideoMeta {
  id: string;
  accountId: string;
  channelId: string;
  channelTitle: string;
  etag: string;
  publishedAt: number;
  /** Processing after the upload (kind `processing`, id = video id); jobs/fail makes it fail. */
  processing: SimJob;
}

/**
 * videos.insert through the resumable upload protocol: POST opens a session (no video yet), PUTs
 * store bytes (308 + Range until done), the last byte creates the video, probes (`bytes *\/N`) say
 * how far the session got. Then videos.list shows processing: uploaded → processed | failed | rejected.
 */
function youtubePublishing(sim: PlatformSim, charge: (route: string) => SimReply | undefined) {
  const clock = sim.clock;
  const videos = new Map<string, SimVideo>();
  const invalid = (reason: string, message: string, domain = 'youtube.video') =>
    googleError(400, reason, message, 'INVALID_ARGUMENT', domain);
  const badRange = (message: string) => invalid('badRequest', message, 'global');
  const sessionOf = (job: SimJob) => job.data as unknown as UploadSession;

  function resource(v: SimVideo, parts: Set<string>, opts: { poll?: boolean; justUploaded?: boolean } = {}) {
    // Right after the last byte YouTube has not started processing, whatever the knobs say.
    const phase = opts.justUploaded ? 'pending' : sim.jobPhase(v.processing, { poll: opts.poll });
    const failure = v.processing.failure ?? '';
    const rejected = REJECTION_REASONS.has(failure);
    const failed = phase === 'failed';
    const out: Record<string, unknown> = { kind: 'youtube#video', etag: v.etag, id: v.id };
    if (parts.has('snippet')) {
      const { title, description, tags, categoryId } = v.snippet;
      out.snippet = {
        publishedAt: new Date(v.publishedAt).toISOString(),
        channelId: v.channelId,
        title,
        description,
        thumbnails: { default: { url: `https://i.ytimg.com/vi/${v.id}/default.jpg`, width: 120, height: 90 } },
        channelTitle: v.channelTitle,
        ...(tags.length ? { tags } : {}),
        categoryId,
        liveBroadcastContent: 'none',
        localized: { title, description },
      };
    }
    if (parts.has('status')) {
      const { privacyStatus, publishAt, selfDeclaredMadeForKids } = v.status;
      out.status = {
        uploadStatus: phase === 'ready' ? 'processed' : failed ? (rejected ? 'rejected' : 'failed') : 'uploaded',
        ...(failed ? (rejected ? { rejectionReason: failure } : { failureReason: failure }) : {}),
        privacyStatus,
        ...(publishAt ? { publishAt } : {}),
        license: 'youtube',
        embeddable: true,
        publicStatsViewable: true,
        madeForKids: selfDeclaredMadeForKids ?? false,
        ...(selfDeclaredMadeForKids === undefined ? {} : { selfDeclaredMadeForKids }),
      };
    }
    if (parts.has('statistics')) out.statistics = videoStatistics(sim.content.post(v.id));
    if (parts.has('processingDetails')) {
      const job = v.processing;
      const leftMs = Math.max(0, job.createdAt + job.readyAfterMs - clock.now());
      out.processingDetails =
        phase === 'ready'
          ? { processingStatus: 'succeeded' }
          : failed
            ? rejected
              ? { processingStatus: 'terminated' }
              : { processingStatus: 'failed', processingFailureReason: 'transcodeFailed' }
            : {
                processingStatus: 'processing',
                processingProgress: {
                  partsTotal: 1000,
                  partsProcessed: job.readyAfterMs
                    ? Math.floor((1000 * (job.readyAfterMs - leftMs)) / job.readyAfterMs)
                    : 0,
                  timeLeftMs: leftMs,
                },
              };
    }
    return out;
  }

  sim.route('POST', '/upload/youtube/v3/videos', 'videos_insert', (req) => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account || !auth.grant) return unauthenticated();
    if (!auth.grant.scopes.some((s) => UPLOAD_SCOPES.includes(s))) {
      return googleError(
        403,
        'insufficientPermissions',
        'Request had insufficient authentication scopes.',
        'PERMISSION_DENIED',
      );
    }
    const account = auth.account;
    const channelId = account.extra?.channelId;
    if (!channelId) {
      return googleError(
        401,
        'youtubeSignupRequired',
        'The user must create a YouTube channel before uploading.',
        'UNAUTHENTICATED',
        'youtube.header',
      );
    }
    if (req.query.get('uploadType') !== 'resumable') {
      return invalid(
        'badRequest',
        'The simulator speaks only the resumable upload protocol (uploadType=resumable).',
        'global',
      );
    }
    // Every call costs its units, refused ones included.
    const overQuota = charge('videos_insert');
    if (overQuota) return overQuota;

    const snippet = record(req.json?.snippet);
    const status = record(req.json?.status);
    const title = typeof snippet.title === 'string' ? snippet.title : '';
    if (!title.trim() || [...title].length > 100 || /[<>]/.test(title)) {
      return invalid('invalidTitle', 'The request metadata specifies an invalid or empty video title.');
    }
    const description = typeof snippet.description === 'string' ? snippet.description : '';
    if (Buffer.byteLength(description) > 5000 || /[<>]/.test(description)) {
      return invalid('invalidDescription', 'The request metadata specifies an invalid video description.');
    }
    const tags = Array.isArray(snippet.tags) ? snippet.tags.map(String) : [];
    // 500 characters in all, counting the commas between tags and the quotes around tags with spaces.
    const tagChars = tags.reduce((n, t) => n + t.length + (t.includes(' ') ? 2 : 0), Math.max(0, tags.length - 1));
    if (tagChars > 500) return invalid('invalidTags', 'The request metadata specifies invalid video keywords.');
    const privacyStatus = typeof status.privacyStatus === 'string' ? status.privacyStatus : 'public';
    if (!['public', 'private', 'unlisted'].includes(privacyStatus)) {
      return invalid('invalidVideoMetadata', 'The request metadata is invalid.');
    }
    const publishAt = typeof status.publishAt === 'string' ? status.publishAt : undefined;
    if (publishAt !== undefined && (privacyStatus !== 'private' || Number.isNaN(Date.parse(publishAt)))) {
      return invalid('invalidPublishAt', 'The request metadata specifies an invalid scheduled publishing time.');
    }
    const declared = req.headers['x-upload-content-length'];
    const total = declared === undefined ? undefined : Number(declared);
    if (total !== undefined && !(Number.isSafeInteger(total) && total > 0)) {
      return badRange('Invalid X-Upload-Content-Length header.');
    }
    // The per-channel cap counts videos created in the last 24 hours.
    if (sim.capUsage('publish', account.id, DAY_MS).used >= (sim.knobs.dailyUploads ?? Number.POSITIVE_INFINITY)) {
      return invalid('uploadLimitExceeded', 'The user has exceeded the number of videos they may upload.');
    }

    const uploadId = `AB${randomBytes(36).toString('base64url')}`;
    const session: UploadSession = {
      channelId,
      channelTitle: account.name,
      snippet: {
        title,
        description,
        tags,
        categoryId: typeof snippet.categoryId === 'string' ? snippet.categoryId : '22',
      },
      status: {
        privacyStatus,
        publishAt,
        selfDeclaredMadeForKids:
          typeof status.selfDeclaredMadeForKids === 'boolean' ? status.selfDeclaredMadeForKids : undefined,
      },
      parts: (req.query.get('part') ?? 'snippet,status').split(',').map((p) => p.trim()),
      total,
      contentType:
        typeof req.headers['x-upload-content-type'] === 'string' ? req.headers['x-upload-content-type'] : undefined,
      received: 0,
    };
    sim.startJob('upload', session, {
      id: uploadId,
      accountId: account.id,
      ttlMs: (sim.knobs.uploadSessionTtlS ?? 604_800) * 1000,
    });
    return {
      status: 200,
      headers: {
        location: `http://${req.headers.host}/${sim.id}/upload/youtube/v3/videos?uploadType=resumable&upload_id=${uploadId}`,
        'x-guploader-uploadid': uploadId,
      },
    };
  });

  /** 308 Resume Incomplete, with the stored prefix (no Range header while nothing is stored). */
  const incomplete = (job: SimJob): SimReply => {
    const { received } = sessionOf(job);
    return {
      status: 308,
      headers: { 'x-guploader-uploadid': job.id, ...(received > 0 ? { range: `bytes=0-${received - 1}` } : {}) },
    };
  };

  // The session URI is the credential: no Authorization header needed, so an expired token does not
  // stop an upload in flight. Quota was charged when the session opened.
  sim.route(
    'PUT',
    '/upload/youtube/v3/videos',
    'upload',
    (req) => {
      const job = sim.jobs.get(req.query.get('upload_id') ?? '');
      if (job?.kind !== 'upload') return googleError(404, 'notFound', 'Not Found', 'NOT_FOUND');
      const session = sessionOf(job);
      // A spent session keeps answering with its video: a retried last chunk or a probe after a lost
      // answer learns the outcome without creating a second video.
      const done = session.videoId ? videos.get(session.videoId) : undefined;
      if (done) return { status: 200, body: resource(done, new Set(session.parts)) };
      if (sim.jobPhase(job) === 'expired')
        return googleError(410, 'gone', 'The upload session has expired.', 'NOT_FOUND');

      const header = req.headers['content-range'];
      const range = typeof header === 'string' ? CONTENT_RANGE.exec(header.trim()) : null;
      if (header !== undefined && !range) return badRange('Failed to parse Content-Range header.');
      const size = req.bytes.length;
      if (range && range[1] === undefined) {
        // Probe: `bytes */total` with no body.
        if (size > 0) return badRange('A Content-Range of bytes */N carries no body.');
        return incomplete(job);
      }
      if (!range && size === 0) return invalid('mediaBodyRequired', 'The request does not include the video content.');
      const first = range ? Number(range[1]) : 0;
      const last = range ? Number(range[2]) : size - 1;
      const named = range ? range[3] : String(size);
      const total = named === '*' ? session.total : Number(named);
      if (last < first || last - first + 1 !== size) return badRange('Content-Range does not match the body.');
      if (session.total !== undefined && total !== session.total) {
        return badRange('Content-Range total does not match X-Upload-Content-Length.');
      }
      if (total !== undefined && last >= total) return badRange('Content-Range goes past the end of the file.');
      // Simplified: the real service can also answer 308 with the Range to resume from.
      if (first !== session.received) return badRange(`Chunk must start at byte ${session.received}.`);
      const final = total !== undefined && last + 1 === total;
      if (!final && size % CHUNK_QUANTUM !== 0) {
        return badRange(`Chunks other than the last must be a multiple of ${CHUNK_QUANTUM} bytes.`);
      }
      session.received = last + 1;
      session.total = total;
      if (!final) return incomplete(job);

      // The last byte is the commit: the video exists from here on.
      const accountId = job.accountId ?? '';
      const videoId = randomBytes(8).toString('base64url');
      const video: SimVideo = {
        id: videoId,
        accountId,
        channelId: session.channelId,
        channelTitle: session.channelTitle,
        snippet: session.snippet,
        status: session.status,
        etag: randomBytes(20).toString('base64url'),
        publishedAt: clock.now(),
        processing: sim.startJob('processing', { uploadId: job.id }, { id: videoId, accountId }),
      };
      videos.set(videoId, video);
      // The uploads playlist lists it from now on, and its counters start at zero.
      sim.content.posts.unshift({
        id: videoId,
        accountId,
        createdAt: video.publishedAt,
        text: session.snippet.title,
        mediaType: 'VIDEO',
        counters: {},
      });
      session.videoId = videoId;
      job.consumedAt = clock.now();
      sim.recordWrite(
        'publish',
        {
          videoId,
          uploadId: job.id,
          channelId: session.channelId,
          title: session.snippet.title,
          privacyStatus: session.status.privacyStatus,
          bytes: session.received,
        },
        accountId,
      );
      return { status: 200, body: resource(video, new Set(session.parts), { justUploaded: true }) };
    },
    { write: true },
  );

  sim.route('GET', '/youtube/v3/videos', 'videos_list', (req) => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account) return unauthenticated();
    const overQuota = charge('videos_list');
    if (overQuota) return overQuota;
    const part = req.query.get('part');
    if (!part) return invalid('required', 'Required parameter: part', 'global');
    const parts = new Set(part.split(',').map((p) => p.trim()));
    const viewer = auth.account.id;
    const ids = (req.query.get('id') ?? '').split(',').map((vid) => vid.trim());
    if (ids.length > 50)
      return invalid('tooManyIds', 'The request specifies too many video ids (at most 50).', 'youtube.parameter');
    const items = ids.flatMap((vid) => {
      const v = videos.get(vid);
      // Someone else's private or unlisted video is not listed.
      if (v)
        return v.accountId === viewer || v.status.privacyStatus === 'public'
          ? [resource(v, parts, { poll: true })]
          : [];
      // Seeded videos: public and processed.
      const seeded = sim.content.post(vid);
      return seeded ? [seededVideo(sim, seeded, parts)] : [];
    });
    return {
      status: 200,
      body: {
        kind: 'youtube#videoListResponse',
        etag: randomBytes(20).toString('base64url'),
        items,
        pageInfo: { totalResults: items.length, resultsPerPage: items.length },
      },
    };
  });

  return {
    seed() {
      videos.clear();
      Object.assign(sim.knobs, {
        costModel: 0,
        dailyVideoInserts: 100,
        dailyUploads: 100,
        uploadSessionTtlS: 604_800,
        processingMs: 0,
        processingPolls: 0,
      });
    },
  };
}

// What a channel has besides uploads in flight: its videos (the uploads playlist, videos.list
// statistics), daily channel metrics (YouTube Analytics reports) and comments (commentThreads,
// comments.list, comments.insert, setModerationStatus, comments.delete), all from sim.content.

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const b64chars = (n: number) => Array.from(randomBytes(n), (b) => B64URL[b & 63]).join('');
/** Video ids: 11 characters. */
const videoId = () => b64chars(11);
/** Top-level comment ids look like UgzDE2tasfmrYLyNkGt4AaABAg. */
const commentId = () => `Ug${'wxyz'[randomBytes(1)[0]! & 3]}${b64chars(19)}4AaABAg`;
/** A reply's id is its thread's id, a dot, and its own part. */
const replyId = (parentId: string) => `${parentId}.${b64chars(22)}`;
/** The channel of a commenter the store names by a made-up id (fan-0, …). */
const channelOf = (authorId: string) =>
  authorId.startsWith('UC') ? authorId : `UC${createHash('sha256').update(authorId).digest('base64url').slice(0, 22)}`;

/** Page tokens are protobuf at YouTube: CAUQAA is field 1 = 5 (the offset), field 2 = 0. */
function pageToken(offset: number): string {
  const varint: number[] = [];
  for (let n = offset; ; n >>>= 7) {
    if (n < 128) {
      varint.push(n);
      break;
    }
    varint.push((n & 127) | 128);
  }
  return Buffer.from([0x08, ...varint, 0x10, 0x00])
    .toString('base64')
    .replace(/=+$/, '');
}

function pageOffset(token: string | null): number | undefined {
  if (!token) return 0;
  const bytes = Buffer.from(token, 'base64');
  if (bytes[0] !== 0x08) return undefined;
  let offset = 0;
  for (let i = 1, shift = 0; i < bytes.length; i++, shift += 7) {
    const b = bytes[i] as number;
    offset += (b & 127) * 2 ** shift;
    if (b < 128) return offset;
  }
  return undefined;
}

/** statistics of videos.list: counts as strings; favoriteCount is always 0. */
function videoStatistics(post: SimPost | undefined) {
  return {
    viewCount: String(counterOf(post?.counters, 'viewCount', 'views')),
    likeCount: String(counterOf(post?.counters, 'likeCount', 'likes')),
    favoriteCount: '0',
    commentCount: String(counterOf(post?.counters, 'commentCount', 'comments')),
  };
}

/** What a video's snippet and its uploads playlist item's say alike. */
const videoSnippet = (post: SimPost, channel: SimAccount | undefined) => ({
  publishedAt: new Date(post.createdAt).toISOString(),
  channelId: channel?.extra?.channelId ?? '',
  title: post.text,
  description: '',
  channelTitle: channel?.name ?? '',
});

function seededVideo(sim: PlatformSim, post: SimPost, parts: Set<string>) {
  return {
    kind: 'youtube#video',
    etag: createHash('sha1').update(post.id).digest('base64url'),
    id: post.id,
    ...(parts.has('snippet')
      ? {
          snippet: {
            ...videoSnippet(post, sim.accounts.get(post.accountId)),
            categoryId: '22',
            liveBroadcastContent: 'none',
          },
        }
      : {}),
    ...(parts.has('status')
      ? { status: { uploadStatus: 'processed', privacyStatus: 'public', license: 'youtube', embeddable: true } }
      : {}),
    ...(parts.has('statistics') ? { statistics: videoStatistics(post) } : {}),
    ...(parts.has('processingDetails') ? { processingDetails: { processingStatus: 'succeeded' } } : {}),
  };
}

/** Metrics the Analytics reports take (a subset of YouTube's); the daily store holds them by these names. */
const REPORT_METRICS = new Set([
  'views',
  'estimatedMinutesWatched',
  'averageViewDuration',
  'averageViewPercentage',
  'subscribersGained',
  'subscribersLost',
  'likes',
  'dislikes',
  'comments',
  'shares',
  'viewerPercentage',
]);
/** Demographic values the simulator spreads a channel's viewers over (ageGroup × gender; country). */
const AGE_GROUPS = ['age13-17', 'age18-24', 'age25-34', 'age35-44', 'age45-54', 'age55-64', 'age65-'];
const GENDERS = ['female', 'male', 'user_specified'];
const COUNTRIES = ['US', 'GB', 'DE', 'IN', 'BR', 'JP'];
const FORCE_SSL = 'https://www.googleapis.com/auth/youtube.force-ssl';
const READ_SCOPES = ['youtube.readonly', 'youtube', 'youtube.force-ssl'].map(
  (s) => `https://www.googleapis.com/auth/${s}`,
);
const ANALYTICS_SCOPES = ['yt-analytics.readonly', 'yt-analytics-monetary.readonly'].map(
  (s) => `https://www.googleapis.com/auth/${s}`,
);

function youtubeContent(sim: PlatformSim, charge: (route: string) => SimReply | undefined) {
  const clock = sim.clock;
  const forbidden = (reason: string, message: string) => googleError(403, reason, message, 'PERMISSION_DENIED');
  const bad = (reason: string, message: string, domain = 'youtube.parameter') =>
    googleError(400, reason, message, 'INVALID_ARGUMENT', domain);
  const notFound = (reason: string, message: string) =>
    googleError(404, reason, message, 'NOT_FOUND', 'youtube.commentThread');
  const insufficient = () => forbidden('insufficientPermissions', 'Request had insufficient authentication scopes.');

  sim.contentId = commentId;
  // Seeded history gets YouTube's shapes: 11-character video ids, Ug… comment ids.
  shapeSeededIds(sim, {
    post: videoId,
    message(m) {
      m.id = m.parentId ? replyId(m.parentId) : commentId();
    },
  });

  /** The caller's channel, or the refusal: a dead token, a missing scope, the day's quota spent. */
  function channel(
    req: SimRequest,
    route: string,
    scopes: string[],
  ): { account: SimAccount; channelId: string } | SimReply {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account || !auth.grant) return unauthenticated();
    if (!auth.grant.scopes.some((s) => scopes.includes(s))) return insufficient();
    const overQuota = charge(route);
    if (overQuota) return overQuota;
    return { account: auth.account, channelId: auth.account.extra?.channelId ?? '' };
  }

  const accountOfChannel = (channelId: string | null) =>
    [...sim.accounts.values()].find((a) => a.extra?.channelId && a.extra.channelId === channelId);

  function maxResults(req: SimRequest, min: number, max: number, fallback: number): number | SimReply {
    const raw = req.query.get('maxResults');
    const n = raw === null ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      return bad('invalidParameter', `Invalid value '${raw}'. Values must be within the range: [${min}, ${max}]`);
    }
    return n;
  }

  /**
   * One page of `items` from the pageToken's offset, and the list answer made of it (`shown`, the
   * page as the resource shows it): nextPageToken while more follow.
   */
  function paged<T>(
    req: SimRequest,
    items: T[],
    max: number,
  ): { page: T[]; reply(kind: string, shown: unknown[]): SimReply } | SimReply {
    const offset = pageOffset(req.query.get('pageToken'));
    if (offset === undefined) return bad('invalidPageToken', 'The request specifies an invalid page token.');
    const tokens = {
      ...(offset + max < items.length ? { nextPageToken: pageToken(offset + max) } : {}),
      ...(offset > 0 ? { prevPageToken: pageToken(Math.max(0, offset - max)) } : {}),
    };
    return {
      page: items.slice(offset, offset + max),
      reply: (kind, shown) => ({
        status: 200,
        body: {
          kind,
          etag: b64chars(27),
          ...tokens,
          pageInfo: { totalResults: items.length, resultsPerPage: max },
          items: shown,
        },
      }),
    };
  }

  /**
   * The window's views by country (sync-content.ts audienceOf; bump `country.<code>`); other metrics
   * of a country report are not simulated (0).
   */
  const byCountry = (accountId: string, views: number, metrics: string[]) =>
    audienceOf(sim.content, accountId, 'country', COUNTRIES, views).map((c) => [
      c.value,
      ...metrics.map((m) => (m === 'views' ? c.count : 0)),
    ]);

  /**
   * The window's viewers by age group and gender, as percentages of all (one decimal), from a split
   * of its views (bump `ageGroup,gender.<age>,<gender>`). No views: no rows.
   */
  function byAgeAndGender(accountId: string, views: number): unknown[][] {
    const cells = AGE_GROUPS.flatMap((age) => GENDERS.map((gender) => `${age},${gender}`));
    const counts = audienceOf(sim.content, accountId, 'ageGroup,gender', cells, views);
    const all = counts.reduce((total, c) => total + c.count, 0);
    return counts.map((c) => [...c.value.split(','), Math.round((c.count * 1000) / all) / 10]);
  }

  // YouTube Analytics API (youtubeanalytics.googleapis.com): its own quota, not the Data API's units.
  sim.route('GET', '/v2/reports', 'analytics', (req) => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account || !auth.grant) return unauthenticated();
    if (!auth.grant.scopes.some((s) => ANALYTICS_SCOPES.includes(s))) return insufficient();
    const q = req.query;
    const a = auth.account;
    const ids = q.get('ids');
    if (ids !== 'channel==MINE' && ids !== `channel==${a.extra?.channelId}`) {
      return forbidden('forbidden', 'Forbidden');
    }
    const startDate = q.get('startDate') ?? '';
    const endDate = q.get('endDate') ?? '';
    const isDay = (d: string) => /^\d{4}-\d{2}-\d{2}$/.test(d) && !Number.isNaN(Date.parse(d));
    if (!isDay(startDate) || !isDay(endDate)) {
      return bad('badRequest', 'Invalid date: startDate and endDate are YYYY-MM-DD.', 'global');
    }
    if (startDate > endDate) return bad('badRequest', 'The start date must not be after the end date.', 'global');
    const metrics = (q.get('metrics') ?? '').split(',').filter(Boolean);
    const unknown = metrics.find((m) => !REPORT_METRICS.has(m));
    if (!metrics.length || unknown) {
      return bad('badRequest', `Unknown identifier (${unknown ?? ''}) given in field parameters.metrics.`, 'global');
    }
    const dimensions = q.get('dimensions');
    // viewerPercentage goes only with ageGroup,gender (and they only with it); views by country too.
    const demographic = dimensions === 'ageGroup,gender';
    const supported =
      !dimensions ||
      dimensions === 'day' ||
      dimensions === 'country' ||
      (demographic && metrics.join() === 'viewerPercentage');
    if (!supported || (!demographic && metrics.includes('viewerPercentage'))) {
      return bad(
        'badRequest',
        'The query is not supported. Check the documentation at https://developers.google.com/youtube/analytics/v2/available_reports for a list of supported queries.',
        'global',
      );
    }
    const startIndex = Number(q.get('startIndex') ?? 1);
    const max = Number(q.get('maxResults') ?? 10_000);
    if (!Number.isInteger(startIndex) || startIndex < 1 || !Number.isInteger(max) || max < 1) {
      return bad('badRequest', 'startIndex and maxResults must be positive integers.', 'global');
    }
    // Days with data only: the store ends yesterday, the way YouTube's data ends days behind.
    const days = sim.content.dailyOf(a.id, startDate, endDate);
    if (q.get('sort') === '-day') days.reverse();
    const value = (values: Record<string, number>, m: string) => values[m] ?? 0;
    const sum = (m: string) => days.reduce((total, d) => total + value(d.metrics, m), 0);
    let rows: unknown[][];
    if (dimensions === 'day')
      rows = days.map(({ day, metrics: values }) => [day, ...metrics.map((m) => value(values, m))]);
    else if (dimensions === 'country') rows = byCountry(a.id, sum('views'), metrics);
    else if (demographic) rows = byAgeAndGender(a.id, sum('views'));
    else rows = [metrics.map(sum)];
    const page = rows.slice(startIndex - 1, startIndex - 1 + max);
    const dimensionNames = dimensions ? dimensions.split(',') : [];
    return {
      status: 200,
      body: {
        kind: 'youtubeAnalytics#resultTable',
        columnHeaders: [
          ...dimensionNames.map((name) => ({ name, columnType: 'DIMENSION', dataType: 'STRING' })),
          ...metrics.map((name) => ({
            name,
            columnType: 'METRIC',
            dataType: name.startsWith('average') || name === 'viewerPercentage' ? 'FLOAT' : 'INTEGER',
          })),
        ],
        ...(page.length ? { rows: page } : {}),
      },
    };
  });

  // The uploads playlist (UU…), newest first: the channel's videos, seeded and uploaded.
  sim.route('GET', '/youtube/v3/playlistItems', 'media_list', (req) => {
    const c = channel(req, 'media_list', READ_SCOPES);
    if ('status' in c) return c;
    const playlistId = req.query.get('playlistId');
    if (!playlistId) return bad('required', 'Required parameter: playlistId');
    const owner = playlistId.startsWith('UU') ? accountOfChannel(`UC${playlistId.slice(2)}`) : undefined;
    if (!owner) {
      return googleError(
        404,
        'playlistNotFound',
        "The playlist identified with the request's playlistId parameter cannot be found.",
        'NOT_FOUND',
        'youtube.playlistItem',
      );
    }
    const max = maxResults(req, 0, 50, 5);
    if (typeof max !== 'number') return max;
    const posts = sim.content.postsOf(owner.id);
    const p = paged(req, posts, max);
    if ('status' in p) return p;
    const parts = new Set((req.query.get('part') ?? '').split(','));
    const channelId = owner.extra?.channelId ?? '';
    return p.reply(
      'youtube#playlistItemListResponse',
      p.page.map((post) => ({
        kind: 'youtube#playlistItem',
        etag: createHash('sha1').update(`item/${post.id}`).digest('base64url'),
        id: Buffer.from(`${playlistId}.${post.id}`).toString('base64url'),
        ...(parts.has('snippet')
          ? {
              snippet: {
                ...videoSnippet(post, owner),
                playlistId,
                position: posts.indexOf(post),
                resourceId: { kind: 'youtube#video', videoId: post.id },
                videoOwnerChannelTitle: owner.name,
                videoOwnerChannelId: channelId,
              },
            }
          : {}),
        ...(parts.has('contentDetails')
          ? { contentDetails: { videoId: post.id, videoPublishedAt: new Date(post.createdAt).toISOString() } }
          : {}),
      })),
    );
  });

  function commentResource(m: SimMessage, plain: boolean) {
    const account = sim.accounts.get(m.accountId);
    const channelId = account?.extra?.channelId ?? '';
    const author = m.fromAccount ? channelId : channelOf(m.authorId);
    const at = new Date(m.createdAt).toISOString();
    return {
      kind: 'youtube#comment',
      etag: createHash('sha1').update(`comment/${m.id}`).digest('base64url'),
      id: m.id,
      snippet: {
        channelId,
        videoId: m.threadId,
        // textDisplay is HTML unless textFormat=plainText.
        textDisplay: plain ? m.text : m.text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'),
        textOriginal: m.text,
        ...(m.parentId ? { parentId: m.parentId } : {}),
        authorDisplayName: m.fromAccount ? (account?.handle ?? m.authorName) : `@${m.authorName.replace(/\s+/g, '')}`,
        authorProfileImageUrl: `https://yt3.ggpht.com/ytc/${author}=s48-c-k-c0x00ffffff-no-rj`,
        authorChannelUrl: `http://www.youtube.com/channel/${author}`,
        authorChannelId: { value: author },
        canRate: true,
        viewerRating: 'none',
        likeCount: 0,
        ...(m.hidden ? { moderationStatus: 'heldForReview' } : {}),
        publishedAt: at,
        updatedAt: at,
      },
    };
  }

  const commentsOf = (accountId: string) => sim.content.messagesOf(accountId, 'comment');
  const findComment = (id: string) =>
    sim.content.messages.find((m) => m.id === id && m.kind === 'comment' && !m.deleted);

  // Threads on the channel's videos, newest first by their top-level comment; each with its replies.
  sim.route('GET', '/youtube/v3/commentThreads', 'comments', (req) => {
    const c = channel(req, 'comments', READ_SCOPES);
    if ('status' in c) return c;
    const q = req.query;
    const part = q.get('part');
    if (!part) return bad('required', 'Required parameter: part');
    const byChannel = q.get('allThreadsRelatedToChannelId');
    const byVideo = q.get('videoId');
    const owner = byChannel ? accountOfChannel(byChannel) : byVideo ? sim.content.post(byVideo) : undefined;
    if (!owner) {
      return byChannel
        ? notFound('channelNotFound', 'The channel could not be found.')
        : bad(
            'missingRequiredParameter',
            'No filter selected. Expected one of: allThreadsRelatedToChannelId, videoId, id',
          );
    }
    const ownerId = 'accountId' in owner ? owner.accountId : owner.id;
    const max = maxResults(req, 1, 100, 20);
    if (typeof max !== 'number') return max;
    // The default shows published comments; the channel owner may ask for those held for review.
    const status = q.get('moderationStatus') ?? 'published';
    if (status !== 'published' && ownerId !== c.account.id) {
      return forbidden('forbidden', 'The comment thread moderation status filter is only for the channel owner.');
    }
    const all = commentsOf(ownerId);
    const shown = (m: SimMessage) => (status === 'published' ? !m.hidden : m.hidden);
    const threads = all.filter((m) => !m.parentId && shown(m) && (!byVideo || m.threadId === byVideo));
    const p = paged(req, threads, max);
    if ('status' in p) return p;
    const plain = q.get('textFormat') === 'plainText';
    const withReplies = part.split(',').includes('replies');
    return p.reply(
      'youtube#commentThreadListResponse',
      p.page.map((top) => {
        const replies = all.filter((m) => m.parentId === top.id && !m.hidden).reverse();
        return {
          kind: 'youtube#commentThread',
          etag: createHash('sha1').update(`thread/${top.id}`).digest('base64url'),
          id: top.id,
          snippet: {
            channelId: c.channelId,
            videoId: top.threadId,
            topLevelComment: commentResource(top, plain),
            canReply: true,
            totalReplyCount: replies.length,
            isPublic: true,
          },
          // YouTube includes at most five replies here; comments.list?parentId has them all.
          ...(withReplies && replies.length
            ? { replies: { comments: replies.slice(0, 5).map((r) => commentResource(r, plain)) } }
            : {}),
        };
      }),
    );
  });

  // Replies to one comment, oldest first.
  sim.route('GET', '/youtube/v3/comments', 'replies_list', (req) => {
    const c = channel(req, 'replies_list', READ_SCOPES);
    if ('status' in c) return c;
    const q = req.query;
    if (!q.get('part')) return bad('required', 'Required parameter: part');
    const parentId = q.get('parentId');
    const ids = q.get('id');
    if (!parentId && !ids) return bad('missingRequiredParameter', 'No filter selected. Expected one of: parentId, id');
    const max = maxResults(req, 1, 100, 20);
    if (typeof max !== 'number') return max;
    const found = parentId
      ? sim.content.messages
          .filter((m) => m.parentId === parentId && m.kind === 'comment' && !m.deleted)
          .sort((a, b) => a.createdAt - b.createdAt)
      : (ids ?? '').split(',').flatMap((id) => findComment(id) ?? []);
    const p = paged(req, found, max);
    if ('status' in p) return p;
    const plain = q.get('textFormat') === 'plainText';
    return p.reply(
      'youtube#commentListResponse',
      p.page.map((m) => commentResource(m, plain)),
    );
  });

  // comments.insert: a reply to a top-level comment (50 units).
  sim.route(
    'POST',
    '/youtube/v3/comments',
    'reply',
    (req) => {
      const c = channel(req, 'reply', [FORCE_SSL]);
      if ('status' in c) return c;
      const snippet = (req.json?.snippet ?? {}) as Record<string, unknown>;
      const parentId = typeof snippet.parentId === 'string' ? snippet.parentId : '';
      const text = typeof snippet.textOriginal === 'string' ? snippet.textOriginal : '';
      if (!text.trim()) return bad('commentTextRequired', 'The comment resource must contain a snippet.textOriginal.');
      if ([...text].length > 10_000) return bad('commentTextTooLong', 'The comment text is too long.');
      const parent = findComment(parentId);
      if (!parent) return notFound('parentCommentNotFound', 'The specified parent comment could not be found.');
      if (parent.parentId) {
        return bad('operationNotSupported', 'Replies can only be made to top-level comments.', 'youtube.comment');
      }
      const reply = sim.content.addMessage(
        sim.content.message({
          id: replyId(parent.id),
          accountId: parent.accountId,
          kind: 'comment',
          threadId: parent.threadId,
          parentId: parent.id,
          authorId: c.channelId,
          authorName: c.account.name,
          text,
          createdAt: clock.now(),
          fromAccount: parent.accountId === c.account.id,
        }),
      );
      sim.recordWrite('reply', { id: reply.id, parentId: parent.id, text }, c.account.id);
      return { status: 200, body: commentResource(reply, false) };
    },
    { write: true },
  );

  /** Comments on the caller's videos, or why the ids are refused. */
  function ownComments(req: SimRequest, accountId: string): SimMessage[] | SimReply {
    const ids = (req.query.get('id') ?? '').split(',').filter(Boolean);
    if (!ids.length) return bad('required', 'Required parameter: id');
    const found: SimMessage[] = [];
    for (const id of ids) {
      const m = findComment(id);
      if (!m) return notFound('commentNotFound', 'The comment could not be found.');
      if (m.accountId !== accountId) {
        return forbidden('forbidden', 'The comment is on a video of another channel.');
      }
      found.push(m);
    }
    return found;
  }

  // comments.setModerationStatus (50 units): heldForReview or rejected hides, published shows again.
  sim.route(
    'POST',
    '/youtube/v3/comments/setModerationStatus',
    'moderate',
    (req) => {
      const c = channel(req, 'moderate', [FORCE_SSL]);
      if ('status' in c) return c;
      const status = req.query.get('moderationStatus') ?? '';
      if (!['heldForReview', 'published', 'rejected'].includes(status)) {
        return bad('invalidModerationStatus', `Invalid moderationStatus: ${status}`);
      }
      const found = ownComments(req, c.account.id);
      if (!Array.isArray(found)) return found;
      for (const m of found) {
        m.hidden = status !== 'published';
        sim.recordWrite('moderate', { id: m.id, moderationStatus: status }, c.account.id);
      }
      return { status: 204 };
    },
    { write: true },
  );

  sim.route(
    'DELETE',
    '/youtube/v3/comments',
    'moderate',
    (req) => {
      const c = channel(req, 'moderate', [FORCE_SSL]);
      if ('status' in c) return c;
      const found = ownComments(req, c.account.id);
      if (!Array.isArray(found)) return found;
      for (const m of found) {
        m.deleted = true;
        sim.recordWrite('moderate', { id: m.id, deleted: true }, c.account.id);
      }
      return { status: 204 };
    },
    { write: true },
  );
}
