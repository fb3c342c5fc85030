import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type Dirent, constants as fsConstants } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readdir, rename, rm, rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import aws4 from 'aws4';
import type { Config, S3Settings } from './config.ts';

// Object storage behind one interface: inbox attachments and the media library. Keys are S3-shaped
// ("inbox/<workspace>/<id>"), and the same callers run on either driver: `local` or `s3`.
// The local driver keeps one file per key under the storage folder: writes go to a temporary file
// in the same folder and are renamed into place (readers never see half an object), deletes are
// idempotent, and emptied folders are removed so a deleted subject leaves no trace in names.
// Unlike S3, one key cannot be both an object and a folder ("a" and "a/b"): key schemes keep
// objects at the leaves.

export interface PutOptions {
  /** Kept by drivers that store metadata (S3); the local driver does not, so keep it in the database too. */
  contentType?: string;
  /** Refuse (and store nothing) once the body grows past this many bytes. */
  maxBytes?: number;
}

export interface PutResult {
  sizeBytes: number;
  /** Hex SHA-256 of the stored bytes. */
  sha256: string;
}

/** Bytes `start` to `end` of an object, both inclusive as in HTTP ranges; `end` past the object is clipped. */
export interface ByteRange {
  start?: number;
  end?: number;
}

export interface ObjectInfo {
  sizeBytes: number;
  modifiedAt: Date;
}

export interface ObjectStorage {
  readonly driver: string;
  /** Stores (or replaces) the object; it becomes visible whole or not at all. */
  put(key: string, body: Uint8Array | Readable, opts?: PutOptions): Promise<PutResult>;
  /**
   * The object's bytes, or only those of `range` (none when it starts past the end): never more,
   * whatever the backend answers (an S3 server that ignores Range is cut to it, one that sends
   * another range is an error). Rejects with ObjectNotFoundError when there is no object.
   */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /**
   * Where the object can be read in place, for tools that take a file name (ffmpeg, sharp), or
   * undefined when it cannot (S3, or no such object): then copy it out with get().
   */
  localPath?(key: string): Promise<string | undefined>;
  /** Size and time of the object, or undefined when there is none. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  /** Removes the object; true if it existed. Deleting a missing key is not an error. */
  delete(key: string): Promise<boolean>;
  /** Removes every object whose key starts with `prefix` (non-empty); returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  /** Keys that start with `prefix` ("" for all), as S3 prefixes match, in no guaranteed order. */
  list(prefix: string): AsyncIterable<string>;
}

export class StorageKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StorageKeyError';
  }
}

export class ObjectNotFoundError extends Error {
  readonly key: string;
  constructor(key: string) {
    super(`no stored object at "${key}"`);
    this.name = 'ObjectNotFoundError';
    this.key = key;
  }
}

export class ObjectTooLargeError extends Error {
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super(`object larger than ${maxBytes} bytes`);
    this.name = 'ObjectTooLargeError';
    this.maxBytes = maxBytes;
  }
}

export const MAX_KEY_LENGTH = 512;
/**
 * Segments of letters, digits, ".", "_" and "-", starting with a letter or digit (so never "." or
 * "..", never hidden, never a temporary file), joined by single "/". The set is safe on every
 * filesystem and in S3 without escaping.
 */
const SEGMENT = '[A-Za-z0-9][A-Za-z0-9._-]*';
const KEY_RE = new RegExp(`^${SEGMENT}(/${SEGMENT})*$`);
/** A prefix is a key, a key with a trailing "/", or the start of a segment. */
const PREFIX_RE = new RegExp(`^(${SEGMENT}/)*(${SEGMENT})?$`);

/** The key, or a StorageKeyError saying what is wrong with it. */
export function validateKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new StorageKeyError('storage key is empty');
  if (key.length > MAX_KEY_LENGTH) throw new StorageKeyError(`storage key longer than ${MAX_KEY_LENGTH} characters`);
  if (!KEY_RE.test(key)) {
    throw new StorageKeyError(
      `storage key "${key}" is invalid: use segments of A-Z a-z 0-9 . _ - (not starting with . _ -) joined by single /`,
    );
  }
  return key;
}

