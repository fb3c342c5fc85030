// Latency of an authenticated status read (GET /v1/workspaces/:id/invitations/:id with an API token)
// against the real API process, under an open-loop load at a fixed rate: request i is sent at
// t0 + i/rate whatever happened to earlier ones, and its latency runs from that scheduled instant, so
// a stalled server shows up in the figures instead of slowing the load down (no coordinated omission).
//   BENCH_RATE=1000 BENCH_SECONDS=10 node bench/status-read.ts
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeORM } from '../db/orm.ts';
import { PROJECT_ROOT } from '../lib/config.ts';
import { freePort, stopChild } from '../lib/temporal-cli.ts';
import { intSetting, percentile, runBench, startScratchSystem, verdict } from './harness.ts';

const GOAL_P99_MS = 10;
const GOAL_RATE = 1000;
const WARMUP_S = 2;
const DRAIN_MS = 30_000;
const rate = intSetting('BENCH_RATE', undefined, GOAL_RATE, 1, 20_000);
const seconds = intSetting('BENCH_SECONDS', undefined, 10, 1, 300);
const limitMs = (120 + WARMUP_S + seconds) * 1000 + DRAIN_MS;

/** One JSON call for the setup steps; failures stop the benchmark. */
async function call(base: string, method: string, url: string, token?: string, body?: object) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

