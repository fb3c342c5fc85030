import { createHash, randomUUID } from 'node:crypto';
import { pipeline, type Readable, Transform } from 'node:stream';
import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type EntityManager, LockMode } from '@mikro-orm/core';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import {
  DERIVATIVE_KINDS,
  DeletionRequest,
  MEDIA_KINDS,
  MEDIA_STAGES,
  MEDIA_STATUSES,
  MediaDerivative,
  MediaFile,
  type MediaProbe,
  type MediaStages,
  type StageState,
  TEXT_SOURCES,
} from '../../db/entities/index.ts';
import { SEARCH_MODES } from '../../domain/media.ts';
import { createEmbeddingProvider } from '../../lib/ai.ts';
import { requestView } from '../../lib/compliance.ts';
import { createMediaSearch, SearchUnavailableError } from '../../lib/media/search.ts';
import { SNIFF_BYTES, sniff } from '../../lib/media/sniff.ts';
import { sqlOf } from '../../lib/sql.ts';
import { createStorage, ObjectNotFoundError, ObjectTooLargeError, type PutResult } from '../../lib/storage.ts';
import { isPlatformError } from '../../platforms/errors.ts';
import { startIngest } from '../../workflows/media.client.ts';
import { mediaWorkflowId } from '../../workflows/media.messages.ts';
import { AppError, conflict, notFound, unavailable, validatorCompiler } from '../errors.ts';
import { requireRole } from '../plugins/auth.ts';
import { bearerSecurity, commonErrors, ErrorResponse, Strict, Timestamp, Uuid } from '../schemas.ts';
import { DeletionRequestView, submitDeletion } from './deletion.ts';

// The media library: streamed uploads into object storage (quota-checked before, during and after
// the bytes), the files and what ingest derived from them, downloads with ranges, and search. The
// ingest itself is `media/<fileId>`, started once the row exists.

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

/** "/"-separated segments ("" is the root), none of them "." or "..", no control characters. */
const Folder = Type.String({
  maxLength: 500,
  pattern: '^(?:(?!\\.\\.?(?:/|$))[^/\\u0000-\\u001f\\u007f]+(?:/(?!\\.\\.?(?:/|$))[^/\\u0000-\\u001f\\u007f]+)*)?$',
  description: '"/"-separated folder path, "" for the root; no empty, "." or ".." segments',
});
const TAG = '[^,\\u0000-\\u001f\\u007f]{1,50}';
const Tag = Type.String({ minLength: 1, maxLength: 50, pattern: `^${TAG}$` });
const Name = Type.String({ minLength: 1, maxLength: 255, pattern: '^[^/\\\\\\u0000-\\u001f\\u007f]+$' });
const MAX_TAGS = 20;

/** Segments of a transcript or pages of OCR text returned with a file; the rest are left out. */
const MAX_SEGMENTS = 200;
/**
 * Multipart framing around the file (boundaries, part headers, the few small fields allowed): a
 * request longer than the room left by more than this cannot fit, whatever its file turns out to be.
 */
const ENVELOPE_BYTES = 64 * 1024;
const OPEN_DELETION = ['received', 'in_grace', 'in_progress'] as const;

const FileView = Type.Object({
  id: Uuid,
  name: Type.String(),
  folder: Type.String(),
  tags: Type.Array(Type.String()),
  kind: Nullable(Type.Enum(MEDIA_KINDS)),
  /** Sniffed from the bytes. */
  mimeType: Nullable(Type.String()),
  /** What the uploader said it was. */
  declaredType: Nullable(Type.String()),
  sizeBytes: Type.Integer(),
  sha256: Type.String(),
  status: Type.Enum(MEDIA_STATUSES),
  failureReason: Nullable(Type.String()),
  uploadedBy: Nullable(Uuid),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  readyAt: Nullable(Timestamp),
  contentUrl: Type.String(),
});
type FileView = Static<typeof FileView>;

const StageView = Type.Object({
  status: Type.String(),
  reason: Type.Optional(Type.String()),
  at: Type.Optional(Type.String()),
});
const Segment = Type.Object({
  text: Type.String(),
  startMs: Type.Optional(Type.Number()),
  endMs: Type.Optional(Type.Number()),
  page: Type.Optional(Type.Integer()),
});

