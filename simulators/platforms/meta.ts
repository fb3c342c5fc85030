import { createHash, randomBytes } from 'node:crypto';
import type { SimMessage, SimPost } from '../content.ts';
import type {
  Grant,
  JobPhase,
  PlatformSim,
  SimAccount,
  SimJob,
  SimReply,
  SimRequest,
  SimToken,
  TokenAuth,
} from '../core.ts';
import { audienceOf } from '../sync-content.ts';

// What the Meta simulators (Instagram, Facebook, Threads, WhatsApp) share: the Graph error envelope
// with its 190 subcodes, throttling with usage headers, field selection, the token routes, and the
// container → status → publish machinery of Instagram and Threads.

/** Any Graph version prefix, or none (Graph then uses the app's default version). */
export const graphPath = (path: string) => new RegExp(`^(?:/v\\d+\\.\\d+)?${path}$`);

/** A Meta error before it is put in an envelope. */
export interface MetaProblem {
  code: number;
  subcode?: number;
  message: string;
  /** error_user_title / error_user_msg: what Meta means the app to show its user. */
  userTitle?: string;
  userMessage?: string;
}

export const ok = (body: unknown): SimReply => ({ status: 200, body });

export function metaError(status: number, p: MetaProblem, more: Record<string, unknown> = {}): SimReply {
  const error = {
    message: p.message,
    type: 'OAuthException',
    code: p.code,
    error_subcode: p.subcode,
    error_user_title: p.userTitle,
    error_user_msg: p.userMessage,
    ...more,
  };
  return { status, body: { error: { ...error, fbtrace_id: randomBytes(9).toString('base64url') } } };
}

export const serverError = (_sim: PlatformSim, status: number): SimReply =>
  metaError(
    status,
    { code: 2, message: 'An unexpected error has occurred. Please retry your request later.' },
    { is_transient: true },
  );

/** One throttling answer: the limit's code, its Business Use Case family and extra error fields. */
export type ThrottleSpec = MetaProblem & { bucType: string; more?: Record<string, unknown> };

/**
 * Throttled: the limit's code plus X-App-Usage and X-Business-Use-Case-Usage (minutes to regain
 * access). `byRoute` gives routes of another BUC family their own code (WABA management 80007, …).
 */
export function throttle(
  p: ThrottleSpec & { objectId(sim: PlatformSim): string; byRoute?: Record<string, ThrottleSpec> },
) {
  return (sim: PlatformSim, retryAfterS: number, route?: string): SimReply => {
    const spec = (route && p.byRoute?.[route]) || p;
    const usage = { call_count: 100, total_cputime: 34, total_time: 41 };
    const buc = { type: spec.bucType, ...usage, estimated_time_to_regain_access: Math.ceil(retryAfterS / 60) };
    return {
      ...metaError(400, spec, { is_transient: true, ...spec.more }),
      headers: {
        'x-app-usage': JSON.stringify(usage),
        'x-business-use-case-usage': JSON.stringify({ [p.objectId(sim)]: [buc] }),
      },
    };
  };
}

/** Meta's time style in token errors: "Sunday, 09-Aug-20 01:30:58 PDT". */
function metaTime(ms: number): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: 'America/Los_Angeles',
    weekday: 'long',
    day: '2-digit',
    month: 'short',
    year: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).formatToParts(new Date(ms));
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${p.weekday}, ${p.day}-${p.month}-${p.year} ${p.hour}:${p.minute}:${p.second} ${p.timeZoneName}`;
}

/** Why Meta refuses a token: 190/463 expired, 190/460 password changed, 190/458 app removed, bare 190 unknown. */
export function tokenProblem(sim: PlatformSim, auth: TokenAuth): MetaProblem {
  const invalid = 'Error validating access token:';
  switch (auth.problem) {
    case 'expired':
      return {
        code: 190,
        subcode: 463,
        message: `${invalid} Session has expired on ${metaTime(auth.token?.expiresAt ?? 0)}. The current time is ${metaTime(sim.clock.now())}.`,
      };
    case 'revoked':
      return auth.grant?.revokedReason === 'password_changed'
        ? {
            code: 190,
            subcode: 460,
            message: `${invalid} The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.`,
          }
        : {
            code: 190,
            subcode: 458,
            message: `${invalid} The user has not authorized application ${sim.opts.clientId}.`,
          };
    case 'missing':
      return {
        code: 2500,
        message: 'An active access token must be used to query information about the current user.',
      };
    default:
      return { code: 190, message: 'Invalid OAuth access token - Cannot parse access token' };
  }
}

export const authError = (sim: PlatformSim, auth: TokenAuth): SimReply => metaError(400, tokenProblem(sim, auth));

export const unsupported = (method: string, id: string): MetaProblem => ({
  code: 100,
  subcode: 33,
  message: `Unsupported ${method} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
});

/** Graph answers only the fields asked for, plus id; `accounts{id,name}` asks for the field `accounts`. */
export function pick(all: Record<string, unknown>, fields: string | null): Record<string, unknown> {
  const names = ['id', ...(fields ?? '').replace(/\{[^}]*\}/g, '').split(',')].map((n) => n.trim());
  return Object.fromEntries(names.filter((n) => all[n] !== undefined).map((n) => [n, all[n]]));
}

