import { timingSafeEqual } from 'node:crypto';
import { asRecord } from './http.ts';
import type { MetricSample, PublishAccount, StreamCursor, SyncContext, SyncStream, TokenSet } from './types.ts';

// What the adapters' sync code shares, as pure helpers: UTC days, stored cursors, daily passes with
// a lookback, newest-first lists read down to a watermark, and per-post batches over ctx.mediaIds.
// Each adapter still makes its own calls and reads its own shapes.

export const DAY_MS = 86_400_000;
/** The UTC day (YYYY-MM-DD) of a time. */
export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
/** The day `n` days after `day` (before it for a negative n). */
export const addDays = (day: string, n: number) => dayOf(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS);

/** A non-empty string, else undefined. */
export const str = (value: unknown): string | undefined => (typeof value === 'string' && value ? value : undefined);
/** A finite number, else undefined. */
export const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

/**
 * findReply after a lost answer (the non-Meta adapters): at most this many pages, back to this long
 * before the attempt, for the difference between our clock and the platform's.
 */
export const FIND_PAGES = 5;
export const FIND_SKEW_MS = 2 * 60_000;

/** A cursor keeps no undefined fields: it is stored as JSON, and compared. */
export const compact = (cursor: object): StreamCursor =>
  Object.fromEntries(Object.entries(cursor).filter(([, v]) => v !== undefined));

/** The days a daily pass reads, and the last day with data seen so far (the cursor's `last`). */
export interface DailyPass {
  from: string;
  to: string;
  last?: string;
  /** Inside a pass: the cursor named the days, and its own position (a page, a part). */
  resumed: boolean;
}

/**
 * Where a daily pass is. A new pass reads `historyDays` back the first time, and later from the
 * last day with data less `lookbackDays` (platforms restate recent days), up to today.
 */
export function dailyPass(cursor: StreamCursor | null, ctx: SyncContext): DailyPass {
  const last = str(cursor?.last);
  if (typeof cursor?.from === 'string' && typeof cursor.to === 'string') {
    return { from: cursor.from, to: cursor.to, last, resumed: true };
  }
  const to = dayOf(ctx.now.getTime());
  return { from: last ? addDays(last, -ctx.lookbackDays) : addDays(to, -ctx.historyDays), to, last, resumed: false };
}

/** The later of the last day with data so far and a day that has data. */
export const laterDay = (last: string | undefined, day: string) => (!last || day > last ? day : last);

/**
 * A daily pass's cursor after a page: `{from, to, …next, last}` while it goes on (`next`: where),
 * `{last}` once it is done.
 */
export function dailyCursor(
  pass: DailyPass,
  last: string | undefined,
  next: StreamCursor | undefined,
): { cursor: StreamCursor; done: boolean } {
  return next
    ? { cursor: compact({ from: pass.from, to: pass.to, ...next, last }), done: false }
    : { cursor: compact({ last }), done: true };
}

/** How a newest-first list is ordered, and how its watermark is stored. */
export interface Order<T, M> {
  /** A stored mark, or undefined when there is none (or it is not one). */
  read(value: unknown): M | undefined;
  /** The mark an item leaves. */
  of(item: T): M | undefined;
  /** The item is the mark or older: the pass before has read it. */
  reached(item: T, mark: M): boolean;
}

/** A place in a newest-first list: an item's id and time (ms). */
export interface Mark {
  id: string;
  at: number;
}

/** Lists ordered by time: an item of the mark's time that is not the mark is new. */
export const byTime: Order<Mark, Mark> = {
  read(value) {
    const m = asRecord(value);
    return typeof m.id === 'string' && typeof m.at === 'number' ? { id: m.id, at: m.at } : undefined;
  },
  of: (item) => ({ id: item.id, at: item.at }),
  reached: (item, mark) => item.id === mark.id || item.at < mark.at,
};

/**
 * One page of a newest-first list read down to the watermark: `mark`, the newest item of the pass
 * before. The pass ends on the page that reaches it, or on the last page (no `next`).
 * Cursor: `{mark}` between passes; `{mark, …next, newest}` inside one, `newest` being this pass's.
 */
export function watermarkPage<T, M>(
  cursor: StreamCursor | null,
  items: T[],
  order: Order<NoInfer<T>, M>,
  next: StreamCursor | undefined,
): { fresh: T[]; cursor: StreamCursor; done: boolean } {
  const mark = order.read(cursor?.mark);
  const stop = mark === undefined ? -1 : items.findIndex((item) => order.reached(item, mark));
  const fresh = stop === -1 ? items : items.slice(0, stop);
  const first = items[0];
  const newest = order.read(cursor?.newest) ?? (first === undefined ? undefined : order.of(first));
  if (stop === -1 && next) return { fresh, cursor: compact({ mark, ...next, newest }), done: false };
  return { fresh, cursor: compact({ mark: newest ?? mark }), done: true };
}

/**
 * media_metrics: lifetime counters of the known posts (ctx.mediaIds), `batch` ids a page.
 * Cursor: `{offset}` inside a pass, `{}` between passes.
 */
export function mediaMetricsStream(
  batch: number,
  read: (tokens: TokenSet, account: PublishAccount, ids: string[]) => Promise<MetricSample[]>,
): SyncStream {
  return {
    name: 'media_metrics',
    async fetch(tokens, account, cursor, ctx) {
      const offset = typeof cursor?.offset === 'number' ? cursor.offset : 0;
      const ids = ctx.mediaIds.slice(offset, offset + batch);
      if (!ids.length) return { cursor: {}, done: true };
      const metrics = await read(tokens, account, ids);
      const next = offset + ids.length;
      return next < ctx.mediaIds.length
        ? { metrics, cursor: { offset: next }, done: false }
        : { metrics, cursor: {}, done: true };
    },
  };
}

/** Current values read with one call: one page, nothing to resume (cursor `{}`). */
export function totalsStream(
  name: string,
  read: (tokens: TokenSet, account: PublishAccount, ctx: SyncContext) => Promise<MetricSample[]>,
): SyncStream {
  return {
    name,
    async fetch(tokens, account, _cursor, ctx) {
      return { metrics: await read(tokens, account, ctx), cursor: {}, done: true };
    },
  };
}

// audience: who follows (or watches) the account, as running totals of the account named
// `audience.<dimension>.<value>` (counts) or `audience_pct.<dimension>.<value>` (where the platform
// gives only percentages), read with totalsStream after account_totals. YouTube, Instagram, Threads
// and LinkedIn pages have breakdowns; Facebook (its page_fans_* demographics are deprecated), X,
// TikTok and WhatsApp offer none. A value that drops out of a breakdown keeps its last stored row.

export type AudienceDimension =
  | 'age'
  | 'gender'
  | 'age_gender'
  | 'country'
  | 'city'
  | 'seniority'
  | 'function'
  | 'industry';

/** The length a metric name is stored with (db/entities/sync.ts): long city names are cut to it. */
const METRIC_NAME_MAX = 60;

/** One audience breakdown value as a running total of the account. */
export function audienceSample(
  dimension: AudienceDimension,
  value: string,
  n: number,
  unit: 'count' | 'pct' = 'count',
): MetricSample {
  const metric = `${unit === 'pct' ? 'audience_pct' : 'audience'}.${dimension}.${value}`;
  return { objectKind: 'account', objectId: '', metric: metric.slice(0, METRIC_NAME_MAX), value: n };
}

/** Webhook signatures and tokens are compared in constant time. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
