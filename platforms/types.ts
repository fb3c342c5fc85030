// One interface for every social platform: connecting an account, publishing, and syncing its
// analytics and inbox.

export const PLATFORMS = [
  'youtube',
  'instagram',
  'facebook',
  'tiktok',
  'linkedin',
  'x',
  'threads',
  'whatsapp',
] as const;
export type PlatformId = (typeof PLATFORMS)[number];

/** Platforms plus Google sign-in: everything reached over OAuth. */
export type Provider = PlatformId | 'google';

export const isPlatform = (value: string): value is PlatformId => (PLATFORMS as readonly string[]).includes(value);

/**
 * How a platform keeps a connection alive:
 * - rotating: each refresh returns a new refresh token and the old one stops working (X, TikTok);
 * - stable: the refresh token is kept and reused (Google, LinkedIn);
 * - reissue: there is no refresh token; a long-lived access token is exchanged for a fresh one
 *   once it is old enough (Instagram, Threads);
 * - none: the token does not expire or cannot be renewed without the user (Facebook Page tokens,
 *   WhatsApp business tokens).
 */
export type RefreshRule = 'rotating' | 'stable' | 'reissue' | 'none';

/** Secret material of a connection. Only activities see it; it is stored encrypted. */
export interface TokenSet {
  accessToken: string;
  /** Absent on a refresh response: the stored refresh token stays valid (stable rule). */
  refreshToken?: string;
  /** Absent: the access token does not expire. */
  expiresAt?: Date;
  refreshExpiresAt?: Date;
  /** Scopes the platform says were granted (users can untick some). */
  scopes: string[];
  /** Further secrets that belong to the connection, e.g. a Facebook Page token. */
  extra?: Record<string, string>;
}

export interface Profile {
  /** The platform's id of the connected account (channel id, page id, open_id, URN, …). */
  externalId: string;
  displayName: string;
  handle?: string;
  /** Other ids worth keeping (Instagram app-scoped id, WhatsApp phone-number id, …). */
  ids?: Record<string, string>;
}

export interface AuthorizeParams {
  state: string;
  redirectUri: string;
  /** PKCE S256 challenge; only sent where the platform supports PKCE. */
  codeChallenge?: string;
  /** OIDC nonce, for sign-in flows. */
  nonce?: string;
}

export interface ExchangeParams {
  code: string;
  redirectUri: string;
  codeVerifier?: string;
}

export type RevokeResult =
  | { outcome: 'revoked'; status: number; detail?: string }
  /** The platform has no revoke endpoint: the grant stays until the user removes the app. */
  | { outcome: 'local_only'; reason: string };

export interface PlatformAdapter {
  readonly platform: PlatformId;
  readonly displayName: string;
  readonly pkce: boolean;
  readonly refreshRule: RefreshRule;
  /** Youngest token the platform will refresh (Instagram and Threads: 24 h). */
  readonly minRefreshAgeMs: number;
  readonly scopes: readonly string[];
  /** True when the adapter talks to the local simulator rather than the real platform. */
  readonly simulated: boolean;
  authorizeUrl(params: AuthorizeParams): string;
  /** Code → tokens, including Meta's long-lived exchange. */
  exchangeCode(params: ExchangeParams): Promise<TokenSet>;
  /** Follows the platform's refresh rule; never called for rule `none`. */
  refresh(tokens: TokenSet): Promise<TokenSet>;
  profile(tokens: TokenSet): Promise<Profile>;
  revoke(tokens: TokenSet): Promise<RevokeResult>;
  /** Absent where the platform has no feed to publish to (WhatsApp sends messages, not posts). */
  readonly publisher?: Publisher;
  /** Analytics and polled inbox streams, in the order a pass reads them (posts before per-post streams). */
  readonly streams: readonly SyncStream[];
  /** Absent where the platform offers no inbox through its API (TikTok). */
  readonly inbox?: Inbox;
  /** Absent where the platform sends no inbox webhooks (YouTube, TikTok): polling only. */
  readonly webhooks?: Webhooks;
}

// Publishing. Every platform's flow is cut the same way (prepare → check → commit → settle), so
// the publish activities can make each write happen exactly once: everything before commit is
// safe to repeat, the commit is recorded before it is sent, and after a commit whose answer was
// lost, verify asks the platform's truth signal before anything is sent again.

/** One file to publish (the media library fills these from its files). */
export interface MediaRef {
  /** Where the platform (pull) or our uploader (push) fetches the bytes. */
  url: string;
  kind: 'image' | 'video' | 'document';
  mimeType: string;
  sizeBytes: number;
  durationS?: number;
  altText?: string;
}

/** What one target publishes; read from the database inside the activity, never workflow input. */
export interface PublishContent {
  caption: string;
  media: MediaRef[];
  /** The variant's platform options (title, privacy, media type, …), validated before scheduling. */
  options: Record<string, unknown>;
}

