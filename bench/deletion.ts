// Deletion at volume, two measurements from one run:
//  1. N file-deletion requests (default 10,000), each a `deletion/<id>` workflow over a media file
//     with its derived rows (a thumbnail, a transcript, two embedded chunks) and its two stored
//     objects: begin → purge → verify → finish, plus the deadline monitor.
//  2. One account with ROWS rows (default 10,000) across its tables, purged (grace 0) and verified.
//   node bench/deletion.ts [N] [ROWS]     (or BENCH_DELETIONS / BENCH_ACCOUNT_ROWS)
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createCoreActivities } from '../activities/index.ts';
import { loadConfig } from '../lib/config.ts';
import { createDeletionRequest } from '../lib/deletion-requests.ts';
import { createStorage } from '../lib/storage.ts';
import { buildWorkflowBundle } from '../workers/build-bundle.ts';
import { startDeletion } from '../workflows/deletion.client.ts';
import { deletionWorkflowId } from '../workflows/deletion.messages.ts';
import {
  forEachLimited,
  intSetting,
  percentile,
  runBench,
  startBenchWorker,
  startScratchSystem,
  verdict,
} from './harness.ts';

const GOAL_REQUESTS_S = 300;
const GOAL_ACCOUNT_S = 30;
const START_CONCURRENCY = 50;
const n = intSetting('BENCH_DELETIONS', process.argv[2], 10_000, 1, 50_000);
const rows = intSetting('BENCH_ACCOUNT_ROWS', process.argv[3], 10_000, 10, 1_000_000);
const limitMs = (180 + n * 0.1 + rows / 500) * 1000;

