import { DUPLICATE_CODE, isPlatformError, PlatformError } from './errors.ts';
import { asRecord, oauthTokens, type PlatformResponse, requireString, url } from './http.ts';
import {
  bearer,
  commentsAndDmsInbox,
  commentsStream,
  type DmEdges,
  dailyInsightsStream,
  dmStream,
  entryEvents,
  fieldTotalsStream,
  GRAPH_VERSION,
  graphList,
  graphMs,
  handleString,
  type MetaSync,
  mediaInsightsStream,
  mediaStream,
  metaCaller,
  metaWebhooks,
} from './meta.ts';
import type {
  AdapterConfig,
  InboundMessage,
  MetricSample,
  PlatformAdapter,
  PublishAccount,
  PublishContent,
  PublishedPost,
  Publisher,
  PublishHandle,
  TokenSet,
  Verdict,
  WebhookEvent,
} from './types.ts';

// Facebook Pages: Facebook Login gives a short user token, exchanged for a 60-day one; the Page token
// fetched with it never expires, so there is nothing to refresh. The connection is the first Page.
const HOSTS = {
  www: 'https://www.facebook.com',
  graph: 'https://graph.facebook.com',
};
const SCOPES = [
  'pages_show_list',
  'pages_read_engagement',
  'read_insights',
  'pages_manage_posts',
  'pages_read_user_content',
  'pages_manage_engagement',
  'pages_messaging',
  'pages_manage_metadata',
  'business_management',
];

const MAX_MESSAGE = 63_206;
/** Reel status polls: the upload before finish, the processing after it. */
const REEL_CHECK_MS = 5_000;
/** How far before the commit published_posts is searched (clocks are assumed NTP-close). */
const VERIFY_MARGIN_MS = 10 * 60_000;
const MAX_LIST_PAGES = 5;
/** The duplicate guards: 506 duplicate status, 100/1366051 photos already posted. */
const DUPLICATE_CODES = new Set(['506', '100/1366051']);

const refuse = (message: string) => new PlatformError('facebook', 'permanent', `facebook: ${message}`);

/** Everything Page-scoped is read and written with the Page token, never the user token. */
function pageToken(tokens: TokenSet): string {
  const token = tokens.extra?.pageAccessToken;
  if (!token) throw refuse('no Page token stored');
  return token;
}

// Sync. Page insights (period=day) in windows of at most 90 days (Graph refuses more than 93);
// the impressions and fans families are gone, views and follows replace them.
const DAILY_METRICS = {
  page_media_view: 'views',
  page_total_media_view_unique: 'reach',
  page_post_engagements: 'engagements',
  page_follows: 'followers',
  page_daily_follows: 'follows',
};
const TOTALS = { followers_count: 'followers', fan_count: 'fans' };
const POST_METRICS = {
  post_media_view: 'views',
  post_total_media_view_unique: 'reach',
  post_clicks: 'clicks',
  // All reactions together are the post's likes; the breakdown by type is not kept.
  post_reactions_by_type_total: 'likes',
};
/** post_activity_by_action_type {share, like, comment}: the shares and comments counts. */
const ACTIVITY = { share: 'shares', comment: 'comments' };
const WINDOW_DAYS = 90;
const MAX_HISTORY_DAYS = 730;
const PAGE = '50';

/** A comment under a Page post (filter=stream: replies flattened, each naming its parent). */
function pageComment(raw: Record<string, unknown>, pageId: string, postId: string): InboundMessage {
  const from = asRecord(raw.from);
  const parent = asRecord(raw.parent).id;
  return {
    externalId: String(raw.id),
    threadKind: 'comment',
    threadExternalId: postId,
    ...(parent !== undefined ? { parentExternalId: String(parent) } : {}),
    authorExternalId: String(from.id ?? ''),
    authorName: typeof from.name === 'string' ? from.name : undefined,
    text: String(raw.message ?? ''),
    createdAt: new Date(graphMs(raw.created_time) ?? 0),
    fromAccount: String(from.id ?? '') === pageId,
    hidden: raw.is_hidden === true,
  };
}

