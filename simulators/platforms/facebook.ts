import { randomBytes } from 'node:crypto';
import type { SimMessage, SimPost } from '../content.ts';
import {
  type Clock,
  type Grant,
  numericId,
  PlatformSim,
  type SimAccount,
  type SimReply,
  type SimRequest,
} from '../core.ts';
import {
  accountInsights,
  addContentPost,
  authError,
  authorizeRoute,
  conversationMessages,
  conversationsPage,
  counter,
  dailyValues,
  dmDelivery,
  graphPage,
  graphPath,
  insight,
  longLived,
  type MetaProblem,
  metaDelivery,
  metaError,
  moderateMessage,
  ok,
  pick,
  postInsights,
  redeem,
  replyToComment,
  required,
  sendDm,
  serverError,
  setHidden,
  throttle,
  tokenReply,
  unsupported,
} from './meta.ts';

// Facebook Pages: www.facebook.com (Login dialog) and graph.facebook.com (code → short user token,
// fb_exchange_token → 60-day user token, /me with its Pages and their never-expiring Page tokens,
// DELETE /{user-id}/permissions), and Page publishing: /feed, /photos + attached_media, Reels through
// rupload.facebook.com (start → upload → finish → status), published_posts as the truth signal.

/** Page metrics of GET /{page-id}/insights (period=day); the impressions and fans families are gone. */
const PAGE_METRICS = [
  'page_media_view',
  'page_total_media_view_unique',
  'page_post_engagements',
  'page_follows',
  'page_daily_follows',
  'page_daily_unfollows_unique',
  'page_views_total',
  'page_video_views',
];
/** Lifetime metrics of GET /{post-id}/insights. */
const POST_METRICS = [
  'post_media_view',
  'post_total_media_view_unique',
  'post_clicks',
  'post_reactions_by_type_total',
  'post_activity_by_action_type',
  'post_video_views',
];
/** Graph refuses a Page insights window longer than this. */
const MAX_INSIGHTS_DAYS = 93;

/** Only the non-zero entries, the way breakdown metrics are reported. */
const nonZero = (values: Record<string, number>) => Object.fromEntries(Object.entries(values).filter(([, v]) => v));

/** Longest Page post message Graph accepts. */
const MAX_MESSAGE = 63_206;
/** How far back the duplicate-status guard looks. */
const DUPLICATE_WINDOW_MS = 86_400_000;

interface PagePost {
  /** `<page id>_<post id>`. */
  id: string;
  pageId: string;
  kind: 'status' | 'photo' | 'reel';
  message?: string;
  link?: string;
  /** Photo or video ids the post shows. */
  media: string[];
  createdAt: number;
  seq: number;
  deletedAt?: number;
  /** Reels: the post shows once this video's processing is done. */
  videoId?: string;
}

interface PagePhoto {
  id: string;
  pageId: string;
  url: string;
  caption?: string;
  published: boolean;
  createdAt: number;
  /** The post the photo became, or was attached to; an unpublished photo is attached once. */
  postId?: string;
}

/** A Reels upload session: started, fed bytes through rupload, finished (the commit). */
interface Reel {
  id: string;
  pageId: string;
  accountId: string;
  fileSize?: number;
  received: number;
  fileUrl?: string;
  createdAt: number;
  finishedAt?: number;
  description?: string;
  postId?: string;
}

const PUBLISH_PERMISSION: MetaProblem = {
  code: 200,
  message:
    '(#200) If posting to a page, requires both pages_read_engagement and pages_manage_posts as an admin with sufficient administrative permission, with a Page access token',
};
const invalid = (message: string, subcode?: number): SimReply => metaError(400, { code: 100, subcode, message });

/** Graph times: 2026-03-01T09:30:12+0000. */
const graphTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');

/** A parameter from the JSON body, the form body or the query string (Graph takes all three). */
function param(req: SimRequest, name: string): string | undefined {
  const value = req.json?.[name];
  if (value !== undefined && value !== null) return typeof value === 'string' ? value : JSON.stringify(value);
  return req.form.get(name) ?? req.query.get(name) ?? undefined;
}
const flag = (value: string | undefined, fallback: boolean) =>
  value === undefined ? fallback : !['false', '0'].includes(value.toLowerCase());

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** attached_media as a JSON array, or as attached_media[0]={"media_fbid":…} form fields; '' marks a bad entry. */
function attachedMedia(req: SimRequest): string[] {
  const items: unknown[] = [];
  const whole = req.json?.attached_media ?? req.form.get('attached_media') ?? req.query.get('attached_media');
  if (whole !== undefined && whole !== null) {
    const parsed = typeof whole === 'string' ? parseJson(whole) : whole;
    items.push(...(Array.isArray(parsed) ? parsed : [parsed]));
  }
  for (const [key, value] of [...req.form, ...req.query]) {
    if (/^attached_media\[\d+\]$/.test(key)) items.push(parseJson(value));
  }
  return items.map((item) =>
    item && typeof item === 'object' && 'media_fbid' in item
      ? String((item as { media_fbid: unknown }).media_fbid)
      : '',
  );
}

