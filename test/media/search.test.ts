import { randomUUID } from 'node:crypto';
import type { MikroORM as CoreORM } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/postgresql';
import { APIUserAbortError } from 'openai';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { MediaKind, MediaStatus, TextSegment } from '../../db/entities/media.ts';
import { closeORM, initORM } from '../../db/orm.ts';
import type { EmbeddingProvider, SearchHit, SearchQuery } from '../../domain/media.ts';
import { createEmbeddingProvider } from '../../lib/ai.ts';
import { loadConfig } from '../../lib/config.ts';
import { chunkSegments } from '../../lib/media/chunking.ts';
import {
  createMediaSearch,
  fuseRanked,
  type MediaSearch,
  SearchUnavailableError,
  semanticSnippet,
  topSlots,
  VectorStore,
} from '../../lib/media/search.ts';
import { jsonList } from '../../lib/sql.ts';
import { type Simulator, startSimulator } from '../../simulators/server.ts';
import { openAITestEnv, sql } from '../helpers.ts';
import { admin } from '../platforms/contract.ts';

// Media search on the real test database, with embeddings from the OpenAI simulator (a bag of
// words: texts sharing words are close). Each test has its own workspaces, so the search's
// per-workspace vector indexes start cold.

let sim: Simulator;
let orm: MikroORM;
let embeddings: EmbeddingProvider;
let search: MediaSearch;
let keywordOnly: MediaSearch;
beforeAll(async () => {
  sim = await startSimulator();
  orm = (await initORM(inject('databaseUrl'))) as MikroORM;
  embeddings = createEmbeddingProvider(loadConfig(openAITestEnv(sim.url)))!;
  search = createMediaSearch({ orm, embeddings });
  keywordOnly = createMediaSearch({ orm });
});
afterAll(async () => {
  search?.close();
  keywordOnly?.close();
  await closeORM();
  await sim?.close();
});

async function workspace(): Promise<string> {
  const id = randomUUID();
  await sql(orm, `insert into workspaces (id, name, created_at, updated_at) values (?, 'Media search', now(), now())`, [
    id,
  ]);
  return id;
}

interface FileSpec {
  name: string;
  kind?: MediaKind;
  folder?: string;
  tags?: string[];
  status?: MediaStatus;
  transcript?: TextSegment[];
  ocr?: TextSegment[];
  /** Chunk size; small values give one chunk per segment. */
  chunkChars?: number;
}

/** A file row with its chunks (cut by the real chunker) embedded by the simulator, as ingest leaves them. */
async function addFile(workspaceId: string, spec: FileSpec): Promise<string> {
  const id = randomUUID();
  await sql(
    orm,
    `insert into media_files (id, workspace_id, name, folder, kind, tags, size_bytes, sha256, storage_key, status, stages,
       created_at, updated_at)
     select ?, ?, ?, ?, ?, array(select jsonb_array_elements_text(?::jsonb)), 1, repeat('0', 64), 'k', ?, '{}', now(), now()`,
    [
      id,
      workspaceId,
      spec.name,
      spec.folder ?? '',
      spec.kind ?? 'video',
      jsonList(spec.tags ?? []),
      spec.status ?? 'ready',
    ],
  );
  const chunks = [
    ...chunkSegments('transcript', spec.transcript ?? [], spec.chunkChars),
    ...chunkSegments('ocr', spec.ocr ?? [], spec.chunkChars),
  ];
  if (chunks.length === 0) return id;
  const vectors = await embeddings.embed(chunks.map((c) => c.text));
  await sql(
    orm,
    `insert into media_chunks (file_id, workspace_id, source, seq, text, start_ms, end_ms, page, model, embedding)
     select ?, ?, r.source, r.seq, r.text, r.start_ms, r.end_ms, r.page, ?, r.embedding
       from jsonb_to_recordset(?::jsonb)
         as r(source text, seq int, text text, start_ms int, end_ms int, page int, embedding real[])`,
    [
      id,
      workspaceId,
      embeddings.model,
      jsonList(
        chunks.map((c, i) => ({
          source: c.source,
          seq: c.seq,
          text: c.text,
          start_ms: c.startMs,
          end_ms: c.endMs,
          page: c.page,
          embedding: Array.from(vectors[i]!),
        })),
      ),
    ],
  );
  return id;
}

