import { describe, expect, it } from 'vitest';
import {
  accountFailure,
  checkAccount,
  checkIp,
  delayAfter,
  ipFailure,
  type ThrottleState,
} from '../../domain/login-throttle.ts';
import type { LoginThrottlePolicy } from '../../domain/policy.ts';

const policy: LoginThrottlePolicy = {
  freeAttempts: 2,
  baseDelayMs: 1000,
  maxDelayMs: 8000,
  lockoutThreshold: 8,
  lockoutMs: 60_000,
  ipMaxFailures: 3,
  ipWindowMs: 10_000,
};
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

describe('account throttling', () => {
  it('lets the free attempts through, then doubles the wait up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((f) => delayAfter(f, policy))).toEqual([0, 0, 1000, 2000, 4000, 8000, 8000]);
  });

  it('refuses an attempt made before the forced wait is over, with the time left', () => {
    let state: ThrottleState | null = null;
    for (let i = 0; i < 3; i++) state = accountFailure(state, t0, policy).state;
    expect(checkAccount(state, at(400))).toEqual({ allowed: false, reason: 'throttled', retryAfterMs: 600 });
    expect(checkAccount(state, at(1000))).toEqual({ allowed: true });
  });

  it('locks after the threshold and starts counting afresh once the lock has run out', () => {
    let state: ThrottleState | null = null;
    let locked = false;
    for (let i = 0; i < policy.lockoutThreshold; i++) ({ state, locked } = accountFailure(state, t0, policy));
    expect(locked).toBe(true);
    expect(checkAccount(state, at(59_000))).toEqual({ allowed: false, reason: 'locked', retryAfterMs: 1000 });
    const after = accountFailure(state, at(60_001), policy);
    expect(after.locked).toBe(false);
    expect(after.state.failures).toBe(1);
  });
});

describe('IP throttling', () => {
  it('refuses an address after too many failures in the window and forgives it when the window ends', () => {
    let state: ThrottleState | null = null;
    for (let i = 0; i < 3; i++) state = ipFailure(state, at(i * 100), policy);
    expect(checkIp(state, at(1000), policy)).toEqual({ allowed: false, reason: 'ip', retryAfterMs: 9000 });
    expect(checkIp(state, at(10_000), policy)).toEqual({ allowed: true });
    expect(ipFailure(state, at(10_000), policy).failures).toBe(1);
  });
});
