import { PlatformError } from './errors.ts';
import { asRecord, oauthTokens, requireString, url } from './http.ts';
import {
  bearer,
  type ContainerPlan,
  commentsAndDmsInbox,
  commentsStream,
  containerPublisher,
  type DmEdges,
  dailyInsightsStream,
  demographicsStream,
  dmStream,
  entryEvents,
  fieldTotalsStream,
  GRAPH_VERSION,
  graphList,
  graphMs,
  isAccountId,
  type MetaSync,
  mediaInsightsStream,
  mediaStream,
  metaWebhooks,
  reissueLogin,
} from './meta.ts';
import type {
  AdapterConfig,
  InboundMessage,
  MediaRef,
  PlatformAdapter,
  PublishAccount,
  PublishContent,
  WebhookEvent,
} from './types.ts';

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

// Sync. Daily account insights come as a time series only for reach and follower_count (the
// others are total_value over a range), in windows of at most 30 days, two years back. audience is
// follower_demographics (lifetime) by age, gender, country and city (accounts of 100 followers or more).
const DAILY_METRICS = { reach: 'reach', follower_count: 'follows' };
const TOTALS = { followers_count: 'followers', follows_count: 'following', media_count: 'media_count' };
/** total_interactions is left out: it is the sum of the others, which the product can add up. */
const MEDIA_METRICS = {
  views: 'views',
  reach: 'reach',
  likes: 'likes',
  comments: 'comments',
  shares: 'shares',
  saved: 'saves',
};
const WINDOW_DAYS = 30;
const MAX_HISTORY_DAYS = 730;
const PAGE = '50';
const COMMENT_FIELDS = 'id,text,timestamp,from,username,hidden,parent_id';

/** A comment (or a reply) under a post; the account's own are recognised by either of its ids. */
function comment(
  raw: Record<string, unknown>,
  account: PublishAccount,
  mediaId: string,
  parent?: string,
): InboundMessage {
  const from = asRecord(raw.from);
  const authorId = String(from.id ?? raw.username ?? '');
  const parentId = typeof raw.parent_id === 'string' ? raw.parent_id : parent;
  return {
    externalId: String(raw.id),
    threadKind: 'comment',
    threadExternalId: mediaId,
    ...(parentId ? { parentExternalId: parentId } : {}),
    authorExternalId: authorId,
    authorName: String(from.username ?? raw.username ?? ''),
    text: String(raw.text ?? ''),
    createdAt: new Date(graphMs(raw.timestamp) ?? 0),
    fromAccount: isAccountId(account, authorId),
    hidden: raw.hidden === true,
  };
}

/** Instagram DMs: the account's conversations, senders named by their username. */
const DIRECT: DmEdges = {
  conversations: () => '/me/conversations',
  platform: 'instagram',
  send: () => '/me/messages',
  nameField: 'username',
};

/**
 * object "instagram": comments as changes (field comments / live_comments), DMs as messaging
 * events. entry.id is the professional account's id: the connection's externalId (user_id).
 */
export function parseInstagramWebhook(body: unknown): WebhookEvent[] {
  return entryEvents(body, 'instagram', (field, value, entry) => {
    if ((field !== 'comments' && field !== 'live_comments') || value.id === undefined) return [];
    const accountId = String(entry.id ?? '');
    const message = comment(
      { ...value, timestamp: value.timestamp ?? entry.time },
      { externalId: accountId, ids: {} },
      String(asRecord(value.media).id ?? ''),
    );
    return [{ accountExternalId: accountId, dedupeKey: message.externalId, message }];
  });
}

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
  const graph = (path: string, query?: Record<string, string | undefined>) =>
    url(host('graph'), `/${GRAPH_VERSION}${path}`, query);
  const publisher = containerPublisher({
    platform: 'instagram',
    call,
    graph,
    edges: { container: 'media', publish: 'media_publish', limit: 'content_publishing_limit' },
    statusFields: { status: 'status_code', reason: 'status' },
    textField: 'caption',
    plan: instagramPlan,
    // Stories are not in the media list; they have their own edge for the 24 hours they live.
    listEdge: (main) => (main.media_type === 'STORIES' ? 'stories' : 'media'),
  });

  const s: MetaSync = { platform: 'instagram', call, graph, auth: (tokens) => bearer(tokens.accessToken) };
  const user = (account: PublishAccount) => encodeURIComponent(account.externalId);

  const streams = [
    dailyInsightsStream({
      s,
      windowDays: WINDOW_DAYS,
      maxHistoryDays: MAX_HISTORY_DAYS,
      names: DAILY_METRICS,
      query: { period: 'day', metric_type: 'time_series' },
      url: (account, query) => graph(`/${user(account)}/insights`, query),
    }),
    fieldTotalsStream(s, TOTALS, (_account, fields) => graph('/me', { fields })),
    demographicsStream(s, (account, breakdown) =>
      graph(`/${user(account)}/insights`, {
        metric: 'follower_demographics',
        period: 'lifetime',
        metric_type: 'total_value',
        breakdown,
      }),
    ),
    mediaStream({
      s,
      first: (account) =>
        graph(`/${user(account)}/media`, {
          fields: 'id,caption,media_type,media_product_type,timestamp,permalink',
          limit: PAGE,
        }),
      // Reels are told apart by their product type; their media_type is VIDEO.
      fields: {
        time: 'timestamp',
        permalink: 'permalink',
        mediaType: (raw) => (raw.media_product_type === 'REELS' ? 'REELS' : raw.media_type),
      },
    }),
    mediaInsightsStream({ s, names: MEDIA_METRICS }),
    commentsStream({
      name: 'comments',
      s,
      first: (_account, mediaId) =>
        graph(`/${encodeURIComponent(mediaId)}/comments`, {
          fields: `${COMMENT_FIELDS},replies{${COMMENT_FIELDS}}`,
          limit: PAGE,
        }),
      // Replies come inside their comment; one under an old comment is found by its webhook.
      items(raw, account, mediaId) {
        const top = comment(raw, account, mediaId);
        return [top, ...graphList(raw.replies).map((r) => comment(r, account, mediaId, top.externalId))];
      },
    }),
    dmStream(s, DIRECT),
  ];

  const inbox = commentsAndDmsInbox(
    s,
    {
      // A reply to a reply lands under its top-level comment: Instagram threads one level deep.
      reply: (id, text) => ({ path: `/${encodeURIComponent(id)}/replies`, form: { message: text } }),
      topFields: 'id,parent_id',
      topOf: (comment) => (typeof comment.parent_id === 'string' ? comment.parent_id : undefined),
      replies: (top) =>
        graph(`/${encodeURIComponent(top)}/replies`, { fields: 'id,text,timestamp,from,username', limit: PAGE }),
      fields: { time: 'timestamp', text: 'text' },
      hide: (hidden) => ({ form: { hide: String(hidden) } }),
    },
    DIRECT,
  );

  return {
    platform: 'instagram',
    displayName: 'Instagram',
    pkce: false,
    refreshRule: 'reissue',
    minRefreshAgeMs: 86_400_000,
    scopes: SCOPES,
    simulated: Boolean(cfg.baseUrl),
    streams,
    inbox,
    webhooks: metaWebhooks(cfg, parseInstagramWebhook),
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
