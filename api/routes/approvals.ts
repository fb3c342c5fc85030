import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LockMode } from '@mikro-orm/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import {
  APPROVAL_STATES,
  ApprovalLink,
  Post,
  PostTarget,
  PostVariant,
  TARGET_STATUSES,
  VARIANT_KEYS,
} from '../../db/entities/index.ts';
import { accountFailure, checkAccount, type ThrottleState } from '../../domain/login-throttle.ts';
import { defaultPolicy, SECOND } from '../../domain/policy.ts';
import { audit } from '../../lib/audit.ts';
import { hashPassword, sha256, utf8Bytes, verifyPassword } from '../../lib/secrets.ts';
import { sqlOf } from '../../lib/sql.ts';
import { PLATFORMS } from '../../platforms/types.ts';
import { notifyApprovalDecided } from '../../workflows/publish.client.ts';
import { AppError, conflict, notFound, tooManyRequests } from '../errors.ts';
import { requireRole } from '../plugins/auth.ts';
import { bearerSecurity, commonErrors, ErrorResponse, Strict, Timestamp, Uuid } from '../schemas.ts';

// Client approval links. The team makes a link for one post; whoever holds it sees a read-only
// preview of that post and can approve or reject it once. The token (256 random bits) is shown once
// and stored only as SHA-256; an optional password is bcrypt-hashed. Every public read goes through
// the link's own postId, so a link can never reach another post. A link stops working when revoked,
// at its expiry, and in any case approvalLinkTtlMs after it was made, checked on every request.
//
// Password guesses are throttled per link with the sign-in policy (domain/login-throttle.ts): each
// attempt is counted as a failure under the link's row lock before bcrypt runs, so parallel guesses
// queue and each uses up a slot; a right password clears the count. approval_links has no separate
// "next allowed" column, so locked_until holds the forced wait (failed_attempts > 0) or the lockout
// (failed_attempts = 0, as the policy resets the count when it locks).

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;

const LINK_TTL_MS = defaultPolicy.publish.approvalLinkTtlMs;
/** `sba_` + 256 random bits, URL-safe. Not a bearer token kind: it opens nothing but its link. */
const newLinkToken = () => `sba_${randomBytes(32).toString('base64url')}`;
const PASSWORD_HEADER = 'x-link-password';
/** Requests per IP per minute on the public approval routes (per API process). */
export const LINK_IP_LIMIT = 60;
const LINK_IP_WINDOW_MS = 60 * SECOND;

/** When the link stops working: its own expiry, or the TTL after creation, whichever is first. */
const effectiveExpiry = (link: ApprovalLink) =>
  new Date(Math.min(link.expiresAt.getTime(), link.createdAt.getTime() + LINK_TTL_MS));
const isGone = (link: ApprovalLink, now: Date) => Boolean(link.revokedAt) || effectiveExpiry(link) <= now;
const linkExpired = () =>
  new AppError(410, 'LINK_EXPIRED', 'this approval link has expired or was revoked; ask for a new one');

const LinkView = Type.Object({
  id: Uuid,
  postId: Uuid,
  createdBy: Nullable(Uuid),
  createdAt: Timestamp,
  expiresAt: Timestamp,
  revokedAt: Nullable(Timestamp),
  lastUsedAt: Nullable(Timestamp),
  hasPassword: Type.Boolean(),
  expired: Type.Boolean(),
  revoked: Type.Boolean(),
  failedAttempts: Type.Integer({ description: 'Wrong passwords since the last right one' }),
  lockedUntil: Nullable(Timestamp),
});
const linkView = (link: ApprovalLink, now = new Date()) => ({
  id: link.id,
  postId: link.post,
  createdBy: link.createdBy ?? null,
  createdAt: link.createdAt.toISOString(),
  expiresAt: effectiveExpiry(link).toISOString(),
  revokedAt: iso(link.revokedAt),
  lastUsedAt: iso(link.lastUsedAt),
  hasPassword: Boolean(link.passwordHash),
  expired: effectiveExpiry(link) <= now,
  revoked: Boolean(link.revokedAt),
  failedAttempts: link.failedAttempts,
  lockedUntil: link.lockedUntil && link.lockedUntil > now ? link.lockedUntil.toISOString() : null,
});