const query = (q: string, mode: SearchQuery['mode'], extra: Partial<SearchQuery> = {}): SearchQuery => ({
  q,
  mode,
  limit: 10,
  ...extra,
});
const fileIds = (hits: SearchHit[]) => [...new Set(hits.map((h) => h.fileId))];
const said = (text: string, startMs = 0, endMs = startMs + 5000): TextSegment => ({ text, startMs, endMs });
/** The next embeddings call of the OpenAI simulator fails this way. */
const embeddingFault = (fault: Record<string, unknown>) =>
  admin(sim, 'POST', '/openai/faults', { route: 'embeddings', ...fault });
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );

/** Four files on different subjects; returns their ids by subject. */
async function library(workspaceId: string) {
  return {
    finance: await addFile(workspaceId, {
      name: 'all-hands.mp4',
      transcript: [said('Good morning everyone.'), said('We reviewed the quarterly revenue report in detail.', 5000)],
    }),
    shoes: await addFile(workspaceId, {
      name: 'launch.mp4',
      transcript: [said('Our new trail running shoes arrive next week.')],
    }),
    party: await addFile(workspaceId, {
      name: 'party.pdf',
      kind: 'pdf',
      ocr: [{ text: 'Photos from the summer office party by the lake.', page: 1 }],
    }),
    budget: await addFile(workspaceId, {
      name: 'plan.pdf',
      kind: 'pdf',
      ocr: [{ text: 'Marketing budget proposal for next year.', page: 3 }],
    }),
  };
}

describe('semantic search', () => {
  it('ranks the file whose text means the query first, with its chunk, time range and a snippet', async () => {
    const ws = await workspace();
    const files = await library(ws);
    const hits = await search.search(ws, query('quarterly revenue report', 'semantic'));
    expect(hits[0]).toMatchObject({
      fileId: files.finance,
      name: 'all-hands.mp4',
      kind: 'video',
      source: 'transcript',
      startMs: 0,
      endMs: 10_000,
      page: null,
      matchedBy: ['semantic'],
      snippet: 'Good morning everyone. We reviewed the quarterly revenue report in detail.',
    });
    expect(hits[0]!.score).toBeGreaterThan(0.3);
    for (let i = 1; i < hits.length; i++) expect(hits[i]!.score).toBeLessThanOrEqual(hits[i - 1]!.score);
    expect(hits[1]!.score).toBeLessThan(hits[0]!.score);
    const pdf = await search.search(ws, query('marketing budget', 'semantic', { limit: 1 }));
    expect(pdf).toEqual([expect.objectContaining({ fileId: files.budget, source: 'ocr', page: 3, startMs: null })]);
  });

  it('sees files added after the index was loaded, and never returns a deleted one', async () => {
    const ws = await workspace();
    const files = await library(ws);
    expect((await search.search(ws, query('quarterly revenue report', 'semantic')))[0]?.fileId).toBe(files.finance);

    const later = await addFile(ws, {
      name: 'q3.mp3',
      kind: 'audio',
      transcript: [said('The quarterly revenue report for the third quarter.')],
    });
    const withLater = await search.search(ws, query('quarterly revenue report', 'semantic'));
    expect(fileIds(withLater).slice(0, 2).sort()).toEqual([files.finance, later].sort());

    await sql(orm, 'delete from media_files where id in (?, ?)', [files.finance, later]);
    for (const mode of ['semantic', 'hybrid', 'keyword'] as const) {
      const hits = await search.search(ws, query('quarterly revenue report', mode));
      expect(fileIds(hits)).not.toContain(files.finance);
      expect(fileIds(hits)).not.toContain(later);
    }
    const rest = await search.search(ws, query('trail running shoes', 'semantic'));
    expect(rest[0]?.fileId).toBe(files.shoes);
  });

  it('finds files whose ingest failed or is still running: by name, and by the chunks they have', async () => {
    const ws = await workspace();
    const files = await library(ws);
    expect(fileIds(await search.search(ws, query('summer office party', 'semantic')))).toContain(files.party);
    await sql(orm, `update media_files set status = 'failed' where id = ?`, [files.party]);
    for (const mode of ['semantic', 'hybrid', 'keyword'] as const) {
      expect((await search.search(ws, query('summer office party', mode)))[0]?.fileId).toBe(files.party);
    }
    expect((await search.search(ws, query('party', 'keyword'))).find((h) => h.source === 'name')).toMatchObject({
      fileId: files.party,
      snippet: 'party.pdf',
    });
    // Failed before any text was read: found by its name, folder and tags only.
    const broken = await addFile(ws, { name: 'broken-upload.mov', folder: 'raw', tags: ['drone'], status: 'failed' });
    const pending = await addFile(ws, { name: 'drone-flight.mov', status: 'processing' });
    expect(fileIds(await search.search(ws, query('broken upload', 'keyword')))).toEqual([broken]);
    expect(fileIds(await search.search(ws, query('drone', 'keyword'))).sort()).toEqual([broken, pending].sort());
    expect(fileIds(await search.search(ws, query('drone', 'hybrid')))).toEqual(
      expect.arrayContaining([broken, pending]),
    );
  });

  it('filters before ranking, so a rare match is not crowded out', async () => {
    const ws = await workspace();
    // 30 near-identical videos outrank the one PDF, which the filter alone lets through.
    for (let i = 0; i < 30; i++) {
      await addFile(ws, { name: `clip-${i}.mp4`, transcript: [said(`Revenue report clip ${i}.`)] });
    }
    const pdf = await addFile(ws, {
      name: 'scan.pdf',
      kind: 'pdf',
      ocr: [{ text: 'An old scanned revenue summary.', page: 1 }],
    });
    const all = await search.search(ws, query('revenue report', 'semantic', { limit: 3 }));
    expect(all).toHaveLength(3);
    expect(fileIds(all)).not.toContain(pdf);
    const filtered = await search.search(ws, query('revenue report', 'semantic', { limit: 3, kind: 'pdf' }));
    expect(filtered.map((h) => h.fileId)).toEqual([pdf]);
  });

  it('needs an embedding provider; keyword search and hybrid (as keyword) work without one', async () => {
    const ws = await workspace();
    const files = await library(ws);
    await expect(keywordOnly.search(ws, query('quarterly revenue', 'semantic'))).rejects.toThrow(
      SearchUnavailableError,
    );
    await expect(keywordOnly.search(ws, query('quarterly revenue', 'semantic'))).rejects.toThrow(
      /semantic search needs an embedding provider \(EMBEDDING_PROVIDER\)/,
    );
    const keyword = await keywordOnly.search(ws, query('quarterly revenue', 'keyword'));
    expect(keyword[0]).toMatchObject({ fileId: files.finance, matchedBy: ['keyword'] });
    const hybrid = await keywordOnly.search(ws, query('quarterly revenue', 'hybrid'));
    expect(hybrid).toEqual(keyword);
  });
});

