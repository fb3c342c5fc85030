import { type Clock, type JobPhase, numericId, PlatformSim, type SimAccount, type SimJob } from '../core.ts';
import {
  authError,
  authorizeRoute,
  CONTAINER_STATUS,
  type ContainerData,
  caller,
  containerPublishing,
  graphPath,
  graphTime,
  idList,
  longLivedRoutes,
  type MetaProblem,
  ok,
  type PublishedMedia,
  pick,
  publishProblems,
  redeem,
  required,
  serverError,
  throttle,
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

/** GET /{media-id} before field selection. */
function mediaView(m: PublishedMedia, a: SimAccount): Record<string, unknown> {
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
    like_count: 0,
    comments_count: 0,
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
      followers_count: 1280,
      follows_count: 311,
      media_count: 87,
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
    mediaView,
    limitView: (usage) => ({
      quota_usage: usage.posts,
      config: { quota_total: sim.knobs.publishCap, quota_duration: 86_400 },
    }),
    // Stories are not in /media: they live on /stories, and only for 24 hours.
    listed: (m) => m.data.mediaType !== 'STORIES',
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
    sim.addAccount({
      id: `1784${numericId(13)}`,
      name: 'Simulated Studio',
      handle: 'simulated.studio',
      extra: { appScopedId: numericId(17) },
    });
  };
  return { sim, seed };
}
