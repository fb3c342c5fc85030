import { PlatformError } from './errors.ts';
import { asRecord, oauthTokens, requireString, url } from './http.ts';
import { bearer, type ContainerPlan, containerPublisher, GRAPH_VERSION, graphList, reissueLogin } from './meta.ts';
import type { AdapterConfig, MediaRef, PlatformAdapter, PublishContent } from './types.ts';

// Instagram API with Instagram Login: no Facebook Page needed. A 1-hour token is exchanged for a
// 60-day one, which is re-issued (never refreshed with a refresh token) once it is 24 hours old.
const HOSTS = {
  www: 'https://www.instagram.com',
  api: 'https://api.instagram.com',
  graph: 'https://graph.instagram.com',
};
const SCOPES = [
  'instagram_business_basic',
  'instagram_business_manage_insights',
  'instagram_business_content_publish',
  'instagram_business_manage_comments',
  'instagram_business_manage_messages',
];

const MAX_CAPTION = 2200;
const MAX_CAROUSEL = 10;
const MEDIA_TYPES = ['FEED', 'REELS', 'STORIES'] as const;

const refuse = (message: string) => new PlatformError('instagram', 'permanent', `instagram: ${message}`);

/** Where Instagram fetches one file from, as a single post, a story or a carousel item. */
function mediaParams(m: MediaRef, as: 'single' | 'story' | 'item') {
  if (m.kind === 'image') {
    return { image_url: m.url, alt_text: as === 'story' ? undefined : m.altText };
  }
  if (m.kind !== 'video') throw refuse(`${m.kind} files cannot be published`);
  // Single feed videos are Reels now; VIDEO survives only inside carousels.
  const mediaType = as === 'item' ? 'VIDEO' : as === 'story' ? undefined : 'REELS';
  return { media_type: mediaType, video_url: m.url };
}

/**
 * Options: `mediaType` FEED (default: one image, one video as a Reel shared to the feed, or a
 * carousel of 2–10), REELS (one video) or STORIES (one image or video, no caption).
 */
export function instagramPlan(content: PublishContent): ContainerPlan {
  const mediaType = String(content.options.mediaType ?? 'FEED').toUpperCase();
  if (!(MEDIA_TYPES as readonly string[]).includes(mediaType)) throw refuse(`unknown mediaType ${mediaType}`);
  const caption = content.caption || undefined;
  if (caption && [...caption].length > MAX_CAPTION) throw refuse(`a caption is at most ${MAX_CAPTION} characters`);
  const { media } = content;
  const [first] = media;
  if (!first) throw refuse('a post needs at least one image or video');
  if (mediaType === 'STORIES') {
    if (media.length !== 1) throw refuse('a story is one image or video');
    return { items: [], main: { ...mediaParams(first, 'story'), media_type: 'STORIES' } };
  }
  if (mediaType === 'REELS') {
    if (media.length !== 1 || first.kind !== 'video') throw refuse('a Reel is one video');
    return { items: [], main: { ...mediaParams(first, 'single'), caption, share_to_feed: 'true' } };
  }
  if (media.length === 1) {
    const single = mediaParams(first, 'single');
    return { items: [], main: { ...single, caption, share_to_feed: single.video_url ? 'true' : undefined } };
  }
  if (media.length > MAX_CAROUSEL) throw refuse(`a carousel holds at most ${MAX_CAROUSEL} images or videos`);
  return {
    items: media.map((m) => ({ ...mediaParams(m, 'item'), is_carousel_item: 'true' })),
    main: { media_type: 'CAROUSEL', caption },
  };
}

export function createInstagramAdapter(cfg: AdapterConfig): PlatformAdapter {
  const host = (name: keyof typeof HOSTS) => cfg.baseUrl || HOSTS[name];
  const login = reissueLogin('instagram', cfg, {
    hosts: { www: host('www'), code: host('api'), graph: host('graph') },
    grants: { exchange: 'ig_exchange_token', refresh: 'ig_refresh_token' },
    scopes: SCOPES,
  });
  const { call } = login;
  const publisher = containerPublisher({
    platform: 'instagram',
    call,
    graph: (path, query) => url(host('graph'), `/${GRAPH_VERSION}${path}`, query),
    edges: { container: 'media', publish: 'media_publish', limit: 'content_publishing_limit' },
    statusFields: { status: 'status_code', reason: 'status' },
    textField: 'caption',
    plan: instagramPlan,
    // Stories are not in the media list; they have their own edge for the 24 hours they live.
    listEdge: (main) => (main.media_type === 'STORIES' ? 'stories' : 'media'),
  });

  return {
    platform: 'instagram',
    displayName: 'Instagram',
    pkce: false,
    refreshRule: 'reissue',
    minRefreshAgeMs: 86_400_000,
    scopes: SCOPES,
    simulated: Boolean(cfg.baseUrl),
    authorizeUrl: login.authorizeUrl,
    publisher,

    async exchangeCode({ code, redirectUri }) {
      const body = await login.redeem(code, redirectUri);
      // Newer responses wrap {access_token, user_id, permissions} in data:[…].
      const short = graphList(body)[0] ?? asRecord(body);
      const long = await login.longLived(requireString('instagram', short, 'access_token'));
      const permissions = short.permissions;
      const scopes = Array.isArray(permissions) ? permissions.map(String) : String(permissions ?? '').split(',');
      return { ...oauthTokens('instagram', long), scopes: scopes.filter(Boolean) };
    },

    refresh: login.refresh,

    async profile(tokens) {
      const res = await call({
        url: url(host('graph'), `/${GRAPH_VERSION}/me`, { fields: 'user_id,username,name,account_type' }),
        headers: bearer(tokens.accessToken),
      });
      // user_id is the professional account (webhooks' entry.id); id is only app-scoped.
      const me = asRecord(res.body);
      const username = typeof me.username === 'string' ? me.username : undefined;
      return {
        externalId: requireString('instagram', me, 'user_id'),
        displayName: String(me.name || username || me.user_id),
        handle: username,
        ids: { appScopedId: requireString('instagram', me, 'id') },
      };
    },

    async revoke() {
      return {
        outcome: 'local_only',
        reason:
          'Instagram has no revoke endpoint: the grant stays until the user removes the app in Instagram settings',
      };
    },
  };
}
