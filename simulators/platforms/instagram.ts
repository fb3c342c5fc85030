import { randomBytes } from 'node:crypto';
import type { SimMessage } from '../content.ts';
import {
  type Clock,
  type JobPhase,
  numericId,
  PlatformSim,
  type SimAccount,
  type SimJob,
  type SimReply,
} from '../core.ts';
import {
  accountInsights,
  authError,
  authorizeRoute,
  CONTAINER_STATUS,
  type ContainerData,
  caller,
  containerPublishing,
  conversationMessages,
  conversationsPage,
  counter,
  dailySum,
  dailyValues,
  dmDelivery,
  followerDemographics,
  graphPage,
  graphPath,
  graphTime,
  idList,
  insight,
  longLivedRoutes,
  type MetaProblem,
  messageOf,
  metaDelivery,
  metaError,
  moderateMessage,
  ok,
  type PublishedMedia,
  param,
  pick,
  postInsights,
  publishProblems,
  redeem,
  replyToComment,
  required,
  sendDm,
  serverError,
  setHidden,
  throttle,
  unsupported,
} from './meta.ts';

// Instagram API with Instagram Login: www.instagram.com (consent), api.instagram.com (code → 1-hour
// token), graph.instagram.com (60-day exchange, re-issue after 24 h, /me, content publishing).

/** The human half of a container's status; the failure reason is a subcode or Meta's own words. */
const STATUS_TEXT: Record<JobPhase, (job: SimJob) => string> = {
  pending: () => 'In Progress: Media is still being processed.',
  ready: () => 'Finished: Media has been uploaded and it is ready to be published.',
  failed: (job) =>
    /^\d+$/.test(job.failure ?? '')
      ? `Error: Media upload has failed with error code ${job.failure}`
      : `Error: ${job.failure}`,
  expired: () => 'Expired: Media was not published within 24 hours.',
  consumed: () => 'Published: Media has been published.',
};

const unsupportedType = (type: string): MetaProblem => ({
  code: 100,
  subcode: 2207023,
  message: 'The media type entered is not supported',
  userTitle: 'Unknown media type',
  userMessage: `The media type ${type} is not supported here. Single videos are published as REELS.`,
});

/** Account metrics of GET /{ig-user-id}/insights; only some come as a daily time series. */
const USER_METRICS = [
  'reach',
  'follower_count',
  'online_followers',
  'views',
  'likes',
  'comments',
  'shares',
  'saves',
  'replies',
  'total_interactions',
  'accounts_engaged',
  'profile_links_taps',
  'follows_and_unfollows',
  'website_clicks',
  'profile_views',
];
const TIME_SERIES = ['reach', 'follower_count', 'online_followers'];
/** Metrics of GET /{ig-media-id}/insights, read from the post's counters. */
const MEDIA_METRICS = ['views', 'reach', 'likes', 'comments', 'shares', 'saved', 'total_interactions', 'follows'];
/** Instagram's 30-day limit on one insights window. */
const MAX_INSIGHTS_DAYS = 30;

/** POST /{ig-user-id}/media parameters → container data, or why Instagram refuses them. */
function parseContainer(
  param: (name: string) => string | undefined,
): { data: ContainerData } | { problem: MetaProblem } {
  const mediaType = (param('media_type') ?? 'IMAGE').toUpperCase();
  const text = param('caption');
  const imageUrl = param('image_url');
  const videoUrl = param('video_url');
  const isCarouselItem = param('is_carousel_item') === 'true';
  if (text !== undefined && [...text].length > 2200) {
    return {
      problem: {
        code: 100,
        message: 'The caption is too long',
        userTitle: 'Caption too long',
        userMessage: 'A caption can be at most 2,200 characters long.',
      },
    };
  }
  switch (mediaType) {
    case 'IMAGE':
      if (!imageUrl) return { problem: required('image_url') };
      break;
    case 'VIDEO':
      // Feed videos became Reels; VIDEO survives only inside carousels.
      if (!isCarouselItem) return { problem: unsupportedType(mediaType) };
      if (!videoUrl) return { problem: required('video_url') };
      break;
    case 'REELS':
      if (!videoUrl) return { problem: required('video_url') };
      break;
    case 'STORIES':
      if (!imageUrl && !videoUrl) return { problem: required('image_url or video_url') };
      break;
    case 'CAROUSEL':
      return { data: { mediaType, text, children: idList(param('children')) } };
    default:
      return { problem: unsupportedType(mediaType) };
  }
  return { data: { mediaType, text, imageUrl, videoUrl, isCarouselItem: isCarouselItem || undefined } };
}

