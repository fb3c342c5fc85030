import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, inject } from 'vitest';
import { type ActivityDeps, createCoreActivities } from '../activities/index.ts';
import { createMediaActivities } from '../activities/media.ts';
import { buildApp } from '../api/app.ts';
import { closeORM, initORM } from '../db/orm.ts';
import { type Config, loadConfig, PROJECT_ROOT } from '../lib/config.ts';
import { lazyClient } from '../lib/temporal.ts';
import { type Simulator, startSimulator } from '../simulators/server.ts';

/** Environment for a test's own system: the shared test database and dev server, its own task queue. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: inject('databaseUrl'),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: inject('namespace'),
    WORKFLOW_BUNDLE_PATH: inject('bundlePath'),
    TASK_QUEUE_CORE: `core-test-${randomUUID()}`,
    TASK_QUEUE_MEDIA: `media-test-${randomUUID()}`,
    BCRYPT_COST: '10',
    // Schedules would start work on this file's task queue after its worker is gone.
    WORKER_SCHEDULES: 'off',
    LOG_LEVEL: 'warn',
    ...openAITestEnv(overrides.SIMULATOR_URL),
    ...overrides,
  };
}

/**
 * OpenAI only ever at the test's own simulator (any key works there), never a developer's real
 * key from the environment; without a simulator there is no key and OpenAI features are off.
 */
export function openAITestEnv(simulatorUrl: string | undefined): Record<string, string> {
  return simulatorUrl
    ? { OPENAI_API_KEY: 'sk-sim-test', OPENAI_BASE_URL: `${simulatorUrl.replace(/\/$/, '')}/openai/v1` }
    : { OPENAI_API_KEY: '', OPENAI_BASE_URL: '' };
}

export interface TestSystem {
  config: Config;
  orm: MikroORM;
  app: FastifyInstance;
  /** Runs a real core worker (real activities, prebuilt bundle) on this system's task queue. */
  startWorker(activityOverrides?: Partial<ActivityDeps>): Promise<() => Promise<void>>;
  /** Runs a real media worker (activities only, bounded concurrency) on this system's media task queue. */
  startMediaWorker(activityOverrides?: Partial<ActivityDeps>): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

// The ORM is one per process; systems in the same file share it and the last to close closes it.
let ormUsers = 0;
let runtimeInstalled = false;

export async function createTestSystem(overrides: Record<string, string> = {}): Promise<TestSystem> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  ormUsers++;
  const config = loadConfig({ ...process.env, ...testEnv(overrides) });
  const orm = (await initORM(config.databaseUrl)) as MikroORM;
  const { client, connection } = lazyClient(config);
  const app = await buildApp({ config, orm, temporal: client, temporalConnection: connection }, { logger: false });
  await app.ready();
  const stops: (() => Promise<void>)[] = [];

  async function runTestWorker(options: Omit<WorkerOptions, 'connection' | 'namespace'>) {
    const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace: config.temporal.namespace,
      ...options,
    });
    const running = worker.run();
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      worker.shutdown();
      await running;
      await nativeConnection.close();
    };
    stops.push(stop);
    return stop;
  }

  return {
    config,
    orm,
    app,
    startWorker: (activityOverrides: Partial<ActivityDeps> = {}) =>
      runTestWorker({
        taskQueue: config.taskQueues.core,
        workflowBundle: { codePath: config.workflowBundlePath },
        activities: createCoreActivities({ orm, config, ...activityOverrides }),
      }),
    startMediaWorker: (activityOverrides: Partial<ActivityDeps> = {}) =>
      runTestWorker({
        taskQueue: config.taskQueues.media,
        activities: createMediaActivities({ orm, config, ...activityOverrides }),
        maxConcurrentActivityTaskExecutions: config.media.cpuConcurrency,
      }),
    async close() {
      for (const stop of stops) await stop();
      await app.close();
      await connection.close();
      if (--ormUsers === 0) await closeORM();
    },
  };
}

