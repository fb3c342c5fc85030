import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { MikroORM } from '@mikro-orm/core';
import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  MEDIA_STAGES,
  type MediaKind,
  type MediaProbe,
  type MediaStage,
  type MediaStages,
  type StageState,
  type TextSegment,
  type TextSource,
} from '../db/entities/media.ts';
import { type EmbeddingProvider, type LaterStage, planStages, type TranscriptionProvider } from '../domain/media.ts';
import { defaultPolicy } from '../domain/policy.ts';
import { createEmbeddingProvider, createTranscriptionProvider, isInputRejection, retryAfterMs } from '../lib/ai.ts';
import type { Config } from '../lib/config.ts';
import { chunkSegments } from '../lib/media/chunking.ts';
import { isMediaError, withoutControlChars } from '../lib/media/errors.ts';
import { makeDerivatives } from '../lib/media/images.ts';
import { ocrImage } from '../lib/media/ocr.ts';
import { pdfPageTexts, renderPdfPage } from '../lib/media/pdf.ts';
import { probe } from '../lib/media/probe.ts';
import { SNIFF_BYTES, sniff } from '../lib/media/sniff.ts';
import { extractAudio, grabFrame } from '../lib/media/video.ts';
import { jsonList, type Sql, sqlOf } from '../lib/sql.ts';
import { createStorage, type ObjectStorage } from '../lib/storage.ts';
import type { StageOutcome } from '../workflows/media.messages.ts';
import { beating } from './heartbeat.ts';

// The ingest stages of `media/<fileId>`. Each reads the original (in place, or a private copy) and
// records its result and its status in one transaction that first locks the file row: a file
// deleted meanwhile is "gone", and whatever the stage put into storage is removed again, so a
// deletion never races a stage into an orphan. A bad file is a result, not an error: the stage
// records the reason and the file fails; passing troubles (a timeout, an OpenAI 5xx, a wrong API
// key) throw, and Temporal retries the stage.

export interface MediaDeps {
  orm: MikroORM;
  config: Config;
  storage?: ObjectStorage;
  /** null: no provider (the stage is skipped); undefined: from the configuration. */
  transcription?: TranscriptionProvider | null;
  embeddings?: EmbeddingProvider | null;
}

interface FileRef {
  fileId: string;
  workspaceId: string;
}

interface FileRow {
  id: string;
  workspace_id: string;
  storage_key: string;
  kind: MediaKind | null;
  probe: MediaProbe | null;
}

/** How a stage ended, and what it writes in the same transaction as its status. */
interface StageEnd {
  state: StageState;
  write?: (sql: Sql) => Promise<void>;
  /** A failed stage fails the file unless this is false (a provider refused, the file is still usable). */
  failsFile?: boolean;
}

/** Who refused a file when a provider refused its content (their own words may name the account). */
const REFUSED_BY: Partial<Record<MediaStage, string>> = {
  transcript: 'the speech-to-text provider refused the audio',
  embeddings: 'the embedding provider refused the text',
};

/** Stages without which a file has nothing to show: when they cannot finish, the file fails. */
const ESSENTIAL: MediaStage[] = ['probe', 'thumbnails'];

const policy = defaultPolicy.media;
const prefixOf = (f: FileRef) => `media/${f.workspaceId}/${f.fileId}/`;
const stageState = (status: StageState['status'], reason?: string): StageState => ({
  status,
  ...(reason ? { reason: reason.slice(0, 300) } : {}),
  at: new Date().toISOString(),
});
/** PostgreSQL text holds no NUL: every extracted text (a transcript too) goes through the one filter. */
const clean = (text: string) => withoutControlChars(text).trim();

/** Where stages keep private copies and audio pieces; emptied when a media worker starts. */
export const mediaWorkDir = (config: Config) => path.join(config.dataDir, 'tmp', 'media');

