import { fileTypeFromBuffer } from 'file-type';
import type { MediaKind } from '../../db/entities/media.ts';

// What a file is comes from its first bytes, never from its name or the uploader's Content-Type.
//
// The sniff sees only the container, and some containers hold either video or sound: an MP4,
// MOV, WebM, Matroska or Ogg file may carry only audio. Those sniff as 'video'; the probe
// (ffprobe's stream list) has the last word and turns a file without a real video stream
// (cover art does not count) into kind 'audio'.

/** Head bytes to pass to `sniff` (file-type's recommended minimum). */
export const SNIFF_BYTES = 4100;

export type Sniffed = { mime: string; kind: MediaKind } | { mime: string | null; kind: null };

// Only formats the probe and the derivative tools can read: sharp (libvips) for images, ffmpeg for
// sound and video, poppler for PDF. MIME strings are file-type's.
const KINDS: Record<string, MediaKind> = {
  'image/jpeg': 'image',
  'image/png': 'image',
  'image/apng': 'image',
  'image/webp': 'image',
  'image/gif': 'image',
  'image/tiff': 'image',
  'image/avif': 'image',
  'video/mp4': 'video',
  'video/x-m4v': 'video',
  'video/quicktime': 'video',
  'video/webm': 'video',
  'video/matroska': 'video',
  'video/vnd.avi': 'video',
  'video/mpeg': 'video',
  'video/3gpp': 'video',
  'video/3gpp2': 'video',
  'video/ogg': 'video',
  'audio/mpeg': 'audio',
  'audio/wav': 'audio',
  'audio/ogg': 'audio',
  'audio/ogg; codecs=opus': 'audio',
  'audio/flac': 'audio',
  'audio/mp4': 'audio',
  'audio/x-m4a': 'audio',
  'audio/aac': 'audio',
  'audio/aiff': 'audio',
  'application/pdf': 'pdf',
};

// Known formats we refuse for a reason worth telling the user.
const REFUSALS: Record<string, string> = {
  // sharp's prebuilt libvips decodes AVIF but has no HEVC decoder, so it cannot read HEIC photos.
  'image/heic': 'HEIC photos cannot be decoded here; export them as JPEG',
  'image/heif': 'HEIF photos cannot be decoded here; export them as JPEG',
  'image/bmp': 'BMP images are not supported; convert them to PNG',
};

export async function sniff(head: Uint8Array): Promise<Sniffed> {
  const found = await fileTypeFromBuffer(head);
  if (!found) return { mime: null, kind: null };
  const kind = KINDS[found.mime];
  return kind ? { mime: found.mime, kind } : { mime: found.mime, kind: null };
}

/** The user-facing reason a sniffed type is refused. */
export function unsupportedReason(mime: string | null): string {
  if (mime === null)
    return 'unsupported type: the content matches no known format (the library takes images, video, audio and PDF)';
  return `unsupported type: ${mime} (${REFUSALS[mime] ?? 'the library takes images, video, audio and PDF'})`;
}

/** "JPEG", "MP4", "MP3": how messages name a file's format. */
export function formatLabel(mime: string): string {
  const sub = (mime.split('/')[1] ?? mime).split(';')[0]!.replace(/^(x-|vnd\.)/, '');
  const names: Record<string, string> = { quicktime: 'MOV', matroska: 'MKV' };
  if (mime === 'audio/mpeg') return 'MP3';
  return names[sub] ?? sub.toUpperCase();
}
