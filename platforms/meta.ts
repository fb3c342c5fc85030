import { createHmac, timingSafeEqual } from 'node:crypto';
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
import {
  addDays,
  audienceSample,
  compact,
  DAY_MS,
  dayOf,
  mediaMetricsStream,
  sameSecret,
  totalsStream,
} from './sync.ts';
import type {
  AdapterConfig,
  InboundMessage,
  Inbox,
  MetricSample,
  PlatformId,
  Processing,
  PublishAccount,
  PublishContent,
  PublishedPost,
  Publisher,
  PublishHandle,
  ReplyCheck,
  SyncContext,
  SyncedMedia,
  SyncStream,
  TokenSet,
  Verdict,
  WebhookEvent,
  Webhooks,
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

// Sync, inbox and webhooks: what the four Meta adapters share. Graph lists are newest first with
// cursor paging (paging.cursors.after, paging.next while more remain); a stream stores the `after`
// it was given and rebuilds the URL from it, so the same cursor always asks for the same page.

export type MetaCall = (req: PlatformRequest) => Promise<PlatformResponse>;

/** How an adapter calls Graph for sync: its caller, its URLs and the token a connection reads with. */
export interface MetaSync {
  platform: PlatformId;
  call: MetaCall;
  /** A Graph URL on the adapter's host and version. */
  graph(path: string, query?: Record<string, string>): string;
  /** Headers for the connection's token (Facebook: the Page token). */
  auth(tokens: TokenSet): Record<string, string>;
}

/** The body of one Graph read with the connection's token. */
export const readBody = async (s: MetaSync, tokens: TokenSet, u: string) =>
  (await s.call({ url: u, headers: s.auth(tokens) })).body;

/** Graph's page size for the lists sync reads. */
const PAGE = '50';

/** Unix seconds at the start of a UTC day, as Graph's since/until take it. */
export const dayStartS = (day: string) => String(Date.parse(`${day}T00:00:00Z`) / 1000);

/** A Graph time (2026-08-01T12:00:00+0000), unix seconds or unix milliseconds, in ms. */
export function graphMs(value: unknown): number | undefined {
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value))) {
    const n = Number(value);
    return n < 1e12 ? n * 1000 : n;
  }
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isNaN(ms) ? undefined : ms;
}

/** A number from Graph (numbers, numeric strings); breakdown objects count as the sum of their values. */
export function metricNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
  if (value && typeof value === 'object') {
    return Object.values(value as Record<string, unknown>).reduce<number>((sum, v) => sum + metricNumber(v), 0);
  }
  return 0;
}

const str = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? String(value) : undefined);

export interface GraphPage {
  items: Record<string, unknown>[];
  /** paging.cursors.after, when paging.next says there is more. */
  after?: string;
  /** The platform's clock at the answer. */
  serverNowMs: number;
}

/** One page of a Graph list: `first` with `after` set when continuing. */
export async function readPage(s: MetaSync, tokens: TokenSet, first: string, after?: string): Promise<GraphPage> {
  const u = new URL(first);
  if (after) u.searchParams.set('after', after);
  const res = await s.call({ url: u.toString(), headers: s.auth(tokens) });
  const paging = asRecord(asRecord(res.body).paging);
  const more = typeof paging.next === 'string' && paging.next !== '';
  return {
    items: graphList(res.body),
    after: more ? str(asRecord(paging.cursors).after) : undefined,
    serverNowMs: res.serverNowMs,
  };
}

/** One reading of an insights answer: a day of a daily series, or a lifetime / total value. */
export interface InsightValue {
  name: string;
  day?: string;
  value: unknown;
}

/**
 * data[{name, period, values:[{value, end_time}]}] or data[{name, total_value:{value}}]. A daily
 * value's end_time is the end of its day in Pacific time, so the day is end_time − 24 h.
 */
export function insightValues(body: unknown): InsightValue[] {
  const out: InsightValue[] = [];
  for (const m of graphList(body)) {
    const name = String(m.name ?? '');
    const total = asRecord(m.total_value);
    if ('value' in total) {
      out.push({ name, value: total.value });
      continue;
    }
    for (const v of Array.isArray(m.values) ? m.values.map(asRecord) : []) {
      const end = m.period === 'day' ? graphMs(v.end_time) : undefined;
      out.push({ name, day: end === undefined ? undefined : dayOf(end - DAY_MS), value: v.value });
    }
  }
  return out;
}