export function tokenReply(token: SimToken): SimReply {
  const expiresIn = token.expiresAt === null ? undefined : Math.round((token.expiresAt - token.issuedAt) / 1000);
  return ok({ access_token: token.value, token_type: 'bearer', expires_in: expiresIn });
}

/** The authorize dialog: scopes are comma-separated; Instagram and Threads append "#_" to the redirect. */
export function authorizeRoute(sim: PlatformSim, path: string | RegExp, fragment?: string): void {
  sim.route('GET', path, 'authorize', (req) =>
    req.query.get('response_type') !== 'code'
      ? { status: 400, body: 'Invalid response_type: only "code" is supported.' }
      : sim.authorize({
          clientId: req.query.get('client_id'),
          redirectUri: req.query.get('redirect_uri'),
          scopes: (req.query.get('scope') ?? '').split(',').filter(Boolean),
          state: req.query.get('state'),
          fragment,
        }),
  );
}

const BAD_CLIENT: MetaProblem = {
  code: 101,
  message: 'Error validating application. Invalid application ID or secret.',
};
const CODE_PROBLEMS: Record<string, MetaProblem> = {
  'Code was already redeemed.': { code: 100, subcode: 36009, message: 'This authorization code has been used.' },
  'Code expired.': { code: 100, subcode: 36007, message: 'This authorization code has expired.' },
  'redirect_uri mismatch.': {
    code: 100,
    subcode: 36008,
    message:
      'Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request',
  },
};

/** Code → grant, from form or query parameters (client_id, client_secret, redirect_uri, code). */
export function redeem(sim: PlatformSim, p: URLSearchParams): { grant: Grant } | MetaProblem {
  if (!sim.checkClient(p.get('client_id'), p.get('client_secret'))) return BAD_CLIENT;
  if (p.has('grant_type') && p.get('grant_type') !== 'authorization_code') {
    return { code: 100, message: 'Unsupported grant_type.' };
  }
  const redeemed = sim.redeemCode(p.get('code'), { clientId: p.get('client_id'), redirectUri: p.get('redirect_uri') });
  if (!('error' in redeemed)) return { grant: redeemed.grant };
  return CODE_PROBLEMS[redeemed.description] ?? { code: 100, message: 'Invalid verification code format.' };
}

/** A long-lived token of the grant: the 60-day kind, unless the platform's knob says otherwise. */
export const longLived = (sim: PlatformSim, grant: Grant): SimReply =>
  tokenReply(sim.issue(grant, 'access', sim.knobs.longLivedTtlS ?? 5_184_000));

/**
 * Instagram and Threads: GET /access_token swaps a short token for a 60-day one; GET
 * /refresh_access_token re-issues a 60-day token that is at least minRefreshAgeS old.
 */
export function longLivedRoutes(sim: PlatformSim, grantTypes: { exchange: string; refresh: string }): void {
  sim.route('GET', '/access_token', 'exchange', (req) => {
    if (req.query.get('grant_type') !== grantTypes.exchange)
      return metaError(400, { code: 100, message: 'Unsupported grant_type.' });
    if (!sim.checkClient(sim.opts.clientId, req.query.get('client_secret'))) return metaError(400, BAD_CLIENT);
    const auth = sim.check(req.token);
    return auth.ok && auth.grant ? longLived(sim, auth.grant) : authError(sim, auth);
  });
  sim.route('GET', '/refresh_access_token', 'refresh', (req) => {
    if (req.query.get('grant_type') !== grantTypes.refresh)
      return metaError(400, { code: 100, message: 'Unsupported grant_type.' });
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.grant || !auth.token) return authError(sim, auth);
    if (sim.clock.now() - auth.token.issuedAt < sim.policy.minRefreshAgeS * 1000) {
      const hours = sim.policy.minRefreshAgeS / 3600;
      return metaError(400, {
        code: 100,
        message: `Invalid parameter: an access token can only be refreshed once it is at least ${hours} hours old.`,
      });
    }
    return longLived(sim, auth.grant);
  });
}

// Instagram and Threads publishing: a container (a SimJob of kind 'container') is created out of
// sight, polled until FINISHED, and committed by the publish edge, the only write. The two
// platforms differ in edge names, parameters, status fields and a few error codes (PublishingSpec).

const DAY_MS = 86_400_000;

/** What a container carries, whichever platform made it. */
export type ContainerData = {
  /** As requested: IMAGE, REELS, STORIES, CAROUSEL (Instagram); TEXT, IMAGE, VIDEO, CAROUSEL (Threads). */
  mediaType: string;
  /** Instagram caption or Threads text. */
  text?: string;
  imageUrl?: string;
  videoUrl?: string;
  isCarouselItem?: boolean;
  children?: string[];
  replyToId?: string;
  /** Set by the publish that consumed the container. */
  mediaId?: string;
};

export interface PublishedMedia {
  id: string;
  accountId: string;
  containerId: string;
  shortcode: string;
  publishedAt: number;
  deletedAt?: number;
  data: ContainerData;
}

/** Both platforms report a container's phase with the same five words. */
export const CONTAINER_STATUS: Record<JobPhase, string> = {
  pending: 'IN_PROGRESS',
  ready: 'FINISHED',
  failed: 'ERROR',
  expired: 'EXPIRED',
  consumed: 'PUBLISHED',
};

