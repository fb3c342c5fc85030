import { DAY, HOUR, MINUTE } from './policy.ts';

// Retention policies in one place. Each active policy is one Temporal Schedule, `retention/<id>`
// (lib/schedules.ts), that starts retentionSweepWorkflow every `everyMs`; the sweep works through
// its tables in batches and is idempotent, so a re-run, an overlap or a catch-up after an outage
// removes exactly what is past retention and nothing else. Tables in domain/deletion-graph.ts marked
// `swept` name the policy here that removes their rows (a unit test keeps the two in step).
//
// SQL fragments may use two named parameters: `:cutoff` (now − maxAgeMs) and `:now`.

/** What a sweep does with the rows it selects. */
export const RETENTION_ACTIONS = [
  /** Delete the rows, in batches. */
  'delete',
  /** Mark ready exports whose link expired as expired and delete their files. */
  'expire-exports',
  /** Safety net: start the deletion workflow of requests stored but never started. */
  'kick-deletions',
  /** Safety net: start again the deletion workflow of accounts whose grace ended but whose workflow is gone. */
  'restart-purges',
  /** Aggregate first-party analytics per month, whole months at a time. */
  'aggregate',
  /** Delete YouTube data not refreshed for 30 days; re-verify or delete by connection. */
  'refresh-or-delete',
] as const;
export type RetentionAction = (typeof RETENTION_ACTIONS)[number];

export interface RetentionTarget {
  table: string;
  /** SQL expression: the instant a row's retention is counted from (its age column). */
  since: string;
  /** Further SQL condition a row must meet to be swept (may use `:now`). */
  condition?: string;
}

export interface RetentionPolicy {
  /** The schedule is `retention/<id>`. */
  id: string;
  description: string;
  /** The requirement it implements (compliance reference §7). */
  rule: string;
  /** The table the policy works on; null while that table arrives with a later feature (no schedule yet). */
  table: string | null;
  /** The rows swept: the first is `table`; a policy may cover more tables (sessions and API tokens). */
  targets: RetentionTarget[];
  /** A row goes once `since` is older than this. A policy value; a sweep's input may override it. */
  maxAgeMs: number;
  /** How often the schedule runs. A row is at most maxAgeMs + everyMs old when it goes. */
  everyMs: number;
  action: RetentionAction;
  note?: string;
}

