import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { DataExport, EXPORT_KINDS, EXPORT_STATUSES } from '../../db/entities/index.ts';
import { audit } from '../../lib/audit.ts';
import { resolveDataPath } from '../../lib/export.ts';
import { sha256 } from '../../lib/secrets.ts';
import { startExport } from '../../workflows/export.client.ts';
import type { ExportStatus } from '../../workflows/export.messages.ts';
import { AppError, conflict, notFound, tooManyRequests, unavailable } from '../errors.ts';
import { principalOf, requireRole, stepUp } from '../plugins/auth.ts';
import { bearerSecurity, commonErrors, ErrorResponse, Strict, Timestamp, Uuid, WorkspaceParams } from '../schemas.ts';

// Portability exports (GDPR Art. 15/20, R-DSR-3). Asking needs the password again (step-up); the
// answer carries a download token shown once (only its SHA-256 is stored). The download link is the
// credential, so it is public, and it stops working when the export expires.

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const RETRY_AFTER_MS = 30_000;

const ExportView = Type.Object({
  id: Uuid,
  kind: Type.Enum(EXPORT_KINDS),
  subjectId: Uuid,
  status: Type.Enum(EXPORT_STATUSES),
  bytes: Nullable(Type.Integer()),
  sha256: Nullable(Type.String({ description: 'SHA-256 (hex) of the ZIP file' })),
  createdAt: Timestamp,
  completedAt: Nullable(Timestamp),
  expiresAt: Nullable(Timestamp),
  error: Nullable(Type.String()),
});

const CreatedView = Type.Object({
  ...ExportView.properties,
  token: Type.String({ description: 'Download token. Shown once; only its hash is stored.' }),
  downloadUrl: Type.String({ description: 'Works once the export is ready, until it expires.' }),
});

const StepUpBody = Strict({
  password: Type.Optional(
    Type.String({ minLength: 1, maxLength: 1024, description: 'Required for accounts with a password (step-up).' }),
  ),
});

const ExportParams = Strict({ exportId: Uuid });

const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;
/** A ready export past its expiry is reported expired even before the retention sweep marks it. */
const effectiveStatus = (row: DataExport, now = new Date()): ExportStatus =>
  row.status === 'ready' && row.expiresAt && row.expiresAt <= now ? 'expired' : (row.status as ExportStatus);

const exportView = (row: DataExport) => ({
  id: row.id,
  kind: row.kind,
  subjectId: row.subjectId,
  status: effectiveStatus(row),
  bytes: row.bytes === null || row.bytes === undefined ? null : Number(row.bytes),
  sha256: row.sha256 ?? null,
  createdAt: row.createdAt.toISOString(),
  completedAt: iso(row.completedAt),
  expiresAt: iso(row.expiresAt),
  error: row.error ?? null,
});

/** 256 random bits, URL-safe; `sbx_` marks it as an export download token. */
const newDownloadToken = () => `sbx_${randomBytes(32).toString('base64url')}`;

const sameHash = (a: string, b: string) => {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
};

