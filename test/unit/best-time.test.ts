import { describe, expect, it } from 'vitest';
import { BEST_TIME_DEFAULTS, bestTimesToPost, localWeekdayHour, type PostEngagement } from '../../domain/best-time.ts';

const HOUR = 3_600_000;
const WEEK = 7 * 24 * HOUR;
/** Monday 5 January 2026, 00:00 UTC. */
const MONDAY_UTC = Date.parse('2026-01-05T00:00:00Z');

/** `count` posts at weekday (1 = Monday) and hour UTC, one a week apart so they share the slot. */
function posts(weekday: number, hour: number, count: number, engagement: number, reach?: number): PostEngagement[] {
  return Array.from({ length: count }, (_, i) => ({
    publishedAt: new Date(MONDAY_UTC + (weekday - 1) * 24 * HOUR + hour * HOUR + i * WEEK),
    engagement,
    reach,
  }));
}

describe('local weekday and hour', () => {
  it.each([
    ['2026-01-05T14:30:00Z', 'UTC', 1, 14],
    ['2026-01-05T14:30:00Z', 'America/New_York', 1, 9], // EST, UTC-5
    ['2026-07-06T14:30:00Z', 'America/New_York', 1, 10], // EDT, UTC-4
    ['2026-01-05T02:00:00Z', 'America/New_York', 7, 21], // still Sunday evening there
    ['2026-01-05T20:45:00Z', 'Asia/Kolkata', 2, 2], // UTC+5:30, past midnight
    ['2026-01-04T23:30:00Z', 'Europe/Berlin', 1, 0], // midnight is hour 0, not 24
    ['2026-03-29T01:30:00Z', 'Europe/Berlin', 7, 3], // the first hour of summer time (02:00 is skipped)
  ])('%s in %s is weekday %i, hour %i', (iso, tz, weekday, hour) => {
    expect(localWeekdayHour(new Date(iso), tz)).toEqual({ weekday, hour });
  });

  it('names an unknown timezone', () => {
    expect(() => localWeekdayHour(new Date(), 'Mars/Olympus_Mons')).toThrow(/unknown timezone "Mars\/Olympus_Mons"/);
    expect(() => bestTimesToPost([], 'Not/AZone')).toThrow(RangeError);
  });
});

