import { randomBytes } from 'node:crypto';
import {
  type Grant,
  type JobPhase,
  numericId,
  type PlatformSim,
  type SimAccount,
  type SimJob,
  type SimReply,
  type SimRequest,
  type SimToken,
  type TokenAuth,
} from '../core.ts';

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

/** Throttled: the limit's code plus X-App-Usage and X-Business-Use-Case-Usage (minutes to regain access). */
export function throttle(
  p: MetaProblem & { bucType: string; objectId(sim: PlatformSim): string; more?: Record<string, unknown> },
) {
  return (sim: PlatformSim, retryAfterS: number): SimReply => {
    const usage = { call_count: 100, total_cputime: 34, total_time: 41 };
    const buc = { type: p.bucType, ...usage, estimated_time_to_regain_access: Math.ceil(retryAfterS / 60) };
    return {
      ...metaError(400, p, { is_transient: true, ...p.more }),
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
 * Registers create container (`container`), GET /{id} for containers and media (`object`), publish
 * (`publish`, the write), the publishing limit (`publishing_limit`) and the account's media list
 * (`media_list`). The caps come from the knobs `publishCap` and `replyCap` (absent: no cap), the
 * processing speed from `containerMs` and `containerPolls`. Call reset() from the platform's seed.
 */
export function containerPublishing(sim: PlatformSim, spec: PublishingSpec) {
  const published = new Map<string, PublishedMedia>();
  const { edges, problems } = spec;
  const userPath = (edge: string) => graphPath(`/(?<user>[^/]+)/${edge}`);

  const ownContainer = (id: string, accountId: string) => {
    const job = sim.jobs.get(id);
    return job?.kind === 'container' && job.accountId === accountId ? job : undefined;
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
    const media = published.get(id);
    if (media && media.accountId === auth.account.id && media.deletedAt === undefined) {
      return ok(pick(spec.mediaView(media, auth.account), fields));
    }
    return metaError(400, unsupported('get', id));
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
        id: numericId(17),
        accountId,
        containerId: id,
        shortcode: shortcode(),
        publishedAt: sim.clock.now(),
        data,
      };
      published.set(media.id, media);
      job.consumedAt = media.publishedAt;
      data.mediaId = media.id;
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

  // Newest first with Graph cursors: the truth to reconcile against after an ambiguous publish.
  sim.route('GET', userPath(edges.container), 'media_list', (req) => {
    const who = caller(sim, req, 'get');
    if ('reply' in who) return who.reply;
    const since = Number(req.query.get('since') ?? Number.NEGATIVE_INFINITY) * 1000;
    const until = Number(req.query.get('until') ?? Number.POSITIVE_INFINITY) * 1000;
    const all = [...published.values()]
      .filter((m) => m.accountId === who.account.id && m.deletedAt === undefined)
      .filter((m) => spec.listed?.(m) ?? true)
      .filter((m) => m.publishedAt >= since && m.publishedAt <= until)
      .reverse();
    const limit = Math.min(100, Math.max(1, Number(req.query.get('limit')) || 25));
    const after = req.query.get('after');
    const index = after === null ? -1 : all.findIndex((m) => m.id === decodeCursor(after));
    // An unknown cursor ends the listing rather than restarting it.
    const start = after === null ? 0 : index === -1 ? all.length : index + 1;
    const page = all.slice(start, start + limit);
    const fields = req.query.get('fields');
    const body: Record<string, unknown> = { data: page.map((m) => pick(spec.mediaView(m, who.account), fields)) };
    const [first, last] = [page[0], page.at(-1)];
    if (first && last) {
      const cursors = { before: encodeCursor(first.id), after: encodeCursor(last.id) };
      let next: string | undefined;
      if (start + limit < all.length) {
        const query = new URLSearchParams(req.query);
        query.set('after', cursors.after);
        // Graph's next links carry the token, whichever way the first call sent it.
        if (req.token) query.set('access_token', req.token);
        next = `http://${req.headers.host}/${sim.id}${req.path}?${query}`;
      }
      body.paging = { cursors, next };
    }
    return ok(body);
  });

  return { published, reset: () => published.clear() };
}
