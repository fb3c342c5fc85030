import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import {
  type DeletionChannel,
  DeletionRequest,
  type DeletionStatus,
  DeletionStep,
  type StepResult,
} from '../../db/entities/index.ts';
import { audit } from '../../lib/audit.ts';
import { createDeletionRequest } from '../../lib/deletion-requests.ts';
import { verifySignedRequest } from '../../lib/meta-signed-request.ts';
import { startDeletion } from '../../workflows/deletion.client.ts';
import { AppError, notFound } from '../errors.ts';
import { ErrorResponse, Timestamp } from '../schemas.ts';

// Meta's data-deletion and deauthorize callbacks (one pair per app: the Facebook app and the
// Instagram-Login app, each verified with its own secret) and the public status page their
// confirmation code points at. Callbacks store the request before answering and refuse anything
// that fails verification with a 400 that writes nothing.

const META_APPS = ['facebook', 'instagram'] as const;
type MetaApp = (typeof META_APPS)[number];
const APP_NAMES: Record<MetaApp, string> = { facebook: 'Facebook', instagram: 'Instagram' };

const FORM = 'application/x-www-form-urlencoded';
const CODE_PATTERN = '^[A-Z0-9]{16,32}$';

const AppParams = Type.Object({ app: Type.Enum(META_APPS) }, { additionalProperties: false });
const SignedRequestBody = Type.Object({
  signed_request: Type.String({
    minLength: 1,
    maxLength: 8192,
    description: '`<signature>.<payload>`, both base64url',
  }),
});
const callbackErrors = { 400: ErrorResponse, 413: ErrorResponse };

const formRequired = () =>
  new AppError(400, 'VALIDATION_FAILED', `the body must be ${FORM} with a signed_request field`, 'body');

const RetainedItem = Type.Object({ what: Type.String(), reason: Type.String() });
const StatusView = Type.Object({
  code: Type.String(),
  status: Type.String(),
  receivedAt: Timestamp,
  dueAt: Timestamp,
  completedAt: Type.Union([Timestamp, Type.Null()]),
  /** Why a request was refused or cancelled. */
  reason: Type.Union([Type.String(), Type.Null()]),
  retained: Type.Array(RetainedItem),
});

type Retained = { what: string; reason: string };

const STATE_WORDS: Record<DeletionStatus, { title: string; text: string }> = {
  received: { title: 'Received', text: 'We have your request. Deletion starts shortly.' },
  in_grace: { title: 'In progress', text: 'Your data is being deleted.' },
  in_progress: { title: 'In progress', text: 'Your data is being deleted.' },
  completed: { title: 'Completed', text: 'All the data Switchboard stored from this account has been deleted.' },
  completed_with_exceptions: {
    title: 'Completed with exceptions',
    text: 'Your data has been deleted, except for the items listed below, for the reasons given.',
  },
  cancelled: { title: 'Cancelled', text: 'This request was cancelled before anything was deleted.' },
  refused: { title: 'Refused', text: 'This request was refused; the reason is given below.' },
};