/** Messenger: the Page's conversations, senders named by their name. */
const MESSENGER: DmEdges = {
  conversations: (account) => `/${encodeURIComponent(account.externalId)}/conversations`,
  platform: 'messenger',
  send: (account) => `/${encodeURIComponent(account.externalId)}/messages`,
  sendFields: { messaging_type: 'RESPONSE' },
  nameField: 'name',
};

/**
 * object "page": feed changes for comments (verb add / edited, remove as a removal, hide / unhide
 * as visibility changes) and Messenger messaging events. entry.id is the Page id: the
 * connection's externalId.
 */
export function parseFacebookWebhook(body: unknown): WebhookEvent[] {
  return entryEvents(body, 'page', (field, value, entry): WebhookEvent[] => {
    if (field !== 'feed' || value.item !== 'comment' || value.comment_id === undefined) return [];
    const pageId = String(entry.id ?? '');
    const id = String(value.comment_id);
    const verb = String(value.verb ?? '');
    const at = String(value.created_time ?? entry.time ?? '');
    if (verb === 'remove') {
      return [{ accountExternalId: pageId, dedupeKey: `${id}:${verb}:${at}`, removed: { externalId: id } }];
    }
    // Hiding keeps the comment (and its text); only its visibility changes.
    if (verb === 'hide') {
      return [
        { accountExternalId: pageId, dedupeKey: `${id}:${verb}:${at}`, hidden: { externalId: id, hidden: true } },
      ];
    }
    if (verb !== 'add' && verb !== 'edited' && verb !== 'unhide') return [];
    const postId = String(value.post_id ?? '');
    // A top-level comment names the post as its parent.
    const parent = value.parent_id !== undefined && String(value.parent_id) !== postId ? value.parent_id : undefined;
    const message = pageComment(
      { ...value, id, parent: parent === undefined ? undefined : { id: parent } },
      pageId,
      postId,
    );
    return [
      {
        accountExternalId: pageId,
        dedupeKey: verb === 'add' ? id : `${id}:${verb}:${at}`,
        message,
        ...(verb === 'unhide' ? { hidden: { externalId: id, hidden: false } } : {}),
      },
    ];
  });
}
const text = (value: unknown) => (typeof value === 'string' ? value.trim() : '');
const stringField = (obj: Record<string, unknown>, key: string) =>
  typeof obj[key] === 'string' && obj[key] ? (obj[key] as string) : undefined;

/**
 * What a post is made of. `link` is the variant's optional URL option: alone (or with text) it is a
 * link post; with photos or a Reel, which cannot carry a link preview, it goes at the end of the text.
 */
function postShape(content: PublishContent) {
  const link = content.options.link === undefined || content.options.link === '' ? undefined : content.options.link;
  if (link !== undefined && (typeof link !== 'string' || !/^https?:\/\/\S+$/i.test(link))) {
    throw refuse('the link option must be an http(s) URL');
  }
  const { media } = content;
  const withMedia = link !== undefined && media.length > 0;
  const message =
    (withMedia ? [content.caption.trim(), link].filter(Boolean).join('\n\n') : content.caption) || undefined;
  if (message && message.length > MAX_MESSAGE) throw refuse(`a message is at most ${MAX_MESSAGE} characters`);
  if (media.some((m) => m.kind === 'document')) throw refuse('documents cannot be posted to a Page');
  const videos = media.filter((m) => m.kind === 'video');
  if (videos.length && media.length > 1) throw refuse('a video is posted alone, as a Reel');
  if (!message && !link && !media.length) throw refuse('a post needs a message, a link or media');
  return { message, link: withMedia ? undefined : link, media, reel: videos[0] };
}

/** A Reel's phases, from GET /{video-id}?fields=status. */
type ReelPhase =
  | { phase: 'uploading' | 'uploaded' | 'processing' | 'publishing' }
  | { phase: 'published' }
  | { phase: 'error'; reason: string };

