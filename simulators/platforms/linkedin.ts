import { createHash, randomBytes } from 'node:crypto';
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

// LinkedIn: OAuth 2 without PKCE (www.linkedin.com/oauth/v2/*), programmatic refresh tokens that are
// kept and whose one-year lifetime is not extended by a refresh, OIDC userinfo on api.linkedin.com,
// and daily limits that reset at 00:00 UTC and are signalled by a bare 429. The versioned REST API
// (/rest/*) publishes: images, documents and videos are uploaded and processed, then a post names them.

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const alnum = (length: number) => Array.from(randomBytes(length), (b) => ALNUM[b % ALNUM.length]).join('');
const memberId = () => alnum(10);
/** Digital-media asset ids look like D4E10AQH3kQ1xZ9a2Bw. */
const assetId = () => `D4E10AQ${alnum(12)}`;

const serviceError = (status: number, serviceErrorCode: number, code: string, message: string): SimReply => ({
  status,
  body: { status, serviceErrorCode, code, message },
});

/** Gateway and lookup errors carry a code but no serviceErrorCode. */
const restError = (status: number, code: string, message: string): SimReply => ({
  status,
  body: { status, code, message },
});

/** Rest.li validation failures name the offending field. */
function invalid(field: string, description: string, opts: { status?: number; code?: string; message?: string } = {}) {
  const status = opts.status ?? 422;
  const code = opts.code ?? 'INVALID_VALUE';
  return {
    status,
    body: {
      status,
      code,
      message: opts.message ?? `ERROR :: ${field} :: ${description}`,
      errorDetailType: 'com.linkedin.common.error.BadRequest',
      errorDetails: { inputErrors: [{ description, input: { inputPath: { fieldPath: field } }, code }] },
    },
  } satisfies SimReply;
}

/** 4 MiB: the part size of LinkedIn's multi-part video uploads. */
const VIDEO_PART_BYTES = 4_194_304;
const UPLOAD_URL_TTL_MS = 24 * 3_600_000;
const MAX_COMMENTARY = 3000;

type AssetType = 'image' | 'video' | 'document';
type AssetStatus = 'WAITING_UPLOAD' | 'PROCESSING' | 'AVAILABLE' | 'PROCESSING_FAILED';

interface Asset {
  urn: string;
  id: string;
  type: AssetType;
  owner: string;
  accountId: string;
  uploadExpiresAt: number;
  /** Videos: the byte range of each part and, once PUT, its ETag. Images and documents: none. */
  parts: { firstByte: number; lastByte: number; etag?: string }[];
  uploadToken: string;
  /** Processing, started by the PUT (images, documents) or by finalizeUpload (videos). */
  job?: SimJob;
}

interface Post {
  id: string;
  author: string;
  accountId: string;
  commentary: string;
  visibility: string;
  distribution: unknown;
  content?: Record<string, unknown>;
  lifecycleState: string;
  isReshareDisabledByAuthor: boolean;
  createdAt: number;
  /** What duplicate detection compares: commentary and content. */
  fingerprint: string;
  deletedAt?: number;
}

/** JSON with sorted keys, so a retried body with reordered fields still counts as the same content. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Who a /rest call acts for, and the API version it asked for. */
interface Caller {
  account: SimAccount;
  /** urn:li:person:<id>, the only author and owner the sim models (no organizations). */
  person: string;
  version: string;
}

