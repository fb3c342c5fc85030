import { PlatformError } from './errors.ts';
import type { MediaRef, PlatformId } from './types.ts';

// Platforms that take uploads (YouTube, TikTok, X, LinkedIn, Facebook video) get the bytes from the
// media's URL here; platforms that pull (Instagram, Threads) are given the URL itself. A failed
// fetch is transient: the file host may come back, and nothing was written to the platform yet.

/** Largest file read into memory for an upload; larger files are refused before anything is sent. */
export const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;

export async function fetchMedia(platform: PlatformId, media: MediaRef, timeoutMs: number): Promise<Buffer> {
  if (media.sizeBytes > MAX_UPLOAD_BYTES) {
    throw new PlatformError(
      platform,
      'permanent',
      `${platform}: ${media.url} is larger than ${MAX_UPLOAD_BYTES} bytes`,
    );
  }
  let res: Response;
  try {
    res = await fetch(media.url, { signal: AbortSignal.timeout(timeoutMs * 3), redirect: 'follow' });
  } catch {
    throw new PlatformError(platform, 'transient', `${platform}: could not fetch media ${media.url}`);
  }
  if (!res.ok) {
    const kind = res.status >= 500 || res.status === 429 ? 'transient' : 'permanent';
    throw new PlatformError(platform, kind, `${platform}: fetching media ${media.url} answered ${res.status}`, {
      status: res.status,
    });
  }
  return Buffer.from(await res.arrayBuffer());
}
