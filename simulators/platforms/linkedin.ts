import { createHash, randomBytes } from 'node:crypto';
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
import { audienceOf, counterOf, shapeSeededIds } from '../sync-content.ts';

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
  /** urn:li:person:<id>: the author and owner of what the member publishes. */
  person: string;
  /** Organizations the member administers (urn:li:organization:<id>): authors of seeded page posts. */
  orgs: string[];
  scopes: string[];
  version: string;
}

const orgsOf = (account: SimAccount | undefined) =>
  account?.extra?.organizationId ? [`urn:li:organization:${account.extra.organizationId}`] : [];

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
  /** Authors of posts published through the API; seeded posts belong to their account's page (or member). */
  const authors = new Map<string, string>();
  const authorOf = (p: SimPost) => {
    const account = sim.accounts.get(p.accountId);
    return authors.get(p.id) ?? orgsOf(account)[0] ?? `urn:li:person:${p.accountId}`;
  };
  const seededPost = (p: SimPost): Post => ({
    id: p.id,
    author: authorOf(p),
    accountId: p.accountId,
    commentary: p.text,
    visibility: 'PUBLIC',
    distribution: { feedDistribution: 'MAIN_FEED', targetEntities: [], thirdPartyDistributionChannels: [] },
    lifecycleState: 'PUBLISHED',
    isReshareDisabledByAuthor: false,
    createdAt: p.createdAt,
    fingerprint: '',
  });

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
    return {
      account: auth.account,
      person: `urn:li:person:${auth.account.id}`,
      orgs: orgsOf(auth.account),
      scopes: auth.grant.scopes,
      version,
    };
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

  /**
   * Who may own an upload or author a post: the member with w_member_social, or a page it
   * administers with w_organization_social.
   */
  const mayAuthor = (c: Caller, urn: unknown) =>
    (urn === c.person && c.scopes.includes('w_member_social')) ||
    (typeof urn === 'string' && c.orgs.includes(urn) && c.scopes.includes('w_organization_social'));
  const mayWrite = (c: Caller) => c.scopes.includes('w_member_social') || c.scopes.includes('w_organization_social');

  function newAsset(type: AssetType, c: Caller, owner: unknown, sizeBytes?: number): Asset | SimReply {
    if (typeof owner !== 'string' || !owner) {
      return invalid('/initializeUploadRequest/owner', 'Field is required', { status: 400 });
    }
    if (!mayAuthor(c, owner)) return accessDenied(`${type}s.ACTION-initializeUpload.${c.version}01 (owner ${owner})`);
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
      const c = rest(req, `${type}s.ACTION-initializeUpload`);
      if ('status' in c) return c;
      if (!mayWrite(c)) return accessDenied(`${type}s.ACTION-initializeUpload.${c.version}01`);
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
    const c = rest(req, `videos.ACTION-${action}`);
    if ('status' in c) return c;
    if (!mayWrite(c)) return accessDenied(`videos.ACTION-${action}.${c.version}01`);
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
      const c = rest(req, 'partnerApiPostsExternal.CREATE');
      if ('status' in c) return c;
      if (!mayWrite(c)) return accessDenied(`partnerApiPostsExternal.CREATE.${c.version}01`);
      if (overDailyLimit('dailyPosts', c.account.id)) return sim.opts.throttle(sim, 0, 'publish');
      const b = req.json ?? {};
      if (!mayAuthor(c, b.author))
        return accessDenied(`partnerApiPostsExternal.CREATE.${c.version}01 (author ${String(b.author)})`);
      const author = String(b.author);
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
        (p) => p.author === author && p.deletedAt === undefined && p.fingerprint === fingerprint,
      );
      if (earlier) {
        const message = `Content is a duplicate of ${earlier.id}`;
        return invalid('/commentary', message, { code: 'DUPLICATE_POST', message });
      }
      const post: Post = {
        id: `urn:li:share:7${numericId(18)}`,
        author,
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
      // Syncs list it from sim.content too, where its counters and comments live.
      authors.set(post.id, post.author);
      sim.content.posts.unshift({
        id: post.id,
        accountId: c.account.id,
        createdAt: post.createdAt,
        text: commentary,
        mediaType: media.length ? (assets.get(media[0] as string)?.type ?? 'image').toUpperCase() : 'TEXT',
        counters: {},
      });
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
    if (author !== c.person && !c.orgs.includes(author)) {
      return accessDenied(`partnerApiPostsExternal.FINDER-author.${c.version}01`);
    }
    const start = Number(req.query.get('start') ?? 0);
    const count = Number(req.query.get('count') ?? 10);
    if (!Number.isInteger(start) || start < 0 || !Number.isInteger(count) || count < 1 || count > 100) {
      return restError(400, 'ILLEGAL_ARGUMENT', 'start must be 0 or more and count between 1 and 100');
    }
    // Published through the API, and seeded (sim.content): newest first.
    const published = new Set(posts.map((p) => p.id));
    const own = [
      ...posts.filter((p) => p.author === author && p.deletedAt === undefined),
      ...sim.content.posts.filter((p) => !published.has(p.id) && authorOf(p) === author).map(seededPost),
    ].sort((a, b) => b.createdAt - a.createdAt);
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
    const seeded = sim.content.post(urn);
    const post = posts.find((p) => p.id === urn && p.deletedAt === undefined) ?? (seeded && seededPost(seeded));
    return post ? { status: 200, body: postBody(post) } : restError(404, 'NOT_FOUND', `${urn} does not exist`);
  });

  sim.route(
    'DELETE',
    /^\/rest\/posts\/(?<urn>[^/]+)$/,
    'delete',
    (req) => {
      const c = rest(req, 'partnerApiPostsExternal.DELETE');
      if ('status' in c) return c;
      const urn = pathUrn(req);
      if (typeof urn !== 'string') return urn;
      const post = posts.find((p) => p.id === urn);
      if (!post) return restError(404, 'NOT_FOUND', `${urn} does not exist`);
      if (post.accountId !== c.account.id || !mayAuthor(c, post.author)) {
        return accessDenied(`partnerApiPostsExternal.DELETE.${c.version}01`);
      }
      // A repeated delete (after a lost answer) finds the post gone and answers the same.
      if (post.deletedAt === undefined) {
        post.deletedAt = clock.now();
        sim.content.posts = sim.content.posts.filter((p) => p.id !== urn);
        sim.recordWrite('delete', { urn }, c.account.id);
      }
      return { status: 204 };
    },
    { write: true },
  );

  communityManagement(sim, { rest, pathUrn, accessDenied, seededPost, authorOf });

  const seed = () => {
    ledger.clear();
    assets.clear();
    posts.length = 0;
    authors.clear();
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
      // The member administers one company page, which the organization endpoints answer for.
      extra: { organizationId: numericId(8), followers: '2400' },
    });
  };
  return { sim, seed };
}