/** Why a container cannot be published, or used as a carousel child. */
export interface PublishProblems {
  notFound(id: string): MetaProblem;
  notReady(id: string): MetaProblem;
  failed(job: SimJob): MetaProblem;
  expired(id: string): MetaProblem;
  published(id: string): MetaProblem;
  /** The rolling 24-hour cap on posts (or, on Threads, replies) is used up. */
  cap(kind: 'posts' | 'replies', total: number): MetaProblem;
  carouselSize(max: number): MetaProblem;
}

/** Instagram's publishing codes (its error-codes reference); Threads reuses them, except "not found". */
export const publishProblems: PublishProblems = {
  notFound: (id) => ({
    code: 24,
    subcode: 2207006,
    message: 'The requested resource does not exist',
    userTitle: 'Media not found',
    userMessage: `The media with id ${id} cannot be found.`,
  }),
  notReady: () => ({
    code: 9007,
    subcode: 2207027,
    message: 'Media ID is not available',
    userTitle: 'Cannot publish',
    userMessage: 'The media is not ready for publishing, please wait for a moment.',
  }),
  failed: (job) => ({
    code: -1,
    subcode: 2207032,
    message: 'Create media fail, please try to re-create media',
    userTitle: 'Cannot publish',
    userMessage: `The media container failed to process (${job.failure}). Create a new container and try again.`,
  }),
  expired: () => ({
    code: -2,
    subcode: 2207020,
    message: 'The media you are trying to access has expired. Please try to upload again.',
    userTitle: 'Media expired',
    userMessage: 'The container was not published within 24 hours. Create a new container and try again.',
  }),
  // Meta documents no code for a second publish; what is certain is the refusal and the container's
  // PUBLISHED status, which is what a caller should read after an ambiguous publish.
  published: (id) => ({
    code: 100,
    message: 'Invalid parameter',
    userTitle: 'Media already published',
    userMessage: `The container ${id} has already been published. Create a new container to publish again.`,
  }),
  cap: (kind, total) => ({
    code: 9,
    subcode: 2207042,
    message: 'Application request limit reached',
    userTitle: 'Cannot publish',
    userMessage: `You have reached the maximum number of ${kind} that is allowed for this account (${total} within 24 hours).`,
  }),
  carouselSize: (max) => ({
    code: 100,
    subcode: 2207028,
    message: 'Carousel validation failed',
    userTitle: 'Cannot create carousel',
    userMessage: `Carousels need at least 2 and no more than ${max} photos or videos.`,
  }),
};

/** How one platform's container publishing looks from outside. */
export interface PublishingSpec {
  /** Edges below the user id, e.g. media, media_publish, content_publishing_limit. */
  edges: { container: string; publish: string; limit: string };
  /** The parameter that carries the text (caption or text), as written records name it. */
  textParam: 'caption' | 'text';
  maxChildren: number;
  problems: PublishProblems;
  /** Reads the platform's own create parameters; carousel children are checked by the caller. */
  parse(param: (name: string) => string | undefined): { data: ContainerData } | { problem: MetaProblem };
  /** GET /{container-id} before field selection. */
  containerView(job: SimJob, phase: JobPhase): Record<string, unknown>;
  /** GET /{media-id} before field selection. */
  mediaView(media: PublishedMedia, account: SimAccount): Record<string, unknown>;
  /** One entry of the publishing-limit edge before field selection. */
  limitView(usage: { posts: number; replies: number }): Record<string, unknown>;
  /** Whether the media list shows this media (Instagram lists stories on their own edge); default all. */
  listed?(media: PublishedMedia): boolean;
  /**
   * After a publish: what the content store learns (default: a post of the account, so sync reads
   * it like a seeded one; Threads makes a reply a message instead).
   */
  onPublished?(media: PublishedMedia): void;
  /** GET /{id} of what is neither a container nor a post (a comment, a reply), or undefined. */
  otherObject?(id: string, account: SimAccount, fields: string | null): SimReply | undefined;
}

/** A Graph parameter from the query string, a form body or a JSON body. */
export function param(req: SimRequest, name: string): string | undefined {
  const value = req.query.get(name) ?? req.form.get(name) ?? req.json?.[name];
  if (value === undefined || value === null) return undefined;
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** A comma-separated id list such as carousel `children`. */
export const idList = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);

/** Graph's timestamp style: 2026-08-01T12:00:00+0000. */
export const graphTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');

/** Eleven base64url characters, like Instagram and Threads shortcodes. */
export const shortcode = () => randomBytes(8).toString('base64url');

export const required = (name: string): MetaProblem => ({
  code: 100,
  message: `(#100) The parameter ${name} is required`,
});

const publishError = (p: MetaProblem) => metaError(400, p, { is_transient: false });

/** The token's account, which must be the user in the path (or `me`). */
export function caller(
  sim: PlatformSim,
  req: SimRequest,
  method: string,
): { account: SimAccount } | { reply: SimReply } {
  const auth = sim.check(req.token);
  if (!auth.ok || !auth.account) return { reply: authError(sim, auth) };
  const user = req.params.user ?? '';
  if (user !== 'me' && user !== auth.account.id) return { reply: metaError(400, unsupported(method, user)) };
  return { account: auth.account };
}

const encodeCursor = (id: string) => Buffer.from(id).toString('base64url');
const decodeCursor = (cursor: string) => Buffer.from(cursor, 'base64url').toString('utf8');

/**
 * One page of a Graph list, newest first: `limit` (default 25, at most 100), `after` as
 * paging.cursors.after gave it (an unknown cursor ends the listing rather than restarting it),
 * and paging.next while more remain, carrying the token the way Graph's next links do.
 */