/** The connected account a post goes to. */
export interface PublishAccount {
  /** The connection's externalId (channel, IG user, page, open_id, person URN id, X user id). */
  externalId: string;
  /** The connection's further ids (externalIds). */
  ids: Record<string, string>;
}

/**
 * The platform's handle on prepared work: container ids, an upload session, a publish id, media
 * ids. JSON of ids and small values; it lives in publish_attempts, never in workflow history.
 */
export type PublishHandle = Record<string, unknown>;

export type Processing =
  | { state: 'pending'; checkAfterMs: number }
  | { state: 'ready' }
  /** The platform refused the media or post for good (ERROR container, failed processing). */
  | { state: 'failed'; reason: string };

export interface PublishedPost {
  /** The platform's id of the public post (media id, video id, tweet id, share URN, page post id). */
  postId: string;
  permalink?: string;
}

/** What the platform's truth signal says about a commit whose answer we did not see. */
export type Verdict =
  /** It landed; `processing`: the platform still processes it, so settle follows (YouTube). */
  | { landed: true; post: PublishedPost; processing?: boolean }
  /** It did not land; `handleUsable: false` means prepare again (an expired session or container). */
  | { landed: false; handleUsable: boolean }
  /** The platform cannot tell yet (upload still processing); ask again later. */
  | { landed: 'unknown'; checkAfterMs: number };

export type CommitResult =
  | { done: true; post: PublishedPost }
  /** Accepted; the post becomes public after processing, followed by settle (TikTok, YouTube). */
  | { done: false; handle: PublishHandle };

export interface Publisher {
  /** Whether a post without media still needs prepare (Instagram and Threads make a container). */
  readonly textNeedsPrepare: boolean;
  /** Safe to repeat: uploads media, opens sessions, creates containers. Nothing becomes public. */
  prepare(tokens: TokenSet, account: PublishAccount, content: PublishContent): Promise<PublishHandle>;
  /** Processing of the prepared media; commit waits for ready. */
  check(tokens: TokenSet, account: PublishAccount, handle: PublishHandle): Promise<Processing>;
  /**
   * The one irreversible write. A lost answer throws outcome_unknown; a platform duplicate refusal
   * throws permanent with code `duplicate` (and existingId when the platform names the post).
   */
  commit(
    tokens: TokenSet,
    account: PublishAccount,
    content: PublishContent,
    handle: PublishHandle,
  ): Promise<CommitResult>;
  /**
   * The truth signal after an unknown commit, started at `since` (our clock): container status,
   * session probe, publish status, or the account's recent posts matched against the content.
   */
  verify(
    tokens: TokenSet,
    account: PublishAccount,
    content: PublishContent,
    handle: PublishHandle,
    since: Date,
  ): Promise<Verdict>;
  /** After a commit that was not done at once: poll until the post is public (or failed). */
  settle(
    tokens: TokenSet,
    account: PublishAccount,
    handle: PublishHandle,
  ): Promise<
    | { state: 'pending'; checkAfterMs: number }
    | { state: 'ready'; post: PublishedPost }
    | { state: 'failed'; reason: string }
  >;
  /** Publish caps (Instagram, Threads): how long until one more post is allowed; 0 when now. */
  capacity(tokens: TokenSet, account: PublishAccount): Promise<{ waitMs: number }>;
}

/** Where an adapter sends its calls and with which app credentials. */
export interface AdapterConfig {
  clientId: string;
  clientSecret: string;
  /** Replaces every host of the platform (the simulator, a proxy); empty means the real hosts. */
  baseUrl: string;
  /** Request timeout for one call. */
  timeoutMs: number;
}

// Analytics and inbox sync. Each adapter declares its streams (account metrics, its posts,
// per-post metrics, comments, DMs, mentions). The sync activity pages through each stream and
// stores what a page brings together with the stream's next cursor in one transaction, so a pass
// that stops (rate limit, token, crash) resumes at the page it stopped at and writes nothing twice.

/** A stream's position, owned by its adapter: page tokens, since/until, watermarks. JSON only. */
export type StreamCursor = Record<string, unknown>;

/**
 * One reading. Metric names are shared where the meaning is (views, reach, likes, comments,
 * shares, saves, followers, engagements, clicks, watch_minutes, sent, delivered, …).
 */
export interface MetricSample {
  objectKind: 'account' | 'media';
  /** The platform's id of the post; '' for the account. */
  objectId: string;
  metric: string;
  /** The day (YYYY-MM-DD, UTC) a daily series reports the value for; absent: a running total read now. */
  day?: string;
  value: number;
}

/** A post of the connected account, as listed by the platform. */
export interface SyncedMedia {
  externalId: string;
  publishedAt: Date;
  mediaType?: string;
  permalink?: string;
}

