import { type Clock, numericId, PlatformSim } from '../core.ts';
import {
  authError,
  authorizeRoute,
  CONTAINER_STATUS,
  type ContainerData,
  containerPublishing,
  graphPath,
  graphTime,
  idList,
  longLivedRoutes,
  type MetaProblem,
  metaError,
  ok,
  pick,
  publishProblems,
  redeem,
  required,
  serverError,
  throttle,
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
  });

  sim.route(
    'DELETE',
    graphPath('/(?<id>\\d+)'),
    'delete',
    (req) => {
      const auth = sim.check(req.token);
      if (!auth.ok || !auth.account) return authError(sim, auth);
      const id = req.params.id ?? '';
      const media = publishing.published.get(id);
      if (!media || media.accountId !== auth.account.id || media.deletedAt !== undefined) {
        return metaError(400, unsupported('delete', id));
      }
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
      sim.recordWrite('delete', { mediaId: id }, auth.account.id);
      return ok({ success: true, deleted_id: id });
    },
    { write: true },
  );

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
    sim.addAccount({ id: numericId(17), name: 'Simulated Studio', handle: 'simulated.studio' });
  };
  return { sim, seed };
}
