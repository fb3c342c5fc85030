import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { PlatformError } from './errors.ts';
import type { AdapterConfig, MediaRef, PlatformId } from './types.ts';

// Platforms that take uploads (YouTube, TikTok, X, LinkedIn) get the bytes from the media's URL
// here; platforms that pull (Instagram, Threads, Facebook) are given the URL itself. The URL comes
// from a user, so the worker refuses private and local addresses (it must not become a way into
// the network it runs in) and never reads more than the file said it was.

/** Largest file read into memory for an upload; larger files are refused before anything is sent. */
export const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;
const MAX_REDIRECTS = 3;

const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv6');
}

function isPrivate(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return PRIVATE.check(mapped, 'ipv4');
  return PRIVATE.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/**
 * Refuses a URL that is not http(s) or resolves to a private, loopback or link-local address. The
 * adapter's own base (the simulator, a proxy the operator set) is trusted: the simulator serves
 * media from there.
 */
async function assertReachable(platform: PlatformId, url: URL, trustedOrigin: string | undefined): Promise<void> {
  const refuse = (why: string) =>
    new PlatformError(platform, 'permanent', `${platform}: media URL ${url.host} ${why}`, { code: 'media_url' });
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse('is not http(s)');
  if (trustedOrigin && url.origin === trustedOrigin) return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    throw new PlatformError(platform, 'transient', `${platform}: media host ${url.host} does not resolve`);
  }
  if (addresses.length === 0 || addresses.some(isPrivate)) throw refuse('points at a private or local address');
}

export async function fetchMedia(platform: PlatformId, media: MediaRef, cfg: AdapterConfig): Promise<Buffer> {
  if (media.sizeBytes > MAX_UPLOAD_BYTES) {
    throw new PlatformError(
      platform,
      'permanent',
      `${platform}: ${media.url} is larger than ${MAX_UPLOAD_BYTES} bytes`,
    );
  }
  const trustedOrigin = cfg.baseUrl ? new URL(cfg.baseUrl).origin : undefined;
  let url = new URL(media.url);
  let res: Response | undefined;
  for (let hop = 0; ; hop++) {
    await assertReachable(platform, url, trustedOrigin);
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(cfg.timeoutMs * 3), redirect: 'manual' });
    } catch {
      throw new PlatformError(platform, 'transient', `${platform}: could not fetch media from ${url.host}`);
    }
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) break;
    // Every hop of a redirect is checked again.
    if (hop >= MAX_REDIRECTS)
      throw new PlatformError(platform, 'permanent', `${platform}: media URL redirects too often`);
    await res.body?.cancel();
    url = new URL(location, url);
  }
  if (!res.ok) {
    const kind = res.status >= 500 || res.status === 429 ? 'transient' : 'permanent';
    throw new PlatformError(platform, kind, `${platform}: fetching media from ${url.host} answered ${res.status}`, {
      status: res.status,
    });
  }
  // Never more than the file said it was: a host that sends more is refused, not buffered.
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body ?? []) {
    total += chunk.byteLength;
    if (total > media.sizeBytes) {
      throw new PlatformError(
        platform,
        'permanent',
        `${platform}: media from ${url.host} is larger than its declared ${media.sizeBytes} bytes`,
        {
          code: 'media_size',
        },
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