const PreviewView = Type.Object({
  title: Nullable(Type.String()),
  approvalState: Type.Enum(APPROVAL_STATES),
  feedback: Nullable(Type.String()),
  decidedAt: Nullable(Timestamp),
  contentVersion: Type.Integer({
    description: 'Send it back with the decision to refuse a decision on changed content',
  }),
  expiresAt: Timestamp,
  variants: Type.Array(
    Type.Object({
      platform: Type.Enum(VARIANT_KEYS),
      caption: Type.String(),
      media: Type.Array(Type.Object({ url: Type.String(), kind: Type.String(), altText: Nullable(Type.String()) })),
      options: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
  targets: Type.Array(
    Type.Object({ platform: Type.Enum(PLATFORMS), dueAt: Nullable(Timestamp), status: Type.Enum(TARGET_STATUSES) }),
  ),
});
type Preview = {
  title: string | null;
  approvalState: (typeof APPROVAL_STATES)[number];
  feedback: string | null;
  decidedAt: string | null;
  contentVersion: number;
  expiresAt: string;
  variants: {
    platform: (typeof VARIANT_KEYS)[number];
    caption: string;
    media: { url: string; kind: string; altText: string | null }[];
    options: Record<string, unknown>;
  }[];
  targets: { platform: (typeof PLATFORMS)[number]; dueAt: string | null; status: (typeof TARGET_STATUSES)[number] }[];
};

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (value: unknown) => String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** A small static page of the preview: every value escaped, no scripts, nothing loaded from elsewhere. */
function renderHtml(p: Preview): string {
  const e = escapeHtml;
  const state = p.approvalState === 'pending' ? 'waiting for your approval' : p.approvalState.replace('_', ' ');
  const variants = p.variants
    .map(
      (v) => `<section>
<h2>${e(v.platform === 'default' ? 'All platforms' : v.platform)}</h2>
<div class="caption">${e(v.caption)}</div>
${
  v.media.length
    ? `<ul>${v.media.map((m) => `<li>${e(m.kind)}: ${e(m.altText ?? 'no description')} <code>${e(m.url)}</code></li>`).join('')}</ul>`
    : ''
}
${
  Object.keys(v.options).length
    ? `<dl>${Object.entries(v.options)
        .map(([k, val]) => `<dt>${e(k)}</dt><dd>${e(typeof val === 'string' ? val : JSON.stringify(val))}</dd>`)
        .join('')}</dl>`
    : ''
}
</section>`,
    )
    .join('\n');
  const targets = p.targets.length
    ? `<table><tr><th>Platform</th><th>When</th><th>Status</th></tr>${p.targets
        .map(
          (t) => `<tr><td>${e(t.platform)}</td><td>${e(t.dueAt ?? 'not scheduled')}</td><td>${e(t.status)}</td></tr>`,
        )
        .join('')}</table>`
    : '<p>Not scheduled yet.</p>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${e(p.title ?? 'Post preview')}</title>
<style>body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;line-height:1.5}.caption{white-space:pre-wrap;border-left:3px solid #ccc;padding-left:.75rem}code{word-break:break-all}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left}</style>
</head>
<body>
<h1>${e(p.title ?? 'Post preview')}</h1>
<p>Status: <strong>${e(state)}</strong>${p.decidedAt ? ` (${e(p.decidedAt)})` : ''}</p>
${p.feedback ? `<p>Feedback: <span class="caption">${e(p.feedback)}</span></p>` : ''}
${variants}
<h2>Where and when</h2>
${targets}
<p><small>This preview is read-only. The link works until ${e(p.expiresAt)}.</small></p>
</body>
</html>
`;
}

const HTML_HEADERS = {
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
};
/** The link is a credential in the URL: not cached, not passed on as a referrer, not indexed. */
const PRIVATE_HEADERS = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-robots-tag': 'noindex, nofollow',
  'x-content-type-options': 'nosniff',
};

const wantsHtml = (request: FastifyRequest) => /\btext\/html\b/i.test(request.headers.accept ?? '');

function headerPassword(request: FastifyRequest): string | undefined {
  const raw = request.headers[PASSWORD_HEADER];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value ? value.slice(0, 1024) : undefined;
}

interface ThrottleRow {
  failed_attempts: number;
  /** Epoch milliseconds (raw SQL gives timestamps as text otherwise). */
  locked_until_ms: number | null;
  created_at_ms: number;
}

/** The link's counter in the sign-in policy's terms (see the note at the top). */
const toState = (row: ThrottleRow): ThrottleState => {
  const until = row.locked_until_ms === null ? null : new Date(Number(row.locked_until_ms));
  return {
    failures: row.failed_attempts,
    windowStartedAt: new Date(Number(row.created_at_ms)),
    nextAllowedAt: row.failed_attempts > 0 ? until : null,
    lockedUntil: row.failed_attempts === 0 ? until : null,
  };
};

const TokenParams = Strict({ token: Type.String({ minLength: 10, maxLength: 100, pattern: '^[A-Za-z0-9_-]+$' }) });
const PostParams = Strict({ workspaceId: Uuid, postId: Uuid });
const LinkParams = Strict({ workspaceId: Uuid, postId: Uuid, linkId: Uuid });

export const approvalRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { orm, config } = app.deps;
  const policy = config.auth.loginThrottle;
  const tags = ['approvals'];
  const publicErrors = {
    400: ErrorResponse,
    401: ErrorResponse,
    404: ErrorResponse,
    410: ErrorResponse,
    413: ErrorResponse,
    415: ErrorResponse,
    429: ErrorResponse,
  };

  // ── Public side: hooks ────────────────────────────────────────────────────────────────────────

  /** A little per-IP limit on the public routes (fixed one-minute windows, per process). */
  const hits = new Map<string, { count: number; resetAt: number }>();
  async function limitIp(request: FastifyRequest) {
    const now = Date.now();
    if (hits.size > 10_000) for (const [k, v] of hits) if (v.resetAt <= now) hits.delete(k);
    let entry = hits.get(request.ip);
    if (!entry || entry.resetAt <= now) {
      entry = { count: 0, resetAt: now + LINK_IP_WINDOW_MS };
      hits.set(request.ip, entry);
    }
    entry.count++;
    if (entry.count > LINK_IP_LIMIT) {
      throw tooManyRequests('RATE_LIMITED', 'too many requests from this address; wait a minute', entry.resetAt - now);
    }
  }
  // The token stays out of logs and the request log through lib/logger.ts loggablePath.
  const publicHooks = [limitIp];

  async function resolveLink(token: string): Promise<ApprovalLink> {
    const link = await orm.em.fork().findOne(ApprovalLink, { tokenHash: sha256(token) });
    if (!link) throw notFound('approval link');
    if (isGone(link, new Date())) throw linkExpired();
    return link;
  }

  /**
   * Refuses a wrong or missing password. The attempt is counted as a failure first, under the
   * link's row lock, and only then is the hash compared (outside any transaction: bcrypt is slow).
   */
  async function checkPassword(request: FastifyRequest, link: ApprovalLink, given: string | undefined) {
    if (!link.passwordHash) return;
    if (!given) {
      throw new AppError(
        401,
        'LINK_PASSWORD_REQUIRED',
        `this link is protected by a password; send it in the ${PASSWORD_HEADER} header`,
      );
    }
    const reservation = await orm.em.fork().transactional(async (em) => {
      const db = sqlOf(em);
      const [row] = await db.execute<ThrottleRow[]>(
        `select failed_attempts, (extract(epoch from locked_until) * 1000)::float8 as locked_until_ms,
                (extract(epoch from created_at) * 1000)::float8 as created_at_ms
           from approval_links where id = ? for update`,
        [link.id],
      );
      if (!row) throw notFound('approval link');
      // After the lock: a guess that queued behind others is judged by the time it gets its turn.
      const now = new Date();
      const state = toState(row);
      const verdict = checkAccount(state, now);
      if (!verdict.allowed) return { refused: verdict };
      const next = accountFailure(state, now, policy);
      await db.execute(
        'update approval_links set failed_attempts = ?, locked_until = ? where id = ?',
        [next.state.failures, next.state.lockedUntil ?? next.state.nextAllowedAt, link.id],
        'run',
      );
      if (next.locked) {
        audit(em, {
          action: 'approval_link.throttled',
          workspaceId: link.workspace,
          targetType: 'approval_link',
          targetId: link.id,
          requestId: request.id,
          details: { locked: true, lockedForMs: policy.lockoutMs },
        });
      }
      return { next };
    });
    if ('refused' in reservation) {
      const { reason, retryAfterMs } = reservation.refused as Extract<typeof reservation.refused, { allowed: false }>;
      throw reason === 'locked'
        ? tooManyRequests('LINK_LOCKED', 'too many wrong passwords; this link is locked for a while', retryAfterMs)
        : tooManyRequests('LINK_THROTTLED', 'too many wrong passwords; wait before trying again', retryAfterMs);
    }
    const ok = utf8Bytes(given) <= defaultPolicy.passwordMaxBytes && (await verifyPassword(given, link.passwordHash));
    if (ok) {
      await sqlOf(orm.em.fork()).execute(
        'update approval_links set failed_attempts = 0, locked_until = null where id = ?',
        [link.id],
        'run',
      );
      return;
    }
    if (reservation.next.locked) {
      throw tooManyRequests(
        'LINK_LOCKED',
        'too many wrong passwords; this link is locked for a while',
        policy.lockoutMs,
      );
    }
    throw new AppError(401, 'INVALID_LINK_PASSWORD', 'the password is wrong');
  }

  /** The preview of the link's own post: every read is by the link's postId (and workspace). */
  async function loadPreview(link: ApprovalLink): Promise<Preview> {
    const em = orm.em.fork();
    const where = { post: link.post, workspace: link.workspace };
    const post = await em.findOne(Post, { id: link.post, workspace: link.workspace });
    if (!post) throw notFound('approval link');
    const variants = await em.find(PostVariant, where);
    const targets = await em.find(PostTarget, where, { orderBy: { dueAt: 'asc', platform: 'asc', id: 'asc' } });
    const rank = (k: string) => (VARIANT_KEYS as readonly string[]).indexOf(k);
    return {
      title: post.title ?? null,
      approvalState: post.approvalState,
      feedback: post.approvalFeedback ?? null,
      decidedAt: iso(post.approvalDecidedAt),
      contentVersion: post.contentVersion,
      expiresAt: effectiveExpiry(link).toISOString(),
      variants: variants
        .sort((a, b) => rank(a.platform) - rank(b.platform))
        .map((v) => ({
          platform: v.platform,
          caption: v.caption,
          media: (v.media ?? []).map((m) => ({ url: m.url, kind: m.kind, altText: m.altText ?? null })),
          options: v.options ?? {},
        })),
      targets: targets.map((t) => ({ platform: t.platform, dueAt: iso(t.dueAt), status: t.status })),
    };
  }

  const sendPreview = (request: FastifyRequest, reply: FastifyReply, preview: Preview) => {
    reply.headers(PRIVATE_HEADERS);
    if (!wantsHtml(request)) return reply.header('content-type', 'application/json; charset=utf-8').send(preview);
    // A string is sent as is; the cast only satisfies the schema-derived reply type.
    return reply
      .headers(HTML_HEADERS)
      .header('content-type', 'text/html; charset=utf-8')
      .send(renderHtml(preview) as unknown as Preview);
  };

  // ── Public side: routes ───────────────────────────────────────────────────────────────────────

  app.get(
    '/approvals/:token',
    {
      config: { public: true },
      onRequest: publicHooks,
      schema: {
        tags,
        summary: 'Preview the post of an approval link (the token is the credential)',
        description: `Read-only: the post's title, variants (caption, media, options), targets (platform, due time, status), approval state and feedback. \`Accept: text/html\` gives a small static page of the same. A password-protected link needs the \`${PASSWORD_HEADER}\` header. 404 unknown link, 410 expired or revoked, 401 wrong or missing password, 429 while throttled or locked (Retry-After).`,
        params: TokenParams,
        response: { 200: PreviewView, ...publicErrors },
      },
    },
    async (request, reply) => {
      const link = await resolveLink(request.params.token);
      await checkPassword(request, link, headerPassword(request));
      const preview = await loadPreview(link);
      await orm.em.fork().nativeUpdate(ApprovalLink, { id: link.id }, { lastUsedAt: new Date() });
      return sendPreview(request, reply, preview);
    },
  );

  app.post(
    '/approvals/:token/decision',
    {
      config: { public: true },
      onRequest: publicHooks,
      schema: {
        tags,
        summary: 'Approve or reject the post of an approval link',
        description:
          'Only while the post waits for approval (409 APPROVAL_DECIDED afterwards). The publish workflows of its scheduled targets are told at once. With `contentVersion` (from the preview), a post changed since then gives 409 CONTENT_CHANGED.',
        params: TokenParams,
        body: Strict({
          decision: Type.Enum(['approve', 'reject']),
          feedback: Type.Optional(Type.String({ maxLength: 2000 })),
          password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
          contentVersion: Type.Optional(Type.Integer({ minimum: 1 })),
        }),
        response: {
          200: Type.Object({ approvalState: Type.Enum(APPROVAL_STATES) }),
          ...publicErrors,
          409: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const link = await resolveLink(request.params.token);
      await checkPassword(request, link, request.body.password ?? headerPassword(request));
      const { decision, contentVersion } = request.body;
      const feedback = request.body.feedback?.trim() || null;
      const now = new Date();
      const outcome = await orm.em.fork().transactional(async (em) => {
        // Link first, then post: a revoke in between is seen here, and two decisions queue on the post.
        const locked = await em.findOne(ApprovalLink, link.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!locked) throw notFound('approval link');
        if (isGone(locked, now)) throw linkExpired();
        const post = await em.findOne(
          Post,
          { id: locked.post, workspace: locked.workspace },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        );
        if (!post) throw notFound('approval link');
        if (post.approvalState !== 'pending') {
          throw conflict(
            'APPROVAL_DECIDED',
            post.approvalState === 'not_required'
              ? 'this post does not wait for approval'
              : `this post was already ${post.approvalState}`,
          );
        }
        if (contentVersion !== undefined && contentVersion !== post.contentVersion) {
          throw conflict('CONTENT_CHANGED', 'the post was changed since this preview; reload it and decide again');
        }
        post.approvalState = decision === 'approve' ? 'approved' : 'rejected';
        post.approvalFeedback = feedback;
        post.approvalDecidedAt = now;
        locked.lastUsedAt = now;
        // Ids and enums only: the feedback text stays in the post.
        audit(em, {
          action: 'approval.decided',
          actorId: null,
          workspaceId: post.workspace,
          targetType: 'post',
          targetId: post.id,
          requestId: request.id,
          details: { linkId: locked.id, approvalState: post.approvalState, contentVersion: post.contentVersion },
        });
        const targets = await em.find(
          PostTarget,
          { post: post.id, workspace: post.workspace, status: { $in: ['scheduled', 'awaiting_approval'] } },
          { fields: ['id'] },
        );
        return { approvalState: post.approvalState, targetIds: targets.map((t) => t.id) };
      });
      // After commit. A workflow that misses this signal reads the approval state when it next wakes.
      if (outcome.targetIds.length) {
        const { temporal } = app.deps;
        await temporal
          .withDeadline(Date.now() + 10 * SECOND, () => notifyApprovalDecided(temporal, outcome.targetIds))
          .catch((err) =>
            request.log.warn({ err, postId: link.post }, 'approval decided; signalling publish workflows failed'),
          );
      }
      reply.headers(PRIVATE_HEADERS);
      return { approvalState: outcome.approvalState };
    },
  );

  // ── Team side ─────────────────────────────────────────────────────────────────────────────────

  app.post(
    '/workspaces/:workspaceId/posts/:postId/approval-links',
    {
      schema: {
        tags,
        summary: 'Make a client approval link for a post (the token is shown once)',
        description: `The link shows this post only and works for at most ${LINK_TTL_MS / 3_600_000} hours. A post that did not require approval now does (state pending). Passwords: 8 to 72 bytes.`,
        security: bearerSecurity,
        params: PostParams,
        body: Strict({
          password: Type.Optional(Type.String({ minLength: 8, maxLength: 72 })),
          expiresInSeconds: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: LINK_TTL_MS / SECOND,
              description: `Default and most ${LINK_TTL_MS / SECOND}`,
            }),
          ),
        }),
        response: {
          201: Type.Object({
            link: LinkView,
            token: Type.String({ description: 'Shown once; only its SHA-256 is stored' }),
            url: Type.String({ description: 'The link to send to the client' }),
          }),
          ...commonErrors,
          403: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const { workspaceId, postId } = request.params;
      const actor = await requireRole(request, workspaceId, 'member');
      const { password } = request.body;
      if (!(await orm.em.fork().count(Post, { id: postId, workspace: workspaceId }))) throw notFound('post');
      if (password !== undefined && utf8Bytes(password) > defaultPolicy.passwordMaxBytes) {
        throw new AppError(
          400,
          'VALIDATION_FAILED',
          `body.password must be at most ${defaultPolicy.passwordMaxBytes} bytes`,
          'body.password',
        );
      }
      const passwordHash = password ? await hashPassword(password, config.auth.bcryptCost) : null;
      const token = newLinkToken();
      const ttlMs = Math.min((request.body.expiresInSeconds ?? LINK_TTL_MS / SECOND) * SECOND, LINK_TTL_MS);
      const link = await orm.em.fork().transactional(async (em) => {
        const post = await em.findOne(
          Post,
          { id: postId, workspace: workspaceId },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        );
        if (!post) throw notFound('post');
        // A post already going out cannot be put up for approval any more.
        if (await em.count(PostTarget, { post: postId, status: 'publishing' })) {
          throw conflict('PUBLISH_IN_PROGRESS', 'this post is being published; it can no longer be sent for approval');
        }
        // A new link after a rejection starts a new round of review.
        const requested = post.approvalState === 'not_required' || post.approvalState === 'rejected';
        post.requiresApproval = true;
        if (requested) post.approvalState = 'pending';
        const now = new Date();
        const row = em.create(ApprovalLink, {
          id: randomUUID(),
          workspace: workspaceId,
          post: postId,
          tokenHash: sha256(token),
          passwordHash,
          createdBy: actor.user,
          createdAt: now,
          expiresAt: new Date(now.getTime() + ttlMs),
          failedAttempts: 0,
        });
        audit(em, {
          action: 'approval_link.created',
          actorId: actor.user,
          workspaceId,
          targetType: 'approval_link',
          targetId: row.id,
          requestId: request.id,
          details: {
            postId,
            hasPassword: Boolean(passwordHash),
            ttlSeconds: ttlMs / SECOND,
            approvalRequested: requested,
          },
        });
        return row;
      });
      return reply
        .status(201)
        .headers({ 'cache-control': 'no-store' })
        .send({ link: linkView(link), token, url: `${config.publicUrl}/v1/approvals/${token}` });
    },
  );

  app.get(
    '/workspaces/:workspaceId/posts/:postId/approval-links',
    {
      schema: {
        tags,
        summary: "A post's approval links (never their tokens or hashes)",
        security: bearerSecurity,
        params: PostParams,
        response: { 200: Type.Array(LinkView), ...commonErrors, 403: ErrorResponse },
      },
    },
    async (request) => {
      const { workspaceId, postId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const em = orm.em.fork();
      if (!(await em.count(Post, { id: postId, workspace: workspaceId }))) throw notFound('post');
      const rows = await em.find(
        ApprovalLink,
        { post: postId, workspace: workspaceId },
        { orderBy: { createdAt: 'desc', id: 'asc' }, limit: 200 },
      );
      const now = new Date();
      return rows.map((r) => linkView(r, now));
    },
  );

  app.delete(
    '/workspaces/:workspaceId/posts/:postId/approval-links/:linkId',
    {
      schema: {
        tags,
        summary: 'Revoke an approval link (it answers 410 from now on)',
        security: bearerSecurity,
        params: LinkParams,
        response: { 204: Type.Null(), ...commonErrors, 403: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { workspaceId, postId, linkId } = request.params;
      const actor = await requireRole(request, workspaceId, 'member');
      await orm.em.fork().transactional(async (em) => {
        const link = await em.findOne(
          ApprovalLink,
          { id: linkId, post: postId, workspace: workspaceId },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        );
        if (!link) throw notFound('approval link');
        if (link.revokedAt) return;
        link.revokedAt = new Date();
        audit(em, {
          action: 'approval_link.revoked',
          actorId: actor.user,
          workspaceId,
          targetType: 'approval_link',
          targetId: link.id,
          requestId: request.id,
          details: { postId },
        });
      });
      return reply.status(204).send(null);
    },
  );
};