/** GET /{media-id} before field selection; counters come from the content store. */
function mediaView(m: PublishedMedia, a: SimAccount, counters: Record<string, number> = {}): Record<string, unknown> {
  const d = m.data;
  const product = d.mediaType === 'REELS' ? 'REELS' : d.mediaType === 'STORIES' ? 'STORY' : 'FEED';
  const permalink =
    product === 'STORY'
      ? `https://www.instagram.com/stories/${a.handle}/${m.id}/`
      : `https://www.instagram.com/${product === 'REELS' ? 'reel' : 'p'}/${m.shortcode}/`;
  return {
    id: m.id,
    caption: d.text,
    media_type: d.mediaType === 'CAROUSEL' ? 'CAROUSEL_ALBUM' : d.videoUrl ? 'VIDEO' : 'IMAGE',
    media_product_type: product,
    media_url: d.videoUrl ?? d.imageUrl,
    permalink,
    shortcode: m.shortcode,
    timestamp: graphTime(m.publishedAt),
    username: a.handle,
    owner: { id: a.id },
    like_count: counters.likes ?? 0,
    comments_count: counters.comments ?? 0,
  };
}

/** A comment (or a reply to one) as GET /{ig-media-id}/comments shows it. */
function commentView(m: SimMessage, a: SimAccount): Record<string, unknown> {
  const username = m.fromAccount ? a.handle : m.authorName;
  return {
    id: m.id,
    text: m.text,
    timestamp: graphTime(m.createdAt),
    from: { id: m.authorId, username },
    username,
    hidden: m.hidden,
    like_count: 0,
    parent_id: m.parentId,
    media: { id: m.threadId },
  };
}