const header = (req: SimRequest, name: string) => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** since/until: unix seconds or anything Date.parse reads. */
function timeParam(value: string | null): number | undefined {
  if (value === null) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** rupload.facebook.com answers its own failures outside the Graph envelope. */
const uploadError = (type: string, message: string): SimReply => ({
  status: 400,
  body: { debug_info: { retriable: false, type, message } },
});

export function createFacebookSim(clock: Clock) {
  const sim = new PlatformSim(clock, {
    id: 'facebook',
    clientId: 'sim-facebook-client',
    clientSecret: 'sim-facebook-secret',
    policy: {
      accessTtlS: 5400,
      refreshTtlS: null,
      rotate: false,
      refreshExtends: true,
      minRefreshAgeS: 0,
      codeTtlS: 600,
    },
    tokenPrefix: { access: 'EAAG', refresh: 'EAAG' },
    throttle: throttle({
      code: 80001,
      message:
        'There have been too many calls to this Page account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.',
      bucType: 'pages',
      objectId: (s) => s.firstAccount().extra?.pageId ?? s.firstAccount().id,
    }),
    serverError,
  });
  /** Grant id → its Page token: one per grant, reissued by nothing, expiring never. */
  const pageTokens = new Map<string, string>();
  const pageToken = (grant: Grant) => {
    const existing = pageTokens.get(grant.id);
    if (existing) return existing;
    const value = sim.issue(grant, 'access', null).value;
    pageTokens.set(grant.id, value);
    return value;
  };
  const posts = new Map<string, PagePost>();
  const photos = new Map<string, PagePhoto>();
  const reels = new Map<string, Reel>();

  /** The account's Page as /me/accounts lists it, with the grant's Page token. */
  const pageEntry = (a: SimAccount, grant: Grant) => ({
    id: a.extra?.pageId,
    name: a.extra?.pageName,
    username: a.extra?.pageUsername,
    access_token: pageToken(grant),
    category: 'Bakery',
    tasks: ['ADVERTISE', 'ANALYZE', 'CREATE_CONTENT', 'MESSAGING', 'MODERATE', 'MANAGE'],
  });

  // The content store is keyed by the simulator account (as every platform's is); Graph speaks of
  // the Page. These translate between the two.
  /** The content key of a Page. */
  const keyOf = (pageId: string) => [...sim.accounts.values()].find((a) => a.extra?.pageId === pageId)?.id ?? pageId;
  /** The Page of a content key. */
  const pageOf = (key: string) => sim.accounts.get(key)?.extra?.pageId ?? key;

  /**
   * Page-scoped calls: the token must be alive, the Page must be its account's, and it must be the
   * Page token (writes also need pages_manage_posts). `objectId` names what the refusal mentions.
   */
  function pageAuth(
    req: SimRequest,
    pageId: string,
    method: string,
    opts: { write?: boolean; objectId?: string } = {},
  ): { reply: SimReply } | { account: SimAccount; grant: Grant } {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account || !auth.grant || !auth.token) return { reply: authError(sim, auth) };
    if (!pageId || pageId !== auth.account.extra?.pageId) {
      return { reply: metaError(400, unsupported(method, opts.objectId ?? pageId)) };
    }
    const isPageToken = pageTokens.get(auth.grant.id) === auth.token.value;
    if (opts.write && (!isPageToken || !auth.grant.scopes.includes('pages_manage_posts'))) {
      return { reply: metaError(403, PUBLISH_PERMISSION) };
    }
    if (!isPageToken) {
      return { reply: metaError(400, { code: 190, message: 'This method must be called with a Page Access Token' }) };
    }
    return { account: auth.account, grant: auth.grant };
  }

  /** Optional "posting too fast" block (368/1390008): more than the knob's publishes in a minute. */
  function tooFast(accountId: string): SimReply | undefined {
    const perMinute = sim.knobs.postsPerMinute ?? 0;
    if (perMinute <= 0 || sim.capUsage('publish', accountId, 60_000).used < perMinute) return undefined;
    return metaError(
      400,
      {
        code: 368,
        subcode: 1390008,
        message:
          'It looks like you were misusing this feature by going too fast. You’ve been temporarily blocked from using it.',
      },
      { is_transient: true, error_user_title: 'You Can’t Use This Feature Right Now' },
    );
  }

  function addPost(p: Omit<PagePost, 'id' | 'createdAt' | 'seq'>): PagePost {
    const post: PagePost = { ...p, id: `${p.pageId}_${numericId(16)}`, createdAt: clock.now(), seq: sim.nextSeq() };
    posts.set(post.id, post);
    // Sync reads posts from the content store; the listing still shows a reel only once it is done.
    addContentPost(sim, {
      id: post.id,
      accountId: keyOf(p.pageId),
      createdAt: post.createdAt,
      text: p.message ?? '',
      mediaType: p.kind === 'reel' ? 'VIDEO' : p.kind === 'photo' || p.media.length ? 'PHOTO' : 'STATUS',
      counters: {},
    });
    return post;
  }

  /** A post seeded into the content store, as Graph shows a Page post. */
  function seededFields(p: SimPost): Record<string, unknown> {
    const [, local] = p.id.split('_');
    return {
      id: p.id,
      message: p.text || undefined,
      created_time: graphTime(p.createdAt),
      updated_time: graphTime(p.createdAt),
      permalink_url: `https://www.facebook.com/${pageOf(p.accountId)}/posts/${local ?? p.id}`,
      status_type: p.mediaType === 'VIDEO' ? 'added_video' : 'mobile_status_update',
      is_published: true,
    };
  }

  /** A live post of the Page: published here (a reel once processed) or seeded; its Graph fields. */
  function pagePost(id: string): { pageId: string; fields: () => Record<string, unknown> } | undefined {
    const post = posts.get(id);
    if (post) return visible(post) ? { pageId: post.pageId, fields: () => postFields(post) } : undefined;
    const seeded = sim.content.post(id);
    return seeded ? { pageId: pageOf(seeded.accountId), fields: () => seededFields(seeded) } : undefined;
  }

  /** A comment on one of the Page's posts as GET /{post-id}/comments shows it. */
  function commentFields(m: SimMessage): Record<string, unknown> {
    const page = sim.accounts.get(m.accountId);
    const [, local] = m.id.split('_');
    return {
      id: m.id,
      message: m.text,
      created_time: graphTime(m.createdAt),
      from: m.fromAccount
        ? { id: pageOf(m.accountId), name: page?.extra?.pageName }
        : { id: m.authorId, name: m.authorName },
      parent: m.parentId ? { id: m.parentId } : undefined,
      is_hidden: m.hidden,
      can_hide: !m.fromAccount,
      can_remove: true,
      like_count: 0,
      comment_count: sim.content.messages.filter((x) => x.parentId === m.id && !x.deleted).length,
      permalink_url: `https://www.facebook.com/${m.threadId.replace('_', '/posts/')}?comment_id=${local ?? m.id}`,
    };
  }

  /** Needs the permission on the grant (Graph's #200 otherwise). */
  const missing = (grant: Grant, scope: string): SimReply | undefined =>
    grant.scopes.includes(scope)
      ? undefined
      : metaError(403, { code: 200, message: `(#200) Requires ${scope} permission to manage the object` });

  /** Live posts; a reel shows once its processing is done, never if it failed. */
  const visible = (p: PagePost) => {
    if (p.deletedAt !== undefined) return false;
    const job = p.videoId ? sim.jobs.get(p.videoId) : undefined;
    return !job || sim.jobPhase(job) === 'ready';
  };

  function postFields(p: PagePost): Record<string, unknown> {
    const [, local] = p.id.split('_');
    return {
      id: p.id,
      message: p.message || undefined,
      link: p.link,
      created_time: graphTime(p.createdAt),
      updated_time: graphTime(p.createdAt),
      permalink_url:
        p.kind === 'reel'
          ? `https://www.facebook.com/reel/${p.videoId}`
          : `https://www.facebook.com/${p.pageId}/posts/${local}`,
      status_type:
        p.kind === 'reel'
          ? 'added_video'
          : p.media.length
            ? 'added_photos'
            : p.link
              ? 'shared_story'
              : 'mobile_status_update',
      is_published: true,
      attachments: p.media.length ? { data: p.media.map((id) => ({ target: { id } })) } : undefined,
    };
  }

  /** A reel's status the way GET /{video-id}?fields=status answers it; `poll` counts the look. */
  function reelStatus(reel: Reel, poll: boolean): Record<string, unknown> {
    const uploaded = reel.fileUrl !== undefined || (reel.fileSize !== undefined && reel.received >= reel.fileSize);
    const uploading = { status: uploaded ? 'complete' : 'in_progress', bytes_transferred: reel.received };
    const job = sim.jobs.get(reel.id);
    if (reel.finishedAt === undefined || !job) {
      return {
        video_status: uploaded ? 'upload_complete' : 'uploading',
        uploading_phase: uploading,
        processing_phase: { status: 'not_started' },
        publishing_phase: { status: 'not_started' },
      };
    }
    const phase = sim.jobPhase(job, { poll });
    if (phase === 'failed') {
      return {
        video_status: 'error',
        uploading_phase: uploading,
        processing_phase: { status: 'error', errors: [{ code: 6000, message: job.failure }] },
        publishing_phase: { status: 'not_started' },
      };
    }
    if (phase === 'pending') {
      return {
        video_status: 'processing',
        uploading_phase: uploading,
        processing_phase: { status: 'in_progress' },
        publishing_phase: { status: 'not_started' },
      };
    }
    return {
      video_status: 'ready',
      uploading_phase: uploading,
      processing_phase: { status: 'complete' },
      publishing_phase: {
        status: 'complete',
        publish_status: 'published',
        publish_time: Math.floor((job.createdAt + job.readyAfterMs) / 1000),
      },
    };
  }

  authorizeRoute(sim, graphPath('/dialog/oauth'));

  sim.route('GET', graphPath('/oauth/access_token'), 'token', (req) => {
    const q = req.query;
    if (q.get('grant_type') !== 'fb_exchange_token') {
      const redeemed = redeem(sim, q);
      if (!('grant' in redeemed)) return metaError(400, redeemed);
      return tokenReply(sim.issue(redeemed.grant, 'access', sim.policy.accessTtlS));
    }
    if (!sim.checkClient(q.get('client_id'), q.get('client_secret'))) {
      return metaError(400, { code: 101, message: 'Error validating application. Invalid application ID or secret.' });
    }
    const auth = sim.check(q.get('fb_exchange_token') ?? undefined);
    return auth.ok && auth.grant ? longLived(sim, auth.grant) : authError(sim, auth);
  });

  sim.route('GET', graphPath('/me'), 'profile', (req) => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account || !auth.grant || !auth.token) return authError(sim, auth);
    const a = auth.account;
    const page = { id: a.extra?.pageId, name: a.extra?.pageName, username: a.extra?.pageUsername };
    // A Page token's /me is the Page itself.
    if (pageTokens.get(auth.grant.id) === auth.token.value) return ok(pick(page, req.query.get('fields')));
    const grant = auth.grant;
    const me = {
      id: a.id,
      name: a.name,
      permissions: { data: grant.scopes.map((permission) => ({ permission, status: 'granted' })) },
      accounts: {
        data: [pageEntry(a, grant)],
        paging: { cursors: { before: 'QVFIUmx1', after: 'QVFIUmx1' } },
      },
    };
    return ok(pick(me, req.query.get('fields')));
  });

  // The edge form of the same Page list: GET /me/accounts?fields=id,name,access_token,tasks.
  sim.route('GET', graphPath('/me/accounts'), 'accounts', (req) => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account || !auth.grant || !auth.token) return authError(sim, auth);
    if (pageTokens.get(auth.grant.id) === auth.token.value) {
      return invalid('(#100) Tried accessing nonexisting field (accounts) on node type (Page)');
    }
    const entry = pageEntry(auth.account, auth.grant);
    const fields = req.query.get('fields');
    return ok({
      data: [fields ? pick(entry, fields) : entry],
      paging: { cursors: { before: 'QVFIUmx1', after: 'QVFIUmx1' } },
    });
  });

  sim.route(
    'DELETE',
    graphPath('/(?<user>[^/]+)/permissions'),
    'revoke',
    (req) => {
      const auth = sim.check(req.token);
      if (!auth.ok || !auth.account || !auth.grant) return authError(sim, auth);
      const user = req.params.user ?? '';
      if (user !== 'me' && user !== auth.account.id) return metaError(400, unsupported('delete', user));
      sim.revokeGrant(auth.grant.id, 'deauthorized');
      sim.recordWrite('revoke', { userId: auth.account.id }, auth.account.id);
      return ok({ success: true });
    },
    { write: true },
  );

  // The commit of a text, link or multi-photo post. No idempotency key: a retry after a lost answer
  // meets the duplicate guard (506), and published_posts tells whether the first attempt landed.
  sim.route(
    'POST',
    graphPath('/(?<page>\\d+)/feed'),
    'publish',
    (req) => {
      const pageId = req.params.page ?? '';
      const auth = pageAuth(req, pageId, 'post', { write: true });
      if ('reply' in auth) return auth.reply;
      const message = param(req, 'message') ?? '';
      const link = param(req, 'link') ?? '';
      const media = attachedMedia(req);
      if (message.length > MAX_MESSAGE) {
        return invalid(`(#100) Invalid parameter: message must be at most ${MAX_MESSAGE} characters`);
      }
      if (!message && !link && !media.length) return invalid('(#100) Missing message or attachment');
      // Switchboard schedules in Temporal; native unpublished/scheduled posts are not simulated.
      if (!flag(param(req, 'published'), true)) {
        return invalid('(#100) Unpublished and scheduled Page posts are not simulated');
      }
      if (link && !/^https?:\/\/\S+$/i.test(link)) return invalid('(#100) The parameter link must be a valid URL');
      for (const [i, id] of media.entries()) {
        const photo = photos.get(id);
        if (!photo || photo.pageId !== pageId || photo.published) {
          return invalid(
            `(#100) attached_media[${i}]: ${id || '(missing media_fbid)'} is not an unpublished photo of this Page`,
          );
        }
        if (photo.postId) return invalid('(#100) These photos were already posted.', 1366051);
      }
      const now = clock.now();
      const duplicate = [...posts.values()].some(
        (p) =>
          p.pageId === pageId &&
          p.kind === 'status' &&
          p.deletedAt === undefined &&
          p.createdAt > now - DUPLICATE_WINDOW_MS &&
          (p.message ?? '') === message &&
          (p.link ?? '') === link,
      );
      if (duplicate && (message || link)) {
        return metaError(
          400,
          { code: 506, message: '(#506) Duplicate status message' },
          {
            is_transient: false,
            error_user_title: 'Duplicate Status Update',
            error_user_msg:
              'This status update is identical to the last one you posted. Try posting something different, or delete your previous update.',
          },
        );
      }
      const blocked = tooFast(auth.account.id);
      if (blocked) return blocked;
      const post = addPost({
        pageId,
        kind: 'status',
        message: message || undefined,
        link: link || undefined,
        media,
      });
      for (const id of media) (photos.get(id) as PagePhoto).postId = post.id;
      sim.recordWrite('publish', { postId: post.id, message, link: link || undefined, media }, auth.account.id);
      return ok({ id: post.id });
    },
    { write: true },
  );

  // Unpublished photos are the pieces of a multi-photo post; a published one is a post by itself.
  sim.route(
    'POST',
    graphPath('/(?<page>\\d+)/photos'),
    'photos',
    (req) => {
      const pageId = req.params.page ?? '';
      const auth = pageAuth(req, pageId, 'post', { write: true });
      if ('reply' in auth) return auth.reply;
      const url = param(req, 'url');
      if (!url) return metaError(400, { code: 324, message: '(#324) Requires upload file' });
      const caption = param(req, 'caption') ?? param(req, 'message');
      if (caption && caption.length > MAX_MESSAGE) {
        return invalid(`(#100) Invalid parameter: caption must be at most ${MAX_MESSAGE} characters`);
      }
      const published = flag(param(req, 'published'), true);
      if (published) {
        const blocked = tooFast(auth.account.id);
        if (blocked) return blocked;
      }
      const photo: PagePhoto = { id: numericId(16), pageId, url, caption, published, createdAt: clock.now() };
      photos.set(photo.id, photo);
      if (!published) {
        sim.recordWrite('photo', { photoId: photo.id, url, published: false }, auth.account.id);
        return ok({ id: photo.id });
      }
      const post = addPost({ pageId, kind: 'photo', message: caption, media: [photo.id] });
      photo.postId = post.id;
      sim.recordWrite('publish', { postId: post.id, message: caption ?? '', media: [photo.id] }, auth.account.id);
      return ok({ id: photo.id, post_id: post.id });
    },
    { write: true },
  );

  // Reels: start hands out an upload URL on "rupload" (this simulator), finish is the commit.
  sim.route(
    'POST',
    graphPath('/(?<page>\\d+)/video_reels'),
    'video_reels',
    (req) => {
      const pageId = req.params.page ?? '';
      const auth = pageAuth(req, pageId, 'post', { write: true });
      if ('reply' in auth) return auth.reply;
      const phase = param(req, 'upload_phase');
      if (phase === 'start') {
        const reel: Reel = {
          id: numericId(16),
          pageId,
          accountId: auth.account.id,
          received: 0,
          createdAt: clock.now(),
        };
        reels.set(reel.id, reel);
        const version = /^\/(v\d+\.\d+)\//.exec(req.path)?.[1] ?? 'v25.0';
        const host = header(req, 'host') ?? '127.0.0.1';
        return ok({ video_id: reel.id, upload_url: `http://${host}/${sim.id}/video-upload/${version}/${reel.id}` });
      }
      if (phase !== 'finish') return invalid('(#100) upload_phase must be one of {start, finish}');
      const videoId = param(req, 'video_id') ?? '';
      const reel = reels.get(videoId);
      if (!reel || reel.pageId !== pageId) return invalid(`(#100) Invalid video_id: ${videoId}`);
      if (reel.finishedAt !== undefined) return invalid('(#100) This video has already been published');
      const state = param(req, 'video_state');
      if (state !== 'PUBLISHED') {
        return invalid('(#100) video_state must be PUBLISHED (drafts and scheduled reels are not simulated)');
      }
      const uploaded = reel.fileUrl !== undefined || (reel.fileSize !== undefined && reel.received >= reel.fileSize);
      if (!uploaded) {
        return metaError(
          400,
          { code: 6000, message: 'There was a problem uploading your video file. Please try again with another file.' },
          {
            is_transient: false,
            error_user_title: 'Video upload incomplete',
            error_user_msg: `Received ${reel.received} of ${reel.fileSize ?? 'unknown'} bytes.`,
          },
        );
      }
      const blocked = tooFast(auth.account.id);
      if (blocked) return blocked;
      const description = param(req, 'description') ?? '';
      reel.finishedAt = clock.now();
      reel.description = description;
      const post = addPost({ pageId, kind: 'reel', message: description, media: [reel.id], videoId: reel.id });
      reel.postId = post.id;
      sim.startJob(
        'video',
        { pageId, postId: post.id, bytes: reel.received },
        { id: reel.id, accountId: reel.accountId },
      );
      sim.recordWrite('publish', { postId: post.id, message: description, media: [reel.id] }, auth.account.id);
      return ok({ success: true });
    },
    { write: true },
  );

  // rupload.facebook.com/video-upload/vNN.0/{video-id}: Authorization: OAuth <Page token>, offset,
  // file_size and raw bytes, or file_url for a hosted file.
  sim.route('POST', /^\/video-upload(?:\/v\d+\.\d+)?\/(?<video>\d+)$/, 'video_upload', (req) => {
    const videoId = req.params.video ?? '';
    const reel = reels.get(videoId);
    const auth = pageAuth(req, reel?.pageId ?? '', 'post', { write: true, objectId: videoId });
    if ('reply' in auth) return auth.reply;
    const target = reel as Reel;
    if (target.finishedAt !== undefined) return uploadError('ProcessingFailedError', 'The upload session is finished');
    const fileUrl = header(req, 'file_url');
    if (fileUrl) {
      target.fileUrl = fileUrl;
      target.fileSize = target.received = Number(header(req, 'file_size') ?? 0) || 1;
      return ok({ success: true });
    }
    const size = Number(header(req, 'file_size'));
    const offset = Number(header(req, 'offset') ?? 0);
    if (!Number.isInteger(size) || size <= 0) return uploadError('InvalidParameter', 'file_size header is required');
    if (target.fileSize !== undefined && target.fileSize !== size) {
      return uploadError('InvalidParameter', `file_size changed from ${target.fileSize} to ${size}`);
    }
    // A resumed upload may repeat bytes, never skip any.
    if (!Number.isInteger(offset) || offset < 0 || offset > target.received) {
      return uploadError('OffsetMismatch', `offset ${offset} is past the ${target.received} bytes received`);
    }
    if (offset + req.bytes.length > size) return uploadError('InvalidParameter', 'More bytes than file_size');
    target.fileSize = size;
    target.received = Math.max(target.received, offset + req.bytes.length);
    return ok({ success: true });
  });

  const listPosts = (req: SimRequest): SimReply => {
    const pageId = req.params.page ?? '';
    const auth = pageAuth(req, pageId, 'get');
    if ('reply' in auth) return auth.reply;
    const since = timeParam(req.query.get('since'));
    const until = timeParam(req.query.get('until'));
    const limit = Math.min(100, Math.max(1, Number(req.query.get('limit') ?? 25) || 25));
    // Posts published here and posts seeded into the content store, newest first.
    const own = [...posts.values()]
      .filter((p) => p.pageId === pageId && visible(p))
      .map((p) => ({ id: p.id, createdAt: p.createdAt, seq: p.seq, fields: () => postFields(p) }));
    const seeded = sim.content
      .postsOf(keyOf(pageId))
      .filter((p) => !posts.has(p.id))
      .map((p) => ({ id: p.id, createdAt: p.createdAt, seq: 0, fields: () => seededFields(p) }));
    let list = [...own, ...seeded]
      .filter((p) => (since === undefined || p.createdAt >= since) && (until === undefined || p.createdAt <= until))
      .sort((a, b) => b.createdAt - a.createdAt || b.seq - a.seq);
    const cursor = (p: { id: string }) => Buffer.from(p.id).toString('base64url');
    const after = req.query.get('after');
    const before = req.query.get('before');
    if (after) list = list.slice(list.findIndex((p) => cursor(p) === after) + 1 || list.length);
    else if (before) {
      const end = Math.max(
        0,
        list.findIndex((p) => cursor(p) === before),
      );
      list = list.slice(Math.max(0, end - limit), end);
    }
    const page = list.slice(0, limit);
    const fields = req.query.get('fields') ?? 'message,created_time';
    const first = page[0];
    const last = page.at(-1);
    if (!first || !last) return ok({ data: [] });
    const next = new URLSearchParams(req.query);
    next.delete('before');
    next.set('after', cursor(last));
    return ok({
      data: page.map((p) => pick(p.fields(), fields)),
      paging: {
        cursors: { before: cursor(first), after: cursor(last) },
        ...(list.length > limit ? { next: `http://${header(req, 'host')}/${sim.id}${req.path}?${next}` } : {}),
      },
    });
  };
  sim.route('GET', graphPath('/(?<page>\\d+)/published_posts'), 'published_posts', listPosts);
  sim.route('GET', graphPath('/(?<page>\\d+)/feed'), 'feed', listPosts);

  // One node route for what has a numeric id: posts (<page>_<post>), reels, photos and the Page.
  sim.route('GET', graphPath('/(?<id>\\d+(?:_\\d+)?)'), 'object', (req) => {
    const id = req.params.id ?? '';
    const fields = req.query.get('fields');
    const post = posts.get(id);
    const reel = reels.get(id);
    const photo = photos.get(id);
    const seeded = post ? undefined : sim.content.post(id);
    const comment = sim.content.messages.find((m) => m.id === id && !m.deleted);
    const pageId =
      post && visible(post)
        ? post.pageId
        : (reel?.pageId ?? photo?.pageId ?? pageOf(seeded?.accountId ?? comment?.accountId ?? id));
    const auth = pageAuth(req, pageId, 'get', { objectId: id });
    if ('reply' in auth) return auth.reply;
    if (post) return ok(pick(postFields(post), fields ?? 'message,created_time'));
    if (seeded) return ok(pick(seededFields(seeded), fields ?? 'message,created_time'));
    if (comment) return ok(pick(commentFields(comment), fields ?? 'message,created_time'));
    if (reel) {
      const wantsStatus = (fields ?? '').split(',').some((f) => f.trim() === 'status');
      return ok(
        pick(
          {
            id: reel.id,
            description: reel.description,
            created_time: graphTime(reel.createdAt),
            permalink_url: `https://www.facebook.com/reel/${reel.id}`,
            post_id: reel.postId,
            status: wantsStatus ? reelStatus(reel, true) : undefined,
          },
          fields,
        ),
      );
    }
    if (photo) {
      return ok(
        pick(
          { id: photo.id, name: photo.caption, created_time: graphTime(photo.createdAt), page_story_id: photo.postId },
          fields ?? 'created_time',
        ),
      );
    }
    const a = auth.account;
    const totals = sim.content.totals.get(keyOf(id)) ?? {};
    return ok(
      pick(
        {
          id,
          name: a.extra?.pageName,
          username: a.extra?.pageUsername,
          followers_count: totals.followers_count ?? 0,
          fan_count: totals.fan_count ?? 0,
        },
        fields ?? 'name',
      ),
    );
  });

  sim.route(
    'DELETE',
    graphPath('/(?<id>\\d+_\\d+)'),
    'delete',
    (req) => {
      const id = req.params.id ?? '';
      const comment = sim.content.messages.find((m) => m.id === id && !m.deleted && m.kind === 'comment');
      if (comment) {
        // Deleting a comment on the Page's post: a moderation write, with pages_manage_engagement.
        const auth = pageAuth(req, pageOf(comment.accountId), 'delete', { objectId: id });
        if ('reply' in auth) return auth.reply;
        return missing(auth.grant, 'pages_manage_engagement') ?? moderateMessage(sim, comment, 'delete');
      }
      const post = posts.get(id);
      const live = post && post.deletedAt === undefined ? post : undefined;
      const seeded = live ? undefined : sim.content.post(id);
      const auth = pageAuth(req, live?.pageId ?? pageOf(seeded?.accountId ?? ''), 'delete', {
        write: true,
        objectId: id,
      });
      if ('reply' in auth) return auth.reply;
      if (live) live.deletedAt = clock.now();
      sim.content.posts = sim.content.posts.filter((p) => p.id !== id);
      sim.recordWrite('delete', { postId: id }, auth.account.id);
      return ok({ success: true });
    },
    { write: true },
  );

  // Sync: Page and post insights, comments (threads of replies), hiding, Messenger conversations,
  // over the content store (keyed by the simulator account). Post and comment ids are <page id>_<n>.
  sim.contentId = () => `${sim.accounts.size ? sim.firstAccount().extra?.pageId : numericId(15)}_${numericId(16)}`;

  sim.route('GET', graphPath('/(?<page>\\d+)/insights'), 'insights', (req) => {
    const pageId = req.params.page ?? '';
    const auth = pageAuth(req, pageId, 'get');
    if ('reply' in auth) return auth.reply;
    return accountInsights(sim, req, {
      valid: PAGE_METRICS,
      maxDays: MAX_INSIGHTS_DAYS,
      check: () =>
        (req.query.get('period') ?? 'day') === 'day'
          ? undefined
          : invalid('(#100) period must be day for these metrics'),
      entry: (name, { sinceS, untilS }) =>
        insight(pageId, name, 'day', { values: dailyValues(sim, keyOf(pageId), name, sinceS, untilS) }),
    });
  });

  sim.route('GET', graphPath('/(?<post>\\d+_\\d+)/insights'), 'media_insights', (req) => {
    const id = req.params.post ?? '';
    const post = pagePost(id);
    const auth = pageAuth(req, post?.pageId ?? '', 'get', { objectId: id });
    if ('reply' in auth) return auth.reply;
    const c = sim.content.post(id);
    return postInsights(req, id, POST_METRICS, (name) => {
      switch (name) {
        case 'post_media_view':
          return counter(c, 'views');
        case 'post_total_media_view_unique':
          return counter(c, 'reach');
        case 'post_clicks':
          return counter(c, 'clicks');
        case 'post_video_views':
          return counter(c, 'video_views');
        case 'post_reactions_by_type_total':
          return nonZero({ like: counter(c, 'likes'), love: counter(c, 'loves') });
        default:
          return nonZero({ share: counter(c, 'shares'), like: counter(c, 'likes'), comment: counter(c, 'comments') });
      }
    });
  });

  // Comments of a post (filter=stream: replies too, flattened) or the replies of a comment;
  // order=reverse_chronological gives newest first, chronological is the default.
  sim.route('GET', graphPath('/(?<id>\\d+_\\d+)/comments'), 'comments', (req) => {
    const id = req.params.id ?? '';
    const post = pagePost(id);
    const comment = post ? undefined : sim.content.messages.find((m) => m.id === id && !m.deleted);
    const auth = pageAuth(req, post?.pageId ?? pageOf(comment?.accountId ?? ''), 'get', { objectId: id });
    if ('reply' in auth) return auth.reply;
    const stream = req.query.get('filter') === 'stream';
    const list = post
      ? sim.content.messagesOf(keyOf(post.pageId), 'comment', id).filter((m) => stream || m.parentId === undefined)
      : sim.content.messages.filter((m) => m.parentId === id && !m.deleted).sort((a, b) => b.createdAt - a.createdAt);
    if (req.query.get('order') !== 'reverse_chronological') list.reverse();
    const fields = req.query.get('fields') ?? 'message,created_time,from';
    return graphPage(sim, req, list, (m) => pick(commentFields(m), fields));
  });

  // A reply to a comment (a reply to a reply joins its top-level comment), or a Page comment on a post.
  sim.route(
    'POST',
    graphPath('/(?<id>\\d+_\\d+)/comments'),
    'reply',
    (req) => {
      const id = req.params.id ?? '';
      const post = pagePost(id);
      const target = post ? undefined : sim.content.messages.find((m) => m.id === id && !m.deleted);
      const pageId = post?.pageId ?? pageOf(target?.accountId ?? '');
      const auth = pageAuth(req, pageId, 'post', { objectId: id });
      if ('reply' in auth) return auth.reply;
      const denied = missing(auth.grant, 'pages_manage_engagement');
      if (denied) return denied;
      const message = param(req, 'message');
      if (!message) return metaError(400, required('message'));
      const pageName = auth.account.extra?.pageName ?? '';
      if (post) {
        const comment = sim.content.addMessage(
          sim.content.message({
            id: sim.contentId(),
            accountId: auth.account.id,
            kind: 'comment',
            threadId: id,
            authorId: pageId,
            authorName: pageName,
            text: message,
            createdAt: clock.now(),
            fromAccount: true,
          }),
        );
        sim.recordWrite('reply', { postId: id, replyId: comment.id, text: message }, auth.account.id);
        return ok({ id: comment.id });
      }
      return replyToComment(sim, auth.account.id, target as SimMessage, { id: pageId, name: pageName }, message);
    },
    { write: true },
  );

  sim.route(
    'POST',
    graphPath('/(?<id>\\d+_\\d+)'),
    'moderate',
    (req) => {
      const id = req.params.id ?? '';
      const comment = sim.content.messages.find((m) => m.id === id && !m.deleted && m.kind === 'comment');
      const auth = pageAuth(req, pageOf(comment?.accountId ?? ''), 'post', { objectId: id });
      if ('reply' in auth) return auth.reply;
      return missing(auth.grant, 'pages_manage_engagement') ?? setHidden(sim, req, comment as SimMessage, 'is_hidden');
    },
    { write: true },
  );

  // Messenger: GET /{page-id}/conversations?platform=messenger (user_id: the one with a PSID), GET
  // /{conversation-id}/messages newest first, POST /{page-id}/messages within 24 h.
  sim.route('GET', graphPath('/(?<page>\\d+)/conversations'), 'conversations', (req) => {
    const pageId = req.params.page ?? '';
    const auth = pageAuth(req, pageId, 'get');
    if ('reply' in auth) return auth.reply;
    const platform = req.query.get('platform') ?? 'messenger';
    if (platform !== 'messenger') return invalid('(#100) platform must be one of the following values: messenger');
    const pageName = auth.account.extra?.pageName;
    return conversationsPage(sim, req, auth.account.id, (c) => ({
      link: `/${pageId}/inbox/${c.id}`,
      message_count: c.messages.length,
      participants: {
        data: [
          { name: c.otherName, id: c.otherId },
          { name: pageName, id: pageId },
        ],
      },
    }));
  });

  sim.route('GET', graphPath('/(?<conv>[^/]+)/messages'), 'conversation_messages', (req) => {
    const conv = req.params.conv ?? '';
    const owner = sim.content.messages.find((m) => m.kind === 'dm' && m.threadId === conv);
    const pageId = pageOf(owner?.accountId ?? '');
    const auth = pageAuth(req, pageId, 'get', { objectId: conv });
    if ('reply' in auth) return auth.reply;
    const self = { id: pageId, name: auth.account.extra?.pageName };
    return conversationMessages(sim, req, auth.account.id, conv, self, 'name');
  });

  sim.route(
    'POST',
    graphPath('/(?<page>\\d+)/messages'),
    'messages_send',
    (req) => {
      const pageId = req.params.page ?? '';
      const auth = pageAuth(req, pageId, 'post');
      if ('reply' in auth) return auth.reply;
      const denied = missing(auth.grant, 'pages_messaging');
      if (denied) return denied;
      if (!param(req, 'messaging_type')) return metaError(400, required('messaging_type'));
      const name = auth.account.extra?.pageName ?? '';
      return sendDm(sim, req, auth.account.id, name, () => `m_${randomBytes(30).toString('base64url')}`);
    },
    { write: true },
  );

  // Webhooks (object "page"): comments as feed changes, Messenger messages as messaging events.
  sim.webhookFor = (m) => {
    const pageId = pageOf(m.accountId);
    if (m.kind === 'dm') return dmDelivery(sim, 'page', pageId, m);
    const page = sim.accounts.get(m.accountId);
    const timeS = Math.floor(m.createdAt / 1000);
    return metaDelivery('page', pageId, timeS, {
      changes: [
        {
          field: 'feed',
          value: {
            from: m.fromAccount ? { id: pageId, name: page?.extra?.pageName } : { id: m.authorId, name: m.authorName },
            post: { id: m.threadId, status_type: 'mobile_status_update', is_published: true },
            message: m.text,
            post_id: m.threadId,
            comment_id: m.id,
            created_time: timeS,
            item: 'comment',
            parent_id: m.parentId ?? m.threadId,
            verb: 'add',
          },
        },
      ],
    });
  };

  const seed = () => {
    pageTokens.clear();
    posts.clear();
    photos.clear();
    reels.clear();
    sim.knobs.longLivedTtlS = 5_183_944;
    // 0: no "posting too fast" block.
    sim.knobs.postsPerMinute = 0;
    sim.knobs.videoMs = 0;
    sim.knobs.videoPolls = 0;
    const account = sim.addAccount({
      id: numericId(17),
      name: 'Sim User',
      extra: { pageId: numericId(15), pageName: 'Simulated Bakery', pageUsername: 'simulatedbakery' },
    });
    sim.content.totals.set(account.id, { followers_count: 5120, fan_count: 4800 });
  };
  return { sim, seed };
}
