import { randomUUID } from 'node:crypto';

// What an account has at a platform besides its tokens: its posts with their counters, daily
// account metrics, and the messages around it (comments, DMs, mentions). Every platform simulator
// keeps one store and maps it onto its own paths, field names and paging; the admin API seeds it
// and changes it, so tests can show that a sync reads history once, then only what changed.

export interface SimPost {
  id: string;
  accountId: string;
  createdAt: number;
  text: string;
  mediaType: string;
  /** Lifetime counters: views, likes, comments, shares, saves, … (names are the platform's own). */
  counters: Record<string, number>;
}

export interface SimAttachment {
  id: string;
  mimeType: string;
  bytes: number;
}

export interface SimMessage {
  id: string;
  accountId: string;
  kind: 'comment' | 'dm' | 'mention';
  /** The post for comments and mentions, the conversation for DMs. */
  threadId: string;
  parentId?: string;
  authorId: string;
  authorName: string;
  text: string;
  createdAt: number;
  /** Written by the account itself (a reply through the API). */
  fromAccount: boolean;
  hidden: boolean;
  deleted: boolean;
  read: boolean;
  attachments: SimAttachment[];
}

export interface SeedSpec {
  accountId: string;
  /** Posts spread over `days`, newest first. */
  posts?: number;
  /** Days of daily account metrics ending yesterday. */
  days?: number;
  commentsPerPost?: number;
  dms?: number;
  mentions?: number;
  /** Daily metric names (platform-specific); each gets a deterministic value per day. */
  dailyMetrics?: string[];
  /** Post counter names (platform-specific). */
  counters?: string[];
}

const DAY_MS = 86_400_000;
export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Deterministic small numbers, so two seeds of the same spec give the same history. */
function det(...parts: (string | number)[]): number {
  let h = 2166136261;
  for (const ch of parts.join('|')) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return (h >>> 0) % 1000;
}

export class ContentStore {
  posts: SimPost[] = [];
  /** accountId → day → metric → value */
  daily = new Map<string, Map<string, Record<string, number>>>();
  messages: SimMessage[] = [];
  /** Counts per account the platform reports as current totals (followers, …). */
  totals = new Map<string, Record<string, number>>();

  reset(): void {
    this.posts = [];
    this.daily.clear();
    this.messages = [];
    this.totals.clear();
  }

  seed(now: number, spec: SeedSpec, makeId: () => string = randomUUID): { posts: SimPost[]; messages: SimMessage[] } {
    const days = spec.days ?? 30;
    const posts: SimPost[] = [];
    const messages: SimMessage[] = [];
    const counters = spec.counters ?? ['views', 'likes', 'comments', 'shares'];
    for (let i = 0; i < (spec.posts ?? 0); i++) {
      const createdAt = now - Math.floor(((i + 0.5) * days * DAY_MS) / Math.max(1, spec.posts ?? 1));
      const id = makeId();
      const post: SimPost = {
        id,
        accountId: spec.accountId,
        createdAt,
        text: `Seeded post ${i + 1}`,
        mediaType: 'VIDEO',
        counters: Object.fromEntries(counters.map((c) => [c, det(spec.accountId, i, c)])),
      };
      posts.push(post);
      for (let c = 0; c < (spec.commentsPerPost ?? 0); c++) {
        messages.push(
          this.message({
            id: makeId(),
            accountId: spec.accountId,
            kind: 'comment',
            threadId: id,
            authorId: `fan-${c}`,
            authorName: `Fan ${c}`,
            text:
              c % 3 === 0
                ? 'I love this, great work!'
                : c % 3 === 1
                  ? 'This is terrible, awful.'
                  : 'When is the next one?',
            createdAt: createdAt + (c + 1) * 60_000,
          }),
        );
      }
    }
    for (let d = 0; d < (spec.dms ?? 0); d++) {
      messages.push(
        this.message({
          id: makeId(),
          accountId: spec.accountId,
          kind: 'dm',
          threadId: `conv-${spec.accountId}-${d}`,
          authorId: `customer-${d}`,
          authorName: `Customer ${d}`,
          text: 'Hello, I have a question about my order.',
          createdAt: now - (d + 1) * 3_600_000,
        }),
      );
    }
    for (let m = 0; m < (spec.mentions ?? 0); m++) {
      const id = makeId();
      messages.push(
        this.message({
          id,
          accountId: spec.accountId,
          kind: 'mention',
          threadId: id,
          authorId: `mentioner-${m}`,
          authorName: `Mentioner ${m}`,
          text: 'Shout-out to this account, brilliant!',
          createdAt: now - (m + 1) * 7_200_000,
        }),
      );
    }
    const series = this.daily.get(spec.accountId) ?? new Map<string, Record<string, number>>();
    for (let d = 1; d <= days; d++) {
      const day = dayOf(now - d * DAY_MS);
      series.set(
        day,
        Object.fromEntries((spec.dailyMetrics ?? ['views']).map((m) => [m, det(spec.accountId, day, m)])),
      );
    }
    this.daily.set(spec.accountId, series);
    this.posts.push(...posts);
    this.posts.sort((a, b) => b.createdAt - a.createdAt);
    this.messages.push(...messages);
    return { posts, messages };
  }

  message(
    m: Omit<SimMessage, 'fromAccount' | 'hidden' | 'deleted' | 'read' | 'attachments'> & Partial<SimMessage>,
  ): SimMessage {
    return { fromAccount: false, hidden: false, deleted: false, read: false, attachments: [], ...m };
  }

  addMessage(m: SimMessage): SimMessage {
    this.messages.push(m);
    return m;
  }

  postsOf(accountId: string): SimPost[] {
    return this.posts.filter((p) => p.accountId === accountId);
  }

  post(id: string): SimPost | undefined {
    return this.posts.find((p) => p.id === id);
  }

  /** Live messages of an account, newest first. */
  messagesOf(accountId: string, kind?: SimMessage['kind'], threadId?: string): SimMessage[] {
    return this.messages
      .filter(
        (m) =>
          m.accountId === accountId &&
          !m.deleted &&
          (!kind || m.kind === kind) &&
          (!threadId || m.threadId === threadId),
      )
      .sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Daily values of an account between two days (inclusive), oldest first. */
  dailyOf(accountId: string, from: string, to: string): { day: string; metrics: Record<string, number> }[] {
    const series = this.daily.get(accountId) ?? new Map();
    return [...series.entries()]
      .filter(([day]) => day >= from && day <= to)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([day, metrics]) => ({ day, metrics }));
  }

  /** Changes a post counter, a daily value (day given) or an account total. */
  bump(p: { accountId?: string; postId?: string; day?: string; metric: string; by: number }): boolean {
    if (p.postId) {
      const post = this.post(p.postId);
      if (!post) return false;
      post.counters[p.metric] = (post.counters[p.metric] ?? 0) + p.by;
      return true;
    }
    if (!p.accountId) return false;
    if (p.day) {
      const series = this.daily.get(p.accountId) ?? new Map<string, Record<string, number>>();
      const values = series.get(p.day) ?? {};
      values[p.metric] = (values[p.metric] ?? 0) + p.by;
      series.set(p.day, values);
      this.daily.set(p.accountId, series);
      return true;
    }
    const totals = this.totals.get(p.accountId) ?? {};
    totals[p.metric] = (totals[p.metric] ?? 0) + p.by;
    this.totals.set(p.accountId, totals);
    return true;
  }
}
