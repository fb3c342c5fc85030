import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlatformError } from '../../platforms/errors.ts';
import { fetchMedia } from '../../platforms/media.ts';
import type { AdapterConfig, MediaRef } from '../../platforms/types.ts';

// Media URLs come from users; the worker that uploads them must not reach into its own network,
// and must not read more than the file declared.

let server: Server;
let origin: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/hop') {
      res.writeHead(302, { location: 'http://10.0.0.1/inside' });
      res.end();
      return;
    }
    const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('bytes') ?? 16);
    res.writeHead(200, { 'content-type': 'video/mp4' });
    res.end(Buffer.alloc(size, 7));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const cfg = (baseUrl: string): AdapterConfig => ({ clientId: 'c', clientSecret: 's', baseUrl, timeoutMs: 2_000 });
const ref = (url: string, sizeBytes = 16): MediaRef => ({ url, kind: 'video', mimeType: 'video/mp4', sizeBytes });
const refusal = (work: Promise<unknown>) =>
  work.then(
    () => undefined,
    (err: unknown) => err as PlatformError,
  );

describe('fetching media to upload', () => {
  it('reads a file from the adapter’s own base (the simulator)', async () => {
    const bytes = await fetchMedia('x', ref(`${origin}/f?bytes=16`), cfg(`${origin}/x`));
    expect(bytes.length).toBe(16);
  });

  it('refuses loopback, private and link-local addresses for a real platform', async () => {
    for (const url of [
      `${origin}/f`,
      'http://10.1.2.3/f',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/f',
    ]) {
      const err = await refusal(fetchMedia('x', ref(url), cfg('')));
      expect(err, url).toMatchObject({ kind: 'permanent', code: 'media_url' });
    }
  });

  it('checks every redirect again', async () => {
    const err = await refusal(fetchMedia('youtube', ref(`${origin}/hop`), cfg(`${origin}/youtube`)));
    expect(err).toMatchObject({ kind: 'permanent', code: 'media_url' });
    expect(err?.message).toContain('10.0.0.1');
  });

  it('refuses a body larger than the file declared, and other schemes', async () => {
    const big = await refusal(fetchMedia('tiktok', ref(`${origin}/f?bytes=64`, 16), cfg(`${origin}/tiktok`)));
    expect(big).toMatchObject({ kind: 'permanent', code: 'media_size' });
    const file = await refusal(fetchMedia('tiktok', ref('file:///etc/passwd'), cfg('')));
    expect(file).toMatchObject({ kind: 'permanent', code: 'media_url' });
  });
});