/** Daily samples of the account named by `names` (platform name → shared name), within [from, to]. */
export function dailySamples(
  values: InsightValue[],
  names: Record<string, string>,
  from: string,
  to: string,
): MetricSample[] {
  return values
    .filter((v) => v.day !== undefined && v.day >= from && v.day <= to && names[v.name])
    .map((v) => ({
      objectKind: 'account',
      objectId: '',
      metric: names[v.name] as string,
      day: v.day,
      value: metricNumber(v.value),
    }));
}

/** Running totals (no day) of an account or a post, named by `names`. */
export function totalSamples(
  values: { name: string; value: unknown }[],
  names: Record<string, string>,
  object: { kind: 'account' | 'media'; id: string },
): MetricSample[] {
  return values
    .filter((v) => names[v.name])
    .map((v) => ({
      objectKind: object.kind,
      objectId: object.id,
      metric: names[v.name] as string,
      value: metricNumber(v.value),
    }));
}

/**
 * A daily series read in windows of at most `windowDays` (the platform's limit), through yesterday.
 * The first pass starts `ctx.historyDays` back (at most `maxHistoryDays`); later passes start at the
 * last day with data less `ctx.lookbackDays`, since platforms restate recent days. Until a day has
 * data (a new account: Meta's insights lag up to two days) every pass reads the whole history.
 * Cursor: `{lastDay?}` between passes; `{lastDay?, next, end}` inside one (the window to read next).
 */
export function dailyStream(opts: {
  name: string;
  windowDays: number;
  maxHistoryDays: number;
  /** The earliest day the platform has (Threads: 2024-04-13). */
  earliestDay?: string;
  read(tokens: TokenSet, account: PublishAccount, from: string, to: string): Promise<MetricSample[]>;
}): SyncStream {
  return {
    name: opts.name,
    async fetch(tokens, account, cursor, ctx) {
      const c = (cursor ?? {}) as { lastDay?: string; next?: string; end?: string };
      const today = dayOf(ctx.now.getTime());
      let oldest = addDays(today, -Math.min(ctx.historyDays, opts.maxHistoryDays));
      if (opts.earliestDay && oldest < opts.earliestDay) oldest = opts.earliestDay;
      let from: string;
      let end: string;
      if (c.next && c.end) {
        from = c.next;
        end = c.end;
      } else {
        end = addDays(today, -1);
        from = c.lastDay ? addDays(c.lastDay, -ctx.lookbackDays) : oldest;
        if (from < oldest) from = oldest;
      }
      if (from > end) return { metrics: [], cursor: compact({ lastDay: c.lastDay }), done: true };
      const windowEnd = addDays(from, opts.windowDays - 1);
      const to = windowEnd < end ? windowEnd : end;
      const metrics = await opts.read(tokens, account, from, to);
      let lastDay = c.lastDay;
      for (const m of metrics) if (m.day && m.value !== 0 && (!lastDay || m.day > lastDay)) lastDay = m.day;
      if (to < end) return { metrics, cursor: compact({ lastDay, next: addDays(to, 1), end }), done: false };
      return { metrics, cursor: compact({ lastDay }), done: true };
    },
  };
}

/**
 * account_metrics from an insights edge (a dailyStream): the metrics `names` maps, as a daily series
 * over the window's days. `url` puts the query (metric, the edge's own `query`, since, until) on the
 * account's edge.
 */
export function dailyInsightsStream(opts: {
  s: MetaSync;
  windowDays: number;
  maxHistoryDays: number;
  earliestDay?: string;
  names: Record<string, string>;
  query?: Record<string, string>;
  url(account: PublishAccount, query: Record<string, string>): string;
}): SyncStream {
  return dailyStream({
    name: 'account_metrics',
    windowDays: opts.windowDays,
    maxHistoryDays: opts.maxHistoryDays,
    earliestDay: opts.earliestDay,
    async read(tokens, account, from, to) {
      const query = {
        metric: Object.keys(opts.names).join(','),
        ...opts.query,
        since: dayStartS(from),
        until: dayStartS(addDays(to, 1)),
      };
      const body = await readBody(opts.s, tokens, opts.url(account, query));
      return dailySamples(insightValues(body), opts.names, from, to);
    },
  });
}

/** account_totals read as fields of one node (the Page, /me): those `names` maps. */
export function fieldTotalsStream(
  s: MetaSync,
  names: Record<string, string>,
  url: (account: PublishAccount, fields: string) => string,
): SyncStream {
  return totalsStream('account_totals', async (tokens, account) => {
    const node = asRecord(await readBody(s, tokens, url(account, Object.keys(names).join(','))));
    const values = Object.keys(names)
      .filter((name) => node[name] !== undefined)
      .map((name) => ({ name, value: node[name] }));
    return totalSamples(values, names, { kind: 'account', id: '' });
  });
}