// Community Management: organization statistics (followers, page views, shares; DAY granularity over
// epoch-ms time ranges), follower counts and lifetime follower demographics, social actions (likes and comments of posts, batch-read),
// comments (offset-paged newest first, written and deleted), and the organization social action
// notifications the comments send. Backed by sim.content.

const DAY_MS = 86_400_000;
const ORG_ADMIN = 'rw_organization_admin';
/** Either lets a member read its own organization roles. */
const ACL_SCOPES = [ORG_ADMIN, 'r_organization_admin'];

interface RestDeps {
  rest(req: SimRequest, access: string, scope?: string): Caller | SimReply;
  pathUrn(req: SimRequest): string | SimReply;
  accessDenied(what: string): SimReply;
  seededPost(p: SimPost): Post;
  authorOf(p: SimPost): string;
}

/** Lifetime follower breakdowns: each value's URN prefix, and the ids the simulator spreads followers over. */
export const FOLLOWER_BREAKDOWNS = {
  seniority: { urn: 'urn:li:seniority:', values: ['1', '3', '4', '5', '6', '7', '8', '10'] },
  function: { urn: 'urn:li:function:', values: ['1', '4', '8', '12', '13', '18', '25'] },
  industry: { urn: 'urn:li:industry:', values: ['4', '6', '43', '96', '104'] },
  // United States, United Kingdom, Germany, India, France, Brazil.
  country: {
    urn: 'urn:li:geo:',
    values: ['103644278', '101165590', '101282230', '102713980', '105015875', '106057199'],
  },
};

