import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { ContentStore } from './content.ts';

// The machinery every platform simulator shares: an injectable clock, accounts, authorization codes,
// grants and tokens with per-platform lifetimes, fault injection, rate windows, and a log of every
// call and every write. Each platform module (simulators/platforms/*.ts) adds its real routes and
// its exact error bodies on top.

export class Clock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface SimRequest {
  method: string;
  /** Path below the platform prefix, e.g. /v2/oauth/token/. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
  /** The body as received, for byte uploads (video chunks, images). */
  bytes: Buffer;
  /** Form body, or the query string for GET-style token calls. */
  form: URLSearchParams;
  json: Record<string, unknown> | undefined;
  /** Named groups of the route's path pattern. */
  params: Record<string, string>;
  /** Bearer (or Meta `access_token` parameter) credential, if any. */
  token: string | undefined;
}

export interface SimReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (req: SimRequest) => SimReply | Promise<SimReply>;

export interface Route {
  method: string;
  /** Exact path or a RegExp with named groups. */
  path: string | RegExp;
  /** Stable name for logs, faults and rate windows (e.g. "token", "profile"). */
  name: string;
  /** Creates something at the platform (listed by the admin API's writes). */
  write?: boolean;
  handler: Handler;
}

export interface SimAccount {
  id: string;
  name: string;
  handle?: string;
  email?: string;
  emailVerified?: boolean;
  /** Platform-specific extras (page ids, WABA ids, …). */
  extra?: Record<string, string>;
}

export interface TokenPolicy {
  /** null: the access token never expires. */
  accessTtlS: number | null;
  /** null: no refresh token is issued. */
  refreshTtlS: number | null;
  /** Each refresh returns a new refresh token and retires the old one. */
  rotate: boolean;
  /** Whether a refresh extends the refresh token's lifetime (LinkedIn: no). */
  refreshExtends: boolean;
  /** Youngest access token a "reissue" refresh accepts (Instagram/Threads: 24 h). */
  minRefreshAgeS: number;
  /** Authorization-code lifetime (X: 30 s; most: 10 min). */
  codeTtlS: number;
}

/** Services reached with a fixed key rather than OAuth (OpenAI, S3): tokens that never expire. */
export const KEY_ONLY_POLICY: TokenPolicy = {
  accessTtlS: null,
  refreshTtlS: null,
  rotate: false,
  refreshExtends: false,
  minRefreshAgeS: 0,
  codeTtlS: 600,
};

export interface Grant {
  id: string;
  accountId: string;
  clientId: string;
  scopes: string[];
  createdAt: number;
  revokedAt?: number;
  /** Why the grant died, for the platform's error body (revoked, password_changed, …). */
  revokedReason?: string;
}

export interface SimToken {
  value: string;
  kind: 'access' | 'refresh';
  grantId: string;
  issuedAt: number;
  expiresAt: number | null;
  /** Set when a rotation replaced this refresh token or an exchange replaced this access token. */
  retiredAt?: number;
}

interface CodeGrant {
  code: string;
  clientId: string;
  redirectUri: string;
  accountId: string;
  scopes: string[];
  challenge?: string;
  challengeMethod?: string;
  nonce?: string;
  expiresAt: number;
  usedAt?: number;
}

export type FaultKind =
  /** Answer `status` (default 503) without doing anything. */
  | 'http'
  /** Answer the platform's own throttling response. */
  | 'throttle'
  /** Close the connection without doing anything. */
  | 'drop'
  /** Wait delayMs, then handle normally. */
  | 'delay'
  /** Do the work, then close the connection: the caller cannot know it landed. */
  | 'drop_after'
  /** Do the work, then answer `status` (default 502). */
  | 'error_after';

export interface Fault {
  route: string;
  kind: FaultKind;
  remaining: number;
  status?: number;
  retryAfterS?: number;
  delayMs?: number;
  /** Calls of the route let through before the fault starts. */
  after?: number;
}

export interface CallRecord {
  seq: number;
  route: string;
  method: string;
  path: string;
  /** Simulator clock at arrival. */
  at: number;
  /** Wall clock at arrival. */
  realAt: number;
  status?: number;
  fault?: FaultKind;
}

export interface WriteRecord {
  seq: number;
  route: string;
  at: number;
  accountId?: string;
  data: Record<string, unknown>;
}

export interface TokenAuth {
  ok: boolean;
  token?: SimToken;
  grant?: Grant;
  account?: SimAccount;
  /** Why not ok. */
  problem?: 'missing' | 'invalid' | 'expired' | 'revoked' | 'retired';
}

/**
 * Something the platform finishes in the background: an Instagram container, a TikTok publish, an X
 * media upload, a LinkedIn video, a YouTube upload session. It becomes ready once `readyAfterMs` of
 * simulator time has passed and it has been polled `readyAfterPolls` times, unless it was set to
 * fail; it expires at `expiresAt`. Each platform maps these phases onto its own status words.
 */