/** follower_demographics takes one breakdown a call. */
const DEMOGRAPHIC_BREAKDOWNS = ['age', 'gender', 'country', 'city'] as const;

/**
 * audience from follower_demographics (Instagram, Threads): one call per breakdown, its values under
 * total_value.breakdowns[0].results[{dimension_values:[value], value}]. An account with too few
 * followers (under 100) gets no data, and so no samples.
 */
export function demographicsStream(
  s: MetaSync,
  url: (account: PublishAccount, breakdown: (typeof DEMOGRAPHIC_BREAKDOWNS)[number]) => string,
): SyncStream {
  return totalsStream('audience', async (tokens, account) => {
    const metrics: MetricSample[] = [];
    for (const breakdown of DEMOGRAPHIC_BREAKDOWNS) {
      const body = await readBody(s, tokens, url(account, breakdown));
      for (const m of graphList(body).filter((m) => m.name === 'follower_demographics')) {
        const breakdowns = asRecord(m.total_value).breakdowns;
        const results = asRecord(Array.isArray(breakdowns) ? breakdowns[0] : undefined).results;
        for (const r of Array.isArray(results) ? results.map(asRecord) : []) {
          const value = Array.isArray(r.dimension_values) ? str(r.dimension_values[0]) : undefined;
          if (value) metrics.push(audienceSample(breakdown, value, metricNumber(r.value)));
        }
      }
    }
    return metrics;
  });
}

/**
 * media_metrics from each post's insights edge (GET /{id}/insights, `query` added), 10 posts a
 * page: lifetime totals of the metrics `names` maps, and of an `extra` metric read with them. A post
 * the platform refuses for good (deleted, no insights for its type) is skipped; throttling and
 * outages stop the page.
 */
export function mediaInsightsStream(opts: {
  s: MetaSync;
  names: Record<string, string>;
  query?: Record<string, string>;
  /** A metric that is not one number (Facebook's action breakdown), and the samples it gives. */
  extra?: { metric: string; samples(value: unknown, mediaId: string): MetricSample[] };
}): SyncStream {
  const { s, names, extra } = opts;
  const metric = [...Object.keys(names), ...(extra ? [extra.metric] : [])].join(',');
  return mediaMetricsStream(10, async (tokens, _account, ids) => {
    const metrics: MetricSample[] = [];
    for (const id of ids) {
      try {
        const url = s.graph(`/${encodeURIComponent(id)}/insights`, { metric, ...opts.query });
        const values = insightValues(await readBody(s, tokens, url));
        const more = extra ? extra.samples(values.find((v) => v.name === extra.metric)?.value, id) : [];
        metrics.push(...totalSamples(values, names, { kind: 'media', id }), ...more);
      } catch (err) {
        if (isPlatformError(err) && err.kind === 'permanent') continue;
        throw err;
      }
    }
    return metrics;
  });
}

/** One entry of a newest-first list, at its platform time. */
export interface ListedItem {
  id: string;
  at: number;
  media?: SyncedMedia;
  message?: InboundMessage;
}

/**
 * A newest-first list read until the watermark: the newest time of the previous pass and the ids
 * seen at exactly that time (timestamps are whole seconds). An unchanged account costs one page.
 * Cursor: `{watermark?, ids?}` between passes; `{…, after, newest, newestIds}` inside one.
 */
