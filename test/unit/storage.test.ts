import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import aws4 from 'aws4';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type S3Settings } from '../../lib/config.ts';
import {
  createLocalStorage,
  createS3Storage,
  createStorage,
  ObjectNotFoundError,
  type ObjectStorage,
  ObjectTooLargeError,
  S3Error,
  StorageKeyError,
  validateKey,
} from '../../lib/storage.ts';
import { S3_SIM_ACCESS_KEY, S3_SIM_BUCKET, S3_SIM_SECRET_KEY } from '../../simulators/s3.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';

const parent = mkdtempSync(path.join(os.tmpdir(), 'switchboard-storage-'));
let root: string;
let n = 0;
let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(async () => {
  await sim.close();
  rmSync(parent, { recursive: true, force: true });
});

const s3Settings = (overrides: Partial<S3Settings> = {}): S3Settings => ({
  endpoint: `${sim.url}/s3`,
  region: 'us-east-1',
  bucket: S3_SIM_BUCKET,
  accessKeyId: S3_SIM_ACCESS_KEY,
  secretAccessKey: S3_SIM_SECRET_KEY,
  pathStyle: true,
  ...overrides,
});

/** Each driver, empty for every test: a fresh folder, or the simulator's bucket after a reset. */
const DRIVERS: [string, () => ObjectStorage][] = [
  ['local', () => createLocalStorage(root)],
  [
    's3',
    () => {
      sim.reset();
      return createS3Storage(s3Settings());
    },
  ],
];

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
const all = async (it: AsyncIterable<string>) => {
  const out: string[] = [];
  for await (const k of it) out.push(k);
  return out.sort();
};
/** Every entry under the root, temporary files and folders included. */
const tree = (dir = root): string[] =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .map((p) => p.split(path.sep).join('/'))
        .sort()
    : [];

