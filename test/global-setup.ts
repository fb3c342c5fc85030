// Once per test run: a test database with every migration applied, one headless Temporal dev
// server on free ports with the namespace and search attributes prepared the way workers do it in
// production, and the workflow bundle built once. Test files receive them through `inject`.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { TestProject } from 'vitest/node';
import { closeORM, initORM } from '../db/orm.ts';
import { loadConfig, PROJECT_ROOT } from '../lib/config.ts';
import { dropDatabase, ensurePostgres } from '../lib/postgres.ts';
import { ensureTemporalSetup } from '../lib/temporal.ts';
import { freePort, locateTemporalCli, startDevServer } from '../lib/temporal-cli.ts';
import { buildWorkflowBundle } from '../workers/build-bundle.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    temporalAddress: string;
    namespace: string;
    bundlePath: string;
  }
}

export default async function setup(project: TestProject) {
  const base = loadConfig({ ...process.env, DATABASE_URL: process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL });
  const dbUrl = new URL(base.databaseUrl);
  dbUrl.pathname = `/sb_test_${process.pid}`;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'switchboard-test-'));

  const pg = await ensurePostgres(dbUrl.toString(), { embeddedDir: path.join(PROJECT_ROOT, '.data', 'postgres') });
  const databaseUrl = pg.url;
  const orm = await initORM(databaseUrl);
  await orm.migrator.up();
  await closeORM();

  const cli = await locateTemporalCli();
  const server = await startDevServer({ cli, port: await freePort(), logFile: path.join(tmp, 'temporal.log') });
  const namespace = 'switchboard-test';
  const connection = await Connection.connect({ address: server.address });
  await ensureTemporalSetup(connection, namespace, 1);
  await connection.close();

  const bundlePath = await buildWorkflowBundle(path.join(tmp, 'workflow-bundle.js'));

  project.provide('databaseUrl', databaseUrl);
  project.provide('temporalAddress', server.address);
  project.provide('namespace', namespace);
  project.provide('bundlePath', bundlePath);

  return async () => {
    await server.stop();
    await dropDatabase(databaseUrl);
    await pg.stop();
    rmSync(tmp, { recursive: true, force: true });
  };
}