describe('best time to post', () => {
  it('recommends nothing below the minimum number of usable posts', () => {
    const few = posts(2, 10, 9, 50);
    const result = bestTimesToPost(
      [
        ...few,
        { publishedAt: new Date(Number.NaN), engagement: 5 },
        { publishedAt: new Date(), engagement: Number.NaN },
      ],
      'UTC',
    );
    expect(result).toMatchObject({ slots: [], reason: 'not_enough_data', posts: 9 });
    expect(result.method).toMatch(/Fewer than 10 posts/);
    expect(bestTimesToPost([], 'UTC')).toMatchObject({ slots: [], reason: 'not_enough_data', posts: 0 });
    // One more usable post is enough.
    expect(bestTimesToPost(posts(2, 10, 10, 50), 'UTC').slots).toHaveLength(1);
    expect(bestTimesToPost(posts(2, 10, 4, 50), 'UTC', { minPosts: 4 }).reason).toBeUndefined();
  });

  it('says when no post has any engagement', () => {
    expect(bestTimesToPost(posts(3, 9, 12, 0), 'UTC')).toMatchObject({ slots: [], reason: 'no_engagement' });
  });

  it('shrinks toward the overall mean so one lucky post does not beat a consistent slot', () => {
    const data = [
      ...posts(2, 10, 10, 30), // Tuesday 10:00: consistently good
      ...posts(4, 9, 10, 10), // Thursday 09:00: weak
      ...posts(3, 15, 1, 45), // Wednesday 15:00: one lucky post
    ];
    // Median engagement is 30, so the rates are 1, 1/3 and 1.5; the overall mean is (10 + 10/3 + 1.5) / 21.
    const overall = (10 + 10 / 3 + 1.5) / 21;
    const shrunk = bestTimesToPost(data, 'UTC');
    expect(shrunk.overallMean).toBeCloseTo(overall, 10);
    expect(shrunk.slots.map((s) => [s.weekdayName, s.startHour])).toEqual([
      ['Tuesday', 10],
      ['Wednesday', 15],
      ['Thursday', 9],
    ]);
    const [tue, wed] = shrunk.slots;
    expect(tue).toMatchObject({ weekday: 2, endHour: 11, samples: 10, mean: 1, confidence: 'high' });
    expect(tue!.score).toBeCloseTo((10 * 1 + 3 * overall) / 13, 10);
    expect(wed).toMatchObject({ samples: 1, mean: 1.5, confidence: 'low' });
    expect(wed!.score).toBeCloseTo((1.5 + 3 * overall) / 4, 10);

    // Without the prior the lucky post would win.
    const raw = bestTimesToPost(data, 'UTC', { priorWeight: 0 });
    expect(raw.slots[0]).toMatchObject({ weekdayName: 'Wednesday', startHour: 15, score: 1.5 });
  });

  it('a stronger prior needs more evidence', () => {
    const data = [...posts(1, 8, 12, 10), ...posts(5, 18, 2, 14)];
    expect(bestTimesToPost(data, 'UTC', { priorWeight: 1 }).slots[0]?.weekdayName).toBe('Friday');
    const strong = bestTimesToPost(data, 'UTC', { priorWeight: 50 });
    // Both scores are pulled almost to the overall mean; Friday still leads, barely.
    const [first, second] = strong.slots;
    expect(first!.score - second!.score).toBeLessThan(0.05);
    expect(strong.slots.every((s) => Math.abs(s.score - strong.overallMean) < 0.06)).toBe(true);
  });

  it('uses engagement per reach where reach is known', () => {
    const data = [
      ...posts(1, 12, 6, 100, 10_000), // many likes, 1 % of a huge reach
      ...posts(2, 18, 6, 40, 1_000), // fewer likes, 4 % of a small reach
    ];
    const result = bestTimesToPost(data, 'UTC');
    expect(result.slots[0]).toMatchObject({ weekdayName: 'Tuesday', startHour: 18 });
    // Rates 0.01 and 0.04, median 0.025: relative rates 0.4 and 1.6.
    expect(result.slots[0]?.mean).toBeCloseTo(1.6, 10);
    expect(result.slots[1]?.mean).toBeCloseTo(0.4, 10);
    // Engagement alone would have said Monday.
    const noReach = bestTimesToPost(
      data.map((p) => ({ ...p, reach: undefined })),
      'UTC',
    );
    expect(noReach.slots[0]).toMatchObject({ weekdayName: 'Monday', startHour: 12 });
  });

  it('pools posts with and without reach on one scale (1.0 = typical)', () => {
    const data = [
      ...posts(1, 9, 5, 50, 1000), // 5 % of reach: the typical reach post
      ...posts(3, 9, 5, 200), // no reach: the typical no-reach post
      ...posts(5, 9, 1, 100, 1000), // 10 %: twice the typical reach post
      ...posts(6, 9, 1, 400), // twice the typical no-reach post
    ];
    const result = bestTimesToPost(data, 'UTC', { top: 4, priorWeight: 0 });
    const byDay = Object.fromEntries(result.slots.map((s) => [s.weekdayName, s.mean]));
    expect(byDay).toEqual({ Monday: 1, Wednesday: 1, Friday: 2, Saturday: 2 });
    // A zero reach is treated as unknown rather than dividing by zero.
    const zeroReach = bestTimesToPost([...data, ...posts(7, 9, 1, 200, 0)], 'UTC', { top: 5, priorWeight: 0 });
    expect(zeroReach.slots.find((s) => s.weekdayName === 'Sunday')?.mean).toBe(1);
  });

  it('buckets in the connection’s timezone, across daylight saving', () => {
    // 13:00 UTC in January and 12:00 UTC in July are both 08:00 in New York.
    const winter = Array.from({ length: 6 }, (_, i) => ({
      publishedAt: new Date(Date.parse('2026-01-06T13:00:00Z') + i * WEEK),
      engagement: 90,
    }));
    const summer = Array.from({ length: 6 }, (_, i) => ({
      publishedAt: new Date(Date.parse('2026-06-02T12:00:00Z') + i * WEEK),
      engagement: 90,
    }));
    const filler = posts(4, 20, 6, 30);
    const ny = bestTimesToPost([...winter, ...summer, ...filler], 'America/New_York');
    expect(ny.timezone).toBe('America/New_York');
    expect(ny.slots[0]).toMatchObject({ weekdayName: 'Tuesday', startHour: 8, samples: 12 });
    // In UTC the same posts split into two slots.
    const utc = bestTimesToPost([...winter, ...summer, ...filler], 'UTC');
    expect(utc.slots.filter((s) => s.weekday === 2).map((s) => [s.startHour, s.samples])).toEqual([
      [12, 6],
      [13, 6],
    ]);
    expect(ny.method).toContain('America/New_York');
  });

  it('can use 3-hour windows aligned to local midnight', () => {
    const at = (iso: string, engagement: number) => ({ publishedAt: new Date(iso), engagement });
    const data = [
      at('2026-01-06T09:10:00+01:00', 80),
      at('2026-01-13T10:50:00+01:00', 80),
      at('2026-01-20T11:59:00+01:00', 80),
      at('2026-01-20T12:00:00+01:00', 20), // the next window
      ...posts(4, 3, 8, 20),
    ];
    const result = bestTimesToPost(data, 'Europe/Paris', { windowHours: 3 });
    expect(result.windowHours).toBe(3);
    expect(result.slots[0]).toMatchObject({ weekdayName: 'Tuesday', startHour: 9, endHour: 12, samples: 3 });
    expect(result.slots.find((s) => s.startHour === 12)).toMatchObject({ samples: 1 });
    expect(result.slots.every((s) => s.startHour % 3 === 0)).toBe(true);
    expect(result.method).toMatch(/3-hour window/);
  });

  it('labels confidence by sample count relative to the prior weight', () => {
    const data = [...posts(1, 8, 1, 10), ...posts(2, 8, 3, 10), ...posts(3, 8, 9, 10), ...posts(4, 8, 8, 10)];
    const result = bestTimesToPost(data, 'UTC', { top: 4 });
    const byDay = Object.fromEntries(result.slots.map((s) => [s.weekdayName, s.confidence]));
    expect(byDay).toEqual({ Monday: 'low', Tuesday: 'medium', Wednesday: 'high', Thursday: 'medium' });
  });

  it('returns the top N, breaking score ties by sample count then by time of week', () => {
    const data = [...posts(5, 9, 4, 10), ...posts(2, 9, 4, 10), ...posts(2, 7, 6, 10)];
    const result = bestTimesToPost(data, 'UTC', { top: 2 });
    expect(result.slots.map((s) => [s.weekday, s.startHour])).toEqual([
      [2, 7],
      [2, 9],
    ]);
    expect(bestTimesToPost(data, 'UTC').slots).toHaveLength(BEST_TIME_DEFAULTS.top);
  });

  it('documents the method with the parameters used', () => {
    const result = bestTimesToPost(posts(1, 8, 12, 10), 'Europe/London', { priorWeight: 5, minPosts: 12 });
    expect(result.method).toContain('5 × overall mean');
    expect(result.method).toContain('at least 15 posts');
    expect(result.method).toContain('Fewer than 12 posts');
    expect(result.method).toContain('Europe/London');
  });

  it('refuses nonsense options', () => {
    const data = posts(1, 8, 12, 10);
    expect(() => bestTimesToPost(data, 'UTC', { windowHours: 2 as 1 })).toThrow(/windowHours/);
    expect(() => bestTimesToPost(data, 'UTC', { top: 0 })).toThrow(/top/);
    expect(() => bestTimesToPost(data, 'UTC', { priorWeight: -1 })).toThrow(/priorWeight/);
  });
});
