import { describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../domain/policy.ts';
import { type ChunkDraft, chunkSegments } from '../../lib/media/chunking.ts';

// Extracted text → search chunks: transcript chunks keep their time range, OCR chunks their page,
// nothing is lost or empty, and no chunk is longer than the limit.

const words = (chunks: ChunkDraft[]) => chunks.flatMap((c) => c.text.split(/\s+/));
const sentence = (i: number) => `Sentence number ${i} talks about the launch.`;

describe('transcript chunks', () => {
  it('groups consecutive segments up to the limit and keeps the time range of each group', () => {
    const segments = Array.from({ length: 10 }, (_, i) => ({
      text: sentence(i), // 42-43 characters
      startMs: i * 5000,
      endMs: i * 5000 + 4000,
    }));
    const chunks = chunkSegments('transcript', segments, 100);
    expect(chunks.map((c) => [c.seq, c.startMs, c.endMs])).toEqual([
      [0, 0, 9000],
      [1, 10_000, 19_000],
      [2, 20_000, 29_000],
      [3, 30_000, 39_000],
      [4, 40_000, 49_000],
    ]);
    expect(chunks[0]?.text).toBe(`${sentence(0)} ${sentence(1)}`);
    for (const c of chunks) {
      expect(c).toMatchObject({ source: 'transcript', page: null });
      expect(c.text.length).toBeLessThanOrEqual(100);
    }
    expect(words(chunks)).toEqual(segments.flatMap((s) => s.text.split(' ')));
  });

  it('splits an over-long segment by sentences, then words, each part with the segment’s range', () => {
    const long = Array.from({ length: 6 }, (_, i) => sentence(i)).join(' ');
    const chunks = chunkSegments(
      'transcript',
      [
        { text: 'Hello there.', startMs: 0, endMs: 1000 },
        { text: long, startMs: 1000, endMs: 61_000 },
        { text: 'Bye.', startMs: 61_000, endMs: 62_000 },
      ],
      90,
    );
    expect(chunks[0]).toMatchObject({ text: 'Hello there.', startMs: 0, endMs: 1000 });
    const parts = chunks.slice(1, -1);
    expect(parts.length).toBe(3);
    for (const p of parts) {
      expect(p).toMatchObject({ startMs: 1000, endMs: 61_000 });
      expect(p.text.length).toBeLessThanOrEqual(90);
      expect(p.text).toMatch(/\.$/); // cut between sentences
    }
    expect(chunks.at(-1)).toMatchObject({ text: 'Bye.', startMs: 61_000, endMs: 62_000 });
    expect(chunks.map((c) => c.seq)).toEqual([0, 1, 2, 3, 4]);
  });

  it('cuts a sentence without stops between words, and a word longer than a chunk inside it', () => {
    const run = `${'word '.repeat(40).trim()} ${'x'.repeat(25)}`;
    const chunks = chunkSegments('transcript', [{ text: run, startMs: 0, endMs: 10 }], 20);
    for (const c of chunks) expect(c.text.length).toBeLessThanOrEqual(20);
    expect(chunks.slice(0, -2).every((c) => /^(word ?)+$/.test(c.text))).toBe(true);
    expect(chunks.map((c) => c.text).join(' ')).toBe(`${'word '.repeat(40).trim()} ${'x'.repeat(20)} ${'x'.repeat(5)}`);
  });

  it('never emits empty chunks and collapses whitespace', () => {
    const chunks = chunkSegments('transcript', [
      { text: '   ', startMs: 0, endMs: 1 },
      { text: '', startMs: 1, endMs: 2 },
      { text: ' two\n\n lines ', startMs: 2, endMs: 3 },
    ]);
    expect(chunks).toEqual([{ source: 'transcript', seq: 0, text: 'two lines', startMs: 2, endMs: 3, page: null }]);
    expect(chunkSegments('transcript', [])).toEqual([]);
  });

  it('uses the policy’s chunk size by default', () => {
    const text = 'a'.repeat(defaultPolicy.media.chunkChars - 2);
    const chunks = chunkSegments('transcript', [
      { text, startMs: 0, endMs: 1 },
      { text: 'bb', startMs: 1, endMs: 2 },
    ]);
    expect(chunks.map((c) => c.text)).toEqual([text, 'bb']);
  });
});

describe('OCR chunks', () => {
  it('keeps each page’s number, splits long pages by paragraphs and never joins pages', () => {
    const para = (i: number) => `Paragraph ${i} of the price list.\nIt wraps over two lines.`;
    const page1 = [para(1), para(2), para(3)].join('\n\n');
    const chunks = chunkSegments(
      'ocr',
      [
        { text: page1, page: 1 },
        { text: 'Short page.', page: 2 },
      ],
      130,
    );
    expect(chunks.map((c) => [c.seq, c.page])).toEqual([
      [0, 1],
      [1, 1],
      [2, 2],
    ]);
    // Two paragraphs fit in 130 characters; a paragraph is never cut when it fits, and lines are joined.
    expect(chunks[0]?.text).toBe(
      'Paragraph 1 of the price list. It wraps over two lines.\n\nParagraph 2 of the price list. It wraps over two lines.',
    );
    expect(chunks[1]?.text).toBe('Paragraph 3 of the price list. It wraps over two lines.');
    expect(chunks[2]?.text).toBe('Short page.');
    for (const c of chunks) expect(c).toMatchObject({ source: 'ocr', startMs: null, endMs: null });
  });

  it('splits a long paragraph by sentences; an image’s text has no page', () => {
    const text = Array.from({ length: 8 }, (_, i) => sentence(i)).join(' ');
    const chunks = chunkSegments('ocr', [{ text }], 100);
    expect(chunks.length).toBe(4);
    for (const c of chunks) {
      expect(c.page).toBeNull();
      expect(c.text.length).toBeLessThanOrEqual(100);
    }
    expect(chunks.map((c) => c.text).join(' ')).toBe(text);
  });

  it('keeps emoji whole when a word has to be cut', () => {
    const chunks = chunkSegments('ocr', [{ text: '😀'.repeat(5), page: 1 }], 4);
    expect(chunks.map((c) => c.text)).toEqual(['😀😀', '😀😀', '😀']);
  });

  it('refuses a limit below one character', () => {
    expect(() => chunkSegments('ocr', [{ text: 'x' }], 0)).toThrow(RangeError);
  });
});