const FileDetail = Type.Intersect([
  FileView,
  Type.Object({
    stages: Type.Object({
      probe: StageView,
      thumbnails: StageView,
      ocr: StageView,
      transcript: StageView,
      embeddings: StageView,
    }),
    probe: Nullable(
      Type.Object({
        kind: Type.Enum(MEDIA_KINDS),
        durationMs: Type.Optional(Type.Number()),
        width: Type.Optional(Type.Integer()),
        height: Type.Optional(Type.Integer()),
        pages: Type.Optional(Type.Integer()),
        videoCodec: Type.Optional(Type.String()),
        audioCodec: Type.Optional(Type.String()),
        hasAudio: Type.Optional(Type.Boolean()),
        format: Type.Optional(Type.String()),
      }),
    ),
    /** The open deletion request, if any: the file stays visible until it is purged. */
    deletionRequestId: Nullable(Uuid),
    derivatives: Type.Array(
      Type.Object({
        kind: Type.Enum(DERIVATIVE_KINDS),
        width: Type.Integer(),
        height: Type.Integer(),
        mimeType: Type.String(),
        sizeBytes: Type.Integer(),
        url: Type.String(),
      }),
    ),
    texts: Type.Array(
      Type.Object({
        source: Type.Enum(TEXT_SOURCES),
        engine: Type.String(),
        language: Nullable(Type.String()),
        textLength: Type.Integer(),
        segmentCount: Type.Integer(),
        /** The first MAX_SEGMENTS segments; `segmentsTruncated` says whether there are more. */
        segments: Type.Array(Segment),
        segmentsTruncated: Type.Boolean(),
      }),
    ),
    chunks: Type.Object({ total: Type.Integer(), embedded: Type.Integer() }),
  }),
]);

const SearchHitView = Type.Object({
  fileId: Uuid,
  name: Type.String(),
  kind: Nullable(Type.Enum(MEDIA_KINDS)),
  mimeType: Nullable(Type.String()),
  folder: Type.String(),
  source: Type.Union([Type.Enum(TEXT_SOURCES), Type.Literal('name')]),
  startMs: Nullable(Type.Number()),
  endMs: Nullable(Type.Number()),
  page: Nullable(Type.Integer()),
  snippet: Type.String(),
  score: Type.Number(),
  matchedBy: Type.Array(Type.Union([Type.Literal('keyword'), Type.Literal('semantic')])),
});

const FileParams = Strict({ workspaceId: Uuid, fileId: Uuid });

const UploadQuery = Strict({
  folder: Type.Optional(Folder),
  tags: Type.Optional(
    Type.String({
      maxLength: MAX_TAGS * 51,
      pattern: `^${TAG}(?:,${TAG}){0,${MAX_TAGS - 1}}$`,
      description: `Comma-separated, at most ${MAX_TAGS} tags of at most 50 characters`,
    }),
  ),
});

const ListQuery = Strict({
  folder: Type.Optional(Folder),
  tag: Type.Optional(Tag),
  kind: Type.Optional(Type.Enum(MEDIA_KINDS)),
  status: Type.Optional(Type.Enum(MEDIA_STATUSES)),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Part of the name' })),
  /** Keyset paging: the `next` of the previous page. */
  before: Type.Optional(Type.String({ maxLength: 100 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
});

const SearchQuery = Strict({
  q: Type.String({ minLength: 1, maxLength: 500, pattern: '\\S' }),
  mode: Type.Optional(Type.Enum(SEARCH_MODES)),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  kind: Type.Optional(Type.Enum(MEDIA_KINDS)),
  folder: Type.Optional(Folder),
  tag: Type.Optional(Tag),
});

const Binary = (description: string) => ({
  description,
  content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
});

const fileTooLarge = (maxBytes: number) =>
  new AppError(413, 'FILE_TOO_LARGE', `the file is larger than the ${maxBytes} bytes an upload may have`, 'body.file');
const malformedMultipart = () =>
  new AppError(
    400,
    'MALFORMED_MULTIPART',
    'the upload ended early or its multipart body is malformed; nothing was kept',
    'body.file',
  );
const quotaExceeded = (used: number, limit: number) =>
  new AppError(
    413,
    'QUOTA_EXCEEDED',
    `the workspace's media storage is full for this file: ${used} of ${limit} bytes used`,
    'body.file',
  );

/** Bytes counted against the quota: originals and everything derived from them. */
async function usedBytes(em: EntityManager, workspaceId: string): Promise<number> {
  const [row] = await sqlOf(em).execute<{ used: string }[]>(
    'select coalesce(sum(size_bytes + derived_bytes), 0)::text as used from media_files where workspace_id = ?',
    [workspaceId],
  );
  return Number(row?.used ?? 0);
}

/** The upload's file name without any path, control characters or surplus length. */
function safeName(filename: string | undefined): string {
  const base = (filename ?? '').split(/[/\\]/).pop() ?? '';
  const clean = base
    .normalize('NFC')
    .replace(/\p{Cc}/gu, '')
    .trim();
  return [...clean].slice(0, 255).join('') || 'untitled';
}

/**
 * Passes bytes through and keeps a copy of the first `size` for sniffing; `onDestroy` runs the
 * moment it is destroyed (by an error on either side).
 */
function headTap(size: number, onDestroy: () => void) {
  const kept: Buffer[] = [];
  let length = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (length < size) {
        const piece = Buffer.from(chunk.subarray(0, size - length));
        kept.push(piece);
        length += piece.length;
      }
      done(null, chunk);
    },
    destroy(err, done) {
      onDestroy();
      done(err);
    },
  });
  return { stream, head: () => Buffer.concat(kept) };
}