export function watermarkStream(opts: {
  name: string;
  s: MetaSync;
  first(account: PublishAccount, ctx: SyncContext): string;
  item(raw: Record<string, unknown>, account: PublishAccount): ListedItem | undefined;
}): SyncStream {
  return {
    name: opts.name,
    async fetch(tokens, account, cursor, ctx) {
      const c = (cursor ?? {}) as {
        watermark?: number;
        ids?: string[];
        after?: string;
        newest?: number;
        newestIds?: string[];
      };
      const page = await readPage(opts.s, tokens, opts.first(account, ctx), c.after);
      let newest = c.after ? c.newest : undefined;
      let newestIds = c.after ? [...(c.newestIds ?? [])] : [];
      const media: SyncedMedia[] = [];
      const messages: InboundMessage[] = [];
      let reached = false;
      for (const raw of page.items) {
        const it = opts.item(raw, account);
        if (!it) continue;
        if (c.watermark !== undefined && (it.at < c.watermark || (it.at === c.watermark && c.ids?.includes(it.id)))) {
          reached = true;
          break;
        }
        if (it.media) media.push(it.media);
        if (it.message) messages.push(it.message);
        if (newest === undefined || it.at > newest) {
          newest = it.at;
          newestIds = [it.id];
        } else if (it.at === newest) newestIds.push(it.id);
      }
      const rows = { ...(media.length ? { media } : {}), ...(messages.length ? { messages } : {}) };
      if (!reached && page.after) {
        const next = compact({ watermark: c.watermark, ids: c.ids, after: page.after, newest, newestIds });
        return { ...rows, cursor: next, done: false };
      }
      let watermark = c.watermark;
      let ids = c.ids ?? [];
      if (newest !== undefined && (watermark === undefined || newest > watermark)) {
        watermark = newest;
        ids = newestIds;
      } else if (newest !== undefined && newest === watermark) ids = [...new Set([...ids, ...newestIds])];
      return { ...rows, cursor: compact({ watermark, ids: watermark === undefined ? undefined : ids }), done: true };
    },
  };
}

/**
 * The account's posts (`media`), newest first down to the previous pass: an entry's time, type and
 * permalink are read from the fields named.
 */
export function mediaStream(opts: {
  s: MetaSync;
  first(account: PublishAccount): string;
  fields: { time: string; permalink: string; mediaType(raw: Record<string, unknown>): unknown };
}): SyncStream {
  const { time, permalink, mediaType } = opts.fields;
  return watermarkStream({
    name: 'media',
    s: opts.s,
    first: opts.first,
    item(raw) {
      const at = graphMs(raw[time]);
      if (raw.id === undefined || at === undefined) return undefined;
      const id = String(raw.id);
      const type = mediaType(raw);
      return {
        id,
        at,
        media: {
          externalId: id,
          publishedAt: new Date(at),
          mediaType: typeof type === 'string' ? type : undefined,
          permalink: typeof raw[permalink] === 'string' ? raw[permalink] : undefined,
        },
      };
    },
  });
}

/**
 * How far before a pass started the next pass looks again: the platform stamps items with whole
 * seconds, and an item written while the pass ran must not fall between two passes.
 */
const PASS_OVERLAP_MS = 60_000;

interface OverlapCursor {
  /** Items older than this were read by an earlier pass. */
  since?: number;
  /** Ids at or after `since` that an earlier pass already returned. */
  seen?: string[];
}

/** What a pass has met so far: when it started (platform clock), recent ids and the newest item. */
interface PassSeen {
  startedAt?: number;
  seen: string[];
  newest?: number;
  newestIds?: string[];
}

/** Tells new items from those an earlier pass returned, and remembers what this pass met. */
function passTracker(c: OverlapCursor, pass: PassSeen, serverNowMs: number) {
  const startedAt = pass.startedAt ?? serverNowMs;
  const seen = new Set(pass.seen);
  let newest = pass.newest;
  let newestIds = [...(pass.newestIds ?? [])];
  return {
    fresh(m: InboundMessage): boolean {
      const at = m.createdAt.getTime();
      if (at >= startedAt - PASS_OVERLAP_MS) seen.add(m.externalId);
      if (newest === undefined || at > newest) {
        newest = at;
        newestIds = [m.externalId];
      } else if (at === newest) newestIds.push(m.externalId);
      return c.since === undefined || (at >= c.since && !c.seen?.includes(m.externalId));
    },
    state: (): PassSeen => ({ startedAt, seen: [...seen], newest, newestIds }),
  };
}

/**
 * Where the next pass starts: the pass start less the overlap, but never after the newest item
 * met (nothing newer existed then), and never earlier than before. A pass that met nothing keeps
 * the old position, so history that shows up later is still read.
 */
function nextSince(c: OverlapCursor, pass: PassSeen): OverlapCursor {
  if (pass.newest === undefined || pass.startedAt === undefined) return { since: c.since, seen: c.seen };
  const overlap = pass.startedAt - PASS_OVERLAP_MS;
  if (pass.newest >= overlap) return { since: overlap, seen: pass.seen };
  if (c.since !== undefined && c.since >= pass.newest) return { since: c.since, seen: c.seen };
  return { since: pass.newest, seen: pass.newestIds ?? [] };
}

