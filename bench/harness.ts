// Shared plumbing of the benchmarks: settings, a cleanup stack that also runs on a signal or the time
// limit, and a scratch system (its own database and an in-memory Temporal dev server on free ports).

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MikroORM } from '@mikro-orm/core';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app.ts';
import type { AppDeps } from '../api/context.ts';
import { closeORM, initORM } from '../db/orm.ts';
import { type Config, loadConfig, PROJECT_ROOT } from '../lib/config.ts';
import { dropDatabase, ensurePostgres } from '../lib/postgres.ts';
import { ensureTemporalSetup, lazyClient } from '../lib/temporal.ts';
import { freePort, locateTemporalCli, startDevServer } from '../lib/temporal-cli.ts';
import type { PlatformId } from '../platforms/types.ts';

export const NAMESPACE = 'switchboard-bench';
const LOOPBACK = ['127.0.0.1', 'localhost', '::1', '[::1]'];

/** An integer setting from a command-line argument, else the environment, else the default; refused outside [min, max]. */
export function intSetting(name: string, arg: string | undefined, fallback: number, min: number, max: number): number {
  const raw = arg ?? process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

export type OnCleanup = (what: string, fn: () => Promise<void>) => void;

/**
 * Runs `main`, then everything it registered with `onCleanup` in reverse order — also on an error,
 * SIGINT/SIGTERM, or when `limitMs` passes (then the exit code is non-zero).
 */
export async function runBench(limitMs: number, main: (onCleanup: OnCleanup) => Promise<void>): Promise<void> {
  const stack: { what: string; fn: () => Promise<void> }[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      for (const { what, fn } of stack.reverse()) {
        try {
          await fn();
        } catch (err) {
          console.error(`cleanup: ${what} failed: ${(err as Error).message}`);
        }
      }
    })();
    return cleaning;
  };
  const abort = (why: string, code: number) => {
    console.error(`\n${why}; cleaning up`);
    void cleanup().then(() => process.exit(code));
  };
  process.once('SIGINT', () => abort('SIGINT', 130));
  process.once('SIGTERM', () => abort('SIGTERM', 143));
  // Closing connections under pending calls makes them fail; that must not end the process mid-cleanup.
  const fatal = (err: unknown) => {
    if (cleaning) return;
    console.error(err);
    abort('unexpected error', 1);
  };
  process.on('unhandledRejection', fatal);
  process.on('uncaughtException', fatal);
  const watchdog = setTimeout(() => abort(`time limit of ${Math.round(limitMs / 1000)} s reached`, 1), limitMs);
  watchdog.unref();

  try {
    await main((what, fn) => stack.push({ what, fn }));
  } catch (err) {
    if (!cleaning) console.error(err); // after an abort, failures are the teardown's echo
    process.exitCode = 1;
  } finally {
    await cleanup();
    clearTimeout(watchdog);
  }
}

export interface ScratchSystem {
  databaseUrl: string;
  orm: MikroORM;
  temporalAddress: string;
  /** The dev server's process, for benchmarks that place it on chosen cores. */
  temporalPid: number | undefined;
  namespace: string;
  /** Removed at cleanup. */
  tmp: string;
}

/**
 * A migrated scratch database `sb_bench_<pid>` on the configured (local) PostgreSQL server and a
 * headless in-memory Temporal dev server with the namespace prepared as the workers do it.
 */
export async function startScratchSystem(onCleanup: OnCleanup, log = console.error): Promise<ScratchSystem> {
  const url = new URL(loadConfig().databaseUrl);
  // Benchmarks send traffic to this machine only.
  if (!LOOPBACK.includes(url.hostname)) throw new Error(`DATABASE_URL must point at this machine, not ${url.host}`);
  url.pathname = `/sb_bench_${process.pid}`;
  const databaseUrl = url.toString();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-'));
  onCleanup('removing the scratch directory', async () => rmSync(tmp, { recursive: true, force: true }));

  const pg = await ensurePostgres(databaseUrl, { embeddedDir: path.join(PROJECT_ROOT, '.data', 'postgres'), log });
  onCleanup('stopping PostgreSQL', pg.stop);
  onCleanup('dropping the scratch database', () => dropDatabase(databaseUrl));
  const orm = await initORM(databaseUrl);
  onCleanup('closing the ORM', closeORM);
  await orm.migrator.up();

  const cli = await locateTemporalCli(log);
  const server = await startDevServer({ cli, port: await freePort(), logFile: path.join(tmp, 'temporal.log') });
  onCleanup('stopping the Temporal dev server', server.stop);
  const connection = await Connection.connect({ address: server.address });
  try {
    await ensureTemporalSetup(connection, NAMESPACE, 1);
  } finally {
    await connection.close();
  }
  return {
    databaseUrl,
    orm,
    temporalAddress: server.address,
    temporalPid: server.process.pid,
    namespace: NAMESPACE,
    tmp,
  };
}

