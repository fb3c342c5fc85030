// bench/ingest: thumbnails through the ingest workflow against the same sharp pipeline called
// directly, on the same photos in the same run. The workflow path is the real one: originals in
// storage, `media/<fileId>` on a core worker, its CPU stages on a media worker with the configured
// concurrency (MEDIA_CPU_CONCURRENCY, default 3), derivatives stored and recorded. The direct path
// decodes and resizes with the same settings and the same number in flight, and stores nothing.
// OCR, transcription and embeddings are off, so both sides do the same image work.
//
// Two placements, each with its own ratio:
//   shared    everything on every core: the Temporal dev server, PostgreSQL, the workers and sharp
//             compete for the same CPUs, so the ratio also counts the server's and the database's work;
//   dedicated the deployment's shape (compose runs worker-media as its own service): the media
//             worker in its own process on the last core, the direct path on that same core alone,
//             the Temporal server and the core worker on the others (taskset; Linux, 2+ cores).
//             PostgreSQL is not moved: its little work may land on the media core, against the workflow.
//
//   npm run bench:ingest [photos] [megapixels]      (defaults 40 and 12: phone photos)
//
// Prints both throughputs and their ratio (goal >= 0.8) for each placement, and the CPU seconds
// each part used.

import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createMediaActivities } from '../activities/media.ts';
import { MEDIA_STAGES } from '../db/entities/media.ts';
import { type Config, loadConfig, PROJECT_ROOT } from '../lib/config.ts';
import { makeDerivatives } from '../lib/media/images.ts';
import { assertMediaTools } from '../lib/media/tools.ts';
import { createStorage } from '../lib/storage.ts';
import { makePhotos } from '../test/media-fixtures.ts';
import { buildWorkflowBundle } from '../workers/build-bundle.ts';
import { startIngest } from '../workflows/media.client.ts';
import { mediaWorkflowId } from '../workflows/media.messages.ts';
import {
  forEachLimited,
  intSetting,
  runBench,
  startBenchApi,
  startBenchWorker,
  startScratchSystem,
  verdict,
} from './harness.ts';

const photos = intSetting('BENCH_PHOTOS', process.argv[2], 40, 1, 2000);
const megapixels = intSetting('BENCH_MEGAPIXELS', process.argv[3], 12, 1, 50);
const GOAL = 0.8;
const WARM_UP = 2;

/** Places every thread of a running process on the listed CPUs ("3", "0-2"). */
const pin = (pid: number, cpus: string) =>
  execFileSync('taskset', ['-a', '-c', '-p', cpus, String(pid)], { stdio: 'ignore' });
const canPin = (() => {
  if (os.availableParallelism() < 2) return false;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** CPU seconds (user + system) a process has used so far, from /proc; undefined where there is none. */
const TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();
function cpuOf(pid: number | undefined): number | undefined {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return undefined;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}
/** PostgreSQL's processes together (the server is shared; its other work here is nil). */
function postgresCpu(): number | undefined {
  if (!existsSync('/proc/self/stat')) return undefined;
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') total += cpuOf(Number(pid)) ?? 0;
    } catch {
      // ended meanwhile
    }
  }
  return total;
}

interface Outcome {
  directS: number;
  flowS: number;
  ready: number;
  derivatives: number;
  /** CPU seconds of each part during the workflow path. */
  cpu: Record<string, number>;
}