/**
 * Comments of each known post (ctx.mediaIds), newest first, one post's page per call; a post's
 * paging stops at the first comment older than the previous pass. `items` turns one list entry
 * into the comment and any replies it carries.
 * Cursor: `{since?, seen?}` between passes; `{…, pass:{offset, after?, startedAt, seen}}` inside one.
 */
export function commentsStream(opts: {
  name: string;
  s: MetaSync;
  first(account: PublishAccount, mediaId: string): string;
  items(raw: Record<string, unknown>, account: PublishAccount, mediaId: string): InboundMessage[];
}): SyncStream {
  return {
    name: opts.name,
    async fetch(tokens, account, cursor, ctx) {
      const c = (cursor ?? {}) as OverlapCursor & { pass?: PassSeen & { offset: number; after?: string } };
      const pass = c.pass ?? { offset: 0, seen: [] };
      const mediaId = ctx.mediaIds[pass.offset];
      if (mediaId === undefined) return { cursor: compact(nextSince(c, pass)), done: true };
      const page = await readPage(opts.s, tokens, opts.first(account, mediaId), pass.after);
      const track = passTracker(c, pass, page.serverNowMs);
      const messages: InboundMessage[] = [];
      let older = false;
      for (const raw of page.items) {
        const [top, ...replies] = opts.items(raw, account, mediaId);
        if (!top) continue;
        if (c.since !== undefined && top.createdAt.getTime() < c.since) older = true;
        for (const m of [top, ...replies]) if (track.fresh(m)) messages.push(m);
      }
      const next =
        !older && page.after
          ? { ...track.state(), offset: pass.offset, after: page.after }
          : { ...track.state(), offset: pass.offset + 1 };
      if (next.offset >= ctx.mediaIds.length) return { messages, cursor: compact(nextSince(c, next)), done: true };
      return { messages, cursor: compact({ since: c.since, seen: c.seen, pass: compact(next) }), done: false };
    },
  };
}

/**
 * DMs: the conversations updated since the previous pass (newest first), then each one's messages
 * newest first down to the previous pass. One call per page: a conversations page queues its
 * conversations, each messages page reads one of them.
 * Cursor: `{since?, seen?}` between passes; inside one, `pass:{startedAt, seen, queue, listAfter?,
 * listDone?, msgAfter?}`.
 */
function conversationsStream(opts: {
  name: string;
  s: MetaSync;
  conversations(account: PublishAccount): string;
  messages(conversationId: string): string;
  message(raw: Record<string, unknown>, account: PublishAccount): InboundMessage | undefined;
}): SyncStream {
  return {
    name: opts.name,
    async fetch(tokens, account, cursor) {
      const c = (cursor ?? {}) as OverlapCursor & {
        pass?: PassSeen & { queue: string[]; listAfter?: string; listDone?: boolean; msgAfter?: string };
      };
      const pass = c.pass ?? { seen: [], queue: [] };
      const messages: InboundMessage[] = [];
      let next: NonNullable<typeof c.pass>;
      const [conversation, ...rest] = pass.queue;
      if (conversation !== undefined) {
        const page = await readPage(opts.s, tokens, opts.messages(conversation), pass.msgAfter);
        const track = passTracker(c, pass, page.serverNowMs);
        let older = false;
        for (const raw of page.items) {
          const m = opts.message(raw, account);
          if (!m) continue;
          if (c.since !== undefined && m.createdAt.getTime() < c.since) older = true;
          if (track.fresh(m)) messages.push(m);
        }
        next =
          !older && page.after
            ? { ...pass, ...track.state(), msgAfter: page.after }
            : { ...pass, ...track.state(), queue: rest, msgAfter: undefined };
      } else if (!pass.listDone) {
        const page = await readPage(opts.s, tokens, opts.conversations(account), pass.listAfter);
        const startedAt = pass.startedAt ?? page.serverNowMs;
        const queue: string[] = [];
        let older = false;
        for (const raw of page.items) {
          const updated = graphMs(raw.updated_time) ?? 0;
          if (c.since !== undefined && updated < c.since) older = true;
          else if (raw.id !== undefined) queue.push(String(raw.id));
        }
        const listDone = older || !page.after;
        next = { ...pass, startedAt, queue, listAfter: listDone ? undefined : page.after, listDone };
      } else next = pass;
      if (!next.queue.length && next.listDone) return { messages, cursor: compact(nextSince(c, next)), done: true };
      return { messages, cursor: compact({ since: c.since, seen: c.seen, pass: compact(next) }), done: false };
    },
  };
}

