import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { PROJECT_ROOT } from './config.ts';

const CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';
const LOCAL_BIN = path.join(PROJECT_ROOT, '.tools', 'bin', 'temporal');

function onPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, binary);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

function goBinary(): string | undefined {
  return onPath('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
}

/**
 * Finds the Temporal CLI (which embeds the dev server and Web UI), in this order: TEMPORAL_CLI_PATH;
 * `temporal` on PATH; a project-local build (made with `go install` when Go is available); the
 * binary the Temporal SDK downloads for users with internet access.
 */
export async function locateTemporalCli(log: (msg: string) => void = console.error): Promise<string> {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`TEMPORAL_CLI_PATH points at ${fromEnv}, which does not exist`);
    return fromEnv;
  }
  const found = onPath('temporal');
  if (found) return found;
  if (existsSync(LOCAL_BIN)) return LOCAL_BIN;

  const go = goBinary();
  if (go) {
    log(`building the Temporal CLI (${CLI_MODULE}) into .tools/bin; the first build takes several minutes`);
    mkdirSync(path.dirname(LOCAL_BIN), { recursive: true });
    execFileSync(go, ['install', CLI_MODULE], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, GOBIN: path.dirname(LOCAL_BIN), CGO_ENABLED: '0' },
    });
    return LOCAL_BIN;
  }

  // Last resort: let the SDK download its pinned CLI build (needs internet), then run that file.
  log('no Temporal CLI and no Go toolchain found; asking the Temporal SDK to download its CLI build');
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'cached-download' } } });
  await env.teardown();
  const downloaded = path.join(os.tmpdir(), 'temporal-sdk-typescript-1.24.0');
  if (!existsSync(downloaded)) throw new Error('the Temporal SDK did not leave a CLI binary behind');
  return downloaded;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface DevServer {
  address: string;
  uiUrl: string | undefined;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  cli: string;
  port: number;
  /** Web UI port; omit for a headless server. */
  uiPort?: number;
  /** SQLite file for a persistent server; omit for an in-memory one. */
  dbFile?: string;
  logFile?: string;
  readyTimeoutMs?: number;
}

export async function temporalAnswers(address: string): Promise<boolean> {
  try {
    const conn = await Connection.connect({ address, connectTimeout: 1000 });
    await conn.workflowService.getSystemInfo({});
    await conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Runs `temporal server start-dev` and waits until its frontend answers. */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--log-level', 'warn'];
  args.push(...(opts.uiPort ? ['--ui-port', String(opts.uiPort)] : ['--headless']));
  // One partition per task queue: on a single node, several partitions only make a task wait for
  // a poller of its own partition (measured by bench/ingest: media stages sat idle between tasks).
  for (const setting of ['matching.numTaskqueueReadPartitions=1', 'matching.numTaskqueueWritePartitions=1']) {
    args.push('--dynamic-config-value', setting);
  }
  if (opts.dbFile) {
    mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile, '--sqlite-pragma', 'journal_mode=WAL');
  }
  const out = opts.logFile ? openSync(opts.logFile, 'a') : 'ignore';
  const child = spawn(opts.cli, args, { stdio: ['ignore', out, out] });
  let exited: string | undefined;
  child.on('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });

  const address = `127.0.0.1:${opts.port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  while (true) {
    if (exited) throw new Error(`Temporal dev server ${exited}${opts.logFile ? `; see ${opts.logFile}` : ''}`);
    if (await temporalAnswers(address)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Temporal dev server did not answer on ${address}`);
    }
    await sleep(200);
  }
  return {
    address,
    uiUrl: opts.uiPort ? `http://127.0.0.1:${opts.uiPort}` : undefined,
    process: child,
    stop: () => stopChild(child),
  };
}

/** SIGTERM, then SIGKILL if the child has not exited after `graceMs`. */
export function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