export const exportsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { orm, temporal, config } = app.deps;
  const tags = ['exports'];
  const accepted = { 202: CreatedView, ...commonErrors, 403: ErrorResponse, 503: ErrorResponse };

  async function requestExport(
    request: FastifyRequest,
    kind: 'account' | 'workspace',
    subjectId: string,
    userId: string,
    password: string | undefined,
  ) {
    const em = orm.em.fork();
    await stepUp(request, password);
    const token = newDownloadToken();
    const row = await em.transactional(async (tx) => {
      // One pending export per requester and subject: concurrent requests queue on this lock.
      await tx
        .getConnection()
        .execute(
          'select pg_advisory_xact_lock(hashtextextended(?, 0))',
          [`export:${userId}:${kind}:${subjectId}`],
          'all',
          tx.getTransactionContext(),
        );
      const pending = await tx.count(DataExport, { requestedBy: userId, kind, subjectId, status: 'pending' });
      if (pending > 0) {
        throw tooManyRequests(
          'EXPORT_IN_PROGRESS',
          'an export of this data that you asked for is still being built; wait for it to finish',
          RETRY_AFTER_MS,
        );
      }
      const created = tx.create(DataExport, { kind, subjectId, requestedBy: userId, tokenHash: sha256(token) });
      await tx.flush();
      audit(tx, {
        action: 'export.requested',
        actorId: userId,
        workspaceId: kind === 'workspace' ? subjectId : null,
        targetType: 'data_export',
        targetId: created.id,
        requestId: request.id,
        details: { kind },
      });
      return created;
    });
    try {
      await startExport(temporal, config.taskQueues.core, { exportId: row.id, kind, subjectId });
    } catch (err) {
      request.log.error({ err, exportId: row.id }, 'export workflow did not start');
      await orm.em
        .fork()
        .nativeUpdate(
          DataExport,
          { id: row.id, status: 'pending' },
          { status: 'failed', error: 'could not be started' },
        );
      throw unavailable('the export could not be started; try again shortly');
    }
    return {
      ...exportView(row),
      token,
      downloadUrl: `${config.publicUrl}/v1/exports/${row.id}/download?token=${encodeURIComponent(token)}`,
    };
  }

  app.post(
    '/account/exports',
    {
      schema: {
        tags,
        summary: 'Export my account (ZIP: JSON + CSV with a documented schema)',
        description:
          'Builds a ZIP of everything stored about your account (see docs/export-schema.md): JSON and CSV per table, a manifest with checksums and a JSON Schema. Needs your password again. The answer holds a download token, shown once; the link works until it expires. One export at a time per subject: a second request while one is being built gets 429 EXPORT_IN_PROGRESS.',
        security: bearerSecurity,
        body: StepUpBody,
        response: accepted,
      },
    },
    async (request, reply) => {
      const { userId } = principalOf(request);
      const created = await requestExport(request, 'account', userId, userId, request.body.password);
      return reply.status(202).send(created);
    },
  );

  app.post(
    '/workspaces/:workspaceId/exports',
    {
      schema: {
        tags,
        summary: 'Export a workspace (admin or owner)',
        description:
          'Like the account export, for the workspace: the workspace, its members (user ids and roles), invitations, connections (never their tokens), notices and exports. Needs your password again.',
        security: bearerSecurity,
        params: WorkspaceParams,
        body: StepUpBody,
        response: accepted,
      },
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      const { user } = await requireRole(request, workspaceId, 'admin');
      const created = await requestExport(request, 'workspace', workspaceId, user, request.body.password);
      return reply.status(202).send(created);
    },
  );

  app.get(
    '/exports/:exportId',
    {
      schema: {
        tags,
        summary: 'Status of an export I asked for',
        security: bearerSecurity,
        params: ExportParams,
        response: { 200: ExportView, ...commonErrors },
      },
    },
    async (request) => {
      const { userId } = principalOf(request);
      const row = await orm.em.fork().findOne(DataExport, { id: request.params.exportId, requestedBy: userId });
      if (!row) throw notFound('export');
      return exportView(row);
    },
  );

  app.get(
    '/exports/:exportId/download',
    {
      config: { public: true },
      schema: {
        tags,
        summary: 'Download an export (the token is the credential)',
        description:
          '`application/zip`. 404 for an unknown export or a wrong token, 409 while it is being built (or if it failed), 410 once the link has expired.',
        params: ExportParams,
        querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 200 })) }),
        response: {
          200: {
            description: 'The ZIP',
            content: { 'application/zip': { schema: { type: 'string', format: 'binary' } } },
          },
          400: ErrorResponse,
          404: ErrorResponse,
          409: ErrorResponse,
          410: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const em = orm.em.fork();
      const row = await em.findOne(DataExport, request.params.exportId);
      const { token } = request.query;
      // No token, a wrong one, or an unknown export: the same 404, so nothing is revealed.
      if (!token || !row?.tokenHash || !sameHash(row.tokenHash, sha256(token))) throw notFound('export');
      const gone = () => new AppError(410, 'EXPORT_EXPIRED', 'this download link has expired; ask for a new export');
      const status = effectiveStatus(row);
      if (status === 'expired') throw gone();
      if (status === 'pending')
        throw conflict('EXPORT_NOT_READY', 'the export is still being built; try again shortly');
      if (status === 'failed') throw conflict('EXPORT_FAILED', 'the export could not be built; ask for a new one');
      const file = row.path ? resolveDataPath(config.dataDir, row.path) : undefined;
      const size = file
        ? await stat(file).then(
            (s) => s.size,
            () => undefined,
          )
        : undefined;
      if (!file || size === undefined) throw gone();
      audit(em, {
        action: 'export.downloaded',
        actorId: null,
        workspaceId: row.kind === 'workspace' ? row.subjectId : null,
        targetType: 'data_export',
        targetId: row.id,
        requestId: request.id,
        details: { kind: row.kind, bytes: size },
      });
      await em.flush();
      // A stream is sent as is (no serialisation); the cast only satisfies the schema-derived type.
      const body = createReadStream(file) as unknown as string;
      return reply
        .header('content-type', 'application/zip')
        .header('content-disposition', `attachment; filename="switchboard-${row.kind}-export-${row.id}.zip"`)
        .header('content-length', String(size))
        .header('cache-control', 'no-store')
        .header('referrer-policy', 'no-referrer')
        .header('x-content-type-options', 'nosniff')
        .send(body);
    },
  );
};
