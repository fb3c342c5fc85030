// Policy values in one place. Durations are plain numbers so tests and operators can override them
// through configuration (there is no time-skipping server offline).

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export const defaultPolicy = {
  /** bcrypt work factor for account passwords (minimum 10). */
  bcryptCost: 12,
  /** bcrypt silently ignores input past 72 bytes, so longer passwords are refused outright. */
  passwordMaxBytes: 72,
  passwordMinChars: 10,
  sessionTtlMs: 30 * DAY,
  invitationTtlMs: 7 * DAY,
  invitationMaxTtlMs: 30 * DAY,
  loginThrottle: {
    /** Failures allowed before each further attempt must wait. */
    freeAttempts: 3,
    /** First forced wait; it doubles with every further failure, up to maxDelayMs. */
    baseDelayMs: 1 * SECOND,
    maxDelayMs: 5 * MINUTE,
    /** Consecutive failures that lock the account. */
    lockoutThreshold: 10,
    lockoutMs: 15 * MINUTE,
    /** Failed sign-ins from one IP address within ipWindowMs before that address is refused. */
    ipMaxFailures: 50,
    ipWindowMs: 15 * MINUTE,
  },
  /** An OAuth start (state + PKCE verifier) is single use and expires after this. */
  oauthStateTtlMs: 10 * MINUTE,
  platformTimeoutMs: 10 * SECOND,
  connection: {
    /** Refresh when this share of the token's lifetime is left. */
    refreshLeadFraction: 0.2,
    /** Attempts at a transient refresh failure before the workflow waits and plans again. */
    refreshAttempts: 6,
    /** Upstream revoke attempts on disconnect before it reports "revoke failed". */
    revokeAttempts: 5,
    retryInitialMs: 1 * SECOND,
    retryMaxMs: 5 * MINUTE,
    /** Iterations of the connection loop before continueAsNew keeps its history short. */
    iterationsPerRun: 200,
  },
  privacy: {
    /** The 30-day recovery grace of an account deletion (first-party data only). */
    graceMs: 30 * DAY,
    /** Purge within 48 h of the end of the grace. */
    purgeWithinMs: 48 * HOUR,
    /** YouTube: 7 calendar days; Meta: "promptly", held to the same 7-day target. */
    platformDeadlineMs: 7 * DAY,
    atRiskBeforeMs: 1 * DAY,
    signedRequestMaxAgeMs: 1 * HOUR,
    exportLinkTtlMs: 24 * HOUR,
    stepRetryInitialMs: 1 * SECOND,
    stepRetryMaxMs: 10 * MINUTE,
    /** Rows per statement when a deletion or a sweep works through a table. */
    batchSize: 5000,
  },
  publish: {
    /** Uploads and containers are prepared ahead, well inside every platform's handle lifetime (TikTok's upload URL: ~1 h). */
    prepareLeadMs: 5 * MINUTE,
    pollMaxMs: 1 * MINUTE,
    /** Containers, uploads and moderation taking longer than this fail the post with a reason. */
    processingTimeoutMs: 2 * HOUR,
    reconnectWaitMs: 24 * HOUR,
    reconnectCheckMs: 15 * MINUTE,
    retryInitialMs: 1 * SECOND,
    retryMaxMs: 5 * MINUTE,
    rateLimitWaitMs: 1 * MINUTE,
    recheckMs: 5 * MINUTE,
    /** After a commit whose answer was lost, "not in the platform's lists" is believed only this long after it. */
    verifyGraceMs: 30 * SECOND,
    iterationsPerRun: 100,
    /** Client approval links stop working after this, whatever the link says (24 h rule). */
    approvalLinkTtlMs: 24 * HOUR,
    /** The reconciler's run interval and batch. */
    reconcileEveryMs: 5 * MINUTE,
    reconcileBatchSize: 500,
  },
  /** A poller seen within this window counts as a live worker (long polls last up to ~70 s). */
  workerPollerFreshMs: 2 * MINUTE,
} as const;

export type LoginThrottlePolicy = { -readonly [K in keyof typeof defaultPolicy.loginThrottle]: number };
