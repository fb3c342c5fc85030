// Best time to post, per connection, from the engagement its own published posts received.
// Pure: no I/O; the caller reads the posts and passes the connection's IANA timezone.
//
// Method (quoted in the README):
// 1. Slots. Each post falls into the slot of the weekday and hour it was published, in the
//    connection's timezone (converted with Intl.DateTimeFormat, so daylight-saving shifts are
//    respected). With 3-hour windows the slots are 00–03, 03–06, … local time.
// 2. Rates. Each post gets a relative engagement rate, where 1.0 is a typical post of this
//    connection: with a known reach, engagement ÷ reach divided by the median of that ratio over
//    the connection's posts with reach; without, engagement divided by the median engagement of the
//    posts without reach. Both kinds are on the same scale, so they pool. (A zero median falls back
//    to the mean.)
// 3. Scores. A slot's score is a Bayesian (shrunk) mean: (n · slot mean + k · overall mean) ÷ (n + k),
//    with n the slot's posts and prior weight k (default 3). A slot with one lucky post moves only a
//    quarter of the way from the overall mean toward it; a slot with many posts keeps its own mean.
// 4. Ranking. Slots with posts are ranked by score (ties: more posts, then earlier in the week); the
//    top N (default 3) are returned with score, raw mean, post count and a confidence: high when
//    n ≥ 3k (the slot's own posts outweigh the prior three to one), medium when n ≥ k, else low.
// 5. Too little data. With fewer than the minimum usable posts (default 10) nothing is recommended
//    (reason not_enough_data); if no post has any engagement, reason no_engagement.

export interface PostEngagement {
  publishedAt: Date;
  /** Likes + comments + shares + saves, or whatever total the platform reports. */
  engagement: number;
  /** People reached (or impressions); unknown or 0: the post is compared by engagement alone. */
  reach?: number | null;
}

export interface BestTimeOptions {
  /** Slot width: 1 hour (default) or 3-hour windows starting at local midnight. */
  windowHours?: 1 | 3;
  /** How many slots to return (default 3). */
  top?: number;
  /** k: how many "average posts" each slot's mean is blended with (default 3). */
  priorWeight?: number;
  /** Fewer usable posts than this: no recommendation (default 10). */
  minPosts?: number;
}

export type BestTimeConfidence = 'low' | 'medium' | 'high';

export interface BestTimeSlot {
  /** ISO weekday in the timezone: 1 = Monday … 7 = Sunday. */
  weekday: number;
  weekdayName: string;
  /** Local hour the slot starts at (0–23) and ends at (up to 24). */
  startHour: number;
  endHour: number;
  /** The shrunk mean rate; 1.0 = a typical post of the connection. */
  score: number;
  /** The slot's own mean rate, before shrinking. */
  mean: number;
  samples: number;
  confidence: BestTimeConfidence;
}

export interface BestTimeResult {
  timezone: string;
  windowHours: 1 | 3;
  /** Best first; empty when `reason` is set. */
  slots: BestTimeSlot[];
  /** Posts that were usable (a valid date and a finite, non-negative engagement). */
  posts: number;
  /** Mean rate over all usable posts: what every slot is shrunk toward. */
  overallMean: number;
  /** The method in words, with the parameters used, for the API and the UI. */
  method: string;
  reason?: 'not_enough_data' | 'no_engagement';
}

export const BEST_TIME_DEFAULTS = { windowHours: 1, top: 3, priorWeight: 3, minPosts: 10 } as const;

const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const SHORT_WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A formatter for the timezone; a RangeError naming it when it is not a known IANA zone. */
function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', { timeZone: timezone, weekday: 'short', hour: '2-digit', hourCycle: 'h23' });
    } catch {
      throw new RangeError(`unknown timezone "${timezone}"`);
    }
    formatters.set(timezone, f);
  }
  return f;
}

/** ISO weekday (1 = Monday) and hour (0–23) of an instant in a timezone. */
export function localWeekdayHour(date: Date, timezone: string): { weekday: number; hour: number } {
  const parts = formatter(timezone).formatToParts(date);
  const weekday = SHORT_WEEKDAYS[parts.find((p) => p.type === 'weekday')?.value ?? ''];
  const hour = Number(parts.find((p) => p.type === 'hour')?.value);
  if (weekday === undefined || !Number.isInteger(hour))
    throw new Error(`cannot read weekday/hour of ${date.toISOString()}`);
  // Some engines write midnight as 24 even with h23.
  return { weekday, hour: hour % 24 };
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);

/** Values divided by their median (by their mean if the median is 0), so 1.0 is typical. */
function relative(values: number[]): number[] {
  const scale = median(values) || mean(values) || 1;
  return values.map((v) => v / scale);
}