describe('keyword search', () => {
  it('finds a transcript word with the time range of its chunk and a marked snippet', async () => {
    const ws = await workspace();
    const id = await addFile(ws, {
      name: 'town-hall.mp4',
      chunkChars: 40,
      transcript: [
        said('Welcome to the town hall.', 0, 4000),
        said('Our mascot is a kangaroo named Ken.', 4000, 9500),
        said('Questions come at the end.', 9500, 12_000),
      ],
    });
    const hits = await search.search(ws, query('kangaroos', 'keyword'));
    expect(hits).toEqual([
      {
        fileId: id,
        name: 'town-hall.mp4',
        kind: 'video',
        mimeType: null,
        folder: '',
        source: 'transcript',
        startMs: 4000,
        endMs: 9500,
        page: null,
        snippet: expect.stringContaining('«kangaroo»'),
        score: expect.any(Number),
        matchedBy: ['keyword'],
      },
    ]);
    expect(await search.search(ws, query('platypus', 'keyword'))).toEqual([]);
    expect(await search.search(ws, query('   ', 'keyword'))).toEqual([]);
  });

  it('matches file names, folders and tags as source "name", and one hit per chunk', async () => {
    const ws = await workspace();
    const guide = await addFile(ws, {
      name: 'kangaroo-brand_guide.pdf',
      kind: 'pdf',
      folder: 'brand/assets',
      tags: ['mascot'],
    });
    const talk = await addFile(ws, {
      name: 'talk.mp4',
      chunkChars: 30,
      transcript: [said('The kangaroo is our mascot.'), said('A kangaroo again, later.', 60_000)],
    });
    const hits = await search.search(ws, query('kangaroo', 'keyword'));
    expect(hits.find((h) => h.source === 'name')).toMatchObject({
      fileId: guide,
      snippet: 'brand/assets/kangaroo-brand_guide.pdf #mascot',
      matchedBy: ['keyword'],
    });
    expect(hits.filter((h) => h.fileId === talk).map((h) => h.startMs)).toEqual(expect.arrayContaining([0, 60_000]));
    expect(hits).toHaveLength(3);
    // The name outranks the same word in spoken text.
    expect(hits[0]?.fileId).toBe(guide);
    expect(fileIds(await search.search(ws, query('mascot', 'keyword')))).toContain(guide);
    expect(fileIds(await search.search(ws, query('assets', 'keyword')))).toEqual([guide]);
    expect(fileIds(await search.search(ws, query('brand_gu', 'keyword')))).toEqual([guide]);
    expect(await search.search(ws, query('kangaroo', 'keyword', { limit: 1 }))).toHaveLength(1);
  });

  it('applies kind, folder (with subfolders) and tag filters', async () => {
    const ws = await workspace();
    const text = [said('The annual kangaroo census results.')];
    const video = await addFile(ws, { name: 'a.mp4', folder: 'research', tags: ['census'], transcript: text });
    const nested = await addFile(ws, { name: 'b.mp3', kind: 'audio', folder: 'research/2026', transcript: text });
    const sibling = await addFile(ws, { name: 'c.mp4', folder: 'research-old', tags: ['Census'], transcript: text });
    for (const mode of ['keyword', 'semantic', 'hybrid'] as const) {
      const ids = async (extra: Partial<SearchQuery>) =>
        fileIds(await search.search(ws, query('kangaroo census', mode, extra))).sort();
      expect(await ids({})).toEqual([video, nested, sibling].sort());
      expect(await ids({ kind: 'audio' })).toEqual([nested]);
      expect(await ids({ folder: 'research' })).toEqual([video, nested].sort());
      expect(await ids({ folder: '/research/2026/' })).toEqual([nested]);
      expect(await ids({ tag: 'census' })).toEqual([video]);
      expect(await ids({ kind: 'pdf' })).toEqual([]);
    }
  });

  it('treats LIKE wildcards in the query as text', async () => {
    const ws = await workspace();
    const pct = await addFile(ws, { name: '100%_growth.png', kind: 'image' });
    await addFile(ws, { name: '1000 growth.png', kind: 'image' });
    expect(fileIds(await search.search(ws, query('100%_', 'keyword')))).toEqual([pct]);
  });
});

