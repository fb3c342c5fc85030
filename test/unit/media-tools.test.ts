import { access, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it, type Mock, vi } from 'vitest';
import { isMediaError, MediaError, shortReason, withoutControlChars } from '../../lib/media/errors.ts';
import { makeDerivatives } from '../../lib/media/images.ts';
import { ocrImage, terminateOcr } from '../../lib/media/ocr.ts';
import { pdfInfo, pdfPageTexts, renderPdfPage } from '../../lib/media/pdf.ts';
import { probe } from '../../lib/media/probe.ts';
import { SNIFF_BYTES, sniff } from '../../lib/media/sniff.ts';
import { assertMediaTools, mediaTools, run, ToolError } from '../../lib/media/tools.ts';
import { extractAudio, grabFrame } from '../../lib/media/video.ts';
import { type Fixtures, makeFixtures } from '../media-fixtures.ts';

// The media library against real files made on the spot by ffmpeg, sharp and hand-written bytes:
// good ones must come out right, and each broken one must fail as a MediaError that says why.

const MAX_PIXELS = 100_000_000;
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
const JPEG = Buffer.from([0xff, 0xd8, 0xff]);

let dir: string;
let fx: Fixtures;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sb-media-test-'));
  fx = await makeFixtures(path.join(dir, 'fixtures'));
});
afterAll(async () => {
  await terminateOcr();
  await rm(dir, { recursive: true, force: true });
});