const header = (req: SimRequest, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

const record = (value: unknown): Record<string, unknown> | undefined =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

const TOKEN_ERRORS = {
  expired: () => serviceError(401, 65602, 'EXPIRED_ACCESS_TOKEN', 'The token used in the request has expired'),
  revoked: () =>
    serviceError(401, 65601, 'REVOKED_ACCESS_TOKEN', 'The token used in the request has been revoked by the user'),
  invalid: () => serviceError(401, 65600, 'INVALID_ACCESS_TOKEN', 'Invalid access token'),
};

const badClient = (): SimReply => ({
  status: 401,
  body: { error: 'invalid_client', error_description: 'Client authentication failed' },
});

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function createLinkedInSim(clock: Clock) {
  const sim = new PlatformSim(clock, {
    id: 'linkedin',
    clientId: 'sim-linkedin-client',
    clientSecret: 'sim-linkedin-secret',
    policy: {
      accessTtlS: 5_184_000,
      refreshTtlS: 31_536_000,
      rotate: false,
      refreshExtends: false,
      minRefreshAgeS: 0,
      codeTtlS: 1800,
    },
    tokenPrefix: { access: 'AQV', refresh: 'AQX' },
    // No Retry-After and no rate-limit headers: LinkedIn sends neither.
    throttle: () => ({
      status: 429,
      body: { status: 429, message: 'Resource level throttle limit for calls to this resource is reached.' },
    }),
    serverError: (_sim, status) => ({ status, body: { message: STATUS_CODES[status] ?? 'Server Error', status } }),
  });
  /** Calls per UTC day and counter; the admin API lowers dailyCalls or dailyPosts to reach a limit. */
  const ledger = new Map<string, number>();

  /** Counts one call against the knob's daily total (per member when `key` names one). */
  function overDailyLimit(knob = 'dailyCalls', key = ''): boolean {
    const entry = `${utcDay(clock.now())}:${knob}:${key}`;
    const used = ledger.get(entry) ?? 0;
    if (used >= (sim.knobs[knob] ?? Number.POSITIVE_INFINITY)) return true;
    ledger.set(entry, used + 1);
    return false;
  }

  const assets = new Map<string, Asset>();
  const posts: Post[] = [];

  function tokenReply(grant: Grant, refresh: SimToken): SimReply {
    const access = sim.issue(grant, 'access', sim.policy.accessTtlS);
    return {
      status: 200,
      body: {
        access_token: access.value,
        expires_in: sim.policy.accessTtlS,
        refresh_token: refresh.value,
        // What is left of the refresh token's life, counted from the original consent.
        refresh_token_expires_in:
          refresh.expiresAt === null ? undefined : Math.floor((refresh.expiresAt - clock.now()) / 1000),
        // LinkedIn grants scopes comma-separated and sorted.
        scope: [...grant.scopes].sort().join(','),
        token_type: 'Bearer',
      },
    };
  }

  sim.route('GET', '/oauth/v2/authorization', 'authorize', (req) => {
    const q = req.query;
    if (q.get('response_type') !== 'code') return { status: 400, body: { error: 'unsupported_response_type' } };
    return sim.authorize({
      clientId: q.get('client_id'),
      redirectUri: q.get('redirect_uri'),
      scopes: (q.get('scope') ?? '').split(/[ ,]/).filter(Boolean),
      state: q.get('state'),
    });
  });

  sim.route('POST', '/oauth/v2/accessToken', 'token', (req) => {
    const f = req.form;
    if (!sim.checkClient(f.get('client_id'), f.get('client_secret'))) return badClient();
    if (f.get('grant_type') === 'authorization_code') {
      const redeemed = sim.redeemCode(f.get('code'), {
        clientId: f.get('client_id'),
        redirectUri: f.get('redirect_uri'),
      });
      if ('error' in redeemed) {
        return {
          status: 400,
          body: {
            error: 'invalid_request',
            error_description:
              'Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code. Or authorization code expired. Or external member binding exists',
          },
        };
      }
      return tokenReply(redeemed.grant, sim.issue(redeemed.grant, 'refresh', sim.policy.refreshTtlS));
    }
    if (f.get('grant_type') === 'refresh_token') {
      const auth = sim.check(f.get('refresh_token') ?? undefined, 'refresh');
      if (!auth.ok || !auth.grant || !auth.token) {
        return {
          status: 400,
          body: {
            error: 'invalid_grant',
            error_description: 'The provided authorization grant or refresh token is invalid, expired or revoked.',
          },
        };
      }
      const refresh = auth.token;
      if (sim.policy.refreshExtends && sim.policy.refreshTtlS !== null) {
        refresh.expiresAt = clock.now() + sim.policy.refreshTtlS * 1000;
      }
      return tokenReply(auth.grant, refresh);
    }
    return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' } };
  });

  sim.route(
    'POST',
    '/oauth/v2/revoke',
    'revoke',
    (req) => {
      const f = req.form;
      if (!sim.checkClient(f.get('client_id'), f.get('client_secret'))) return badClient();
      const value = f.get('token');
      const token = value ? sim.tokens.get(value) : undefined;
      const grant = token ? sim.grants.get(token.grantId) : undefined;
      // A token that is unknown or already dead is answered like a revoked one (RFC 7009).
      if (grant && grant.revokedAt === undefined) {
        sim.revokeGrant(grant.id);
        sim.recordWrite('revoke', { grantId: grant.id }, grant.accountId);
      }
      return { status: 200 };
    },
    { write: true },
  );

  sim.route('GET', '/v2/userinfo', 'userinfo', (req) => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account || !auth.grant) {
      return auth.problem === 'expired' || auth.problem === 'revoked'
        ? TOKEN_ERRORS[auth.problem]()
        : TOKEN_ERRORS.invalid();
    }
    if (!auth.grant.scopes.includes('openid')) {
      return serviceError(403, 100, 'ACCESS_DENIED', 'Not enough permissions to access: userinfo.GET.NO_VERSION');
    }
    if (overDailyLimit()) return sim.opts.throttle(sim, 0, 'userinfo');
    const a = auth.account;
    const scopes = auth.grant.scopes;
    const [given = a.name, ...family] = a.name.split(' ');
    return {
      status: 200,
      body: {
        sub: a.id,
        ...(scopes.includes('profile')
          ? {
              name: a.name,
              given_name: given,
              family_name: family.join(' '),
              picture: `https://media.licdn.com/dms/image/v2/${a.id}/profile-displayphoto-shrink_100_100/0/`,
              locale: { country: 'US', language: 'en' },
            }
          : {}),
        ...(scopes.includes('email') ? { email: a.email, email_verified: a.emailVerified ?? false } : {}),
      },
    };
  });

  /**
   * Versions are YYYYMM and live about a year; older ones and ones not yet released answer 426.
   * The knob versionMonths sets the lifetime (0 accepts any well-formed version).
   */
  function activeVersion(version: string): boolean {
    if (!/^\d{6}$/.test(version)) return false;
    const month = Number(version.slice(4));
    if (month < 1 || month > 12) return false;
    const lifetime = sim.knobs.versionMonths ?? 12;
    if (lifetime <= 0) return true;
    const now = new Date(clock.now());
    const age = now.getUTCFullYear() * 12 + now.getUTCMonth() - (Number(version.slice(0, 4)) * 12 + month - 1);
    return age >= 0 && age < lifetime;
  }

  const accessDenied = (what: string) =>
    serviceError(403, 100, 'ACCESS_DENIED', `Not enough permissions to access: ${what}`);

  /**
   * What every /rest call passes: a live token, the version headers, the scope a write needs and the
   * app's daily call budget. `access` names the resource and method the way LinkedIn's 403 does.
   */
  function rest(req: SimRequest, access: string, scope?: string): Caller | SimReply {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account || !auth.grant) {
      return auth.problem === 'expired' || auth.problem === 'revoked'
        ? TOKEN_ERRORS[auth.problem]()
        : TOKEN_ERRORS.invalid();
    }
    const version = header(req, 'linkedin-version');
    if (!version) {
      return restError(
        400,
        'VERSION_MISSING',
        'A version must be present. Please specify a version by adding the LinkedIn-Version header.',
      );
    }
    if (!activeVersion(version)) {
      return restError(426, 'NONEXISTENT_VERSION', `Requested version ${version} is not active`);
    }
    if (header(req, 'x-restli-protocol-version') !== '2.0.0') {
      return restError(400, 'ILLEGAL_ARGUMENT', 'This resource requires the header X-Restli-Protocol-Version: 2.0.0');
    }
    if (scope && !auth.grant.scopes.includes(scope)) return accessDenied(`${access}.${version}01`);
    if (overDailyLimit()) return sim.opts.throttle(sim, 0, 'rest');
    return { account: auth.account, person: `urn:li:person:${auth.account.id}`, version };
  }

  /** URNs in paths must be URL-encoded (urn%3Ali%3Ashare%3A…); a raw colon is a syntax error. */
  function pathUrn(req: SimRequest): string | SimReply {
    const raw = req.params.urn ?? '';
    let urn: string | undefined;
    try {
      urn = decodeURIComponent(raw);
    } catch {
      urn = undefined;
    }
    return urn !== undefined && !raw.includes(':')
      ? urn
      : restError(400, 'ILLEGAL_ARGUMENT', `Syntax exception in path variables: ${raw}`);
  }

  const unknownAction = (req: SimRequest) =>
    restError(400, 'ILLEGAL_ARGUMENT', `Unsupported action: ${req.query.get('action') ?? '(none)'}`);

  /** Uploads land back in the simulator, the way LinkedIn hands out www.linkedin.com/dms-uploads URLs. */
  const uploadUrl = (req: SimRequest, asset: Asset, part?: number) =>
    `http://${header(req, 'host') ?? '127.0.0.1'}/linkedin/upload/${asset.type}s/${asset.id}${part === undefined ? '' : `/${part}`}`;

  /** The owner must be the token's member; organizations are not modelled. */
  function newAsset(type: AssetType, c: Caller, owner: unknown, sizeBytes?: number): Asset | SimReply {
    if (typeof owner !== 'string' || !owner) {
      return invalid('/initializeUploadRequest/owner', 'Field is required', { status: 400 });
    }
    if (owner !== c.person) return accessDenied(`${type}s.ACTION-initializeUpload.${c.version}01 (owner ${owner})`);
    const id = assetId();
    const parts: Asset['parts'] = [];
    for (let first = 0; sizeBytes !== undefined && first < sizeBytes; first += VIDEO_PART_BYTES) {
      parts.push({ firstByte: first, lastByte: Math.min(sizeBytes, first + VIDEO_PART_BYTES) - 1 });
    }
    const asset: Asset = {
      urn: `urn:li:${type}:${id}`,
      id,
      type,
      owner,
      accountId: c.account.id,
      uploadExpiresAt: clock.now() + UPLOAD_URL_TTL_MS,
      parts,
      uploadToken: '',
    };
    assets.set(asset.urn, asset);
    return asset;
  }

  /** Processing runs as an 'asset' job (knobs assetMs and assetPolls; jobs/fail → PROCESSING_FAILED). */
  function startProcessing(asset: Asset): void {
    asset.job ??= sim.startJob(
      'asset',
      { urn: asset.urn, type: asset.type },
      { id: asset.urn, accountId: asset.accountId },
    );
  }

  function assetStatus(asset: Asset, opts: { poll?: boolean } = {}): AssetStatus {
    if (!asset.job) return 'WAITING_UPLOAD';
    const phase = sim.jobPhase(asset.job, opts);
    return phase === 'pending' ? 'PROCESSING' : phase === 'failed' ? 'PROCESSING_FAILED' : 'AVAILABLE';
  }

  for (const type of ['image', 'document'] as const) {
    sim.route('POST', `/rest/${type}s`, `${type}s`, (req) => {
      const c = rest(req, `${type}s.ACTION-initializeUpload`, 'w_member_social');
      if ('status' in c) return c;
      if (req.query.get('action') !== 'initializeUpload') return unknownAction(req);
      const asset = newAsset(type, c, record(req.json?.initializeUploadRequest)?.owner);
      if ('status' in asset) return asset;
      return {
        status: 200,
        body: {
          value: { uploadUrlExpiresAt: asset.uploadExpiresAt, uploadUrl: uploadUrl(req, asset), [type]: asset.urn },
        },
      };
    });
  }

  sim.route('POST', '/rest/videos', 'videos', (req) => {
    const action = req.query.get('action');
    const c = rest(req, `videos.ACTION-${action}`, 'w_member_social');
    if ('status' in c) return c;
    if (action === 'initializeUpload') {
      const request = record(req.json?.initializeUploadRequest);
      const size = request?.fileSizeBytes;
      if (typeof size !== 'number' || !Number.isInteger(size) || size <= 0) {
        return invalid('/initializeUploadRequest/fileSizeBytes', 'fileSizeBytes must be a positive integer', {
          status: 400,
        });
      }
      const asset = newAsset('video', c, request?.owner, size);
      if ('status' in asset) return asset;
      return {
        status: 200,
        body: {
          value: {
            uploadUrlsExpireAt: asset.uploadExpiresAt,
            video: asset.urn,
            uploadInstructions: asset.parts.map((p, i) => ({
              uploadUrl: uploadUrl(req, asset, i),
              firstByte: p.firstByte,
              lastByte: p.lastByte,
            })),
            uploadToken: asset.uploadToken,
          },
        },
      };
    }
    if (action === 'finalizeUpload') {
      const request = record(req.json?.finalizeUploadRequest);
      const field = '/finalizeUploadRequest';
      const asset = typeof request?.video === 'string' ? assets.get(request.video) : undefined;
      if (asset?.type !== 'video') {
        return invalid(`${field}/video`, `${String(request?.video ?? 'video')} does not exist`, { status: 400 });
      }
      if (asset.accountId !== c.account.id) return accessDenied(`videos.ACTION-finalizeUpload.${c.version}01`);
      if ((request?.uploadToken ?? '') !== asset.uploadToken) {
        return invalid(`${field}/uploadToken`, 'The upload token does not match the upload', { status: 400 });
      }
      if (asset.parts.some((p) => !p.etag)) {
        return invalid(`${field}/uploadedPartIds`, 'Not every part of the video has been uploaded', { status: 400 });
      }
      const ids = Array.isArray(request?.uploadedPartIds) ? request.uploadedPartIds : [];
      if (ids.length !== asset.parts.length || asset.parts.some((p, i) => p.etag !== ids[i])) {
        return invalid(`${field}/uploadedPartIds`, 'The part ids must be the ETags of the uploaded parts, in order', {
          status: 400,
        });
      }
      // Finalizing again (after a lost answer) leaves the processing that already started alone.
      startProcessing(asset);
      return { status: 200 };
    }
    return unknownAction(req);
  });

  sim.route(
    'PUT',
    /^\/upload\/(?<type>images|documents|videos)\/(?<id>[A-Za-z0-9]+)(?:\/(?<part>\d+))?$/,
    'upload',
    (req) => {
      const type = (req.params.type ?? '').slice(0, -1);
      const asset = assets.get(`urn:li:${type}:${req.params.id}`);
      const notFound = restError(404, 'NOT_FOUND', 'No upload at this URL');
      if (!asset) return notFound;
      if (asset.uploadExpiresAt <= clock.now()) return restError(403, 'ACCESS_DENIED', 'The upload URL has expired');
      if (asset.type !== 'video') {
        if (req.params.part !== undefined) return notFound;
        if (!req.bytes.length) return restError(400, 'ILLEGAL_ARGUMENT', 'The upload is empty');
        // A repeated PUT (after a lost answer) changes nothing.
        startProcessing(asset);
        return { status: 201 };
      }
      const index = Number(req.params.part);
      const part = asset.parts[index];
      if (req.params.part === undefined || !part) return notFound;
      if (asset.job) return restError(400, 'ILLEGAL_ARGUMENT', 'The upload has already been finalized');
      const expected = part.lastByte - part.firstByte + 1;
      if (req.bytes.length !== expected) {
        return restError(400, 'ILLEGAL_ARGUMENT', `Part ${index} must be ${expected} bytes, got ${req.bytes.length}`);
      }
      // The same bytes give the same ETag, so a re-sent part keeps its id.
      const digest = createHash('sha256').update(`${asset.urn}/${index}/`).update(req.bytes).digest('base64url');
      part.etag = `/ambry-video/signedId=${digest}`;
      return { status: 200, headers: { etag: part.etag } };
    },
  );

  sim.route('GET', /^\/rest\/(?<type>images|videos|documents)\/(?<urn>[^/]+)$/, 'asset', (req) => {
    const type = (req.params.type ?? '').slice(0, -1);
    const c = rest(req, `${type}s.GET`);
    if ('status' in c) return c;
    const urn = pathUrn(req);
    if (typeof urn !== 'string') return urn;
    const asset = assets.get(urn);
    if (!asset || asset.type !== type) return restError(404, 'NOT_FOUND', `${urn} does not exist`);
    if (asset.accountId !== c.account.id) return accessDenied(`${type}s.GET.${c.version}01`);
    const status = assetStatus(asset, { poll: true });
    return {
      status: 200,
      body: {
        owner: asset.owner,
        id: asset.urn,
        status,
        ...(status === 'AVAILABLE'
          ? {
              downloadUrl: `https://media.licdn.com/dms/${type}/v2/${asset.id}/feedshare-original/0/${asset.job?.createdAt}`,
              downloadUrlExpiresAt: clock.now() + 3_600_000,
            }
          : {}),
        ...(status === 'PROCESSING_FAILED' ? { processingFailureReason: asset.job?.failure } : {}),
      },
    };
  });

  /** The media a post's content names, each with the field it came from; or why the content is refused. */
  function mediaRefs(content: Record<string, unknown>): { field: string; id: unknown; only?: AssetType }[] | SimReply {
    const media = record(content.media);
    const multi = record(content.multiImage);
    const article = record(content.article);
    if (media) return [{ field: '/content/media/id', id: media.id }];
    if (multi) {
      const images = Array.isArray(multi.images) ? multi.images : [];
      if (images.length < 2 || images.length > 20) {
        return invalid('/content/multiImage/images', 'A multi-image post needs between 2 and 20 images');
      }
      return images.map((image, i) => ({
        field: `/content/multiImage/images/${i}/id`,
        id: record(image)?.id,
        only: 'image' as const,
      }));
    }
    if (article) {
      if (typeof article.source !== 'string' || !article.source) {
        return invalid('/content/article/source', 'Field is required');
      }
      return article.thumbnail === undefined
        ? []
        : [{ field: '/content/article/thumbnail', id: article.thumbnail, only: 'image' }];
    }
    return invalid('/content', 'Unsupported content type');
  }

  const postBody = (p: Post) => ({
    id: p.id,
    author: p.author,
    commentary: p.commentary,
    visibility: p.visibility,
    distribution: p.distribution,
    ...(p.content ? { content: p.content } : {}),
    lifecycleState: p.lifecycleState,
    isReshareDisabledByAuthor: p.isReshareDisabledByAuthor,
    createdAt: p.createdAt,
    publishedAt: p.createdAt,
    lastModifiedAt: p.createdAt,
    lifecycleStateInfo: { isEditedByAuthor: false },
  });

  // The commit: nothing before it is visible, and LinkedIn offers no idempotency key. A retry after a
  // lost answer is caught by duplicate detection, whose 422 names the post that landed.
  sim.route(
    'POST',
    '/rest/posts',
    'publish',
    (req) => {
      const c = rest(req, 'partnerApiPostsExternal.CREATE', 'w_member_social');
      if ('status' in c) return c;
      if (overDailyLimit('dailyPosts', c.account.id)) return sim.opts.throttle(sim, 0, 'publish');
      const b = req.json ?? {};
      if (b.author !== c.person)
        return accessDenied(`partnerApiPostsExternal.CREATE.${c.version}01 (author ${String(b.author)})`);
      const commentary = b.commentary ?? '';
      if (typeof commentary !== 'string') return invalid('/commentary', 'commentary must be a string');
      if (commentary.length > MAX_COMMENTARY) {
        return invalid('/commentary', `Length of commentary must not exceed ${MAX_COMMENTARY} characters`);
      }
      if (!['PUBLIC', 'CONNECTIONS', 'LOGGED_IN', 'CONTAINER'].includes(String(b.visibility))) {
        return invalid('/visibility', `Invalid visibility: ${String(b.visibility)}`);
      }
      const distribution = record(b.distribution);
      if (!distribution || !['MAIN_FEED', 'NONE'].includes(String(distribution.feedDistribution))) {
        return invalid('/distribution/feedDistribution', 'feedDistribution must be MAIN_FEED or NONE');
      }
      if (b.lifecycleState !== 'PUBLISHED') {
        return invalid('/lifecycleState', `Unsupported lifecycleState: ${String(b.lifecycleState)}`);
      }
      const content = b.content === undefined ? undefined : record(b.content);
      if (b.content !== undefined && !content) return invalid('/content', 'content must be an object');
      const refs = content ? mediaRefs(content) : [];
      if (!Array.isArray(refs)) return refs;
      const media: string[] = [];
      for (const ref of refs) {
        const asset = typeof ref.id === 'string' ? assets.get(ref.id) : undefined;
        if (!asset || asset.accountId !== c.account.id || (ref.only && asset.type !== ref.only)) {
          return invalid(ref.field, `${String(ref.id)} is not a media asset of ${c.person}`, { status: 400 });
        }
        const status = assetStatus(asset);
        if (status !== 'AVAILABLE') {
          return invalid(ref.field, `Media ${asset.urn} cannot be posted while its status is ${status}`);
        }
        media.push(asset.urn);
      }
      const fingerprint = canonical({ commentary, content });
      const earlier = posts.find(
        (p) => p.author === c.person && p.deletedAt === undefined && p.fingerprint === fingerprint,
      );
      if (earlier) {
        const message = `Content is a duplicate of ${earlier.id}`;
        return invalid('/commentary', message, { code: 'DUPLICATE_POST', message });
      }
      const post: Post = {
        id: `urn:li:share:7${numericId(18)}`,
        author: c.person,
        accountId: c.account.id,
        commentary,
        visibility: String(b.visibility),
        distribution,
        content,
        lifecycleState: 'PUBLISHED',
        isReshareDisabledByAuthor: b.isReshareDisabledByAuthor === true,
        createdAt: clock.now(),
        fingerprint,
      };
      posts.push(post);
      sim.recordWrite(
        'publish',
        { urn: post.id, author: post.author, commentary, media, visibility: post.visibility },
        c.account.id,
      );
      return { status: 201, headers: { 'x-restli-id': post.id } };
    },
    { write: true },
  );

  // The truth after an ambiguous create: the author's posts, newest first, offset-paged.
  sim.route('GET', '/rest/posts', 'posts', (req) => {
    const c = rest(req, 'partnerApiPostsExternal.FINDER-author');
    if ('status' in c) return c;
    if (req.query.get('q') !== 'author') return restError(400, 'ILLEGAL_ARGUMENT', 'Unsupported finder; use q=author');
    const author = req.query.get('author');
    if (!author) return restError(400, 'ILLEGAL_ARGUMENT', 'The author parameter is required');
    if (author !== c.person) return accessDenied(`partnerApiPostsExternal.FINDER-author.${c.version}01`);
    const start = Number(req.query.get('start') ?? 0);
    const count = Number(req.query.get('count') ?? 10);
    if (!Number.isInteger(start) || start < 0 || !Number.isInteger(count) || count < 1 || count > 100) {
      return restError(400, 'ILLEGAL_ARGUMENT', 'start must be 0 or more and count between 1 and 100');
    }
    const own = posts.filter((p) => p.author === author && p.deletedAt === undefined).reverse();
    return {
      status: 200,
      body: {
        elements: own.slice(start, start + count).map(postBody),
        paging: { start, count, total: own.length, links: [] },
      },
    };
  });

  sim.route('GET', /^\/rest\/posts\/(?<urn>[^/]+)$/, 'post', (req) => {
    const c = rest(req, 'partnerApiPostsExternal.GET');
    if ('status' in c) return c;
    const urn = pathUrn(req);
    if (typeof urn !== 'string') return urn;
    const post = posts.find((p) => p.id === urn && p.deletedAt === undefined);
    return post ? { status: 200, body: postBody(post) } : restError(404, 'NOT_FOUND', `${urn} does not exist`);
  });

  sim.route(
    'DELETE',
    /^\/rest\/posts\/(?<urn>[^/]+)$/,
    'delete',
    (req) => {
      const c = rest(req, 'partnerApiPostsExternal.DELETE', 'w_member_social');
      if ('status' in c) return c;
      const urn = pathUrn(req);
      if (typeof urn !== 'string') return urn;
      const post = posts.find((p) => p.id === urn);
      if (!post) return restError(404, 'NOT_FOUND', `${urn} does not exist`);
      if (post.accountId !== c.account.id) return accessDenied(`partnerApiPostsExternal.DELETE.${c.version}01`);
      // A repeated delete (after a lost answer) finds the post gone and answers the same.
      if (post.deletedAt === undefined) {
        post.deletedAt = clock.now();
        sim.recordWrite('delete', { urn }, c.account.id);
      }
      return { status: 204 };
    },
    { write: true },
  );

  const seed = () => {
    ledger.clear();
    assets.clear();
    posts.length = 0;
    sim.knobs.dailyCalls = 100_000;
    sim.knobs.dailyPosts = 150;
    sim.knobs.versionMonths = 12;
    sim.knobs.assetMs = 0;
    sim.knobs.assetPolls = 0;
    sim.addAccount({
      id: memberId(),
      name: 'Switchboard Sim',
      email: 'switchboard.sim@example.com',
      emailVerified: true,
    });
  };
  return { sim, seed };
}