describe('hybrid search', () => {
  it('fuses both rankings: a chunk found by both is one hit matched by both, ranked first', async () => {
    const ws = await workspace();
    const both = await addFile(ws, {
      name: 'mascot.mp4',
      transcript: [said('Meet the kangaroo mascot of our brand.')],
    });
    // Shares a word with the query, so it is near it, but not both words a keyword match needs.
    const semanticOnly = await addFile(ws, {
      name: 'notes.pdf',
      kind: 'pdf',
      ocr: [{ text: 'Ideas for a new mascot costume.', page: 1 }],
    });
    const hits = await search.search(ws, query('kangaroo mascot', 'hybrid'));
    expect(hits[0]).toMatchObject({ fileId: both, matchedBy: ['keyword', 'semantic'] });
    expect(hits[0]!.snippet).toContain('«kangaroo»');
    expect(hits.find((h) => h.fileId === semanticOnly)?.matchedBy).toEqual(['semantic']);
    // Reciprocal rank fusion: first in both lists scores 2/61.
    expect(hits[0]!.score).toBeCloseTo(2 / 61, 10);
    expect(new Set(hits.map((h) => `${h.fileId}/${h.source}/${h.startMs}/${h.page}`)).size).toBe(hits.length);
  });
});

describe('degraded answers', () => {
  it('hybrid answers with the keyword hits when the embedding provider fails, and says so', async () => {
    const ws = await workspace();
    const files = await library(ws);
    const keyword = await search.search(ws, query('quarterly revenue', 'keyword'));
    expect(keyword.length).toBeGreaterThan(0);

    for (const fault of [{ kind: 'http', status: 503 }, { kind: 'throttle', retryAfterS: 7 }, { kind: 'drop' }]) {
      await embeddingFault(fault);
      const reasons: string[] = [];
      const causes: unknown[] = [];
      const hybrid = await search.search(ws, query('quarterly revenue', 'hybrid'), {
        onDegraded: (reason, cause) => {
          reasons.push(reason);
          causes.push(cause);
        },
      });
      expect(hybrid.map((h) => [h.fileId, h.source, h.matchedBy])).toEqual(
        keyword.map((h) => [h.fileId, h.source, ['keyword']]),
      );
      expect(reasons).toEqual(['the embedding provider did not answer; try again']);
      expect(causes[0]).toMatchObject({ name: 'SearchUnavailableError', reason: 'provider_failed' });
    }

    // Semantic alone has nothing to fall back on: unavailable (the API's 409), with the provider's wait.
    await embeddingFault({ kind: 'throttle', retryAfterS: 7 });
    const refused = await failure(search.search(ws, query('quarterly revenue', 'semantic')));
    expect(refused).toBeInstanceOf(SearchUnavailableError);
    expect(refused).toMatchObject({
      reason: 'provider_failed',
      message: 'the embedding provider did not answer; try again',
      retryAfterMs: 7000,
    });
    await embeddingFault({ kind: 'http', status: 500 });
    expect(await failure(search.search(ws, query('quarterly revenue', 'semantic')))).toMatchObject({
      reason: 'provider_failed',
      retryAfterMs: undefined,
    });

    // The provider is back: both halves again, nothing reported.
    const reasons: string[] = [];
    const hybrid = await search.search(ws, query('quarterly revenue', 'hybrid'), {
      onDegraded: (reason) => reasons.push(reason),
    });
    expect(hybrid[0]).toMatchObject({ fileId: files.finance, matchedBy: ['keyword', 'semantic'] });
    expect(reasons).toEqual([]);
  });

  it('gives up on an embedding call slower than embedTimeoutMs', async () => {
    const impatient = createMediaSearch({ orm, embeddings, embedTimeoutMs: 100 });
    try {
      const ws = await workspace();
      const files = await library(ws);
      await embeddingFault({ kind: 'delay', delayMs: 1500 });
      const reasons: string[] = [];
      const hits = await impatient.search(ws, query('quarterly revenue', 'hybrid'), {
        onDegraded: (reason) => reasons.push(reason),
      });
      expect(hits[0]).toMatchObject({ fileId: files.finance, matchedBy: ['keyword'] });
      expect(reasons).toEqual(['the embedding provider did not answer; try again']);
    } finally {
      impatient.close();
    }
  });

  it('passes the caller’s own abort through, in every mode', async () => {
    const ws = await workspace();
    await library(ws);
    for (const mode of ['semantic', 'hybrid'] as const) {
      const reasons: string[] = [];
      const err = await failure(
        search.search(ws, query('quarterly revenue', mode), {
          signal: AbortSignal.abort(),
          onDegraded: (reason) => reasons.push(reason),
        }),
      );
      expect(err).not.toBeInstanceOf(SearchUnavailableError);
      expect(err).toBeInstanceOf(APIUserAbortError);
      expect(reasons).toEqual([]);
    }
  });

  it('asks again whether pgvector is there when the check failed', async () => {
    expect(embeddings.model).toBe('text-embedding-3-small/512'); // the model pgvector's index is for
    const connection = orm.em.getConnection();
    let checks = 0;
    const flaky = {
      em: {
        fork: () => orm.em.fork(),
        getConnection: () => ({
          execute: (text: string, params: unknown[]) => {
            if (text.includes('pg_extension') && checks++ === 0) return Promise.reject(new Error('connection reset'));
            return connection.execute(text, params);
          },
        }),
      },
    } as unknown as CoreORM;
    const flakySearch = createMediaSearch({ orm: flaky, embeddings });
    try {
      const ws = await workspace();
      const files = await library(ws);
      const reasons: string[] = [];
      const degraded = await flakySearch.search(ws, query('quarterly revenue', 'hybrid'), {
        onDegraded: (reason) => reasons.push(reason),
      });
      expect(degraded[0]).toMatchObject({ fileId: files.finance, matchedBy: ['keyword'] });
      // Not a SearchUnavailableError: a generic reason, never the error's own text.
      expect(reasons).toEqual(['semantic search failed; keyword matches only']);
      expect((await flakySearch.search(ws, query('quarterly revenue', 'semantic')))[0]?.fileId).toBe(files.finance);
      expect(checks).toBe(2);
      await flakySearch.search(ws, query('quarterly revenue', 'semantic'));
      expect(checks).toBe(2); // an answer is kept
    } finally {
      flakySearch.close();
    }
  });
});

