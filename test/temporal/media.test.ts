import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaStages } from '../../db/entities/media.ts';
import { extractAudio } from '../../lib/media/video.ts';
import { createStorage } from '../../lib/storage.ts';
import { recordedRequests, registerTranscript } from '../../simulators/platforms/openai.ts';
import { deletionWorkflowId } from '../../workflows/deletion.messages.ts';
import { mediaWorkflowId } from '../../workflows/media.messages.ts';
import {
  bearer,
  createTestSystem,
  eventually,
  recordHistory,
  simulatedSystem,
  sql,
  type TestSystem,
} from '../helpers.ts';
import { type Fixtures, makeFixtures } from '../media-fixtures.ts';
import { workspace } from './publish-support.ts';

// The media library end to end: files uploaded through the API are ingested by `media/<fileId>`
// on the real workers (the CPU stages on the media task queue), against real ffmpeg, poppler,
// sharp and tesseract, and the OpenAI simulator for transcripts and embeddings. Bad files end
// failed with their reason while the rest of the batch finishes; deletion leaves nothing behind.

const t = simulatedSystem();
let dir: string;
let fx: Fixtures;
// Different words in each recording, so a query can only match one of them.
const SPOKEN = {
  audio: 'welcome to the spring launch of the solar lantern that charges in sunlight',
  video: 'our mountain bike trail review with muddy climbs and a fast descent',
};