/** The account itself on Graph: its id, or (Instagram) its app-scoped id. */
export const isAccountId = (account: PublishAccount, id: unknown) =>
  String(id ?? '') === account.externalId || String(id ?? '') === account.ids.appScopedId;

/**
 * Where an account's DMs are, Messenger (a Page) or Instagram: its conversations edge (a path) with
 * that edge's platform parameter, the Send API edge with what it wants besides recipient and
 * message, and the field of `from` that names a sender.
 */
export interface DmEdges {
  conversations(account: PublishAccount): string;
  platform: 'messenger' | 'instagram';
  send(account: PublishAccount): string;
  sendFields?: Record<string, string>;
  nameField: 'name' | 'username';
}

/** A DM; the thread is the other party (PSID, IGSID), as webhooks name it too. */
function dmMessage(raw: Record<string, unknown>, account: PublishAccount, dm: DmEdges): InboundMessage | undefined {
  if (raw.id === undefined) return undefined;
  const from = asRecord(raw.from);
  const to = graphList(raw.to)[0] ?? {};
  const name = from[dm.nameField];
  const own = isAccountId(account, from.id);
  return {
    externalId: String(raw.id),
    threadKind: 'dm',
    threadExternalId: String((own ? to.id : from.id) ?? ''),
    authorExternalId: String(from.id ?? ''),
    authorName: typeof name === 'string' ? name : undefined,
    text: String(raw.message ?? ''),
    createdAt: new Date(graphMs(raw.created_time) ?? 0),
    fromAccount: own,
  };
}

/** The `dms` stream: the conversations updated since the last pass, then their new messages. */
export function dmStream(s: MetaSync, dm: DmEdges): SyncStream {
  return conversationsStream({
    name: 'dms',
    s,
    conversations: (account) =>
      s.graph(dm.conversations(account), { platform: dm.platform, fields: 'id,updated_time', limit: '25' }),
    messages: (id) =>
      s.graph(`/${encodeURIComponent(id)}/messages`, { fields: 'id,created_time,from,to,message', limit: PAGE }),
    message: (raw, account) => dmMessage(raw, account, dm),
  });
}

/** How far before `since` (our clock) a reply is looked for: clocks differ, times are whole seconds. */
const FIND_MARGIN_MS = 5 * 60_000;
const FIND_MAX_PAGES = 5;

/**
 * The truth after a reply whose answer was lost: the oldest entry of a list, at or after `since`
 * (less a margin), written by the account with this text.
 */
export async function findInList(
  s: MetaSync,
  tokens: TokenSet,
  first: string,
  since: Date,
  match: (raw: Record<string, unknown>) => { at?: number; mine: boolean; text: string },
  text: string,
): Promise<ReplyCheck> {
  const from = since.getTime() - FIND_MARGIN_MS;
  const wanted = text.trim();
  let after: string | undefined;
  let found: string | undefined;
  let foundAt: number | undefined;
  for (let n = 0; n < FIND_MAX_PAGES; n++) {
    const page = await readPage(s, tokens, first, after);
    for (const raw of page.items) {
      const m = match(raw);
      if (!m.mine || m.text.trim() !== wanted || (m.at !== undefined && m.at < from) || raw.id === undefined) continue;
      // The oldest match since the attempt is the reply; a later one with the same text is another.
      if (found === undefined || (m.at ?? 0) <= (foundAt ?? Number.POSITIVE_INFINITY)) {
        found = String(raw.id);
        foundAt = m.at;
      }
    }
    if (!page.after) break;
    after = page.after;
  }
  return found === undefined ? { found: false } : { found: true, externalId: found };
}

/** The one write of a reply, a POST to `path`: a lost answer is outcome_unknown, the id is read from `key`. */
export async function writeReply(
  s: MetaSync,
  tokens: TokenSet,
  path: string,
  payload: Pick<PlatformRequest, 'form' | 'json'>,
  key: string,
): Promise<{ externalId: string }> {
  const res = await s.call({ method: 'POST', url: s.graph(path), headers: s.auth(tokens), ...payload, write: true });
  const body = asRecord(res.body);
  const list = Array.isArray(body.messages) ? asRecord(body.messages[0]) : body;
  return { externalId: requireString(s.platform, list, key) };
}