describe('memory', () => {
  it('keeps all indexes within maxIndexBytes, dropping the least recently used whole', async () => {
    // At 512 dimensions a small workspace's index takes 2,174,976 bytes (1,024 slots: 33 pages of
    // WebAssembly memory and 12 bytes a slot): two fit in 5 MiB, three do not.
    const maxIndexBytes = 5 * 2 ** 20;
    const bounded = createMediaSearch({ orm, embeddings, maxIndexBytes });
    try {
      const [a, b, c] = [await workspace(), await workspace(), await workspace()];
      const files = { [a]: await library(a), [b]: await library(b), [c]: await library(c) };
      const held = () => bounded.indexStats().indexes.map((i) => i.workspaceId);
      const top = async (ws: string) => {
        const [hit] = await bounded.search(ws, query('quarterly revenue report', 'semantic'));
        expect(hit?.fileId).toBe(files[ws]?.finance);
      };
      await top(a);
      await top(b);
      expect(held()).toEqual([a, b]);
      await top(a);
      expect(held()).toEqual([b, a]);
      await top(c);
      expect(held()).toEqual([a, c]);
      const stats = bounded.indexStats();
      expect(stats.maxBytes).toBe(maxIndexBytes);
      expect(stats.bytes).toBeLessThanOrEqual(maxIndexBytes);
      expect(stats.bytes).toBe(stats.indexes.reduce((sum, i) => sum + i.bytes, 0));
      expect(stats.indexes.map((i) => i.rows)).toEqual([4, 4]);
      // An evicted workspace loads again (and the least recently used one makes room).
      await top(b);
      expect(held()).toEqual([c, b]);
      // Hybrid uses the same indexes.
      await bounded.search(a, query('quarterly revenue report', 'hybrid'));
      expect(held()).toEqual([b, a]);
    } finally {
      bounded.close();
    }
    expect(bounded.indexStats()).toMatchObject({ bytes: 0, indexes: [] });
  });

  it('refuses a workspace with more chunks than one index holds: semantic unavailable, hybrid as keyword', async () => {
    // 3 pages: 62 rows of 512 floats (+ the query row and the scores) fit in 2 pages of
    // WebAssembly memory with 12 bytes a slot beside; 63 would need a third page.
    const tiny = createMediaSearch({ orm, embeddings, maxIndexBytes: 3 * 65536 });
    const census = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => said(`Kangaroo census entry ${from + i}.`, (from + i) * 5000));
    const chunkCount = async (ws: string) =>
      Number(
        (await sql<{ n: number }>(orm, 'select count(*)::int as n from media_chunks where workspace_id = ?', [ws]))[0]
          ?.n,
      );
    try {
      const big = await workspace();
      const id = await addFile(big, { name: 'census.mp4', chunkChars: 30, transcript: census(0, 63) });
      expect(await chunkCount(big)).toBe(63);
      const tooLarge =
        'this workspace has 63 embedded chunks, more than the in-memory index holds (62); install pgvector for larger libraries';
      const refused = await failure(tiny.search(big, query('kangaroo census', 'semantic')));
      expect(refused).toBeInstanceOf(SearchUnavailableError);
      expect(refused).toMatchObject({ reason: 'too_large', message: tooLarge });
      expect(tiny.indexStats().indexes).toEqual([]);
      const reasons: string[] = [];
      const hybrid = await tiny.search(big, query('kangaroo census', 'hybrid'), {
        onDegraded: (reason) => reasons.push(reason),
      });
      expect(hybrid.length).toBeGreaterThan(0);
      expect(fileIds(hybrid)).toEqual([id]);
      expect(hybrid.every((h) => h.matchedBy.length === 1 && h.matchedBy[0] === 'keyword')).toBe(true);
      expect(reasons).toEqual([tooLarge]);

      // A workspace within the limit is searched in memory, until it grows past it.
      const ws = await workspace();
      const files = await library(ws);
      expect((await tiny.search(ws, query('quarterly revenue report', 'semantic')))[0]?.fileId).toBe(files.finance);
      expect(tiny.indexStats().indexes).toMatchObject([{ workspaceId: ws, rows: 4 }]);
      expect(tiny.indexStats().bytes).toBeLessThanOrEqual(3 * 65536);
      await addFile(ws, { name: 'more.mp4', chunkChars: 30, transcript: census(0, 60) });
      expect(await chunkCount(ws)).toBe(64);
      expect(await failure(tiny.search(ws, query('quarterly revenue report', 'semantic')))).toMatchObject({
        reason: 'too_large',
        message: expect.stringContaining('this workspace has 64 embedded chunks'),
      });
      expect(tiny.indexStats().indexes).toEqual([]);
    } finally {
      tiny.close();
    }
  });
});