async function waitUntilLive(base: string, api: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (true) {
    if (api.exitCode !== null || api.signalCode !== null) {
      throw new Error(`the API exited during start:\n${tail(logFile)}`);
    }
    try {
      if ((await fetch(`${base}/health/live`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the API did not become live within 30 s:\n${tail(logFile)}`);
    await sleep(100);
  }
}

const tail = (file: string, lines = 20) =>
  existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '(no log)';

// CPU time from /proc, to tell whether the API, PostgreSQL or the load generator itself is the limit.
const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
  } catch {
    return 100;
  }
})();
/** CPU milliseconds a process (all its threads) has used; undefined off Linux. */
function processCpuMs(pid: number | undefined): number | undefined {
  const file = `/proc/${pid}/stat`;
  if (pid === undefined || !existsSync(file)) return undefined;
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of the line.
  const stat = readFileSync(file, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}
/** Busy and total ticks of all cores together; undefined off Linux. */
function machineTicks(): { busy: number; total: number } | undefined {
  if (!existsSync('/proc/stat')) return undefined;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + (steal ?? 0);
  return { busy, total: busy + idle! + iowait! };
}
interface CpuMark {
  at: number;
  api: number | undefined;
  self: number;
  machine: ReturnType<typeof machineTicks>;
}
const cpuMark = (apiPid: number | undefined): CpuMark => {
  const self = process.cpuUsage();
  return {
    at: performance.now(),
    api: processCpuMs(apiPid),
    self: (self.user + self.system) / 1000,
    machine: machineTicks(),
  };
};

interface LoadResult {
  /** Latencies (ms) of the counted requests answered 200, sorted. */
  latencies: Float64Array;
  /** How late the generator sent each counted request (ms), sorted. */
  lags: Float64Array;
  failures: Map<string, number>;
  counted: number;
  windowStart: number;
  lastAnswer: number;
  cpu: [CpuMark, CpuMark];
}

/** Sends GET `url` on a fixed schedule; the first WARMUP_S seconds are sent but not counted. */
async function openLoop(port: number, url: string, token: string, apiPid: number | undefined): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const warm = WARMUP_S * rate;
  const total = warm + seconds * rate;
  const interval = 1000 / rate;
  const latency = new Float64Array(total).fill(Number.NaN);
  const lag = new Float64Array(total);
  const settled = new Uint8Array(total);
  const failures = new Map<string, number>();
  const headers = { authorization: `Bearer ${token}` };
  let answered = 0;
  let lastAnswer = 0;
  let allAnswered: () => void = () => {};
  const drained = new Promise<void>((resolve) => {
    allAnswered = resolve;
  });
  const t0 = performance.now() + 50;
  const windowStart = t0 + warm * interval;
  let startMark: CpuMark | undefined;

  const finish = (i: number, failure?: string) => {
    if (settled[i]) return;
    settled[i] = 1;
    const now = performance.now();
    if (i >= warm) {
      lastAnswer = Math.max(lastAnswer, now);
      if (failure) failures.set(failure, (failures.get(failure) ?? 0) + 1);
      else latency[i] = now - (t0 + i * interval);
    }
    if (++answered === total) allAnswered();
  };
  const send = (i: number) => {
    lag[i] = performance.now() - (t0 + i * interval);
    const req = http.request({ agent, host: '127.0.0.1', port, path: url, headers }, (res) => {
      res.on('error', (err) => finish(i, (err as NodeJS.ErrnoException).code ?? err.message));
      res.on('end', () => finish(i, res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`));
      res.resume();
    });
    req.on('error', (err) => finish(i, (err as NodeJS.ErrnoException).code ?? err.message));
    req.end();
  };

  await new Promise<void>((resolve) => {
    let next = 0;
    const tick = () => {
      const now = performance.now();
      while (next < total && t0 + next * interval <= now) {
        if (next === warm) startMark = cpuMark(apiPid);
        send(next++);
      }
      if (next < total) setTimeout(tick, Math.max(0, t0 + next * interval - performance.now()));
      else resolve();
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
  const drainTimer = new AbortController();
  await Promise.race([drained, sleep(DRAIN_MS, undefined, { signal: drainTimer.signal }).catch(() => {})]);
  drainTimer.abort(); // a pending 30 s timer would keep the process alive after the run
  const endMark = cpuMark(apiPid);
  for (let i = warm; i < total; i++) if (!settled[i]) finish(i, `no answer within ${DRAIN_MS / 1000} s`);
  agent.destroy();

  const counted = total - warm;
  const latencies = latency
    .subarray(warm)
    .filter((v) => !Number.isNaN(v))
    .sort();
  return {
    latencies,
    lags: lag.subarray(warm).slice().sort(),
    failures,
    counted,
    windowStart,
    lastAnswer,
    cpu: [startMark ?? endMark, endMark],
  };
}

function cpuLine([a, b]: [CpuMark, CpuMark]): string | undefined {
  if (a.api === undefined || b.api === undefined || !a.machine || !b.machine) return undefined;
  const wallMs = b.at - a.at;
  const cores = os.cpus().length;
  const pct = (ms: number) => `${Math.round((ms / wallMs) * 100)}%`;
  const machineMs = ((b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total)) * cores * wallMs;
  const apiMs = b.api - a.api;
  const selfMs = b.self - a.self;
  return `API ${pct(apiMs)}, load generator ${pct(selfMs)}, everything else (PostgreSQL, Temporal, …) ${pct(machineMs - apiMs - selfMs)}; machine ${pct(machineMs)} of ${cores * 100}%`;
}

await runBench(limitMs, async (onCleanup) => {
  console.error(`setting up (scratch database, Temporal dev server, API) for ${rate} req/s over ${seconds} s…`);
  const sys = await startScratchSystem(onCleanup);
  // The bench process only needed the ORM to migrate; the API has its own pool.
  await closeORM();

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const logFile = path.join(sys.tmp, 'api.log');
  const out = openSync(logFile, 'a');
  const api = spawn(process.execPath, ['api/main.ts'], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: sys.databaseUrl,
      TEMPORAL_ADDRESS: sys.temporalAddress,
      TEMPORAL_NAMESPACE: sys.namespace,
      TASK_QUEUE_CORE: `bench-core-${process.pid}`,
      LOG_LEVEL: 'warn',
      BCRYPT_COST: '10',
    },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  onCleanup('stopping the API', () => stopChild(api));
  await waitUntilLive(base, api, logFile);

  // Everything through the API. Creating the invitation starts its workflow, which needs Temporal
  // but no worker: the workflow waits on its queue, and the read under test never touches Temporal.
  const { session } = await call(base, 'POST', '/v1/accounts', undefined, {
    email: 'owner@example.com',
    password: 'correct horse battery staple',
    name: 'Bench owner',
  });
  const workspace = await call(base, 'POST', '/v1/workspaces', session.token, { name: 'Bench' });
  const { token } = await call(base, 'POST', '/v1/tokens', session.token, { name: 'bench' });
  const { invitation } = await call(base, 'POST', `/v1/workspaces/${workspace.id}/invitations`, token, {
    email: 'invitee@example.com',
    role: 'member',
  });
  const url = `/v1/workspaces/${workspace.id}/invitations/${invitation.id}`;
  const check = await call(base, 'GET', url, token);
  if (check.id !== invitation.id || check.status !== 'pending')
    throw new Error(`unexpected read: ${JSON.stringify(check)}`);

  console.error('running…');
  const r = await openLoop(port, url, token, api.pid);
  const errors = [...r.failures.values()].reduce((a, b) => a + b, 0);
  const achieved = r.counted / ((r.lastAnswer - r.windowStart) / 1000);
  const p99 = percentile(r.latencies, 0.99);
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const goal = `p99 <= ${GOAL_P99_MS} ms at 1,000 req/s`;

  console.log('status-read: GET /v1/workspaces/:id/invitations/:id with an API token, open loop at a fixed rate');
  console.log(
    `  rate           ${rate} req/s for ${seconds} s (after ${WARMUP_S} s of warm-up at that rate, not counted)`,
  );
  console.log(`  requests       ${r.counted} sent, ${r.latencies.length} answered 200, ${errors} errors`);
  for (const [what, count] of r.failures) console.log(`                 ${count} × ${what}`);
  console.log(`  achieved rate  ${achieved.toFixed(1)} req/s`);
  console.log(
    `  latency        p50 ${ms(percentile(r.latencies, 0.5))}, p90 ${ms(percentile(r.latencies, 0.9))}, p99 ${ms(p99)}, max ${ms(r.latencies.at(-1) ?? Number.NaN)}  (from the scheduled send time)`,
  );
  console.log(
    `  ${rate === GOAL_RATE ? verdict(goal, p99 <= GOAL_P99_MS && errors === 0) : `goal ${goal}  (not tested at ${rate} req/s)`}`,
  );
  console.log(
    `  send lag       p50 ${ms(percentile(r.lags, 0.5))}, p99 ${ms(percentile(r.lags, 0.99))}  (how late the generator sent; part of the latency)`,
  );
  const cpu = cpuLine(r.cpu);
  if (cpu) console.log(`  CPU            ${cpu}  (100% = one core)`);
  if (errors > 0) {
    console.log(`\nlast lines of the API log:\n${tail(logFile)}`);
    process.exitCode = 1;
  }
});