function reelPhase(status: unknown): ReelPhase {
  const s = asRecord(status);
  const uploading = asRecord(s.uploading_phase);
  const processing = asRecord(s.processing_phase);
  const publishing = asRecord(s.publishing_phase);
  const failed = [uploading, processing, publishing].find((p) => p.status === 'error');
  if (failed || s.video_status === 'error') {
    const errors = Array.isArray(failed?.errors) ? failed.errors.map(asRecord) : [];
    return { phase: 'error', reason: String(errors[0]?.message ?? s.video_status ?? 'error') };
  }
  if (publishing.status === 'complete' || publishing.publish_status === 'published') return { phase: 'published' };
  if (publishing.status === 'in_progress') return { phase: 'publishing' };
  if (processing.status === 'in_progress') return { phase: 'processing' };
  return { phase: uploading.status === 'complete' ? 'uploaded' : 'uploading' };
}

export function createFacebookAdapter(cfg: AdapterConfig): PlatformAdapter {
  const host = (name: keyof typeof HOSTS) => cfg.baseUrl || HOSTS[name];
  const graph = (path: string, query?: Record<string, string>) => url(host('graph'), `/${GRAPH_VERSION}${path}`, query);
  const call = metaCaller('facebook', cfg);
  const publisher = pagePublisher(call, graph);

  const s: MetaSync = { platform: 'facebook', call, graph, auth: (tokens) => bearer(pageToken(tokens)) };
  const page = (account: PublishAccount) => encodeURIComponent(account.externalId);

  const streams = [
    dailyInsightsStream({
      s,
      windowDays: WINDOW_DAYS,
      maxHistoryDays: MAX_HISTORY_DAYS,
      names: DAILY_METRICS,
      query: { period: 'day' },
      url: (account, query) => graph(`/${page(account)}/insights`, query),
    }),
    fieldTotalsStream(s, TOTALS, (account, fields) => graph(`/${page(account)}`, { fields })),
    mediaStream({
      s,
      first: (account) =>
        graph(`/${page(account)}/published_posts`, {
          fields: 'id,created_time,permalink_url,status_type',
          limit: PAGE,
        }),
      fields: { time: 'created_time', permalink: 'permalink_url', mediaType: (raw) => raw.status_type },
    }),
    mediaInsightsStream({
      s,
      names: POST_METRICS,
      query: { period: 'lifetime' },
      extra: {
        metric: 'post_activity_by_action_type',
        samples(value, postId) {
          const activity = asRecord(value);
          return Object.entries(ACTIVITY).map(
            ([type, metric]): MetricSample => ({
              objectKind: 'media',
              objectId: postId,
              metric,
              value: Number(activity[type] ?? 0) || 0,
            }),
          );
        },
      },
    }),
    commentsStream({
      name: 'comments',
      s,
      first: (_account, postId) =>
        graph(`/${encodeURIComponent(postId)}/comments`, {
          filter: 'stream',
          order: 'reverse_chronological',
          fields: 'id,message,from,created_time,parent{id},is_hidden',
          limit: PAGE,
        }),
      items: (raw, account, postId) => [pageComment(raw, account.externalId, postId)],
    }),
    dmStream(s, MESSENGER),
  ];

  const inbox = commentsAndDmsInbox(
    s,
    {
      reply: (id, text) => ({ path: `/${encodeURIComponent(id)}/comments`, json: { message: text } }),
      // A reply to a reply joins its top-level comment, so both lists are looked at.
      topFields: 'id,parent{id}',
      topOf: (comment) => {
        const parent = asRecord(comment.parent).id;
        return parent === undefined || parent === null ? undefined : String(parent);
      },
      replies: (top) =>
        graph(`/${encodeURIComponent(top)}/comments`, {
          filter: 'stream',
          order: 'reverse_chronological',
          fields: 'id,message,from,created_time',
          limit: PAGE,
        }),
      fields: { time: 'created_time', text: 'message' },
      hide: (hidden) => ({ json: { is_hidden: hidden } }),
    },
    MESSENGER,
  );

  return {
    platform: 'facebook',
    displayName: 'Facebook',
    pkce: false,
    refreshRule: 'none',
    minRefreshAgeMs: 0,
    scopes: SCOPES,
    simulated: Boolean(cfg.baseUrl),
    streams,
    inbox,
    webhooks: metaWebhooks(cfg, parseFacebookWebhook),
    publisher,

    authorizeUrl({ state, redirectUri }) {
      return url(host('www'), `/${GRAPH_VERSION}/dialog/oauth`, {
        client_id: cfg.clientId,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: SCOPES.join(','),
        state,
      });
    },

    async exchangeCode({ code, redirectUri }) {
      const short = await call({
        url: graph('/oauth/access_token', {
          client_id: cfg.clientId,
          client_secret: cfg.clientSecret,
          redirect_uri: redirectUri,
          code,
        }),
      });
      const res = await call({
        url: graph('/oauth/access_token', {
          grant_type: 'fb_exchange_token',
          client_id: cfg.clientId,
          client_secret: cfg.clientSecret,
          fb_exchange_token: requireString('facebook', asRecord(short.body), 'access_token'),
        }),
      });
      const user = oauthTokens('facebook', res);
      // One call for the user id, what the user granted and the Pages with their tokens.
      const meRes = await call({
        url: graph('/me', { fields: 'id,permissions{permission,status},accounts{id,name,access_token}' }),
        headers: bearer(user.accessToken),
      });
      const me = asRecord(meRes.body);
      const page = graphList(me.accounts)[0];
      if (!page?.id) throw new PlatformError('facebook', 'permanent', 'facebook: this user manages no Facebook Page');
      const granted = graphList(me.permissions)
        .filter((p) => p.status === 'granted')
        .map((p) => String(p.permission));
      return {
        ...user,
        scopes: granted,
        extra: {
          pageAccessToken: requireString('facebook', page, 'access_token'),
          userId: requireString('facebook', me, 'id'),
        },
      };
    },

    async refresh() {
      throw new PlatformError('facebook', 'permanent', 'facebook: Page tokens do not expire and cannot be refreshed');
    },

    async profile(tokens) {
      // The Page token outlives the 60-day user token, and its /me is the Page itself.
      const pageToken = tokens.extra?.pageAccessToken;
      if (!pageToken) throw new PlatformError('facebook', 'permanent', 'facebook: no Page token stored');
      const res = await call({ url: graph('/me', { fields: 'id,name,username' }), headers: bearer(pageToken) });
      const page = asRecord(res.body);
      return {
        externalId: requireString('facebook', page, 'id'),
        displayName: String(page.name ?? page.id),
        handle: typeof page.username === 'string' ? page.username : undefined,
        ids: tokens.extra?.userId ? { userId: tokens.extra.userId } : undefined,
      };
    },

    async revoke(tokens) {
      // Deleting the user's permissions removes the app, and with it every Page token it issued.
      const userId = tokens.extra?.userId ?? 'me';
      const res = await call({
        method: 'DELETE',
        url: graph(`/${encodeURIComponent(userId)}/permissions`),
        headers: bearer(tokens.accessToken),
      });
      return { outcome: 'revoked', status: res.status, detail: 'app removed from the Facebook user' };
    },
  };
}

