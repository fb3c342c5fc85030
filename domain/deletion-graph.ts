// The deletion graph: one declaration of every table, how each is reached from a subject, in what
// order it goes, and whether it is deleted, anonymised or kept with a recorded legal reason. The
// deletion workflow, the export and the schema test all read this list, so a new table that
// references a user, workspace or connection fails CI until it is declared here.
//
// Reach predicates are SQL over the table with exactly one `?` parameter, the subject id (a test
// holds every entry to it). Entries run in declaration order (children before parents) and each
// statement deletes in batches.

export const SUBJECTS = ['account', 'workspace', 'connection', 'file'] as const;
export type Subject = (typeof SUBJECTS)[number];

export interface Reach {
  /** Rows of this table that belong to the subject. */
  where: string;
  /** delete: remove the rows; anonymise: set these columns to NULL and keep the rows. */
  action: 'delete' | 'anonymise';
  columns?: string[];
}

export interface GraphTable {
  table: string;
  /** What the table holds, for the certificate and the export's schema document. */
  describes: string;
  reach: Partial<Record<Subject, Reach[]>>;
  /** Kept on purpose: why, and under which rule. Rows are not deleted for any subject. */
  retained?: string;
  /** Removed by retention schedules rather than by subject (see domain/retention.ts). */
  swept?: string | string[];
  /** A column holding a path under the data folder: the file goes with its row (and into exports). */
  fileColumn?: string;
  /** Where deletion finds the file, as SQL, when the column alone may not say yet (defaults to fileColumn). */
  filePath?: string;
  /** A column holding an object-storage key (lib/storage.ts): the object goes with its row (and into exports). */
  storageKeyColumn?: string;
  /** Where deletion finds the object, as SQL, when the column alone may not say yet (defaults to storageKeyColumn). */
  storageKey?: string;
  /**
   * SQL naming a storage prefix per row: every object under it goes with the row, including objects
   * a running stage stored before (or without) a row of its own.
   */
  storagePrefix?: string;
  /** Columns never exported (secrets, hashes of secrets, ciphertext). */
  exportOmit?: string[];
  /** Framework tables: no personal data, not exported. */
  system?: boolean;
}

const del = (where: string): Reach[] => [{ where, action: 'delete' }];