describe.each(DRIVERS)('%s object storage', (_driver, make) => {
  let storage: ObjectStorage;
  beforeEach(() => {
    root = path.join(parent, `case-${++n}`);
    storage = make();
  });

  it('stores bytes and streams, returns size and SHA-256, and reads them back', async () => {
    const put = await storage.put('inbox/ws-1/a.jpg', new TextEncoder().encode('hello'), { contentType: 'image/jpeg' });
    expect(put).toEqual({ sizeBytes: 5, sha256: sha('hello') });
    expect(await text(await storage.get('inbox/ws-1/a.jpg'))).toBe('hello');

    const chunks = ['str', 'eam', 'ed'].map((s) => Buffer.from(s));
    const streamed = await storage.put('inbox/ws-1/b.bin', Readable.from(chunks));
    expect(streamed).toEqual({ sizeBytes: 8, sha256: sha('streamed') });
    expect(await text(await storage.get('inbox/ws-1/b.bin'))).toBe('streamed');

    const info = await storage.stat('inbox/ws-1/b.bin');
    expect(info?.sizeBytes).toBe(8);
    expect(info?.modifiedAt).toBeInstanceOf(Date);
    expect(await storage.stat('inbox/ws-1/none')).toBeUndefined();
    // A folder is not an object.
    expect(await storage.stat('inbox/ws-1')).toBeUndefined();
  });

  it('uses only the viewed part of a Uint8Array', async () => {
    const big = Buffer.from('xxhelloxx');
    expect(await storage.put('k', big.subarray(2, 7))).toEqual({ sizeBytes: 5, sha256: sha('hello') });
    expect(await text(await storage.get('k'))).toBe('hello');
  });

  it('replaces an object whole', async () => {
    await storage.put('a/b', Buffer.from('first version'));
    await storage.put('a/b', Buffer.from('second'));
    expect(await text(await storage.get('a/b'))).toBe('second');
    expect(await all(storage.list(''))).toEqual(['a/b']);
  });

  it('keeps the old object visible until a replacement is complete', async () => {
    await storage.put('doc', Buffer.from('old'));
    const body = new Readable({ read() {} });
    const writing = storage.put('doc', body);
    body.push(Buffer.from('new, half'));
    await new Promise((r) => setTimeout(r, 50));
    expect(await text(await storage.get('doc'))).toBe('old');
    expect(await all(storage.list(''))).toEqual(['doc']);
    body.push(Buffer.from(' and done'));
    body.push(null);
    await expect(writing).resolves.toMatchObject({ sizeBytes: 18 });
    expect(await text(await storage.get('doc'))).toBe('new, half and done');
  });

  it('stores nothing when the body fails or is too large', async () => {
    const failing = new Readable({
      read() {
        this.push(Buffer.from('partial'));
        this.destroy(new Error('upstream reset'));
      },
    });
    await expect(storage.put('x/broken', failing)).rejects.toThrow(/upstream reset/);
    await expect(storage.put('x/huge', Buffer.alloc(2048), { maxBytes: 1024 })).rejects.toBeInstanceOf(
      ObjectTooLargeError,
    );
    await expect(
      storage.put('x/huge-stream', Readable.from([Buffer.alloc(1000), Buffer.alloc(1000)]), { maxBytes: 1024 }),
    ).rejects.toBeInstanceOf(ObjectTooLargeError);
    await expect(storage.put('x/fits', Buffer.alloc(1024), { maxBytes: 1024 })).resolves.toMatchObject({
      sizeBytes: 1024,
    });
    expect(await all(storage.list(''))).toEqual(['x/fits']);
  });

  it('rejects a missing object with ObjectNotFoundError', async () => {
    await expect(storage.get('nope')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(storage.get('nope', { start: 0, end: 1 })).rejects.toBeInstanceOf(ObjectNotFoundError);
    await storage.put('dir/file', Buffer.from('1'));
    await expect(storage.get('dir')).rejects.toBeInstanceOf(ObjectNotFoundError);
    // A path through an object is simply not there.
    await expect(storage.get('dir/file/deeper')).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await storage.stat('dir/file/deeper')).toBeUndefined();
    expect(await storage.delete('dir/file/deeper')).toBe(false);
  });

  it('reads byte ranges, clipped to the object', async () => {
    await storage.put('r', Buffer.from('0123456789'));
    const read = async (range: { start?: number; end?: number }) => text(await storage.get('r', range));
    expect(await read({ start: 2, end: 5 })).toBe('2345');
    expect(await read({ start: 7 })).toBe('789');
    expect(await read({ end: 2 })).toBe('012');
    expect(await read({ start: 9, end: 9 })).toBe('9');
    expect(await read({ start: 8, end: 100 })).toBe('89');
    expect(await read({ start: 10 })).toBe('');
    expect(await read({})).toBe('0123456789');
    await expect(storage.get('r', { start: 5, end: 4 })).rejects.toBeInstanceOf(RangeError);
    await expect(storage.get('r', { start: -1 })).rejects.toBeInstanceOf(RangeError);
    await expect(storage.get('r', { start: 1.5 })).rejects.toBeInstanceOf(RangeError);
  });

  it('deletes idempotently', async () => {
    await storage.put('inbox/ws-1/m/a', Buffer.from('1'));
    await storage.put('inbox/ws-2/b', Buffer.from('2'));
    expect(await storage.delete('inbox/ws-1/m/a')).toBe(true);
    expect(await storage.delete('inbox/ws-1/m/a')).toBe(false);
    expect(await storage.delete('never/there')).toBe(false);
    expect(await all(storage.list(''))).toEqual(['inbox/ws-2/b']);
  });

  it('lists and deletes by S3-style prefix', async () => {
    for (const key of ['inbox/ws-1/a', 'inbox/ws-1/b/c', 'inbox/ws-10/d', 'inbox/ws-2/e', 'media/x']) {
      await storage.put(key, Buffer.from(key));
    }
    expect(await all(storage.list('inbox/ws-1/'))).toEqual(['inbox/ws-1/a', 'inbox/ws-1/b/c']);
    expect(await all(storage.list('inbox/ws-1'))).toEqual(['inbox/ws-1/a', 'inbox/ws-1/b/c', 'inbox/ws-10/d']);
    expect(await all(storage.list(''))).toHaveLength(5);
    expect(await all(storage.list('missing/'))).toEqual([]);
    expect(await storage.deletePrefix('inbox/ws-1/')).toBe(2);
    expect(await storage.deletePrefix('inbox/ws-1/')).toBe(0);
    expect(await all(storage.list(''))).toEqual(['inbox/ws-10/d', 'inbox/ws-2/e', 'media/x']);
    await expect(storage.deletePrefix('')).rejects.toBeInstanceOf(StorageKeyError);
  });

  it.each([
    '',
    '../etc/passwd',
    'a/../../b',
    '/abs/path',
    'a//b',
    'a/',
    './a',
    '.hidden',
    'a/.tmp',
    'sp ace',
    'a\\b',
    'ümlaut',
    'x'.repeat(513),
  ])('refuses the key %j', async (key) => {
    expect(() => validateKey(key)).toThrow(StorageKeyError);
    await expect(storage.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(StorageKeyError);
    await expect(storage.get(key)).rejects.toBeInstanceOf(StorageKeyError);
    await expect(storage.stat(key)).rejects.toBeInstanceOf(StorageKeyError);
    await expect(storage.delete(key)).rejects.toBeInstanceOf(StorageKeyError);
  });

  it('refuses bad prefixes', async () => {
    await expect(all(storage.list('../'))).rejects.toBeInstanceOf(StorageKeyError);
    await expect(storage.deletePrefix('/')).rejects.toBeInstanceOf(StorageKeyError);
  });
});

describe('local object storage', () => {
  let storage: ObjectStorage;
  beforeEach(() => {
    root = path.join(parent, `case-${++n}`);
    storage = createLocalStorage(root);
  });

  it('writes through a temporary file and leaves none behind', async () => {
    await storage.put('a/b', Buffer.from('first version'));
    await storage.put('a/b', Readable.from([Buffer.from('second')]));
    await expect(storage.put('a/c', Buffer.alloc(10), { maxBytes: 5 })).rejects.toBeInstanceOf(ObjectTooLargeError);
    expect(readFileSync(path.join(root, 'a', 'b'), 'utf8')).toBe('second');
    expect(tree()).toEqual(['a', 'a/b']);
  });

  it('does not follow a symlink out of the folder', async () => {
    const outside = path.join(parent, `secret-${n}.txt`);
    writeFileSync(outside, 'secret');
    mkdirSync(root, { recursive: true });
    symlinkSync(outside, path.join(root, 'link'));
    await expect(storage.get('link')).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await storage.stat('link')).toBeUndefined();
    expect(await storage.delete('link')).toBe(false);
    expect(await all(storage.list(''))).toEqual([]);
    expect(readFileSync(outside, 'utf8')).toBe('secret');
  });

  it('prunes emptied folders', async () => {
    await storage.put('inbox/ws-1/m/a', Buffer.from('1'));
    await storage.put('inbox/ws-2/b', Buffer.from('2'));
    expect(await storage.delete('inbox/ws-1/m/a')).toBe(true);
    expect(tree()).toEqual(['inbox', 'inbox/ws-2', 'inbox/ws-2/b']);
    await storage.deletePrefix('inbox/ws-2/');
    expect(tree()).toEqual([]);
  });

  it("deletes a crashed write's temporary file with its prefix", async () => {
    await storage.put('inbox/ws-1/a', Buffer.from('1'));
    // A crashed write's temporary file holds the subject's bytes too: it goes with the prefix.
    writeFileSync(path.join(root, 'inbox', 'ws-1', '.a.123e4567-e89b-12d3-a456-426614174000.tmp'), 'left');
    expect(await all(storage.list('inbox/ws-1/'))).toEqual(['inbox/ws-1/a']);
    expect(await storage.deletePrefix('inbox/ws-1/')).toBe(1);
    expect(tree()).toEqual([]);
  });

  it('accepts the keys callers build', () => {
    expect(validateKey('inbox/8b1f6c2e-0d7a-4c1e-9a55-1c2d3e4f5a6b/att_01.jpg')).toBeTruthy();
    expect(validateKey('media/2026/03/x-y_z.v2.mp4')).toBeTruthy();
  });
});