export function validatePrefix(prefix: string): string {
  if (typeof prefix !== 'string' || prefix.length > MAX_KEY_LENGTH || !PREFIX_RE.test(prefix)) {
    throw new StorageKeyError(`storage prefix "${prefix}" is invalid`);
  }
  return prefix;
}

/** The range, or a RangeError when it is not one (negative, fractional, or ending before it starts). */
function checkRange(range: ByteRange): ByteRange {
  const { start, end } = range;
  const ok = (n: number | undefined) => n === undefined || (Number.isSafeInteger(n) && n >= 0);
  if (!ok(start) || !ok(end) || (end !== undefined && end < (start ?? 0))) {
    throw new RangeError(`invalid byte range ${start ?? ''}-${end ?? ''}`);
  }
  return range;
}

/** Not there: no such file, or a path through something that is not a folder ("a/b" when "a" is an object). */
const isMissing = (err: unknown) => ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException)?.code ?? '');
/** `.<name>.<uuid>.tmp`: a write in progress, or left behind by a crash. */
const TEMP_RE = /^\.([A-Za-z0-9][A-Za-z0-9._-]*)\.[0-9a-f-]{36}\.tmp$/;

/** Counts and hashes what passes through, and stops past a size limit. */
function measuring(maxBytes: number | undefined) {
  const hash = createHash('sha256');
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (maxBytes !== undefined && size > maxBytes) return done(new ObjectTooLargeError(maxBytes));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  return { stream, result: (): PutResult => ({ sizeBytes: size, sha256: hash.digest('hex') }) };
}

/** Files under `root`, one per key. */
export function createLocalStorage(root: string): ObjectStorage {
  const base = path.resolve(root);
  const fileOf = (key: string) => path.join(base, ...validateKey(key).split('/'));

  /** Removes now-empty folders from `dir` up to (not including) the root; stops at the first non-empty one. */
  async function pruneEmpty(dir: string): Promise<void> {
    let current = dir;
    while (current.startsWith(base + path.sep)) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty (or already gone, or written to meanwhile)
      }
      current = path.dirname(current);
    }
  }

  /** Files under `dir` whose key starts with `prefix`; `temp`: a temporary file of that key. */
  async function* walk(
    dir: string,
    keyDir: string,
    namePrefix: string,
    prefix: string,
  ): AsyncGenerator<{ key: string; file: string; temp: boolean }> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const file = path.join(dir, entry.name);
      const temp = TEMP_RE.exec(entry.name)?.[1];
      const name = temp ?? entry.name;
      // Anything else that is not a key's name (hidden files, stray names) is not an object.
      if (!name.startsWith(namePrefix) || !/^[A-Za-z0-9]/.test(name)) continue;
      const key = keyDir + name;
      if (temp !== undefined) {
        if (entry.isFile() && key.startsWith(prefix)) yield { key, file, temp: true };
      } else if (entry.isDirectory()) yield* walk(file, `${key}/`, '', prefix);
      else if (entry.isFile() && key.startsWith(prefix)) yield { key, file, temp: false };
    }
  }

  /** "a/b/c" walks folder a/b for names starting with "c"; "a/b/" walks all of a/b. */
  function walkPrefix(prefix: string) {
    validatePrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const keyDir = prefix.slice(0, slash + 1);
    return walk(path.join(base, ...keyDir.split('/').filter(Boolean)), keyDir, prefix.slice(slash + 1), prefix);
  }

  async function* list(prefix: string): AsyncGenerator<string> {
    for await (const entry of walkPrefix(prefix)) if (!entry.temp) yield entry.key;
  }

  async function statKey(key: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await lstat(fileOf(key));
      return s.isFile() ? { sizeBytes: s.size, modifiedAt: s.mtime } : undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async function remove(key: string): Promise<boolean> {
    const file = fileOf(key);
    let existed: boolean;
    try {
      existed = (await lstat(file)).isFile();
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
    if (!existed) return false;
    await rm(file, { force: true });
    await pruneEmpty(path.dirname(file));
    return true;
  }

  return {
    driver: 'local',

    async put(key, body, opts = {}) {
      const file = fileOf(key);
      const dir = path.dirname(file);
      const tmp = path.join(dir, `.${path.basename(file)}.${randomUUID()}.tmp`);
      // A concurrent delete may prune the folder between mkdir and the write: bytes in memory can
      // simply be written again; a stream cannot be replayed, so its failure is the caller's.
      for (let attempt = 0; ; attempt++) {
        await mkdir(dir, { recursive: true });
        const measure = measuring(opts.maxBytes);
        const source =
          body instanceof Readable ? body : Readable.from([Buffer.from(body.buffer, body.byteOffset, body.byteLength)]);
        try {
          // flush: fsync before close, so the rename never publishes bytes still in the page cache.
          await pipeline(source, measure.stream, createWriteStream(tmp, { flags: 'wx', flush: true }));
          await rename(tmp, file);
          return measure.result();
        } catch (err) {
          await rm(tmp, { force: true });
          if (isMissing(err) && attempt < 2 && !(body instanceof Readable)) continue;
          throw err;
        }
      }
    },

    async get(key, range) {
      const file = fileOf(key);
      const { start, end } = range ? checkRange(range) : {};
      let handle: import('node:fs/promises').FileHandle;
      try {
        // Opened now, so a missing object rejects here rather than on the first read; a symlink
        // (never written by this driver) is not followed out of the folder.
        handle = await open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
      } catch (err) {
        if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'ELOOP') throw new ObjectNotFoundError(key);
        throw err;
      }
      // A key that is only a folder ("a" when "a/b" exists) is no object.
      if (!(await handle.stat()).isFile()) {
        await handle.close();
        throw new ObjectNotFoundError(key);
      }
      return handle.createReadStream({ start, end });
    },

    stat: statKey,

    // Objects are replaced by rename, so a reader that opened the file keeps whole bytes.
    async localPath(key) {
      return (await statKey(key)) ? fileOf(key) : undefined;
    },

    delete: remove,

    async deletePrefix(prefix) {
      // An empty prefix would be "everything": never by accident.
      if (!prefix) throw new StorageKeyError('deletePrefix needs a non-empty prefix');
      const found: { key: string; file: string; temp: boolean }[] = [];
      for await (const entry of walkPrefix(prefix)) found.push(entry);
      let deleted = 0;
      for (const entry of found) {
        if (!entry.temp) {
          if (await remove(entry.key)) deleted++;
        } else {
          // A crashed write's leftovers hold the subject's bytes too.
          await rm(entry.file, { force: true });
          await pruneEmpty(path.dirname(entry.file));
        }
      }
      return deleted;
    },

    list,
  };
}

