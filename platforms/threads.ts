import { PlatformError } from './errors.ts';
import { asRecord, oauthTokens, requireString, url } from './http.ts';
import {
  bearer,
  type ContainerPlan,
  commentsStream,
  containerPublisher,
  dailyInsightsStream,
  demographicsStream,
  findInList,
  graphMs,
  insightValues,
  type MetaSync,
  mediaInsightsStream,
  mediaStream,
  metaWebhooks,
  readBody,
  reissueLogin,
  totalSamples,
  watermarkStream,
  writeReply,
} from './meta.ts';
import { totalsStream } from './sync.ts';
import type {
  AdapterConfig,
  InboundMessage,
  Inbox,
  MediaRef,
  PlatformAdapter,
  PublishAccount,
  PublishContent,
  WebhookEvent,
} from './types.ts';

// Threads: Instagram-style login. A 1-hour token is exchanged for a 60-day one, which is re-issued
// (never refreshed with a refresh token) once it is 24 hours old.
const HOSTS = {
  www: 'https://threads.net',
  graph: 'https://graph.threads.net',
};
const API_VERSION = 'v1.0';
const SCOPES = [
  'threads_basic',
  'threads_content_publish',
  'threads_read_replies',
  'threads_manage_replies',
  'threads_manage_insights',
  'threads_manage_mentions',
  'threads_delete',
];

const MAX_TEXT = 500;
const MAX_CAROUSEL = 20;

const refuse = (message: string) => new PlatformError('threads', 'permanent', `threads: ${message}`);

// Sync. threads_insights: views is a daily series; likes, replies, reposts and quotes are totals
// over since/until (from the earliest day, 2024-04-13, they are lifetime totals); followers_count
// is the current total. Meta documents no window limit: 30 days keeps answers small. audience is
// follower_demographics by age, gender, country and city (accounts of 100 followers or more).
const DAILY_METRICS = { views: 'views' };
const TOTALS = {
  followers_count: 'followers',
  likes: 'likes',
  replies: 'replies',
  reposts: 'reposts',
  quotes: 'quotes',
};
const MEDIA_METRICS = {
  views: 'views',
  likes: 'likes',
  replies: 'replies',
  reposts: 'reposts',
  quotes: 'quotes',
  shares: 'shares',
};
/** Threads insights start at 1712991600 (2024-04-13, Pacific); the first whole UTC day is the 14th. */
const INSIGHTS_EPOCH_S = '1712991600';
const EARLIEST_DAY = '2024-04-14';
const WINDOW_DAYS = 30;
const MAX_HISTORY_DAYS = 730;
const PAGE = '50';
const REPLY_FIELDS = 'id,text,username,timestamp,hide_status,replied_to,root_post,is_reply_owned_by_me';
/** A text reply's container is ready within seconds; it is polled this often before publishing. */
const REPLY_POLLS_MS = [300, 600, 1_000, 2_000, 3_000, 3_000];

/**
 * A reply under a post. Threads names other people by username only, so that is the author id;
 * a reply to the post itself has no parent message.
 */
function threadsReply(raw: Record<string, unknown>, postId: string, ownerFlag?: boolean): InboundMessage {
  const repliedTo = asRecord(raw.replied_to).id;
  const root = String(asRecord(raw.root_post).id ?? postId);
  return {
    externalId: String(raw.id),
    threadKind: 'comment',
    threadExternalId: root,
    ...(repliedTo !== undefined && String(repliedTo) !== root ? { parentExternalId: String(repliedTo) } : {}),
    authorExternalId: String(raw.username ?? ''),
    authorName: typeof raw.username === 'string' ? raw.username : undefined,
    text: String(raw.text ?? ''),
    createdAt: new Date(graphMs(raw.timestamp) ?? 0),
    fromAccount: ownerFlag ?? raw.is_reply_owned_by_me === true,
    hidden: raw.hide_status === 'HIDDEN',
  };
}

/** A post that mentions the account: its own thread. */
function mention(raw: Record<string, unknown>): InboundMessage {
  const id = String(raw.id);
  return {
    externalId: id,
    threadKind: 'mention',
    threadExternalId: id,
    authorExternalId: String(raw.username ?? ''),
    authorName: typeof raw.username === 'string' ? raw.username : undefined,
    text: String(raw.text ?? ''),
    createdAt: new Date(graphMs(raw.timestamp) ?? 0),
    fromAccount: false,
  };
}

/**
 * Threads' own webhook shape, one event per delivery (an array is accepted too):
 * {app_id, topic, target_id, time, values:{field: replies | mentions | delete, value:{…}}}.
 * target_id is the Threads user the subscription is for: the connection's externalId.
 */