export function createInstagramSim(clock: Clock) {
  const sim = new PlatformSim(clock, {
    id: 'instagram',
    clientId: 'sim-instagram-client',
    clientSecret: 'sim-instagram-secret',
    policy: {
      accessTtlS: 3600,
      refreshTtlS: null,
      rotate: false,
      refreshExtends: true,
      minRefreshAgeS: 86_400,
      codeTtlS: 3600,
    },
    tokenPrefix: { access: 'IGAA', refresh: 'IGAA' },
    throttle: throttle({
      code: 80002,
      message:
        'There have been too many calls to this Instagram account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.',
      bucType: 'instagram',
      objectId: (s) => s.firstAccount().id,
    }),
    serverError,
  });

  authorizeRoute(sim, '/oauth/authorize', '#_');

  sim.route('POST', '/oauth/access_token', 'token', (req) => {
    const redeemed = redeem(sim, req.form);
    // api.instagram.com still answers errors in the flat shape of the old Basic Display API.
    if (!('grant' in redeemed)) {
      return { status: 400, body: { error_type: 'OAuthException', code: 400, error_message: redeemed.message } };
    }
    const { grant } = redeemed;
    const token = {
      access_token: sim.issue(grant, 'access', sim.policy.accessTtlS).value,
      user_id: grant.accountId,
      permissions: grant.scopes.join(','),
    };
    // Newer responses wrap the token in data:[…]; the knob brings back the flat form.
    return ok(sim.knobs.flatTokenResponse ? token : { data: [token] });
  });

  longLivedRoutes(sim, { exchange: 'ig_exchange_token', refresh: 'ig_refresh_token' });

  sim.route('GET', graphPath('/me'), 'profile', (req) => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account) return authError(sim, auth);
    const a = auth.account;
    const me = {
      id: a.extra?.appScopedId,
      user_id: a.id,
      username: a.handle,
      name: a.name,
      account_type: 'BUSINESS',
      profile_picture_url: `https://scontent.cdninstagram.com/v/t51.2885-19/${a.id}_n.jpg`,
      ...sim.content.totals.get(a.id),
    };
    return ok(pick(me, req.query.get('fields')));
  });

  const publishing = containerPublishing(sim, {
    edges: { container: 'media', publish: 'media_publish', limit: 'content_publishing_limit' },
    textParam: 'caption',
    maxChildren: 10,
    problems: publishProblems,
    parse: parseContainer,
    containerView: (job, phase) => ({
      id: job.id,
      status_code: CONTAINER_STATUS[phase],
      status: STATUS_TEXT[phase](job),
    }),
    mediaView: (m, a) => mediaView(m, a, sim.content.post(m.id)?.counters),
    limitView: (usage) => ({
      quota_usage: usage.posts,
      config: { quota_total: sim.knobs.publishCap, quota_duration: 86_400 },
    }),
    // Stories are not in /media: they live on /stories, and only for 24 hours.
    listed: (m) => m.data.mediaType !== 'STORIES',
    otherObject: (id, account, fields) => {
      const comment = messageOf(sim, account.id, id);
      return comment?.kind === 'comment' ? ok(pick(commentView(comment, account), fields)) : undefined;
    },
  });

  // GET /{ig-user-id}/stories: the live stories, newest first, with no time-range parameters.
  sim.route('GET', graphPath('/(?<user>[^/]+)/stories'), 'stories_list', (req) => {
    const who = caller(sim, req, 'get');
    if ('reply' in who) return who.reply;
    const since = sim.clock.now() - 86_400_000;
    const live = [...publishing.published.values()]
      .filter((m) => m.accountId === who.account.id && m.deletedAt === undefined)
      .filter((m) => m.data.mediaType === 'STORIES' && m.publishedAt > since)
      .reverse();
    return ok({ data: live.map((m) => pick(mediaView(m, who.account), req.query.get('fields'))) });
  });

  // Sync: account and media insights, comments with their replies, moderation and DMs, all over
  // the content store (keyed by the IG user id). Media and comment ids are 179…: never an IG user id.
  sim.contentId = () => `179${numericId(15)}`;

  sim.route('GET', graphPath('/(?<user>me|1784\\d+)/insights'), 'insights', (req) => {
    const who = caller(sim, req, 'get');
    if ('reply' in who) return who.reply;
    const id = who.account.id;
    const followers = sim.content.totals.get(id)?.followers_count ?? 0;
    const demographics = followerDemographics(sim, req, { accountId: id, followers, lifetime: true });
    if (demographics) return demographics;
    const totalValue = req.query.get('metric_type') === 'total_value';
    return accountInsights(sim, req, {
      valid: USER_METRICS,
      maxDays: MAX_INSIGHTS_DAYS,
      check(metrics) {
        if (req.query.get('period') !== 'day') {
          return metaError(400, {
            code: 100,
            message: '(#100) period must be one of the following values: day, lifetime',
          });
        }
        const series = metrics.filter((m) => !TIME_SERIES.includes(m));
        if (totalValue || !series.length) return undefined;
        return metaError(400, {
          code: 100,
          message: `(#100) The following metrics (${series.join(', ')}) should be specified with parameter metric_type=total_value`,
        });
      },
      entry: (name, { sinceS, untilS }) =>
        insight(
          id,
          name,
          'day',
          totalValue
            ? { total_value: { value: dailySum(sim, id, name, sinceS, untilS) } }
            : { values: dailyValues(sim, id, name, sinceS, untilS) },
        ),
    });
  });

  sim.route('GET', graphPath('/(?<media>(?!1784)\\d+)/insights'), 'media_insights', (req) => {
    const found = publishing.callerMedia(req, req.params.media ?? '');
    if ('status' in found) return found;
    const post = sim.content.post(found.media.id);
    return postInsights(req, found.media.id, MEDIA_METRICS, (name) => {
      if (name === 'saved') return counter(post, 'saves') + counter(post, 'saved');
      if (name === 'total_interactions' && post?.counters.total_interactions === undefined) {
        return ['likes', 'comments', 'shares', 'saves'].reduce((sum, c) => sum + counter(post, c), 0);
      }
      return counter(post, name);
    });
  });

  /** The account's comment, or Graph's refusal naming the id. */
  const ownComment = (
    req: { token?: string },
    id: string,
    method: string,
  ): { reply: SimReply } | { account: SimAccount; comment: SimMessage } => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account) return { reply: authError(sim, auth) };
    const comment = messageOf(sim, auth.account.id, id);
    if (comment?.kind !== 'comment') return { reply: metaError(400, unsupported(method, id)) };
    return { account: auth.account, comment };
  };
  const repliesOf = (comment: SimMessage) =>
    sim.content.messagesOf(comment.accountId, 'comment', comment.threadId).filter((m) => m.parentId === comment.id);

  // Top-level comments newest first; `replies{…}` in fields expands each one's replies.
  sim.route('GET', graphPath('/(?<media>\\d+)/comments'), 'comments', (req) => {
    const found = publishing.callerMedia(req, req.params.media ?? '');
    if ('status' in found) return found;
    const { account, media } = found;
    const fields = req.query.get('fields') ?? 'text,timestamp';
    const withReplies = /(^|,)\s*replies\b/.test(fields);
    const top = sim.content.messagesOf(account.id, 'comment', media.id).filter((m) => !m.parentId);
    return graphPage(sim, req, top, (m) => ({
      ...pick(commentView(m, account), fields),
      ...(withReplies ? { replies: { data: repliesOf(m).map((r) => commentView(r, account)) } } : {}),
    }));
  });

  sim.route('GET', graphPath('/(?<comment>\\d+)/replies'), 'comment_replies', (req) => {
    const found = ownComment(req, req.params.comment ?? '', 'get');
    if ('reply' in found) return found.reply;
    const fields = req.query.get('fields') ?? 'text,timestamp';
    return graphPage(sim, req, repliesOf(found.comment), (m) => pick(commentView(m, found.account), fields));
  });

  // A reply to a reply lands under its top-level comment: Instagram threads one level deep.
  sim.route(
    'POST',
    graphPath('/(?<comment>\\d+)/replies'),
    'reply',
    (req) => {
      const found = ownComment(req, req.params.comment ?? '', 'post');
      if ('reply' in found) return found.reply;
      const message = param(req, 'message');
      if (!message) return metaError(400, required('message'));
      const { comment, account } = found;
      return replyToComment(
        sim,
        account.id,
        comment,
        { id: account.id, name: account.handle ?? account.name },
        message,
      );
    },
    { write: true },
  );

  sim.route(
    'POST',
    graphPath('/(?<id>\\d+)'),
    'moderate',
    (req) => {
      const found = ownComment(req, req.params.id ?? '', 'post');
      if ('reply' in found) return found.reply;
      return setHidden(sim, req, found.comment, 'hide');
    },
    { write: true },
  );

  sim.route(
    'DELETE',
    graphPath('/(?<id>\\d+)'),
    'moderate',
    (req) => {
      const found = ownComment(req, req.params.id ?? '', 'delete');
      if ('reply' in found) return found.reply;
      return moderateMessage(sim, found.comment, 'delete');
    },
    { write: true },
  );

  // DMs: GET /me/conversations?platform=instagram (user_id: the conversation with one IGSID), then
  // GET /{conversation-id}/messages newest first; POST /me/messages sends within 24 h.
  sim.route('GET', graphPath('/(?<user>me|\\d+)/conversations'), 'conversations', (req) => {
    const who = caller(sim, req, 'get');
    if ('reply' in who) return who.reply;
    if (req.query.get('platform') !== 'instagram') {
      return metaError(400, { code: 100, message: '(#100) platform must be one of the following values: instagram' });
    }
    const a = who.account;
    return conversationsPage(sim, req, a.id, (c) => ({
      participants: {
        data: [
          { username: a.handle, id: a.id },
          { username: c.otherName, id: c.otherId },
        ],
      },
    }));
  });

  sim.route('GET', graphPath('/(?<conv>[^/]+)/messages'), 'conversation_messages', (req) => {
    const auth = sim.check(req.token);
    if (!auth.ok || !auth.account) return authError(sim, auth);
    const a = auth.account;
    return conversationMessages(sim, req, a.id, req.params.conv ?? '', { id: a.id, name: a.handle }, 'username');
  });

  sim.route(
    'POST',
    graphPath('/(?<user>me|\\d+)/messages'),
    'messages_send',
    (req) => {
      const who = caller(sim, req, 'post');
      if ('reply' in who) return who.reply;
      const a = who.account;
      return sendDm(sim, req, a.id, a.handle ?? a.name, () => `aWdf${randomBytes(30).toString('base64url')}`);
    },
    { write: true },
  );

  // Webhooks (object "instagram"): comments as changes, DMs as messaging events.
  sim.webhookFor = (m) => {
    if (m.kind === 'dm') return dmDelivery(sim, 'instagram', m.accountId, m);
    const timeS = Math.floor(m.createdAt / 1000);
    if (m.kind === 'mention') {
      return metaDelivery('instagram', m.accountId, timeS, {
        changes: [{ field: 'mentions', value: { media_id: m.threadId, comment_id: m.id } }],
      });
    }
    return metaDelivery('instagram', m.accountId, timeS, {
      changes: [
        {
          field: 'comments',
          value: {
            id: m.id,
            text: m.text,
            from: { id: m.authorId, username: m.authorName },
            media: { id: m.threadId, media_product_type: 'FEED' },
            parent_id: m.parentId,
          },
        },
      ],
    });
  };

  const seed = () => {
    publishing.reset();
    sim.knobs.longLivedTtlS = 5_184_000;
    sim.knobs.flatTokenResponse = 0;
    // A container is ready at its second status poll: the first GET shows IN_PROGRESS, and publishing
    // before any poll is refused. containerMs adds simulated processing time on top.
    sim.knobs.containerMs = 0;
    sim.knobs.containerPolls = 2;
    // Docs have said 25, 50 and 100 posts per rolling 24 h; callers must read quota_total.
    sim.knobs.publishCap = 100;
    const account = sim.addAccount({
      id: `1784${numericId(13)}`,
      name: 'Simulated Studio',
      handle: 'simulated.studio',
      extra: { appScopedId: numericId(17) },
    });
    sim.content.totals.set(account.id, { followers_count: 1280, follows_count: 311, media_count: 87 });
  };
  return { sim, seed };
}