export function graphPage<T extends { id: string }>(
  sim: PlatformSim,
  req: SimRequest,
  all: T[],
  view: (item: T) => Record<string, unknown>,
): SimReply {
  const limit = Math.min(100, Math.max(1, Number(req.query.get('limit')) || 25));
  const after = req.query.get('after');
  const index = after === null ? -1 : all.findIndex((m) => m.id === decodeCursor(after));
  const start = after === null ? 0 : index === -1 ? all.length : index + 1;
  const page = all.slice(start, start + limit);
  const body: Record<string, unknown> = { data: page.map(view) };
  const [first, last] = [page[0], page.at(-1)];
  if (first !== undefined && last !== undefined) {
    const cursors = { before: encodeCursor(first.id), after: encodeCursor(last.id) };
    let next: string | undefined;
    if (start + limit < all.length) {
      const query = new URLSearchParams(req.query);
      query.set('after', cursors.after);
      if (req.token) query.set('access_token', req.token);
      next = `http://${req.headers.host}/${sim.id}${req.path}?${query}`;
    }
    body.paging = { cursors, next };
  }
  return ok(body);
}

// Insights. A day's value is reported with end_time at the end of that day in Pacific time (07:00 or
// 08:00 UTC the next day); the simulator uses 08:00 UTC. since/until are unix seconds (or dates),
// and a day is in range when its start is: since ≤ start < until.

const DAY_S = 86_400;
export const dayStartS = (day: string) => Date.parse(`${day}T00:00:00Z`) / 1000;
export const dayOfS = (s: number) => new Date(s * 1000).toISOString().slice(0, 10);

/** since/until as unix seconds: Graph takes unix times or anything strtotime reads. */
export function unixParam(value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  const s = /^\d+$/.test(value) ? Number(value) : Date.parse(value) / 1000;
  return Number.isFinite(s) ? s : undefined;
}

/** The days of [sinceS, untilS), each with its value of the metric (0 where there is none). */
export function dailyValues(sim: PlatformSim, accountId: string, metric: string, sinceS: number, untilS: number) {
  const series = sim.content.daily.get(accountId);
  const out: { value: number; end_time: string }[] = [];
  for (let day = dayOfS(Math.ceil(sinceS / DAY_S) * DAY_S); dayStartS(day) < untilS; ) {
    const next = dayOfS(dayStartS(day) + DAY_S);
    out.push({ value: series?.get(day)?.[metric] ?? 0, end_time: `${next}T08:00:00+0000` });
    day = next;
  }
  return out;
}

/** The sum of a daily metric over [sinceS, untilS), for total_value answers. */
export const dailySum = (sim: PlatformSim, accountId: string, metric: string, sinceS: number, untilS: number) =>
  dailyValues(sim, accountId, metric, sinceS, untilS).reduce((sum, v) => sum + v.value, 0);

/**
 * since/until of an insights call: defaults to the last two days; a range wider than `maxDays`
 * is refused the way Graph refuses it.
 */
function insightsRange(
  sim: PlatformSim,
  req: SimRequest,
  maxDays: number,
): { sinceS: number; untilS: number } | { reply: SimReply } {
  const nowS = Math.floor(sim.clock.now() / 1000);
  const untilS = unixParam(req.query.get('until')) ?? nowS;
  const sinceS = unixParam(req.query.get('since')) ?? untilS - 2 * DAY_S;
  if (untilS <= sinceS) return { reply: metaError(400, { code: 100, message: '(#100) until must be after since' }) };
  if (untilS - sinceS > maxDays * DAY_S) {
    return {
      reply: metaError(400, {
        code: 100,
        message: `(#100) There cannot be more than ${maxDays} days (${maxDays * DAY_S} s) between since and until`,
      }),
    };
  }
  return { sinceS, untilS };
}

/** paging.previous / paging.next of an insights answer: the same call one window earlier or later. */
function insightsPaging(sim: PlatformSim, req: SimRequest, sinceS: number, untilS: number) {
  const shift = (by: number) => {
    const query = new URLSearchParams(req.query);
    query.set('since', String(sinceS + by));
    query.set('until', String(untilS + by));
    if (req.token) query.set('access_token', req.token);
    return `http://${req.headers.host}/${sim.id}${req.path}?${query}`;
  };
  return { previous: shift(sinceS - untilS), next: shift(untilS - sinceS) };
}

/** A metric Graph does not know (or no longer knows): the insights edge's refusal. */
const invalidMetric = (name: string, valid: readonly string[]): SimReply =>
  metaError(400, {
    code: 100,
    message: `(#100) metric[0] must be one of the following values: ${valid.join(', ')} (got ${name})`,
  });

/** A SimPost's lifetime counter, 0 when the platform has none recorded. */
export const counter = (post: SimPost | undefined, name: string) => post?.counters[name] ?? 0;

/** The `metric` parameter of an insights call, or Graph's refusal: none asked for, or one it does not know. */
function metricsParam(req: SimRequest, valid: readonly string[]): string[] | SimReply {
  const metrics = (req.query.get('metric') ?? '').split(',').filter(Boolean);
  if (!metrics.length) return metaError(400, required('metric'));
  const unknown = metrics.find((m) => !valid.includes(m));
  return unknown ? invalidMetric(unknown, valid) : metrics;
}

