import { expect } from 'vitest';
import type {
  AdapterConfig,
  InboundMessage,
  MetricSample,
  PlatformAdapter,
  PlatformId,
  PublishAccount,
  ReplyTarget,
  StreamCursor,
  StreamPage,
  SyncContext,
  SyncedMedia,
  SyncStream,
  ThreadKind,
  TokenSet,
  Webhooks,
} from '../../platforms/types.ts';
import type { SimMessage, SimPost } from '../../simulators/content.ts';
import type { PlatformSim, WriteRecord } from '../../simulators/core.ts';
import { signDelivery } from '../../simulators/webhooks.ts';
import { admin, connectDirect, platformFailure, simAdapterConfig, useSimulator } from './contract.ts';

// What the sync tests (test/platforms/sync-*.test.ts) share: paging a stream to done, passes over
// every stream, the simulator's admin calls (seed, bump, faults, writes), reading through a throttled
// page, lost and dropped replies, and signed webhook deliveries.

export const DAY_MS = 86_400_000;
export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export type Seeded = { posts: SimPost[]; messages: SimMessage[] };
type Create = (config: AdapterConfig) => PlatformAdapter;

/** An adapter connected through OAuth to its simulator's first account. */
export interface Connected {
  adapter: PlatformAdapter;
  tokens: TokenSet;
  account: PublishAccount;
  platform: PlatformSim;
  /** The simulator account: the key of its content store (for Facebook not the Page id, for WhatsApp not the number). */
  key: string;
}

export function stream(adapter: PlatformAdapter, name: string): SyncStream {
  const found = adapter.streams.find((s) => s.name === name);
  if (!found) throw new Error(`${adapter.platform} has no ${name} stream`);
  return found;
}

/** What one pass over a stream read. */
export interface Pass {
  pages: number;
  cursor: StreamCursor;
  media: SyncedMedia[];
  metrics: MetricSample[];
  messages: InboundMessage[];
}

/** Pages a stream from `cursor` until done, as the sync activity does. */
export async function drain(
  s: SyncStream,
  tokens: TokenSet,
  account: PublishAccount,
  cursor: StreamCursor | null,
  ctx: SyncContext,
): Promise<Pass> {
  const pass: Pass = { pages: 0, cursor: cursor ?? {}, media: [], metrics: [], messages: [] };
  let at = cursor;
  for (let i = 0; i < 500; i++) {
    const page = await s.fetch(tokens, account, at, ctx);
    pass.pages++;
    pass.media.push(...(page.media ?? []));
    pass.metrics.push(...(page.metrics ?? []));
    pass.messages.push(...(page.messages ?? []));
    at = page.cursor;
    // The cursor is stored as JSON with the page's rows.
    expect(JSON.parse(JSON.stringify(page.cursor))).toEqual(page.cursor);
    if (page.done) {
      pass.cursor = page.cursor;
      return pass;
    }
  }
  throw new Error(`${s.name} never finished`);
}

/** One pass over a connected adapter's stream from `cursor` until done. */
export const pass = (x: Connected, name: string, cursor: StreamCursor | null, ctx: SyncContext) =>
  drain(stream(x.adapter, name), x.tokens, x.account, cursor, ctx);

export const ctxOf = (now: Date, mediaIds: string[] = [], historyDays = 45): SyncContext => ({
  now,
  mediaIds,
  lookbackDays: 3,
  historyDays,
});

export const metricOf = (metrics: MetricSample[], objectId: string, metric: string, day?: string) =>
  metrics.find((m) => m.objectId === objectId && m.metric === metric && m.day === day)?.value;

/** Account totals as account_totals reports them: running totals (no day), in this order. */
export const accountTotals = (values: Record<string, number>): MetricSample[] =>
  Object.entries(values).map(([metric, value]) => ({ objectKind: 'account', objectId: '', metric, value }));

export const metricKey = (m: Pick<MetricSample, 'objectId' | 'metric' | 'day'>) =>
  `${m.objectId}|${m.metric}|${m.day ?? ''}`;
