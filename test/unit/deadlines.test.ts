import { describe, expect, it } from 'vitest';
import { addCalendarMonth, deletionDeadline } from '../../domain/deadlines.ts';
import { DAY, defaultPolicy, HOUR } from '../../domain/policy.ts';

const at = (iso: string) => new Date(iso);
const policy = defaultPolicy.privacy;

describe('GDPR calendar month', () => {
  it.each([
    ['2026-01-15T10:00:00Z', '2026-02-15T10:00:00Z'],
    ['2026-01-31T10:00:00Z', '2026-02-28T10:00:00Z'],
    ['2028-01-31T10:00:00Z', '2028-02-29T10:00:00Z'],
    ['2026-03-31T23:59:59Z', '2026-04-30T23:59:59Z'],
    ['2026-12-31T00:00:00Z', '2027-01-31T00:00:00Z'],
    ['2026-02-28T12:00:00Z', '2026-03-28T12:00:00Z'],
  ])('%s → %s', (from, due) => {
    expect(addCalendarMonth(at(from)).toISOString()).toBe(at(due).toISOString());
  });
});

describe('deletion deadlines', () => {
  it('an account keeps its 30-day grace when the purge still lands within the month', () => {
    const d = deletionDeadline('account', at('2026-05-01T00:00:00Z'), policy);
    expect(d.rule).toBe('account_grace');
    expect(d.graceEndsAt?.getTime()).toBe(at('2026-05-01T00:00:00Z').getTime() + 29 * DAY);
    expect(d.dueAt.getTime()).toBeLessThanOrEqual(addCalendarMonth(at('2026-05-01T00:00:00Z')).getTime());
  });

  it('in February the grace shrinks so the purge still meets the calendar month', () => {
    const received = at('2026-02-01T00:00:00Z');
    const d = deletionDeadline('account', received, policy);
    expect(d.dueAt.toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(d.graceEndsAt?.toISOString()).toBe(new Date(d.dueAt.getTime() - 48 * HOUR).toISOString());
  });

  it('platform data is due in 7 days, YouTube and Meta named by their rule', () => {
    const received = at('2026-06-10T08:00:00Z');
    expect(deletionDeadline('connection', received, policy, ['youtube'])).toMatchObject({
      rule: 'youtube_7d',
      dueAt: new Date(received.getTime() + 7 * DAY),
    });
    expect(deletionDeadline('platform_user', received, policy, ['instagram']).rule).toBe('meta_7d');
    expect(deletionDeadline('workspace', received, policy, ['x']).rule).toBe('platform_7d');
    expect(deletionDeadline('workspace', received, policy, []).rule).toBe('gdpr_month');
  });

  it('short policy values give short deadlines, and at-risk comes before due', () => {
    const received = at('2026-06-10T08:00:00Z');
    const d = deletionDeadline('connection', received, { ...policy, platformDeadlineMs: 3000, atRiskBeforeMs: 1000 });
    expect(d.dueAt.getTime() - received.getTime()).toBe(3000);
    expect(d.atRiskAt.getTime() - received.getTime()).toBe(2000);
  });
});
