import type { DeletionKind } from '../db/entities/privacy.ts';
import type { PlatformId } from '../platforms/types.ts';

// Due dates of deletion requests. Pure functions of the receipt time and policy, so the calendar
// rules are unit-tested at month ends and the workflow only reads the stored result.

/**
 * GDPR Art. 12(3) "one month": the same date and time in the next calendar month, or the last day
 * of that month when it has no such date (31 January → 28/29 February). Computed in UTC.
 */
export function addCalendarMonth(from: Date): Date {
  const y = from.getUTCFullYear();
  const m = from.getUTCMonth();
  const lastDayNext = new Date(Date.UTC(y, m + 2, 0)).getUTCDate();
  const day = Math.min(from.getUTCDate(), lastDayNext);
  return new Date(
    Date.UTC(y, m + 1, day, from.getUTCHours(), from.getUTCMinutes(), from.getUTCSeconds(), from.getUTCMilliseconds()),
  );
}

export interface DeadlinePolicy {
  graceMs: number;
  purgeWithinMs: number;
  platformDeadlineMs: number;
  atRiskBeforeMs: number;
}

export type DeadlineRule = 'gdpr_month' | 'account_grace' | 'youtube_7d' | 'meta_7d' | 'platform_7d';

export interface Deadline {
  rule: DeadlineRule;
  dueAt: Date;
  /** Account requests: the end of the recovery grace. */
  graceEndsAt?: Date;
  atRiskAt: Date;
}

const META: PlatformId[] = ['instagram', 'facebook', 'threads', 'whatsapp'];

/** The rule for platform data: YouTube's 7 calendar days, Meta's "promptly" (7-day target), else ours. */
export function platformRule(platforms: PlatformId[]): DeadlineRule {
  if (platforms.includes('youtube')) return 'youtube_7d';
  if (platforms.some((p) => META.includes(p))) return 'meta_7d';
  return 'platform_7d';
}

/**
 * - account: first-party data waits out the grace, which is cut short if needed so the purge
 *   (within purgeWithinMs of its end) still lands inside the GDPR calendar month;
 * - connection, platform user, and a workspace or account holding platform data: the platform
 *   deadline, whichever is sooner than the calendar month;
 * - everything else: the calendar month.
 */
export function deletionDeadline(
  kind: DeletionKind,
  receivedAt: Date,
  policy: DeadlinePolicy,
  platforms: PlatformId[] = [],
): Deadline {
  const month = addCalendarMonth(receivedAt).getTime();
  const at = receivedAt.getTime();
  const riskAt = (due: number) => new Date(Math.max(at, due - policy.atRiskBeforeMs));
  if (kind === 'account') {
    const graceEnd = Math.max(at, Math.min(at + policy.graceMs, month - policy.purgeWithinMs));
    const due = Math.min(graceEnd + policy.purgeWithinMs, month);
    return { rule: 'account_grace', dueAt: new Date(due), graceEndsAt: new Date(graceEnd), atRiskAt: riskAt(due) };
  }
  const platformData = kind === 'connection' || kind === 'platform_user' || platforms.length > 0;
  if (platformData && at + policy.platformDeadlineMs < month) {
    const due = at + policy.platformDeadlineMs;
    return { rule: platformRule(platforms), dueAt: new Date(due), atRiskAt: riskAt(due) };
  }
  return { rule: 'gdpr_month', dueAt: new Date(month), atRiskAt: riskAt(month) };
}