export const metricMap = (metrics: MetricSample[]) => new Map(metrics.map((m) => [metricKey(m), m.value]));

/** `read` holds every seeded message of `kind`, each once. */
export function expectEachOnce(read: InboundMessage[], seeded: SimMessage[], kind: SimMessage['kind']) {
  expect(read.map((m) => m.externalId).sort()).toEqual(
    seeded
      .filter((m) => m.kind === kind)
      .map((m) => m.id)
      .sort(),
  );
}

/** Rows of any kind on a page. */
export const rowCount = (p: StreamPage) =>
  (p.media?.length ?? 0) + (p.messages?.length ?? 0) + (p.metrics?.length ?? 0);

export type Passes = Record<string, Pass>;
/** A pass over every stream: what each read, and the posts known after it. */
export interface FullPass {
  out: Passes;
  mediaIds: string[];
}

/** The metrics of a second full pass carry the values the first one read, for as many posts. */
export function expectSameMetrics(out: Passes, again: Passes): MetricSample[] {
  const first = metricMap([
    ...out.account_metrics!.metrics,
    ...out.media_metrics!.metrics,
    ...out.account_totals!.metrics,
    ...(out.audience?.metrics ?? []),
  ]);
  const second = [
    ...again.account_metrics!.metrics,
    ...again.media_metrics!.metrics,
    ...again.account_totals!.metrics,
    ...(again.audience?.metrics ?? []),
  ];
  expect(again.audience?.metrics.length).toBe(out.audience?.metrics.length);
  expect(again.media_metrics!.metrics).toHaveLength(out.media_metrics!.metrics.length);
  for (const m of second) expect(m.value).toBe(first.get(metricKey(m)));
  return second;
}

/**
 * Pages 1 to 3 of `s` while a fault refuses the second page once: page 1 is not the last, the
 * refusal is a PlatformError, the same cursor then reads page 2 (and the same page on a repeat), and
 * page 3 is the last. Returns page 1, the refusal and the media ids of the three pages.
 */
export async function readPastThrottle(s: SyncStream, tokens: TokenSet, account: PublishAccount, ctx: SyncContext) {
  const page1 = await s.fetch(tokens, account, null, ctx);
  expect(page1.done).toBe(false);
  const throttled = await platformFailure(s.fetch(tokens, account, page1.cursor, ctx));
  const page2 = await s.fetch(tokens, account, page1.cursor, ctx);
  expect(await s.fetch(tokens, account, page1.cursor, ctx)).toEqual(page2);
  const page3 = await s.fetch(tokens, account, page2.cursor, ctx);
  expect(page3.done).toBe(true);
  const ids = [page1, page2, page3].flatMap((p) => p.media ?? []).map((m) => m.externalId);
  return { page1, throttled, ids };
}

/**
 * Reads a stream's first two pages (page 1 is not the last, page 2 has rows), then `throttle`s it:
 * page 1 reads the same, the second page is refused with a PlatformError, and the same cursor then
 * reads what page 2 was.
 */
export async function refusedThenResumed(
  x: Connected,
  name: string,
  ctx: SyncContext,
  throttle: () => Promise<unknown>,
) {
  const s = stream(x.adapter, name);
  const first = await s.fetch(x.tokens, x.account, null, ctx);
  expect(first.done).toBe(false);
  const truth = await s.fetch(x.tokens, x.account, first.cursor, ctx);
  expect(rowCount(truth)).toBeGreaterThan(0);
  await throttle();
  expect(await s.fetch(x.tokens, x.account, null, ctx)).toEqual(first);
  const err = await platformFailure(s.fetch(x.tokens, x.account, first.cursor, ctx));
  const resumed = await s.fetch(x.tokens, x.account, first.cursor, ctx);
  expect(resumed).toEqual(truth);
  return { first, truth, err, resumed };
}