describe('S3 object storage', () => {
  let storage: ObjectStorage;
  beforeEach(() => {
    sim.reset();
    storage = createS3Storage(s3Settings());
  });
  const stored = async () =>
    (await (await fetch(`${sim.url}/s3/_sim/objects`)).json()) as {
      key: string;
      sizeBytes: number;
      contentType: string;
    }[];

  it('sends the length, the SHA-256 and the content type with every object', async () => {
    await storage.put('media/a', Readable.from([Buffer.from('streamed')]), { contentType: 'video/mp4' });
    await storage.put('media/b', Buffer.from('bytes'));
    expect(await stored()).toEqual([
      expect.objectContaining({ key: 'media/a', sizeBytes: 8, contentType: 'video/mp4', sha256: sha('streamed') }),
      expect.objectContaining({ key: 'media/b', sizeBytes: 5, sha256: sha('bytes') }),
    ]);
  });

  it('pages through more than one listing and deletes in batches', async () => {
    const keys = Array.from({ length: 1001 }, (_, i) => `bulk/${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((k) => storage.put(k, Buffer.from('x'))));
    }
    await storage.put('other/k', Buffer.from('y'));
    expect(await all(storage.list('bulk/'))).toEqual(keys);
    const calls = sim.platforms.get('s3')!.calls;
    expect(calls.filter((c) => c.route === 'list_objects')).toHaveLength(2);
    expect(await storage.deletePrefix('bulk/')).toBe(1001);
    expect(calls.filter((c) => c.route === 'delete_objects')).toHaveLength(2);
    expect((await stored()).map((o) => o.key)).toEqual(['other/k']);
  });

  it('decodes XML entities in listed keys another client wrote', async () => {
    // S3 keys may hold any character; this driver writes only safe ones, others may not.
    const key = `odd/a&b<c>'d"`;
    const signed = aws4.sign(
      {
        method: 'PUT',
        host: new URL(sim.url).host,
        path: `/s3/${S3_SIM_BUCKET}/${key.split('/').map(encodeURIComponent).join('/')}`,
        service: 's3',
        region: 'us-east-1',
        headers: { 'content-length': '1', 'x-amz-content-sha256': sha('z') },
      },
      { accessKeyId: S3_SIM_ACCESS_KEY, secretAccessKey: S3_SIM_SECRET_KEY },
    );
    const { Host: _host, ...headers } = signed.headers as Record<string, string>;
    const res = await fetch(`${sim.url}${signed.path}`, { method: 'PUT', headers, body: 'z' });
    expect(res.status).toBe(200);
    expect(await all(storage.list('odd/'))).toEqual([key]);
  });

  it('reads exactly the range asked for when the server ignores Range', async () => {
    await storage.put('r', Buffer.from('0123456789'));
    // The server answers 200 with the whole object, as a server that does not do ranges may.
    sim.platforms.get('s3')!.knobs.ignoreRange = 1;
    const read = async (range: { start?: number; end?: number }) => text(await storage.get('r', range));
    expect(await read({ start: 2, end: 5 })).toBe('2345');
    expect(await read({ start: 7 })).toBe('789');
    expect(await read({ end: 2 })).toBe('012');
    expect(await read({ start: 9, end: 9 })).toBe('9');
    expect(await read({ start: 8, end: 100 })).toBe('89');
    expect(await read({ start: 10 })).toBe('');
    expect(await read({})).toBe('0123456789');
    const calls = sim.platforms.get('s3')!.calls.filter((c) => c.route === 'get_object');
    expect(calls.every((c) => c.status === 200)).toBe(true);

    // Larger than one chunk: the range is cut out across chunk boundaries, and the rest not read.
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    await storage.put('big', big);
    const part = Buffer.concat(await (await storage.get('big', { start: 65_000, end: 200_000 })).toArray());
    expect(part).toEqual(big.subarray(65_000, 200_001));
  });

  it('fails rather than pass on a range other than the one asked for', async () => {
    await storage.put('r', Buffer.from('0123456789'));
    // A 206 of only the first 3 bytes of the range (Content-Range says so).
    sim.platforms.get('s3')!.knobs.rangeMaxBytes = 3;
    expect(await text(await storage.get('r', { start: 1, end: 3 }))).toBe('123');
    expect(await text(await storage.get('r', { start: 7 }))).toBe('789');
    await expect(storage.get('r', { start: 1, end: 5 })).rejects.toMatchObject({
      name: 'S3Error',
      code: 'RangeMismatch',
    });
    await expect(storage.get('r', { start: 2 })).rejects.toMatchObject({ code: 'RangeMismatch' });
    // Unranged reads are whole.
    expect(await text(await storage.get('r'))).toBe('0123456789');
  });

  it('fails with the S3 error code when the credentials are wrong', async () => {
    const wrongSecret = createS3Storage(s3Settings({ secretAccessKey: 'not-the-secret' }));
    await expect(wrongSecret.put('a', Buffer.from('x'))).rejects.toMatchObject({
      name: 'S3Error',
      status: 403,
      code: 'SignatureDoesNotMatch',
    });
    const unknownKey = createS3Storage(s3Settings({ accessKeyId: 'nobody' }));
    await expect(all(unknownKey.list(''))).rejects.toMatchObject({ code: 'InvalidAccessKeyId' });
    await expect(unknownKey.stat('a')).rejects.toBeInstanceOf(S3Error);
    const noBucket = createS3Storage(s3Settings({ bucket: 'no-such-bucket' }));
    await expect(noBucket.put('a', Buffer.from('x'))).rejects.toMatchObject({ status: 404, code: 'NoSuchBucket' });
    expect(await stored()).toEqual([]);
  });
});

describe('createStorage', () => {
  it('uses storage under DATA_DIR unless STORAGE_DIR says otherwise', async () => {
    const dataDir = path.join(parent, 'data');
    const config = loadConfig({ DATA_DIR: dataDir });
    expect(config.storage).toEqual({ driver: 'local', dir: path.join(dataDir, 'storage'), s3: undefined });
    const s = createStorage(config);
    expect(s.driver).toBe('local');
    await s.put('a/b', Buffer.from('x'));
    expect(existsSync(path.join(dataDir, 'storage', 'a', 'b'))).toBe(true);
    expect(loadConfig({ STORAGE_DIR: path.join(parent, 'elsewhere') }).storage.dir).toBe(
      path.join(parent, 'elsewhere'),
    );
  });

  it('builds the S3 driver from the S3_* variables', async () => {
    sim.reset();
    const config = loadConfig({
      STORAGE_DRIVER: 's3',
      S3_ENDPOINT: `${sim.url}/s3`,
      S3_BUCKET: S3_SIM_BUCKET,
      S3_ACCESS_KEY_ID: S3_SIM_ACCESS_KEY,
      S3_SECRET_ACCESS_KEY: S3_SIM_SECRET_KEY,
    });
    const s = createStorage(config);
    expect(s.driver).toBe('s3');
    await s.put('a/b', Buffer.from('x'));
    expect(await s.stat('a/b')).toMatchObject({ sizeBytes: 1 });
    expect(() => createStorage({ storage: { driver: 's3', dir: parent, s3: undefined } })).toThrow(/S3 settings/);
  });
});
