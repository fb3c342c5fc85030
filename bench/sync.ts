// Analytics and inbox sync at volume: N connections (default 1,000) spread over the eight platforms,
// each its own account at the simulators with a history (posts with counters, daily metrics,
// comments), every simulator answering each call after 50 ms. Connections are made through the API
// and the connect workflow; then one pass is asked of every connection's sync workflow at once
// (the first with history to store) and timed, and a second pass over the unchanged accounts must
// write no metric rows. Prints both passes' times and the rows they wrote against the goals.
//   node bench/sync.ts [N]      (or BENCH_CONNECTIONS)
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createCoreActivities } from '../activities/index.ts';
import { loadConfig } from '../lib/config.ts';
import type { PlatformId } from '../platforms/types.ts';
import type { SimAccount } from '../simulators/core.ts';
import { startSimulator } from '../simulators/server.ts';
import { buildWorkflowBundle } from '../workers/build-bundle.ts';
import { syncNow } from '../workflows/sync.client.ts';
import {
  connectThroughApi,
  forEachLimited,
  intSetting,
  runBench,
  sleep,
  startBenchApi,
  startBenchWorker,
  startScratchSystem,
  verdict,
} from './harness.ts';

const PLATFORMS = ['youtube', 'instagram', 'facebook', 'tiktok', 'linkedin', 'x', 'threads', 'whatsapp'] as const;
const GOAL_MS = 60_000;
const LATENCY_MS = 50;
const n = intSetting(
  'BENCH_CONNECTIONS',
  process.argv.slice(2).find((a) => /^\d+$/.test(a)),
  1_000,
  8,
  20_000,
);
const limitMs = (300 + n * 0.5) * 1000;

/** Another account shaped like the seeded one: same kinds of ids, none shared. */
function sibling(first: SimAccount, i: number): SimAccount {
  const unique = (value: string) => `${value.slice(0, Math.max(0, value.length - 7))}${String(i).padStart(7, '0')}`;
  const extra = Object.fromEntries(
    Object.entries(first.extra ?? {}).map(([k, v]) => [k, /^(UC)?\d{8,}$|^[0-9a-f-]{36}$/.test(v) ? unique(v) : v]),
  );
  return { ...first, id: unique(first.id), name: `Bench ${i}`, handle: `bench${i}`, extra };
}