describe('workspaces', () => {
  it('never shows one workspace’s files in another, in any mode', async () => {
    const a = await workspace();
    const b = await workspace();
    const inA = await library(a);
    const inB = await addFile(b, {
      name: 'all-hands-b.mp4',
      tags: ['quarterly'],
      transcript: [said('We reviewed the quarterly revenue report in detail.')],
    });
    for (const mode of ['keyword', 'semantic', 'hybrid'] as const) {
      const fromA = fileIds(await search.search(a, query('quarterly revenue report', mode)));
      const fromB = fileIds(await search.search(b, query('quarterly revenue report', mode)));
      expect(fromA).toContain(inA.finance);
      expect(fromA).not.toContain(inB);
      expect(fromB).toEqual([inB]);
    }
    expect(await search.search(randomUUID(), query('quarterly revenue report', 'semantic'))).toEqual([]);
  });
});

describe('building blocks', () => {
  it('scores with the SIMD kernel as a plain dot product would, at any length', () => {
    for (const dims of [8, 13, 512]) {
      const store = new VectorStore(dims);
      store.reserve(3);
      store.reserve(50);
      const rows = Array.from({ length: 50 }, (_, i) =>
        Float32Array.from({ length: dims }, (_, j) => Math.sin(i * 7 + j)),
      );
      for (const [i, r] of rows.entries()) store.write(i, r);
      const q = Float32Array.from({ length: dims }, (_, j) => Math.cos(j));
      const scores = store.score(q, 50);
      expect(scores).toHaveLength(50);
      for (const [i, r] of rows.entries()) {
        expect(scores[i]).toBeCloseTo(
          r.reduce((s, x, j) => s + x * q[j]!, 0),
          3,
        );
      }
      store.move(7, 2);
      expect(store.score(q, 50)[2]).toBe(scores[7]);
    }
  });

  it('keeps the k best allowed slots, best first', () => {
    const scores = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i * 12.9898));
    const fileOf = Int32Array.from({ length: 1000 }, (_, i) => i % 3);
    const allowed = Uint8Array.from([1, 0, 1]);
    const expected = [...scores.keys()]
      .filter((i) => i % 3 !== 1)
      .sort((a, b) => scores[b]! - scores[a]! || a - b)
      .slice(0, 25);
    expect(topSlots(scores, 1000, 25, fileOf, allowed)).toEqual(expected);
    expect(topSlots(scores, 4, 25, fileOf, allowed)).toEqual([0, 2, 3].sort((a, b) => scores[b]! - scores[a]!));
  });

  it('cuts a semantic snippet around the query’s words, else at the start', () => {
    const text = `${'filler '.repeat(60)}here the quarterly revenue grew ${'tail '.repeat(60)}`.trim();
    const around = semanticSnippet(text, 'quarterly revenue', 100);
    expect(around).toMatch(/^….*quarterly revenue grew.*…$/);
    expect(around.length).toBeLessThanOrEqual(102);
    expect(semanticSnippet(text, 'nothing matches', 100)).toMatch(/^filler filler .*…$/);
    expect(semanticSnippet('short text', 'x')).toBe('short text');
  });

  it('fuses rankings by reciprocal rank', () => {
    const hit = (key: string, by: 'keyword' | 'semantic') =>
      ({ key, matchedBy: [by], score: 0 }) as unknown as Parameters<typeof fuseRanked>[0][number][number];
    const fused = fuseRanked(
      [
        [hit('a', 'keyword'), hit('b', 'keyword')],
        [hit('b', 'semantic'), hit('c', 'semantic')],
      ],
      10,
    );
    expect(fused.map((h) => [h.key, h.matchedBy])).toEqual([
      ['b', ['keyword', 'semantic']],
      ['a', ['keyword']],
      ['c', ['semantic']],
    ]);
    expect(fused[0]!.score).toBeCloseTo(1 / 62 + 1 / 61, 12);
  });
});