/** An audience breakdown's metric names: `audience.<dimension>.<value>` (or audience_pct) for each value. */
export const audienceNames = (dimension: string, values: readonly string[], prefix = 'audience') =>
  values.map((v) => `${prefix}.${dimension}.${v}`);

/**
 * The audience stream of a connection: one page with cursor `{}`, running totals of the account
 * (returned); a second pass from that cursor reads the same; then `throttle` refuses it with
 * rate_limited, and the same cursor reads the same again.
 */
export async function audienceTwiceAndThrottled(
  adapter: PlatformAdapter,
  tokens: TokenSet,
  account: PublishAccount,
  ctx: SyncContext,
  throttle: () => Promise<unknown>,
): Promise<MetricSample[]> {
  const s = stream(adapter, 'audience');
  const first = await drain(s, tokens, account, null, ctx);
  expect(first).toMatchObject({ pages: 1, cursor: {} });
  for (const m of first.metrics)
    expect(m).toEqual({ objectKind: 'account', objectId: '', metric: m.metric, value: m.value });
  expect(new Set(first.metrics.map((m) => m.metric)).size).toBe(first.metrics.length);
  expect((await drain(s, tokens, account, first.cursor, ctx)).metrics).toEqual(first.metrics);
  await throttle();
  expect((await platformFailure(s.fetch(tokens, account, first.cursor, ctx))).kind).toBe('rate_limited');
  expect((await s.fetch(tokens, account, first.cursor, ctx)).metrics).toEqual(first.metrics);
  return first.metrics;
}

/** Where a reply to `m` goes: by default under its own thread. */
export const replyTarget = (threadKind: ThreadKind, m: SimMessage, threadExternalId = m.threadId): ReplyTarget => ({
  threadKind,
  threadExternalId,
  messageExternalId: m.id,
  recipientExternalId: m.authorId,
});

/** The simulator's copy of a message, as the adapter's writes left it. */
export const stored = (x: Pick<Connected, 'platform'>, id: string) =>
  x.platform.content.messages.find((m) => m.id === id) as SimMessage;

export interface Delivery {
  raw: Buffer;
  headers: Record<string, string>;
  /** The body as the receiver parses it. */
  body: unknown;
}

/** A webhook body as the platform's simulator signs it. */
export function signed(platform: PlatformSim, body: unknown): Delivery {
  const raw = JSON.stringify(body);
  return { raw: Buffer.from(raw), headers: signDelivery(platform, raw), body: JSON.parse(raw) };
}

/** The simulator's signed webhook delivery for a message in its store. */
export const deliveryOf = (x: Pick<Connected, 'platform'>, id: string) =>
  signed(x.platform, x.platform.webhookFor!(stored(x, id)));

/** The delivery verifies as signed; a copy of it that `tamper` changes does not. */
export function expectSignedOnly(hooks: Webhooks, d: Delivery, tamper: (copy: Buffer) => void) {
  expect(hooks.verify(d.headers, d.raw, Date.now())).toEqual({ ok: true });
  const tampered = Buffer.from(d.raw);
  tamper(tampered);
  expect(hooks.verify(d.headers, tampered, Date.now()).ok).toBe(false);
}

/** Meta's hub.challenge: echoed for the right verify token, 403 for another. */
export function expectHubChallenge(hooks: Webhooks, challenge: string, token: string, otherToken: string) {
  const query = (verifyToken: string) => ({
    'hub.mode': 'subscribe',
    'hub.challenge': challenge,
    'hub.verify_token': verifyToken,
  });
  expect(hooks.handshake(query(token), token)).toEqual({ status: 200, body: challenge });
  expect(hooks.handshake(query(otherToken), token)?.status).toBe(403);
}

/**
 * One simulator for the calling file (started, closed, reset before each test) and its admin calls.
 * The functions may be destructured; `sim` is read through the returned object.
 */
