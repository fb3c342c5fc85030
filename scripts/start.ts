// `npm start`: PostgreSQL (DATABASE_URL, the machine's server, or an embedded one), migrations, the
// Temporal dev server with its Web UI (unless a server answers at TEMPORAL_ADDRESS), the workflow bundle, one
// worker per task queue and the API. Prints where everything is; Ctrl-C stops it all.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { initORM } from '../db/orm.ts';
import { TASK_QUEUE_KINDS } from '../domain/task-queues.ts';
import { loadConfig, PROJECT_ROOT } from '../lib/config.ts';
import { ensurePostgres } from '../lib/postgres.ts';
import { type DevServer, locateTemporalCli, startDevServer, stopChild, temporalAnswers } from '../lib/temporal-cli.ts';
import { buildWorkflowBundle } from '../workers/build-bundle.ts';

const log = (msg: string) => console.log(`[switchboard] ${msg}`);
const env = { ...process.env };
// Like the platforms, OpenAI (sentiment, transcripts, embeddings) defaults to its simulator when no key is configured.
if (!env.OPENAI_API_KEY) {
  env.OPENAI_API_KEY = 'sk-simulator';
  env.OPENAI_BASE_URL = `${(env.SIMULATOR_URL || loadConfig(env).simulatorUrl).replace(/\/$/, '')}/openai/v1`;
}
const config = loadConfig(env);
mkdirSync(config.dataDir, { recursive: true });
const logDir = path.join(config.dataDir, 'logs');
mkdirSync(logDir, { recursive: true });

const children: { name: string; child: ChildProcess }[] = [];
let stopping = false;
let devServer: DevServer | undefined;
let stopPostgres = async () => {};

async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    log('stopping…');
    // Reverse order: API first, then workers, then the servers they need.
    for (const { child } of children.reverse()) await stopChild(child);
    await devServer?.stop();
    await stopPostgres();
    log('stopped');
  }
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

function run(name: string, file: string, extraEnv: Record<string, string>): void {
  const out = openSync(path.join(logDir, `${name}.log`), 'a');
  const child = spawn(process.execPath, [file], {
    cwd: PROJECT_ROOT,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', out, out],
  });
  child.on('exit', (code, signal) => {
    if (stopping) return;
    log(`${name} exited (${signal ?? code}); see ${path.relative(PROJECT_ROOT, logDir)}/${name}.log`);
    void stopAll(1);
  });
  children.push({ name, child });
}

try {
  // 1. PostgreSQL and migrations.
  const pg = await ensurePostgres(config.databaseUrl, { embeddedDir: path.join(config.dataDir, 'postgres'), log });
  stopPostgres = pg.stop;
  env.DATABASE_URL = pg.url;
  const orm = await initORM(pg.url);
  const applied = await orm.migrator.up();
  await orm.close();
  log(`PostgreSQL ready${pg.embedded ? ' (embedded)' : ''}; ${applied.length} migration(s) applied`);

  // 2. Temporal: an existing server at TEMPORAL_ADDRESS is used as it is; when that address is local
  //    and nothing answers there, a dev server with a persistent SQLite file and the Web UI runs on it.
  let uiUrl = 'the Temporal UI of your cluster';
  const [host, port] = config.temporal.address.split(':');
  const local = host === '127.0.0.1' || host === 'localhost';
  if (local && !(await temporalAnswers(config.temporal.address))) {
    const cli = await locateTemporalCli(log);
    devServer = await startDevServer({
      cli,
      port: Number(port),
      uiPort: config.temporal.uiPort,
      dbFile: path.join(config.dataDir, 'temporal.sqlite'),
      logFile: path.join(logDir, 'temporal.log'),
    });
    uiUrl = devServer.uiUrl!;
    devServer.process.on('exit', (code, signal) => {
      if (stopping) return;
      log(`Temporal dev server exited (${signal ?? code}); see ${path.relative(PROJECT_ROOT, logDir)}/temporal.log`);
      void stopAll(1);
    });
    log(`Temporal dev server on ${devServer.address}`);
  } else {
    log(`using the Temporal server at ${config.temporal.address}`);
  }

  // 3. Platform simulators, when SIMULATOR_URL is local and nothing answers there.
  const simUrl = new URL(config.simulatorUrl);
  const simAnswers = await fetch(`${config.simulatorUrl}/_admin/health`).then(
    (r) => r.ok,
    () => false,
  );
  if (!simAnswers && ['127.0.0.1', 'localhost'].includes(simUrl.hostname)) {
    run('simulators', 'simulators/main.ts', { SIMULATOR_PORT: simUrl.port || '80', SIMULATOR_HOST: simUrl.hostname });
    for (
      let i = 0;
      !(await fetch(`${config.simulatorUrl}/_admin/health`).then(
        (r) => r.ok,
        () => false,
      ));
      i++
    ) {
      if (i > 40) throw new Error(`the simulators did not start at ${config.simulatorUrl}`);
      await sleep(250);
    }
    log(`platform simulators on ${config.simulatorUrl}`);
  }

  // 4. Workflow bundle once, then one worker per task queue and the API.
  await buildWorkflowBundle(config.workflowBundlePath);
  const metricsUrls: string[] = [];
  // Worker metrics ports count up from WORKER_METRICS_PORT (9464 by default), one per task queue.
  const metricsBase = config.workerMetricsPort ?? 9464;
  TASK_QUEUE_KINDS.forEach((kind, i) => {
    const metricsPort = String(metricsBase + i);
    metricsUrls.push(`http://127.0.0.1:${metricsPort}/metrics`);
    run(`worker-${kind}`, `workers/${kind}.ts`, { WORKER_METRICS_PORT: metricsPort });
  });
  run('api', 'api/main.ts', { WORKER_METRICS_URLS: env.WORKER_METRICS_URLS ?? metricsUrls.join(',') });

  // 5. Wait for readiness.
  const api = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`;
  let last = '';
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(`${api}/health/ready`);
      if (res.ok) break;
      last = ((await res.json()) as { missing: string[] }).missing.join('; ');
    } catch (err) {
      last = (err as Error).message;
    }
    if (i > 240) throw new Error(`the system did not become ready: ${last}`);
    await sleep(500);
  }

  console.log(`
  Switchboard is up.
    API            ${api}
    API docs       ${api}/docs   (OpenAPI: ${api}/docs/json)
    Readiness      ${api}/health/ready
    Temporal UI    ${uiUrl}
    Simulators     ${config.simulatorUrl}/_admin/platforms   (platforms without credentials use them)
    Logs           ${path.relative(PROJECT_ROOT, logDir)}/

  Create an account (returns a session token):
    curl -s -X POST ${api}/v1/accounts -H 'content-type: application/json' \\
      -d '{"email":"you@example.com","password":"a long passphrase","name":"You"}'
  Then an API token:
    curl -s -X POST ${api}/v1/tokens -H 'authorization: Bearer <session token>' \\
      -H 'content-type: application/json' -d '{"name":"cli"}'

  Connect a simulated account (any of youtube, instagram, facebook, tiktok, linkedin, x, threads,
  whatsapp): POST /v1/workspaces/<id>/connections {"platform":"x"} in /docs, open the authorizeUrl it
  returns in a browser; the simulator consents and redirects to the callback.

  Ctrl-C stops everything.
`);
} catch (err) {
  console.error(`[switchboard] start failed: ${(err as Error).message}`);
  await stopAll(1);
}
