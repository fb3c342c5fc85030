import type { SimMessage } from '../content.ts';
import { type Clock, numericId, PlatformSim, type SimAccount, type SimReply, type SimRequest } from '../core.ts';
import {
  accountInsights,
  addContentPost,
  authError,
  authorizeRoute,
  CONTAINER_STATUS,
  type ContainerData,
  caller,
  containerPublishing,
  counter,
  dailySum,
  dailyValues,
  followerDemographics,
  graphPage,
  graphPath,
  graphTime,
  idList,
  insight,
  longLivedRoutes,
  type MetaProblem,
  messageOf,
  metaError,
  ok,
  pick,
  postInsights,
  publishProblems,
  redeem,
  required,
  serverError,
  setHidden,
  throttle,
  unixParam,
  unsupported,
} from './meta.ts';

// Threads: threads.net (consent) and graph.threads.net (code → 1-hour token, 60-day exchange,
// re-issue after 24 h, /v1.0/me, publishing and deleting posts).

/** Threads answers a publish of an unknown or unfinished container with "Media Not Found". */
const mediaNotFound = (id: string): MetaProblem => ({
  code: 24,
  subcode: 4279009,
  message: 'The requested resource does not exist',
  userTitle: 'Media Not Found',
  userMessage: `The media with id ${id} cannot be found.`,
});

const MEDIA_TYPES = ['TEXT', 'IMAGE', 'VIDEO', 'CAROUSEL'];

/** threads_insights metrics: views is a daily series, the others total values. */
const USER_METRICS = ['views', 'likes', 'replies', 'reposts', 'quotes', 'clicks', 'followers_count'];
const MEDIA_METRICS = ['views', 'likes', 'replies', 'reposts', 'quotes', 'shares'];
/** Nothing before 2024-04-13 (1712991600) is available. */
const INSIGHTS_EPOCH_S = 1_712_991_600;
/** Threads documents no maximum window: lifetime totals are asked for since the epoch. */
const MAX_INSIGHTS_DAYS = 36_500;

const shortcodeOf = (id: string) => Buffer.from(id).toString('base64url').slice(0, 11);