/**
 * Page publishing with the Page token (TokenSet.extra.pageAccessToken) to the Page of the
 * connection (account.externalId). Handles:
 * - `{ kind: 'feed' }` text or link: commit posts /feed;
 * - `{ kind: 'photos', photoIds }`: prepare uploads each photo unpublished (invisible, safe to
 *   repeat), commit posts /feed with attached_media;
 * - `{ kind: 'reel', videoId }`: prepare starts a Reels upload and hands rupload the file URL,
 *   commit is finish with video_state=PUBLISHED, settle polls the status phases.
 * verify reads published_posts since the commit and matches the message and attached photos (a
 * Reel: its own status phases). No publish cap: capacity is always 0.
 */
function pagePublisher(
  call: ReturnType<typeof metaCaller>,
  graph: (path: string, query?: Record<string, string>) => string,
): Publisher {
  const token = pageToken;
  const auth = (tokens: TokenSet) => bearer(token(tokens));
  const page = (account: PublishAccount) => encodeURIComponent(account.externalId);

  async function reelStatus(tokens: TokenSet, videoId: string) {
    const res = await call({
      url: graph(`/${encodeURIComponent(videoId)}`, { fields: 'status,post_id,permalink_url' }),
      headers: auth(tokens),
    });
    const body = asRecord(res.body);
    const post: PublishedPost = {
      postId: stringField(body, 'post_id') ?? videoId,
      permalink: stringField(body, 'permalink_url'),
    };
    return { ...reelPhase(body.status), post };
  }

  /** The duplicate guards become `duplicate`: proof that an earlier commit of this post landed. */
  const duplicate = (err: unknown) =>
    isPlatformError(err) && err.kind === 'permanent' && DUPLICATE_CODES.has(err.code ?? '')
      ? new PlatformError('facebook', 'permanent', err.message, { status: err.status, code: DUPLICATE_CODE })
      : err;

  /** The oldest published post since `fromMs` with this message and (all of) these photos. */
  async function findPost(
    tokens: TokenSet,
    account: PublishAccount,
    message: string,
    photoIds: string[],
    fromMs: number,
  ): Promise<PublishedPost | undefined> {
    let next: string | undefined = graph(`/${page(account)}/published_posts`, {
      fields: 'id,message,created_time,permalink_url,attachments{target{id},subattachments{target{id}}}',
      since: String(Math.floor(fromMs / 1000)),
      limit: '100',
    });
    let found: PublishedPost | undefined;
    for (let n = 0; next && n < MAX_LIST_PAGES; n++) {
      const res: PlatformResponse = await call({ url: next, headers: auth(tokens) });
      for (const post of graphList(res.body)) {
        if (text(post.message) !== message || typeof post.id !== 'string') continue;
        const targets = new Set<string>();
        for (const a of graphList(post.attachments)) {
          const id = asRecord(a.target).id;
          if (id !== undefined) targets.add(String(id));
          for (const sub of graphList(a.subattachments)) {
            const subId = asRecord(sub.target).id;
            if (subId !== undefined) targets.add(String(subId));
          }
        }
        // Newest first: the last match is the oldest since the commit.
        if (photoIds.every((id) => targets.has(id))) {
          found = { postId: post.id, permalink: stringField(post, 'permalink_url') };
        }
      }
      next = stringField(asRecord(asRecord(res.body).paging), 'next');
    }
    return found;
  }

  const photoIdsOf = (handle: PublishHandle): string[] =>
    Array.isArray(handle.photoIds) ? handle.photoIds.map(String) : [];

  return {
    textNeedsPrepare: false,
    async prepare(tokens, account, content) {
      const shape = postShape(content);
      if (shape.reel) {
        const start = await call({
          method: 'POST',
          url: graph(`/${page(account)}/video_reels`),
          headers: auth(tokens),
          form: { upload_phase: 'start' },
        });
        const body = asRecord(start.body);
        const videoId = requireString('facebook', body, 'video_id');
        // rupload fetches a hosted file itself: no bytes pass through us.
        await call({
          method: 'POST',
          url: requireString('facebook', body, 'upload_url'),
          headers: { authorization: `OAuth ${token(tokens)}`, file_url: shape.reel.url },
        });
        return { kind: 'reel', videoId };
      }
      if (!shape.media.length) return { kind: 'feed' };
      const photoIds = await Promise.all(
        shape.media.map(async (m) => {
          const res = await call({
            method: 'POST',
            url: graph(`/${page(account)}/photos`),
            headers: auth(tokens),
            json: { url: m.url, published: false, alt_text_custom: m.altText },
          });
          return requireString('facebook', asRecord(res.body), 'id');
        }),
      );
      return { kind: 'photos', photoIds };
    },

    async check(tokens, _account, handle) {
      if (handle.kind !== 'reel') return { state: 'ready' };
      const reel = await reelStatus(tokens, handleString('facebook', handle, 'videoId'));
      if (reel.phase === 'error') return { state: 'failed', reason: reel.reason };
      // Finish needs the whole file; processing happens after it.
      return reel.phase === 'uploading' ? { state: 'pending', checkAfterMs: REEL_CHECK_MS } : { state: 'ready' };
    },

    async commit(tokens, account, content, handle) {
      const shape = postShape(content);
      if (handle.kind === 'reel') {
        const videoId = handleString('facebook', handle, 'videoId');
        try {
          await call({
            method: 'POST',
            url: graph(`/${page(account)}/video_reels`),
            headers: auth(tokens),
            form: { upload_phase: 'finish', video_id: videoId, video_state: 'PUBLISHED', description: shape.message },
            write: true,
          });
        } catch (err) {
          // A second finish is refused; the status phases say whether the first one went through.
          if (isPlatformError(err) && err.kind === 'permanent') {
            const reel = await reelStatus(tokens, videoId).catch(() => undefined);
            if (reel && reel.phase !== 'uploading' && reel.phase !== 'uploaded') {
              throw new PlatformError('facebook', 'permanent', `facebook: Reel ${videoId} was already finished`, {
                status: err.status,
                code: DUPLICATE_CODE,
                existingId: reel.phase === 'published' ? reel.post.postId : undefined,
              });
            }
          }
          throw err;
        }
        return { done: false, handle: { kind: 'reel', videoId } };
      }
      const photoIds = photoIdsOf(handle);
      let res: PlatformResponse;
      try {
        res = await call({
          method: 'POST',
          url: graph(`/${page(account)}/feed`),
          headers: auth(tokens),
          json: {
            message: shape.message,
            link: shape.link,
            attached_media: photoIds.length ? photoIds.map((id) => ({ media_fbid: id })) : undefined,
          },
          write: true,
        });
      } catch (err) {
        throw duplicate(err);
      }
      const postId = requireString('facebook', asRecord(res.body), 'id');
      let permalink: string | undefined;
      try {
        const read = await call({ url: graph(`/${postId}`, { fields: 'permalink_url' }), headers: auth(tokens) });
        permalink = stringField(asRecord(read.body), 'permalink_url');
      } catch {
        // The post is out; a permalink we could not read does not change that.
      }
      return { done: true, post: { postId, permalink } };
    },

    async verify(tokens, account, content, handle, since): Promise<Verdict> {
      if (handle.kind === 'reel') {
        const reel = await reelStatus(tokens, handleString('facebook', handle, 'videoId'));
        switch (reel.phase) {
          case 'published':
            return { landed: true, post: reel.post };
          case 'error':
            return { landed: false, handleUsable: false };
          // Processing may run before or after finish: only the publishing phase tells.
          case 'processing':
          case 'publishing':
            return { landed: 'unknown', checkAfterMs: REEL_CHECK_MS };
          default:
            return { landed: false, handleUsable: true };
        }
      }
      const { message } = postShape(content);
      const post = await findPost(
        tokens,
        account,
        text(message),
        photoIdsOf(handle),
        since.getTime() - VERIFY_MARGIN_MS,
      );
      // Not there: the unpublished photos are still unused, so the handle can be committed again.
      return post ? { landed: true, post } : { landed: false, handleUsable: true };
    },

    async settle(tokens, _account, handle) {
      if (handle.kind !== 'reel') return { state: 'failed', reason: 'not used: Page posts are published at once' };
      const reel = await reelStatus(tokens, handleString('facebook', handle, 'videoId'));
      if (reel.phase === 'published') return { state: 'ready', post: reel.post };
      if (reel.phase === 'error') return { state: 'failed', reason: reel.reason };
      return { state: 'pending', checkAfterMs: REEL_CHECK_MS };
    },

    async capacity() {
      // Pages have no publish cap; "posting too fast" (368/1390008) comes back as rate_limited.
      return { waitMs: 0 };
    },
  };
}