/** RFC 6266: an ASCII fallback and the exact UTF-8 name. */
function contentDisposition(type: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${type}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * A single `bytes=` range of an object of `size` bytes: `undefined` to send it all (no Range header,
 * one that is not understood, several ranges), `null` when it cannot be satisfied.
 */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    return suffix === 0 || size === 0 ? null : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  return start >= size ? null : { start, end };
}

const cursorOf = (f: MediaFile) => Buffer.from(`${new Date(f.createdAt).toISOString()}|${f.id}`).toString('base64url');
function decodeCursor(value: string): [Date, string] {
  const [at, id] = Buffer.from(value, 'base64url').toString('utf8').split('|');
  if (!at || !id || Number.isNaN(Date.parse(at)) || !/^[0-9a-f-]{36}$/.test(id)) {
    throw new AppError(
      400,
      'VALIDATION_FAILED',
      'querystring.before is not a cursor this API gave',
      'querystring.before',
    );
  }
  return [new Date(at), id];
}

const uniqueTags = (list: string[]) => [...new Set(list.map((t) => t.trim()))].filter(Boolean);
const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString() : null);

const pendingStages = () => Object.fromEntries(MEDIA_STAGES.map((s) => [s, { status: 'pending' }])) as MediaStages;

/** Every stage, whatever the stored JSON holds: one it lacks (or that has no status) shows as pending. */
function stagesView(stages: unknown): MediaStages {
  const stored = stages && typeof stages === 'object' ? (stages as Record<string, Partial<StageState> | null>) : {};
  const one = (s: Partial<StageState> | null | undefined): StageState =>
    s && typeof s === 'object' && typeof s.status === 'string'
      ? {
          status: s.status,
          ...(typeof s.reason === 'string' ? { reason: s.reason } : {}),
          ...(typeof s.at === 'string' ? { at: s.at } : {}),
        }
      : { status: 'pending' };
  return Object.fromEntries(MEDIA_STAGES.map((name) => [name, one(stored[name])])) as MediaStages;
}

/** The probe's fields of the documented types; none without a known kind. */
function probeView(probe: MediaProbe | null | undefined): MediaProbe | null {
  if (!probe || typeof probe !== 'object' || !MEDIA_KINDS.includes(probe.kind)) return null;
  const view: MediaProbe = { kind: probe.kind };
  for (const key of ['durationMs', 'width', 'height', 'pages'] as const) {
    if (Number.isFinite(probe[key])) view[key] = probe[key];
  }
  for (const key of ['videoCodec', 'audioCodec', 'format'] as const) {
    if (typeof probe[key] === 'string') view[key] = probe[key];
  }
  if (typeof probe.hasAudio === 'boolean') view.hasAudio = probe.hasAudio;
  return view;
}

/**
 * A failure as a log line gives it: kind, codes and a bounded message. Storage, S3 and Temporal
 * messages name keys, paths and codes, never credentials; they stay in the log, never in a response.
 */
function causeOf(err: unknown) {
  const e = (err ?? {}) as { name?: unknown; code?: unknown; status?: unknown; message?: unknown };
  return {
    name: typeof e.name === 'string' ? e.name : typeof err,
    ...(e.code === undefined ? {} : { code: String(e.code) }),
    ...(e.status === undefined ? {} : { status: Number(e.status) }),
    message: String(e.message ?? err).slice(0, 300),
  };
}

/**
 * A derivative's validator: its key, size, type and the time its row was last written (a stage
 * that makes it again replaces the object, then the row), so other bytes never share a tag.
 */
const derivativeEtag = (d: MediaDerivative) =>
  `"${createHash('sha256')
    .update([d.storageKey, d.sizeBytes, d.mimeType, d.width, d.height, new Date(d.createdAt).toISOString()].join('\n'))
    .digest('base64url')
    .slice(0, 32)}"`;