/** POST /{user-id}/threads parameters → container data, or why Threads refuses them. */
function parseContainer(
  param: (name: string) => string | undefined,
): { data: ContainerData } | { problem: MetaProblem } {
  const mediaType = param('media_type')?.toUpperCase();
  const text = param('text');
  const imageUrl = param('image_url');
  const videoUrl = param('video_url');
  const isCarouselItem = param('is_carousel_item') === 'true';
  const replyToId = param('reply_to_id');
  if (!mediaType || !MEDIA_TYPES.includes(mediaType)) {
    return { problem: { code: 100, message: `(#100) Param media_type must be one of {${MEDIA_TYPES.join(', ')}}` } };
  }
  if (text !== undefined && [...text].length > 500) {
    return { problem: { code: 100, message: '(#100) Param text must be at most 500 characters long.' } };
  }
  if (isCarouselItem && mediaType !== 'IMAGE' && mediaType !== 'VIDEO') {
    return { problem: { code: 100, message: '(#100) Only IMAGE and VIDEO can be carousel items.' } };
  }
  if (mediaType === 'TEXT' && !text) return { problem: required('text') };
  if (mediaType === 'IMAGE' && !imageUrl) return { problem: required('image_url') };
  if (mediaType === 'VIDEO' && !videoUrl) return { problem: required('video_url') };
  const children = mediaType === 'CAROUSEL' ? idList(param('children')) : undefined;
  return {
    data: { mediaType, text, imageUrl, videoUrl, isCarouselItem: isCarouselItem || undefined, children, replyToId },
  };
}
export function createThreadsSim(clock: Clock) {
  const sim = new PlatformSim(clock, {
    id: 'threads',
    clientId: 'sim-threads-client',
    clientSecret: 'sim-threads-secret',
    policy: {
      accessTtlS: 3600,
      refreshTtlS: null,
      rotate: false,
      refreshExtends: true,
      minRefreshAgeS: 86_400,
      codeTtlS: 600,
    },
    tokenPrefix: { access: 'THAA', refresh: 'THAA' },
    throttle: throttle({
      code: 4,
      message: '(#4) Application request limit reached',
      bucType: 'threads',
      objectId: (s) => s.firstAccount().id,
    }),
    serverError,
  });

  authorizeRoute(sim, '/oauth/authorize', '#_');

  sim.route('POST', '/oauth/access_token', 'token', (req) => {
    const redeemed = redeem(sim, req.form);
    if (!('grant' in redeemed)) return metaError(400, redeemed);
    const access = sim.issue(redeemed.grant, 'access', sim.policy.accessTtlS);
    return ok({ access_token: access.value, user_id: redeemed.grant.accountId });
  });

  longLivedRoutes(sim, { exchange: 'th_exchange_token', refresh: 'th_refresh_token' });

  sim.route('GET', graphPath('/me'), 'profile', (req) => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account) return authError(sim, auth);
    const a = auth.account;
    const me = {
      id: a.id,
      username: a.handle,
      name: a.name,
      threads_profile_picture_url: `https://scontent.cdninstagram.com/v/t51.2885-19/${a.id}_threads.jpg`,
      threads_biography: 'Simulated account for Switchboard tests',
    };
    return ok(pick(me, req.query.get('fields')));
  });

  const publishing = containerPublishing(sim, {
    edges: { container: 'threads', publish: 'threads_publish', limit: 'threads_publishing_limit' },
    textParam: 'text',
    maxChildren: 20,
    problems: { ...publishProblems, notFound: mediaNotFound, notReady: mediaNotFound },
    parse: parseContainer,
    containerView: (job, phase) => ({
      id: job.id,
      status: CONTAINER_STATUS[phase],
      error_message: phase === 'failed' ? job.failure : undefined,
    }),
    mediaView: (m, a) => {
      const d = m.data;
      return {
        id: m.id,
        media_product_type: 'THREADS',
        media_type: d.mediaType === 'TEXT' ? 'TEXT_POST' : d.mediaType === 'CAROUSEL' ? 'CAROUSEL_ALBUM' : d.mediaType,
        media_url: d.videoUrl ?? d.imageUrl,
        permalink: `https://www.threads.net/@${a.handle}/post/${m.shortcode}`,
        owner: { id: a.id },
        username: a.handle,
        text: d.text,
        timestamp: graphTime(m.publishedAt),
        shortcode: m.shortcode,
        is_quote_post: false,
        is_reply: d.replyToId !== undefined,
        replied_to: d.replyToId === undefined ? undefined : { id: d.replyToId },
      };
    },
    limitView: (usage) => ({
      quota_usage: usage.posts,
      config: { quota_total: sim.knobs.publishCap, quota_duration: 86_400 },
      reply_quota_usage: usage.replies,
      reply_config: { quota_total: sim.knobs.replyCap, quota_duration: 86_400 },
    }),
    // Replies are not threads: /me/threads lists posts; a reply lives under its root post.
    listed: (m) => m.data.replyToId === undefined,
    onPublished: (m) => {
      const account = sim.accounts.get(m.accountId);
      if (m.data.replyToId === undefined) {
        addContentPost(sim, {
          id: m.id,
          accountId: m.accountId,
          createdAt: m.publishedAt,
          text: m.data.text ?? '',
          mediaType: m.data.mediaType,
          counters: {},
        });
        return;
      }
      const parent = sim.content.messages.find((x) => x.id === m.data.replyToId);
      sim.content.addMessage(
        sim.content.message({
          id: m.id,
          accountId: m.accountId,
          kind: 'comment',
          threadId: parent?.threadId ?? m.data.replyToId,
          parentId: m.data.replyToId,
          authorId: account?.handle ?? m.accountId,
          authorName: account?.name ?? '',
          text: m.data.text ?? '',
          createdAt: m.publishedAt,
          fromAccount: true,
        }),
      );
    },
    otherObject: (id, account, fields) => {
      const reply = messageOf(sim, account.id, id);
      return reply ? ok(pick(replyView(reply, account), fields)) : undefined;
    },
  });

  /** A reply or a mention the way Threads shows a post of someone else (or the account's own reply). */
  function replyView(m: SimMessage, a: SimAccount): Record<string, unknown> {
    const username = m.fromAccount ? a.handle : m.authorId;
    const code = shortcodeOf(m.id);
    const children = sim.content.messages.some((x) => x.parentId === m.id && !x.deleted);
    return {
      id: m.id,
      text: m.text,
      username,
      timestamp: graphTime(m.createdAt),
      media_product_type: 'THREADS',
      media_type: 'TEXT_POST',
      permalink: `https://www.threads.net/@${username}/post/${code}`,
      shortcode: code,
      is_quote_post: false,
      ...(m.kind === 'mention'
        ? {}
        : {
            hide_status: m.hidden ? 'HIDDEN' : 'NOT_HUSHED',
            has_replies: children,
            is_reply: true,
            is_reply_owned_by_me: m.fromAccount,
            replied_to: { id: m.parentId ?? m.threadId },
            root_post: { id: m.threadId },
          }),
    };
  }

  /** Replies under a post or a reply of the account: direct ones, or the whole flattened conversation. */
  function repliesUnder(req: SimRequest, edge: 'replies' | 'conversation'): SimReply {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account) return authError(sim, auth);
    const a = auth.account;
    const id = req.params.media ?? '';
    const post = publishing.mediaOf(id, a.id);
    const reply = post ? undefined : messageOf(sim, a.id, id);
    if (!post && !reply) return metaError(400, unsupported('get', id));
    const all = sim.content
      .messagesOf(a.id, 'comment')
      .filter((m) =>
        post ? m.threadId === id && (edge === 'conversation' || (m.parentId ?? id) === id) : m.parentId === id,
      );
    // reverse (default true): newest first.
    if (req.query.get('reverse') === 'false') all.reverse();
    const fields = req.query.get('fields') ?? 'id,text,timestamp';
    return graphPage(sim, req, all, (m) => pick(replyView(m, a), fields));
  }

  sim.route(
    'DELETE',
    graphPath('/(?<id>\\d+)'),
    'delete',
    (req) => {
      const auth = sim.check(req.token);
      if (!auth.ok || !auth.account) return authError(sim, auth);
      const id = req.params.id ?? '';
      const media = publishing.mediaOf(id, auth.account.id);
      if (!media) return metaError(400, unsupported('delete', id));
      const total = sim.knobs.deleteCap;
      if (total !== undefined && sim.capUsage('delete', auth.account.id, 86_400_000).used >= total) {
        return metaError(
          400,
          {
            code: 9,
            message: 'Application request limit reached',
            userTitle: 'Cannot delete',
            userMessage: `You have reached the maximum number of deletions allowed for this profile (${total} within 24 hours).`,
          },
          { is_transient: false },
        );
      }
      media.deletedAt = sim.clock.now();
      sim.content.posts = sim.content.posts.filter((p) => p.id !== id);
      const reply = messageOf(sim, auth.account.id, id);
      if (reply) reply.deleted = true;
      sim.recordWrite('delete', { mediaId: id }, auth.account.id);
      return ok({ success: true, deleted_id: id });
    },
    { write: true },
  );

  // Sync: insights, replies (the comments of a post), hiding them, mentions, over the content store
  // keyed by the Threads user id. Replies and mentions are named by username: Threads shows no ids
  // of other users.
  sim.contentId = () => `18${numericId(15)}`;

  sim.route('GET', graphPath('/(?<user>[^/]+)/threads_insights'), 'insights', (req) => {
    const who = caller(sim, req, 'get');
    if ('reply' in who) return who.reply;
    const id = who.account.id;
    const followers = sim.content.totals.get(id)?.followers_count ?? 0;
    const demographics = followerDemographics(sim, req, { accountId: id, followers, lifetime: false });
    if (demographics) return demographics;
    return accountInsights(sim, req, {
      valid: USER_METRICS,
      maxDays: MAX_INSIGHTS_DAYS,
      check() {
        const since = unixParam(req.query.get('since'));
        if (since === undefined || since >= INSIGHTS_EPOCH_S) return undefined;
        return metaError(400, { code: 100, message: `(#100) since must be on or after ${INSIGHTS_EPOCH_S}` });
      },
      entry(name, { sinceS, untilS }) {
        if (name === 'views') return insight(id, name, 'day', { values: dailyValues(sim, id, name, sinceS, untilS) });
        const total = name === 'followers_count' ? followers : dailySum(sim, id, name, sinceS, untilS);
        return insight(id, name, 'lifetime', { total_value: { value: total } });
      },
    });
  });

  sim.route('GET', graphPath('/(?<media>\\d+)/insights'), 'media_insights', (req) => {
    const found = publishing.callerMedia(req, req.params.media ?? '');
    if ('status' in found) return found;
    const post = sim.content.post(found.media.id);
    return postInsights(req, found.media.id, MEDIA_METRICS, (name) => counter(post, name));
  });

  sim.route('GET', graphPath('/(?<media>\\d+)/conversation'), 'comments', (req) => repliesUnder(req, 'conversation'));
  sim.route('GET', graphPath('/(?<media>\\d+)/replies'), 'replies', (req) => repliesUnder(req, 'replies'));

  sim.route(
    'POST',
    graphPath('/(?<reply>\\d+)/manage_reply'),
    'moderate',
    (req) => {
      const auth = sim.check(req.token);
      if (!auth.ok || !auth.account) return authError(sim, auth);
      const id = req.params.reply ?? '';
      const reply = messageOf(sim, auth.account.id, id);
      if (reply?.kind !== 'comment') return metaError(400, unsupported('post', id));
      return setHidden(sim, req, reply, 'hide');
    },
    { write: true },
  );

  sim.route('GET', graphPath('/(?<user>[^/]+)/mentions'), 'mentions', (req) => {
    const who = caller(sim, req, 'get');
    if ('reply' in who) return who.reply;
    const fields = req.query.get('fields') ?? 'id,text,timestamp';
    return graphPage(sim, req, sim.content.messagesOf(who.account.id, 'mention'), (m) =>
      pick(replyView(m, who.account), fields),
    );
  });

  // Webhooks in Threads' own shape: one object per event, values.field replies or mentions.
  sim.webhookFor = (m) => {
    const account = sim.accounts.get(m.accountId);
    const username = m.fromAccount ? account?.handle : m.authorId;
    return {
      app_id: sim.opts.clientId,
      topic: 'moderate',
      target_id: m.accountId,
      time: Math.floor(m.createdAt / 1000),
      subscription_id: `sub-${m.accountId}`,
      has_uid_field: false,
      values: {
        field: m.kind === 'mention' ? 'mentions' : 'replies',
        value: {
          id: m.id,
          username,
          text: m.text,
          media_type: 'TEXT_POST',
          permalink: `https://www.threads.net/@${username}/post/${shortcodeOf(m.id)}`,
          replied_to: m.kind === 'mention' ? undefined : { id: m.parentId ?? m.threadId },
          root_post:
            m.kind === 'mention' ? undefined : { id: m.threadId, owner_id: m.accountId, username: account?.handle },
          shortcode: shortcodeOf(m.id),
          timestamp: graphTime(m.createdAt),
        },
      },
    };
  };

  const seed = () => {
    publishing.reset();
    sim.knobs.longLivedTtlS = 5_184_000;
    // A container is ready at its second status poll: the first GET shows IN_PROGRESS, and publishing
    // before any poll is refused. containerMs adds simulated processing time on top.
    sim.knobs.containerMs = 0;
    sim.knobs.containerPolls = 2;
    sim.knobs.publishCap = 250;
    sim.knobs.replyCap = 1000;
    sim.knobs.deleteCap = 100;
    const account = sim.addAccount({ id: numericId(17), name: 'Simulated Studio', handle: 'simulated.studio' });
    sim.content.totals.set(account.id, { followers_count: 2048 });
  };
  return { sim, seed };
}