export const RETENTION_POLICIES: readonly RetentionPolicy[] = [
  {
    id: 'request-logs',
    description: 'API request logs older than 30 days',
    rule: 'R-LOG-1',
    table: 'request_logs',
    targets: [{ table: 'request_logs', since: 'at' }],
    maxAgeMs: 30 * DAY,
    everyMs: 1 * HOUR,
    action: 'delete',
  },
  {
    id: 'sessions',
    description: 'Sessions and API tokens 7 days after they expired or were revoked',
    rule: 'ASVS 7.4 (no purpose after expiry)',
    table: 'sessions',
    // least() skips NULLs: the earlier of expiry and revocation; API tokens without expiry stay until revoked.
    targets: [
      { table: 'sessions', since: 'least(expires_at, revoked_at)' },
      { table: 'api_tokens', since: 'least(expires_at, revoked_at)' },
    ],
    maxAgeMs: 7 * DAY,
    everyMs: 1 * DAY,
    action: 'delete',
    note: 'The 7-day tail keeps "session expired" answers meaningful for a while; after it the rows serve no purpose.',
  },
  {
    id: 'oauth-states',
    description: 'OAuth starts expired more than 1 day ago',
    rule: 'data minimisation (GDPR Art. 5(1)(c))',
    table: 'oauth_states',
    targets: [{ table: 'oauth_states', since: 'expires_at' }],
    maxAgeMs: 1 * DAY,
    everyMs: 1 * HOUR,
    action: 'delete',
  },
  {
    id: 'login-throttles',
    description: 'Failed sign-in counters not updated for 1 day and not locked',
    rule: 'data minimisation (GDPR Art. 5(1)(c))',
    table: 'login_throttles',
    targets: [
      {
        table: 'login_throttles',
        since: 'updated_at',
        condition:
          '(locked_until is null or locked_until < :now) and (next_allowed_at is null or next_allowed_at < :now)',
      },
    ],
    maxAgeMs: 1 * DAY,
    everyMs: 1 * HOUR,
    action: 'delete',
  },
  {
    id: 'exports',
    description: 'Ready exports whose download link expired: marked expired, ZIP file deleted',
    rule: 'R-DSR-3 (short-lived download link)',
    table: 'data_exports',
    targets: [{ table: 'data_exports', since: 'expires_at', condition: `status = 'ready'` }],
    // The link's own lifetime (EXPORT_LINK_TTL_SECONDS) is the retention: the file goes once it expired.
    maxAgeMs: 0,
    everyMs: 1 * HOUR,
    action: 'expire-exports',
    note: 'The row stays (status expired, no path) as the record of the export; it goes with its subject.',
  },
  {
    id: 'deletion-kick',
    description: 'Safety net: deletion requests stored but not started after 1 minute get their workflow',
    rule: 'R-DSR-1, R-META-2 (request stored before the answer; the workflow must follow)',
    table: 'deletion_requests',
    targets: [{ table: 'deletion_requests', since: 'received_at', condition: `status = 'received'` }],
    maxAgeMs: 1 * MINUTE,
    everyMs: 15 * MINUTE,
    action: 'kick-deletions',
    note: 'Starts `deletion/<requestId>` idempotently (same workflow id); a running workflow is left alone.',
  },
  {
    id: 'account-purge',
    description: 'Safety net: accounts whose grace ended over 1 hour ago and whose deletion workflow is not running',
    rule: 'R-ACC-2 (purge within 48 h of the grace)',
    table: 'deletion_requests',
    targets: [{ table: 'deletion_requests', since: 'grace_ends_at', condition: `status = 'in_grace'` }],
    maxAgeMs: 1 * HOUR,
    everyMs: 1 * HOUR,
    action: 'restart-purges',
    note: 'Starts `deletion/<requestId>` again; the workflow skips finished steps and purges.',
  },
  {
    id: 'preview-links',
    description: 'Client preview links 24 hours after creation (also refused at request time)',
    rule: 'R-LINK-1',
    table: 'approval_links',
    // Every link's expiry lies within 24 h of its creation, and the API refuses it after that
    // whatever the row says; creation is therefore the one clock that bounds every row.
    targets: [{ table: 'approval_links', since: 'created_at' }],
    maxAgeMs: 24 * HOUR,
    everyMs: 1 * HOUR,
    action: 'delete',
    note: 'Revoked and expired links stay until then, so they answer "expired" (410) rather than "unknown".',
  },
  {
    id: 'instagram-inbox',
    description: 'Instagram messages and comments 30 days after receipt',
    rule: 'R-META-6',
    table: 'inbox_messages',
    // Replies and attachments go with their message (foreign keys cascade).
    targets: [{ table: 'inbox_messages', since: 'received_at', condition: `platform = 'instagram'` }],
    maxAgeMs: 30 * DAY,
    everyMs: 1 * HOUR,
    action: 'delete',
  },
  {
    id: 'analytics-aggregate',
    description: 'First-party analytics aggregated per month at 24 months (never YouTube data)',
    rule: 'R-AN-1, R-YT-5',
    table: 'metric_points',
    targets: [{ table: 'metric_points', since: 'observed_at', condition: `platform <> 'youtube'` }],
    // 24 months counted as 730 days: never later than the calendar rule.
    maxAgeMs: 730 * DAY,
    everyMs: 1 * DAY,
    action: 'aggregate',
    note: 'Whole months only: per connection, metric and month one metric_monthly row replaces the per-post and per-day rows. YouTube rows are never aggregated (no derived YouTube metrics).',
  },
  {
    id: 'youtube-refresh',
    description: 'Stored YouTube data refreshed or deleted at 30 days; authorisation re-verified every 30 days',
    rule: 'R-YT-3, R-YT-4',
    table: 'inbox_messages',
    // Comments and the video list are Authorized Data: a sync pass refreshes what the platform
    // still shows (fetched_at); what it no longer shows goes at 30 days. Statistics may stay while
    // the authorisation holds: a connection not verified for 30 days is re-verified by a sync pass,
    // and one whose token can no longer be refreshed loses all its YouTube data.
    targets: [
      { table: 'inbox_messages', since: 'fetched_at', condition: `platform = 'youtube'` },
      { table: 'synced_media', since: 'fetched_at', condition: `platform = 'youtube'` },
    ],
    maxAgeMs: 30 * DAY,
    everyMs: 1 * DAY,
    action: 'refresh-or-delete',
  },
  {
    id: 'webhook-events',
    description: 'Ingested webhook events 7 days after receipt (the window platforms redeliver in)',
    rule: 'data minimisation (GDPR Art. 5(1)(c))',
    table: 'webhook_events',
    targets: [{ table: 'webhook_events', since: 'received_at', condition: 'processed_at is not null' }],
    // Meta redelivers for up to 7 days; the rows are the dedup memory for that long (payloads are already gone).
    maxAgeMs: 7 * DAY,
    everyMs: 1 * HOUR,
    action: 'delete',
  },
];

export const retentionScheduleId = (policyId: string) => `retention/${policyId}`;

export function retentionPolicy(id: string): RetentionPolicy | undefined {
  return RETENTION_POLICIES.find((p) => p.id === id);
}

/** Policies whose table exists: the ones with a schedule. */
export function activeRetentionPolicies(policies: readonly RetentionPolicy[] = RETENTION_POLICIES): RetentionPolicy[] {
  return policies.filter((p) => p.table !== null);
}