/** The value below which `p` (0..1) of the sorted samples lie (nearest rank). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank]!;
}

/** `goal` with the verdict, e.g. "goal >= 35 workflows/s  (met)". */
export const verdict = (goal: string, met: boolean) => `goal ${goal}  (${met ? 'met' : 'MISSED'})`;

/**
 * A worker in the benchmark process (real activities, up to 100 concurrent tasks of each kind unless
 * told; with a bundle it runs workflows too). `stopped` rejects if the worker ends before cleanup,
 * so a run fails at once.
 */
export async function startBenchWorker(
  sys: ScratchSystem,
  onCleanup: OnCleanup,
  opts: { bundlePath?: string; taskQueue: string; activities: object; maxConcurrentActivities?: number },
): Promise<{ stopped: Promise<never> }> {
  const { NativeConnection, Worker } = await import('@temporalio/worker');
  const nativeConnection = await NativeConnection.connect({ address: sys.temporalAddress });
  onCleanup('closing the worker connection', () => nativeConnection.close());
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: sys.namespace,
    taskQueue: opts.taskQueue,
    ...(opts.bundlePath ? { workflowBundle: { codePath: opts.bundlePath } } : {}),
    activities: opts.activities,
    maxConcurrentWorkflowTaskExecutions: 100,
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? 100,
  });
  const running = worker.run();
  onCleanup('stopping the worker', async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running.catch(() => {});
  });
  const stopped = running.then(() => Promise.reject(new Error('the worker stopped during the run')));
  stopped.catch(() => {}); // the worker also stops at cleanup, after the run is decided
  return { stopped };
}

export interface BenchApi {
  /** A client of the scratch Temporal server. */
  client: Client;
  /** The API, in process (app.inject), on the benchmark's configuration. */
  app: FastifyInstance;
  userId: string;
  headers: { authorization: string };
  workspaceId: string;
}

/** A Temporal client, the API, and a signed-up account with one workspace. */
export async function startBenchApi(sys: ScratchSystem, config: Config, onCleanup: OnCleanup): Promise<BenchApi> {
  const connection = await Connection.connect({ address: sys.temporalAddress });
  onCleanup('closing the client connection', () => connection.close());
  const client = new Client({ connection, namespace: sys.namespace });
  const api = lazyClient(config);
  onCleanup('closing the API client', () => api.connection.close());
  const app = await buildApp(
    { config, orm: sys.orm as AppDeps['orm'], temporal: api.client, temporalConnection: api.connection },
    { logger: false },
  );
  onCleanup('closing the API', () => app.close());
  const signUp = await app.inject({
    method: 'POST',
    url: '/v1/accounts',
    payload: {
      email: `bench-${randomUUID().slice(0, 8)}@example.com`,
      password: 'correct horse battery staple',
      name: 'Bench',
    },
  });
  const headers = { authorization: `Bearer ${signUp.json().session.token as string}` };
  const workspaceId = (
    await app.inject({ method: 'POST', url: '/v1/workspaces', headers, payload: { name: 'Bench' } })
  ).json().id as string;
  return { client, app, userId: signUp.json().user.id as string, headers, workspaceId };
}

/** A real connection through the API: authorize → the simulator's consent → callback (the connect workflow). */
export async function connectThroughApi(api: BenchApi, platform: PlatformId): Promise<string> {
  const start = await api.app.inject({
    method: 'POST',
    url: `/v1/workspaces/${api.workspaceId}/connections`,
    headers: api.headers,
    payload: { platform },
  });
  const authorize = await fetch(start.json().authorizeUrl, { redirect: 'manual' });
  const query = new URL(authorize.headers.get('location') as string).searchParams;
  const done = await api.app.inject({ method: 'GET', url: `/v1/connections/callback?${query.toString()}` });
  if (done.statusCode !== 200) throw new Error(`connecting ${platform} failed: ${done.statusCode} ${done.body}`);
  return done.json().id as string;
}

/** Runs fn over the items with at most `limit` in flight. */
export async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