export const DELETION_GRAPH: GraphTable[] = [
  { table: 'mikro_orm_migrations', describes: 'applied migrations', reach: {}, system: true },
  {
    table: 'audit_events',
    describes: 'security events and deletion steps (ids only)',
    reach: {},
    retained:
      'Append-only, hash-chained proof of what was done (GDPR Art. 5(2) accountability); holds ids and counts, never contents.',
  },
  {
    table: 'deletion_requests',
    describes: 'the register of deletion requests',
    reach: {},
    retained: 'Register of requests and responses, kept at least 24 months in pseudonymous form (CCPA §7101).',
  },
  {
    table: 'deletion_steps',
    describes: 'per-step evidence of each deletion request',
    reach: {},
    retained: 'Execution evidence for the register (counts per table, upstream answers).',
  },
  {
    table: 'compliance_alerts',
    describes: 'at-risk and overdue notifications about deletion requests',
    reach: {},
    retained: 'Part of the request register.',
  },
  {
    table: 'legal_holds',
    describes: 'legal and moderation holds',
    reach: {},
    retained: 'Proof of the legal basis for keeping data (Meta Platform Terms 3.d.ii).',
  },
  {
    table: 'login_throttles',
    describes: 'failed sign-in counters keyed by a one-way hash of the e-mail or IP address',
    // The account's counter is keyed by the SHA-256 of its lower-cased address (api/routes/sessions.ts).
    reach: {
      account: del(
        `key = 'acct:' || encode(sha256(convert_to((select email from users where id = ?::uuid), 'UTF8')), 'hex')`,
      ),
    },
    swept: 'login-throttles',
  },
  {
    table: 'data_exports',
    describes: 'portability exports and their ZIP files',
    reach: {
      account: del('requested_by = ?'),
      workspace: del(`kind = 'workspace' and subject_id = ?::uuid`),
    },
    fileColumn: 'path',
    // The ZIP's place is known before `path` is set, so one still being built goes too.
    filePath: `coalesce(path, 'exports/' || id || '.zip')`,
    exportOmit: ['token_hash', 'path'],
  },
  {
    table: 'publish_attempts',
    describes: 'publishing attempts: idempotency keys, platform handles and outcomes',
    reach: {
      workspace: del('workspace_id = ?'),
      connection: del('target_id in (select id from post_targets where connection_id = ?)'),
    },
    // Upload session and upload URLs in the handle work as credentials at the platform.
    exportOmit: ['handle'],
  },
  {
    table: 'approval_links',
    describes: 'client approval links (24-hour lifetime)',
    reach: {
      workspace: del('workspace_id = ?'),
      account: [{ where: 'created_by_id = ?', action: 'anonymise', columns: ['created_by_id'] }],
    },
    swept: 'preview-links',
    exportOmit: ['token_hash', 'password_hash'],
  },
  {
    table: 'post_tags',
    describes: 'tags on posts',
    reach: { workspace: del('workspace_id = ?') },
  },
  {
    table: 'post_variants',
    describes: 'what a post says on each platform (caption, media references, options)',
    reach: { workspace: del('workspace_id = ?') },
  },
  {
    table: 'post_targets',
    describes: 'a post on one connected account: due time, status, platform post id and permalink',
    reach: {
      workspace: del('workspace_id = ?'),
      connection: del('connection_id = ?'),
    },
  },
  {
    table: 'posts',
    describes: 'posts and drafts',
    reach: {
      workspace: del('workspace_id = ?'),
      account: [{ where: 'created_by_id = ?', action: 'anonymise', columns: ['created_by_id'] }],
    },
  },
  {
    table: 'ideas',
    describes: 'ideas on the board',
    reach: {
      workspace: del('workspace_id = ?'),
      account: [{ where: 'created_by_id = ?', action: 'anonymise', columns: ['created_by_id'] }],
    },
  },
  {
    table: 'templates',
    describes: 'post templates',
    reach: {
      workspace: del('workspace_id = ?'),
      account: [{ where: 'created_by_id = ?', action: 'anonymise', columns: ['created_by_id'] }],
    },
  },
  { table: 'tags', describes: 'tags', reach: { workspace: del('workspace_id = ?') } },
  { table: 'board_columns', describes: 'board columns', reach: { workspace: del('workspace_id = ?') } },
  {
    table: 'media_chunks',
    describes: 'searchable pieces of media text (transcripts, OCR) and their embeddings',
    reach: { workspace: del('workspace_id = ?'), file: del('file_id = ?::uuid') },
    // The search index PostgreSQL derives from `text`.
    exportOmit: ['tsv'],
  },
  {
    table: 'media_texts',
    describes: 'transcripts and OCR text of media files',
    reach: { workspace: del('workspace_id = ?'), file: del('file_id = ?::uuid') },
  },
  {
    table: 'media_derivatives',
    describes: 'thumbnails and previews of media files, kept in storage',
    reach: { workspace: del('workspace_id = ?'), file: del('file_id = ?::uuid') },
    storageKeyColumn: 'storage_key',
  },
  {
    table: 'media_files',
    describes: 'media library files (the originals, kept in storage)',
    reach: {
      workspace: del('workspace_id = ?'),
      file: del('id = ?::uuid'),
      account: [{ where: 'uploaded_by_id = ?', action: 'anonymise', columns: ['uploaded_by_id'] }],
    },
    storageKeyColumn: 'storage_key',
    storagePrefix: `'media/' || workspace_id || '/' || id || '/'`,
  },
  {
    table: 'inbox_attachments',
    describes: 'files that came with inbox messages (WhatsApp media), kept in storage',
    reach: {
      workspace: del('workspace_id = ?'),
      connection: del('message_id in (select id from inbox_messages where connection_id = ?)'),
    },
    storageKeyColumn: 'storage_key',
    // The key is fixed before the bytes are stored, so a file stored just before its row went is found too.
    storageKey: `'inbox/' || workspace_id || '/' || id`,
  },
  {
    table: 'inbox_replies',
    describes: 'replies written through Switchboard and their attempts',
    reach: {
      workspace: del('workspace_id = ?'),
      connection: del('connection_id = ?'),
      account: [{ where: 'created_by_id = ?', action: 'anonymise', columns: ['created_by_id'] }],
    },
  },
  {
    table: 'webhook_events',
    describes: 'verified webhook events awaiting ingestion (payload cleared once ingested)',
    reach: { workspace: del('workspace_id = ?'), connection: del('connection_id = ?') },
    swept: 'webhook-events',
  },
  {
    table: 'inbox_messages',
    describes: 'comments, DMs and mentions with their sentiment',
    reach: { workspace: del('workspace_id = ?'), connection: del('connection_id = ?') },
    // Replies and attachments rows go with their message (foreign keys cascade).
    swept: ['instagram-inbox', 'youtube-refresh'],
  },
  {
    table: 'inbox_threads',
    describes: "inbox conversations (a post's comments, a DM conversation, a mention)",
    reach: { workspace: del('workspace_id = ?'), connection: del('connection_id = ?') },
  },
  {
    table: 'metric_points',
    describes: 'analytics time series (observations with deltas)',
    reach: { workspace: del('workspace_id = ?'), connection: del('connection_id = ?') },
    swept: 'analytics-aggregate',
  },
  {
    table: 'metric_monthly',
    describes: 'analytics older than 24 months, aggregated per month',
    reach: { workspace: del('workspace_id = ?'), connection: del('connection_id = ?') },
  },
  {
    table: 'synced_media',
    describes: 'posts of connected accounts as the platforms list them',
    reach: { workspace: del('workspace_id = ?'), connection: del('connection_id = ?') },
    swept: 'youtube-refresh',
  },
  {
    table: 'sync_cursors',
    describes: 'sync positions per stream (page tokens, watermarks)',
    reach: { workspace: del('workspace_id = ?'), connection: del('connection_id = ?') },
  },
  {
    table: 'sync_states',
    describes: 'sync status per connection',
    reach: { workspace: del('workspace_id = ?'), connection: del('connection_id = ?') },
  },
  {
    table: 'notices',
    describes: 'in-app notices',
    reach: {
      workspace: del('workspace_id = ?'),
      connection: del('connection_id = ?'),
    },
  },
  {
    table: 'connection_tokens',
    describes: 'encrypted OAuth tokens',
    reach: {
      workspace: del('connection_id in (select id from connections where workspace_id = ?)'),
      connection: del('connection_id = ?'),
    },
    exportOmit: ['ciphertext'],
  },
  {
    table: 'oauth_states',
    describes: 'OAuth starts in flight',
    reach: {
      account: del('user_id = ?'),
      workspace: del('workspace_id = ?'),
      connection: del('connection_id = ?::uuid'),
    },
    swept: 'oauth-states',
    exportOmit: ['state_hash', 'verifier_ciphertext', 'nonce_hash', 'code_ciphertext', 'tokens_ciphertext'],
  },
  {
    table: 'connections',
    describes: 'connected platform accounts',
    reach: {
      workspace: del('workspace_id = ?'),
      connection: del('id = ?::uuid'),
      account: [{ where: 'connected_by_id = ?', action: 'anonymise', columns: ['connected_by_id'] }],
    },
  },
  {
    table: 'invitations',
    describes: 'workspace invitations',
    reach: {
      workspace: del('workspace_id = ?'),
      account: [
        // Invitations addressed to the person carry their e-mail address: they go.
        { where: 'email = (select email from users where id = ?::uuid)', action: 'delete' },
        { where: 'invited_by_id = ?', action: 'anonymise', columns: ['invited_by_id'] },
        { where: 'accepted_by_id = ?', action: 'anonymise', columns: ['accepted_by_id'] },
      ],
    },
    exportOmit: ['token_hash'],
  },
  {
    table: 'memberships',
    describes: 'workspace members and roles',
    reach: { workspace: del('workspace_id = ?'), account: del('user_id = ?') },
  },
  {
    table: 'request_logs',
    describes: 'API request log (30-day retention)',
    reach: { account: del('user_id = ?') },
    swept: 'request-logs',
  },
  {
    table: 'sessions',
    describes: 'sign-in sessions',
    reach: { account: del('user_id = ?') },
    exportOmit: ['token_hash'],
  },
  { table: 'api_tokens', describes: 'API tokens', reach: { account: del('user_id = ?') }, exportOmit: ['token_hash'] },
  { table: 'user_identities', describes: 'linked Google sign-in identities', reach: { account: del('user_id = ?') } },
  {
    table: 'workspaces',
    describes: 'workspaces',
    reach: { workspace: del('id = ?::uuid') },
    // Every media object of the workspace, including one an interrupted upload left without a row.
    storagePrefix: `'media/' || id || '/'`,
  },
  { table: 'users', describes: 'accounts', reach: { account: del('id = ?::uuid') }, exportOmit: ['password_hash'] },
];

export function graphTable(table: string): GraphTable | undefined {
  return DELETION_GRAPH.find((t) => t.table === table);
}

/** The tables a subject reaches, in deletion order. */
export function reachedBy(subject: Subject): { table: GraphTable; reach: Reach }[] {
  return DELETION_GRAPH.flatMap((table) => (table.reach[subject] ?? []).map((reach) => ({ table, reach })));
}
