import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { User } from './accounts.ts';
import { Workspace } from './workspaces.ts';

// The media library. A file row owns everything derived from it: derivative objects, extracted
// texts and search chunks cascade from it, and every storage object of a file lives under its
// prefix `media/<workspaceId>/<fileId>/`, so deleting the row and the prefix leaves nothing.

export const MEDIA_STATUSES = ['processing', 'ready', 'failed'] as const;
export type MediaStatus = (typeof MEDIA_STATUSES)[number];

/** The ingest stages, in order; each has a status in `stages`. */
export const MEDIA_STAGES = ['probe', 'thumbnails', 'ocr', 'transcript', 'embeddings'] as const;
export type MediaStage = (typeof MEDIA_STAGES)[number];
export const STAGE_STATUSES = ['pending', 'running', 'done', 'skipped', 'failed'] as const;
export type StageStatus = (typeof STAGE_STATUSES)[number];
export interface StageState {
  status: StageStatus;
  /** Why a stage was skipped or failed, in words a user can act on. */
  reason?: string;
  at?: string;
}
export type MediaStages = Record<MediaStage, StageState>;

/** What the probe found; every field is optional because a kind has only some of them. */
export interface MediaProbe {
  kind: MediaKind;
  durationMs?: number;
  width?: number;
  height?: number;
  pages?: number;
  videoCodec?: string;
  audioCodec?: string;
  hasAudio?: boolean;
  format?: string;
}
export const MEDIA_KINDS = ['image', 'video', 'audio', 'pdf'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

export const MediaFile = defineEntity({
  name: 'MediaFile',
  tableName: 'media_files',
  indexes: [{ properties: ['workspace', 'createdAt'] }, { properties: ['tags'], type: 'gin' }],
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade'),
    uploadedBy: () => p.manyToOne(User).mapToPk().deleteRule('set null').nullable(),
    name: p.string().length(255),
    /** "/"-separated folder path ("" is the root). */
    folder: p.string().length(500).default(''),
    tags: p.array<string>().default([]),
    /** What the uploader said it was; only for display. */
    declaredType: p.string().length(200).nullable(),
    /** Sniffed from the bytes; null when the content matched no known type. */
    mimeType: p.string().length(200).nullable(),
    kind: p.enum(MEDIA_KINDS).nullable(),
    sizeBytes: p.bigint('number'),
    sha256: p.string().length(64),
    storageKey: p.string().length(512),
    status: p.enum(MEDIA_STATUSES).default('processing'),
    stages: p.json<MediaStages>(),
    failureReason: p.string().length(1000).nullable(),
    probe: p.json<MediaProbe>().nullable(),
    /** Bytes of derived objects (thumbnails, previews, audio); counts against the quota. */
    derivedBytes: p.bigint('number').default(0),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()),
    readyAt: p.datetime().nullable(),
  },
});
export type MediaFile = InferEntity<typeof MediaFile>;

export const DERIVATIVE_KINDS = ['thumbnail', 'preview'] as const;
export type DerivativeKind = (typeof DERIVATIVE_KINDS)[number];

/** A stored image made from a file: a small WebP thumbnail and a larger JPEG preview (for video, of a frame; for a PDF, of its first page). */
export const MediaDerivative = defineEntity({
  name: 'MediaDerivative',
  tableName: 'media_derivatives',
  uniques: [{ properties: ['file', 'kind'] }],
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    file: () => p.manyToOne(MediaFile).mapToPk().deleteRule('cascade'),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    kind: p.enum(DERIVATIVE_KINDS),
    storageKey: p.string().length(512),
    mimeType: p.string().length(100),
    width: p.integer(),
    height: p.integer(),
    sizeBytes: p.integer(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type MediaDerivative = InferEntity<typeof MediaDerivative>;

export const TEXT_SOURCES = ['ocr', 'transcript'] as const;
export type TextSource = (typeof TEXT_SOURCES)[number];
/** A timed piece of a transcript, or a page of OCR text (startMs/endMs absent). */
export interface TextSegment {
  text: string;
  startMs?: number;
  endMs?: number;
  page?: number;
}

/** The text a stage extracted: one row per file and source. */
export const MediaText = defineEntity({
  name: 'MediaText',
  tableName: 'media_texts',
  uniques: [{ properties: ['file', 'source'] }],
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    file: () => p.manyToOne(MediaFile).mapToPk().deleteRule('cascade'),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade').index(),
    source: p.enum(TEXT_SOURCES),
    /** Who produced it: "tesseract.js/eng", "pdftotext", "openai/whisper-1". */
    engine: p.string().length(100),
    language: p.string().length(20).nullable(),
    text: p.text(),
    segments: p.json<TextSegment[]>(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type MediaText = InferEntity<typeof MediaText>;

/**
 * A searchable piece of a file's text. `embedding` is `real[]` (every PostgreSQL has it); keyword
 * search reads the generated tsvector through its GIN index.
 */
export const MediaChunk = defineEntity({
  name: 'MediaChunk',
  tableName: 'media_chunks',
  uniques: [{ properties: ['file', 'source', 'seq'] }],
  // (workspace, model, id): semantic search's freshness check is an index-only scan.
  indexes: [{ properties: ['tsv'], type: 'fulltext' }, { properties: ['workspace', 'model', 'id'] }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    file: () => p.manyToOne(MediaFile).mapToPk().deleteRule('cascade').index(),
    workspace: () => p.manyToOne(Workspace).mapToPk().deleteRule('cascade'),
    source: p.enum(TEXT_SOURCES),
    seq: p.integer(),
    text: p.text(),
    startMs: p.integer().nullable(),
    endMs: p.integer().nullable(),
    page: p.integer().nullable(),
    /** The embedding model and length; null until embedded. */
    model: p.string().length(100).nullable(),
    embedding: p.array<number>().columnType('real[]').nullable(),
    /** Generated by PostgreSQL from `text`; never written, read only by keyword search. */
    tsv: p
      .string()
      .columnType('tsvector')
      .generated("(to_tsvector('english'::regconfig, text)) stored")
      .nullable()
      .lazy()
      .hidden(),
  },
});
export type MediaChunk = InferEntity<typeof MediaChunk>;