export interface InboundAttachment {
  /** What the platform names the file by (a WhatsApp media id); the bytes are fetched later. */
  externalId: string;
  mimeType?: string;
  sha256?: string;
}

export const THREAD_KINDS = ['comment', 'dm', 'mention'] as const;
export type ThreadKind = (typeof THREAD_KINDS)[number];

export interface InboundMessage {
  externalId: string;
  threadKind: ThreadKind;
  /** The post for comments, the conversation (or the other party) for DMs, the mentioning post. */
  threadExternalId: string;
  /** The message this one answers, when the platform says. */
  parentExternalId?: string;
  authorExternalId: string;
  authorName?: string;
  text: string;
  createdAt: Date;
  /** Written by the connected account itself (our replies, seen again by a later sync). */
  fromAccount: boolean;
  /** Hidden by the account (moderation); absent where the source does not say. */
  hidden?: boolean;
  attachments?: InboundAttachment[];
}

export interface SyncContext {
  now: Date;
  /** Known posts of the account, newest first, for per-post metrics and comments. */
  mediaIds: string[];
  /** Daily series are read again this many days back (platforms restate recent days). */
  lookbackDays: number;
  /** How far back the first pass reads daily series. */
  historyDays: number;
}

export interface StreamPage {
  metrics?: MetricSample[];
  media?: SyncedMedia[];
  messages?: InboundMessage[];
  /** Stored with this page's rows; the next call starts from it. */
  cursor: StreamCursor;
  /** This pass over the stream is complete; `cursor` is where the next pass begins. */
  done: boolean;
}

export interface SyncStream {
  /** Key of the stored cursor: account_metrics, account_totals, audience, media, media_metrics, comments, mentions, dms. */
  readonly name: string;
  fetch(tokens: TokenSet, account: PublishAccount, cursor: StreamCursor | null, ctx: SyncContext): Promise<StreamPage>;
}

/** Where a reply goes. */
export interface ReplyTarget {
  threadKind: ThreadKind;
  threadExternalId: string;
  /** The message answered (comment id, tweet id, wamid, conversation message id). */
  messageExternalId: string;
  /** The other party (IGSID, PSID, wa_id, X user id), for DMs. */
  recipientExternalId: string;
}

export type ReplyCheck =
  | { found: true; externalId: string }
  | { found: false }
  /** The platform cannot tell yet; ask again later. */
  | { found: 'unknown'; checkAfterMs: number };

export type ModerationAction = 'hide' | 'unhide' | 'delete';

export interface Inbox {
  /** Thread kinds a reply can be written to; the API refuses others. */
  readonly replyKinds: readonly ThreadKind[];
  readonly moderation: readonly ModerationAction[];
  /** The one write of a reply. A lost answer throws outcome_unknown. */
  reply(tokens: TokenSet, account: PublishAccount, target: ReplyTarget, text: string): Promise<{ externalId: string }>;
  /** Truth signal after a lost answer: a reply by the account under the target since `since` with this text. */
  findReply(
    tokens: TokenSet,
    account: PublishAccount,
    target: ReplyTarget,
    text: string,
    since: Date,
  ): Promise<ReplyCheck>;
  moderate(tokens: TokenSet, account: PublishAccount, target: ReplyTarget, action: ModerationAction): Promise<void>;
  /** Read receipts at the platform (WhatsApp). */
  markRead?(tokens: TokenSet, account: PublishAccount, messageExternalId: string): Promise<void>;
  /** An attachment's bytes (WhatsApp: a short-lived URL fetched with the token). */
  fetchAttachment?(
    tokens: TokenSet,
    account: PublishAccount,
    externalId: string,
  ): Promise<{ bytes: Uint8Array; mimeType: string }>;
}

/** One event of a webhook delivery, normalised. */
export interface WebhookEvent {
  /** The connected account it concerns (page id, IG user id, phone-number id, X user id, organisation URN). */
  accountExternalId: string;
  /** Unique per event at the platform, for dedup across redeliveries. */
  dedupeKey: string;
  message?: InboundMessage;
  /** A message deleted at the platform. */
  removed?: { externalId: string };
  /** A message hidden or shown again at the platform (its text stays). */
  hidden?: { externalId: string; hidden: boolean };
}

export interface Webhooks {
  /** The platform's endpoint check (hub.challenge, crc_token, challengeCode); undefined when the query is none. */
  handshake(query: Record<string, string>, verifyToken: string): { status: number; body: unknown } | undefined;
  /** Checks the signature over the raw body, with the app's secret. */
  verify(
    headers: Record<string, string | string[] | undefined>,
    rawBody: Buffer,
    nowMs: number,
  ): { ok: true } | { ok: false; reason: string };
  parse(body: unknown): WebhookEvent[];
}