export const mediaRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { orm, temporal, config } = app.deps;
  const tags = ['media'];
  const storage = createStorage(config);
  const search = createMediaSearch({ orm, embeddings: createEmbeddingProvider(config) });
  app.addHook('onClose', async () => search.close());

  // Only this plugin's routes take multipart bodies. One byte over the largest upload: storage's
  // maxBytes then refuses the file (storing nothing) before busboy could cut it short silently.
  await app.register(multipart, {
    throwFileSizeLimit: false,
    limits: { fileSize: config.media.maxUploadBytes + 1, files: 1, fields: 10, fieldSize: 1024, parts: 12 },
  });

  const base = (workspaceId: string, fileId: string) => `${app.prefix}/workspaces/${workspaceId}/media/${fileId}`;

  function view(f: MediaFile): FileView {
    return {
      id: f.id,
      name: f.name,
      folder: f.folder,
      tags: f.tags,
      kind: f.kind ?? null,
      mimeType: f.mimeType ?? null,
      declaredType: f.declaredType ?? null,
      sizeBytes: f.sizeBytes,
      sha256: f.sha256,
      status: f.status,
      failureReason: f.failureReason ?? null,
      uploadedBy: f.uploadedBy ?? null,
      createdAt: new Date(f.createdAt).toISOString(),
      updatedAt: new Date(f.updatedAt).toISOString(),
      readyAt: iso(f.readyAt),
      contentUrl: `${base(f.workspace, f.id)}/content`,
    };
  }

  async function fileOf(em: EntityManager, workspaceId: string, fileId: string) {
    const file = await em.findOne(MediaFile, { id: fileId, workspace: workspaceId });
    if (!file) throw notFound('media file');
    return file;
  }

  /**
   * Removes the stored bytes of an upload that is undone. Best effort: the answer is about the
   * upload, so a failure here is only logged; what stays is removed with the workspace's
   * `media/<workspaceId>/` prefix.
   */
  async function discardUpload(log: FastifyBaseLogger, fileId: string, storageKey: string) {
    try {
      await storage.delete(storageKey);
    } catch (err) {
      log.warn({ fileId, storageKey, cause: causeOf(err) }, 'could not remove the bytes of an undone upload');
    }
  }

  const openDeletion = (em: EntityManager, fileId: string) =>
    em.findOne(DeletionRequest, { kind: 'file', subjectId: fileId, status: { $in: [...OPEN_DELETION] } });

  /**
   * Streams a stored object, or the one range asked for. If-Range (RFC 9110 §13.1.5) is compared
   * strongly with the `etag` sent: a range for any other version (a weak tag, a date) is ignored
   * and the whole object sent with 200.
   */
  async function sendObject(
    request: FastifyRequest,
    reply: FastifyReply,
    object: { key: string; size: number; headers: Record<string, string> & { etag: string } },
  ) {
    const { key, size, headers } = object;
    const ifRange = request.headers['if-range'];
    // Several If-Range headers validate nothing either.
    const current = ifRange === undefined || (typeof ifRange === 'string' && ifRange.trim() === headers.etag);
    const range = current ? parseRange(request.headers.range, size) : undefined;
    if (range === null) {
      throw new AppError(416, 'RANGE_NOT_SATISFIABLE', `the file has ${size} bytes`, 'headers.range', {
        'content-range': `bytes */${size}`,
      });
    }
    let body: Readable;
    try {
      body = await storage.get(key, range);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) throw notFound('stored content');
      request.log.error({ storageKey: key, cause: causeOf(err) }, 'could not read a stored media object');
      throw unavailable('the stored content could not be read; try again');
    }
    // Set only now: an error above is answered as JSON, not as the file's type.
    reply.headers({ ...headers, 'accept-ranges': 'bytes', 'x-content-type-options': 'nosniff' });
    if (range) {
      reply
        .code(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
        .header('content-length', String(range.end - range.start + 1));
    } else reply.header('content-length', String(size));
    // A stream is sent as is (no serialisation); the cast only satisfies the schema-derived type.
    return reply.send(body as unknown as string);
  }

  app.post(
    '/workspaces/:workspaceId/media',
    {
      schema: {
        tags,
        summary: 'Upload a file (multipart, field "file"); ingest starts in the background',
        description:
          'The bytes are streamed into storage; the type is sniffed from them (the name and declared type do not count). `folder` and `tags` are query parameters so they are checked before the upload. 413 `FILE_TOO_LARGE` past the upload limit, 413 `QUOTA_EXCEEDED` past the workspace quota, 400 `MALFORMED_MULTIPART` for a body cut short; nothing is kept then. 503 when storage, the database or the ingest could not take the file (try again).',
        security: bearerSecurity,
        consumes: ['multipart/form-data'],
        params: Strict({ workspaceId: Uuid }),
        querystring: UploadQuery,
        body: Type.Object({ file: Type.String({ format: 'binary' }) }, { required: ['file'] }),
        response: { 201: FileView, 503: ErrorResponse, ...commonErrors },
      },
      // The body is a stream read in the handler, documented above but not validated as JSON.
      validatorCompiler: (route) => (route.httpPart === 'body' ? () => true : validatorCompiler(route)),
    },
    async (request, reply) => {
      const { workspaceId } = request.params;
      const { user } = await requireRole(request, workspaceId, 'member');
      if (!request.isMultipart()) {
        throw new AppError(
          415,
          'UNSUPPORTED_MEDIA_TYPE',
          'send multipart/form-data with the file in a part named "file"',
          'body.file',
        );
      }
      const { maxUploadBytes, workspaceQuotaBytes: limit } = config.media;
      const used = await usedBytes(orm.em.fork(), workspaceId);
      const room = Math.max(0, limit - used);
      // Refused before any byte is read when the declared length already cannot fit.
      const declared = Number(request.headers['content-length']);
      if (declared > maxUploadBytes + ENVELOPE_BYTES) throw fileTooLarge(maxUploadBytes);
      if (declared > room + ENVELOPE_BYTES) throw quotaExceeded(used, limit);

      let part: Awaited<ReturnType<typeof request.file>>;
      try {
        part = await request.file();
      } catch (err) {
        // The plugin's own refusals (limits) carry their status; anything else is the body's fault.
        const status = (err as { statusCode?: number }).statusCode;
        if (status && status >= 400 && status < 500) throw err;
        request.log.info({ cause: causeOf(err) }, 'a malformed multipart upload');
        throw malformedMultipart();
      }
      if (part?.fieldname !== 'file') {
        part?.file.resume();
        throw new AppError(
          400,
          'VALIDATION_FAILED',
          'body.file is required: a multipart part named "file"',
          'body.file',
        );
      }
      const fileId = randomUUID();
      const storageKey = `media/${workspaceId}/${fileId}/original`;
      // Errors of the request side (a malformed or cut-off body) end the stored write too. Told
      // apart from the storage side's by the order: the part has failed already when the tap goes
      // down for a request error, while a failing write takes the tap down first and the part after.
      let sourceError: Error | undefined;
      const tap = headTap(SNIFF_BYTES, () => {
        sourceError ??= part.file.errored ?? undefined;
      });
      const body = pipeline(part.file, tap.stream, () => {});
      let stored: PutResult;
      try {
        stored = await storage.put(storageKey, body, { maxBytes: Math.min(maxUploadBytes, room) });
      } catch (err) {
        if (err instanceof ObjectTooLargeError) {
          throw err.maxBytes < maxUploadBytes ? quotaExceeded(used, limit) : fileTooLarge(maxUploadBytes);
        }
        if (sourceError) {
          request.log.info({ fileId, cause: causeOf(sourceError) }, 'an upload body ended early');
          throw malformedMultipart();
        }
        request.log.error({ fileId, storageKey, cause: causeOf(err) }, 'could not store an upload');
        throw unavailable('the file could not be stored; nothing was kept, try again');
      }

      let file: MediaFile;
      try {
        const sniffed = await sniff(tap.head());
        file = await orm.em.fork().transactional(async (tx) => {
          // Uploads to one workspace queue here, so two cannot both fit into the same room.
          await sqlOf(tx).execute('select id from workspaces where id = ? for update', [workspaceId]);
          const usedNow = await usedBytes(tx, workspaceId);
          if (usedNow + stored.sizeBytes > limit) throw quotaExceeded(usedNow, limit);
          return tx.create(MediaFile, {
            id: fileId,
            workspace: workspaceId,
            uploadedBy: user,
            name: safeName(part.filename),
            folder: request.query.folder ?? '',
            tags: uniqueTags((request.query.tags ?? '').split(',')),
            declaredType: part.mimetype ? part.mimetype.slice(0, 200) : null,
            mimeType: sniffed.mime,
            kind: sniffed.kind,
            sizeBytes: stored.sizeBytes,
            sha256: stored.sha256,
            storageKey,
            status: 'processing',
            stages: pendingStages(),
          });
        });
      } catch (err) {
        await discardUpload(request.log, fileId, storageKey);
        if (err instanceof AppError) throw err;
        request.log.error({ fileId, cause: causeOf(err) }, 'could not record an upload');
        throw unavailable('the file could not be recorded; try again');
      }
      try {
        await startIngest(temporal, config, { fileId, workspaceId });
      } catch (err) {
        request.log.warn({ fileId, cause: causeOf(err) }, 'could not start the media ingest; undoing the upload');
        try {
          await orm.em.fork().nativeDelete(MediaFile, { id: fileId });
        } catch (rowErr) {
          // The row stays `processing` with its bytes: a re-ingest or a delete settles it.
          request.log.error({ fileId, cause: causeOf(rowErr) }, 'could not remove the row of an undone upload');
          throw unavailable('the file was stored but could not be queued for processing; re-ingest it or try again');
        }
        await discardUpload(request.log, fileId, storageKey);
        throw unavailable('the file could not be queued for processing; nothing was kept, try again');
      }
      reply.code(201);
      return view(file);
    },
  );

  app.get(
    '/workspaces/:workspaceId/media',
    {
      schema: {
        tags,
        summary: 'Media files, newest first, filtered',
        security: bearerSecurity,
        params: Strict({ workspaceId: Uuid }),
        querystring: ListQuery,
        response: {
          200: Type.Object({ items: Type.Array(FileView), next: Nullable(Type.String()) }),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const q = request.query;
      const where: Record<string, unknown> = { workspace: workspaceId };
      if (q.folder !== undefined) where.folder = q.folder;
      if (q.tag) where.tags = { $contains: [q.tag] };
      if (q.kind) where.kind = q.kind;
      if (q.status) where.status = q.status;
      if (q.q) where.name = { $ilike: `%${q.q.replace(/[\\%_]/g, '\\$&')}%` };
      if (q.before) {
        const [at, id] = decodeCursor(q.before);
        where.$or = [{ createdAt: { $lt: at } }, { createdAt: at, id: { $lt: id } }];
      }
      const limit = q.limit ?? 50;
      const rows = await orm.em.fork().find(MediaFile, where, {
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        limit: limit + 1,
      });
      const items = rows.slice(0, limit);
      return { items: items.map(view), next: rows.length > limit ? cursorOf(items[items.length - 1]!) : null };
    },
  );

  app.get(
    '/workspaces/:workspaceId/media/usage',
    {
      schema: {
        tags,
        summary: 'Media storage used by the workspace, and its limit',
        security: bearerSecurity,
        params: Strict({ workspaceId: Uuid }),
        response: {
          200: Type.Object({ usedBytes: Type.Integer(), limitBytes: Type.Integer(), files: Type.Integer() }),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const [row] = await sqlOf(orm.em.fork()).execute<{ used: string; files: number }[]>(
        `select coalesce(sum(size_bytes + derived_bytes), 0)::text as used, count(*)::int as files
           from media_files where workspace_id = ?`,
        [workspaceId],
      );
      return {
        usedBytes: Number(row?.used ?? 0),
        limitBytes: config.media.workspaceQuotaBytes,
        files: row?.files ?? 0,
      };
    },
  );

  app.get(
    '/workspaces/:workspaceId/media/search',
    {
      schema: {
        tags,
        summary: 'Search names, transcripts and OCR text',
        description:
          '`keyword` (full text), `semantic` (embeddings; 409 `SEARCH_UNAVAILABLE` when no embedding provider is configured, 503 when it does not answer) or `hybrid` (the default).',
        security: bearerSecurity,
        params: Strict({ workspaceId: Uuid }),
        querystring: SearchQuery,
        response: {
          200: Type.Object({ items: Type.Array(SearchHitView) }),
          409: ErrorResponse,
          503: ErrorResponse,
          ...commonErrors,
        },
      },
    },
    async (request) => {
      const { workspaceId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const { q, mode, limit, kind, folder, tag } = request.query;
      try {
        const items = await search.search(workspaceId, {
          q,
          mode: mode ?? 'hybrid',
          limit: limit ?? 20,
          kind,
          folder,
          tag,
        });
        return { items };
      } catch (err) {
        if (err instanceof SearchUnavailableError)
          throw conflict('SEARCH_UNAVAILABLE', err.message, 'querystring.mode');
        if (isPlatformError(err)) {
          // The embedding provider's own words (which may quote a key's prefix) stay in the log.
          request.log.warn({ cause: causeOf(err), kind: err.kind }, 'the embedding provider failed a search');
          throw unavailable('semantic search could not reach the embedding provider; try again or use mode=keyword');
        }
        throw err;
      }
    },
  );

  app.get(
    '/workspaces/:workspaceId/media/:fileId',
    {
      schema: {
        tags,
        summary: 'A media file with its ingest stages and what they derived',
        security: bearerSecurity,
        params: FileParams,
        response: { 200: FileDetail, ...commonErrors },
      },
    },
    async (request) => {
      const { workspaceId, fileId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const em = orm.em.fork();
      const file = await fileOf(em, workspaceId, fileId);
      const derivatives = await em.find(MediaDerivative, { file: fileId }, { orderBy: { kind: 'asc' } });
      const sql = sqlOf(em);
      // Texts can be long: their length and first segments, never the whole text.
      const texts = await sql.execute<
        {
          source: (typeof TEXT_SOURCES)[number];
          engine: string;
          language: string | null;
          text_length: number;
          segment_count: number;
          segments: Static<typeof Segment>[];
        }[]
      >(
        `select source, engine, language, char_length(text) as text_length, jsonb_array_length(segments) as segment_count,
           coalesce((select jsonb_agg(e.value order by e.ord) from jsonb_array_elements(t.segments) with ordinality as e(value, ord)
                     where e.ord <= ?), '[]'::jsonb) as segments
           from media_texts t where t.file_id = ? order by source`,
        [MAX_SEGMENTS, fileId],
      );
      const [chunks] = await sql.execute<{ total: number; embedded: number }[]>(
        'select count(*)::int as total, count(embedding)::int as embedded from media_chunks where file_id = ?',
        [fileId],
      );
      const deletion = await openDeletion(em, fileId);
      return {
        ...view(file),
        stages: stagesView(file.stages),
        probe: probeView(file.probe),
        deletionRequestId: deletion?.id ?? null,
        derivatives: derivatives.map((d) => ({
          kind: d.kind,
          width: d.width,
          height: d.height,
          mimeType: d.mimeType,
          sizeBytes: d.sizeBytes,
          url: `${base(workspaceId, fileId)}/derivatives/${d.kind}`,
        })),
        texts: texts.map((t) => ({
          source: t.source,
          engine: t.engine,
          language: t.language,
          textLength: t.text_length,
          segmentCount: t.segment_count,
          segments: t.segments,
          segmentsTruncated: t.segment_count > MAX_SEGMENTS,
        })),
        chunks: { total: chunks?.total ?? 0, embedded: chunks?.embedded ?? 0 },
      };
    },
  );

  app.get(
    '/workspaces/:workspaceId/media/:fileId/content',
    {
      schema: {
        tags,
        summary: 'Download the original (single byte ranges supported)',
        description:
          'Served with the sniffed type (`application/octet-stream` when unknown), `ETag` = the SHA-256, and as an attachment unless it is an image, video, audio file or PDF. A `Range: bytes=…` request gets 206, an unsatisfiable one 416; with an `If-Range` that is not the current `ETag` the range is ignored and the whole file sent (200). 503 when storage cannot be read.',
        security: bearerSecurity,
        params: FileParams,
        response: {
          200: Binary('The file'),
          206: Binary('The requested range'),
          416: ErrorResponse,
          503: ErrorResponse,
          ...commonErrors,
        },
      },
    },
    async (request, reply) => {
      const { workspaceId, fileId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const file = await fileOf(orm.em.fork(), workspaceId, fileId);
      return sendObject(request, reply, {
        key: file.storageKey,
        size: file.sizeBytes,
        headers: {
          'content-type': file.mimeType ?? 'application/octet-stream',
          etag: `"${file.sha256}"`,
          // Only types the library understands are shown inline; anything else is a download.
          'content-disposition': contentDisposition(file.kind ? 'inline' : 'attachment', file.name),
          'cache-control': 'private, no-cache',
        },
      });
    },
  );

  app.get(
    '/workspaces/:workspaceId/media/:fileId/derivatives/:kind',
    {
      schema: {
        tags,
        summary: 'Download a thumbnail or preview (404 until ingest has made it)',
        description:
          'Sent with an `ETag` that changes whenever ingest makes the image again. Ranges as for the original: 206, 416 when unsatisfiable, and the whole image (200) when `If-Range` is not the current `ETag`. 503 when storage cannot be read.',
        security: bearerSecurity,
        params: Strict({ workspaceId: Uuid, fileId: Uuid, kind: Type.Enum(DERIVATIVE_KINDS) }),
        response: {
          200: Binary('The image'),
          206: Binary('The requested range'),
          416: ErrorResponse,
          503: ErrorResponse,
          ...commonErrors,
        },
      },
    },
    async (request, reply) => {
      const { workspaceId, fileId, kind } = request.params;
      await requireRole(request, workspaceId, 'member');
      const em = orm.em.fork();
      await fileOf(em, workspaceId, fileId);
      const derivative = await em.findOne(MediaDerivative, { file: fileId, kind });
      if (!derivative) throw notFound(kind);
      return sendObject(request, reply, {
        key: derivative.storageKey,
        size: derivative.sizeBytes,
        headers: {
          'content-type': derivative.mimeType,
          etag: derivativeEtag(derivative),
          'cache-control': 'private, no-cache',
        },
      });
    },
  );

  app.patch(
    '/workspaces/:workspaceId/media/:fileId',
    {
      schema: {
        tags,
        summary: 'Rename, move or retag a file',
        security: bearerSecurity,
        params: FileParams,
        body: Strict({
          name: Type.Optional(Name),
          folder: Type.Optional(Folder),
          tags: Type.Optional(Type.Array(Tag, { maxItems: MAX_TAGS })),
        }),
        response: { 200: FileView, ...commonErrors },
      },
    },
    async (request) => {
      const { workspaceId, fileId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const em = orm.em.fork();
      const file = await fileOf(em, workspaceId, fileId);
      const { name, folder, tags: newTags } = request.body;
      if (name !== undefined) {
        if (!name.trim()) throw new AppError(400, 'VALIDATION_FAILED', 'body.name is blank', 'body.name');
        file.name = name.trim();
      }
      if (folder !== undefined) file.folder = folder;
      if (newTags !== undefined) file.tags = uniqueTags(newTags);
      file.updatedAt = new Date();
      await em.flush();
      return view(file);
    },
  );

  app.post(
    '/workspaces/:workspaceId/media/:fileId/reingest',
    {
      schema: {
        tags,
        summary: 'Run ingest of a file again',
        description:
          'For a file whose ingest ended (`ready` or `failed`), or that is stuck `processing` with no ingest running: its stages go back to `pending`, its status to `processing` (failure reason and ready time cleared) and `media/<fileId>` starts anew; each stage of the new run replaces what the previous one derived (derivatives, texts, chunks). Answers 202 with the file as reset. 409 `INGEST_RUNNING` while an ingest of the file still runs, 409 `DELETION_PENDING` while the file is being deleted. The reset and the start are one step: when the ingest cannot be started the file is left exactly as it was and the answer is 503 (try again).',
        security: bearerSecurity,
        params: FileParams,
        response: { 202: FileView, 409: ErrorResponse, 503: ErrorResponse, ...commonErrors },
      },
    },
    async (request, reply) => {
      const { workspaceId, fileId } = request.params;
      await requireRole(request, workspaceId, 'member');
      const check = orm.em.fork();
      await fileOf(check, workspaceId, fileId);
      if (await openDeletion(check, fileId)) throw conflict('DELETION_PENDING', 'this file is being deleted');
      let runId: string | undefined;
      let file: MediaFile;
      try {
        file = await orm.em.fork().transactional(async (em) => {
          // The row stays locked until the new run has started, and the reset is committed only
          // then: a second re-ingest waits here and then meets the run (409), the run's first stage
          // waits for the reset, and a start that fails rolls the reset back.
          const locked = await em.findOne(
            MediaFile,
            { id: fileId, workspace: workspaceId },
            { lockMode: LockMode.PESSIMISTIC_WRITE },
          );
          if (!locked) throw notFound('media file');
          locked.status = 'processing';
          locked.stages = pendingStages();
          locked.failureReason = null;
          locked.readyAt = null;
          locked.updatedAt = new Date();
          await em.flush();
          runId = await startIngest(temporal, config, { fileId, workspaceId }, { rerun: true });
          return locked;
        });
      } catch (err) {
        if (err instanceof AppError) throw err;
        if (err instanceof WorkflowExecutionAlreadyStartedError) {
          throw conflict('INGEST_RUNNING', 'an ingest of this file is still running; try again once it has ended');
        }
        request.log.error(
          { fileId, cause: causeOf(err) },
          'could not re-ingest a media file; the file was left as it was',
        );
        if (runId) {
          // Started, but the reset was not committed: the run must not work on the old row.
          await temporal.workflow
            .getHandle(mediaWorkflowId(fileId), runId)
            .terminate('re-ingest could not be recorded')
            .catch((termErr: unknown) =>
              request.log.error({ fileId, runId, cause: causeOf(termErr) }, 'could not stop an unrecorded re-ingest'),
            );
        }
        throw unavailable('the ingest could not be started; the file was left as it was, try again');
      }
      reply.code(202);
      return view(file);
    },
  );

  app.delete(
    '/workspaces/:workspaceId/media/:fileId',
    {
      schema: {
        tags,
        summary: 'Delete a file and everything derived from it (admin)',
        description:
          'Files a deletion request; the file, its derivatives, texts and search chunks are purged in the background. Until then the file shows the request as `deletionRequestId`.',
        security: bearerSecurity,
        params: FileParams,
        response: { 202: DeletionRequestView, 409: ErrorResponse, ...commonErrors },
      },
    },
    async (request, reply) => {
      const { workspaceId, fileId } = request.params;
      const { user } = await requireRole(request, workspaceId, 'admin');
      const em = orm.em.fork();
      await fileOf(em, workspaceId, fileId);
      if (await openDeletion(em, fileId)) throw conflict('DELETION_PENDING', 'this file is already being deleted');
      const created = await submitDeletion(
        app.deps,
        em,
        { kind: 'file', subjectId: fileId, workspaceId, requestedBy: user, channel: 'api' },
        request.log,
      );
      return reply.status(202).send(requestView(created));
    },
  );
};