export function parseThreadsWebhook(body: unknown): WebhookEvent[] {
  const events: WebhookEvent[] = [];
  for (const delivery of (Array.isArray(body) ? body : [body]).map(asRecord)) {
    const values = asRecord(delivery.values);
    const value = asRecord(values.value);
    const accountId = String(delivery.target_id ?? asRecord(value.root_post).owner_id ?? '');
    if (value.id === undefined || !accountId) continue;
    const id = String(value.id);
    switch (values.field) {
      case 'replies':
        // Webhooks come for other people's replies to the account's posts.
        events.push({ accountExternalId: accountId, dedupeKey: id, message: threadsReply(value, id, false) });
        break;
      case 'mentions':
        events.push({ accountExternalId: accountId, dedupeKey: id, message: mention(value) });
        break;
      case 'delete':
        events.push({ accountExternalId: accountId, dedupeKey: `${id}:delete`, removed: { externalId: id } });
        break;
    }
  }
  return events;
}

function mediaParams(m: MediaRef) {
  if (m.kind === 'image') return { media_type: 'IMAGE', image_url: m.url, alt_text: m.altText };
  if (m.kind === 'video') return { media_type: 'VIDEO', video_url: m.url, alt_text: m.altText };
  throw refuse(`${m.kind} files cannot be published`);
}

/** Text up to 500 characters, with no media (TEXT), one image or video, or a carousel of 2–20. */
export function threadsPlan(content: PublishContent): ContainerPlan {
  const text = content.caption || undefined;
  if (text && [...text].length > MAX_TEXT) throw refuse(`a post's text is at most ${MAX_TEXT} characters`);
  const { media } = content;
  const [first] = media;
  if (!first) {
    if (!text) throw refuse('a post needs text or media');
    return { items: [], main: { media_type: 'TEXT', text } };
  }
  if (media.length === 1) return { items: [], main: { ...mediaParams(first), text } };
  if (media.length > MAX_CAROUSEL) throw refuse(`a carousel holds at most ${MAX_CAROUSEL} images or videos`);
  return {
    items: media.map((m) => ({ ...mediaParams(m), is_carousel_item: 'true' })),
    main: { media_type: 'CAROUSEL', text },
  };
}

