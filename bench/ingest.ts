// bench/ingest: thumbnails through the ingest workflow against the same sharp pipeline called
// directly, on the same photos in the same run. The workflow path is the real one: originals in
// storage, `media/<fileId>` on a core worker, its CPU stages on a media worker with the configured
// concurrency (MEDIA_CPU_CONCURRENCY, 2), derivatives stored and recorded. The direct path decodes
// and resizes with the same settings and the same number in flight, and stores nothing.
// OCR, transcription and embeddings are off, so both sides do the same image work.
//
//   npm run bench:ingest [photos] [megapixels]      (defaults 40 and 12: phone photos)
//
// Prints both throughputs and their ratio (goal >= 0.8).

import { createHash, randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createMediaActivities } from '../activities/media.ts';
import { MEDIA_STAGES } from '../db/entities/media.ts';
import { type Config, loadConfig } from '../lib/config.ts';
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

await runBench(30 * 60_000, async (onCleanup) => {
  assertMediaTools();
  const sys = await startScratchSystem(onCleanup);
  const run = randomUUID().slice(0, 8);
  const config: Config = loadConfig({
    ...process.env,
    DATABASE_URL: sys.databaseUrl,
    TEMPORAL_ADDRESS: sys.temporalAddress,
    TEMPORAL_NAMESPACE: sys.namespace,
    TASK_QUEUE_CORE: `bench-core-${run}`,
    TASK_QUEUE_MEDIA: `bench-media-${run}`,
    WORKFLOW_BUNDLE_PATH: path.join(sys.tmp, 'workflow-bundle.js'),
    STORAGE_DIR: path.join(sys.tmp, 'storage'),
    MEDIA_OCR: 'off',
    TRANSCRIPTION_PROVIDER: 'none',
    EMBEDDING_PROVIDER: 'none',
    LOG_LEVEL: 'warn',
  });
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
  await direct(warmUp);
  const directStart = performance.now();
  await direct(files);
  const directS = (performance.now() - directStart) / 1000;

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
  // Timed, to show where the workflow path's time goes.
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
  const media = await startBenchWorker(sys, onCleanup, {
    taskQueue: config.taskQueues.media,
    activities,
    maxConcurrentActivities: inFlight,
  });
  const ingest = async (ids: string[]) => {
    await Promise.all(ids.map((fileId) => startIngest(api.client, config, { fileId, workspaceId: api.workspaceId })));
    return Promise.race([
      Promise.all(ids.map((id) => api.client.workflow.getHandle(mediaWorkflowId(id)).result())),
      core.stopped,
      media.stopped,
    ]);
  };
  await ingest(await store(warmUp));
  spent.clear();
  const ids = await store(files);
  const flowStart = performance.now();
  const results = await ingest(ids);
  const flowS = (performance.now() - flowStart) / 1000;

  const [made] = await sys.orm.em
    .getConnection()
    .execute<{ n: string }[]>(
      `select count(*)::text as n from media_derivatives where file_id in (select jsonb_array_elements_text(?::jsonb)::uuid)`,
      [JSON.stringify(ids)],
    );
  const ready = results.filter((r) => r === 'ready').length;
  const ratio = directS / flowS;
  console.log(`
bench/ingest: ${photos} photos of ${width}×${height} (${(bytes / 1e6).toFixed(1)} MB), ${inFlight} in flight, OCR/transcript/embeddings off
  direct sharp    ${directS.toFixed(2)} s   ${(photos / directS).toFixed(2)} photos/s
  workflow        ${flowS.toFixed(2)} s   ${(photos / flowS).toFixed(2)} photos/s   (${ready}/${photos} ready, ${made?.n} derivatives stored)
  ratio           ${ratio.toFixed(2)}   ${verdict(`>= ${GOAL}`, ratio >= GOAL)}
  inside stages   ${[...spent].map(([name, s]) => `${name} ${(s.ms / s.n).toFixed(0)} ms × ${s.n}`).join(', ')}`);
  if (ready !== photos) throw new Error(`${photos - ready} photos did not end ready`);
});
