import { createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { type Clock, numericId, PlatformSim, type SimJob, type SimReply, type SimRequest } from '../core.ts';

// Google: OAuth 2 with PKCE and OIDC (accounts.google.com, oauth2.googleapis.com), and for the
// `youtube` instance the Data API v3 with its daily unit ledger. Two instances share this code:
// `google` (Switchboard sign-in) and `youtube` (channel connections).

const ISSUER = 'https://accounts.google.com';
/** Units each route costs against the daily quota (classic cost model). */
const UNIT_COST: Record<string, number> = { channels: 1, videos_list: 1, videos_insert: 1600 };
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
    const items =
      req.query.get('mine') === 'true' && a.extra?.channelId
        ? [
            {
              kind: 'youtube#channel',
              id: a.extra.channelId,
              snippet: { title: a.name, customUrl: a.handle },
              contentDetails: { relatedPlaylists: { uploads: `UU${a.extra.channelId.slice(2)}` } },
            },
          ]
        : [];
    return {
      status: 200,
      body: { kind: 'youtube#channelListResponse', pageInfo: { totalResults: items.length, resultsPerPage: 5 }, items },
    };
  });

  const publishing = id === 'youtube' ? youtubePublishing(sim, charge) : undefined;

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
      extra: id === 'youtube' ? { channelId: `UC${numericId(22)}` } : undefined,
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
    const items = (req.query.get('id') ?? '')
      .split(',')
      .map((vid) => videos.get(vid.trim()))
      // Someone else's private or unlisted video is not listed.
      .filter((v): v is SimVideo => !!v && (v.accountId === viewer || v.status.privacyStatus === 'public'))
      .map((v) => resource(v, parts, { poll: true }));
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