export function createThreadsAdapter(cfg: AdapterConfig): PlatformAdapter {
  const host = (name: keyof typeof HOSTS) => cfg.baseUrl || HOSTS[name];
  const login = reissueLogin('threads', cfg, {
    hosts: { www: host('www'), code: host('graph'), graph: host('graph') },
    grants: { exchange: 'th_exchange_token', refresh: 'th_refresh_token' },
    scopes: SCOPES,
  });
  const { call } = login;
  const graph = (path: string, query?: Record<string, string | undefined>) =>
    url(host('graph'), `/${API_VERSION}${path}`, query);
  const publisher = containerPublisher({
    platform: 'threads',
    call,
    graph,
    edges: { container: 'threads', publish: 'threads_publish', limit: 'threads_publishing_limit' },
    statusFields: { status: 'status', reason: 'error_message' },
    textField: 'text',
    plan: threadsPlan,
    listEdge: () => 'threads',
  });

  const s: MetaSync = { platform: 'threads', call, graph, auth: (tokens) => bearer(tokens.accessToken) };
  const user = (account: PublishAccount) => encodeURIComponent(account.externalId);

  const streams = [
    dailyInsightsStream({
      s,
      windowDays: WINDOW_DAYS,
      maxHistoryDays: MAX_HISTORY_DAYS,
      earliestDay: EARLIEST_DAY,
      names: DAILY_METRICS,
      url: (account, query) => graph(`/${user(account)}/threads_insights`, query),
    }),
    totalsStream('account_totals', async (tokens, account, ctx) => {
      const body = await readBody(
        s,
        tokens,
        graph(`/${user(account)}/threads_insights`, {
          metric: Object.keys(TOTALS).join(','),
          since: INSIGHTS_EPOCH_S,
          until: String(Math.floor(ctx.now.getTime() / 1000)),
        }),
      );
      return totalSamples(insightValues(body), TOTALS, { kind: 'account', id: '' });
    }),
    demographicsStream(s, (account, breakdown) =>
      graph(`/${user(account)}/threads_insights`, { metric: 'follower_demographics', breakdown }),
    ),
    mediaStream({
      s,
      first: (account) =>
        graph(`/${user(account)}/threads`, { fields: 'id,media_type,text,timestamp,permalink,shortcode', limit: PAGE }),
      fields: { time: 'timestamp', permalink: 'permalink', mediaType: (raw) => raw.media_type },
    }),
    mediaInsightsStream({ s, names: MEDIA_METRICS }),
    // The whole conversation under a post, flattened, newest first.
    commentsStream({
      name: 'comments',
      s,
      first: (_account, mediaId) =>
        graph(`/${encodeURIComponent(mediaId)}/conversation`, { fields: REPLY_FIELDS, reverse: 'true', limit: PAGE }),
      items: (raw, _account, mediaId) => [threadsReply(raw, mediaId)],
    }),
    watermarkStream({
      name: 'mentions',
      s,
      first: (account) =>
        graph(`/${user(account)}/mentions`, { fields: 'id,text,username,timestamp,permalink,media_type', limit: PAGE }),
      item(raw) {
        const at = graphMs(raw.timestamp);
        if (raw.id === undefined || at === undefined) return undefined;
        return { id: String(raw.id), at, message: mention(raw) };
      },
    }),
  ];

  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

  const inbox: Inbox = {
    // A reply is a post with reply_to_id: to a reply under the account's post, or to a mention.
    replyKinds: ['comment', 'mention'],
    moderation: ['hide', 'unhide'],

    async reply(tokens, account, target, text) {
      if (target.threadKind === 'dm') throw refuse('Threads has no direct messages');
      if ([...text].length > MAX_TEXT) throw refuse(`a reply's text is at most ${MAX_TEXT} characters`);
      // The container is invisible until published: creating and polling it is safe to repeat.
      const created = await call({
        method: 'POST',
        url: graph(`/${user(account)}/threads`),
        headers: s.auth(tokens),
        form: { media_type: 'TEXT', text, reply_to_id: target.messageExternalId },
      });
      const container = requireString('threads', asRecord(created.body), 'id');
      for (const wait of [0, ...REPLY_POLLS_MS]) {
        if (wait) await sleep(wait);
        const status = asRecord(await readBody(s, tokens, graph(`/${container}`, { fields: 'status,error_message' })));
        if (status.status === 'FINISHED') {
          return writeReply(s, tokens, `/${user(account)}/threads_publish`, { form: { creation_id: container } }, 'id');
        }
        if (status.status === 'ERROR' || status.status === 'EXPIRED') {
          throw refuse(`the reply container failed: ${String(status.error_message ?? status.status)}`);
        }
      }
      // Nothing was published: the next attempt makes a new container.
      throw new PlatformError('threads', 'transient', `threads: reply container ${container} still processing`);
    },

    async findReply(tokens, _account, target, text, since) {
      return findInList(
        s,
        tokens,
        graph(`/${encodeURIComponent(target.messageExternalId)}/replies`, {
          fields: 'id,text,timestamp,is_reply_owned_by_me',
          reverse: 'true',
          limit: PAGE,
        }),
        since,
        (raw) => ({
          at: graphMs(raw.timestamp),
          mine: raw.is_reply_owned_by_me === true,
          text: String(raw.text ?? ''),
        }),
        text,
      );
    },

    async moderate(tokens, _account, target, action) {
      if (action === 'delete') throw refuse('only the account’s own posts can be deleted, not replies of others');
      if (target.threadKind !== 'comment') throw refuse('only replies can be hidden');
      await call({
        method: 'POST',
        url: graph(`/${encodeURIComponent(target.messageExternalId)}/manage_reply`),
        headers: s.auth(tokens),
        form: { hide: String(action === 'hide') },
      });
    },
  };

  return {
    platform: 'threads',
    displayName: 'Threads',
    pkce: false,
    refreshRule: 'reissue',
    minRefreshAgeMs: 86_400_000,
    scopes: SCOPES,
    simulated: Boolean(cfg.baseUrl),
    streams,
    inbox,
    webhooks: metaWebhooks(cfg, parseThreadsWebhook),
    authorizeUrl: login.authorizeUrl,
    publisher,

    async exchangeCode({ code, redirectUri }) {
      const short = asRecord(await login.redeem(code, redirectUri));
      const long = await login.longLived(requireString('threads', short, 'access_token'));
      // Threads' token responses name no scopes: record the ones asked for.
      return { ...oauthTokens('threads', long), scopes: SCOPES };
    },

    refresh: login.refresh,

    async profile(tokens) {
      const res = await call({
        url: url(host('graph'), `/${API_VERSION}/me`, { fields: 'id,username,name' }),
        headers: bearer(tokens.accessToken),
      });
      const me = asRecord(res.body);
      const username = typeof me.username === 'string' ? me.username : undefined;
      return {
        externalId: requireString('threads', me, 'id'),
        displayName: String(me.name || username || me.id),
        handle: username,
      };
    },

    async revoke() {
      return {
        outcome: 'local_only',
        reason: 'Threads has no revoke endpoint: the grant stays until the user removes the app in Threads settings',
      };
    },
  };
}