async function head(file: string): Promise<Buffer> {
  const handle = await open(file);
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buf, 0, SNIFF_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
const sniffFile = async (file: string) => sniff(await head(file));
const probeFile = async (file: string, maxPixels = MAX_PIXELS) => probe(file, await sniffFile(file), { maxPixels });
/** The rejection of `work` (undefined if it resolved). */
const rejection = (work: Promise<unknown>) =>
  work.then(
    () => undefined,
    (err: unknown) => err,
  );
const startsWith = (body: Buffer, magic: Buffer) => body.subarray(0, magic.length).equals(magic);

describe('sniffing', () => {
  it('names the type from the content', async () => {
    expect(await sniffFile(fx.photo)).toEqual({ mime: 'image/jpeg', kind: 'image' });
    expect(await sniffFile(fx.imageWithText)).toEqual({ mime: 'image/png', kind: 'image' });
    expect(await sniffFile(fx.audio)).toEqual({ mime: 'audio/mpeg', kind: 'audio' });
    expect(await sniffFile(fx.video)).toEqual({ mime: 'video/mp4', kind: 'video' });
    expect(await sniffFile(fx.pdf)).toEqual({ mime: 'application/pdf', kind: 'pdf' });
  });

  it('believes the content, not the name', async () => {
    expect(await sniffFile(fx.wrongExtension)).toEqual({ mime: 'image/png', kind: 'image' });
  });

  it('gives the container for an audio-only MP4; the probe decides', async () => {
    expect(await sniffFile(fx.audioInMp4)).toEqual({ mime: 'video/mp4', kind: 'video' });
  });

  it('has no kind for other files', async () => {
    expect(await sniffFile(fx.zip)).toEqual({ mime: 'application/zip', kind: null });
    expect(await sniffFile(fx.notMedia)).toEqual({ mime: null, kind: null });
    expect(await sniffFile(fx.empty)).toEqual({ mime: null, kind: null });
  });
});

describe('probing good files', () => {
  it('reads image dimensions and format', async () => {
    expect(await probeFile(fx.photo)).toEqual({ kind: 'image', width: 1600, height: 1200, format: 'jpeg' });
    expect(await probeFile(fx.imageWithText)).toEqual({ kind: 'image', width: 900, height: 300, format: 'png' });
    expect(await probeFile(fx.wrongExtension)).toMatchObject({ kind: 'image', format: 'png' });
  });

  it('reports a photo upright by its EXIF orientation', async () => {
    const file = path.join(dir, 'sideways.jpg');
    await sharp({ create: { width: 400, height: 200, channels: 3, background: '#c33' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toFile(file);
    expect(await probeFile(file)).toMatchObject({ width: 200, height: 400 });
  });

  it('reads a video’s size, codecs and duration', async () => {
    const p = await probeFile(fx.video);
    expect(p).toMatchObject({ kind: 'video', width: 320, height: 240, videoCodec: 'h264', audioCodec: 'aac' });
    expect(p.hasAudio).toBe(true);
    expect(p.durationMs).toBeGreaterThan(2500);
    expect(p.durationMs).toBeLessThan(3500);
    expect(await probeFile(fx.silentVideo)).toMatchObject({ kind: 'video', hasAudio: false, audioCodec: undefined });
  });

  it('reads audio, and turns a video container without a picture into audio', async () => {
    const mp3 = await probeFile(fx.audio);
    expect(mp3).toMatchObject({ kind: 'audio', audioCodec: 'mp3', hasAudio: true });
    expect(mp3.width).toBeUndefined();
    expect(Math.abs((mp3.durationMs ?? 0) - 3000)).toBeLessThan(500);
    expect(await probeFile(fx.audioInMp4)).toMatchObject({ kind: 'audio', audioCodec: 'aac' });
  });

  it('does not take an MP3’s cover art for a video', async () => {
    const file = path.join(dir, 'with-cover.mp3');
    const args = ['-nostdin', '-v', 'error', '-i', fx.audio, '-i', fx.imageWithText, '-map', '0:a', '-map', '1:v'];
    args.push('-c', 'copy', '-id3v2_version', '3', '-disposition:v:0', 'attached_pic', file);
    await run(mediaTools().ffmpeg, args, { timeoutMs: 30_000 });
    const p = await probeFile(file);
    expect(p).toMatchObject({ kind: 'audio', audioCodec: 'mp3' });
    expect(p.width).toBeUndefined();
  });

  it('counts PDF pages and measures the first', async () => {
    expect(await probeFile(fx.pdf)).toEqual({ kind: 'pdf', pages: 1, width: 612, height: 792, format: 'pdf' });
  });
});

describe('refusing bad files', () => {
  async function refusal(file: string, maxPixels = MAX_PIXELS): Promise<MediaError> {
    const err = await rejection(probeFile(file, maxPixels));
    expect(isMediaError(err), String(err)).toBe(true);
    return err as MediaError;
  }

  it('an empty file', async () => {
    expect(await refusal(fx.empty)).toMatchObject({ code: 'empty', message: 'the file is empty' });
  });

  it('a truncated JPEG: its header passes the probe, and decoding it fails with the reason', async () => {
    expect(await probeFile(fx.truncatedJpeg)).toMatchObject({ kind: 'image', format: 'jpeg' });
    const err = await rejection(makeDerivatives(fx.truncatedJpeg, { maxPixels: MAX_PIXELS }));
    expect(err).toMatchObject({ code: 'corrupt' });
    expect((err as Error).message).toMatch(/^the image could not be decoded: .*premature end/i);
    expect((err as Error).message).not.toContain(dir);
  });

  it('an image too big to decode, from its header alone', async () => {
    const err = await refusal(fx.hugeImage);
    expect(err.code).toBe('too_large');
    expect(err.message).toBe('the image is 100000×100000 (10000 MP); the limit is 100 MP');
    expect((await refusal(fx.photo, 1_000_000)).code).toBe('too_large');
  });

  it('a video whose frames are over the pixel limit', async () => {
    const err = await refusal(fx.video, 320 * 240 - 1);
    expect(err.code).toBe('too_large');
    expect(err.message).toContain('the video is 320×240');
  });

  it('files that are not media', async () => {
    const text = await refusal(fx.notMedia);
    expect(text.code).toBe('unsupported');
    expect(text.message).toContain('matches no known format');
    const zip = await refusal(fx.zip);
    expect(zip.code).toBe('unsupported');
    expect(zip.message).toBe('unsupported type: application/zip (the library takes images, video, audio and PDF)');
  });

  it('a HEIC photo, which sharp cannot decode', async () => {
    const file = path.join(dir, 'photo.heic');
    const ftyp = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic\0\0\0\0mif1heic')]);
    await writeFile(file, Buffer.concat([ftyp, Buffer.alloc(64)]));
    expect(await sniffFile(file)).toEqual({ mime: 'image/heic', kind: null });
    const err = await refusal(file);
    expect(err.code).toBe('unsupported');
    expect(err.message).toContain('HEIC');
  });

  it('an MP4 cut before its index', async () => {
    const file = path.join(dir, 'cut.mp4');
    const whole = await readFile(fx.silentVideo); // not faststart: the index (moov) is at the end
    await writeFile(file, whole.subarray(0, whole.length / 2));
    const err = await refusal(file);
    expect(err.code).toBe('corrupt');
    expect(err.message).toMatch(/^the MP4 is truncated or corrupt: .*moov atom not found/);
    expect(err.message).not.toContain(dir);
  });

  it('a truncated PDF', async () => {
    const file = path.join(dir, 'cut.pdf');
    await writeFile(file, (await readFile(fx.pdf)).subarray(0, 300));
    const err = await refusal(file);
    expect(err.code).toBe('corrupt');
    expect(err.message).toMatch(/^the PDF is truncated or corrupt: .*xref/);
  });
});

describe('derivatives', () => {
  it('makes a WebP thumbnail and a JPEG preview inside their bounds', async () => {
    const [thumbnail, preview] = await makeDerivatives(fx.photo, { maxPixels: MAX_PIXELS });
    expect(thumbnail).toMatchObject({ kind: 'thumbnail', mimeType: 'image/webp', width: 320, height: 240 });
    expect(preview).toMatchObject({ kind: 'preview', mimeType: 'image/jpeg', width: 1440, height: 1080 });
    expect(thumbnail!.body.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(thumbnail!.body.subarray(8, 12).toString('latin1')).toBe('WEBP');
    expect(startsWith(preview!.body, JPEG)).toBe(true);
    expect(await sharp(thumbnail!.body).metadata()).toMatchObject({ format: 'webp', width: 320, height: 240 });
    expect(await sharp(preview!.body).metadata()).toMatchObject({ format: 'jpeg', width: 1440, height: 1080 });
  });

  it('never enlarges a small image', async () => {
    const [thumbnail, preview] = await makeDerivatives(await readFile(fx.imageWithText), { maxPixels: MAX_PIXELS });
    expect(preview).toMatchObject({ width: 900, height: 300 });
    expect(thumbnail).toMatchObject({ width: 320, height: 107 });
  });

  it('turns a photo upright by its EXIF orientation', async () => {
    const sideways = await sharp({ create: { width: 400, height: 200, channels: 3, background: '#3c3' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const [thumbnail, preview] = await makeDerivatives(sideways, { maxPixels: MAX_PIXELS });
    expect(preview).toMatchObject({ width: 200, height: 400 });
    expect(thumbnail).toMatchObject({ width: 160, height: 320 });
  });

  it('refuses a corrupt or oversized image as a MediaError', async () => {
    const corrupt = await rejection(makeDerivatives(await readFile(fx.truncatedJpeg), { maxPixels: MAX_PIXELS }));
    expect(corrupt).toBeInstanceOf(MediaError);
    expect(corrupt).toMatchObject({ code: 'corrupt' });
    const huge = await rejection(makeDerivatives(fx.photo, { maxPixels: 1_000_000 }));
    expect(huge).toMatchObject({ code: 'too_large', message: 'the image is larger than the limit of 1 MP' });
  });
});

describe('video and audio', () => {
  it('grabs a frame as PNG', async () => {
    const frame = await grabFrame(fx.video, 1000);
    expect(startsWith(frame, PNG)).toBe(true);
    expect(await sharp(frame).metadata()).toMatchObject({ width: 320, height: 240 });
  });

  it('grabs a frame of a clip shorter than the time asked for', async () => {
    const clamped = await grabFrame(fx.video, 60_000, { durationMs: 3000 });
    expect(startsWith(clamped, PNG)).toBe(true);
    // Without the duration the seek finds nothing and the first frame is used.
    const fallback = await grabFrame(fx.video, 60_000);
    expect(startsWith(fallback, PNG)).toBe(true);
  });

  it('has no frame to grab from sound', async () => {
    expect(await rejection(grabFrame(fx.audio, 0))).toMatchObject({ code: 'no_content' });
  });

  it('extracts the sound as 16 kHz mono MP3 pieces with their offsets', async () => {
    const progress: number[] = [];
    const pieces = await extractAudio(fx.video, path.join(dir, 'pieces'), {
      pieceSeconds: 1,
      onProgress: (ms) => progress.push(ms),
    });
    expect(pieces.length).toBeGreaterThanOrEqual(3);
    expect(pieces[0]!.offsetMs).toBe(0);
    for (let i = 1; i < pieces.length; i++) expect(pieces[i]!.offsetMs).toBeGreaterThan(pieces[i - 1]!.offsetMs);
    expect(pieces.at(-1)!.offsetMs).toBeGreaterThanOrEqual(2000);
    expect(Math.max(...progress)).toBeGreaterThan(2000);

    const { stdout } = await run(
      mediaTools().ffprobe,
      ['-v', 'error', '-print_format', 'json', '-show_streams', pieces[0]!.path],
      { timeoutMs: 30_000 },
    );
    const [stream] = JSON.parse(stdout.toString()).streams;
    expect(stream).toMatchObject({ codec_name: 'mp3', sample_rate: '16000', channels: 1 });
    expect(await sniffFile(pieces[1]!.path)).toEqual({ mime: 'audio/mpeg', kind: 'audio' });
  });

  it('extracts at most maxSeconds, the backstop for audio whose length the probe could not tell', async () => {
    const pieces = await extractAudio(fx.video, path.join(dir, 'capped-pieces'), { pieceSeconds: 1, maxSeconds: 1.5 });
    expect(pieces.map((p) => p.offsetMs)).toEqual([0, expect.any(Number)]);
    expect(pieces[1]!.offsetMs).toBeGreaterThanOrEqual(900);
    expect(pieces[1]!.offsetMs).toBeLessThanOrEqual(1100);
    const { stdout } = await run(
      mediaTools().ffprobe,
      ['-v', 'error', '-print_format', 'json', '-show_format', pieces[1]!.path],
      { timeoutMs: 30_000 },
    );
    expect(Number(JSON.parse(stdout.toString()).format.duration)).toBeLessThan(0.8);
    expect(await rejection(extractAudio(fx.video, path.join(dir, 'no-pieces'), { maxSeconds: 0 }))).toBeInstanceOf(
      RangeError,
    );
  });

  it('says so when there is no sound to extract', async () => {
    const err = await rejection(extractAudio(fx.silentVideo, path.join(dir, 'silent-pieces')));
    expect(err).toBeInstanceOf(MediaError);
    expect(err).toMatchObject({ code: 'no_content', message: 'the file has no audio track' });
  });
});

describe('PDF', () => {
  it('reads the text layer page by page', async () => {
    const pages = await pdfPageTexts(fx.pdf);
    expect(pages).toHaveLength(1);
    expect(pages[0]).toContain('QUARTERLY 4217');
  });

  it('renders a page as PNG at the asked dpi', async () => {
    const png = await renderPdfPage(fx.pdf, 1, { maxPixels: MAX_PIXELS });
    expect(startsWith(png, PNG)).toBe(true);
    // US letter at 150 dpi
    expect(await sharp(png).metadata()).toMatchObject({ width: 1275, height: 1650 });
  });

  it('gives a scanned page an empty text, and counts pages the same way pdfInfo does', async () => {
    expect(await pdfPageTexts(fx.scannedPdf)).toEqual(['']);
    expect(await pdfInfo(fx.scannedPdf)).toEqual({ pages: 1, width: 612, height: 792 });
    // scanned, text, scanned: the trailing scanned page still counts
    const file = path.join(dir, 'three-pages.pdf');
    const pdfunite = path.join(path.dirname(mediaTools().pdftotext), 'pdfunite');
    await run(pdfunite, [fx.scannedPdf, fx.pdf, fx.scannedPdf, file], { timeoutMs: 30_000 });
    const pages = await pdfPageTexts(file);
    expect(pages).toEqual(['', expect.stringContaining('QUARTERLY 4217'), '']);
    expect((await pdfInfo(file)).pages).toBe(3);
    expect((await pdfInfo(file, { page: 3 })).pages).toBe(3);
  });

  it('removes the control characters pdftotext writes for badly mapped glyphs (PostgreSQL refuses NUL)', async () => {
    const raw = await run(mediaTools().pdftotext, ['-enc', 'UTF-8', fx.pdfWithControlChars, '-'], {
      timeoutMs: 30_000,
    });
    expect([...raw.stdout.subarray(0, 40)]).toEqual(expect.arrayContaining([0x00, 0x1b, 0x07]));
    expect(await pdfPageTexts(fx.pdfWithControlChars)).toEqual(['Invoice QUARTERLY 4217']);
  });

  it('lowers the dpi to stay under the pixel limit', async () => {
    const png = await renderPdfPage(fx.pdf, 1, { maxPixels: 1_000_000 });
    const { width, height } = await sharp(png).metadata();
    expect(width * height).toBeLessThanOrEqual(1_000_000);
    expect(width).toBeGreaterThan(500);
  });
});

describe('OCR', () => {
  it('reads the text of an image', async () => {
    const { text, confidence } = await ocrImage(await readFile(fx.imageWithText));
    expect(text).toContain('QUARTERLY');
    expect(text).toContain('4217');
    expect(confidence).toBeGreaterThan(50);
  });

  it('reads a rendered PDF page', async () => {
    const page = await renderPdfPage(fx.pdf, 1, { maxPixels: MAX_PIXELS });
    expect((await ocrImage(page)).text).toContain('QUARTERLY');
  });

  it('runs queued jobs one by one and honours an abort', async () => {
    const image = await readFile(fx.imageWithText);
    const stop = new AbortController();
    const [first, aborted, third] = await Promise.allSettled([
      ocrImage(image),
      ocrImage(image, stop.signal),
      ocrImage(image),
      Promise.resolve().then(() => stop.abort(new Error('user cancelled'))),
    ]);
    expect(first).toMatchObject({ status: 'fulfilled', value: { text: expect.stringContaining('4217') } });
    expect(aborted).toMatchObject({ status: 'rejected', reason: { message: 'user cancelled' } });
    expect(third).toMatchObject({ status: 'fulfilled', value: { text: expect.stringContaining('4217') } });
  });

  it('refuses bytes that are not an image', async () => {
    expect(await rejection(ocrImage(Buffer.from('not an image')))).toMatchObject({ code: 'corrupt' });
  });

  it('reads a scanned PDF page, which has no text layer', async () => {
    const page = await renderPdfPage(fx.scannedPdf, 1, { dpi: 200, maxPixels: MAX_PIXELS });
    const { text } = await ocrImage(page);
    expect(text).toContain('QUARTERLY');
    expect(text).toContain('4217');
  });

  it('terminateOcr refuses the queued jobs, can be repeated, and OCR starts again after', async () => {
    const image = await readFile(fx.imageWithText);
    const jobs = Promise.allSettled([ocrImage(image), ocrImage(image)]);
    await Promise.all([terminateOcr(), terminateOcr()]);
    await terminateOcr();
    expect(await jobs).toEqual([
      { status: 'rejected', reason: new Error('OCR was shut down') },
      { status: 'rejected', reason: new Error('OCR was shut down') },
    ]);
    expect((await ocrImage(image)).text).toContain('4217');
  });
});

describe('OCR worker lifecycle (tesseract.js replaced by a fake)', () => {
  type FakeWorker = { recognize: Mock; terminate: Mock };
  const fakeWorker = (text = 'QUARTERLY 4217'): FakeWorker => ({
    recognize: vi.fn(async () => ({ data: { text, confidence: 90 } })),
    terminate: vi.fn(async () => {}),
  });
  /** A fresh copy of ocr.ts (no worker, empty queue) on top of `createWorker`. */
  async function freshOcr(createWorker: Mock) {
    vi.resetModules();
    vi.doMock('tesseract.js', () => ({ createWorker, OEM: { LSTM_ONLY: 1 } }));
    return import('../../lib/media/ocr.ts');
  }
  afterEach(() => {
    vi.doUnmock('tesseract.js');
    vi.resetModules();
  });

  it('removes control characters from the text (PostgreSQL refuses NUL)', async () => {
    const ocr = await freshOcr(vi.fn(async () => fakeWorker('Total\u0000 due\u001b\r\n\n\n\nnow\u0007\fthen')));
    expect(await ocr.ocrImage(await readFile(fx.imageWithText))).toEqual({
      text: 'Total due\n\nnow then',
      confidence: 90,
    });
    await ocr.terminateOcr();
    expect(withoutControlChars('a\u0000b\r\nc\rd\te\ff\u001b\u007fg\vh')).toBe('ab\nc\nd\te\ffg\nh');
    expect(shortReason('Syntax Error\u0000: bad\r\nbad')).toBe('Syntax Error: bad; bad');
  });

  it('terminateOcr is a no-op when no worker was ever started, however often it is called', async () => {
    const createWorker = vi.fn(async () => fakeWorker());
    const ocr = await freshOcr(createWorker);
    await Promise.all([ocr.terminateOcr(), ocr.terminateOcr()]);
    await ocr.terminateOcr();
    expect(createWorker).not.toHaveBeenCalled();
  });

  it('terminates a worker once; every concurrent call waits for it', async () => {
    const worker = fakeWorker();
    let terminated = false;
    worker.terminate.mockImplementation(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      terminated = true;
    });
    const createWorker = vi.fn(async () => worker);
    const ocr = await freshOcr(createWorker);
    await ocr.ocrImage(await readFile(fx.imageWithText));
    const seen = await Promise.all([ocr.terminateOcr(), ocr.terminateOcr()].map((p) => p.then(() => terminated)));
    expect(seen).toEqual([true, true]);
    await ocr.terminateOcr();
    expect(worker.terminate).toHaveBeenCalledTimes(1);
    expect(createWorker).toHaveBeenCalledTimes(1);
  });

  it('does not hang on a worker whose start never ends', async () => {
    const started = fakeWorker();
    const createWorker = vi.fn<() => Promise<FakeWorker>>(() => new Promise(() => {}));
    const ocr = await freshOcr(createWorker);
    const image = await readFile(fx.imageWithText);
    const stuck = rejection(ocr.ocrImage(image));
    await vi.waitFor(() => expect(createWorker).toHaveBeenCalledTimes(1));
    await ocr.terminateOcr({ waitMs: 50 });
    expect(await stuck).toEqual(new Error('OCR was shut down'));
    createWorker.mockImplementation(async () => started);
    expect((await ocr.ocrImage(image)).text).toBe('QUARTERLY 4217');
    await ocr.terminateOcr();
    expect(started.terminate).toHaveBeenCalledTimes(1);
  });
});

describe('tools', () => {
  it('finds every tool', async () => {
    const tools = assertMediaTools();
    for (const file of Object.values(tools)) await access(file);
    expect(Object.keys(tools).sort()).toEqual(['ffmpeg', 'ffprobe', 'pdfinfo', 'pdftoppm', 'pdftotext']);
  });

  it('names every missing tool in one error, with how to install them', () => {
    expect(() => assertMediaTools({ ...process.env, FFMPEG_PATH: '/nonexistent/ffmpeg' })).toThrow(
      /ffmpeg \(FFMPEG_PATH=\/nonexistent\/ffmpeg.*apt-get install ffmpeg poppler-utils/,
    );
    let message = '';
    try {
      assertMediaTools({ PATH: '/nonexistent' });
    } catch (err) {
      message = (err as Error).message;
    }
    for (const tool of ['ffmpeg', 'ffprobe', 'pdftoppm', 'pdftotext', 'pdfinfo']) expect(message).toContain(tool);
  });

  it('reports a failed run with its exit code and the end of stderr', async () => {
    const script = 'process.stderr.write("x".repeat(2000) + "boom"); process.exit(3)';
    const err = await rejection(run(process.execPath, ['-e', script], { timeoutMs: 30_000 }));
    expect(err).toBeInstanceOf(ToolError);
    expect(err).toMatchObject({ failure: 'exit', exitCode: 3 });
    expect((err as ToolError).stderr).toMatch(/x+boom$/);
    expect((err as ToolError).stderr.length).toBeLessThanOrEqual(500);
  });

  it('kills a run that times out, is aborted or writes too much', async () => {
    const idle = ['-e', 'setTimeout(() => {}, 60_000)'];
    expect(await rejection(run(process.execPath, idle, { timeoutMs: 100 }))).toMatchObject({ failure: 'timeout' });
    const stop = new AbortController();
    const aborted = rejection(run(process.execPath, idle, { timeoutMs: 30_000, signal: stop.signal }));
    stop.abort(new Error('cancelled'));
    expect(await aborted).toMatchObject({ message: 'cancelled' });
    const chatty = ['-e', 'process.stdout.write("y".repeat(100_000))'];
    expect(await rejection(run(process.execPath, chatty, { timeoutMs: 30_000, maxOutputBytes: 1000 }))).toMatchObject({
      failure: 'output_limit',
    });
  });

  it('says how to install a tool that cannot be started', async () => {
    const err = await rejection(run('/nonexistent/ffmpeg', [], { timeoutMs: 1000 }));
    expect(String(err)).toMatch(/ffmpeg could not be started \(ENOENT\).*apt-get install/);
  });
});
