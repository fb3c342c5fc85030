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
  sync: {
    /** Time between passes of a connection's sync workflow. */
    intervalMs: 30 * MINUTE,
    /** Daily series re-read this far back each pass (platforms restate recent days). */
    lookbackDays: 3,
    /** The first pass reads this much history. */
    historyDays: 90,
    /** Per-post metrics and comments follow the newest posts only. */
    recentMedia: 50,
    /** A throttled stream waits at most this long per wait (the platform's reset when it says). */
    rateLimitWaitMs: 1 * MINUTE,
    maxWaitMs: 1 * HOUR,
    /** Re-check a connection that needs reconnecting this often. */
    pausedCheckMs: 1 * HOUR,
    /** Webhook events are ingested at most this often per connection (a burst is one batch). */
    ingestGapMs: 2 * SECOND,
    /** The shortest rate-limit wait, whatever the platform says. */
    minWaitMs: 5 * SECOND,
    passesPerRun: 50,
    /** Rows the platform still shows have fetched_at refreshed at most this often (YouTube 30-day rule). */
    refreshFetchedMs: 7 * DAY,
    sentimentBatch: 100,
    /** Classification attempts per message before it stays untagged. */
    sentimentAttempts: 5,
    /** After a reply whose answer was lost, "not there" is believed only this long after it. */
    replyVerifyGraceMs: 30 * SECOND,
    /** A reply the platform cannot confirm either way (WhatsApp) is left unknown after this. */
    replyUnknownAfterMs: 10 * MINUTE,
    reconcileEveryMs: 5 * MINUTE,
  },
  media: {
    /**
     * Attempts of an ingest stage that fails for a passing reason (about 15 minutes of backoff,
     * longer when a provider says how long to wait); a bad file fails at once.
     */
    stageAttempts: 10,
    retryInitialMs: 2 * SECOND,
    retryMaxMs: 5 * MINUTE,
    /** Long stages heartbeat; silence this long means the worker is gone and the stage is retried. */
    heartbeatTimeoutMs: 1 * MINUTE,
    /** Transcript and OCR text is cut into chunks of about this many characters for search. */
    chunkChars: 800,
    /** Chunks embedded per request, and written per statement. */
    embedBatch: 128,
    chunkInsertBatch: 500,
    /** Scanned PDF pages read by OCR per file (each takes a second or two). */
    maxOcrPages: 50,
    /** Longer audio is not transcribed (the stage says so). */
    maxTranscriptMs: 4 * HOUR,
  },
  /** A poller seen within this window counts as a live worker (long polls last up to ~70 s). */
  workerPollerFreshMs: 2 * MINUTE,
} as const;

export type LoginThrottlePolicy = { -readonly [K in keyof typeof defaultPolicy.loginThrottle]: number };
