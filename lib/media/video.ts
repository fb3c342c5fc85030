import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { MediaError } from './errors.ts';
import { ffmpegInput, mediaTools, refusalReason, run } from './tools.ts';

// ffmpeg work on audio and video files that the probe accepted: a still frame for the preview,
// and the sound as small speech-ready MP3 pieces for transcription.

const FRAME_TIMEOUT_MS = 60_000;

export interface FrameOptions {
  /** From the probe; a time past the end is moved to the middle. */
  durationMs?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * One frame as PNG, near `atMs`. A clip shorter than `atMs` gives its middle frame; when seeking
 * finds nothing (a seek past the last frame, a broken index) the first frame is used.
 */
export async function grabFrame(filePath: string, atMs: number, opts: FrameOptions = {}): Promise<Buffer> {
  const at = opts.durationMs !== undefined && atMs >= opts.durationMs ? opts.durationMs / 2 : Math.max(0, atMs);
  const frame = await frameAt(filePath, at, opts);
  if (frame.length > 0 || at === 0) return nonEmpty(frame);
  return nonEmpty(await frameAt(filePath, 0, opts));
}

function nonEmpty(frame: Buffer): Buffer {
  if (frame.length === 0) throw new MediaError('no_content', 'the video has no frame that can be decoded');
  return frame;
}

async function frameAt(filePath: string, atMs: number, opts: FrameOptions): Promise<Buffer> {
  const input = ffmpegInput(filePath);
  const args = ['-nostdin', '-v', 'error', '-protocol_whitelist', 'file'];
  // -ss before -i seeks in the container (fast) and then decodes to the exact time.
  args.push('-ss', (atMs / 1000).toFixed(3), '-i', input);
  args.push('-map', '0:v:0', '-frames:v', '1', '-f', 'image2pipe', '-vcodec', 'png', '-');
  try {
    const { stdout } = await run(mediaTools().ffmpeg, args, {
      timeoutMs: opts.timeoutMs ?? FRAME_TIMEOUT_MS,
      signal: opts.signal,
      maxOutputBytes: 512 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const reason = refusalReason(err, input);
    if (reason === undefined) throw err;
    if (/matches no streams/.test(reason))
      throw new MediaError('no_content', 'the file has no video track', { cause: err });
    throw new MediaError('corrupt', `a frame of the video could not be decoded: ${reason}`, { cause: err });
  }
}

export interface AudioPiece {
  path: string;
  /** Where the piece starts in the original file; add it to the piece's own times. */
  offsetMs: number;
}

export interface ExtractAudioOptions {
  /** Longest piece (default 600 s: ~2.4 MB, well under speech APIs' 25 MB upload limit). */
  pieceSeconds?: number;
  /** The whole run (default 30 min; decoding runs at hundreds of times real time). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called with how much of the input has been converted, for heartbeats. */
  onProgress?: (processedMs: number) => void;
  /** Converts at most this much of the sound (the rest is left out); default: all of it. */
  maxSeconds?: number;
}

/**
 * The first audio track as 16 kHz mono MP3 (~32 kbps, plenty for speech) in pieces of at most
 * `pieceSeconds`, written to `outDir` as piece-0000.mp3…, in order. Offsets come from the segment
 * muxer's own list, so they are the exact cut points, not multiples of `pieceSeconds`.
 */
export async function extractAudio(
  filePath: string,
  outDir: string,
  opts: ExtractAudioOptions = {},
): Promise<AudioPiece[]> {
  const pieceSeconds = opts.pieceSeconds ?? 600;
  if (opts.maxSeconds !== undefined && !(opts.maxSeconds > 0))
    throw new RangeError(`maxSeconds must be positive, not ${opts.maxSeconds}`);
  await mkdir(outDir, { recursive: true });
  const listPath = path.join(outDir, 'pieces.csv');
  const input = ffmpegInput(filePath);
  const args = ['-nostdin', '-v', 'error', '-protocol_whitelist', 'file', '-i', input];
  args.push('-map', '0:a:0', '-ac', '1', '-ar', '16000', '-c:a', 'libmp3lame', '-b:a', '32k');
  if (opts.maxSeconds !== undefined) args.push('-t', String(opts.maxSeconds));
  args.push('-f', 'segment', '-segment_time', String(pieceSeconds), '-reset_timestamps', '1');
  args.push('-segment_list', listPath, '-segment_list_type', 'csv');
  args.push('-progress', 'pipe:1', path.join(outDir, 'piece-%04d.mp3'));

  let pending = '';
  const onStdout = opts.onProgress
    ? (chunk: Buffer) => {
        const lines = (pending + chunk.toString('latin1')).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          // ffmpeg's "out_time_us" (and the misnamed "out_time_ms") are microseconds.
          const match = /^out_time_us=(\d+)/.exec(line);
          if (match) opts.onProgress?.(Math.floor(Number(match[1]) / 1000));
        }
      }
    : undefined;
  try {
    await run(mediaTools().ffmpeg, args, {
      timeoutMs: opts.timeoutMs ?? 30 * 60_000,
      signal: opts.signal,
      maxOutputBytes: 16 * 1024 * 1024,
      onStdout,
    });
  } catch (err) {
    const reason = refusalReason(err, input);
    if (reason === undefined) throw err;
    if (/matches no streams/.test(reason))
      throw new MediaError('no_content', 'the file has no audio track', { cause: err });
    throw new MediaError('corrupt', `the sound could not be decoded: ${reason}`, { cause: err });
  }

  // One "name,start,end" line per piece, in order.
  const list = await readFile(listPath, 'utf8');
  const pieces = list
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name = '', start = '0'] = line.split(',');
      return { path: path.join(outDir, name), offsetMs: Math.round(Number(start) * 1000) };
    });
  if (pieces.length === 0) throw new MediaError('no_content', 'the audio track is empty');
  return pieces;
}