/** How an account's comments are answered, checked and moderated (commentsAndDmsInbox). */
export interface CommentEdges {
  /** Where a reply to a comment is posted, and the body carrying its text. */
  reply(commentId: string, text: string): { path: string } & Pick<PlatformRequest, 'form' | 'json'>;
  /** GET /{comment}?fields=topFields names the top-level comment a reply joins (`topOf`: none for itself). */
  topFields: string;
  topOf(comment: Record<string, unknown>): string | undefined;
  /** The replies of a top-level comment, newest first, and the fields with their time and text. */
  replies(topId: string): string;
  fields: { time: string; text: string };
  /** The body of POST /{comment} that hides it (or shows it again). */
  hide(hidden: boolean): Pick<PlatformRequest, 'form' | 'json'>;
}

/**
 * The inbox of an account with comments and DMs (a Page, an Instagram account). A lost comment
 * reply is looked for among the replies of the top-level comment it joined; a lost DM in the
 * conversation with the recipient. DMs are answered through the Send API (its id: message_id).
 */
export function commentsAndDmsInbox(s: MetaSync, comments: CommentEdges, dm: DmEdges): Inbox {
  const refuse = (message: string) => new PlatformError(s.platform, 'permanent', `${s.platform}: ${message}`);
  const node = (id: string, query?: Record<string, string>) => s.graph(`/${encodeURIComponent(id)}`, query);
  return {
    replyKinds: ['comment', 'dm'],
    moderation: ['hide', 'unhide', 'delete'],

    async reply(tokens, account, target, text) {
      if (target.threadKind === 'dm') {
        const message = { recipient: { id: target.recipientExternalId }, ...dm.sendFields, message: { text } };
        return writeReply(s, tokens, dm.send(account), { json: message }, 'message_id');
      }
      if (target.threadKind !== 'comment') throw refuse(`cannot reply to a ${target.threadKind}`);
      const { path, ...payload } = comments.reply(target.messageExternalId, text);
      return writeReply(s, tokens, path, payload, 'id');
    },

    async findReply(tokens, account, target, text, since) {
      const mine = (raw: Record<string, unknown>) => isAccountId(account, asRecord(raw.from).id);
      if (target.threadKind === 'dm') {
        const convs = await readBody(
          s,
          tokens,
          s.graph(dm.conversations(account), {
            platform: dm.platform,
            user_id: target.recipientExternalId,
            fields: 'id',
          }),
        );
        const conversation = graphList(convs)[0]?.id;
        if (conversation === undefined) return { found: false };
        const messages = s.graph(`/${encodeURIComponent(String(conversation))}/messages`, {
          fields: 'id,created_time,from,message',
          limit: PAGE,
        });
        const match = (raw: Record<string, unknown>) => ({
          at: graphMs(raw.created_time),
          mine: mine(raw),
          text: String(raw.message ?? ''),
        });
        return findInList(s, tokens, messages, since, match, text);
      }
      const comment = asRecord(
        await readBody(s, tokens, node(target.messageExternalId, { fields: comments.topFields })),
      );
      const top = comments.topOf(comment) ?? target.messageExternalId;
      const { time, text: textField } = comments.fields;
      const match = (raw: Record<string, unknown>) => ({
        at: graphMs(raw[time]),
        mine: mine(raw),
        text: String(raw[textField] ?? ''),
      });
      return findInList(s, tokens, comments.replies(top), since, match, text);
    },

    async moderate(tokens, _account, target, action) {
      if (target.threadKind !== 'comment') throw refuse('only comments can be hidden or deleted');
      const headers = s.auth(tokens);
      const u = node(target.messageExternalId);
      await s.call(
        action === 'delete'
          ? { method: 'DELETE', url: u, headers }
          : { method: 'POST', url: u, headers, ...comments.hide(action === 'hide') },
      );
    },
  };
}

// Webhooks. Meta's standard: the endpoint check answers hub.challenge for the right verify token;
// deliveries are signed with X-Hub-Signature-256 over the raw body with the app secret.

const header = (headers: Record<string, string | string[] | undefined>, name: string) => {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value[0] : value;
};

export function metaWebhooks(cfg: AdapterConfig, parse: (body: unknown) => WebhookEvent[]): Webhooks {
  return {
    handshake(query, verifyToken) {
      const mode = query['hub.mode'];
      if (mode === undefined && query['hub.challenge'] === undefined) return undefined;
      const token = query['hub.verify_token'] ?? '';
      if (mode === 'subscribe' && verifyToken !== '' && sameSecret(token, verifyToken)) {
        return { status: 200, body: query['hub.challenge'] ?? '' };
      }
      return { status: 403, body: 'verify token mismatch' };
    },
    verify(headers, rawBody) {
      const given = header(headers, 'x-hub-signature-256');
      if (!given) return { ok: false, reason: 'missing X-Hub-Signature-256' };
      const hex = /^sha256=([0-9a-f]{64})$/i.exec(given.trim())?.[1];
      if (!hex) return { ok: false, reason: 'malformed X-Hub-Signature-256' };
      const expected = createHmac('sha256', cfg.clientSecret).update(rawBody).digest();
      return timingSafeEqual(expected, Buffer.from(hex, 'hex'))
        ? { ok: true }
        : { ok: false, reason: 'signature does not match the body' };
    },
    parse,
  };
}