export function createMediaActivities(deps: MediaDeps) {
  const { orm, config } = deps;
  const storage = deps.storage ?? createStorage(config);
  const transcription =
    deps.transcription === null ? undefined : (deps.transcription ?? createTranscriptionProvider(config));
  const embeddings = deps.embeddings === null ? undefined : (deps.embeddings ?? createEmbeddingProvider(config));
  const limits = { maxPixels: config.media.maxPixels };
  const heartbeat = () => Context.current().heartbeat();
  const signal = () => Context.current().cancellationSignal;

  /** Marks the stage running and reads the file in one statement (the update locks the row). */
  async function startStage(fileId: string, stage: MediaStage): Promise<FileRow | undefined> {
    const [row] = await sqlOf(orm.em.fork()).execute<FileRow[]>(
      `update media_files set stages = jsonb_set(stages, ?::text[], ?::jsonb), updated_at = now() where id = ?
       returning id, workspace_id, storage_key, kind, probe`,
      [`{${stage}}`, JSON.stringify(stageState('running')), fileId],
    );
    return row;
  }

  /**
   * Runs `write` in a transaction holding the file row; when the row is gone, removes the
   * file's objects instead (a stage that stored something for a deleted file) and says so.
   */
  async function whileFileExists(ref: FileRef, write: (sql: Sql) => Promise<void>): Promise<boolean> {
    const gone = await orm.em.fork().transactional(async (tx) => {
      const sql = sqlOf(tx);
      const [row] = await sql.execute<{ id: string }[]>('select id from media_files where id = ? for update', [
        ref.fileId,
      ]);
      if (!row) return true;
      await write(sql);
      return false;
    });
    if (gone) await storage.deletePrefix(prefixOf(ref));
    return !gone;
  }

  async function setStage(sql: Sql, fileId: string, stage: MediaStage, state: StageState): Promise<void> {
    await sql.execute(
      `update media_files set stages = jsonb_set(stages, ?::text[], ?::jsonb), updated_at = now() where id = ?`,
      [`{${stage}}`, JSON.stringify(state), fileId],
      'run',
    );
  }

  /** Records a stage's end with `write`'s rows; a failure of the file's content fails the file. */
  async function endStage(ref: FileRef, stage: MediaStage, end: StageEnd): Promise<StageOutcome> {
    const kept = await whileFileExists(ref, async (sql) => {
      await end.write?.(sql);
      await setStage(sql, ref.fileId, stage, end.state);
      if (end.state.status === 'failed' && end.failsFile !== false) {
        await sql.execute(
          `update media_files set status = 'failed', failure_reason = coalesce(failure_reason, ?) where id = ?`,
          [`${stage}: ${end.state.reason ?? 'failed'}`, ref.fileId],
          'run',
        );
      }
    });
    return kept ? (end.state.status as StageOutcome) : 'gone';
  }

  /** The original as a file for the duration of `fn`, with a private work folder beside it. */
  async function withOriginal<T>(file: FileRow, fn: (filePath: string, dir: string) => Promise<T>): Promise<T> {
    const root = mediaWorkDir(config);
    await mkdir(root, { recursive: true });
    const dir = await mkdtemp(path.join(root, `${file.id}-`));
    try {
      // Read in place where the storage allows it (local files); otherwise a private copy.
      let filePath = await storage.localPath?.(file.storage_key);
      if (!filePath) {
        filePath = path.join(dir, 'original');
        await pipeline(await storage.get(file.storage_key), createWriteStream(filePath));
      }
      return await fn(filePath, dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * Runs a stage's work and records its end with the work's writes in one transaction. A bad file
   * (MediaError), or a provider refusing its content, ends the stage failed with the reason;
   * anything else is thrown for Temporal to retry, after the provider's Retry-After if it gave one.
   */
  async function stage(
    ref: FileRef,
    name: MediaStage,
    work: (file: FileRow) => Promise<StageEnd>,
  ): Promise<StageOutcome> {
    const file = await startStage(ref.fileId, name);
    if (!file) {
      await storage.deletePrefix(prefixOf(ref));
      return 'gone';
    }
    let end: StageEnd;
    try {
      end = await beating(() => work(file));
    } catch (err) {
      if (isMediaError(err)) end = { state: stageState('failed', err.message) };
      else if (REFUSED_BY[name] && isInputRejection(err)) {
        end = { state: stageState('failed', REFUSED_BY[name]), failsFile: false };
      } else {
        const wait = retryAfterMs(err);
        if (wait === undefined) throw err;
        throw ApplicationFailure.create({ message: (err as Error).message, nextRetryDelay: wait });
      }
    }
    return endStage(ref, name, end);
  }

  /** The upsert of a stage's extracted text, for its closing transaction. */
  const textWrite =
    (ref: FileRef, source: TextSource, engine: string, language: string | null, segments: TextSegment[]) =>
    async (sql: Sql) => {
      const kept = segments.map((s) => ({ ...s, text: clean(s.text) })).filter((s) => s.text);
      await sql.execute(
        `insert into media_texts (id, file_id, workspace_id, source, engine, language, text, segments, created_at)
         values (gen_random_uuid(), ?, ?, ?, ?, ?, ?, ?::jsonb, now())
         on conflict (file_id, source) do update set engine = excluded.engine, language = excluded.language,
           text = excluded.text, segments = excluded.segments, created_at = excluded.created_at`,
        [
          ref.fileId,
          ref.workspaceId,
          source,
          engine,
          language,
          kept.map((s) => s.text).join(source === 'ocr' ? '\n\n' : ' '),
          JSON.stringify(kept),
        ],
        'run',
      );
    };

  return {
    /**
     * Sniffs the stored bytes and probes them: kind, dimensions, duration, codecs, pages. It also
     * plans the rest: the stages this file needs on this configuration; the others are recorded
     * skipped with the reason in the same transaction.
     */
    async probeMedia(ref: FileRef): Promise<{ outcome: StageOutcome; plan: LaterStage[] }> {
      let run: LaterStage[] = [];
      const outcome = await stage(ref, 'probe', (file) =>
        withOriginal(file, async (filePath) => {
          const handle = await open(filePath, 'r');
          const head = Buffer.alloc(SNIFF_BYTES);
          const { bytesRead } = await handle.read(head, 0, SNIFF_BYTES, 0).finally(() => handle.close());
          const sniffed = await sniff(head.subarray(0, bytesRead));
          // The sniffed type is kept even when the probe refuses the file, so the user sees what it was.
          const keepType = async (sql: Sql) => {
            await sql.execute(
              'update media_files set mime_type = coalesce(?, mime_type) where id = ?',
              [sniffed.mime, ref.fileId],
              'run',
            );
          };
          let found: MediaProbe;
          try {
            found = await probe(filePath, sniffed, { ...limits, timeoutMs: 60_000, signal: signal() });
          } catch (err) {
            if (!isMediaError(err)) throw err;
            return { state: stageState('failed', err.message), write: keepType };
          }
          const plan = planStages(found.kind, Boolean(found.hasAudio), {
            ocr: config.media.ocr,
            transcription: Boolean(transcription),
            durationMs: found.durationMs,
            maxTranscriptMs: policy.maxTranscriptMs,
          });
          run = plan.run;
          return {
            state: stageState('done'),
            write: async (sql) => {
              await keepType(sql);
              await sql.execute(
                'update media_files set kind = ?, probe = ?::jsonb where id = ?',
                [found.kind, JSON.stringify(found), ref.fileId],
                'run',
              );
              for (const skip of plan.skip)
                await setStage(sql, ref.fileId, skip.stage, stageState('skipped', skip.reason));
            },
          };
        }),
      );
      return { outcome, plan: outcome === 'done' ? run : [] };
    },

    /** A WebP thumbnail and a JPEG preview: of the image, a frame of the video, page 1 of a PDF. */
    async makeThumbnails(ref: FileRef): Promise<StageOutcome> {
      return stage(ref, 'thumbnails', (file) =>
        withOriginal(file, async (filePath) => {
          let source: string | Buffer = filePath;
          if (file.kind === 'video') {
            // A second in (or a tenth of a short clip): past a fade-in, still representative.
            const durationMs = file.probe?.durationMs;
            source = await grabFrame(filePath, Math.min(1000, Math.floor((durationMs ?? 0) / 10)), {
              signal: signal(),
              durationMs,
            });
          } else if (file.kind === 'pdf') {
            source = await renderPdfPage(filePath, 1, { dpi: 100, maxPixels: limits.maxPixels, signal: signal() });
          }
          const made = await makeDerivatives(source, limits);
          // Side by side: each put waits for its fsync, not for the other's.
          const rows = await Promise.all(
            made.map(async (d) => {
              const key = `${prefixOf(ref)}${d.kind}`;
              await storage.put(key, d.body, { contentType: d.mimeType });
              return { kind: d.kind, key, mime: d.mimeType, width: d.width, height: d.height, size: d.body.length };
            }),
          );
          return {
            state: stageState('done'),
            write: async (sql) => {
              await sql.execute(
                `insert into media_derivatives (id, file_id, workspace_id, kind, storage_key, mime_type, width, height, size_bytes, created_at)
                 select gen_random_uuid(), ?, ?, r.kind, r.key, r.mime, r.width, r.height, r.size, now()
                   from jsonb_to_recordset(?::jsonb) as r(kind text, key text, mime text, width int, height int, size int)
                 on conflict (file_id, kind) do update set storage_key = excluded.storage_key, mime_type = excluded.mime_type,
                   width = excluded.width, height = excluded.height, size_bytes = excluded.size_bytes, created_at = excluded.created_at`,
                [ref.fileId, ref.workspaceId, jsonList(rows)],
                'run',
              );
              await sql.execute(
                `update media_files set derived_bytes = (select coalesce(sum(size_bytes), 0) from media_derivatives where file_id = ?) where id = ?`,
                [ref.fileId, ref.fileId],
                'run',
              );
            },
          };
        }),
      );
    },

    /**
     * Text in images and PDFs: a PDF's own text layer where it has one, OCR of the page where not
     * (at most policy.maxOcrPages scanned pages, and not at all with MEDIA_OCR off).
     */
    async readText(ref: FileRef): Promise<StageOutcome> {
      return stage(ref, 'ocr', (file) =>
        withOriginal(file, async (filePath) => {
          const segments: TextSegment[] = [];
          const engines = new Set<string>();
          let note: string | undefined;
          if (file.kind === 'image') {
            segments.push({ text: (await ocrImage(await readFile(filePath), signal())).text, page: 1 });
            engines.add('tesseract.js/eng');
          } else {
            let scanned = 0;
            for (const [i, layer] of (await pdfPageTexts(filePath, { signal: signal() })).entries()) {
              heartbeat();
              let text = layer.trim();
              if (text.length >= 20 || !config.media.ocr) engines.add('pdftotext');
              else if (scanned >= policy.maxOcrPages)
                note = `pages after ${policy.maxOcrPages} scanned ones were not read`;
              else {
                scanned++;
                const png = await renderPdfPage(filePath, i + 1, {
                  dpi: 200,
                  maxPixels: limits.maxPixels,
                  signal: signal(),
                });
                text = (await ocrImage(png, signal())).text;
                engines.add('tesseract.js/eng');
              }
              segments.push({ text, page: i + 1 });
            }
          }
          if (!segments.some((s) => clean(s.text))) return { state: stageState('done', 'no text found') };
          return {
            state: stageState('done', note),
            write: textWrite(ref, 'ocr', [...engines].join('+'), 'en', segments),
          };
        }),
      );
    },

    /** Speech to text with segment times, piece by piece (the provider takes at most 25 MB at once). */
    async transcribe(ref: FileRef): Promise<StageOutcome> {
      return stage(ref, 'transcript', async (file) => {
        // The probe plans no transcript without a provider; this worker may be configured otherwise.
        if (!transcription) return { state: stageState('skipped', 'no speech-to-text provider configured') };
        return withOriginal(file, async (filePath, dir) => {
          // The probe refuses recordings over the limit; this holds for one whose length it could not tell.
          const pieces = await extractAudio(filePath, dir, {
            signal: signal(),
            maxSeconds: policy.maxTranscriptMs / 1000,
          });
          const segments: TextSegment[] = [];
          let language: string | null = null;
          for (const piece of pieces) {
            heartbeat();
            const part = await transcription.transcribe(piece.path, signal());
            language ??= part.language;
            for (const s of part.segments) {
              segments.push({ text: s.text, startMs: s.startMs + piece.offsetMs, endMs: s.endMs + piece.offsetMs });
            }
          }
          return {
            state: stageState('done', segments.length ? undefined : 'no speech found'),
            write: textWrite(ref, 'transcript', transcription.engine, language, segments),
          };
        });
      });
    },

    /**
     * Cuts the transcript and OCR text into chunks (keyword search reads them at once) and embeds
     * them for semantic search. Chunks are replaced whole, so a retried stage never duplicates.
     * Without an embedding provider the chunks are kept for keyword search and the stage is skipped.
     */
    async indexText(ref: FileRef): Promise<StageOutcome> {
      return stage(ref, 'embeddings', async () => {
        const texts = await sqlOf(orm.em.fork()).execute<{ source: TextSource; segments: TextSegment[] }[]>(
          'select source, segments from media_texts where file_id = ? order by source',
          [ref.fileId],
        );
        const chunks = texts.flatMap((t) => chunkSegments(t.source, t.segments, policy.chunkChars));
        const vectors: Float32Array[] = [];
        if (embeddings) {
          for (let i = 0; i < chunks.length; i += policy.embedBatch) {
            heartbeat();
            vectors.push(...(await embeddings.embed(chunks.slice(i, i + policy.embedBatch).map((c) => c.text))));
          }
        }
        const rows = chunks.map((c, i) => ({
          source: c.source,
          seq: c.seq,
          text: c.text,
          start_ms: c.startMs,
          end_ms: c.endMs,
          page: c.page,
          model: vectors[i] ? embeddings?.model : null,
          embedding: vectors[i] ? Array.from(vectors[i]) : null,
        }));
        const state = !chunks.length
          ? stageState('skipped', 'no text to index')
          : embeddings
            ? stageState('done')
            : stageState('skipped', 'no embedding provider configured (keyword search only)');
        return {
          state,
          write: async (sql) => {
            await sql.execute('delete from media_chunks where file_id = ?', [ref.fileId], 'run');
            // In slices: one statement's parameter stays a few megabytes however long the text.
            for (let i = 0; i < rows.length; i += policy.chunkInsertBatch) {
              await sql.execute(
                `insert into media_chunks (file_id, workspace_id, source, seq, text, start_ms, end_ms, page, model, embedding)
                 select ?, ?, r.source, r.seq, r.text, r.start_ms, r.end_ms, r.page, r.model, r.embedding
                   from jsonb_to_recordset(?::jsonb)
                     as r(source text, seq int, text text, start_ms int, end_ms int, page int, model text, embedding real[])`,
                [ref.fileId, ref.workspaceId, jsonList(rows.slice(i, i + policy.chunkInsertBatch))],
                'run',
              );
            }
          },
        };
      });
    },

    /**
     * A stage whose retries ran out (a local activity): recorded as failed with the last error.
     * The file fails only when the stage was essential; without a transcript or embeddings a file
     * is still usable, and the stage says what is missing.
     */
    async failStage(args: FileRef & { stage: MediaStage; reason: string }): Promise<StageOutcome> {
      return endStage(args, args.stage, {
        state: stageState('failed', args.reason),
        failsFile: ESSENTIAL.includes(args.stage),
      });
    },

    /** The end of ingest (a local activity): ready unless the file failed. */
    async finishIngest(ref: FileRef): Promise<'ready' | 'failed' | 'gone'> {
      let status: 'ready' | 'failed' = 'ready';
      const kept = await whileFileExists(ref, async (sql) => {
        const [row] = await sql.execute<{ status: string; stages: MediaStages; probe: MediaProbe | null }[]>(
          'select status, stages, probe from media_files where id = ?',
          [ref.fileId],
        );
        if (!row) return;
        // Left pending only when the file could not be read, or a stage failed before its turn.
        const stages = { ...row.stages };
        for (const name of MEDIA_STAGES) {
          if (stages[name].status === 'pending' || stages[name].status === 'running') {
            stages[name] = stageState('skipped', row.probe ? 'not reached' : 'the file could not be read');
          }
        }
        status = row.status === 'failed' ? 'failed' : 'ready';
        await sql.execute(
          `update media_files set stages = ?::jsonb, status = ?, ready_at = case when ? = 'ready' then now() end, updated_at = now()
           where id = ?`,
          [JSON.stringify(stages), status, status, ref.fileId],
          'run',
        );
      });
      return kept ? status : 'gone';
    },
  };
}

export type MediaActivities = ReturnType<typeof createMediaActivities>;
