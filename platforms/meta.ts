import { DUPLICATE_CODE, isPlatformError, PlatformError } from './errors.ts';
import {
  asRecord,
  callPlatform,
  oauthTokens,
  type PlatformRequest,
  type PlatformResponse,
  requireString,
  url,
} from './http.ts';
import type {
  AdapterConfig,
  PlatformId,
  Processing,
  PublishAccount,
  PublishContent,
  PublishedPost,
  Publisher,
  PublishHandle,
  TokenSet,
  Verdict,
} from './types.ts';

// What the Meta family (Instagram, Facebook Pages, Threads, WhatsApp) shares: one error envelope,
// classified by code, subcode and is_transient rather than by HTTP status (usually 400 for all).

/** Graph API version pinned for graph.facebook.com and graph.instagram.com. */
export const GRAPH_VERSION = 'v25.0';

const THROTTLE_CODES = new Set([4, 17, 32, 613, 130429, 131056]);
/**
 * The rolling publish cap (Instagram's subcode 2207042, which Threads answers with too); code 9 is
 * Meta's "limit reached" for the other caps (Threads' delete cap).
 */
const PUBLISH_CAP_SUBCODE = 2207042;
const LIMIT_REACHED_CODE = 9;
/**
 * How long a full publish cap waits when nothing better is known. The caps roll over 24 hours, so
 * the true wait is "until the oldest counted post leaves the window"; capacity() estimates that
 * from the account's media list and falls back to this, after which it simply asks again.
 */
export const PUBLISH_CAP_WAIT_MS = 15 * 60_000;
/** The publish cap's refusal, as metaError codes it (`9/2207042`). */
const isPublishCap = (err: PlatformError) => {
  const [code, subcode] = (err.code ?? '').split('/');
  return Number(subcode) === PUBLISH_CAP_SUBCODE || Number(code) === LIMIT_REACHED_CODE;
};
/** 368/1390008 "posting too fast": a refusal (nothing was posted), not a lost answer. */
const TOO_FAST = { code: 368, subcode: 1390008, waitMs: 60_000 };
/** 80000–80014 are the Business Use Case limits (Pages 80001, Instagram 80002, WABA 80007, …). */
const isThrottle = (code: number) => THROTTLE_CODES.has(code) || (code >= 80_000 && code <= 80_014);

/** The longest estimated_time_to_regain_access (minutes) of any X-Business-Use-Case-Usage entry. */
export function bucRetryAfterMs(res: PlatformResponse): number | undefined {
  let usage: unknown;
  try {
    usage = JSON.parse(res.headers.get('x-business-use-case-usage') ?? 'null');
  } catch {
    return undefined;
  }
  const minutes = Object.values(asRecord(usage))
    .flatMap((entries) => (Array.isArray(entries) ? entries : []))
    .map((entry) => Number(asRecord(entry).estimated_time_to_regain_access))
    .filter((m) => m > 0);
  return minutes.length ? Math.max(...minutes) * 60_000 : undefined;
}

/**
 * Meta's error, wherever it sits: the Graph envelope {error:{code, error_subcode, is_transient}},
 * debug_token's {data:{is_valid:false, error:{code, subcode}}}, or api.instagram.com's flat
 * {error_type, code, error_message}.
 */
export function metaError(
  platform: PlatformId,
  res: PlatformResponse,
  req?: PlatformRequest,
): PlatformError | undefined {
  const body = asRecord(res.body);
  const debug = asRecord(body.data);
  const error = asRecord(
    body.error ??
      (debug.is_valid === false ? debug.error : undefined) ??
      (body.error_type ? { type: body.error_type, code: body.code, message: body.error_message } : undefined),
  );
  if (error.code === undefined) return undefined;
  const code = Number(error.code);
  const subcode = error.error_subcode ?? error.subcode;
  const id = subcode === undefined ? String(code) : `${code}/${subcode}`;
  const message = `${platform}: (#${id}) ${String(error.message ?? 'error')}`;
  const opts = { status: res.status, code: id };
  // 190/102: only 463 is a plain expiry; every other subcode means the grant is gone.
  if (code === 190 || code === 102) {
    return new PlatformError(platform, Number(subcode) === 463 ? 'token_expired' : 'token_revoked', message, opts);
  }
  if (Number(subcode) === PUBLISH_CAP_SUBCODE || code === LIMIT_REACHED_CODE) {
    return new PlatformError(platform, 'rate_limited', message, { ...opts, retryAfterMs: PUBLISH_CAP_WAIT_MS });
  }
  if (code === TOO_FAST.code && Number(subcode) === TOO_FAST.subcode) {
    return new PlatformError(platform, 'rate_limited', message, {
      ...opts,
      retryAfterMs: bucRetryAfterMs(res) ?? TOO_FAST.waitMs,
    });
  }
  if (isThrottle(code)) {
    return new PlatformError(platform, 'rate_limited', message, { ...opts, retryAfterMs: bucRetryAfterMs(res) });
  }
  if (error.is_transient === true || code === 1 || code === 2) {
    return new PlatformError(platform, req?.write ? 'outcome_unknown' : 'transient', message, opts);
  }
  return new PlatformError(platform, 'permanent', message, opts);
}

