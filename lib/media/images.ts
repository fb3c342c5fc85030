import sharp, { type OutputInfo } from 'sharp';
import type { DerivativeKind } from '../../db/entities/media.ts';
import { errorMessage, MediaError, shortReason } from './errors.ts';

// libvips threads per image stay at 1 and the operation cache off: the ingest worker bounds how
// many images run at once, which on 2 cores beats more threads per image, and cached operations
// would only hold memory for images that never come back. Every media module takes sharp from here
// so these settings are in force wherever it is used.
sharp.cache(false);
sharp.concurrency(1);

export { sharp };

export const PREVIEW_MAX_SIDE = 1440;
export const THUMBNAIL_MAX_SIDE = 320;
const QUALITY = 80;
const TIMEOUT_SECONDS = 60;

export interface Derivative {
  kind: DerivativeKind;
  body: Buffer;
  mimeType: string;
  width: number;
  height: number;
}

/**
 * A JPEG preview (longest side ≤ 1440, never enlarged) and a WebP thumbnail (inside 320×320) of an
 * image file or encoded image (a video frame, a PDF page), upright by its EXIF orientation. The
 * source is decoded once, straight to the preview size; both outputs come from those pixels.
 */
export async function makeDerivatives(input: string | Buffer, opts: { maxPixels: number }): Promise<Derivative[]> {
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(input, { failOn: 'error', limitInputPixels: opts.maxPixels, autoOrient: true })
      .resize(PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
      .raw({ depth: 'uchar' })
      .timeout({ seconds: TIMEOUT_SECONDS })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw decodeFailure(err, opts.maxPixels, typeof input === 'string' ? input : undefined);
  }
  const { width, height, channels } = decoded.info;
  const pixels = () => sharp(decoded.data, { raw: { width, height, channels } });

  // One after the other: parallelism is the caller's to bound (see above).
  const preview = await pixels()
    .flatten({ background: '#ffffff' })
    .jpeg({ quality: QUALITY })
    .toBuffer({ resolveWithObject: true });
  const thumbnail = await pixels()
    .resize(THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: QUALITY })
    .toBuffer({ resolveWithObject: true });
  return [
    { kind: 'thumbnail', body: thumbnail.data, mimeType: 'image/webp', ...size(thumbnail.info) },
    { kind: 'preview', body: preview.data, mimeType: 'image/jpeg', ...size(preview.info) },
  ];
}

const size = (info: OutputInfo) => ({ width: info.width, height: info.height });

/** A sharp failure as a MediaError, unless it is about the machine (a timeout), which may pass. */
export function decodeFailure(err: unknown, maxPixels: number, filePath?: string): Error {
  const message = errorMessage(err);
  if (/^timeout/i.test(message)) return err instanceof Error ? err : new Error(message);
  if (/exceeds pixel limit/i.test(message))
    return new MediaError('too_large', `the image is larger than the limit of ${maxPixels / 1e6} MP`, { cause: err });
  return new MediaError('corrupt', `the image could not be decoded: ${shortReason(message, filePath)}`, { cause: err });
}