await runBench(30 * 60_000, async (onCleanup) => {
  assertMediaTools();
  const sys = await startScratchSystem(onCleanup);
  const run = randomUUID().slice(0, 8);
  const env = {
    DATABASE_URL: sys.databaseUrl,
    TEMPORAL_ADDRESS: sys.temporalAddress,
    TEMPORAL_NAMESPACE: sys.namespace,
    TASK_QUEUE_CORE: `bench-core-${run}`,
    WORKFLOW_BUNDLE_PATH: path.join(sys.tmp, 'workflow-bundle.js'),
    // Its own data folder: a media worker empties its work folder when it starts.
    DATA_DIR: path.join(sys.tmp, 'data'),
    STORAGE_DIR: path.join(sys.tmp, 'storage'),
    MEDIA_OCR: 'off',
    TRANSCRIPTION_PROVIDER: 'none',
    EMBEDDING_PROVIDER: 'none',
    LOG_LEVEL: 'warn',
  };
  // One media task queue per placement, so each placement's tasks reach only its own worker.
  const configFor = (placement: string): Config =>
    loadConfig({ ...process.env, ...env, TASK_QUEUE_MEDIA: `bench-media-${placement}-${run}` });
  const config = configFor('shared');
  await buildWorkflowBundle(config.workflowBundlePath);
  Runtime.install({ logger: new DefaultLogger('WARN') });

  // 4:3 photos of about the asked size, distinct so no cache helps either side.
  const width = Math.round(Math.sqrt((megapixels * 1_000_000 * 4) / 3));
  const height = Math.round((width * 3) / 4);
  console.error(`making ${photos} photos of ${width}×${height}…`);
  const all = await makePhotos(path.join(sys.tmp, 'photos'), photos + WARM_UP, { width, height });
  // A few photos go through each path first, untimed: steady state is what is compared (the
  // worker's first workflow task loads the bundle; sharp's first call loads libvips).
  const warmUp = all.slice(0, WARM_UP);
  const files = all.slice(WARM_UP);
  const bytes = (await Promise.all(files.map((f) => stat(f)))).reduce((n, s) => n + s.size, 0);
  const limits = { maxPixels: config.media.maxPixels };
  const inFlight = config.media.cpuConcurrency;

  // Direct: the same sharp pipeline, the same number in flight.
  const direct = async (batch: string[]) =>
    forEachLimited(batch, inFlight, async (file) => {
      await makeDerivatives(file, limits);
    });

  // Through the workflow: originals stored and recorded first (uploading is not what is measured).
  const api = await startBenchApi(sys, config, onCleanup);
  const storage = createStorage(config);
  const store = async (batch: string[]) => {
    const ids: string[] = [];
    for (const file of batch) {
      const id = randomUUID();
      const body = await readFile(file);
      const key = `media/${api.workspaceId}/${id}/original`;
      await storage.put(key, body);
      await sys.orm.em.getConnection().execute(
        `insert into media_files (id, workspace_id, name, size_bytes, sha256, storage_key, mime_type, kind, status, stages, created_at, updated_at)
         values (?, ?, ?, ?, ?, ?, 'image/jpeg', 'image', 'processing', ?::jsonb, now(), now())`,
        [
          id,
          api.workspaceId,
          path.basename(file),
          body.length,
          createHash('sha256').update(body).digest('hex'),
          key,
          JSON.stringify(Object.fromEntries(MEDIA_STAGES.map((s) => [s, { status: 'pending' }]))),
        ],
        'run',
      );
      ids.push(id);
    }
    return ids;
  };
  // Timed in the shared placement, to show where a stage's time goes.
  const spent = new Map<string, { n: number; ms: number }>();
  const activities = Object.fromEntries(
    Object.entries(createMediaActivities({ orm: sys.orm, config })).map(([name, fn]) => [
      name,
      async (...args: unknown[]) => {
        const t0 = performance.now();
        try {
          return await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
        } finally {
          const s = spent.get(name) ?? { n: 0, ms: 0 };
          spent.set(name, { n: s.n + 1, ms: s.ms + performance.now() - t0 });
        }
      },
    ]),
  );
  const core = await startBenchWorker(sys, onCleanup, {
    bundlePath: config.workflowBundlePath,
    taskQueue: config.taskQueues.core,
    activities,
  });

  /** Direct, then through the workflow (the media worker already polling `cfg`'s media queue). */
  async function compare(
    cfg: Config,
    stopped: Promise<never>,
    place?: { media: string; rest: string; mediaPid?: number },
  ) {
    if (place) pin(process.pid, place.media);
    await direct(warmUp);
    const directStart = performance.now();
    await direct(files);
    const directS = (performance.now() - directStart) / 1000;
    if (place) pin(process.pid, place.rest);

    const ingest = async (ids: string[]) => {
      await Promise.all(ids.map((fileId) => startIngest(api.client, cfg, { fileId, workspaceId: api.workspaceId })));
      return Promise.race([
        Promise.all(ids.map((id) => api.client.workflow.getHandle(mediaWorkflowId(id)).result())),
        core.stopped,
        stopped,
      ]);
    };
    await ingest(await store(warmUp));
    spent.clear();
    const ids = await store(files);
    const parts = (): Record<string, number | undefined> => ({
      'Temporal server': cpuOf(sys.temporalPid),
      PostgreSQL: postgresCpu(),
      [place ? 'core worker and client' : 'workers and client']: cpuOf(process.pid),
      ...(place ? { 'media worker': cpuOf(place.mediaPid) } : {}),
    });
    const before = parts();
    const flowStart = performance.now();
    const results = await ingest(ids);
    const flowS = (performance.now() - flowStart) / 1000;
    const after = parts();
    const cpu = Object.fromEntries(
      Object.entries(after)
        .filter(([k, v]) => v !== undefined && before[k] !== undefined)
        .map(([k, v]) => [k, (v as number) - (before[k] as number)]),
    );
    const [made] = await sys.orm.em
      .getConnection()
      .execute<{ n: string }[]>(
        `select count(*)::text as n from media_derivatives where file_id in (select jsonb_array_elements_text(?::jsonb)::uuid)`,
        [JSON.stringify(ids)],
      );
    return {
      directS,
      flowS,
      ready: results.filter((r) => r === 'ready').length,
      derivatives: Number(made?.n),
      cpu,
    } satisfies Outcome;
  }

  const report = (name: string, what: string, o: Outcome) => {
    const ratio = o.directS / o.flowS;
    const cpu = Object.entries(o.cpu).map(([k, v]) => `${k} ${v.toFixed(2)} s`);
    return `  ${name}: ${what}
    direct sharp    ${o.directS.toFixed(2)} s   ${(photos / o.directS).toFixed(2)} photos/s
    workflow        ${o.flowS.toFixed(2)} s   ${(photos / o.flowS).toFixed(2)} photos/s   (${o.ready}/${photos} ready, ${o.derivatives} derivatives stored)
    ratio           ${ratio.toFixed(2)}   ${verdict(`>= ${GOAL}`, ratio >= GOAL)}${cpu.length ? `\n    CPU (workflow)  ${cpu.join(', ')}` : ''}`;
  };

  // Shared: the media worker in this process, nothing placed.
  const media = await startBenchWorker(sys, onCleanup, {
    taskQueue: config.taskQueues.media,
    activities,
    maxConcurrentActivities: inFlight,
  });
  const shared = await compare(config, media.stopped);
  const inside = [...spent].map(([name, s]) => `${name} ${(s.ms / s.n).toFixed(0)} ms × ${s.n}`).join(', ');

  // Dedicated: the real media worker (workers/media.ts) on the last core.
  let dedicated: Outcome | undefined;
  const cores = os.availableParallelism();
  if (canPin && sys.temporalPid !== undefined) {
    const last = String(cores - 1);
    const rest = cores === 2 ? '0' : `0-${cores - 2}`;
    const mediaConfig = configFor('dedicated');
    const child = spawn('taskset', ['-c', last, process.execPath, path.join(PROJECT_ROOT, 'workers', 'media.ts')], {
      env: { ...process.env, ...env, TASK_QUEUE_MEDIA: mediaConfig.taskQueues.media },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const exited = new Promise<never>((_, reject) =>
      child.on('exit', (code, signal) => reject(new Error(`the media worker exited (${signal ?? code})`))),
    );
    exited.catch(() => {});
    onCleanup('stopping the media worker', async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited.catch(() => {});
    });
    onCleanup('placing the Temporal server and this process on every core again', async () => {
      for (const pid of [sys.temporalPid as number, process.pid]) {
        try {
          pin(pid, `0-${cores - 1}`);
        } catch {
          // the process has ended
        }
      }
    });
    pin(sys.temporalPid, rest);
    dedicated = await compare(mediaConfig, exited, { media: last, rest, mediaPid: child.pid });
  }

  console.log(`
bench/ingest: ${photos} photos of ${width}×${height} (${(bytes / 1e6).toFixed(1)} MB), ${inFlight} in flight, OCR/transcript/embeddings off
${report('shared', `everything on all ${cores} cores`, shared)}
    inside stages   ${inside}
${
  dedicated
    ? report(
        'dedicated',
        `media worker and direct sharp on core ${cores - 1}; Temporal server and core worker on the rest`,
        dedicated,
      )
    : '  dedicated: not run (needs Linux, taskset and at least 2 cores)'
}`);
  for (const o of [shared, dedicated]) {
    if (o && o.ready !== photos) throw new Error(`${photos - o.ready} photos did not end ready`);
  }
});