export function describeMethod(opts: Required<Omit<BestTimeOptions, 'top'>> & { timezone: string }): string {
  const k = opts.priorWeight;
  const slot = opts.windowHours === 3 ? '3-hour window (00–03, 03–06, …)' : 'hour';
  return (
    `Posts are grouped by the weekday and ${slot} they were published, in ${opts.timezone}. ` +
    'Each post’s engagement rate is engagement ÷ reach where reach is known, otherwise engagement, each ' +
    'divided by its median on this connection, so 1.0 is a typical post. ' +
    `A slot’s score is its mean rate shrunk toward the overall mean, (n × slot mean + ${k} × overall mean) ÷ (n + ${k}), ` +
    'so a slot with one lucky post does not win. ' +
    `Confidence is high with at least ${3 * k} posts in the slot, medium with at least ${k}, otherwise low. ` +
    `Fewer than ${opts.minPosts} posts give no recommendation.`
  );
}

export function bestTimesToPost(
  posts: readonly PostEngagement[],
  timezone: string,
  options: BestTimeOptions = {},
): BestTimeResult {
  const windowHours = options.windowHours ?? BEST_TIME_DEFAULTS.windowHours;
  const top = options.top ?? BEST_TIME_DEFAULTS.top;
  const k = options.priorWeight ?? BEST_TIME_DEFAULTS.priorWeight;
  const minPosts = options.minPosts ?? BEST_TIME_DEFAULTS.minPosts;
  if (windowHours !== 1 && windowHours !== 3) throw new RangeError('windowHours must be 1 or 3');
  if (!Number.isInteger(top) || top < 1) throw new RangeError('top must be a positive integer');
  if (!(k >= 0) || !Number.isFinite(k)) throw new RangeError('priorWeight must be a non-negative number');
  formatter(timezone); // an unknown timezone fails even when there are no posts
  const method = describeMethod({ windowHours, priorWeight: k, minPosts, timezone });

  const usable = posts.filter(
    (p) =>
      p.publishedAt instanceof Date &&
      !Number.isNaN(p.publishedAt.getTime()) &&
      Number.isFinite(p.engagement) &&
      p.engagement >= 0,
  );
  const empty = (reason: BestTimeResult['reason'], overallMean = 0): BestTimeResult => ({
    timezone,
    windowHours,
    slots: [],
    posts: usable.length,
    overallMean,
    method,
    reason,
  });
  if (usable.length < minPosts || usable.length === 0) return empty('not_enough_data');
  if (usable.every((p) => p.engagement === 0)) return empty('no_engagement');

  // Rates on one scale: per reach where known, per post otherwise, each relative to its own median.
  const hasReach = (p: PostEngagement) => typeof p.reach === 'number' && Number.isFinite(p.reach) && p.reach > 0;
  const withReach = usable.filter(hasReach);
  const withoutReach = usable.filter((p) => !hasReach(p));
  const rates = new Map<PostEngagement, number>();
  const reachRates = relative(withReach.map((p) => p.engagement / (p.reach as number)));
  withReach.forEach((p, i) => {
    rates.set(p, reachRates[i] as number);
  });
  const plainRates = relative(withoutReach.map((p) => p.engagement));
  withoutReach.forEach((p, i) => {
    rates.set(p, plainRates[i] as number);
  });

  const overallMean = mean([...rates.values()]);
  const slots = new Map<number, { weekday: number; startHour: number; rates: number[] }>();
  for (const post of usable) {
    const { weekday, hour } = localWeekdayHour(post.publishedAt, timezone);
    const startHour = hour - (hour % windowHours);
    const id = weekday * 24 + startHour;
    let slot = slots.get(id);
    if (!slot) {
      slot = { weekday, startHour, rates: [] };
      slots.set(id, slot);
    }
    slot.rates.push(rates.get(post) as number);
  }

  const ranked = [...slots.values()]
    .map((s): BestTimeSlot => {
      const n = s.rates.length;
      const slotMean = mean(s.rates);
      return {
        weekday: s.weekday,
        weekdayName: WEEKDAYS[s.weekday - 1] as string,
        startHour: s.startHour,
        endHour: s.startHour + windowHours,
        score: (n * slotMean + k * overallMean) / (n + k),
        mean: slotMean,
        samples: n,
        confidence: n >= 3 * k ? 'high' : n >= k ? 'medium' : 'low',
      };
    })
    .sort((a, b) => b.score - a.score || b.samples - a.samples || a.weekday - b.weekday || a.startHour - b.startHour);
  return { timezone, windowHours, slots: ranked.slice(0, top), posts: usable.length, overallMean, method };
}