/** One metric of an insights answer: a daily series (values) or a total (total_value, values). */
export const insight = (
  objectId: string,
  name: string,
  period: 'day' | 'lifetime',
  value: Record<string, unknown>,
) => ({
  name,
  period,
  title: name,
  description: `Simulated ${name}`,
  ...value,
  id: `${objectId}/insights/${name}/${period}`,
});

/**
 * GET /{account}/insights: the metrics asked for (`check` may refuse them, as each product has its
 * own rules) over since/until of at most `maxDays`, each as `entry` gives it, with paging to the
 * windows before and after.
 */
export function accountInsights(
  sim: PlatformSim,
  req: SimRequest,
  o: {
    valid: readonly string[];
    maxDays: number;
    check?(metrics: string[]): SimReply | undefined;
    entry(name: string, range: { sinceS: number; untilS: number }): Record<string, unknown>;
  },
): SimReply {
  const metrics = metricsParam(req, o.valid);
  if (!Array.isArray(metrics)) return metrics;
  const refused = o.check?.(metrics);
  if (refused) return refused;
  const range = insightsRange(sim, req, o.maxDays);
  if ('reply' in range) return range.reply;
  return ok({
    data: metrics.map((name) => o.entry(name, range)),
    paging: insightsPaging(sim, req, range.sinceS, range.untilS),
  });
}

/** GET /{post-id}/insights: lifetime values of the metrics asked for, each as `value` reads it. */
export function postInsights(req: SimRequest, id: string, valid: readonly string[], value: (name: string) => unknown) {
  const metrics = metricsParam(req, valid);
  if (!Array.isArray(metrics)) return metrics;
  return ok({ data: metrics.map((name) => insight(id, name, 'lifetime', { values: [{ value: value(name) }] })) });
}

/** follower_demographics' breakdowns (Instagram, Threads) and the values the simulator spreads followers over. */
export const DEMOGRAPHICS: Record<string, readonly string[]> = {
  age: ['13-17', '18-24', '25-34', '35-44', '45-54', '55-64', '65+'],
  gender: ['F', 'M', 'U'],
  country: ['US', 'GB', 'DE', 'BR', 'IN', 'FR'],
  city: [
    'London, England',
    'New York, New York',
    'Berlin, Berlin',
    'São Paulo, São Paulo (state)',
    'Mumbai, Maharashtra',
  ],
};
/** Meta shows follower demographics only to accounts with at least this many followers. */
const MIN_DEMOGRAPHICS_FOLLOWERS = 100;

/**
 * An insights call for metric=follower_demographics (undefined for any other): one `breakdown`,
 * the followers spread over its values (sync-content.ts audienceOf; bump `<breakdown>.<value>`)
 * under total_value.breakdowns[0].results. `lifetime`: Instagram also wants period=lifetime and
 * metric_type=total_value. Under 100 followers there is no data, as Graph answers unavailable insights.
 */
export function followerDemographics(
  sim: PlatformSim,
  req: SimRequest,
  o: { accountId: string; followers: number; lifetime: boolean },
): SimReply | undefined {
  const metrics = (req.query.get('metric') ?? '').split(',');
  if (!metrics.includes('follower_demographics')) return undefined;
  const lifetime = req.query.get('period') === 'lifetime' && req.query.get('metric_type') === 'total_value';
  if (metrics.length > 1 || (o.lifetime && !lifetime)) {
    return metaError(400, {
      code: 100,
      message: `(#100) follower_demographics is read alone${o.lifetime ? ', with period=lifetime and metric_type=total_value' : ''}`,
    });
  }
  const breakdown = req.query.get('breakdown');
  if (!breakdown) return metaError(400, required('breakdown'));
  const values = DEMOGRAPHICS[breakdown];
  if (!values) {
    return metaError(400, {
      code: 100,
      message: `(#100) breakdown[0] must be one of the following values: ${Object.keys(DEMOGRAPHICS).join(', ')}`,
    });
  }
  if (o.followers < MIN_DEMOGRAPHICS_FOLLOWERS) return ok({ data: [] });
  const results = audienceOf(sim.content, o.accountId, breakdown, values, o.followers).map((v) => ({
    dimension_values: [v.value],
    value: v.count,
  }));
  return ok({
    data: [
      insight(o.accountId, 'follower_demographics', 'lifetime', {
        total_value: { breakdowns: [{ dimension_keys: [breakdown], results }] },
      }),
    ],
  });
}

// Webhook deliveries the Meta products share (§0.2): entry[] with changes[] or messaging[].

/** A Messenger-platform message event (Instagram and Page DMs), echoes for the account's own. */
function messagingEvent(m: SimMessage, accountId: string, otherId: string) {
  const [sender, recipient] = m.fromAccount ? [accountId, otherId] : [m.authorId, accountId];
  return {
    sender: { id: sender },
    recipient: { id: recipient },
    timestamp: m.createdAt,
    message: {
      mid: m.id,
      text: m.text || undefined,
      is_echo: m.fromAccount || undefined,
      attachments: m.attachments.length
        ? m.attachments.map((a) => ({
            type: a.mimeType.split('/')[0] === 'image' ? 'image' : 'file',
            payload: { url: `https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=${a.id}` },
          }))
        : undefined,
    },
  };
}