/** callPlatform with the Meta classifier: the one way the four Meta adapters call their platform. */
export function metaCaller(platform: PlatformId, cfg: AdapterConfig) {
  return (req: PlatformRequest) => callPlatform(platform, cfg.timeoutMs, req, (res, r) => metaError(platform, res, r));
}

/** The data array of a Graph list: a paged response or an expanded edge. */
export const graphList = (list: unknown): Record<string, unknown>[] => {
  const data = asRecord(list).data;
  return Array.isArray(data) ? data.map(asRecord) : [];
};

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Instagram and Threads append "#_" to the redirect; a code copied with it is refused. */
export const stripHashUnderscore = (code: string) => code.replace(/#_$/, '');

/**
 * Instagram Login and Threads share one login: consent on `www`, a code redeemed for a 1-hour token
 * on `code`, swapped on `graph` for a 60-day token that is re-issued (no refresh token) once it is
 * a day old. Each adapter keeps what differs: hosts, grant names, scopes and the profile call.
 */
export function reissueLogin(
  platform: PlatformId,
  cfg: AdapterConfig,
  opts: {
    hosts: { www: string; code: string; graph: string };
    grants: { exchange: string; refresh: string };
    scopes: string[];
  },
) {
  const call = metaCaller(platform, cfg);
  const { hosts, grants } = opts;
  return {
    call,
    authorizeUrl({ state, redirectUri }: { state: string; redirectUri: string }) {
      return url(hosts.www, '/oauth/authorize', {
        client_id: cfg.clientId,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: opts.scopes.join(','),
        state,
      });
    },
    /** The short-lived token's response body. */
    async redeem(code: string, redirectUri: string): Promise<unknown> {
      const res = await call({
        method: 'POST',
        url: url(hosts.code, '/oauth/access_token'),
        form: {
          client_id: cfg.clientId,
          client_secret: cfg.clientSecret,
          grant_type: 'authorization_code',
          redirect_uri: redirectUri,
          code: stripHashUnderscore(code),
        },
      });
      return res.body;
    },
    async longLived(shortToken: string): Promise<PlatformResponse> {
      return call({
        url: url(hosts.graph, '/access_token', {
          grant_type: grants.exchange,
          client_secret: cfg.clientSecret,
          access_token: shortToken,
        }),
      });
    },
    async refresh(tokens: TokenSet): Promise<TokenSet> {
      const res = await call({
        url: url(hosts.graph, '/refresh_access_token', {
          grant_type: grants.refresh,
          access_token: tokens.accessToken,
        }),
      });
      return { ...oauthTokens(platform, res), scopes: tokens.scopes };
    },
  };
}

// Instagram and Threads publishing: containers are created out of sight (safe to repeat), polled
// until FINISHED, and published by one call, the only write. After a publish whose answer was lost,
// the container's own status is the truth (PUBLISHED: it went out), and the account's media list
// names the post. Each adapter gives its edges, fields and how content becomes containers.

/** Parameters of one container create call. */
export type ContainerParams = Record<string, string | undefined>;

/** The containers a post needs: carousel items first, then the main container (children added). */
export interface ContainerPlan {
  items: ContainerParams[];
  main: ContainerParams;
}

export interface ContainerFlavor {
  platform: 'instagram' | 'threads';
  call: (req: PlatformRequest) => Promise<PlatformResponse>;
  /** A URL on the publishing host, version included. */
  graph(path: string, query?: Record<string, string | undefined>): string;
  /** Edges below the user: create container and list media, publish, publishing limit. */
  edges: { container: string; publish: string; limit: string };
  /** The container's status field and the field that explains an ERROR. */
  statusFields: { status: string; reason: string };
  /** The parameter and media field that carry the text (caption, text). */
  textField: 'caption' | 'text';
  /** How the content becomes containers; throws permanent when the platform cannot take it. */
  plan(content: PublishContent): ContainerPlan;
  /** The edge below the user that lists what the main container became (Instagram stories: stories). */
  listEdge(main: ContainerParams): string;
}

/** Ask for a container's status again after this; the publish workflow backs off up to its pollMaxMs. */
export const CONTAINER_CHECK_MS = 5_000;
/** Carousel items must be FINISHED before their parent is created: prepare waits at most this long. */
export const CAROUSEL_ITEMS_WAIT_MS = 120_000;
const ITEM_POLL_FIRST_MS = 500;
const ITEM_POLL_MAX_MS = 5_000;
/** A PUBLISHED container whose post the media list does not show yet: look again after this. */
const LIST_LAG_CHECK_MS = 30_000;
/**
 * How far before the commit the media list is searched, on the platform's clock (our clock plus the
 * skew read from the Date header, which has whole seconds): a post with the same text made just
 * before the commit must not be taken for it.
 */
const VERIFY_MARGIN_MS = 5_000;
/** Pages of a media list read when looking for a post (newest first). */
const MAX_LIST_PAGES = 5;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const text = (value: unknown) => (typeof value === 'string' ? value.trim() : '');
const stringField = (obj: Record<string, unknown>, key: string) =>
  typeof obj[key] === 'string' && obj[key] ? (obj[key] as string) : undefined;

/** The handle's id under `key`, or a permanent error naming what is missing. */
export function handleString(platform: PlatformId, handle: PublishHandle, key: string): string {
  const value = handle[key];
  if (typeof value === 'string' && value) return value;
  throw new PlatformError(platform, 'permanent', `${platform}: the publish handle lacks ${key}`);
}

/**
 * One Publisher for both container platforms. Handle: `{ containerId, childIds? }`.
 * - prepare creates the carousel items (waiting, up to CAROUSEL_ITEMS_WAIT_MS, until they are
 *   FINISHED, which the parent requires), then the main container;
 * - check reads the container's status; commit publishes it (`<edges.publish>`, the write);
 * - verify reads the container: PUBLISHED → landed, the id found in the media list since `since`;
 * - capacity reads the publishing limit; settle is not used (the publish is done at once).
 */
export function containerPublisher(f: ContainerFlavor): Publisher {
  const { platform, call, edges } = f;
  const auth = (tokens: TokenSet) => bearer(tokens.accessToken);
  const user = (account: PublishAccount) => encodeURIComponent(account.externalId);

  async function create(tokens: TokenSet, account: PublishAccount, params: ContainerParams): Promise<string> {
    const res = await call({
      method: 'POST',
      url: f.graph(`/${user(account)}/${edges.container}`),
      headers: auth(tokens),
      form: params,
    });
    return requireString(platform, asRecord(res.body), 'id');
  }

  /** The container's status word and failure text, with the platform's clock for matching times. */
  async function status(tokens: TokenSet, containerId: string) {
    const fields = [...new Set([f.statusFields.status, f.statusFields.reason])].join(',');
    const localNowMs = Date.now();
    const res = await call({
      url: f.graph(`/${encodeURIComponent(containerId)}`, { fields }),
      headers: auth(tokens),
    });
    const body = asRecord(res.body);
    return {
      status: String(body[f.statusFields.status] ?? '').toUpperCase(),
      reason: stringField(body, f.statusFields.reason),
      skewMs: res.serverNowMs - localNowMs,
    };
  }

  /** Polls carousel items until all are FINISHED; an ERROR item fails the post for good. */
  async function waitForItems(tokens: TokenSet, ids: string[]): Promise<void> {
    const deadline = Date.now() + CAROUSEL_ITEMS_WAIT_MS;
    let waiting = ids;
    let delay = ITEM_POLL_FIRST_MS;
    for (;;) {
      const states = await Promise.all(waiting.map(async (id) => ({ id, ...(await status(tokens, id)) })));
      for (const s of states) {
        if (s.status === 'ERROR') {
          throw new PlatformError(platform, 'permanent', `${platform}: carousel item ${s.id} failed: ${s.reason}`, {
            code: 'ERROR',
          });
        }
        if (s.status === 'EXPIRED') {
          throw new PlatformError(platform, 'transient', `${platform}: carousel item ${s.id} expired`);
        }
      }
      waiting = states.filter((s) => s.status !== 'FINISHED').map((s) => s.id);
      if (!waiting.length) return;
      if (Date.now() + delay > deadline) {
        // Safe to repeat: the next prepare makes new items; these stay invisible and expire.
        throw new PlatformError(platform, 'transient', `${platform}: carousel items still processing: ${waiting}`);
      }
      await sleep(delay);
      delay = Math.min(delay * 2, ITEM_POLL_MAX_MS);
    }
  }

  /**
   * The post the main container became: the oldest entry of the list edge, published at or after
   * `fromMs` (platform clock), whose text is the one sent. Newest first, a few pages at most.
   */
  async function findPublished(
    tokens: TokenSet,
    account: PublishAccount,
    content: PublishContent,
    fromMs: number,
  ): Promise<PublishedPost | undefined> {
    const { main } = f.plan(content);
    const wanted = text(main[f.textField]);
    const fromS = Math.floor(fromMs / 1000);
    let next: string | undefined = f.graph(`/${user(account)}/${f.listEdge(main)}`, {
      fields: `id,${f.textField},timestamp,permalink`,
      since: String(fromS),
      limit: '50',
    });
    let found: PublishedPost | undefined;
    for (let page = 0; next && page < MAX_LIST_PAGES; page++) {
      const res = await call({ url: next, headers: auth(tokens) });
      let older = false;
      for (const m of graphList(res.body)) {
        const at = Date.parse(String(m.timestamp ?? ''));
        // Not every list edge honours `since` (Instagram stories do not): filter here as well.
        if (!Number.isNaN(at) && at < fromS * 1000) {
          older = true;
          continue;
        }
        if (text(m[f.textField]) === wanted && typeof m.id === 'string') {
          found = { postId: m.id, permalink: stringField(m, 'permalink') };
        }
      }
      const paging = asRecord(asRecord(res.body).paging);
      next = older ? undefined : stringField(paging, 'next');
    }
    return found;
  }

  /** How long until the cap lets one more post through: until the oldest listed post leaves the window. */
  async function capWait(tokens: TokenSet, account: PublishAccount, windowMs: number, serverNowMs: number) {
    try {
      let next: string | undefined = f.graph(`/${user(account)}/${edges.container}`, {
        fields: 'id,timestamp',
        since: String(Math.floor((serverNowMs - windowMs) / 1000)),
        limit: '100',
      });
      let oldest: number | undefined;
      for (let page = 0; next && page < MAX_LIST_PAGES; page++) {
        const res = await call({ url: next, headers: auth(tokens) });
        for (const m of graphList(res.body)) {
          const at = Date.parse(String(m.timestamp ?? ''));
          if (!Number.isNaN(at)) oldest = Math.min(oldest ?? at, at);
        }
        next = stringField(asRecord(asRecord(res.body).paging), 'next');
      }
      // The list also shows posts made outside the API, which the cap does not count, so this is
      // never later than the real moment; capacity() is simply asked again then. +1 s: timestamps
      // are whole seconds.
      const wait = oldest === undefined ? 0 : oldest + windowMs - serverNowMs + 1000;
      return wait > 0 ? Math.min(wait, windowMs) : PUBLISH_CAP_WAIT_MS;
    } catch {
      return PUBLISH_CAP_WAIT_MS;
    }
  }

  async function capacity(tokens: TokenSet, account: PublishAccount): Promise<{ waitMs: number }> {
    const res = await call({
      url: f.graph(`/${user(account)}/${edges.limit}`, { fields: 'quota_usage,config' }),
      headers: auth(tokens),
    });
    const entry = graphList(res.body)[0] ?? {};
    const config = asRecord(entry.config);
    const usage = Number(entry.quota_usage ?? 0);
    const total = Number(config.quota_total);
    if (!Number.isFinite(total) || total <= 0 || usage < total) return { waitMs: 0 };
    const windowMs = (Number(config.quota_duration) || 86_400) * 1000;
    return { waitMs: await capWait(tokens, account, windowMs, res.serverNowMs) };
  }

  /** A refused publish, explained: the cap with a real wait, or a container already published. */
  async function refusal(err: unknown, tokens: TokenSet, account: PublishAccount, containerId: string) {
    if (!isPlatformError(err)) return err;
    try {
      if (err.kind === 'rate_limited' && isPublishCap(err)) {
        const { waitMs } = await capacity(tokens, account);
        if (waitMs > 0) {
          return new PlatformError(platform, 'rate_limited', err.message, {
            status: err.status,
            code: err.code,
            retryAfterMs: waitMs,
          });
        }
      }
      if (err.kind === 'permanent' && (await status(tokens, containerId)).status === 'PUBLISHED') {
        return new PlatformError(platform, 'permanent', `${platform}: container ${containerId} is already published`, {
          status: err.status,
          code: DUPLICATE_CODE,
        });
      }
    } catch {
      // The refusal as it came is still the answer.
    }
    return err;
  }

  return {
    textNeedsPrepare: true,
    async prepare(tokens, account, content) {
      const plan = f.plan(content);
      if (!plan.items.length) return { containerId: await create(tokens, account, plan.main) };
      const childIds = await Promise.all(plan.items.map((item) => create(tokens, account, item)));
      await waitForItems(tokens, childIds);
      const containerId = await create(tokens, account, { ...plan.main, children: childIds.join(',') });
      return { containerId, childIds };
    },

    async check(tokens, _account, handle): Promise<Processing> {
      const s = await status(tokens, handleString(platform, handle, 'containerId'));
      switch (s.status) {
        case 'FINISHED':
        // Published already: only a commit can have done that, and verify is what reads it.
        case 'PUBLISHED':
          return { state: 'ready' };
        case 'ERROR':
          return { state: 'failed', reason: s.reason ?? 'ERROR' };
        case 'EXPIRED':
          return { state: 'failed', reason: 'expired' };
        default:
          return { state: 'pending', checkAfterMs: CONTAINER_CHECK_MS };
      }
    },

    async commit(tokens, account, content, handle) {
      const containerId = handleString(platform, handle, 'containerId');
      const startedMs = Date.now();
      let res: PlatformResponse;
      try {
        res = await call({
          method: 'POST',
          url: f.graph(`/${user(account)}/${edges.publish}`),
          headers: auth(tokens),
          form: { creation_id: containerId },
          write: true,
        });
      } catch (err) {
        throw await refusal(err, tokens, account, containerId);
      }
      const postId = stringField(asRecord(res.body), 'id');
      if (!postId) {
        // Threads documents that publish may answer without an id: it landed, verify names it.
        const skewMs = res.serverNowMs - Date.now();
        const post = await findPublished(tokens, account, content, startedMs + skewMs - VERIFY_MARGIN_MS).catch(
          () => undefined,
        );
        if (post) return { done: true, post };
        throw new PlatformError(platform, 'outcome_unknown', `${platform}: published without naming the post`);
      }
      let permalink: string | undefined;
      try {
        const read = await call({ url: f.graph(`/${postId}`, { fields: 'permalink' }), headers: auth(tokens) });
        permalink = stringField(asRecord(read.body), 'permalink');
      } catch {
        // The post is out; a permalink we could not read does not change that.
      }
      return { done: true, post: { postId, permalink } };
    },

    async verify(tokens, account, content, handle, since): Promise<Verdict> {
      const s = await status(tokens, handleString(platform, handle, 'containerId'));
      switch (s.status) {
        case 'PUBLISHED': {
          const post = await findPublished(tokens, account, content, since.getTime() + s.skewMs - VERIFY_MARGIN_MS);
          // It went out for sure; a list that does not show it yet is asked again.
          return post ? { landed: true, post } : { landed: 'unknown', checkAfterMs: LIST_LAG_CHECK_MS };
        }
        case 'FINISHED':
        case 'IN_PROGRESS':
          return { landed: false, handleUsable: true };
        default:
          // EXPIRED or ERROR: this container can never be published; prepare a new one.
          return { landed: false, handleUsable: false };
      }
    },

    async settle() {
      // commit is done at once (or throws), so there is nothing to settle.
      return { state: 'failed', reason: `not used: ${platform} publishes at once` };
    },

    capacity,
  };
}