export const uniqueEmail = (label = 'user') => `${label}-${randomUUID().slice(0, 8)}@example.com`;
export const PASSWORD = 'correct horse battery staple';

/** Signs up a fresh account; returns its id, e-mail and session token. */
/**
 * A test file's simulators and test system, with one worker running on the system's task queue:
 * set up before the file's tests and closed after them. Read the fields inside tests.
 */
export function simulatedSystem(): { sim: Simulator; sys: TestSystem; client: import('@temporalio/client').Client } {
  const t = {} as ReturnType<typeof simulatedSystem>;
  beforeAll(async () => {
    t.sim = await startSimulator();
    t.sys = await createTestSystem({ SIMULATOR_URL: t.sim.url });
    await t.sys.startWorker();
    t.client = lazyClient(t.sys.config).client;
  }, 60_000);
  afterAll(async () => {
    await t.sys?.close();
    await t.sim?.close();
  });
  return t;
}

export async function signUp(app: FastifyInstance, label = 'user', ip = '127.0.0.1') {
  const email = uniqueEmail(label);
  const res = await app.inject({
    method: 'POST',
    url: '/v1/accounts',
    payload: { email, password: PASSWORD, name: label },
    remoteAddress: ip,
  });
  if (res.statusCode !== 201) throw new Error(`sign-up failed: ${res.statusCode} ${res.body}`);
  const body = res.json();
  return { id: body.user.id as string, email, token: body.session.token as string };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export async function createWorkspace(app: FastifyInstance, token: string, name = 'Workspace') {
  const res = await app.inject({ method: 'POST', url: '/v1/workspaces', headers: bearer(token), payload: { name } });
  if (res.statusCode !== 201) throw new Error(`workspace creation failed: ${res.statusCode} ${res.body}`);
  return res.json().id as string;
}

/** Polls `fn` until it returns a truthy value or the deadline passes. */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 15_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
}

/** Raw SQL for assertions about what is stored. */
export async function sql<T = Record<string, unknown>>(
  orm: MikroORM,
  query: string,
  params: unknown[] = [],
): Promise<T[]> {
  return (await orm.em.getConnection().execute(query, params)) as T[];
}

/** POST /v1/workspaces/:id/invitations as `token`; returns the raw response. */
export function sendInvitation(app: FastifyInstance, token: string, workspaceId: string, email: string, role: string) {
  return app.inject({
    method: 'POST',
    url: `/v1/workspaces/${workspaceId}/invitations`,
    headers: bearer(token),
    payload: { email, role },
  });
}

/** Runs the real worker entrypoint as its own process (so tests can kill it like a crash would). */
export function spawnWorker(env: Record<string, string>, kind: 'core' | 'media' = 'core') {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'workers', `${kind}.ts`)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

/**
 * A workflow history as text to scan for secrets: its JSON plus every payload decoded, since
 * payload data is base64 in the JSON and a plain search would miss a leaked value.
 */
export function historyText(historyJson: string): string {
  const decoded: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (k === 'data' && typeof v === 'string') decoded.push(Buffer.from(v, 'base64').toString('utf8'));
        else walk(v);
      }
    }
  };
  walk(JSON.parse(historyJson));
  return `${historyJson}\n${decoded.join('\n')}`;
}

/**
 * With RECORD_HISTORIES set, saves a finished workflow's history under test/histories/<type>/ for
 * the replay test (commit the files). Returns the history JSON either way.
 */
export async function recordHistory(
  client: import('@temporalio/client').Client,
  workflowId: string,
  workflowType: string,
  scenario: string,
): Promise<string> {
  const { historyToJSON } = await import('@temporalio/common/lib/proto-utils.js');
  const json = historyToJSON(await client.workflow.getHandle(workflowId).fetchHistory());
  if (process.env.RECORD_HISTORIES) {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const dir = path.join(import.meta.dirname, 'histories', workflowType);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${scenario}.json`), json);
  }
  return json;
}