/** The other party of a DM conversation: the first author who is not the account. */
const otherParty = (sim: PlatformSim, m: SimMessage): string =>
  m.fromAccount
    ? (sim.content.messages.find((x) => x.threadId === m.threadId && !x.fromAccount)?.authorId ?? m.threadId)
    : m.authorId;

/** The delivery of a DM (Instagram, Messenger): a messaging event, an echo for the account's own. */
export const dmDelivery = (sim: PlatformSim, object: string, accountId: string, m: SimMessage) =>
  metaDelivery(object, accountId, m.createdAt, { messaging: [messagingEvent(m, accountId, otherParty(sim, m))] });

/** `{object, entry:[{id, time, changes|messaging}]}` for one message of the account. */
export function metaDelivery(
  object: string,
  accountId: string,
  timeS: number,
  item: { changes: unknown[] } | { messaging: unknown[] },
) {
  return { object, entry: [{ id: accountId, time: timeS, ...item }] };
}

// DMs: Instagram and Page conversations over the content store's DM messages.

/** A conversation of the account: its id (the store's thread), the other party and last activity. */
export interface SimConversation {
  id: string;
  otherId: string;
  otherName: string;
  updatedAt: number;
  messages: SimMessage[];
}

/** The account's conversations, most recently updated first. */
export function conversationsOf(sim: PlatformSim, accountId: string): SimConversation[] {
  const byThread = new Map<string, SimMessage[]>();
  for (const m of sim.content.messagesOf(accountId, 'dm')) {
    byThread.set(m.threadId, [...(byThread.get(m.threadId) ?? []), m]);
  }
  return [...byThread.entries()]
    .map(([id, messages]) => {
      const other = messages.find((m) => !m.fromAccount);
      return {
        id,
        otherId: other?.authorId ?? id,
        otherName: other?.authorName ?? '',
        updatedAt: Math.max(...messages.map((m) => m.createdAt)),
        messages,
      };
    })
    .sort((a, b) => b.updatedAt - a.updatedAt);
}

/**
 * GET /{account}/conversations: the account's conversations (only the one with `user_id` when
 * given), most recently updated first; `view` adds what the product shows of one.
 */
export function conversationsPage(
  sim: PlatformSim,
  req: SimRequest,
  accountId: string,
  view: (c: SimConversation) => Record<string, unknown>,
): SimReply {
  const userId = req.query.get('user_id');
  const fields = req.query.get('fields') ?? 'id';
  return graphPage(
    sim,
    req,
    conversationsOf(sim, accountId).filter((c) => !userId || c.otherId === userId),
    (c) => pick({ id: c.id, updated_time: graphTime(c.updatedAt), ...view(c) }, fields),
  );
}

/**
 * GET /{conversation-id}/messages of the account's conversation, newest first. from/to name the
 * account as `self` and the other party by its id and, under `nameKey`, its name.
 */
export function conversationMessages(
  sim: PlatformSim,
  req: SimRequest,
  accountId: string,
  conversationId: string,
  self: { id: string; name: string | undefined },
  nameKey: 'name' | 'username',
): SimReply {
  const conversation = conversationsOf(sim, accountId).find((c) => c.id === conversationId);
  if (!conversation) return metaError(400, unsupported('get', conversationId));
  const party = (p: { id: string; name: string | undefined }) => ({ [nameKey]: p.name, id: p.id });
  const [me, other] = [party(self), party({ id: conversation.otherId, name: conversation.otherName })];
  const fields = req.query.get('fields') ?? 'id,created_time';
  return graphPage(sim, req, conversation.messages, (m) =>
    pick(
      {
        id: m.id,
        created_time: graphTime(m.createdAt),
        from: m.fromAccount ? me : other,
        to: { data: [m.fromAccount ? other : me] },
        message: m.text,
      },
      fields,
    ),
  );
}

/** Messenger's send-window refusal (outside 24 h of the customer's last message). */
const outsideWindow = (): SimReply =>
  metaError(400, {
    code: 10,
    subcode: 2018278,
    message: '(#10) This message is sent outside of allowed window.',
  });

/**
 * POST /{page-id|me}/messages {recipient:{id}, message:{text}}: a reply in the customer's
 * conversation, within 24 h of their last message. Answers {recipient_id, message_id}.
 */
export function sendDm(
  sim: PlatformSim,
  req: SimRequest,
  accountId: string,
  authorName: string,
  makeId: () => string,
): SimReply {
  const recipient = asObject(req.json?.recipient ?? parseMaybe(param(req, 'recipient'))).id;
  const message = asObject(req.json?.message ?? parseMaybe(param(req, 'message')));
  if (typeof recipient !== 'string' || !recipient) return metaError(400, required('recipient'));
  if (typeof message.text !== 'string' || !message.text) return metaError(400, required('message'));
  const conversation = conversationsOf(sim, accountId).find((c) => c.otherId === recipient);
  const lastInbound = Math.max(
    -1,
    ...(conversation?.messages ?? []).filter((m) => !m.fromAccount).map((m) => m.createdAt),
  );
  if (!conversation || sim.clock.now() - lastInbound > 86_400_000) return outsideWindow();
  const sent = sim.content.addMessage(
    sim.content.message({
      id: makeId(),
      accountId,
      kind: 'dm',
      threadId: conversation.id,
      authorId: accountId,
      authorName,
      text: message.text,
      createdAt: sim.clock.now(),
      fromAccount: true,
    }),
  );
  sim.recordWrite('messages_send', { recipient, messageId: sent.id, text: sent.text }, accountId);
  return ok({ recipient_id: recipient, message_id: sent.id });
}

