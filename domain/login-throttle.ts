import type { LoginThrottlePolicy } from './policy.ts';

// Sign-in throttling, as pure functions over a stored counter. Per account: after `freeAttempts`
// failures every further attempt must wait a doubling delay, and `lockoutThreshold` failures lock
// the account for `lockoutMs`. Per IP: `ipMaxFailures` failures within `ipWindowMs` refuse the address.

export interface ThrottleState {
  failures: number;
  windowStartedAt: Date;
  nextAllowedAt: Date | null;
  lockedUntil: Date | null;
}

export type Verdict =
  | { allowed: true }
  | { allowed: false; reason: 'locked' | 'throttled' | 'ip'; retryAfterMs: number };

const ALLOWED: Verdict = { allowed: true };

export function checkAccount(state: ThrottleState | null, now: Date): Verdict {
  if (state?.lockedUntil && state.lockedUntil > now) {
    return { allowed: false, reason: 'locked', retryAfterMs: state.lockedUntil.getTime() - now.getTime() };
  }
  if (state?.nextAllowedAt && state.nextAllowedAt > now) {
    return { allowed: false, reason: 'throttled', retryAfterMs: state.nextAllowedAt.getTime() - now.getTime() };
  }
  return ALLOWED;
}

export function delayAfter(failures: number, policy: LoginThrottlePolicy): number {
  if (failures <= policy.freeAttempts) return 0;
  return Math.min(policy.baseDelayMs * 2 ** (failures - policy.freeAttempts - 1), policy.maxDelayMs);
}

/** The account's state after one more failure; `locked` tells whether this failure locked it. */
export function accountFailure(
  state: ThrottleState | null,
  now: Date,
  policy: LoginThrottlePolicy,
): { state: ThrottleState; locked: boolean } {
  // A lock that has run out starts a fresh count.
  const previous = state?.lockedUntil && state.lockedUntil <= now ? 0 : (state?.failures ?? 0);
  const failures = previous + 1;
  if (failures >= policy.lockoutThreshold) {
    return {
      state: {
        failures: 0,
        windowStartedAt: now,
        nextAllowedAt: null,
        lockedUntil: new Date(now.getTime() + policy.lockoutMs),
      },
      locked: true,
    };
  }
  const delay = delayAfter(failures, policy);
  return {
    state: {
      failures,
      windowStartedAt: state?.windowStartedAt ?? now,
      nextAllowedAt: delay ? new Date(now.getTime() + delay) : null,
      lockedUntil: null,
    },
    locked: false,
  };
}

function ipWindowOpen(state: ThrottleState | null, now: Date, policy: LoginThrottlePolicy): state is ThrottleState {
  return !!state && now.getTime() - state.windowStartedAt.getTime() < policy.ipWindowMs;
}

export function checkIp(state: ThrottleState | null, now: Date, policy: LoginThrottlePolicy): Verdict {
  if (ipWindowOpen(state, now, policy) && state.failures >= policy.ipMaxFailures) {
    return {
      allowed: false,
      reason: 'ip',
      retryAfterMs: state.windowStartedAt.getTime() + policy.ipWindowMs - now.getTime(),
    };
  }
  return ALLOWED;
}

export function ipFailure(state: ThrottleState | null, now: Date, policy: LoginThrottlePolicy): ThrottleState {
  const open = ipWindowOpen(state, now, policy);
  return {
    failures: open ? state.failures + 1 : 1,
    windowStartedAt: open ? state.windowStartedAt : now,
    nextAllowedAt: null,
    lockedUntil: null,
  };
}