const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** A retained item as the public sees it: the kind of data and the legal reason, no internal ids. */
function publicRetained(steps: DeletionStep[]): Retained[] {
  const out: Retained[] = [];
  for (const step of steps) {
    const result: StepResult = step.result ?? {};
    if (step.status === 'held') {
      const items = result.retained?.length ? result.retained : [{ what: '', reason: 'kept under a legal hold' }];
      for (const item of items) {
        const subject = item.what.split(' ')[0];
        const what =
          subject === 'connection'
            ? 'Data from a connected account'
            : subject === 'workspace'
              ? 'Data of a workspace'
              : 'Stored data';
        // Holds are recorded as `<kind> hold <id>: <reason>`: keep the kind and the reason.
        const reason = item.reason
          .replace(/^(\w+) hold [^:]*: /, (_m, kind: string) => `${kind[0]!.toUpperCase()}${kind.slice(1)} hold: `)
          .replace(UUID_RE, '')
          .slice(0, 500);
        out.push({ what, reason });
      }
    }
    for (const r of result.revocations ?? []) {
      if (r.outcome !== 'revoke_failed') continue;
      const name = APP_NAMES[r.platform as MetaApp] ?? r.platform;
      out.push({
        what: `Switchboard's access at ${name}`,
        reason: `${name} did not confirm that it removed Switchboard's access. The stored access tokens were deleted all the same; you can also remove the app in your ${name} settings.`,
      });
    }
  }
  return out;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const humanTime = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#222}dt{font-weight:600}dd{margin:0 0 .5rem}code{font-size:1.1em}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

type StatusJson = {
  code: string;
  status: DeletionStatus;
  receivedAt: string;
  dueAt: string;
  completedAt: string | null;
  reason: string | null;
  retained: Retained[];
};

function statusPage(view: StatusJson): string {
  const words = STATE_WORDS[view.status];
  const times: [string, string | null][] = [
    ['Received', view.receivedAt],
    ['To be completed by', view.dueAt],
    ['Completed', view.completedAt],
  ];
  const rows = times
    .filter((t): t is [string, string] => t[1] !== null)
    .map(
      ([label, iso]) =>
        `<dt>${label}</dt><dd><time datetime="${escapeHtml(iso)}">${escapeHtml(humanTime(new Date(iso)))}</time></dd>`,
    )
    .join('\n');
  const reason =
    view.reason && (view.status === 'refused' || view.status === 'cancelled')
      ? `<p>Reason: ${escapeHtml(view.reason)}</p>`
      : '';
  const retained = view.retained.length
    ? `<h2>What was kept, and why</h2>\n<ul>\n${view.retained
        .map((r) => `<li><strong>${escapeHtml(r.what)}</strong>: ${escapeHtml(r.reason)}</li>`)
        .join('\n')}\n</ul>`
    : '';
  return page(
    `Data deletion request: ${words.title}`,
    `<h1>Your data deletion request</h1>
<p>Confirmation code: <code>${escapeHtml(view.code)}</code></p>
<p>Status: <strong>${escapeHtml(words.title)}</strong></p>
<p>${escapeHtml(words.text)}</p>
${reason}
<dl>
${rows}
</dl>
${retained}
<p>This request covers the data Switchboard stored from your Facebook or Instagram account. Deleting it here does not delete anything on Facebook or Instagram itself: your account, posts and messages there stay as they are. To stop Switchboard's access for good, you can also remove the app in your Facebook or Instagram settings.</p>`,
  );
}

/** JSON when the caller prefers it to HTML (by q-value, the most specific range deciding); else HTML. */
export function prefersJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const ranges = accept.split(',').map((part) => {
    const [type = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const value = q ? Number(q.slice(2)) : 1;
    return { type: type.trim(), q: Number.isFinite(value) ? value : 0 };
  });
  const score = (mediaType: string) => {
    const major = `${mediaType.split('/')[0]}/*`;
    for (const candidate of [mediaType, major, '*/*']) {
      const hit = ranges.filter((r) => r.type === candidate);
      if (hit.length) return { q: Math.max(...hit.map((r) => r.q)), explicit: candidate === mediaType };
    }
    return { q: 0, explicit: false };
  };
  const json = score('application/json');
  const html = score('text/html');
  if (json.q === 0) return false;
  return json.q > html.q || (json.q === html.q && json.explicit && !html.explicit);
}

export const metaRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { orm, temporal, config } = app.deps;
  const tags = ['privacy'];

  // Meta posts a form. Only in this plugin: every other route keeps JSON-only bodies. Anything but a
  // form (JSON included) is not a signed request and is refused with a 400 before any work.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => {
    const fields = new Map<string, string>();
    for (const [key, value] of new URLSearchParams(body as string)) {
      if (fields.has(key)) {
        done(new AppError(400, 'VALIDATION_FAILED', `body.${key} is given more than once`, `body.${key}`), undefined);
        return;
      }
      fields.set(key, value);
    }
    done(null, Object.fromEntries(fields));
  });
  app.addContentTypeParser('*', (_request, _payload, done) => done(formRequired(), undefined));

  const publicStatusUrl = (code: string) => `${config.publicUrl}/v1/privacy/deletion-status/${code}`;

  async function accept(
    request: FastifyRequest,
    metaApp: MetaApp,
    signedRequest: string,
    kind: 'deletion' | 'deauthorize',
  ): Promise<DeletionRequest> {
    const secret = config.platforms[metaApp].clientSecret;
    const verified = verifySignedRequest(signedRequest, secret, {
      nowMs: Date.now(),
      maxAgeMs: config.privacy.signedRequestMaxAgeMs,
    });
    // Meta may retry long after the first call: a stale but authentic request we already stored
    // gets its first answer again rather than a 400.
    if (!verified.ok && verified.reason.startsWith('stale')) {
      const authentic = verifySignedRequest(signedRequest, secret, {
        nowMs: Date.now(),
        maxAgeMs: Number.MAX_SAFE_INTEGER,
      });
      if (authentic.ok) {
        const stored = await orm.em.fork().findOne(DeletionRequest, {
          sourceKey: `meta:${metaApp}:${kind}:${authentic.userId}:${authentic.issuedAt}`,
        });
        if (stored) return stored;
      }
    }
    if (!verified.ok) {
      request.log.warn({ app: metaApp, callback: kind, reason: verified.reason }, 'Meta signed_request refused');
      throw new AppError(
        400,
        'INVALID_SIGNED_REQUEST',
        `signed_request refused: ${verified.reason}`,
        'body.signed_request',
      );
    }
    const channel: DeletionChannel = kind === 'deletion' ? 'meta_callback' : 'meta_deauthorize';
    // Idempotent on (app, callback, user, issued_at): Meta's retries land on the first request.
    const sourceKey = `meta:${metaApp}:${kind}:${verified.userId}:${verified.issuedAt}`;
    let stored: { request: DeletionRequest; created: boolean };
    try {
      stored = await orm.em.fork().transactional(async (tx) => {
        const result = await createDeletionRequest(
          tx,
          {
            kind: 'platform_user',
            subjectId: `${metaApp}:${verified.userId}`,
            workspaceId: null,
            requestedBy: null,
            channel,
            sourceKey,
            platforms: [metaApp],
            withConfirmationCode: true,
          },
          config.privacy,
        );
        if (result.created && kind === 'deauthorize') {
          audit(tx, {
            action: 'meta.deauthorized',
            targetType: 'deletion_request',
            targetId: result.request.id,
            requestId: request.id,
            details: { app: metaApp, channel },
          });
        }
        return result;
      });
    } catch (err) {
      // Two deliveries of the same callback at once: the other one stored it first.
      if (!(err instanceof UniqueConstraintViolationException)) throw err;
      const existing = await orm.em.fork().findOne(DeletionRequest, { sourceKey });
      if (!existing) throw err;
      stored = { request: existing, created: false };
    }
    const row = stored.request;
    // A request the workflow already picked up is left alone; a stored one that never started (say,
    // Temporal was down at the first delivery) is started now. The id makes a double start harmless.
    if (stored.created || row.status === 'received') {
      try {
        await startDeletion(temporal, config, { id: row.id, workspaceId: row.workspaceId, dueAt: row.dueAt });
      } catch (err) {
        // Stored before answering: the safety-net sweep starts `received` requests.
        request.log.error({ err, deletionRequestId: row.id }, 'could not start the deletion workflow');
      }
    }
    return row;
  }

  app.post(
    '/meta/:app/data-deletion',
    {
      config: { public: true },
      schema: {
        tags,
        summary: "Meta's data deletion request callback",
        description:
          'Meta posts `signed_request` (HMAC-SHA256 with the app secret of the Facebook or the Instagram-Login app) as a form. A valid request is stored and its deletion started; the answer carries the public status URL and confirmation code. A repeated callback returns the same code. Anything that fails verification is a 400 that stores nothing.',
        consumes: [FORM],
        params: AppParams,
        body: SignedRequestBody,
        response: {
          200: Type.Object({ url: Type.String(), confirmation_code: Type.String() }),
          ...callbackErrors,
        },
      },
    },
    async (request) => {
      const row = await accept(request, request.params.app, request.body.signed_request, 'deletion');
      const code = row.confirmationCode ?? '';
      return { url: publicStatusUrl(code), confirmation_code: code };
    },
  );

  app.post(
    '/meta/:app/deauthorize',
    {
      config: { public: true },
      schema: {
        tags,
        summary: "Meta's deauthorize callback",
        description:
          "Same verification as the data deletion callback. The user removed the app: their connections are revoked through each connection's workflow (tokens deleted, API calls stopped) and their Meta data deleted.",
        consumes: [FORM],
        params: AppParams,
        body: SignedRequestBody,
        response: { 200: Type.Object({}), ...callbackErrors },
      },
    },
    async (request) => {
      await accept(request, request.params.app, request.body.signed_request, 'deauthorize');
      return {};
    },
  );

  app.get(
    '/privacy/deletion-status/:code',
    {
      config: { public: true },
      schema: {
        tags,
        summary: 'Public status of a deletion request, by its confirmation code',
        description:
          'A human-readable HTML page by default; `Accept: application/json` gives the same as JSON. Shows the state, timestamps and, for anything kept, the reason. No personal data.',
        params: Type.Object(
          { code: Type.String({ pattern: CODE_PATTERN, minLength: 16, maxLength: 32 }) },
          { additionalProperties: false },
        ),
        response: {
          200: {
            description: 'The request status',
            content: {
              'text/html': { schema: Type.String() },
              'application/json': { schema: StatusView },
            },
          },
          400: ErrorResponse,
          404: {
            description: 'No request has this code',
            content: {
              'text/html': { schema: Type.String() },
              'application/json': { schema: ErrorResponse },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const { code } = request.params as { code: string };
      const json = prefersJson(request.headers.accept);
      reply.header('cache-control', 'no-store').header('vary', 'accept').header('referrer-policy', 'no-referrer');
      const em = orm.em.fork();
      const row = await em.findOne(DeletionRequest, { confirmationCode: code });
      if (!row) {
        if (json) throw notFound('deletion request');
        return reply
          .code(404)
          .header('content-type', 'text/html; charset=utf-8')
          .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
          .send(
            page(
              'Deletion request not found',
              '<h1>Deletion request not found</h1>\n<p>No deletion request has this confirmation code. Check that the link is complete.</p>',
            ),
          );
      }
      const steps = await em.find(DeletionStep, { request: row.id }, { orderBy: { startedAt: 'asc' } });
      const view: StatusJson = {
        code,
        status: row.status,
        receivedAt: row.receivedAt.toISOString(),
        dueAt: row.dueAt.toISOString(),
        completedAt: row.completedAt?.toISOString() ?? null,
        reason: row.status === 'refused' || row.status === 'cancelled' ? (row.reason ?? null) : null,
        retained: publicRetained(steps),
      };
      if (json) return reply.header('content-type', 'application/json; charset=utf-8').send(view);
      return reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
        .send(statusPage(view));
    },
  );
};