await runBench(limitMs, async (onCleanup) => {
  console.error(`setting up (scratch database, Temporal dev server, bundle, worker) for ${n} requests…`);
  const sys = await startScratchSystem(onCleanup);
  const bundlePath = await buildWorkflowBundle(path.join(sys.tmp, 'workflow-bundle.js'));
  const taskQueue = `bench-core-${randomUUID()}`;
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: sys.databaseUrl,
    TEMPORAL_ADDRESS: sys.temporalAddress,
    TEMPORAL_NAMESPACE: sys.namespace,
    TASK_QUEUE_CORE: taskQueue,
    DELETION_GRACE_SECONDS: '0',
    STORAGE_DIR: path.join(sys.tmp, 'storage'),
    LOG_LEVEL: 'warn',
  });
  const storage = createStorage(config);

  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await Connection.connect({ address: sys.temporalAddress });
  onCleanup('closing the client connection', () => connection.close());
  const client = new Client({ connection, namespace: sys.namespace });
  const { stopped: workerStopped } = await startBenchWorker(sys, onCleanup, {
    bundlePath,
    taskQueue,
    activities: createCoreActivities({ orm: sys.orm, config, temporal: client }),
  });
  const db = sys.orm.em.getConnection();

  // 1. Subjects with derived rows, inserted directly (the API is not under test).
  const workspaceId = randomUUID();
  await db.execute(`insert into workspaces (id, name, created_at, updated_at) values (?, 'Bench', now(), now())`, [
    workspaceId,
  ]);
  const ids = Array.from({ length: n }, () => randomUUID());
  const prefixOf = (fileId: string) => `media/${workspaceId}/${fileId}/`;
  await forEachLimited(ids, 20, async (fileId) => {
    await storage.put(`${prefixOf(fileId)}original`, Buffer.from(`original ${fileId}`));
    await storage.put(`${prefixOf(fileId)}thumbnail`, Buffer.from(`thumbnail ${fileId}`));
  });
  for (let i = 0; i < ids.length; i += 1000) {
    // A PostgreSQL array literal: the driver would spread a JS array into a parameter list.
    const chunk = `{${ids.slice(i, i + 1000).join(',')}}`;
    await db.execute(
      `insert into media_files (id, workspace_id, name, size_bytes, sha256, storage_key, mime_type, kind, status, stages, created_at, updated_at)
       select id, ?, 'clip.mp4', 20, md5(id::text) || md5(id::text), 'media/' || ? || '/' || id || '/original',
              'video/mp4', 'video', 'ready', '{}', now(), now()
         from unnest(?::uuid[]) as id`,
      [workspaceId, workspaceId, chunk],
    );
    await db.execute(
      `insert into media_derivatives (id, file_id, workspace_id, kind, storage_key, mime_type, width, height, size_bytes, created_at)
       select gen_random_uuid(), id, ?, 'thumbnail', 'media/' || ? || '/' || id || '/thumbnail', 'image/webp', 32, 32, 10, now()
         from unnest(?::uuid[]) as id`,
      [workspaceId, workspaceId, chunk],
    );
    await db.execute(
      `insert into media_texts (id, file_id, workspace_id, source, engine, text, segments, created_at)
       select gen_random_uuid(), id, ?, 'transcript', 'openai/whisper-1', 'hello there', '[]', now()
         from unnest(?::uuid[]) as id`,
      [workspaceId, chunk],
    );
    await db.execute(
      `insert into media_chunks (file_id, workspace_id, source, seq, text, model, embedding)
       select id, ?, 'transcript', seq, 'hello there', 'text-embedding-3-small/512', '{0.6,0.8}'
         from unnest(?::uuid[]) as id, generate_series(0, 1) as seq`,
      [workspaceId, chunk],
    );
  }
  const derived = n * 4;

  console.error(`running ${n} deletion requests…`);
  // Completion is read from PostgreSQL, not by long-polling 10,000 workflow results at once (the
  // server caps concurrent polls); latency is the stored received → completed time.
  const t0Wall = new Date();
  const t0 = performance.now();
  await forEachLimited(ids, START_CONCURRENCY, async (fileId) => {
    const { request } = await createDeletionRequest(
      sys.orm.em.fork(),
      { kind: 'file', subjectId: fileId, workspaceId, requestedBy: null, channel: 'operator' },
      config.privacy,
    );
    await startDeletion(client, config, request);
  });
  const waitForAll = async () => {
    for (;;) {
      const [row] = await db.execute<{ open: string }[]>(
        `select count(*)::text as open from deletion_requests where kind = 'file' and completed_at is null`,
      );
      if (Number(row?.open) === 0) return;
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  await Promise.race([waitForAll(), workerStopped]);
  type Stat = { status: string; ms: number; last: Date };
  const stats: Stat[] = await db.execute<Stat[]>(
    `select status, extract(epoch from completed_at - received_at) * 1000 as ms, completed_at as last
       from deletion_requests where kind = 'file'`,
  );
  const latencies = stats.map((r) => Number(r.ms)).sort((a, b) => a - b);
  const outcomes = new Map<string, number>();
  for (const r of stats) outcomes.set(r.status, (outcomes.get(r.status) ?? 0) + 1);
  const lastDone = Math.max(...stats.map((r) => new Date(r.last).getTime()));
  const requestsS = (lastDone - t0Wall.getTime()) / 1000;
  console.error(`starts took ${((performance.now() - t0) / 1000).toFixed(1)} s of it`);
  const [left] = await db.execute<{ n: string }[]>(
    `select ((select count(*) from media_files where workspace_id = ?) + (select count(*) from media_derivatives where workspace_id = ?)
       + (select count(*) from media_texts where workspace_id = ?) + (select count(*) from media_chunks where workspace_id = ?))::text as n`,
    [workspaceId, workspaceId, workspaceId, workspaceId],
  );
  let objectsLeft = 0;
  for await (const _ of storage.list(`media/${workspaceId}/`)) objectsLeft++;

  // 2. One account with `rows` rows in its own workspace and account tables.
  const userId = randomUUID();
  const ownWorkspace = randomUUID();
  const per = Math.floor(rows / 5);
  await db.execute(`insert into users (id, email, name, created_at, updated_at) values (?, ?, 'Bench', now(), now())`, [
    userId,
    `bench-${userId}@example.com`,
  ]);
  await db.execute(`insert into workspaces (id, name, created_at, updated_at) values (?, 'Own', now(), now())`, [
    ownWorkspace,
  ]);
  await db.execute(
    `insert into memberships (id, workspace_id, user_id, role, created_at) values (gen_random_uuid(), ?, ?, 'owner', now())`,
    [ownWorkspace, userId],
  );
  await db.execute(
    `insert into request_logs (at, request_id, ip, method, path, status, duration_ms, user_id)
     select now(), g::text, '127.0.0.1', 'GET', '/v1/x', 200, 1, ? from generate_series(1, ?) g`,
    [userId, per * 2],
  );
  await db.execute(
    `insert into sessions (id, user_id, token_hash, created_at, expires_at)
     select gen_random_uuid(), ?, md5(random()::text) || md5(random()::text), now(), now() from generate_series(1, ?)`,
    [userId, per],
  );
  await db.execute(
    `insert into api_tokens (id, user_id, name, token_hash, hint, created_at)
     select gen_random_uuid(), ?, 't', md5(random()::text) || md5(random()::text), 'sbt_', now() from generate_series(1, ?)`,
    [userId, per],
  );
  await db.execute(
    `insert into notices (id, workspace_id, kind, message, created_at)
     select gen_random_uuid(), ?, 'bench', 'm', now() from generate_series(1, ?)`,
    [ownWorkspace, rows - per * 4 - 3],
  );
  console.error(`deleting one account with ${rows} rows…`);
  const a0 = performance.now();
  const { request } = await createDeletionRequest(
    sys.orm.em.fork(),
    { kind: 'account', subjectId: userId, workspaceId: null, requestedBy: userId, channel: 'api' },
    config.privacy,
  );
  await startDeletion(client, config, request);
  const accountStatus = await Promise.race([
    client.workflow.getHandle(deletionWorkflowId(request.id)).result(),
    workerStopped,
  ]);
  const accountS = (performance.now() - a0) / 1000;
  const [accountLeft] = await db.execute<{ n: string }[]>(
    `select ((select count(*) from request_logs where user_id = ?) + (select count(*) from sessions where user_id = ?)
       + (select count(*) from api_tokens where user_id = ?) + (select count(*) from notices where workspace_id = ?)
       + (select count(*) from users where id = ?))::text as n`,
    [userId, userId, userId, ownWorkspace, userId],
  );

  const ms = (v: number) => `${Math.round(v)} ms`;
  console.log('deletion: requests with derived rows, and one large account');
  console.log(
    `  requests       ${n} files with ${derived} derived rows and ${n * 2} stored objects (at most ${START_CONCURRENCY} starts in flight)`,
  );
  console.log(
    `  total          ${requestsS.toFixed(1)} s  (${(n / requestsS).toFixed(1)} requests/s)   ${verdict(`<= ${GOAL_REQUESTS_S} s`, requestsS <= GOAL_REQUESTS_S)}`,
  );
  console.log(
    `  per request    p50 ${ms(percentile(latencies, 0.5))}, p99 ${ms(percentile(latencies, 0.99))}  (request stored → workflow done)`,
  );
  console.log(
    `  outcomes       ${[...outcomes].map(([k, v]) => `${v} ${k}`).join(', ')}; rows left ${left?.n}, objects left ${objectsLeft}`,
  );
  console.log(
    `  account        ${rows} rows deleted in ${accountS.toFixed(1)} s (${accountStatus})   ${verdict(`<= ${GOAL_ACCOUNT_S} s`, accountS <= GOAL_ACCOUNT_S)}; rows left ${accountLeft?.n}`,
  );
  if (
    Number(left?.n) !== 0 ||
    objectsLeft !== 0 ||
    Number(accountLeft?.n) !== 0 ||
    (outcomes.get('completed') ?? 0) !== n
  )
    process.exitCode = 1;
});