/**
 * The events of a Graph delivery for one `object` (instagram, page, whatsapp_business_account):
 * entry by entry, its changes through `change` (entry.id names the account), then its DMs.
 */
export function entryEvents(
  body: unknown,
  object: string,
  change: (field: string, value: Record<string, unknown>, entry: Record<string, unknown>) => WebhookEvent[],
): WebhookEvent[] {
  return webhookEntries(body, object).flatMap((entry) => [
    ...entryChanges(entry).flatMap(({ field, value }) => change(field, value, entry)),
    ...messagingEvents(entry),
  ]);
}

/** entry[] of a Graph delivery for one `object`. */
export function webhookEntries(body: unknown, object: string): Record<string, unknown>[] {
  const b = asRecord(body);
  if (b.object !== object || !Array.isArray(b.entry)) return [];
  return b.entry.map(asRecord);
}

/** changes[] of an entry, with their field. */
export const entryChanges = (entry: Record<string, unknown>) =>
  (Array.isArray(entry.changes) ? entry.changes.map(asRecord) : []).map((c) => ({
    field: String(c.field ?? ''),
    value: asRecord(c.value),
  }));

/**
 * Instagram and Messenger DMs: entry.messaging[] message events. The account's own messages come
 * back as echoes; a deleted message is a removal. The thread is the other party.
 */
function messagingEvents(entry: Record<string, unknown>): WebhookEvent[] {
  const accountId = String(entry.id ?? '');
  const events: WebhookEvent[] = [];
  for (const ev of Array.isArray(entry.messaging) ? entry.messaging.map(asRecord) : []) {
    const message = asRecord(ev.message);
    const mid = str(message.mid);
    if (!mid) continue;
    if (message.is_deleted === true) {
      events.push({ accountExternalId: accountId, dedupeKey: `${mid}:deleted`, removed: { externalId: mid } });
      continue;
    }
    const sender = String(asRecord(ev.sender).id ?? '');
    const recipient = String(asRecord(ev.recipient).id ?? '');
    const own = message.is_echo === true || sender === accountId;
    const attachments = (Array.isArray(message.attachments) ? message.attachments.map(asRecord) : [])
      .map((a) => str(asRecord(a.payload).url))
      .filter((u): u is string => u !== undefined)
      .map((u) => ({ externalId: u }));
    events.push({
      accountExternalId: accountId,
      dedupeKey: mid,
      message: {
        externalId: mid,
        threadKind: 'dm',
        threadExternalId: own ? recipient : sender,
        authorExternalId: sender,
        text: str(message.text) ?? '',
        createdAt: new Date(graphMs(ev.timestamp) ?? Date.now()),
        fromAccount: own,
        ...(attachments.length ? { attachments } : {}),
      },
    });
  }
  return events;
}

/** Bytes of a file URL (WhatsApp media): callPlatform reads text, so this reads the body as bytes. */
export async function downloadBytes(
  platform: PlatformId,
  timeoutMs: number,
  fileUrl: string,
  headers: Record<string, string>,
): Promise<{ bytes: Uint8Array; mimeType: string }> {
  let res: Response;
  let bytes: Uint8Array;
  try {
    res = await fetch(fileUrl, { headers, signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    const what = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'connection failed';
    throw new PlatformError(platform, 'transient', `${platform}: download: ${what}`);
  }
  if (res.ok) return { bytes, mimeType: res.headers.get('content-type') ?? 'application/octet-stream' };
  const status = res.status;
  // The URL lives minutes: an expired one (404) is fixed by asking for a new one, i.e. repeating.
  if (status === 404 || status === 429 || status >= 500) {
    throw new PlatformError(
      platform,
      status === 429 ? 'rate_limited' : 'transient',
      `${platform}: download: HTTP ${status}`,
      { status },
    );
  }
  if (status === 401) throw new PlatformError(platform, 'token_expired', `${platform}: download: HTTP 401`, { status });
  throw new PlatformError(platform, 'permanent', `${platform}: download: HTTP ${status}`, { status });
}