/** An S3 error answer: its HTTP status and S3 code (AccessDenied, SignatureDoesNotMatch, SlowDown, …). */
export class S3Error extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(`S3 ${status} ${code}: ${message}`);
    this.name = 'S3Error';
    this.status = status;
    this.code = code;
  }
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const xmlDecode = (text: string) =>
  text.replace(/&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));/g, (_, hex, dec, name) =>
    hex
      ? String.fromCodePoint(Number.parseInt(hex, 16))
      : dec
        ? String.fromCodePoint(Number(dec))
        : XML_ENTITIES[name]!,
  );
const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const xmlEscape = (text: string) => text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
/** The raw contents of every `<tag>…</tag>` in `xml`; S3's answers never nest an element in one of its own name. */
const xmlElements = (xml: string, tag: string) =>
  [...xml.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1]!);
const xmlText = (xml: string, tag: string) => {
  const [raw] = xmlElements(xml, tag);
  return raw === undefined ? undefined : xmlDecode(raw);
};

/**
 * Bytes `start` to `end` (inclusive; undefined: to the end) of `source`; the source is closed as
 * soon as the range is complete, so a server that ignored Range is not read further.
 */
function sliced(source: Readable, start: number, end: number | undefined): Readable {
  const stop = end === undefined ? Number.POSITIVE_INFINITY : end + 1;
  async function* range() {
    let at = 0;
    for await (const chunk of source as AsyncIterable<Buffer>) {
      const from = Math.max(0, start - at);
      const to = Math.min(chunk.length, stop - at);
      at += chunk.length;
      if (to > from) yield chunk.subarray(from, to);
      if (at >= stop) break; // ends the iteration, which destroys the source
    }
  }
  return Readable.from(range(), { objectMode: false });
}

