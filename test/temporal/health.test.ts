import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../lib/temporal-cli.ts';
import { createTestSystem, eventually, spawnWorker, type TestSystem, testEnv } from '../helpers.ts';

let sys: TestSystem;
beforeAll(async () => {
  sys = await createTestSystem();
});
afterAll(() => sys.close());

const ready = () => sys.app.inject({ method: 'GET', url: '/health/ready' });

describe('health', () => {
  it('is live while the process serves', async () => {
    expect((await sys.app.inject({ method: 'GET', url: '/health/live' })).json()).toEqual({ status: 'ok' });
  });

  it('is not ready while no worker polls a task queue, and ready once one does', async () => {
    const res = await ready();
    expect(res.statusCode).toBe(503);
    const body = res.json();
    expect(body.checks.postgres.ok).toBe(true);
    expect(body.checks.temporal.ok).toBe(true);
    expect(body.missing).toContain(`no worker polls task queue ${sys.config.taskQueues.core} (workflow tasks)`);
    expect(body.missing).toContain(`no worker polls task queue ${sys.config.taskQueues.core} (activity tasks)`);
    expect(body.missing).toContain(`no worker polls task queue ${sys.config.taskQueues.media} (activity tasks)`);
    // The media queue runs activities only: nobody expects workflow pollers there.
    expect(body.missing).not.toContain(`no worker polls task queue ${sys.config.taskQueues.media} (workflow tasks)`);

    const stop = await sys.startWorker();
    const stopMedia = await sys.startMediaWorker();
    const ok = await eventually(async () => {
      const r = await ready();
      return r.statusCode === 200 ? r.json() : undefined;
    });
    expect(ok).toMatchObject({ status: 'ready', missing: [] });
    await stop();
    await stopMedia();
  });

  it('is not ready when Temporal does not answer, and says so', async () => {
    const down = await createTestSystem({ TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` });
    try {
      const res = await down.app.inject({ method: 'GET', url: '/health/ready' });
      expect(res.statusCode).toBe(503);
      expect(res.json().checks.temporal.ok).toBe(false);
      expect(res.json().missing.join()).toMatch(/Temporal does not answer/);
    } finally {
      await down.close();
    }
  });
});

describe('worker process', () => {
  it('exits non-zero when Temporal stays unreachable, instead of idling', async () => {
    const worker = spawnWorker(
      testEnv({ TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, WORKER_CONNECT_ATTEMPTS: '2' }),
    );
    expect(await worker.exited).toBe(1);
    expect(worker.output()).toMatch(/worker failed/);
    expect(worker.output()).toMatch(/connecting to Temporal at .* failed \(attempt 1\/2\)/);
  });

  it('stops at once on SIGTERM while still retrying its connection', async () => {
    const worker = spawnWorker(
      testEnv({ TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, WORKER_CONNECT_ATTEMPTS: '20', LOG_LEVEL: 'info' }),
    );
    await eventually(async () => worker.output().includes('attempt 1/20'), 20_000);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toMatch(/stopped before polling/);
  });

  it('serves SDK metrics that the API merges into /metrics, and drains on SIGTERM', async () => {
    const env = testEnv({ WORKER_METRICS_PORT: String(await freePort()), LOG_LEVEL: 'info' });
    const metricsUrl = `http://127.0.0.1:${env.WORKER_METRICS_PORT}/metrics`;
    const worker = spawnWorker(env);
    // Readiness wants the media queue served too: its worker is the real entrypoint as well.
    const media = spawnWorker({ ...env, WORKER_METRICS_PORT: String(await freePort()) }, 'media');
    const api = await createTestSystem({ ...env, WORKER_METRICS_URLS: metricsUrl });
    try {
      await eventually(
        async () => (await api.app.inject({ method: 'GET', url: '/health/ready' })).statusCode === 200,
        30_000,
      );
      const metrics = await api.app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.statusCode).toBe(200);
      expect(metrics.body).toMatch(/^temporal_\w+\{.*worker="core".*\} \d/m);
      expect(metrics.body).toContain(`switchboard_worker_metrics_up{url="${metricsUrl}"} 1`);
      expect(metrics.body).toMatch(/^switchboard_http_request_duration_seconds_count\{/m);
      worker.child.kill('SIGTERM');
      media.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(worker.output()).toMatch(/worker polling[\s\S]*worker stopped/);
      expect(await media.exited).toBe(0);
      expect(media.output()).toMatch(/worker polling[\s\S]*worker stopped/);
    } finally {
      worker.child.kill('SIGKILL');
      media.child.kill('SIGKILL');
      await api.close();
    }
  });
});