/** Rest.li 2.0 lists, List(a,b), split at their top-level commas (comment URNs carry commas of their own). */
function restliList(value: string | null): string[] | undefined {
  const m = /^List\((.*)\)$/.exec(value ?? '');
  if (!m) return undefined;
  const out: string[] = [];
  let depth = 0;
  let item = '';
  for (const ch of m[1] ?? '') {
    if (ch === ',' && depth === 0) {
      out.push(item);
      item = '';
      continue;
    }
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    item += ch;
  }
  if (item) out.push(item);
  return out.map((v) => decodeURIComponent(v));
}

/** timeIntervals=(timeRange:(start:<ms>,end:<ms>),timeGranularityType:DAY) */
function timeIntervals(value: string | null): { start: number; end: number; granularity: string } | undefined {
  const m = /^\(timeRange:\(start:(\d+),end:(\d+)\),timeGranularityType:(DAY|MONTH)\)$/.exec(value ?? '');
  return m ? { start: Number(m[1]), end: Number(m[2]), granularity: m[3] as string } : undefined;
}

/** Comment URNs name their post: urn:li:comment:(urn:li:share:…,<id>). */
export function commentUrnOf(m: SimMessage): string {
  if (m.id.startsWith('urn:li:comment:')) return m.id;
  return `urn:li:comment:(${m.threadId},${m.id.replace(/\D/g, '').slice(-19) || '0'})`;
}
const commentIdOf = (urn: string) => /,(\d+)\)$/.exec(urn)?.[1];

/** Commenters the store names by a made-up id (fan-0, …) get a stable member URN. */
const personOf = (authorId: string) =>
  authorId.startsWith('urn:li:')
    ? authorId
    : `urn:li:person:${createHash('sha256').update(authorId).digest('base64url').replace(/[-_]/g, 'x').slice(0, 10)}`;