export function useSyncSimulator() {
  const env = useSimulator();
  const sim = () => env.sim;

  const writes = (platform: string, route: string) =>
    admin<WriteRecord[]>(sim(), 'GET', `/${platform}/writes?route=${route}`);
  const calls = async (platform: string, route: string) =>
    (await admin<unknown[]>(sim(), 'GET', `/${platform}/calls?route=${route}`)).length;
  const fault = (platform: string, body: Record<string, unknown>) => admin(sim(), 'POST', `/${platform}/faults`, body);
  const seed = (platform: string, body: Record<string, unknown>) =>
    admin<Seeded>(sim(), 'POST', `/${platform}/content/seed`, body);
  const bump = (platform: string, body: Record<string, unknown>) =>
    admin(sim(), 'POST', `/${platform}/content/bump`, body);
  const content = (platform: string) => admin<Seeded>(sim(), 'GET', `/${platform}/content`);
  /** A message the platform receives now (or at `createdAt`). */
  const addMessage = (platform: string, body: Record<string, unknown>) =>
    admin<SimMessage>(sim(), 'POST', `/${platform}/content/messages`, body);
  const advanceClock = (ms: number) => admin(sim(), 'POST', '/clock', { advanceMs: ms });

  async function simNow(): Promise<Date> {
    const { now } = await admin<{ now: string }>(sim(), 'GET', '/clock');
    return new Date(now);
  }

  /** A token for a fresh account, without expiry: tests move the clock by days. */
  async function mint(platform: string, scopes: string[]): Promise<{ tokens: TokenSet; accountId: string }> {
    const { accountId, accessToken } = await admin<{ accountId: string; accessToken: string }>(
      sim(),
      'POST',
      `/${platform}/tokens`,
      { scopes, ttlS: null },
    );
    return { tokens: { accessToken, scopes }, accountId };
  }

  const adapter = (create: Create, platform: PlatformId) => create(simAdapterConfig(sim(), platform));

  async function connect(create: Create, platform: PlatformId): Promise<Connected> {
    const connected = adapter(create, platform);
    const { tokens } = await connectDirect(connected);
    const profile = await connected.profile(tokens);
    const simPlatform = sim().platforms.get(platform) as PlatformSim;
    return {
      adapter: connected,
      tokens,
      account: { externalId: profile.externalId, ids: profile.ids ?? {} },
      platform: simPlatform,
      key: simPlatform.firstAccount().id,
    };
  }

  /** The sync context at the simulator's clock. */
  const context = (historyDays: number, mediaIds: string[] = []) =>
    ctxOf(new Date(sim().clock.now()), mediaIds, historyDays);

  /**
   * A pass over every stream in the adapter's order, from scratch or from where `after` stopped; posts
   * it lists join the known ones, newest first.
   */
  async function fullPass(x: Connected, historyDays: number, after?: FullPass): Promise<FullPass> {
    const out: Passes = {};
    const known = after?.mediaIds ?? [];
    let mediaIds = known;
    for (const s of x.adapter.streams) {
      out[s.name] = await pass(x, s.name, after?.out[s.name]?.cursor ?? null, context(historyDays, mediaIds));
      if (s.name === 'media') {
        const listed = out[s.name]?.media.map((m) => m.externalId) ?? [];
        mediaIds = [...new Set([...listed, ...known])];
      }
    }
    return { out, mediaIds };
  }

  /** Injects a `drop_after` or `drop` fault on `route`, sends, expects outcome_unknown; the route's writes after. */
  async function unknownOutcome(
    platform: string,
    route: string,
    kind: 'drop_after' | 'drop',
    send: () => Promise<unknown>,
  ): Promise<WriteRecord[]> {
    await fault(platform, { route, kind });
    expect((await platformFailure(send())).kind).toBe('outcome_unknown');
    return writes(platform, route);
  }

  return {
    get sim() {
      return env.sim;
    },
    writes,
    calls,
    fault,
    seed,
    bump,
    content,
    addMessage,
    advanceClock,
    simNow,
    mint,
    adapter,
    connect,
    context,
    fullPass,
    unknownOutcome,
  };
}
