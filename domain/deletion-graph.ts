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
  /** Removed by a retention schedule rather than by subject (see domain/retention.ts). */
  swept?: string;
  /** A column holding a path under the data folder: the file goes with its row (and into exports). */
  fileColumn?: string;
  /** Where deletion finds the file, as SQL, when the column alone may not say yet (defaults to fileColumn). */
  filePath?: string;
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
  { table: 'workspaces', describes: 'workspaces', reach: { workspace: del('id = ?::uuid') } },
  { table: 'users', describes: 'accounts', reach: { account: del('id = ?::uuid') }, exportOmit: ['password_hash'] },
];

export function graphTable(table: string): GraphTable | undefined {
  return DELETION_GRAPH.find((t) => t.table === table);
}

/** The tables a subject reaches, in deletion order. */
export function reachedBy(subject: Subject): { table: GraphTable; reach: Reach }[] {
  return DELETION_GRAPH.flatMap((table) => (table.reach[subject] ?? []).map((reach) => ({ table, reach })));
}
