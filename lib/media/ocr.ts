import { createRequire } from 'node:module';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createWorker, OEM, type Worker } from 'tesseract.js';
import { errorMessage, MediaError, shortReason, withoutControlChars } from './errors.ts';
import { sharp } from './images.ts';

// Offline OCR: tesseract.js with the English weights from the @tesseract.js-data/eng package, so
// nothing is fetched. One worker per process (it holds ~100 MB and takes a core while it works)
// takes one image at a time; callers queue behind it.

export interface OcrResult {
  /** Trimmed; runs of spaces collapsed, at most one blank line between paragraphs. */
  text: string;
  /** tesseract's mean word confidence, 0–100 (0 when there is no text). */
  confidence: number;
}

const LANG_PATH = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@tesseract.js-data/eng/package.json')),
  '4.0.0_best_int',
);
/** Per image; a stuck worker is thrown away. */
const OCR_TIMEOUT_MS = 120_000;
// Tesseract reads text best at ~300 dpi, i.e. letters some 30 px high; a small screenshot is scaled
// up to reach that, a big photo down so a page's worth of text stays quick.
const MIN_SHORT_SIDE = 600;
const MAX_LONG_SIDE = 4000;
/** How long a stop waits for a worker that is still starting (see dropWorker). */
const STOP_WAIT_MS = 5000;

let worker: Promise<Worker> | undefined;
/** The last worker's termination, for terminateOcr calls that find no worker left to stop. */
let dropping: Promise<void> = Promise.resolve();
let queue: Promise<unknown> = Promise.resolve();
let current: AbortController | undefined;
/** Bumped by terminateOcr: jobs queued before it are refused rather than start a new worker. */
let epoch = 0;

const shutDown = () => new Error('OCR was shut down');

/** Text in an encoded image (any format sharp reads). Jobs run one at a time, in call order. */
export function ocrImage(image: Buffer, signal?: AbortSignal): Promise<OcrResult> {
  const queuedIn = epoch;
  const job = queue.then(() => recognise(image, signal, queuedIn));
  queue = job.catch(() => undefined);
  return job;
}

/**
 * Stops OCR (shutdown, tests): the running job and those already queued reject, and the worker
 * thread is terminated; a later ocrImage starts a new one. Safe to call when no worker was ever
 * started, and again (concurrent calls wait for the same termination). A worker still starting is
 * terminated as soon as it is up, but this waits at most `waitMs` for that (a start can hang).
 */
export async function terminateOcr({ waitMs = STOP_WAIT_MS }: { waitMs?: number } = {}): Promise<void> {
  epoch++;
  current?.abort(shutDown());
  await dropWorker(waitMs);
}

async function recognise(image: Buffer, signal: AbortSignal | undefined, queuedIn: number): Promise<OcrResult> {
  if (queuedIn !== epoch) throw shutDown();
  signal?.throwIfAborted();
  const job = new AbortController();
  current = job;
  const onAbort = () => job.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(
    () => job.abort(new Error(`OCR took longer than ${OCR_TIMEOUT_MS / 1000} s`)),
    OCR_TIMEOUT_MS,
  );
  const stopped = new Promise<never>((_, reject) => {
    job.signal.addEventListener('abort', () => reject(job.signal.reason), { once: true });
  });
  let recognising = false;
  try {
    const prepared = await Promise.race([prepare(image), stopped]);
    recognising = true;
    const { data } = await Promise.race([getWorker().then((w) => w.recognize(prepared)), stopped]);
    const text = normalise(data.text);
    return { text, confidence: text ? data.confidence : 0 };
  } catch (err) {
    // The worker may still be busy with the abandoned image: replace it rather than queue behind it
    // (unless terminateOcr has dropped it already).
    if (recognising && job.signal.aborted && worker) await dropWorker(STOP_WAIT_MS);
    throw err;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    if (current === job) current = undefined;
  }
}

function getWorker(): Promise<Worker> {
  if (worker) return worker;
  const starting: Promise<Worker> = createWorker('eng', OEM.LSTM_ONLY, {
    langPath: LANG_PATH,
    gzip: true,
    cacheMethod: 'none',
    // Without a handler tesseract.js throws a failed job's error from its message listener,
    // which would crash the process; the job's promise rejects with it anyway.
    errorHandler: () => {},
  }).catch((err: unknown) => {
    if (worker === starting) worker = undefined;
    throw err;
  });
  worker = starting;
  return starting;
}

/**
 * Forgets the worker and terminates it once it has started. Waits for that at most `waitMs`:
 * tesseract.js never settles a start whose language fails to load, and a wait on it would hang
 * the queue or the shutdown.
 */
async function dropWorker(waitMs: number): Promise<void> {
  const dropped = worker;
  worker = undefined;
  if (dropped) {
    dropping = dropped
      .then((w) => w.terminate())
      .then(
        () => undefined,
        () => undefined, // a worker that failed to start has nothing to stop
      );
  }
  await Promise.race([dropping, sleep(waitMs, undefined, { ref: false })]);
}

/** Upright, greyscale, flattened onto white (transparent text), scaled to a size tesseract reads well. */
async function prepare(image: Buffer): Promise<Buffer> {
  try {
    const { autoOrient } = await sharp(image).metadata();
    const short = Math.min(autoOrient.width, autoOrient.height);
    const long = Math.max(autoOrient.width, autoOrient.height);
    const scale = Math.min(Math.max(1, MIN_SHORT_SIDE / short), MAX_LONG_SIDE / long);
    return await sharp(image, { failOn: 'error', autoOrient: true })
      .flatten({ background: '#ffffff' })
      .greyscale()
      .resize(Math.round(autoOrient.width * scale), Math.round(autoOrient.height * scale))
      .png({ compressionLevel: 1 })
      .timeout({ seconds: 60 })
      .toBuffer();
  } catch (err) {
    if (/^timeout/i.test(errorMessage(err))) throw err;
    throw new MediaError('corrupt', `the image could not be decoded for OCR: ${shortReason(errorMessage(err))}`, {
      cause: err,
    });
  }
}

function normalise(text: string): string {
  return withoutControlChars(text)
    .split('\n')
    .map((line) => line.replace(/\s+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