function communityManagement(sim: PlatformSim, deps: RestDeps) {
  const clock = sim.clock;
  const shareUrn = () => `urn:li:share:7${numericId(18)}`;

  sim.contentId = shareUrn;
  // Seeded history gets LinkedIn's shapes: share URNs for posts, comment URNs that name their post.
  shapeSeededIds(sim, {
    post: shareUrn,
    message(m) {
      if (m.kind === 'comment') m.id = `urn:li:comment:(${m.threadId},7${numericId(18)})`;
      else if (m.kind === 'mention') m.id = m.threadId = shareUrn();
    },
  });

  /** The caller, when it administers `org` with rw_organization_admin. */
  function orgAdmin(req: SimRequest, access: string, org: string | null): Caller | SimReply {
    const c = deps.rest(req, access);
    if ('status' in c) return c;
    if (!org) return restError(400, 'ILLEGAL_ARGUMENT', 'The organizationalEntity parameter is required');
    if (!c.scopes.includes(ORG_ADMIN) || !c.orgs.includes(org)) return deps.accessDenied(`${access}.${c.version}01`);
    return c;
  }

  const accountOfOrg = (org: string) => [...sim.accounts.values()].find((a) => orgsOf(a).includes(org));
  const dayStart = (day: string) => Date.parse(`${day}T00:00:00Z`);

  /** Daily values of the org's account inside a time range (end exclusive), as LinkedIn's elements. */
  function daily(org: string, range: { start: number; end: number }) {
    const account = accountOfOrg(org);
    if (!account) return [];
    const from = new Date(range.start).toISOString().slice(0, 10);
    const to = new Date(range.end - 1).toISOString().slice(0, 10);
    return sim.content
      .dailyOf(account.id, from, to)
      .map(({ day, metrics }) => ({ timeRange: { start: dayStart(day), end: dayStart(day) + DAY_MS }, metrics }));
  }

  const paging = (count: number) => ({ start: 0, count, links: [] });
  const badRange = () =>
    restError(
      400,
      'ILLEGAL_ARGUMENT',
      'timeIntervals must be (timeRange:(start:<ms>,end:<ms>),timeGranularityType:DAY)',
    );

  /** Followers of the page now: the seeded count plus what content/bump added (firstDegreeSize). */
  const followersOf = (a: SimAccount) =>
    Number(a.extra?.followers ?? 0) + (sim.content.totals.get(a.id)?.firstDegreeSize ?? 0);

  /**
   * Lifetime demographics: the followers spread over each breakdown's values (sync-content.ts
   * audienceOf; bump `seniority.3`, `country.103644278`, …), a tenth of each paid.
   */
  function lifetimeFollowers(org: string, a: SimAccount) {
    const breakdown = (dimension: keyof typeof FOLLOWER_BREAKDOWNS, key: string) => {
      const { urn, values } = FOLLOWER_BREAKDOWNS[dimension];
      return audienceOf(sim.content, a.id, dimension, values, followersOf(a)).map(({ value, count }) => ({
        followerCounts: {
          organicFollowerCount: count - Math.floor(count / 10),
          paidFollowerCount: Math.floor(count / 10),
        },
        [key]: `${urn}${value}`,
      }));
    };
    return {
      followerCountsByAssociationType: [],
      followerCountsBySeniority: breakdown('seniority', 'seniority'),
      followerCountsByFunction: breakdown('function', 'function'),
      followerCountsByIndustry: breakdown('industry', 'industry'),
      followerCountsByGeoCountry: breakdown('country', 'geo'),
      followerCountsByGeo: [],
      followerCountsByStaffCountRange: [],
      organizationalEntity: org,
    };
  }

  // With timeIntervals: follower gains by day. Without: lifetime follower demographics.
  sim.route('GET', '/rest/organizationalEntityFollowerStatistics', 'analytics', (req) => {
    const org = req.query.get('organizationalEntity');
    const c = orgAdmin(req, 'organizationalEntityFollowerStatistics.FINDER-organizationalEntity', org);
    if ('status' in c) return c;
    if (!req.query.has('timeIntervals')) {
      return { status: 200, body: { paging: paging(1), elements: [lifetimeFollowers(org as string, c.account)] } };
    }
    const range = timeIntervals(req.query.get('timeIntervals'));
    if (!range) return badRange();
    const elements = daily(org as string, range).map(({ timeRange, metrics }) => ({
      timeRange,
      followerGains: {
        organicFollowerGain: metrics.organicFollowerGain ?? 0,
        paidFollowerGain: metrics.paidFollowerGain ?? 0,
      },
      organizationalEntity: org,
    }));
    return { status: 200, body: { paging: paging(elements.length), elements } };
  });

  sim.route('GET', '/rest/organizationPageStatistics', 'analytics', (req) => {
    const org = req.query.get('organization');
    const c = orgAdmin(req, 'organizationPageStatistics.FINDER-organization', org);
    if ('status' in c) return c;
    const range = timeIntervals(req.query.get('timeIntervals'));
    if (!range) return badRange();
    const elements = daily(org as string, range).map(({ timeRange, metrics }) => ({
      timeRange,
      totalPageStatistics: {
        views: {
          allPageViews: { pageViews: metrics.pageViews ?? metrics.views ?? 0 },
          overviewPageViews: { pageViews: 0 },
        },
        clicks: {},
      },
      organization: org,
    }));
    return { status: 200, body: { paging: paging(elements.length), elements } };
  });

  const shareStatistics = (values: Record<string, number>) => ({
    uniqueImpressionsCount: counterOf(values, 'uniqueImpressionsCount', 'reach'),
    shareCount: counterOf(values, 'shareCount', 'shares'),
    engagement: counterOf(values, 'engagement'),
    clickCount: counterOf(values, 'clickCount', 'clicks'),
    likeCount: counterOf(values, 'likeCount', 'likes'),
    impressionCount: counterOf(values, 'impressionCount', 'views'),
    commentCount: counterOf(values, 'commentCount', 'comments'),
  });

  // Time-bound: one element per day. With shares=List(…) / ugcPosts=List(…): lifetime, per post.
  sim.route('GET', '/rest/organizationalEntityShareStatistics', 'share_statistics', (req) => {
    const org = req.query.get('organizationalEntity');
    const c = orgAdmin(req, 'organizationalEntityShareStatistics.FINDER-organizationalEntity', org);
    if ('status' in c) return c;
    const shares = restliList(req.query.get('shares'));
    const ugcPosts = restliList(req.query.get('ugcPosts'));
    if (shares || ugcPosts) {
      const wanted = [...(shares ?? []), ...(ugcPosts ?? [])];
      if (wanted.length > 100) return restError(400, 'ILLEGAL_ARGUMENT', 'At most 100 posts per request');
      const elements = wanted.flatMap((urn) => {
        const post = sim.content.post(urn);
        if (!post || deps.authorOf(post) !== org) return [];
        const key = urn.startsWith('urn:li:ugcPost:') ? 'ugcPost' : 'share';
        return [{ totalShareStatistics: shareStatistics(post.counters), [key]: urn, organizationalEntity: org }];
      });
      return { status: 200, body: { paging: paging(elements.length), elements } };
    }
    const range = timeIntervals(req.query.get('timeIntervals'));
    if (!range) return badRange();
    const elements = daily(org as string, range).map(({ timeRange, metrics }) => ({
      timeRange,
      totalShareStatistics: shareStatistics(metrics),
      organizationalEntity: org,
    }));
    return { status: 200, body: { paging: paging(elements.length), elements } };
  });

  // Followers of a page now: networkSizes/{org}?edgeType=COMPANY_FOLLOWED_BY_MEMBER.
  sim.route('GET', /^\/rest\/networkSizes\/(?<urn>[^/]+)$/, 'account', (req) => {
    const urn = deps.pathUrn(req);
    if (typeof urn !== 'string') return urn;
    const c = orgAdmin(req, 'networkSizes.GET', urn);
    if ('status' in c) return c;
    if (req.query.get('edgeType') !== 'COMPANY_FOLLOWED_BY_MEMBER') {
      return restError(400, 'ILLEGAL_ARGUMENT', 'edgeType must be COMPANY_FOLLOWED_BY_MEMBER');
    }
    return { status: 200, body: { firstDegreeSize: followersOf(c.account) } };
  });

  // The member's roles: organizationAcls?q=roleAssignee[&role=…][&state=…]. The seeded member is the
  // approved ADMINISTRATOR of its page (extra.organizationId); a member without one has no roles.
  sim.route('GET', '/rest/organizationAcls', 'organization_acls', (req) => {
    const c = deps.rest(req, 'organizationAcls.FINDER-roleAssignee');
    if ('status' in c) return c;
    if (req.query.get('q') !== 'roleAssignee') {
      return restError(400, 'ILLEGAL_ARGUMENT', 'Unsupported finder; use q=roleAssignee');
    }
    if (!ACL_SCOPES.some((s) => c.scopes.includes(s))) {
      return deps.accessDenied(`organizationAcls.FINDER-roleAssignee.${c.version}01`);
    }
    const role = req.query.get('role');
    const state = req.query.get('state');
    const start = Number(req.query.get('start') ?? 0);
    const count = Number(req.query.get('count') ?? 10);
    if (!Number.isInteger(start) || start < 0 || !Number.isInteger(count) || count < 1 || count > 100) {
      return restError(400, 'ILLEGAL_ARGUMENT', 'start must be 0 or more and count between 1 and 100');
    }
    const all = c.orgs
      .map((organization) => ({
        roleAssignee: c.person,
        state: 'APPROVED',
        role: 'ADMINISTRATOR',
        organization,
      }))
      .filter((acl) => (!role || acl.role === role) && (!state || acl.state === state));
    return {
      status: 200,
      body: { paging: { start, count, total: all.length, links: [] }, elements: all.slice(start, start + count) },
    };
  });

  /** The post a socialActions path names, when the caller may see it. */
  function postOf(urn: string): SimPost | undefined {
    return sim.content.post(urn);
  }

  const liveComments = (postUrn: string) =>
    sim.content.messages.filter((m) => m.kind === 'comment' && !m.deleted && m.threadId === postUrn);

  // Batch get of likes and comments summaries: socialActions?ids=List(urn,…).
  sim.route('GET', '/rest/socialActions', 'media_stats', (req) => {
    const c = deps.rest(req, 'socialActions.BATCH_GET');
    if ('status' in c) return c;
    const ids = restliList(req.query.get('ids'));
    if (!ids?.length || ids.length > 100)
      return restError(400, 'ILLEGAL_ARGUMENT', 'ids must be List(…) of 1 to 100 URNs');
    const results: Record<string, unknown> = {};
    const statuses: Record<string, number> = {};
    const errors: Record<string, unknown> = {};
    for (const urn of ids) {
      const post = postOf(urn);
      if (!post) {
        statuses[urn] = 404;
        errors[urn] = { status: 404, message: `${urn} does not exist` };
        continue;
      }
      const all = liveComments(urn);
      const likes = counterOf(post.counters, 'likeCount', 'likes');
      statuses[urn] = 200;
      results[urn] = {
        target: urn,
        likesSummary: { selectedLikes: [], aggregatedTotalLikes: likes, likedByCurrentUser: false, totalLikes: likes },
        commentsSummary: {
          selectedComments: [],
          totalFirstLevelComments: all.filter((m) => !m.parentId).length,
          commentsState: 'OPEN',
          aggregatedTotalComments: counterOf(post.counters, 'commentCount', 'comments') || all.length,
        },
      };
    }
    return { status: 200, body: { results, statuses, errors } };
  });

  function commentBody(m: SimMessage) {
    const urn = commentUrnOf(m);
    const actor = personOf(m.authorId);
    return {
      id: commentIdOf(urn),
      commentUrn: urn,
      actor,
      ...(m.fromAccount || actor.startsWith('urn:li:organization:') ? {} : { agent: actor }),
      created: { actor, time: m.createdAt },
      lastModified: { actor, time: m.createdAt },
      message: { text: m.text, attributes: [] },
      object: m.threadId,
      ...(m.parentId ? { parentComment: m.parentId } : {}),
      likesSummary: { selectedLikes: [], aggregatedTotalLikes: 0, likedByCurrentUser: false, totalLikes: 0 },
    };
  }

  const findComment = (urn: string) =>
    sim.content.messages.find((m) => m.kind === 'comment' && !m.deleted && commentUrnOf(m) === urn);

  // Comments of a post (all of them, replies with their parentComment), or replies to one comment;
  // newest first, offset-paged.
  sim.route('GET', /^\/rest\/socialActions\/(?<urn>[^/]+)\/comments$/, 'comments', (req) => {
    const c = deps.rest(req, 'socialActions.comments.GET_ALL');
    if ('status' in c) return c;
    const urn = deps.pathUrn(req);
    if (typeof urn !== 'string') return urn;
    const start = Number(req.query.get('start') ?? 0);
    const count = Number(req.query.get('count') ?? 10);
    if (!Number.isInteger(start) || start < 0 || !Number.isInteger(count) || count < 1 || count > 100) {
      return restError(400, 'ILLEGAL_ARGUMENT', 'start must be 0 or more and count between 1 and 100');
    }
    const parent = urn.startsWith('urn:li:comment:') ? findComment(urn) : undefined;
    if (!parent && !postOf(urn)) return restError(404, 'NOT_FOUND', `${urn} does not exist`);
    const all = (parent ? liveComments(parent.threadId).filter((m) => m.parentId === urn) : liveComments(urn)).sort(
      (a, b) => b.createdAt - a.createdAt,
    );
    return {
      status: 200,
      body: {
        paging: { start, count, total: all.length, links: [] },
        elements: all.slice(start, start + count).map(commentBody),
      },
    };
  });

  /** Who may act on a post: the member, or a page the member administers. */
  const actorAllowed = (c: Caller, actor: unknown) =>
    typeof actor === 'string' && (actor === c.person || c.orgs.includes(actor));
  const canWrite = (c: Caller) => c.scopes.includes('w_member_social') || c.scopes.includes('w_organization_social');

  sim.route(
    'POST',
    /^\/rest\/socialActions\/(?<urn>[^/]+)\/comments$/,
    'reply',
    (req) => {
      const c = deps.rest(req, 'socialActions.comments.CREATE');
      if ('status' in c) return c;
      if (!canWrite(c)) return deps.accessDenied(`socialActions.comments.CREATE.${c.version}01`);
      const urn = deps.pathUrn(req);
      if (typeof urn !== 'string') return urn;
      const b = req.json ?? {};
      if (!actorAllowed(c, b.actor)) {
        return deps.accessDenied(`socialActions.comments.CREATE.${c.version}01 (actor ${String(b.actor)})`);
      }
      const text = (b.message as { text?: unknown } | undefined)?.text;
      if (typeof text !== 'string' || !text.trim()) return invalid('/message/text', 'Field is required');
      if (text.length > 1250) return invalid('/message/text', 'Length of text must not exceed 1250 characters');
      const inPath = urn.startsWith('urn:li:comment:') ? findComment(urn) : undefined;
      const post = postOf(inPath?.threadId ?? urn);
      if (!post) return restError(404, 'NOT_FOUND', `${urn} does not exist`);
      let parentUrn = typeof b.parentComment === 'string' ? b.parentComment : inPath ? urn : undefined;
      const parent = parentUrn ? findComment(parentUrn) : undefined;
      if (parentUrn && (!parent || parent.threadId !== post.id)) {
        return invalid('/parentComment', `${parentUrn} is not a comment on ${post.id}`, { status: 400 });
      }
      // One level of nesting: a reply to a reply joins its top-level comment.
      if (parent?.parentId) parentUrn = parent.parentId;
      const comment = sim.content.addMessage(
        sim.content.message({
          id: `urn:li:comment:(${post.id},7${numericId(18)})`,
          accountId: post.accountId,
          kind: 'comment',
          threadId: post.id,
          ...(parentUrn ? { parentId: parentUrn } : {}),
          authorId: b.actor as string,
          authorName: c.account.name,
          text,
          createdAt: clock.now(),
          fromAccount: post.accountId === c.account.id,
        }),
      );
      sim.recordWrite('reply', { urn: comment.id, post: post.id, parentComment: parentUrn, text }, c.account.id);
      return { status: 201, headers: { 'x-restli-id': String(commentIdOf(comment.id)) }, body: commentBody(comment) };
    },
    { write: true },
  );

  sim.route(
    'DELETE',
    /^\/rest\/socialActions\/(?<urn>[^/]+)\/comments\/(?<id>\d+)$/,
    'moderate',
    (req) => {
      const c = deps.rest(req, 'socialActions.comments.DELETE');
      if ('status' in c) return c;
      if (!canWrite(c)) return deps.accessDenied(`socialActions.comments.DELETE.${c.version}01`);
      const urn = deps.pathUrn(req);
      if (typeof urn !== 'string') return urn;
      const actor = req.query.get('actor');
      if (!actorAllowed(c, actor)) return deps.accessDenied(`socialActions.comments.DELETE.${c.version}01 (actor)`);
      const comment = liveComments(urn).find((m) => commentIdOf(commentUrnOf(m)) === req.params.id);
      if (!comment) return restError(404, 'NOT_FOUND', `Comment ${req.params.id} on ${urn} does not exist`);
      // The post's owner may delete any comment on it; others only their own.
      if (comment.accountId !== c.account.id && personOf(comment.authorId) !== actor) {
        return deps.accessDenied(`socialActions.comments.DELETE.${c.version}01`);
      }
      comment.deleted = true;
      sim.recordWrite('moderate', { urn: commentUrnOf(comment), deleted: true }, c.account.id);
      return { status: 204 };
    },
    { write: true },
  );

  // Organization social action notifications (the member subscribed for its page). A redelivery of
  // the same notification carries the same id, so the id comes from the message.
  const notificationId = (messageId: string) =>
    Number.parseInt(createHash('sha256').update(messageId).digest('hex').slice(0, 12), 16);
  sim.webhookFor = (m) => {
    const account = sim.accounts.get(m.accountId);
    const org = orgsOf(account)[0] ?? `urn:li:person:${m.accountId}`;
    const actor = personOf(m.authorId);
    const base = {
      notificationId: notificationId(m.id),
      organizationalEntity: org,
      lastModifiedAt: m.createdAt,
      subscriber: `urn:li:person:${m.accountId}`,
    };
    const notification =
      m.kind === 'mention'
        ? {
            ...base,
            action: 'SHARE_MENTION',
            sourcePost: m.id,
            generatedActivity: m.id,
            decoratedGeneratedActivity: { share: { entity: m.id, owner: actor, text: m.text } },
          }
        : {
            ...base,
            action: m.fromAccount ? 'ADMIN_COMMENT' : 'COMMENT',
            sourcePost: m.threadId,
            decoratedSourcePost: { entity: m.threadId, owner: org },
            generatedActivity: commentUrnOf(m),
            decoratedGeneratedActivity: {
              comment: {
                entity: commentUrnOf(m),
                object: m.threadId,
                owner: actor,
                text: m.text,
                ...(m.parentId ? { parentComment: m.parentId } : {}),
              },
            },
          };
    return { type: 'ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS', notifications: [notification] };
  };
}