const asObject = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
function parseMaybe(value: string | undefined): unknown {
  try {
    return value === undefined ? undefined : JSON.parse(value);
  } catch {
    return undefined;
  }
}

/** A live message of the account by id. */
export const messageOf = (sim: PlatformSim, accountId: string, id: string) =>
  sim.content.messages.find((m) => m.id === id && m.accountId === accountId && !m.deleted);

/**
 * The account's reply to a comment, written through the API (the `reply` write): it joins the
 * comment's top-level comment, as Graph threads comments one level deep. Answers {id}.
 */
export function replyToComment(
  sim: PlatformSim,
  accountId: string,
  comment: SimMessage,
  author: { id: string; name: string },
  text: string,
): SimReply {
  const parent = (comment.parentId && messageOf(sim, accountId, comment.parentId)) || comment;
  const reply = sim.content.addMessage(
    sim.content.message({
      id: sim.contentId(),
      accountId: parent.accountId,
      kind: parent.kind === 'dm' ? 'dm' : 'comment',
      threadId: parent.threadId,
      parentId: parent.id,
      authorId: author.id,
      authorName: author.name,
      text,
      createdAt: sim.clock.now(),
      fromAccount: true,
    }),
  );
  sim.recordWrite('reply', { parentId: parent.id, replyId: reply.id, text }, parent.accountId);
  return ok({ id: reply.id });
}

/** POST {name}=true|false (hide; Facebook: is_hidden): hides a comment or shows it again. */
export function setHidden(sim: PlatformSim, req: SimRequest, m: SimMessage, name: string): SimReply {
  const value = param(req, name);
  if (value !== 'true' && value !== 'false') return metaError(400, required(name));
  return moderateMessage(sim, m, value === 'true' ? 'hide' : 'unhide');
}

/** Hide, unhide or delete a comment (a write the admin API lists under `moderate`). */
export function moderateMessage(sim: PlatformSim, m: SimMessage, action: 'hide' | 'unhide' | 'delete'): SimReply {
  if (action === 'delete') m.deleted = true;
  else m.hidden = action === 'hide';
  sim.recordWrite('moderate', { messageId: m.id, action }, m.accountId);
  return ok({ success: true });
}

/** A seeded post (or one published outside this simulator's publish route) seen as published media. */
function postAsMedia(post: SimPost): PublishedMedia {
  const video = post.mediaType === 'VIDEO' || post.mediaType === 'REELS';
  return {
    id: post.id,
    accountId: post.accountId,
    containerId: '',
    shortcode: createHash('sha256').update(post.id).digest('base64url').slice(0, 11),
    publishedAt: post.createdAt,
    data: {
      mediaType: post.mediaType,
      text: post.text,
      videoUrl: video ? `https://scontent.cdninstagram.com/v/${post.id}.mp4` : undefined,
      imageUrl: video ? undefined : `https://scontent.cdninstagram.com/v/${post.id}.jpg`,
    },
  };
}

/** Adds a post to the content store, newest first (ties: the later one first). */
export function addContentPost(sim: PlatformSim, post: SimPost): void {
  sim.content.posts.unshift(post);
  sim.content.posts.sort((a, b) => b.createdAt - a.createdAt);
}

/**
 * Registers create container (`container`), GET /{id} for containers and media (`object`), publish
 * (`publish`, the write), the publishing limit (`publishing_limit`) and the account's media list
 * (`media_list`). The caps come from the knobs `publishCap` and `replyCap` (absent: no cap), the
 * processing speed from `containerMs` and `containerPolls`. Call reset() from the platform's seed.
 * Published media join the content store, and the list and GET /{id} show seeded posts as well.
 */
