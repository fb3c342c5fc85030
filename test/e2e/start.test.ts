// `npm start` for real: the orchestrator brings up its own Temporal dev server (with UI), workers and
// API on free ports, reaches readiness, serves the docs, and Ctrl-C stops every process it started.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/config.ts';
import { dropDatabase } from '../../lib/postgres.ts';
import { freePort } from '../../lib/temporal-cli.ts';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-start-'));
const db = new URL(inject('databaseUrl'));
db.pathname = `/sb_start_${process.pid}`;
afterAll(async () => {
  await dropDatabase(db.toString());
  rmSync(dataDir, { recursive: true, force: true });
});

/** Every descendant of `pid`, read from ps. */
function descendants(pid: number): number[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const out: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of rows) {
      if (ppid === parent) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm start', () => {
  it('reaches readiness, serves docs and the Temporal UI, and Ctrl-C stops everything', async () => {
    // Free ports instead of the defaults (3000, 7233, 8233), so a running `npm start` does not collide.
    const [apiPort, temporalPort, uiPort, metricsPort, simPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'start.ts')], {
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        DATABASE_URL: db.toString(),
        TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
        TEMPORAL_UI_PORT: String(uiPort),
        PORT: String(apiPort),
        PUBLIC_URL: `http://127.0.0.1:${apiPort}`,
        SIMULATOR_URL: `http://127.0.0.1:${simPort}`,
        WORKER_METRICS_PORT: String(metricsPort),
        WORKFLOW_BUNDLE_PATH: path.join(dataDir, 'workflow-bundle.js'),
        TASK_QUEUE_CORE: 'switchboard-core',
        BCRYPT_COST: '10',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so Ctrl-C can be delivered the way a terminal does: to the whole group.
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    try {
      const deadline = Date.now() + 120_000;
      while (!output.includes('Switchboard is up')) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not come up:\n${output}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      const api = `http://127.0.0.1:${apiPort}`;
      expect(output).toContain(`Temporal UI    http://127.0.0.1:${uiPort}`);
      const ready = await fetch(`${api}/health/ready`);
      expect(ready.status).toBe(200);
      const doc = (await (await fetch(`${api}/docs/json`)).json()) as {
        openapi: string;
        paths: Record<string, unknown>;
      };
      expect(doc.openapi).toBe('3.1.0');
      for (const route of [
        '/v1/accounts',
        '/v1/sessions',
        '/v1/tokens',
        '/v1/workspaces',
        '/v1/workspaces/{workspaceId}/members',
        '/v1/workspaces/{workspaceId}/invitations',
        '/v1/workspaces/{workspaceId}/connections',
        '/v1/connections/callback',
        '/v1/auth/google/start',
      ]) {
        expect(Object.keys(doc.paths)).toContain(route);
      }
      expect((await fetch(`${api}/docs`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${uiPort}/`)).status).toBe(200);
      const metrics = await (await fetch(`${api}/metrics`)).text();
      expect(metrics).toMatch(/^temporal_\w+\{.*worker="core"/m);
      expect(output).toContain(`Simulators     http://127.0.0.1:${simPort}`);

      // A newcomer's first connection: a simulated X account, the browser following the redirects.
      const post = async (url: string, body: unknown, token?: string) =>
        (
          await fetch(`${api}${url}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
            body: JSON.stringify(body),
          })
        ).json() as Promise<{ id: string; authorizeUrl: string; session: { token: string } }>;
      const account = await post('/v1/accounts', {
        email: 'e2e@example.com',
        password: 'a long passphrase',
        name: 'E2E',
      });
      const token = account.session.token as string;
      const workspace = await post('/v1/workspaces', { name: 'E2E' }, token);
      const started = await post(`/v1/workspaces/${workspace.id}/connections`, { platform: 'x' }, token);
      const connected = await fetch(started.authorizeUrl as string);
      expect(connected.status).toBe(200);
      expect(await connected.json()).toMatchObject({ platform: 'x', status: 'active' });

      const processes = descendants(child.pid!);
      expect(processes.length).toBeGreaterThanOrEqual(4); // dev server, simulators, worker, API
      process.kill(-child.pid!, 'SIGINT');
      expect(await exited).toBe(0);
      expect(processes.filter(alive)).toEqual([]);
      await expect(fetch(`${api}/health/live`)).rejects.toThrow();
    } finally {
      if (child.exitCode === null) {
        for (const pid of descendants(child.pid!)) process.kill(pid, 'SIGKILL');
        child.kill('SIGKILL');
      }
    }
  }, 180_000);
});