await runBench(limitMs, async (onCleanup) => {
  console.error(`setting up (scratch database, Temporal dev server, simulators, bundle, worker) for ${n} connections…`);
  const sys = await startScratchSystem(onCleanup);
  const sim = await startSimulator();
  onCleanup('stopping the simulators', sim.close);
  // Windows lifted, as if the accounts belonged to many apps: rate limits are exercised by the tests.
  for (const platform of sim.platforms.values()) for (const window of platform.windows) window.limit = 1e9;

  const bundlePath = await buildWorkflowBundle(path.join(sys.tmp, 'workflow-bundle.js'));
  const env: Record<string, string> = {
    DATABASE_URL: sys.databaseUrl,
    TEMPORAL_ADDRESS: sys.temporalAddress,
    TEMPORAL_NAMESPACE: sys.namespace,
    TASK_QUEUE_CORE: `bench-sync-${randomUUID()}`,
    WORKFLOW_BUNDLE_PATH: bundlePath,
    SIMULATOR_URL: sim.url,
    WORKER_SCHEDULES: 'off',
    LOG_LEVEL: 'warn',
    // Sentiment through the OpenAI simulator, like a real deployment.
    OPENAI_API_KEY: 'sk-sim-bench',
    OPENAI_BASE_URL: `${sim.url}/openai/v1`,
  };
  const config = loadConfig({ ...process.env, ...env });
  const { stopped } = await startBenchWorker(sys, onCleanup, {
    bundlePath,
    taskQueue: config.taskQueues.core,
    activities: createCoreActivities({ orm: sys.orm, config }),
  });

  const api = await startBenchApi(sys, config, onCleanup);
  const { client, workspaceId } = api;

  // One account per connection at its platform, connected through the API (consent is per
  // platform, so each platform connects its accounts one after another; platforms run side by side).
  const accounts: { platform: PlatformId; accountId: string }[] = [];
  for (let i = 0; i < n; i++) {
    const platform = PLATFORMS[i % PLATFORMS.length] as PlatformId;
    const simP = sim.platforms.get(platform)!;
    accounts.push({ platform, accountId: simP.addAccount(sibling(simP.firstAccount(), i)).id });
  }
  const connected: { id: string; platform: PlatformId; accountId: string }[] = [];
  const connectStarted = Date.now();
  await Promise.all(
    PLATFORMS.map(async (platform) => {
      const simP = sim.platforms.get(platform)!;
      for (const a of accounts.filter((x) => x.platform === platform)) {
        simP.nextConsent = { accountId: a.accountId };
        connected.push({ id: await connectThroughApi(api, platform), platform, accountId: a.accountId });
      }
    }),
  );
  console.error(`connected ${connected.length} accounts in ${((Date.now() - connectStarted) / 1000).toFixed(1)} s`);

  const db = sys.orm.em.getConnection();
  const passesDone = async (atLeast: number) =>
    Number(
      (
        (await db.execute(`select count(*)::int as n from sync_states where passes >= ?`, [atLeast])) as { n: number }[]
      )[0]?.n,
    );
  const metricRows = async () =>
    Number(((await db.execute('select count(*)::int as n from metric_points')) as { n: number }[])[0]?.n);
  const messageRows = async () =>
    Number(((await db.execute('select count(*)::int as n from inbox_messages')) as { n: number }[])[0]?.n);
  const waitPasses = async (atLeast: number, label: string) => {
    for (;;) {
      const done = await passesDone(atLeast);
      if (done >= connected.length) return;
      await Promise.race([sleep(250), stopped]);
      if (Date.now() - connectStarted > limitMs) throw new Error(`${label}: ${done}/${connected.length} passes done`);
    }
  };
  // The first passes (started by connecting) find empty accounts.
  await waitPasses(1, 'first passes');

  // Each account gets a history; from here on every answer takes 50 ms.
  for (const a of connected) {
    const simP = sim.platforms.get(a.platform)!;
    simP.content.seed(
      Date.now(),
      {
        accountId: a.accountId,
        posts: a.platform === 'whatsapp' ? 0 : 10,
        days: 30,
        commentsPerPost: 2,
        dms: 2,
        mentions: 2,
        dailyMetrics: a.platform === 'whatsapp' ? ['sent', 'delivered'] : undefined,
      },
      // Ids in the platform's own shape (Graph routes take numeric ids only).
      simP.contentId,
    );
  }
  for (const platform of sim.platforms.values()) platform.knobs.latencyMs = LATENCY_MS;

  const runPass = async (atLeast: number, label: string) => {
    const rowsBefore = await metricRows();
    const messagesBefore = await messageRows();
    const began = Date.now();
    await forEachLimited(connected, 50, async (c) => {
      await syncNow(client, config.taskQueues.core, { connectionId: c.id, workspaceId, platform: c.platform });
    });
    await waitPasses(atLeast, label);
    const ms = Date.now() - began;
    return { ms, metricRows: (await metricRows()) - rowsBefore, messages: (await messageRows()) - messagesBefore };
  };
  const first = await runPass(2, 'history pass');
  const second = await runPass(3, 'unchanged pass');
  const failed = Number(
    ((await db.execute(`select count(*)::int as n from sync_states where status = 'failed'`)) as { n: number }[])[0]?.n,
  );

  console.log(
    `sync: ${connected.length} connections over ${PLATFORMS.length} platforms, ${LATENCY_MS} ms per platform answer`,
  );
  console.log(
    `  history pass:   ${(first.ms / 1000).toFixed(1)} s, ${first.metricRows} metric rows, ${first.messages} messages  ${verdict(`<= ${GOAL_MS / 1000} s`, first.ms <= GOAL_MS)}`,
  );
  console.log(
    `  unchanged pass: ${(second.ms / 1000).toFixed(1)} s, ${second.metricRows} metric rows, ${second.messages} messages  ${verdict('0 metric rows', second.metricRows === 0)}`,
  );
  console.log(`  connections whose last pass reported a stream problem: ${failed}`);
  const problems = (await db.execute(
    `select platform, left(status_reason, 120) as reason, count(*)::int as n from sync_states
     where status = 'failed' group by 1, 2 order by 3 desc limit 10`,
  )) as { platform: string; reason: string; n: number }[];
  for (const p of problems) console.log(`    ${p.platform}: ${p.n} × ${p.reason}`);
});