beforeAll(async () => {
  await t.sys.startMediaWorker();
  dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-media-test-'));
  fx = await makeFixtures(dir);
  // The simulator cannot hear: it answers for the exact bytes our audio extraction sends.
  for (const [source, text] of [
    [fx.audio, SPOKEN.audio],
    [fx.video, SPOKEN.video],
  ] as const) {
    const pieces = await extractAudio(source, mkdtempSync(path.join(dir, 'pieces-')), {});
    for (const piece of pieces) {
      const sha256 = createHash('sha256').update(readFileSync(piece.path)).digest('hex');
      registerTranscript(t.sim.platforms.get('openai')!, sha256, { text, durationS: 3 });
    }
  }
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Ws = Awaited<ReturnType<typeof workspace>>;

async function upload(
  sys: TestSystem,
  ws: Ws,
  file: string,
  name = path.basename(file),
  type = 'application/octet-stream',
) {
  const boundary = `----switchboard${randomUUID()}`;
  const payload = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: ${type}\r\n\r\n`,
    ),
    readFileSync(file),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const res = await sys.app.inject({
    method: 'POST',
    url: `/v1/workspaces/${ws.workspaceId}/media`,
    headers: { ...bearer(ws.token), 'content-type': `multipart/form-data; boundary=${boundary}` },
    payload,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

const ingested = (fileId: string) => t.client.workflow.getHandle(mediaWorkflowId(fileId)).result();

async function fileView(sys: TestSystem, ws: Ws, fileId: string) {
  const res = await sys.app.inject({
    method: 'GET',
    url: `/v1/workspaces/${ws.workspaceId}/media/${fileId}`,
    headers: bearer(ws.token),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as {
    status: string;
    kind: string | null;
    mimeType: string | null;
    failureReason: string | null;
    stages: MediaStages;
    derivatives: { kind: string; width: number; height: number }[];
  };
}

async function search(sys: TestSystem, ws: Ws, q: string, mode: string) {
  const res = await sys.app.inject({
    method: 'GET',
    url: `/v1/workspaces/${ws.workspaceId}/media/search?q=${encodeURIComponent(q)}&mode=${mode}&limit=10`,
    headers: bearer(ws.token),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().items as { fileId: string; source: string; startMs: number | null; snippet: string }[];
}

const derived = (fileId: string) =>
  sql<{ t: string; n: string }>(
    t.sys.orm,
    `select 'derivatives' as t, count(*)::text as n from media_derivatives where file_id = ?
     union all select 'texts', count(*)::text from media_texts where file_id = ?
     union all select 'chunks', count(*)::text from media_chunks where file_id = ?
     union all select 'embedded', count(*)::text from media_chunks where file_id = ? and embedding is not null
     union all select 'files', count(*)::text from media_files where id = ?`,
    [fileId, fileId, fileId, fileId, fileId],
  ).then((rows) => Object.fromEntries(rows.map((r) => [r.t, Number(r.n)])));

async function objectsUnder(prefix: string) {
  const keys: string[] = [];
  for await (const key of createStorage(t.sys.config).list(prefix)) keys.push(key);
  return keys;
}

describe('media ingest', () => {
  let ws: Ws;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    ws = await workspace(t.sys);
    // One batch, good and bad files together.
    const batch: [string, string, string?][] = [
      ['imageWithText', fx.imageWithText],
      ['photo', fx.photo],
      ['audio', fx.audio],
      ['video', fx.video],
      ['pdf', fx.pdf],
      ['scannedPdf', fx.scannedPdf],
      ['truncatedJpeg', fx.truncatedJpeg, 'holiday.jpg'],
      ['empty', fx.empty, 'empty.png'],
      ['wrongExtension', fx.wrongExtension],
      ['hugeImage', fx.hugeImage, 'huge.png'],
      ['notMedia', fx.notMedia],
      ['zip', fx.zip, 'photos.jpg'],
    ];
    for (const [label, file, name] of batch) ids[label] = await upload(t.sys, ws, file, name);
    await Promise.all(Object.values(ids).map(ingested));
  }, 240_000);

  it('stores every stage of an image: probe, thumbnail and preview, OCR text, chunks and embeddings', async () => {
    const id = ids.imageWithText!;
    const view = await fileView(t.sys, ws, id);
    expect(view).toMatchObject({ status: 'ready', kind: 'image', mimeType: 'image/png', failureReason: null });
    expect(view.stages.probe.status).toBe('done');
    expect(view.stages.thumbnails.status).toBe('done');
    expect(view.stages.ocr.status).toBe('done');
    expect(view.stages.transcript).toMatchObject({ status: 'skipped' });
    expect(view.stages.embeddings.status).toBe('done');
    expect(view.derivatives.map((d) => d.kind).sort()).toEqual(['preview', 'thumbnail']);
    const thumb = view.derivatives.find((d) => d.kind === 'thumbnail')!;
    expect(Math.max(thumb.width, thumb.height)).toBeLessThanOrEqual(320);
    const [ocr] = await sql<{ text: string; engine: string }>(
      t.sys.orm,
      `select text, engine from media_texts where file_id = ? and source = 'ocr'`,
      [id],
    );
    // OCR reads the word rendered into the picture.
    expect(ocr?.text.toUpperCase()).toContain('QUARTERLY');
    expect(ocr?.engine).toContain('tesseract');
    const counts = await derived(id);
    expect(counts.chunks).toBeGreaterThan(0);
    expect(counts.embedded).toBe(counts.chunks);
    const [dims] = await sql<{ n: number }>(
      t.sys.orm,
      'select array_length(embedding, 1) as n from media_chunks where file_id = ? limit 1',
      [id],
    );
    expect(dims?.n).toBe(t.sys.config.media.embeddings.dimensions);
    // The objects are where the rows say.
    expect((await objectsUnder(`media/${ws.workspaceId}/${id}/`)).sort()).toEqual(
      [
        `media/${ws.workspaceId}/${id}/original`,
        `media/${ws.workspaceId}/${id}/preview`,
        `media/${ws.workspaceId}/${id}/thumbnail`,
      ].sort(),
    );
  });

  it('transcribes audio and video with segment times through the OpenAI simulator, and thumbnails a video frame', async () => {
    for (const label of ['audio', 'video'] as const) {
      const id = ids[label]!;
      const view = await fileView(t.sys, ws, id);
      expect(view, label).toMatchObject({ status: 'ready', kind: label });
      expect(view.stages.transcript.status, label).toBe('done');
      expect(view.stages.thumbnails.status, label).toBe(label === 'video' ? 'done' : 'skipped');
      const [text] = await sql<{ text: string; engine: string; segments: { startMs: number; endMs: number }[] }>(
        t.sys.orm,
        `select text, engine, segments from media_texts where file_id = ? and source = 'transcript'`,
        [id],
      );
      expect(text?.text).toBe(SPOKEN[label]);
      expect(text?.engine).toBe('openai/whisper-1');
      expect(text?.segments.length).toBeGreaterThan(0);
      for (const s of text!.segments) expect(s.endMs).toBeGreaterThan(s.startMs);
      const counts = await derived(id);
      expect(counts.chunks, label).toBeGreaterThan(0);
      expect(counts.embedded, label).toBe(counts.chunks);
      const [chunk] = await sql<{ start_ms: number; end_ms: number }>(
        t.sys.orm,
        `select start_ms, end_ms from media_chunks where file_id = ? and source = 'transcript' order by seq limit 1`,
        [id],
      );
      expect(chunk?.end_ms, label).toBeGreaterThan(chunk?.start_ms ?? Number.POSITIVE_INFINITY);
      expect((await objectsUnder(`media/${ws.workspaceId}/${id}/`)).length, label).toBe(label === 'video' ? 3 : 1);
    }
    const [probe] = await sql<{ probe: { durationMs: number; width: number; videoCodec: string } }>(
      t.sys.orm,
      'select probe from media_files where id = ?',
      [ids.video],
    );
    expect(probe?.probe.width).toBe(320);
    expect(probe?.probe.videoCodec).toBe('h264');
    expect(probe?.probe.durationMs).toBeGreaterThan(2000);
    // What left for OpenAI: audio to transcribe, text to embed; never the original file's name.
    const sent = recordedRequests(t.sim.platforms.get('openai')!);
    expect(sent.some((r) => r.route === 'transcriptions')).toBe(true);
    expect(JSON.stringify(sent)).not.toContain(path.basename(fx.video));
  });

  it('reads the text of a PDF and renders its first page', async () => {
    const view = await fileView(t.sys, ws, ids.pdf!);
    expect(view).toMatchObject({ status: 'ready', kind: 'pdf', mimeType: 'application/pdf' });
    expect(view.derivatives).toHaveLength(2);
    const [ocr] = await sql<{ text: string }>(
      t.sys.orm,
      `select text from media_texts where file_id = ? and source = 'ocr'`,
      [ids.pdf],
    );
    expect(ocr?.text).toContain('QUARTERLY');
    expect(await objectsUnder(`media/${ws.workspaceId}/${ids.pdf}/`)).toHaveLength(3);
  });

  it('reads a scanned PDF page with OCR, where there is no text layer', async () => {
    const view = await fileView(t.sys, ws, ids.scannedPdf!);
    expect(view).toMatchObject({ status: 'ready', kind: 'pdf' });
    const [ocr] = await sql<{ text: string; engine: string }>(
      t.sys.orm,
      `select text, engine from media_texts where file_id = ? and source = 'ocr'`,
      [ids.scannedPdf],
    );
    expect(ocr?.text.toUpperCase()).toContain('QUARTERLY');
    expect(ocr?.engine).toContain('tesseract');
  });

  it('ends bad files failed with a clear reason, while the rest of the batch finished', async () => {
    // The probe refuses what is not media or too big from the header; the decode that makes the
    // thumbnails (or reads the text) finds a truncated image.
    const expected: Record<string, [RegExp, RegExp]> = {
      truncatedJpeg: [/^(thumbnails|ocr)$/, /could not be decoded.*premature end/i],
      empty: [/^probe$/, /empty/i],
      hugeImage: [/^probe$/, /100000×100000.*limit/i],
      notMedia: [/^probe$/, /unsupported/i],
      zip: [/^probe$/, /unsupported/i],
    };
    for (const [label, [stage, reason]] of Object.entries(expected)) {
      const view = await fileView(t.sys, ws, ids[label]!);
      expect(view.status, label).toBe('failed');
      const [failedStage, why] = (view.failureReason ?? '').split(/: (.*)/s);
      expect(failedStage, label).toMatch(stage);
      expect(why, label).toMatch(reason);
      expect(view.stages[failedStage as keyof MediaStages].status, label).toBe('failed');
      expect(await derived(ids[label]!), label).toMatchObject({ derivatives: 0, texts: 0, chunks: 0 });
    }
    // The content decides, not the name: PNG bytes named clip.mp4 are an image.
    expect(await fileView(t.sys, ws, ids.wrongExtension!)).toMatchObject({
      status: 'ready',
      kind: 'image',
      mimeType: 'image/png',
    });
    for (const label of ['imageWithText', 'photo', 'audio', 'video', 'pdf']) {
      expect((await fileView(t.sys, ws, ids[label]!)).status, label).toBe('ready');
    }
    await recordHistory(t.client, mediaWorkflowId(ids.video!), 'mediaIngestWorkflow', 'video-ready');
    await recordHistory(t.client, mediaWorkflowId(ids.truncatedJpeg!), 'mediaIngestWorkflow', 'corrupt-failed');
  });

  it('finds files by meaning, by keyword with the time range of a transcript hit, and by both', async () => {
    // The simulator's embeddings are a hashed bag of words: texts sharing words are close.
    const semantic = await search(t.sys, ws, 'lantern charging in the sunlight', 'semantic');
    expect(semantic[0]?.fileId).toBe(ids.audio);
    expect((await search(t.sys, ws, 'bike trail with climbs', 'semantic'))[0]?.fileId).toBe(ids.video);
    const keyword = await search(t.sys, ws, 'lantern', 'keyword');
    const hit = keyword.find((h) => h.fileId === ids.audio);
    expect(hit?.source).toBe('transcript');
    expect(hit?.startMs).not.toBeNull();
    expect(hit?.snippet.toLowerCase()).toContain('lantern');
    const hybrid = await search(t.sys, ws, 'quarterly 4217', 'hybrid');
    expect([ids.imageWithText, ids.pdf, ids.scannedPdf]).toContain(hybrid[0]?.fileId);
    expect(hybrid.map((h) => h.fileId)).toEqual(expect.arrayContaining([ids.imageWithText, ids.pdf, ids.scannedPdf]));
    // Another workspace finds nothing of this one.
    const other = await workspace(t.sys);
    expect(await search(t.sys, other, 'lantern', 'hybrid')).toEqual([]);
  });

  it('deletes a file through the deletion workflow, leaving no derived row and no stored object', async () => {
    const id = ids.imageWithText!;
    expect((await derived(id)).chunks).toBeGreaterThan(0);
    const res = await t.sys.app.inject({
      method: 'DELETE',
      url: `/v1/workspaces/${ws.workspaceId}/media/${id}`,
      headers: bearer(ws.token),
    });
    expect(res.statusCode, res.body).toBe(202);
    const requestId = res.json().id as string;
    expect(await t.client.workflow.getHandle(deletionWorkflowId(requestId)).result()).toBe('completed');
    expect(await derived(id)).toEqual({ derivatives: 0, texts: 0, chunks: 0, embedded: 0, files: 0 });
    expect(await objectsUnder(`media/${ws.workspaceId}/${id}/`)).toEqual([]);
    const hits = await search(t.sys, ws, 'quarterly 4217', 'hybrid');
    expect(hits.map((h) => h.fileId)).not.toContain(id);
    await recordHistory(t.client, deletionWorkflowId(requestId), 'deletionWorkflow', 'file');
  });

  it('deletes a file while a stage is running: the stage finds it gone and leaves nothing behind', async () => {
    const openai = t.sim.platforms.get('openai')!;
    // Speech to text answers slowly, so the transcript stage is still running when the file goes.
    openai.knobs.latencyMs = 3000;
    try {
      const id = await upload(t.sys, ws, fx.audio, 'slow.mp3');
      await eventually(
        async () => (await fileView(t.sys, ws, id)).stages.transcript.status === 'running' || undefined,
        30_000,
      );
      const res = await t.sys.app.inject({
        method: 'DELETE',
        url: `/v1/workspaces/${ws.workspaceId}/media/${id}`,
        headers: bearer(ws.token),
      });
      expect(res.statusCode, res.body).toBe(202);
      expect(await t.client.workflow.getHandle(deletionWorkflowId(res.json().id)).result()).toBe('completed');
      expect(await ingested(id)).toBe('deleted');
      expect(await derived(id)).toEqual({ derivatives: 0, texts: 0, chunks: 0, embedded: 0, files: 0 });
      expect(await objectsUnder(`media/${ws.workspaceId}/${id}/`)).toEqual([]);
      await recordHistory(t.client, mediaWorkflowId(id), 'mediaIngestWorkflow', 'deleted-mid-stage');
    } finally {
      openai.knobs.latencyMs = 0;
    }
  });
});

describe('media ingest without AI providers', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    // No OpenAI key: no transcription and no embeddings.
    sys = await createTestSystem();
    await sys.startWorker();
    await sys.startMediaWorker();
  }, 60_000);
  afterAll(() => sys?.close());

  it('skips the transcript with a status that says why, and keyword search still works', async () => {
    const ws = await workspace(sys);
    const id = await upload(sys, ws, fx.audio, 'standup-notes.mp3');
    expect(await t.client.workflow.getHandle(mediaWorkflowId(id)).result()).toBe('ready');
    const view = await fileView(sys, ws, id);
    expect(view.stages.transcript).toMatchObject({
      status: 'skipped',
      reason: 'no speech-to-text provider configured',
    });
    expect(view.stages.embeddings.status).toBe('skipped');
    const hits = await search(sys, ws, 'standup', 'keyword');
    expect(hits[0]).toMatchObject({ fileId: id, source: 'name' });
    const res = await sys.app.inject({
      method: 'GET',
      url: `/v1/workspaces/${ws.workspaceId}/media/search?q=standup&mode=semantic`,
      headers: bearer(ws.token),
    });
    expect(res.statusCode).toBe(409);
  });
});