export interface SimJob {
  id: string;
  kind: string;
  accountId?: string;
  createdAt: number;
  readyAfterMs: number;
  readyAfterPolls: number;
  polls: number;
  expiresAt?: number;
  /** The platform's failure reason (e.g. FAILED_PROCESSING_VIDEO); the job then ends failed. */
  failure?: string;
  /** When the job's result was used (a container published, a video posted). */
  consumedAt?: number;
  /** What the job carries: caption, bytes received, the resulting post id, … */
  data: Record<string, unknown>;
}

export type JobPhase = 'pending' | 'ready' | 'failed' | 'expired' | 'consumed';

/** Makes the next `remaining` jobs of a kind fail with the platform's reason. */
export interface JobFailure {
  kind: string;
  reason: string;
  remaining: number;
}

export interface RateWindow {
  route: string;
  limit: number;
  windowMs: number;
  hits: number[];
}

export interface PlatformSimOptions {
  id: string;
  clientId: string;
  clientSecret: string;
  policy: TokenPolicy;
  tokenPrefix: { access: string; refresh: string };
  /** The platform's throttling answer, e.g. X 429 with x-rate-limit-reset. */
  throttle(sim: PlatformSim, retryAfterS: number, route: string): SimReply;
  /** The platform's answer to a plain server error. */
  serverError(sim: PlatformSim, status: number): SimReply;
}

export class PlatformSim {
  readonly id: string;
  readonly clock: Clock;
  readonly opts: PlatformSimOptions;
  policy: TokenPolicy;
  readonly routes: Route[] = [];
  accounts = new Map<string, SimAccount>();
  grants = new Map<string, Grant>();
  tokens = new Map<string, SimToken>();
  codes = new Map<string, CodeGrant>();
  calls: CallRecord[] = [];
  writes: WriteRecord[] = [];
  faults: Fault[] = [];
  windows: RateWindow[] = [];
  jobs = new Map<string, SimJob>();
  jobFailures: JobFailure[] = [];
  /** Platform-specific limits the admin API can change (daily units, publish caps, …). */
  knobs: Record<string, number> = {};
  /** Posts, daily metrics and messages (simulators/content.ts). */
  readonly content = new ContentStore();
  /** How this platform shapes ids of posts and messages; a platform module may replace it. */
  contentId: () => string = () => randomUUID();
  /** The platform's webhook delivery for a new message (Meta entry/changes, X events, …), where it sends one. */
  webhookFor?: (message: import('./content.ts').SimMessage) => unknown;
  /** Who consents on the next authorize request, and what they grant. */
  nextConsent: { accountId?: string; scopes?: string[]; deny?: boolean } | undefined;
  private seq = 0;

  constructor(clock: Clock, opts: PlatformSimOptions) {
    this.id = opts.id;
    this.clock = clock;
    this.opts = opts;
    this.policy = { ...opts.policy };
  }

  reset(): void {
    this.policy = { ...this.opts.policy };
    this.accounts.clear();
    this.grants.clear();
    this.tokens.clear();
    this.codes.clear();
    this.calls = [];
    this.writes = [];
    this.faults = [];
    for (const w of this.windows) w.hits = [];
    this.jobs.clear();
    this.jobFailures = [];
    this.nextConsent = undefined;
    this.content.reset();
  }

  route(method: string, path: string | RegExp, name: string, handler: Handler, opts: { write?: boolean } = {}): void {
    this.routes.push({ method, path, name, handler, write: opts.write });
  }

  /** A sliding window the platform enforces on a route (per app, as the simulator has one app). */
  limit(route: string, limit: number, windowMs: number): RateWindow {
    const window = { route, limit, windowMs, hits: [] as number[] };
    this.windows.push(window);
    return window;
  }

  addAccount(account: SimAccount): SimAccount {
    this.accounts.set(account.id, account);
    return account;
  }

  firstAccount(): SimAccount {
    const first = this.accounts.values().next().value;
    if (!first) throw new Error(`${this.id} simulator has no accounts`);
    return first;
  }

  nextSeq(): number {
    return ++this.seq;
  }

  recordWrite(route: string, data: Record<string, unknown>, accountId?: string): WriteRecord {
    const write = { seq: this.nextSeq(), route, at: this.clock.now(), accountId, data };
    this.writes.push(write);
    return write;
  }

  checkClient(clientId: string | null | undefined, clientSecret?: string | null): boolean {
    return clientId === this.opts.clientId && (clientSecret === undefined || clientSecret === this.opts.clientSecret);
  }

