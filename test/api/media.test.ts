import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createStorage, type ObjectStorage } from '../../lib/storage.ts';
import { lazyClient } from '../../lib/temporal.ts';
import { S3_SIM_ACCESS_KEY, S3_SIM_BUCKET, S3_SIM_SECRET_KEY } from '../../simulators/s3.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { bearer, createTestSystem, createWorkspace, eventually, signUp, sql, type TestSystem } from '../helpers.ts';

// The media library's API contract: what an upload stores, the checks in front of it, and the
// reads. No media worker runs here, so files stay `processing`; derived rows are inserted by hand.

const MIB = 1024 * 1024;
let dir: string;
let sys: TestSystem;
let storage: ObjectStorage;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-media-api-'));
  sys = await createTestSystem({ STORAGE_DIR: dir, MEDIA_MAX_UPLOAD_MB: '1', MEDIA_WORKSPACE_QUOTA_MB: '3' });
  storage = createStorage(sys.config);
});
afterAll(async () => {
  await sys.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A 1×1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Tenant {
  token: string;
  userId: string;
  ws: string;
}
async function tenant(label = 'owner'): Promise<Tenant> {
  const user = await signUp(sys.app, label);
  return { token: user.token, userId: user.id, ws: await createWorkspace(sys.app, user.token) };
}

type Part = { name: string; filename?: string; type?: string; data: Buffer | string };
function multipart(parts: Part[]) {
  const boundary = `----switchboard-${randomUUID()}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const filename = p.filename === undefined ? '' : `; filename="${p.filename}"`;
    const type = p.type ? `Content-Type: ${p.type}\r\n` : '';
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${filename}\r\n${type}\r\n`),
    );
    chunks.push(Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

function upload(
  t: Tenant,
  data: Buffer,
  opts: { filename?: string; type?: string; query?: Record<string, string>; stream?: boolean } = {},
) {
  const form = multipart([{ name: 'file', filename: opts.filename ?? 'file.bin', type: opts.type, data }]);
  const query = new URLSearchParams(opts.query).toString();
  return sys.app.inject({
    method: 'POST',
    url: `/v1/workspaces/${t.ws}/media${query ? `?${query}` : ''}`,
    headers: { ...bearer(t.token), 'content-type': form.contentType },
    // A stream has no declared length, like a chunked upload.
    payload: opts.stream ? Readable.from([form.body]) : form.body,
  });
}

async function uploaded(t: Tenant, data: Buffer, opts: Parameters<typeof upload>[2] = {}) {
  const res = await upload(t, data, opts);
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

const call = (t: Tenant, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
  sys.app.inject({
    method,
    url: `/v1/workspaces/${t.ws}/media${url}`,
    headers: bearer(t.token),
    ...(payload ? { payload } : {}),
  });

const storedKeys = async (ws: string) => {
  const keys: string[] = [];
  for await (const key of storage.list(`media/${ws}/`)) keys.push(key);
  return keys.sort();
};
const fileRows = (ws: string) => sql(sys.orm, 'select * from media_files where workspace_id = ?', [ws]);

describe('uploading', () => {
  it('streams the file into storage and records the sniffed type, size and SHA-256', async () => {
    const t = await tenant();
    const res = await upload(t, PNG, {
      filename: 'launch clip.mp4',
      type: 'video/mp4',
      query: { folder: 'campaigns/2026', tags: 'launch,hero,launch' },
    });
    expect(res.statusCode, res.body).toBe(201);
    const file = res.json();
    // The bytes are a PNG: the name and the declared type do not count.
    expect(file).toMatchObject({
      name: 'launch clip.mp4',
      kind: 'image',
      mimeType: 'image/png',
      declaredType: 'video/mp4',
      sizeBytes: PNG.length,
      sha256: sha(PNG),
      status: 'processing',
      folder: 'campaigns/2026',
      tags: ['launch', 'hero'],
      uploadedBy: t.userId,
      contentUrl: `/v1/workspaces/${t.ws}/media/${file.id}/content`,
    });
    const [row] = await fileRows(t.ws);
    expect(row).toMatchObject({
      id: file.id,
      storage_key: `media/${t.ws}/${file.id}/original`,
      size_bytes: String(PNG.length),
      sha256: sha(PNG),
      mime_type: 'image/png',
      status: 'processing',
    });
    expect(Object.values(row!.stages as object).map((s) => s.status)).toEqual([
      'pending',
      'pending',
      'pending',
      'pending',
      'pending',
    ]);
    expect(Buffer.concat(await (await storage.get(`media/${t.ws}/${file.id}/original`)).toArray())).toEqual(PNG);
    // The ingest workflow was started for it.
    const described = await lazyClient(sys.config).client.workflow.getHandle(`media/${file.id}`).describe();
    expect(described.type).toBe('mediaIngestWorkflow');
  });

  it('is documented as a multipart upload with its folder and tags in the query', () => {
    const doc = sys.app.swagger() as unknown as {
      paths: Record<string, Record<string, { requestBody: { content: object }; parameters: { name: string }[] }>>;
    };
    const op = doc.paths['/v1/workspaces/{workspaceId}/media']!.post!;
    expect(Object.keys(op.requestBody.content)).toEqual(['multipart/form-data']);
    expect(op.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(['folder', 'tags']));
  });

  it('keeps only the last part of a path-like file name', async () => {
    const t = await tenant();
    const file = await uploaded(t, PNG, { filename: '../../etc/photo.png' });
    expect(file.name).toBe('photo.png');
  });

  it('accepts an empty file (ingest fails it with a reason)', async () => {
    const t = await tenant();
    const file = await uploaded(t, Buffer.alloc(0), { filename: 'empty.png' });
    expect(file).toMatchObject({ sizeBytes: 0, sha256: sha(Buffer.alloc(0)), kind: null, mimeType: null });
    expect(await storedKeys(t.ws)).toEqual([`media/${t.ws}/${file.id}/original`]);
  });

  it.each([
    ['folder', '../up'],
    ['folder', 'a/../b'],
    ['folder', 'a//b'],
    ['folder', '/a'],
    ['folder', 'a/'],
    ['folder', 'x'.repeat(501)],
    ['tags', Array.from({ length: 21 }, (_, i) => `t${i}`).join(',')],
    ['tags', 'ok,'],
    ['tags', 't'.repeat(51)],
  ])('refuses the %s %j before reading the file, naming the field', async (name, value) => {
    const t = await tenant();
    const res = await upload(t, PNG, { query: { [name]: value } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.field).toBe(`querystring.${name}`);
    expect(await storedKeys(t.ws)).toEqual([]);
    expect(await fileRows(t.ws)).toEqual([]);
  });

  it('needs the file in a multipart part named "file"', async () => {
    const t = await tenant();
    const form = multipart([{ name: 'note', data: 'no file here' }]);
    const noFile = await sys.app.inject({
      method: 'POST',
      url: `/v1/workspaces/${t.ws}/media`,
      headers: { ...bearer(t.token), 'content-type': form.contentType },
      payload: form.body,
    });
    expect(noFile.statusCode).toBe(400);
    expect(noFile.json().error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'body.file' });
    const json = await sys.app.inject({
      method: 'POST',
      url: `/v1/workspaces/${t.ws}/media`,
      headers: bearer(t.token),
      payload: { file: 'abc' },
    });
    expect(json.statusCode).toBe(415);
    expect(await fileRows(t.ws)).toEqual([]);
  });

  it('refuses a body cut short with a 400 that names no internals, and keeps nothing', async () => {
    const t = await tenant();
    const form = multipart([{ name: 'file', filename: 'a.bin', data: Buffer.alloc(64 * 1024, 7) }]);
    // No closing boundary: the part never ends.
    const cut = form.body.subarray(0, form.body.length - 200);
    const res = await sys.app.inject({
      method: 'POST',
      url: `/v1/workspaces/${t.ws}/media`,
      headers: { ...bearer(t.token), 'content-type': form.contentType },
      payload: Readable.from([cut]),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'MALFORMED_MULTIPART', field: 'body.file' });
    expect(res.body).not.toMatch(/Unexpected|tmp|storage|\/media\//);
    // Broken before any part, or in a part's headers.
    for (const payload of [
      'not multipart at all',
      `--${form.contentType.split('boundary=')[1]}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n`,
    ]) {
      const broken = await sys.app.inject({
        method: 'POST',
        url: `/v1/workspaces/${t.ws}/media`,
        headers: { ...bearer(t.token), 'content-type': form.contentType },
        payload,
      });
      expect(broken.statusCode, `${payload}: ${broken.body}`).toBe(400);
      expect(broken.headers['content-type']).toMatch(/application\/json/);
    }
    expect(await fileRows(t.ws)).toEqual([]);
    expect(await storedKeys(t.ws)).toEqual([]);
  });

  it('refuses a file over the upload limit and keeps nothing', async () => {
    const t = await tenant();
    // Exactly the limit is fine.
    await uploaded(t, Buffer.alloc(MIB, 1));
    const oneOver = await upload(t, Buffer.alloc(MIB + 1, 2));
    expect(oneOver.statusCode).toBe(413);
    expect(oneOver.json().error.code).toBe('FILE_TOO_LARGE');
    // Declared far too long: refused before the bytes are read.
    const declared = await upload(t, Buffer.alloc(2 * MIB, 3));
    expect(declared.json().error.code).toBe('FILE_TOO_LARGE');
    const streamed = await upload(t, Buffer.alloc(2 * MIB, 4), { stream: true });
    expect(streamed.json().error.code).toBe('FILE_TOO_LARGE');
    expect(await fileRows(t.ws)).toHaveLength(1);
    expect(await storedKeys(t.ws)).toHaveLength(1);
  });

  it('stays within the workspace quota, before, during and after the bytes', async () => {
    const t = await tenant();
    // 2.5 MiB of the 3 MiB already used (an original plus its derived files).
    await sql(
      sys.orm,
      `insert into media_files (id, workspace_id, name, folder, tags, size_bytes, sha256, storage_key, status, stages, derived_bytes, created_at, updated_at)
       values (?, ?, 'old.mov', '', '{}', ?, ?, ?, 'ready', '{}', ?, now(), now())`,
      [randomUUID(), t.ws, 2 * MIB, 'a'.repeat(64), `media/${t.ws}/old/original`, MIB / 2],
    );
    const big = Buffer.alloc((3 * MIB) / 4, 5);
    const declared = await upload(t, big);
    expect(declared.statusCode).toBe(413);
    expect(declared.json().error).toMatchObject({ code: 'QUOTA_EXCEEDED', field: 'body.file' });
    expect(declared.json().error.message).toContain(`${2.5 * MIB} of ${3 * MIB} bytes`);
    // No declared length: stopped once the bytes pass the room left.
    const streamed = await upload(t, big, { stream: true });
    expect(streamed.json().error.code).toBe('QUOTA_EXCEEDED');
    expect(await storedKeys(t.ws)).toEqual([]);

    // Two uploads that each fit, but not both: the second to commit is refused and its bytes removed.
    const third = Buffer.alloc(Math.floor(0.3 * MIB), 6);
    const both = await Promise.all([upload(t, third), upload(t, third)]);
    expect(both.map((r) => r.statusCode).sort()).toEqual([201, 413]);
    const kept = both.find((r) => r.statusCode === 201)!.json();
    expect(await storedKeys(t.ws)).toEqual([`media/${t.ws}/${kept.id}/original`]);

    const usage = await call(t, 'GET', '/usage');
    expect(usage.json()).toEqual({ usedBytes: 2.5 * MIB + third.length, limitBytes: 3 * MIB, files: 2 });
  });

  it('keeps nothing when the ingest cannot be started', async () => {
    // A namespace the Temporal server does not have: every workflow start fails.
    const broken = await createTestSystem({ STORAGE_DIR: dir, TEMPORAL_NAMESPACE: `missing-${randomUUID()}` });
    try {
      const user = await signUp(broken.app, 'broken');
      const t = { token: user.token, userId: user.id, ws: await createWorkspace(broken.app, user.token) };
      const form = multipart([{ name: 'file', filename: 'a.png', data: PNG }]);
      const res = await broken.app.inject({
        method: 'POST',
        url: `/v1/workspaces/${t.ws}/media`,
        headers: { ...bearer(t.token), 'content-type': form.contentType },
        payload: form.body,
      });
      expect(res.statusCode).toBe(503);
      expect(await fileRows(t.ws)).toEqual([]);
      expect(await storedKeys(t.ws)).toEqual([]);

      // A re-ingest that cannot start leaves the file exactly as it was.
      const fileId = randomUUID();
      const stages = { probe: { status: 'failed', reason: 'unreadable' } };
      await sql(
        broken.orm,
        `insert into media_files (id, workspace_id, name, folder, tags, size_bytes, sha256, storage_key, status, stages, failure_reason, created_at, updated_at)
         values (?, ?, 'a.png', '', '{}', 1, ?, ?, 'failed', ?::jsonb, 'probe: unreadable', now(), now())`,
        [fileId, t.ws, 'a'.repeat(64), `media/${t.ws}/${fileId}/original`, JSON.stringify(stages)],
      );
      const before = await fileRows(t.ws);
      const again = await broken.app.inject({
        method: 'POST',
        url: `/v1/workspaces/${t.ws}/media/${fileId}/reingest`,
        headers: bearer(t.token),
      });
      expect(again.statusCode).toBe(503);
      expect(again.json().error.code).toBe('UNAVAILABLE');
      expect(again.body).not.toMatch(/namespace|missing-/i);
      expect(await fileRows(t.ws)).toEqual(before);
    } finally {
      await broken.close();
    }
  });
});

describe('on S3 storage', () => {
  let sim: Simulator;
  let s3: TestSystem;
  let t: Tenant;
  const s3sim = () => sim.platforms.get('s3')!;
  const stored = async () => (await (await fetch(`${sim.url}/s3/_sim/objects`)).json()) as { key: string }[];
  const s3Upload = (data: Buffer) => {
    const form = multipart([{ name: 'file', filename: 'a.png', data }]);
    return s3.app.inject({
      method: 'POST',
      url: `/v1/workspaces/${t.ws}/media`,
      headers: { ...bearer(t.token), 'content-type': form.contentType },
      payload: Readable.from([form.body]),
    });
  };
  /** No S3 or storage detail in an answer: codes, keys, bucket and messages stay in the log. */
  const clean = (body: string) => {
    expect(body).not.toMatch(/S3|InternalError|RangeMismatch|Content-Range|switchboard|media\//);
  };
  beforeAll(async () => {
    sim = await startSimulator();
    s3 = await createTestSystem({
      STORAGE_DRIVER: 's3',
      S3_ENDPOINT: `${sim.url}/s3`,
      S3_BUCKET: S3_SIM_BUCKET,
      S3_ACCESS_KEY_ID: S3_SIM_ACCESS_KEY,
      S3_SECRET_ACCESS_KEY: S3_SIM_SECRET_KEY,
      MEDIA_WORKSPACE_QUOTA_MB: '3',
    });
    const user = await signUp(s3.app, 's3');
    t = { token: user.token, userId: user.id, ws: await createWorkspace(s3.app, user.token) };
  });
  afterAll(async () => {
    await s3?.close();
    await sim?.close();
  });
  beforeEach(async () => {
    sim.reset();
    await sql(s3.orm, 'delete from media_files where workspace_id = ?', [t.ws]);
  });

  it('uploads into the bucket and downloads ranges from it', async () => {
    const res = await s3Upload(PNG);
    expect(res.statusCode, res.body).toBe(201);
    expect(await stored()).toEqual([
      expect.objectContaining({
        key: `media/${t.ws}/${res.json().id}/original`,
        sizeBytes: PNG.length,
        sha256: sha(PNG),
      }),
    ]);
    const get = (range: string) =>
      s3.app.inject({ method: 'GET', url: res.json().contentUrl, headers: { ...bearer(t.token), range } });
    const range = await get('bytes=1-3');
    expect(range.statusCode).toBe(206);
    expect(range.rawPayload).toEqual(PNG.subarray(1, 4));

    // A server that ignores Range answers 200 with everything: still only the range, as declared.
    s3sim().knobs.ignoreRange = 1;
    const ignored = await get('bytes=1-3');
    expect(ignored.statusCode).toBe(206);
    expect(ignored.headers['content-length']).toBe('3');
    expect(ignored.headers['content-range']).toBe(`bytes 1-3/${PNG.length}`);
    expect(ignored.rawPayload).toEqual(PNG.subarray(1, 4));
    const tail = await get('bytes=-4');
    expect(tail.rawPayload).toEqual(PNG.subarray(-4));
    expect(
      s3sim()
        .calls.filter((c) => c.route === 'get_object')
        .at(-1)?.status,
    ).toBe(200);

    // One that sends another range than asked: an error, never other bytes under this Content-Range.
    s3sim().knobs.ignoreRange = 0;
    s3sim().knobs.rangeMaxBytes = 2;
    const short = await get('bytes=1-3');
    expect(short.statusCode).toBe(503);
    expect(short.headers['content-type']).toMatch(/application\/json/);
    expect(short.json().error.code).toBe('UNAVAILABLE');
    clean(short.body);
  });

  it('answers storage failures with a clean 503 and keeps nothing', async () => {
    s3sim().faults.push({ route: 'put_object', kind: 'http', status: 500, remaining: 1 });
    const res = await s3Upload(PNG);
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('UNAVAILABLE');
    clean(res.body);
    expect(await stored()).toEqual([]);
    expect(await fileRows(t.ws)).toEqual([]);

    const ok = await s3Upload(PNG);
    expect(ok.statusCode, ok.body).toBe(201);
    s3sim().faults.push({ route: 'get_object', kind: 'http', status: 500, remaining: 1 });
    const read = await s3.app.inject({ method: 'GET', url: ok.json().contentUrl, headers: bearer(t.token) });
    expect(read.statusCode).toBe(503);
    expect(read.headers['content-type']).toMatch(/application\/json/);
    clean(read.body);
  });

  it('answers the refusal when undoing a stored upload fails too', async () => {
    // The bytes are stored while another upload takes the room: the row is refused after them.
    s3sim().faults.push({ route: 'put_object', kind: 'delay', delayMs: 1500, remaining: 1 });
    const uploading = s3Upload(PNG);
    await eventually(async () => s3sim().calls.some((c) => c.route === 'put_object'));
    await sql(
      s3.orm,
      `insert into media_files (id, workspace_id, name, folder, tags, size_bytes, sha256, storage_key, status, stages, created_at, updated_at)
       values (?, ?, 'big.mov', '', '{}', ?, ?, ?, 'ready', '{}', now(), now())`,
      [randomUUID(), t.ws, 3 * MIB, 'a'.repeat(64), `media/${t.ws}/big/original`],
    );
    // And removing them fails.
    s3sim().faults.push({ route: 'head_object', kind: 'http', status: 500, remaining: 1 });
    const res = await uploading;
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('QUOTA_EXCEEDED');
    // Left for the workspace's deletion (its media/<workspaceId>/ prefix) to remove.
    expect((await stored()).map((o) => o.key)).toEqual([expect.stringMatching(new RegExp(`^media/${t.ws}/`))]);
    expect((await fileRows(t.ws)).map((r) => r.name)).toEqual(['big.mov']);
  });
});

describe('reading', () => {
  it('lists with filters and pages newest first', async () => {
    const t = await tenant();
    const a = await uploaded(t, PNG, { filename: 'Sunset.png', query: { folder: 'trips', tags: 'beach' } });
    const b = await uploaded(t, PNG, {
      filename: '100%_done.png',
      query: { folder: 'trips/2026', tags: 'beach,work' },
    });
    const c = await uploaded(t, Buffer.from('plain text'), { filename: 'notes.txt' });
    const d = await uploaded(t, PNG, { filename: 'logo.png', query: { tags: 'work' } });
    await sql(sys.orm, `update media_files set status = 'failed' where id = ?`, [c.id]);
    const ids = async (query: string) => {
      const res = await call(t, 'GET', `?${query}`);
      expect(res.statusCode, res.body).toBe(200);
      return res.json().items.map((f: { id: string }) => f.id);
    };
    expect(await ids('')).toEqual([d.id, c.id, b.id, a.id]);
    expect(await ids('folder=trips')).toEqual([a.id]);
    expect(await ids('folder=')).toEqual([d.id, c.id]);
    expect(await ids('tag=beach')).toEqual([b.id, a.id]);
    expect(await ids('tag=work&folder=trips%2F2026')).toEqual([b.id]);
    expect(await ids('kind=image')).toEqual([d.id, b.id, a.id]);
    expect(await ids('status=failed')).toEqual([c.id]);
    expect(await ids('q=SUN')).toEqual([a.id]);
    // LIKE wildcards in the query are plain characters.
    expect(await ids('q=%25_')).toEqual([b.id]);

    const seen: string[] = [];
    let next: string | null = null;
    do {
      const res = await call(t, 'GET', `?limit=3${next ? `&before=${next}` : ''}`);
      seen.push(...res.json().items.map((f: { id: string }) => f.id));
      next = res.json().next;
    } while (next);
    expect(seen).toEqual([d.id, c.id, b.id, a.id]);
    const bad = await call(t, 'GET', '?before=bm9wZQ');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('querystring.before');
  });

  it('shows a file with its stages, probe, derivatives, texts and chunk counts', async () => {
    const t = await tenant();
    const file = await uploaded(t, PNG, { filename: 'talk.png' });
    const fresh = await call(t, 'GET', `/${file.id}`);
    expect(fresh.json()).toMatchObject({
      id: file.id,
      stages: { probe: { status: 'pending' }, embeddings: { status: 'pending' } },
      probe: null,
      derivatives: [],
      texts: [],
      chunks: { total: 0, embedded: 0 },
      deletionRequestId: null,
    });
    expect((await call(t, 'GET', `/${file.id}/derivatives/thumbnail`)).statusCode).toBe(404);

    // What ingest would have written.
    const thumb = Buffer.from('RIFF....WEBPVP8 fake thumbnail');
    const thumbKey = `media/${t.ws}/${file.id}/thumbnail.webp`;
    await storage.put(thumbKey, thumb);
    await sql(
      sys.orm,
      `insert into media_derivatives (id, file_id, workspace_id, kind, storage_key, mime_type, width, height, size_bytes, created_at)
       values (?, ?, ?, 'thumbnail', ?, 'image/webp', 1, 1, ?, now())`,
      [randomUUID(), file.id, t.ws, thumbKey, thumb.length],
    );
    const segments = Array.from({ length: 250 }, (_, i) => ({
      text: `line ${i}`,
      startMs: i * 1000,
      endMs: i * 1000 + 900,
    }));
    await sql(
      sys.orm,
      `insert into media_texts (id, file_id, workspace_id, source, engine, language, text, segments, created_at)
       values (?, ?, ?, 'transcript', 'openai/whisper-1', 'en', ?, ?::jsonb, now())`,
      [randomUUID(), file.id, t.ws, segments.map((s) => s.text).join(' '), JSON.stringify(segments)],
    );
    for (const [seq, embedding] of [
      [0, '{0.6,0.8}'],
      [1, '{1,0}'],
      [2, null],
    ] as const) {
      await sql(
        sys.orm,
        `insert into media_chunks (file_id, workspace_id, source, seq, text, model, embedding) values (?, ?, 'transcript', ?, 'chunk', ?, ?::real[])`,
        [file.id, t.ws, seq, embedding ? 'test/2' : null, embedding],
      );
    }
    await sql(
      sys.orm,
      `update media_files set probe = ?::jsonb, stages = jsonb_set(stages, '{probe}', '{"status":"done"}') where id = ?`,
      [JSON.stringify({ kind: 'image', width: 1, height: 1, format: 'png' }), file.id],
    );

    const res = await call(t, 'GET', `/${file.id}`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.stages.probe).toEqual({ status: 'done' });
    expect(body.probe).toEqual({ kind: 'image', width: 1, height: 1, format: 'png' });
    expect(body.derivatives).toEqual([
      {
        kind: 'thumbnail',
        width: 1,
        height: 1,
        mimeType: 'image/webp',
        sizeBytes: thumb.length,
        url: `/v1/workspaces/${t.ws}/media/${file.id}/derivatives/thumbnail`,
      },
    ]);
    expect(body.chunks).toEqual({ total: 3, embedded: 2 });
    const [transcript] = body.texts;
    expect(transcript).toMatchObject({
      source: 'transcript',
      engine: 'openai/whisper-1',
      language: 'en',
      textLength: segments.map((s) => s.text).join(' ').length,
      segmentCount: 250,
      segmentsTruncated: true,
    });
    expect(transcript.segments).toHaveLength(200);
    expect(transcript.segments[199]).toEqual(segments[199]);

    const derivative = await sys.app.inject({ method: 'GET', url: body.derivatives[0].url, headers: bearer(t.token) });
    expect(derivative.statusCode).toBe(200);
    expect(derivative.headers['content-type']).toBe('image/webp');
    expect(derivative.rawPayload).toEqual(thumb);
    expect((await call(t, 'GET', `/${file.id}/derivatives/preview`)).statusCode).toBe(404);
  });

  it('downloads the original whole or by range', async () => {
    const t = await tenant();
    const file = await uploaded(t, PNG, { filename: 'résumé.png' });
    await call(t, 'PATCH', `/${file.id}`, { name: 'résumé "final".png' });
    const get = (headers: Record<string, string> = {}) =>
      sys.app.inject({ method: 'GET', url: file.contentUrl, headers: { ...bearer(t.token), ...headers } });

    const whole = await get();
    expect(whole.statusCode).toBe(200);
    expect(whole.rawPayload).toEqual(PNG);
    expect(whole.headers).toMatchObject({
      'content-type': 'image/png',
      'content-length': String(PNG.length),
      'accept-ranges': 'bytes',
      etag: `"${sha(PNG)}"`,
      'x-content-type-options': 'nosniff',
      'content-disposition': `inline; filename="r_sum_ _final_.png"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.png`,
    });

    const head = await sys.app.inject({ method: 'HEAD', url: file.contentUrl, headers: bearer(t.token) });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe(String(PNG.length));
    expect(head.rawPayload).toHaveLength(0);

    const first = await get({ range: 'bytes=0-3' });
    expect(first.statusCode).toBe(206);
    expect(first.headers['content-range']).toBe(`bytes 0-3/${PNG.length}`);
    expect(first.headers['content-length']).toBe('4');
    expect(first.rawPayload).toEqual(PNG.subarray(0, 4));
    const last = await get({ range: 'bytes=-5' });
    expect(last.rawPayload).toEqual(PNG.subarray(-5));
    const open = await get({ range: `bytes=${PNG.length - 2}-` });
    expect(open.rawPayload).toEqual(PNG.subarray(-2));

    const beyond = await get({ range: `bytes=${PNG.length}-` });
    expect(beyond.statusCode).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${PNG.length}`);
    expect(beyond.json().error.code).toBe('RANGE_NOT_SATISFIABLE');
    // A range for another version of the file gets the whole current one.
    const stale = await get({ range: 'bytes=0-3', 'if-range': '"something-else"' });
    expect(stale.statusCode).toBe(200);
    expect(stale.rawPayload).toEqual(PNG);
  });

  it('sends derivatives with an ETag and honours If-Range for them', async () => {
    const t = await tenant();
    const file = await uploaded(t, PNG, { filename: 'shot.png' });
    const thumb = Buffer.from('RIFF....WEBPVP8 a thumbnail of some length');
    const thumbKey = `media/${t.ws}/${file.id}/thumbnail`;
    await storage.put(thumbKey, thumb);
    await sql(
      sys.orm,
      `insert into media_derivatives (id, file_id, workspace_id, kind, storage_key, mime_type, width, height, size_bytes, created_at)
       values (?, ?, ?, 'thumbnail', ?, 'image/webp', 1, 1, ?, now())`,
      [randomUUID(), file.id, t.ws, thumbKey, thumb.length],
    );
    const get = (headers: Record<string, string> = {}) =>
      sys.app.inject({
        method: 'GET',
        url: `/v1/workspaces/${t.ws}/media/${file.id}/derivatives/thumbnail`,
        headers: { ...bearer(t.token), ...headers },
      });
    const whole = await get();
    expect(whole.statusCode).toBe(200);
    const etag = whole.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect((await get()).headers.etag).toBe(etag);

    const ranged = await get({ range: 'bytes=0-3', 'if-range': etag });
    expect(ranged.statusCode).toBe(206);
    expect(ranged.headers['content-range']).toBe(`bytes 0-3/${thumb.length}`);
    expect(ranged.rawPayload).toEqual(thumb.subarray(0, 4));
    // RFC 9110 §13.1.5: another tag, a weak one or a date validates nothing: the whole image, 200.
    for (const ifRange of ['"something-else"', `W/${etag}`, new Date().toUTCString()]) {
      const stale = await get({ range: 'bytes=0-3', 'if-range': ifRange });
      expect(stale.statusCode, ifRange).toBe(200);
      expect(stale.rawPayload).toEqual(thumb);
      expect(stale.headers['content-range']).toBeUndefined();
    }

    // Ingest makes it again (the row is upserted): the tag changes, and an old If-Range gets it whole.
    const remade = Buffer.from('RIFF....WEBPVP8 the new thumbnail');
    await storage.put(thumbKey, remade);
    await sql(
      sys.orm,
      `update media_derivatives set size_bytes = ?, created_at = now() where file_id = ? and kind = 'thumbnail'`,
      [remade.length, file.id],
    );
    const after = await get({ range: 'bytes=0-3', 'if-range': etag });
    expect(after.statusCode).toBe(200);
    expect(after.rawPayload).toEqual(remade);
    expect(after.headers.etag).not.toBe(etag);
  });

  it('shows a stage its stored JSON lacks as pending', async () => {
    const t = await tenant();
    const file = await uploaded(t, PNG);
    for (const stages of [{ probe: { status: 'done' } }, {}, { probe: {}, ocr: null, transcript: 'x' }]) {
      await sql(sys.orm, 'update media_files set stages = ?::jsonb, probe = ?::jsonb where id = ?', [
        JSON.stringify(stages),
        JSON.stringify({ width: 3 }),
        file.id,
      ]);
      const res = await call(t, 'GET', `/${file.id}`);
      expect(res.statusCode, `${JSON.stringify(stages)}: ${res.body}`).toBe(200);
      const probe = (stages as { probe?: { status?: string } }).probe?.status ?? 'pending';
      expect(res.json().stages).toEqual({
        probe: { status: probe },
        thumbnails: { status: 'pending' },
        ocr: { status: 'pending' },
        transcript: { status: 'pending' },
        embeddings: { status: 'pending' },
      });
      // A probe without a kind is no probe.
      expect(res.json().probe).toBeNull();
    }
  });

  it('serves content it does not recognise as a download', async () => {
    const t = await tenant();
    const file = await uploaded(t, Buffer.from('<svg onload="alert(1)"/>'), {
      filename: 'x.svg',
      type: 'image/svg+xml',
    });
    const res = await sys.app.inject({ method: 'GET', url: file.contentUrl, headers: bearer(t.token) });
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="x.svg"; filename\*=UTF-8''x\.svg$/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('changing and deleting', () => {
  it('renames, moves and retags', async () => {
    const t = await tenant();
    const file = await uploaded(t, PNG, { filename: 'a.png', query: { tags: 'old' } });
    const res = await call(t, 'PATCH', `/${file.id}`, { name: ' b.png ', folder: 'new/place', tags: ['x', 'y', 'x'] });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ name: 'b.png', folder: 'new/place', tags: ['x', 'y'] });
    const [row] = await fileRows(t.ws);
    expect(row).toMatchObject({ name: 'b.png', folder: 'new/place', tags: ['x', 'y'] });
    for (const [body, field] of [
      [{ folder: 'a/../b' }, 'body.folder'],
      [{ name: '   ' }, 'body.name'],
      [{ name: 'a/b' }, 'body.name'],
      [{ tags: ['a,b'] }, 'body.tags.0'],
    ] as const) {
      const bad = await call(t, 'PATCH', `/${file.id}`, body);
      expect(bad.statusCode, JSON.stringify(body)).toBe(400);
      expect(bad.json().error.field).toBe(field);
    }
    expect((await fileRows(t.ws))[0]).toMatchObject({ name: 'b.png', folder: 'new/place' });
  });

  it('files a deletion request (admins only), once', async () => {
    const t = await tenant();
    const file = await uploaded(t, PNG);
    const member = await signUp(sys.app, 'member');
    await sql(
      sys.orm,
      `insert into memberships (id, workspace_id, user_id, role, created_at) values (?, ?, ?, 'member', now())`,
      [randomUUID(), t.ws, member.id],
    );
    const refused = await call({ ...t, token: member.token }, 'DELETE', `/${file.id}`);
    expect(refused.statusCode).toBe(403);

    const res = await call(t, 'DELETE', `/${file.id}`);
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ kind: 'file', subjectId: file.id, workspaceId: t.ws, channel: 'api' });
    const rows = await sql(sys.orm, `select kind, status from deletion_requests where subject_id = ?`, [file.id]);
    expect(rows).toEqual([{ kind: 'file', status: 'received' }]);
    const again = await call(t, 'DELETE', `/${file.id}`);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('DELETION_PENDING');
    // Visible until purged, with the request it is waiting for.
    expect((await call(t, 'GET', `/${file.id}`)).json().deletionRequestId).toBe(res.json().id);
  });

  it("gives another workspace's member 404 on every route", async () => {
    const t = await tenant();
    const file = await uploaded(t, PNG);
    const other = await tenant('other');
    const routes: [string, string, object?][] = [
      ['GET', ''],
      ['GET', '/usage'],
      ['GET', '/search?q=x'],
      ['GET', `/${file.id}`],
      ['GET', `/${file.id}/content`],
      ['GET', `/${file.id}/derivatives/thumbnail`],
      ['PATCH', `/${file.id}`, { name: 'stolen' }],
      ['POST', `/${file.id}/reingest`],
      ['DELETE', `/${file.id}`],
    ];
    for (const ws of [t.ws, other.ws]) {
      for (const [method, url, payload] of routes) {
        // Their own workspace with this file id, and this workspace outright.
        if (ws === other.ws && !url.startsWith(`/${file.id}`)) continue;
        const res = await call({ ...other, ws }, method as 'GET', url, payload);
        expect(res.statusCode, `${method} ${ws === t.ws ? 'foreign' : 'own'} workspace ${url}`).toBe(404);
      }
    }
    const res = await upload({ ...other, ws: t.ws }, PNG);
    expect(res.statusCode).toBe(404);
    expect(await fileRows(t.ws)).toHaveLength(1);
    expect((await fileRows(t.ws))[0]).toMatchObject({ name: file.name });
    expect(await sql(sys.orm, 'select 1 from deletion_requests where subject_id = ?', [file.id])).toEqual([]);
  });
});

describe('re-ingest', () => {
  const run = (fileId: string) => sys.app.deps.temporal.workflow.getHandle(`media/${fileId}`);
  const pending = { status: 'pending' };
  const allPending = { probe: pending, thumbnails: pending, ocr: pending, transcript: pending, embeddings: pending };

  it('starts a new run for a file whose ingest ended, one at a time, for members', async () => {
    const t = await tenant();
    const file = await uploaded(t, PNG);
    const first = await run(file.id).describe();
    // No media worker here: the upload's run is ended by hand, and the row made what a failed ingest leaves.
    await run(file.id).terminate('test: the first ingest is over');
    await sql(
      sys.orm,
      `update media_files set status = 'failed', failure_reason = 'probe: the file could not be read',
         stages = ?::jsonb, ready_at = now() where id = ?`,
      [JSON.stringify({ ...allPending, probe: { status: 'failed', reason: 'unreadable', at: 'then' } }), file.id],
    );
    const member = await signUp(sys.app, 'member');
    await sql(
      sys.orm,
      `insert into memberships (id, workspace_id, user_id, role, created_at) values (?, ?, ?, 'member', now())`,
      [randomUUID(), t.ws, member.id],
    );

    const res = await call({ ...t, token: member.token }, 'POST', `/${file.id}/reingest`);
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ id: file.id, status: 'processing', failureReason: null, readyAt: null });
    const [row] = await fileRows(t.ws);
    expect(row).toMatchObject({ status: 'processing', failure_reason: null, ready_at: null, stages: allPending });
    const second = await run(file.id).describe();
    expect(second.type).toBe('mediaIngestWorkflow');
    expect(second.status.name).toBe('RUNNING');
    expect(second.runId).not.toBe(first.runId);

    // While that run goes on: 409, and neither the row nor the run is touched.
    await sql(
      sys.orm,
      `update media_files set stages = jsonb_set(stages, '{probe}', '{"status":"running"}') where id = ?`,
      [file.id],
    );
    const before = await fileRows(t.ws);
    const again = await call(t, 'POST', `/${file.id}/reingest`);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('INGEST_RUNNING');
    expect(await fileRows(t.ws)).toEqual(before);
    expect((await run(file.id).describe()).runId).toBe(second.runId);

    // Stuck `processing` with no run left: started again.
    await run(file.id).terminate('test: the run died');
    const stuck = await call(t, 'POST', `/${file.id}/reingest`);
    expect(stuck.statusCode, stuck.body).toBe(202);
    const third = await run(file.id).describe();
    expect(third.status.name).toBe('RUNNING');
    expect(third.runId).not.toBe(second.runId);
    expect((await fileRows(t.ws))[0]).toMatchObject({ status: 'processing', stages: allPending });
    await run(file.id).terminate('test: done');

    // Someone else's file: 404, from their workspace or this one.
    const other = await tenant('other');
    expect((await call(other, 'POST', `/${file.id}/reingest`)).statusCode).toBe(404);
    expect((await call({ ...other, ws: t.ws }, 'POST', `/${file.id}/reingest`)).statusCode).toBe(404);
    expect((await call(t, 'POST', `/${randomUUID()}/reingest`)).statusCode).toBe(404);
    expect((await run(file.id).describe()).status.name).toBe('TERMINATED');
  });

  it('is refused while the file is being deleted', async () => {
    const t = await tenant();
    const file = await uploaded(t, PNG);
    await run(file.id).terminate('test: the first ingest is over');
    expect((await call(t, 'DELETE', `/${file.id}`)).statusCode).toBe(202);
    const res = await call(t, 'POST', `/${file.id}/reingest`);
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('DELETION_PENDING');
    expect((await run(file.id).describe()).status.name).toBe('TERMINATED');
  });

  it('is documented with its statuses', () => {
    const doc = sys.app.swagger() as unknown as {
      paths: Record<string, Record<string, { description: string; responses: Record<string, unknown> }>>;
    };
    const op = doc.paths['/v1/workspaces/{workspaceId}/media/{fileId}/reingest']!.post!;
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['202', '404', '409', '503']));
    expect(op.description).toMatch(/INGEST_RUNNING/);
  });
});

describe('search', () => {
  it('finds files by name with keyword search, and says when semantic search is off', async () => {
    const t = await tenant();
    const file = await uploaded(t, PNG, { filename: 'harbour-sunrise.png' });
    await uploaded(t, PNG, { filename: 'office.png' });
    const res = await call(t, 'GET', '/search?q=harbour&mode=keyword');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().items.map((h: { fileId: string }) => h.fileId)).toEqual([file.id]);
    // No embedding provider in this system (no OpenAI key).
    const semantic = await call(t, 'GET', '/search?q=harbour&mode=semantic');
    expect(semantic.statusCode).toBe(409);
    expect(semantic.json().error).toMatchObject({ code: 'SEARCH_UNAVAILABLE', field: 'querystring.mode' });
    const blank = await call(t, 'GET', '/search?q=%20%20');
    expect(blank.statusCode).toBe(400);
    expect(blank.json().error.field).toBe('querystring.q');
  });
});
