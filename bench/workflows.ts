// Workflow throughput: N invitation workflows, each started with an expiry of "now", so it fires its
// timer at once, runs the expire activity (a PostgreSQL transaction) and completes. Measured from the
// first start to the last completion, on an in-memory Temporal dev server and an in-process worker.
//   node bench/workflows.ts [N]      (or BENCH_WORKFLOWS=N; default 500)
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createCoreActivities } from '../activities/index.ts';
import { Invitation, Workspace } from '../db/entities/index.ts';
import { loadConfig } from '../lib/config.ts';
import { sha256 } from '../lib/secrets.ts';
import { buildWorkflowBundle } from '../workers/build-bundle.ts';
import { startInvitation } from '../workflows/invitation.client.ts';
import { type InvitationResult, invitationWorkflowId } from '../workflows/invitation.messages.ts';
import {
  forEachLimited,
  intSetting,
  percentile,
  runBench,
  startBenchWorker,
  startScratchSystem,
  verdict,
} from './harness.ts';

const GOAL_PER_SECOND = 35;
const START_CONCURRENCY = 50;
const n = intSetting('BENCH_WORKFLOWS', process.argv[2], 500, 1, 20_000);
// Setup takes well under a minute; the run itself gets 0.2 s per workflow (a quarter of the goal's pace).
const limitMs = (120 + n * 0.2) * 1000;

/** Runs `fn` over `items` with at most `limit` calls in flight. */
await runBench(limitMs, async (onCleanup) => {
  console.error(`setting up (scratch database, Temporal dev server, workflow bundle, worker) for ${n} workflows…`);
  const sys = await startScratchSystem(onCleanup);
  const bundlePath = await buildWorkflowBundle(path.join(sys.tmp, 'workflow-bundle.js'));

  Runtime.install({ logger: new DefaultLogger('WARN') });
  const taskQueue = `bench-core-${randomUUID()}`;
  const { stopped: workerStopped } = await startBenchWorker(sys, onCleanup, {
    bundlePath,
    taskQueue,
    activities: createCoreActivities({ orm: sys.orm, config: loadConfig() }),
  });

  const connection = await Connection.connect({ address: sys.temporalAddress });
  onCleanup('closing the client connection', () => connection.close());
  const client = new Client({ connection, namespace: sys.namespace });

  // The rows the expire activity locks and updates; inserted directly, the API is not under test here.
  const em = sys.orm.em.fork();
  const workspace = em.create(Workspace, { name: 'Bench' });
  const invitations = Array.from({ length: n }, (_, i) =>
    em.create(Invitation, {
      workspace: workspace.id,
      email: `invitee-${i}@example.com`,
      role: 'member',
      tokenHash: sha256(randomBytes(32).toString('hex')),
      expiresAt: new Date(),
    }),
  );
  await em.flush();

  console.error('running…');
  const latencies: number[] = [];
  const results: Promise<void>[] = [];
  let expired = 0;
  let failed: unknown;
  let lastDone = 0;
  const t0 = performance.now();
  await forEachLimited(invitations, START_CONCURRENCY, async (inv) => {
    const started = performance.now();
    await startInvitation(client, taskQueue, {
      invitationId: inv.id,
      workspaceId: workspace.id,
      expiresAt: new Date().toISOString(),
    });
    results.push(
      client.workflow
        .getHandle<() => Promise<InvitationResult>>(invitationWorkflowId(inv.id))
        .result()
        .then(
          (result) => {
            lastDone = performance.now();
            latencies.push(lastDone - started);
            if (result.outcome === 'expired') expired++;
          },
          (err) => {
            failed ??= err;
          },
        ),
    );
  });
  const startPhaseS = (performance.now() - t0) / 1000;
  // A worker that dies would leave the results waiting until the time limit; fail at once instead.
  await Promise.race([Promise.all(results), workerStopped]);
  if (failed) throw failed;
  const totalS = (lastDone - t0) / 1000;

  const [{ count }] = await sys.orm.em
    .fork()
    .getConnection()
    .execute<{ count: string }[]>(`select count(*) from invitations where status = 'expired'`);
  latencies.sort((a, b) => a - b);
  const perSecond = n / totalS;
  const ms = (v: number) => `${Math.round(v)} ms`;
  console.log(`workflows: invitation workflows from start to completion (timer → expire activity → done)`);
  console.log(`  workflows      ${n} (at most ${START_CONCURRENCY} starts in flight)`);
  console.log(`  start phase    ${startPhaseS.toFixed(2)} s`);
  console.log(`  total          ${totalS.toFixed(2)} s  (first start → last completion)`);
  console.log(
    `  throughput     ${perSecond.toFixed(1)} workflows/s   ${verdict(`>= ${GOAL_PER_SECOND} workflows/s`, perSecond >= GOAL_PER_SECOND)}`,
  );
  console.log(
    `  per workflow   p50 ${ms(percentile(latencies, 0.5))}, p99 ${ms(percentile(latencies, 0.99))}, max ${ms(latencies.at(-1)!)}  (start call → result)`,
  );
  console.log(`  outcomes       ${expired}/${n} expired; ${count}/${n} rows expired in PostgreSQL`);
  if (expired !== n || Number(count) !== n) process.exitCode = 1;
});