/** Keys per ListObjectsV2 page and per DeleteObjects batch (S3's maximum for both). */
const S3_BATCH = 1000;

interface S3Request {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  /** No key: a request on the bucket (list, batch delete). */
  key?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Uint8Array | Readable;
}

/**
 * An S3-compatible bucket (AWS, MinIO, R2, Ceph) over fetch, signed with SigV4. A stream of unknown
 * length is spooled to a temporary file first: S3 needs the length before the bytes, and one PUT is
 * atomic, so an object appears whole or not at all, as with the local driver.
 */
export function createS3Storage(settings: S3Settings): ObjectStorage {
  const endpoint = new URL(settings.endpoint);
  const basePath = endpoint.pathname.replace(/\/+$/, '');
  const host = settings.pathStyle ? endpoint.host : `${settings.bucket}.${endpoint.host}`;
  const bucketPath = settings.pathStyle ? `${basePath}/${encodeURIComponent(settings.bucket)}` : basePath;
  const credentials = { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey };

  /** Sends a signed request; answers other than 2xx and `accept` become S3Errors. */
  async function s3(req: S3Request, accept: number[] = []): Promise<Response> {
    const keyPath = req.key === undefined ? '' : `/${req.key.split('/').map(encodeURIComponent).join('/')}`;
    const query = req.query ? `?${new URLSearchParams(req.query)}` : '';
    // aws4 adds the date, the host and, unless given, the SHA-256 of an empty payload.
    const signed = aws4.sign(
      {
        method: req.method,
        host,
        path: (`${bucketPath}${keyPath}` || '/') + query,
        service: 's3',
        region: settings.region,
        headers: { ...req.headers },
      },
      credentials,
    );
    // fetch sets Host from the URL (the same value); it refuses to be given one.
    const { Host: _host, ...headers } = signed.headers as Record<string, string>;
    const streamed = req.body instanceof Readable;
    const res = await fetch(`${endpoint.protocol}//${host}${signed.path}`, {
      method: req.method,
      headers,
      body: streamed ? (Readable.toWeb(req.body as Readable) as ReadableStream) : (req.body as Uint8Array | undefined),
      ...(streamed ? { duplex: 'half' } : {}),
    });
    if (res.ok || accept.includes(res.status)) return res;
    const text = req.method === 'HEAD' ? '' : await res.text();
    throw new S3Error(
      res.status,
      // HEAD answers have no body; some servers name the code in a header instead.
      xmlText(text, 'Code') ?? res.headers.get('x-amz-error-code') ?? res.statusText,
      xmlText(text, 'Message') ?? (text.slice(0, 200) || 'no message'),
    );
  }

  async function head(key: string): Promise<ObjectInfo | undefined> {
    const res = await s3({ method: 'HEAD', key: validateKey(key) }, [404]);
    if (res.status === 404) return undefined;
    return {
      sizeBytes: Number(res.headers.get('content-length') ?? 0),
      modifiedAt: new Date(res.headers.get('last-modified') ?? Date.now()),
    };
  }

  /** One ListObjectsV2 page. */
  async function listPage(prefix: string, token: string | undefined) {
    const query: Record<string, string> = { 'list-type': '2', prefix, 'max-keys': String(S3_BATCH) };
    if (token) query['continuation-token'] = token;
    const xml = await (await s3({ method: 'GET', query })).text();
    const keys = xmlElements(xml, 'Contents').map((c) => xmlText(c, 'Key') ?? '');
    const next = xmlText(xml, 'IsTruncated') === 'true' ? xmlText(xml, 'NextContinuationToken') : undefined;
    return { keys, next };
  }

  async function* list(prefix: string): AsyncGenerator<string> {
    validatePrefix(prefix);
    let token: string | undefined;
    do {
      const page = await listPage(prefix, token);
      yield* page.keys;
      token = page.next;
    } while (token);
  }

  async function putBytes(key: string, bytes: Uint8Array | Readable, measured: PutResult, opts: PutOptions) {
    const headers: Record<string, string> = {
      'content-length': String(measured.sizeBytes),
      'x-amz-content-sha256': measured.sha256,
    };
    if (opts.contentType) headers['content-type'] = opts.contentType;
    await s3({ method: 'PUT', key, headers, body: bytes });
    return measured;
  }

  return {
    driver: 's3',

    async put(key, body, opts = {}) {
      validateKey(key);
      if (!(body instanceof Readable)) {
        const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
        if (opts.maxBytes !== undefined && bytes.length > opts.maxBytes) throw new ObjectTooLargeError(opts.maxBytes);
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        return putBytes(key, bytes, { sizeBytes: bytes.length, sha256 }, opts);
      }
      const dir = await mkdtemp(path.join(os.tmpdir(), 'switchboard-s3-'));
      try {
        const spool = path.join(dir, 'body');
        const measure = measuring(opts.maxBytes);
        await pipeline(body, measure.stream, createWriteStream(spool));
        return await putBytes(key, createReadStream(spool), measure.result(), opts);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },

    async get(key, range) {
      validateKey(key);
      const headers: Record<string, string> = {};
      const start = range ? (checkRange(range).start ?? 0) : 0;
      const end = range?.end;
      if (range) headers.range = `bytes=${start}-${end ?? ''}`;
      const res = await s3({ method: 'GET', key, headers }, [404, 416]);
      if (res.status === 404) {
        await res.body?.cancel();
        throw new ObjectNotFoundError(key);
      }
      // 416: the range starts past the end, which reads nothing (as a file read would).
      if (res.status === 416 || !res.body) {
        await res.body?.cancel();
        return Readable.from([]);
      }
      const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
      if (!range) return body;
      if (res.status === 206) {
        // Only the bytes asked for, or the caller would send other bytes under its own Content-Range.
        const sent = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
        const total = sent?.[3] === '*' ? undefined : Number(sent?.[3]);
        const expectedEnd = total === undefined ? end : Math.min(end ?? total - 1, total - 1);
        if (!sent || Number(sent[1]) !== start || (expectedEnd !== undefined && Number(sent[2]) !== expectedEnd)) {
          body.destroy();
          throw new S3Error(
            502,
            'RangeMismatch',
            `asked for ${headers.range}, the server sent ${res.headers.get('content-range') ?? 'no Content-Range'}`,
          );
        }
        return body;
      }
      // A server may ignore Range and answer 200 with the whole object: cut the range out of it.
      return sliced(body, start, end);
    },

    stat: head,

    async delete(key) {
      // S3 answers 204 whether or not the key existed; ask first so the answer stays honest.
      if (!(await head(key))) return false;
      await s3({ method: 'DELETE', key });
      return true;
    },

    async deletePrefix(prefix) {
      if (!prefix) throw new StorageKeyError('deletePrefix needs a non-empty prefix');
      validatePrefix(prefix);
      let deleted = 0;
      // Always the first page again: what was deleted no longer lists, so paging tokens are not needed.
      for (;;) {
        const { keys } = await listPage(prefix, undefined);
        if (keys.length === 0) return deleted;
        const body = Buffer.from(
          `<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>true</Quiet>${keys
            .map((k) => `<Object><Key>${xmlEscape(k)}</Key></Object>`)
            .join('')}</Delete>`,
        );
        const res = await s3({
          method: 'POST',
          query: { delete: '' },
          headers: {
            'content-type': 'application/xml',
            'content-md5': createHash('md5').update(body).digest('base64'),
            'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
          },
          body,
        });
        // Quiet mode lists only the keys that could not be deleted.
        const [failed] = xmlElements(await res.text(), 'Error');
        if (failed !== undefined) {
          throw new S3Error(
            res.status,
            xmlText(failed, 'Code') ?? 'DeleteFailed',
            `${xmlText(failed, 'Key')}: ${xmlText(failed, 'Message')}`,
          );
        }
        deleted += keys.length;
      }
    },

    list,
  };
}

/** The configured storage. */
export function createStorage(config: Pick<Config, 'storage'>): ObjectStorage {
  const { driver, dir, s3 } = config.storage;
  switch (driver) {
    case 'local':
      return createLocalStorage(dir);
    case 's3':
      if (!s3) throw new Error('STORAGE_DRIVER is s3 but the S3 settings are missing');
      return createS3Storage(s3);
    default:
      throw new Error(`STORAGE_DRIVER "${driver as string}" is not supported: use "local" or "s3"`);
  }
}
