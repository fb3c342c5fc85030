// Contracts of the media library shared by the API, the ingest activities and search: the AI
// providers (pluggable; OpenAI by default) and the search query and its hits.

import type { MediaKind, MediaStage, TextSegment, TextSource } from '../db/entities/media.ts';

/** Turns texts into unit-length vectors. `model` names model and length ("text-embedding-3-small/512"). */
export interface EmbeddingProvider {
  readonly model: string;
  readonly dimensions: number;
  /** One vector per text, in order, each of length `dimensions` and unit length. */
  embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]>;
}

export interface Transcript {
  text: string;
  language: string | null;
  /** Timed segments; times are from the start of the file. */
  segments: Required<Pick<TextSegment, 'text' | 'startMs' | 'endMs'>>[];
}

/** Speech to text for one audio file (a piece of at most 25 MB). */
export interface TranscriptionProvider {
  /** "openai/whisper-1": stored as the transcript's engine. */
  readonly engine: string;
  transcribe(audioPath: string, signal?: AbortSignal): Promise<Transcript>;
}

export const SEARCH_MODES = ['keyword', 'semantic', 'hybrid'] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];

export interface SearchQuery {
  q: string;
  mode: SearchMode;
  limit: number;
  /** Optional filters, applied before ranking. */
  kind?: MediaKind;
  folder?: string;
  tag?: string;
}

export interface SearchHit {
  fileId: string;
  name: string;
  kind: MediaKind | null;
  mimeType: string | null;
  folder: string;
  /** Where the match is: a chunk of the transcript or OCR text, or the file's name and tags. */
  source: TextSource | 'name';
  /** Transcript hits: the time range of the matching chunk. */
  startMs: number | null;
  endMs: number | null;
  /** OCR hits in a PDF: the page. */
  page: number | null;
  /** A short excerpt around the match. */
  snippet: string;
  /** Higher is better; comparable within one response only. */
  score: number;
  matchedBy: ('keyword' | 'semantic')[];
}

export type LaterStage = Exclude<MediaStage, 'probe'>;

/**
 * What happens to a probed file: the stages that run and why the others are skipped. `ocr` off
 * skips reading images (a PDF's own text layer is still read); no speech-to-text provider skips
 * transcripts; without a text stage there is nothing to index.
 */
export function planStages(
  kind: MediaKind,
  hasAudio: boolean,
  opts: { ocr: boolean; transcription: boolean; durationMs?: number; maxTranscriptMs: number },
): { run: LaterStage[]; skip: { stage: LaterStage; reason: string }[] } {
  const run: LaterStage[] = [];
  const skip: { stage: LaterStage; reason: string }[] = [];
  const decide = (stage: LaterStage, why: string | undefined) =>
    why === undefined ? run.push(stage) : skip.push({ stage, reason: why });
  decide('thumbnails', kind === 'audio' ? 'audio has no picture' : undefined);
  decide(
    'ocr',
    kind === 'audio' || kind === 'video'
      ? `no text to read in ${kind === 'audio' ? 'audio' : 'a video'}`
      : kind === 'image' && !opts.ocr
        ? 'OCR is turned off (MEDIA_OCR)'
        : undefined,
  );
  decide(
    'transcript',
    kind === 'image' || kind === 'pdf'
      ? `no speech in ${kind === 'pdf' ? 'a PDF' : 'an image'}`
      : !hasAudio
        ? 'the video has no audio track'
        : !opts.transcription
          ? 'no speech-to-text provider configured'
          : (opts.durationMs ?? 0) > opts.maxTranscriptMs
            ? `longer than ${opts.maxTranscriptMs / 3_600_000} h: transcripts are made for shorter recordings`
            : undefined,
  );
  decide('embeddings', run.includes('ocr') || run.includes('transcript') ? undefined : 'no text to index');
  return { run, skip };
}