  /** The authorize step: the consenting account (seeded, or chosen through the admin API) approves. */
  authorize(p: {
    clientId: string | null;
    redirectUri: string | null;
    scopes: string[];
    state: string | null;
    challenge?: string | null;
    challengeMethod?: string | null;
    nonce?: string | null;
    /** Instagram and Threads append "#_" to the redirect. */
    fragment?: string;
  }): SimReply {
    if (!this.checkClient(p.clientId)) return { status: 400, body: { error: 'invalid_client' } };
    if (!p.redirectUri) return { status: 400, body: { error: 'invalid_request', error_description: 'redirect_uri' } };
    const consent = this.nextConsent ?? {};
    this.nextConsent = undefined;
    const target = new URL(p.redirectUri);
    if (p.state !== null) target.searchParams.set('state', p.state);
    if (consent.deny) {
      target.searchParams.set('error', 'access_denied');
      target.searchParams.set('error_description', 'The user denied the request');
    } else {
      const account = consent.accountId ? this.accounts.get(consent.accountId) : this.firstAccount();
      if (!account) return { status: 400, body: { error: 'unknown account' } };
      const code = `${this.id}-code-${randomBytes(12).toString('hex')}`;
      this.codes.set(code, {
        code,
        clientId: p.clientId as string,
        redirectUri: p.redirectUri,
        accountId: account.id,
        scopes: consent.scopes ?? p.scopes,
        challenge: p.challenge ?? undefined,
        challengeMethod: p.challengeMethod ?? undefined,
        nonce: p.nonce ?? undefined,
        expiresAt: this.clock.now() + this.policy.codeTtlS * 1000,
      });
      target.searchParams.set('code', code);
    }
    return { status: 302, headers: { location: target.toString() + (p.fragment ?? '') } };
  }

  /**
   * Redeems an authorization code: single use, unexpired, same client and redirect, and a matching
   * PKCE verifier when a challenge was given. Returns the new grant or the reason it was refused.
   */
  redeemCode(
    code: string | null,
    p: { clientId: string | null; redirectUri: string | null; verifier?: string | null },
  ): { grant: Grant; nonce?: string } | { error: 'invalid_grant' | 'invalid_request'; description: string } {
    const entry = code ? this.codes.get(code) : undefined;
    if (!entry) return { error: 'invalid_grant', description: 'Malformed auth code.' };
    if (entry.usedAt) {
      // RFC 6749 §4.1.2: a reused code should revoke what it issued.
      const issued = this.grants.get(`grant-${entry.code}`);
      if (issued) issued.revokedAt ??= this.clock.now();
      return { error: 'invalid_grant', description: 'Code was already redeemed.' };
    }
    if (entry.expiresAt <= this.clock.now()) return { error: 'invalid_grant', description: 'Code expired.' };
    if (entry.clientId !== p.clientId)
      return { error: 'invalid_grant', description: 'Code was issued to another client.' };
    if (entry.redirectUri !== p.redirectUri) return { error: 'invalid_grant', description: 'redirect_uri mismatch.' };
    if (entry.challenge) {
      const verifier = p.verifier ?? '';
      const computed =
        entry.challengeMethod === 'plain' ? verifier : createHash('sha256').update(verifier).digest('base64url');
      if (!verifier || computed !== entry.challenge) {
        return { error: 'invalid_grant', description: 'Invalid code verifier.' };
      }
    }
    entry.usedAt = this.clock.now();
    const grant: Grant = {
      id: `grant-${entry.code}`,
      accountId: entry.accountId,
      clientId: entry.clientId,
      scopes: entry.scopes,
      createdAt: this.clock.now(),
    };
    this.grants.set(grant.id, grant);
    return { grant, nonce: entry.nonce };
  }

  issue(grant: Grant, kind: 'access' | 'refresh', ttlS: number | null, prefix?: string): SimToken {
    const value = `${prefix ?? this.opts.tokenPrefix[kind]}${randomBytes(24).toString('base64url')}`;
    const now = this.clock.now();
    const token: SimToken = {
      value,
      kind,
      grantId: grant.id,
      issuedAt: now,
      expiresAt: ttlS === null ? null : now + ttlS * 1000,
    };
    this.tokens.set(value, token);
    return token;
  }

  /** Looks a token up and says whether it may be used now. */
  check(value: string | undefined, kind: 'access' | 'refresh' = 'access'): TokenAuth {
    if (!value) return { ok: false, problem: 'missing' };
    const token = this.tokens.get(value);
    if (!token || token.kind !== kind) return { ok: false, problem: 'invalid' };
    const grant = this.grants.get(token.grantId);
    const account = grant ? this.accounts.get(grant.accountId) : undefined;
    const base = { token, grant, account };
    if (!grant || grant.revokedAt !== undefined) return { ...base, ok: false, problem: 'revoked' };
    if (token.retiredAt !== undefined) return { ...base, ok: false, problem: 'retired' };
    if (token.expiresAt !== null && token.expiresAt <= this.clock.now())
      return { ...base, ok: false, problem: 'expired' };
    return { ...base, ok: true };
  }

