import { rm, stat } from 'node:fs/promises';
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { DataExport } from '../db/entities/index.ts';
import { audit } from '../lib/audit.ts';
import type { Config } from '../lib/config.ts';
import { buildExportZip, exportRelativePath, resolveDataPath } from '../lib/export.ts';
import { createStorage, type ObjectStorage } from '../lib/storage.ts';
import type { ExportBuilt, ExportFinished, ExportStatus } from '../workflows/export.messages.ts';
import { beating } from './heartbeat.ts';

// The export workflow's side effects. buildExport writes the ZIP (temporary name, then rename) and
// records its size and checksum on the still-pending row; finishExport makes it ready and starts the
// link's clock; failExport records why it could not be built. Each is safe to repeat.

export interface ExportDeps {
  orm: MikroORM;
  config: Config;
  /** Where stored objects (attachments, media) are read from; defaults to the configured storage. */
  storage?: ObjectStorage;
}

const exists = (file: string) =>
  stat(file).then(
    (s) => s.isFile(),
    () => false,
  );

export function createExportActivities(deps: ExportDeps) {
  const { orm, config } = deps;
  const storage = deps.storage ?? createStorage(config);

  async function load(em: EntityManager, exportId: string): Promise<DataExport> {
    const row = await em.findOne(DataExport, exportId);
    if (!row) throw ApplicationFailure.nonRetryable(`export ${exportId} does not exist`, 'UnknownExport');
    return row;
  }

  const auditDone = (em: EntityManager, row: DataExport, details: Record<string, string | number | null>) =>
    audit(em, {
      action: 'export.completed',
      actorId: row.requestedBy,
      workspaceId: row.kind === 'workspace' ? row.subjectId : null,
      targetType: 'data_export',
      targetId: row.id,
      details: { kind: row.kind, ...details },
    });

  return {
    async buildExport(args: { exportId: string }): Promise<ExportBuilt> {
      const em = orm.em.fork();
      const row = await load(em, args.exportId);
      const relative = exportRelativePath(row.id);
      const file = resolveDataPath(config.dataDir, relative)!;
      const done: ExportBuilt = { bytes: Number(row.bytes ?? 0), tables: 0, rows: 0, files: 0 };
      // Already decided, or built by an earlier attempt that stopped before reporting: nothing to redo.
      if (row.status !== 'pending') return done;
      if (row.sha256 && row.path === relative && (await exists(file))) return done;

      const table = row.kind === 'account' ? 'users' : 'workspaces';
      const [subject] = await em.getConnection().execute(`select 1 from ${table} where id = ?`, [row.subjectId]);
      if (!subject) throw ApplicationFailure.nonRetryable(`the ${row.kind} no longer exists`, 'SubjectGone');

      const ctx = Context.current();
      const result = await beating(() =>
        buildExportZip(
          orm.em.fork(),
          {
            kind: row.kind,
            subjectId: row.subjectId,
            dataDir: config.dataDir,
            storage,
          },
          file,
          {
            onProgress: (p) => ctx.heartbeat(p),
            signal: ctx.cancellationSignal,
          },
        ),
      );
      await em.nativeUpdate(
        DataExport,
        { id: row.id, status: 'pending' },
        { path: relative, bytes: BigInt(result.bytes), sha256: result.sha256 },
      );
      return {
        bytes: result.bytes,
        tables: Object.keys(result.tables).length,
        rows: Object.values(result.tables).reduce((a, b) => a + b, 0),
        files: result.files,
      };
    },

    async finishExport(args: { exportId: string }): Promise<ExportFinished> {
      return orm.em.fork().transactional(async (em) => {
        const row = await load(em, args.exportId);
        if (row.status !== 'pending') return { status: row.status, expiresAt: row.expiresAt?.toISOString() ?? null };
        if (!row.sha256 || !row.path) {
          throw ApplicationFailure.nonRetryable(`export ${row.id} has not been built`, 'NotBuilt');
        }
        const now = new Date();
        row.status = 'ready';
        row.completedAt = now;
        row.expiresAt = new Date(now.getTime() + config.privacy.exportLinkTtlMs);
        auditDone(em, row, { status: 'ready', bytes: Number(row.bytes ?? 0) });
        return { status: row.status, expiresAt: row.expiresAt.toISOString() };
      });
    },

    /** The build gave up: the export is failed with the reason, and any file it left is removed. */
    async failExport(args: { exportId: string; error: string }): Promise<ExportStatus> {
      const row = await orm.em.fork().transactional(async (em) => {
        const row = await load(em, args.exportId);
        if (row.status !== 'pending') return row;
        row.status = 'failed';
        row.error = args.error.slice(0, 300);
        row.path = null;
        row.bytes = null;
        row.sha256 = null;
        auditDone(em, row, { status: 'failed' });
        return row;
      });
      if (row.status === 'failed') {
        const file = resolveDataPath(config.dataDir, exportRelativePath(row.id));
        if (file) await rm(file, { force: true });
      }
      return row.status;
    },
  };
}

export type ExportActivities = ReturnType<typeof createExportActivities>;
