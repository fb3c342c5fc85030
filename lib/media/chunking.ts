import type { TextSegment, TextSource } from '../../db/entities/media.ts';
import { defaultPolicy } from '../../domain/policy.ts';

// Extracted text cut into search chunks of at most `maxChars` characters. A transcript chunk keeps
// the time range of the segments it holds, so a hit can jump to that moment; an OCR chunk keeps its
// page. Cuts fall between paragraphs, then sentences, then words; only a single word longer than a
// chunk is cut inside.

export interface ChunkDraft {
  source: TextSource;
  /** Position within the file and source, from 0. */
  seq: number;
  text: string;
  startMs: number | null;
  endMs: number | null;
  page: number | null;
}

const SENTENCE_END = /(?<=[.!?…])\s+/;

/** Greedy packing: consecutive pieces joined with `sep` while the result fits. */
function pack(pieces: string[], maxChars: number, sep: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const piece of pieces) {
    if (current && current.length + sep.length + piece.length <= maxChars) current += sep + piece;
    else {
      if (current) out.push(current);
      current = piece;
    }
  }
  if (current) out.push(current);
  return out;
}

/** A single over-long word in pieces of whole code points (an emoji is never cut in half). */
function cutWord(word: string, maxChars: number): string[] {
  const out: string[] = [];
  let current = '';
  for (const ch of word) {
    if (current && current.length + ch.length > maxChars) {
      out.push(current);
      current = '';
    }
    current += ch;
  }
  if (current) out.push(current);
  return out;
}

/** One paragraph (whitespace already collapsed) in pieces that fit: by sentences, then words. */
function splitParagraph(paragraph: string, maxChars: number): string[] {
  if (paragraph.length <= maxChars) return [paragraph];
  const sentences = paragraph.split(SENTENCE_END).flatMap((sentence) => {
    if (sentence.length <= maxChars) return [sentence];
    const words = sentence.split(' ').flatMap((w) => (w.length <= maxChars ? [w] : cutWord(w, maxChars)));
    return pack(words, maxChars, ' ');
  });
  return pack(sentences, maxChars, ' ');
}

const collapse = (text: string) => text.replace(/\s+/g, ' ').trim();

/** A page of text in chunks: paragraphs kept whole where they fit, joined by a blank line. */
function splitPage(text: string, maxChars: number): string[] {
  const paragraphs = text
    .split(/\n\s*\n/)
    .map(collapse)
    .filter(Boolean)
    .flatMap((p) => splitParagraph(p, maxChars));
  return pack(paragraphs, maxChars, '\n\n');
}

interface Group {
  texts: string[];
  length: number;
  startMs: number | null;
  endMs: number | null;
}

export function chunkSegments(
  source: TextSource,
  segments: TextSegment[],
  maxChars: number = defaultPolicy.media.chunkChars,
): ChunkDraft[] {
  if (!(maxChars >= 1)) throw new RangeError(`maxChars must be at least 1, got ${maxChars}`);
  const chunks: ChunkDraft[] = [];
  const emit = (text: string, startMs: number | null, endMs: number | null, page: number | null) => {
    chunks.push({ source, seq: chunks.length, text, startMs, endMs, page });
  };

  if (source === 'ocr') {
    // Each segment is a page (or the one text of an image); a chunk never spans pages.
    for (const seg of segments) {
      for (const text of splitPage(seg.text, maxChars)) emit(text, null, null, seg.page ?? null);
    }
    return chunks;
  }

  // Transcript: consecutive segments grouped while they fit, keeping the group's time range.
  let group: Group | undefined;
  const flush = () => {
    if (group) emit(group.texts.join(' '), group.startMs, group.endMs, null);
    group = undefined;
  };
  for (const seg of segments) {
    const text = collapse(seg.text);
    if (!text) continue;
    const startMs = seg.startMs ?? null;
    const endMs = seg.endMs ?? null;
    if (text.length > maxChars) {
      // Finer times are unknown: every part of a long segment gets the segment's range.
      flush();
      for (const part of splitParagraph(text, maxChars)) emit(part, startMs, endMs, null);
      continue;
    }
    if (group && group.length + 1 + text.length > maxChars) flush();
    if (!group) group = { texts: [], length: 0, startMs: null, endMs: null };
    group.length += (group.texts.length > 0 ? 1 : 0) + text.length; // joined with single spaces
    group.texts.push(text);
    if (startMs !== null) group.startMs = group.startMs === null ? startMs : Math.min(group.startMs, startMs);
    if (endMs !== null) group.endMs = group.endMs === null ? endMs : Math.max(group.endMs, endMs);
  }
  flush();
  return chunks;
}