  revokeGrant(grantId: string, reason = 'revoked'): void {
    const grant = this.grants.get(grantId);
    if (grant && grant.revokedAt === undefined) {
      grant.revokedAt = this.clock.now();
      grant.revokedReason = reason;
    }
  }

  /** Access and refresh tokens of a grant that are still usable. */
  liveTokens(grantId: string): SimToken[] {
    return [...this.tokens.values()].filter((t) => t.grantId === grantId && this.check(t.value, t.kind).ok);
  }

  /**
   * Starts background work. Durations and poll counts come from the knobs `<kind>Ms` and
   * `<kind>Polls` (defaults 0: ready at the first look), so tests choose how slow a platform is.
   */
  startJob(
    kind: string,
    data: Record<string, unknown>,
    opts: { id?: string; accountId?: string; ttlMs?: number } = {},
  ): SimJob {
    const now = this.clock.now();
    const failure = this.jobFailures.find((f) => f.kind === kind && f.remaining > 0);
    if (failure) failure.remaining--;
    this.jobFailures = this.jobFailures.filter((f) => f.remaining > 0);
    const job: SimJob = {
      id: opts.id ?? numericId(17),
      kind,
      accountId: opts.accountId,
      createdAt: now,
      readyAfterMs: this.knobs[`${kind}Ms`] ?? 0,
      readyAfterPolls: this.knobs[`${kind}Polls`] ?? 0,
      polls: 0,
      expiresAt: opts.ttlMs === undefined ? undefined : now + opts.ttlMs,
      failure: failure?.reason,
      data,
    };
    this.jobs.set(job.id, job);
    return job;
  }

  /** Where a job stands now; `poll` counts this look as a status poll. */
  jobPhase(job: SimJob, opts: { poll?: boolean } = {}): JobPhase {
    if (opts.poll) job.polls++;
    const now = this.clock.now();
    if (job.consumedAt !== undefined) return 'consumed';
    if (job.expiresAt !== undefined && job.expiresAt <= now) return 'expired';
    if (now - job.createdAt < job.readyAfterMs || job.polls < job.readyAfterPolls) return 'pending';
    return job.failure ? 'failed' : 'ready';
  }

  /**
   * A rolling publish cap (Instagram's content_publishing_limit, Threads' threads_publishing_limit):
   * writes of `route` by the account within `windowMs`, against the knob's total.
   */
  capUsage(route: string, accountId: string, windowMs: number): { used: number; oldestAt?: number } {
    const since = this.clock.now() - windowMs;
    const inWindow = this.writes.filter((w) => w.route === route && w.accountId === accountId && w.at > since);
    return { used: inWindow.length, oldestAt: inWindow[0]?.at };
  }

  /** A grant and access token minted without the OAuth dance, for tests and benchmarks of API calls. */
  mintToken(accountId: string, scopes: string[] = [], ttlS: number | null = this.policy.accessTtlS): SimToken {
    const grant: Grant = {
      id: `grant-admin-${randomBytes(8).toString('hex')}`,
      accountId,
      clientId: this.opts.clientId,
      scopes,
      createdAt: this.clock.now(),
    };
    this.grants.set(grant.id, grant);
    return this.issue(grant, 'access', ttlS);
  }

  /** Consumes the first matching fault for a route, if any. */
  takeFault(route: string): Fault | undefined {
    const fault = this.faults.find((f) => (f.route === route || f.route === '*') && f.remaining > 0);
    if (!fault) return undefined;
    // `after`: let that many calls through first (a throttle in the middle of a paged read).
    if (fault.after) {
      fault.after--;
      return undefined;
    }
    fault.remaining--;
    this.faults = this.faults.filter((f) => f.remaining > 0);
    return fault;
  }

  /** Counts a call against the route's window; returns the wait in seconds when over the limit. */
  hitWindow(route: string): { window: RateWindow; retryAfterS?: number } | undefined {
    const window = this.windows.find((w) => w.route === route);
    if (!window) return undefined;
    const now = this.clock.now();
    window.hits = window.hits.filter((t) => t > now - window.windowMs);
    if (window.hits.length >= window.limit) {
      const oldest = window.hits[0] ?? now;
      return { window, retryAfterS: Math.max(1, Math.ceil((oldest + window.windowMs - now) / 1000)) };
    }
    window.hits.push(now);
    return { window };
  }
}

export const newId = (prefix = ''): string => `${prefix}${randomUUID()}`;

/** Digits of a given length, for platforms whose ids are numeric strings. */
export function numericId(length: number): string {
  let out = String(1 + Math.floor(Math.random() * 9));
  while (out.length < length) out += String(Math.floor(Math.random() * 10));
  return out;
}
