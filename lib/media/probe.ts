import { stat } from 'node:fs/promises';
import type { Metadata } from 'sharp';
import type { MediaProbe } from '../../db/entities/media.ts';
import { corruptFile, errorMessage, MediaError, shortReason, tooManyPixels } from './errors.ts';
import { sharp } from './images.ts';
import { pdfInfo } from './pdf.ts';
import { formatLabel, type Sniffed, unsupportedReason } from './sniff.ts';
import { ffmpegInput, mediaTools, refusalReason, run } from './tools.ts';

// The first ingest stage: what is this file, and is it whole? Every refusal is a MediaError whose
// message the user sees; anything else (a timeout, a tool that could not start) may pass on retry.

export interface ProbeOptions {
  /** Images and video frames with more pixels fail as too_large, before anything is decoded. */
  maxPixels: number;
  /** Per tool run (default 60 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 60_000;

export async function probe(filePath: string, sniffed: Sniffed, opts: ProbeOptions): Promise<MediaProbe> {
  const { size } = await stat(filePath);
  if (size === 0) throw new MediaError('empty', 'the file is empty');
  if (sniffed.kind === null) throw new MediaError('unsupported', unsupportedReason(sniffed.mime));
  opts.signal?.throwIfAborted();
  switch (sniffed.kind) {
    case 'image':
      return probeImage(filePath, sniffed.mime, opts);
    case 'video':
    case 'audio':
      return probeAudioVideo(filePath, sniffed.mime, opts);
    case 'pdf':
      return probePdf(filePath, opts);
  }
}

async function probeImage(filePath: string, mime: string, opts: ProbeOptions): Promise<MediaProbe> {
  const label = formatLabel(mime);
  let meta: Metadata;
  try {
    // Header only; without a pixel limit so that a huge image gets its own message below.
    meta = await sharp(filePath, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw corruptFile(label, shortReason(errorMessage(err), filePath), err);
  }
  const { width, height } = meta;
  if (width * height > opts.maxPixels) throw tooManyPixels('image', width, height, opts.maxPixels);
  // The pixels are not decoded here: the thumbnails stage decodes them once (with failOn 'error')
  // and fails a truncated or corrupt image with the reason; decoding twice would double the cost
  // of every photo.
  // Upright dimensions: an EXIF-rotated phone photo is as tall as it is shown.
  return { kind: 'image', width: meta.autoOrient.width, height: meta.autoOrient.height, format: meta.format };
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  duration?: string;
  disposition?: { attached_pic?: number };
  side_data_list?: { rotation?: number }[];
}
interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { format_name?: string; duration?: string };
}

async function probeAudioVideo(filePath: string, mime: string, opts: ProbeOptions): Promise<MediaProbe> {
  const label = formatLabel(mime);
  const input = ffmpegInput(filePath);
  let output: FfprobeOutput;
  try {
    const { stdout } = await run(
      mediaTools().ffprobe,
      [
        '-v',
        'error',
        '-protocol_whitelist',
        'file',
        '-print_format',
        'json',
        '-show_format',
        '-show_streams',
        '-i',
        input,
      ],
      { timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, signal: opts.signal, maxOutputBytes: 4 * 1024 * 1024 },
    );
    output = JSON.parse(stdout.toString('utf8')) as FfprobeOutput;
  } catch (err) {
    const reason = refusalReason(err, input);
    if (reason === undefined) throw err;
    throw corruptFile(label, reason, err);
  }

  const streams = output.streams ?? [];
  // Cover art in an MP3 or M4A is a one-picture "video" stream; it does not make the file a video.
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const audio = streams.find((s) => s.codec_type === 'audio');
  if (!video && !audio) throw corruptFile(label, 'it has no audio or video stream');

  const seconds = [output.format?.duration, ...streams.map((s) => s.duration)]
    .map(Number)
    .find((n) => Number.isFinite(n) && n > 0);
  const common = {
    durationMs: seconds === undefined ? undefined : Math.round(seconds * 1000),
    audioCodec: audio?.codec_name,
    hasAudio: audio !== undefined,
    format: output.format?.format_name,
  };
  if (!video) return { kind: 'audio', ...common };

  let { width = 0, height = 0 } = video;
  if (width * height > opts.maxPixels) throw tooManyPixels('video', width, height, opts.maxPixels);
  // Phones record sideways and store a rotation; report the frame as it is shown.
  const rotation = video.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? 0;
  if (Math.abs(rotation) % 180 === 90) [width, height] = [height, width];
  return {
    kind: 'video',
    ...common,
    width: width || undefined,
    height: height || undefined,
    videoCodec: video.codec_name,
  };
}

/** pdfinfo's numbers: page count and the first page's size in points, as shown (after /Rotate). */
async function probePdf(filePath: string, opts: ProbeOptions): Promise<MediaProbe> {
  const info = await pdfInfo(filePath, opts);
  if (info.pages < 1) throw corruptFile('PDF', 'it has no pages');
  return { kind: 'pdf', pages: info.pages, width: info.width, height: info.height, format: 'pdf' };
}