export function containerPublishing(sim: PlatformSim, spec: PublishingSpec) {
  const published = new Map<string, PublishedMedia>();
  const { edges, problems } = spec;
  const userPath = (edge: string) => graphPath(`/(?<user>[^/]+)/${edge}`);

  const ownContainer = (id: string, accountId: string) => {
    const job = sim.jobs.get(id);
    return job?.kind === 'container' && job.accountId === accountId ? job : undefined;
  };

  /** A live post of the account, published here or seeded into the content store. */
  const mediaOf = (id: string, accountId: string): PublishedMedia | undefined => {
    const media = published.get(id);
    if (media) return media.accountId === accountId && media.deletedAt === undefined ? media : undefined;
    const post = sim.content.post(id);
    return post?.accountId === accountId ? postAsMedia(post) : undefined;
  };

  /** Why the container cannot be published or put in a carousel now; undefined when it can. */
  const unusable = (id: string, accountId: string): MetaProblem | undefined => {
    const job = ownContainer(id, accountId);
    if (!job) return problems.notFound(id);
    switch (sim.jobPhase(job)) {
      case 'ready':
        return undefined;
      case 'pending':
        return problems.notReady(id);
      case 'failed':
        return problems.failed(job);
      case 'expired':
        return problems.expired(id);
      case 'consumed':
        return problems.published(id);
    }
  };

  /** Posts and replies published in the rolling 24 h; replies have their own quota (Threads). */
  const usage = (accountId: string) => {
    const { used } = sim.capUsage('publish', accountId, DAY_MS);
    const since = sim.clock.now() - DAY_MS;
    const replies = sim.writes.filter(
      (w) => w.route === 'publish' && w.accountId === accountId && w.at > since && w.data.replyToId !== undefined,
    ).length;
    return { posts: used - replies, replies };
  };

  sim.route('POST', userPath(edges.container), 'container', (req) => {
    const who = caller(sim, req, 'post');
    if ('reply' in who) return who.reply;
    const parsed = spec.parse((name) => param(req, name));
    if ('problem' in parsed) return publishError(parsed.problem);
    const { children } = parsed.data;
    if (children) {
      if (children.length < 2 || children.length > spec.maxChildren) {
        return publishError(problems.carouselSize(spec.maxChildren));
      }
      for (const child of children) {
        const problem = unusable(child, who.account.id);
        if (problem) return publishError(problem);
      }
    }
    // Not a write: a container is invisible until published, so creating one is safe to repeat.
    const job = sim.startJob('container', parsed.data, { accountId: who.account.id, ttlMs: DAY_MS });
    return ok({ id: job.id });
  });

  sim.route('GET', graphPath('/(?<id>\\d+)'), 'object', (req) => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account) return authError(sim, auth);
    const id = req.params.id ?? '';
    const fields = req.query.get('fields');
    const job = ownContainer(id, auth.account.id);
    // Every status read is a poll: a container finishes after `containerPolls` of them.
    if (job) return ok(pick(spec.containerView(job, sim.jobPhase(job, { poll: true })), fields));
    const media = mediaOf(id, auth.account.id);
    if (media) return ok(pick(spec.mediaView(media, auth.account), fields));
    return spec.otherObject?.(id, auth.account, fields) ?? metaError(400, unsupported('get', id));
  });

  sim.route(
    'POST',
    userPath(edges.publish),
    'publish',
    (req) => {
      const who = caller(sim, req, 'post');
      if ('reply' in who) return who.reply;
      const accountId = who.account.id;
      const id = param(req, 'creation_id');
      if (!id) return metaError(400, required('creation_id'));
      // The container's own state first: a retry of a publish that landed must say so, not "cap reached".
      const problem = unusable(id, accountId);
      if (problem) return publishError(problem);
      const job = ownContainer(id, accountId) as SimJob;
      const data = job.data as ContainerData;
      if (data.isCarouselItem) {
        return publishError({
          code: 100,
          message: 'Invalid parameter',
          userMessage: 'A carousel item cannot be published on its own: publish the CAROUSEL container that holds it.',
        });
      }
      const kind = data.replyToId === undefined ? 'posts' : 'replies';
      const total = kind === 'posts' ? sim.knobs.publishCap : sim.knobs.replyCap;
      if (total !== undefined && usage(accountId)[kind] >= total) return publishError(problems.cap(kind, total));

      const media: PublishedMedia = {
        id: sim.contentId(),
        accountId,
        containerId: id,
        shortcode: shortcode(),
        publishedAt: sim.clock.now(),
        data,
      };
      published.set(media.id, media);
      job.consumedAt = media.publishedAt;
      data.mediaId = media.id;
      if (spec.onPublished) spec.onPublished(media);
      else {
        addContentPost(sim, {
          id: media.id,
          accountId,
          createdAt: media.publishedAt,
          text: data.text ?? '',
          mediaType: data.mediaType,
          counters: {},
        });
      }
      sim.recordWrite(
        'publish',
        {
          containerId: id,
          mediaId: media.id,
          mediaType: data.mediaType,
          [spec.textParam]: data.text,
          children: data.children,
          replyToId: data.replyToId,
        },
        accountId,
      );
      return ok({ id: media.id });
    },
    { write: true },
  );

  sim.route('GET', userPath(edges.limit), 'publishing_limit', (req) => {
    const who = caller(sim, req, 'get');
    if ('reply' in who) return who.reply;
    const entry = spec.limitView(usage(who.account.id));
    return ok({ data: [pick(entry, req.query.get('fields') ?? 'quota_usage')] });
  });

  // Newest first with Graph cursors: what sync lists, and the truth to reconcile against after an
  // ambiguous publish.
  sim.route('GET', userPath(edges.container), 'media_list', (req) => {
    const who = caller(sim, req, 'get');
    if ('reply' in who) return who.reply;
    const since = Number(req.query.get('since') ?? Number.NEGATIVE_INFINITY) * 1000;
    const until = Number(req.query.get('until') ?? Number.POSITIVE_INFINITY) * 1000;
    const all = sim.content
      .postsOf(who.account.id)
      .map((p) => mediaOf(p.id, who.account.id))
      .filter((m): m is PublishedMedia => m !== undefined)
      .filter((m) => spec.listed?.(m) ?? true)
      .filter((m) => m.publishedAt >= since && m.publishedAt <= until);
    const fields = req.query.get('fields');
    return graphPage(sim, req, all, (m) => pick(spec.mediaView(m, who.account), fields));
  });

  /** The caller's live post `id`, or Graph's refusal (a dead token, someone else's or no post). */
  const callerMedia = (req: SimRequest, id: string): { account: SimAccount; media: PublishedMedia } | SimReply => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account) return authError(sim, auth);
    const media = mediaOf(id, auth.account.id);
    return media ? { account: auth.account, media } : metaError(400, unsupported('get', id));
  };

  return {
    published,
    mediaOf,
    callerMedia,
    reset: () => published.clear(),
  };
}
