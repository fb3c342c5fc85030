import type { MikroORM } from '@mikro-orm/core';
import type { MediaKind, TextSource } from '../../db/entities/media.ts';
import type { EmbeddingProvider, SearchHit, SearchQuery } from '../../domain/media.ts';
import { retryAfterMs } from '../ai.ts';
import { sqlOf } from '../sql.ts';

// Search over a workspace's media library: keyword (PostgreSQL full text over the chunks, plus the
// files' names, folders and tags), semantic (cosine similarity of embeddings) and hybrid (both,
// fused by reciprocal rank).
//
// Every hit comes from a query that joins an existing `media_files` row of the asked workspace, so a
// deleted file never comes back, whatever the in-memory index still holds. Every status is searchable:
// a file whose ingest failed is still found by name, folder and tags, and by the chunks of the stages
// that did finish (a later stage may have failed).
//
// Semantic search without pgvector is exact: each workspace's unit vectors sit in one contiguous
// block of memory, all scored on every query, the best k (× 3) re-joined to PostgreSQL. Before each
// query a cheap fingerprint of the workspace's embedded chunks (count, max id, xor of ids) is
// compared with the index's; on a change the index syncs by id (loads the new rows, drops the gone
// ones) instead of reloading everything. The fingerprint is read by PostgreSQL while Node scores.
// Chunks are assumed immutable once embedded: a re-embedded chunk is a new row (new id).
//
// Memory is bounded: all of a process's indexes together stay within `maxIndexBytes` (the least
// recently used are dropped whole, their WebAssembly memory left to the garbage collector), and a
// workspace with more embedded chunks than one index may hold gets a SearchUnavailableError
// ('too_large') in semantic mode. Hybrid search, the default, never fails for its semantic half (too
// large, provider down or slow): it answers with the keyword hits and reports it through onDegraded.
//
// Snippets are plain text; «…» marks the words that matched the keyword query (semantic-only hits
// have no marks: their snippet is the part of the chunk that shares most words with the query).

/**
 * Why semantic search cannot answer: no embedding provider is configured (`no_provider`), the provider
 * failed or did not answer in time (`provider_failed`: worth retrying later), or the workspace has more
 * embedded chunks than the in-memory index holds (`too_large`: needs pgvector).
 */
export type SearchUnavailableReason = 'no_provider' | 'provider_failed' | 'too_large';

/** Messages meant for the API's caller: they never carry a provider's own answer. */
export class SearchUnavailableError extends Error {
  readonly reason: SearchUnavailableReason;
  /** provider_failed: how long the provider asked to wait, when it said. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message = 'semantic search needs an embedding provider (EMBEDDING_PROVIDER)',
    opts: { reason?: SearchUnavailableReason; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SearchUnavailableError';
    this.reason = opts.reason ?? 'no_provider';
    this.retryAfterMs = opts.retryAfterMs;
  }
}

export interface SearchOptions {
  /** A query vector computed already (benchmarks, tests): semantic search skips the embedding call. */
  queryVector?: Float32Array;
  signal?: AbortSignal;
  /**
   * Called when a hybrid search answered with keyword hits only because its semantic half failed.
   * `reason` is safe to show a user (a SearchUnavailableError's message, else a generic sentence);
   * `cause` is the failure itself, for server logs only.
   */
  onDegraded?: (reason: string, cause: unknown) => void;
}

export interface MediaSearch {
  search(workspaceId: string, query: SearchQuery, opts?: SearchOptions): Promise<SearchHit[]>;
  /** The in-memory indexes held now (least recently used first), and the bytes they take (WebAssembly memory and slot arrays). */
  indexStats(): IndexStats;
  /** Drops the indexes and stops the eviction timer. */
  close(): void;
}

export interface IndexStats {
  /** All indexes together, and the budget (maxIndexBytes). */
  bytes: number;
  maxBytes: number;
  indexes: { workspaceId: string; model: string; rows: number; bytes: number }[];
}

export interface MediaSearchDeps {
  orm: MikroORM;
  embeddings?: EmbeddingProvider;
  /** An index unused this long is dropped. */
  idleMs?: number;
  /**
   * Bytes all in-memory vector indexes of this process may take together (default 1 GiB); the least
   * recently used are dropped to make room. One index may take all of it, and never more than 4 GiB
   * (32-bit WebAssembly memory): a workspace with more embedded chunks gets `too_large`.
   */
  maxIndexBytes?: number;
  /** The longest a query's embedding call may take before the search gives up on it (default 10 s). */
  embedTimeoutMs?: number;
}

/** Reciprocal rank fusion constant (the value of the original paper; flattens the head of each list). */
const RRF_K = 60;
/** Semantic candidates re-joined to PostgreSQL per wanted hit, before over-fetching more. */
const OVERFETCH = 3;
const SNIPPET_CHARS = 200;
const DEFAULT_MAX_INDEX_BYTES = 2 ** 30;
const DEFAULT_EMBED_TIMEOUT_MS = 10_000;
/** What semantic and hybrid searches say when the query could not be embedded. */
const PROVIDER_FAILED = 'the embedding provider did not answer; try again';
const HNSW_MODEL = 'text-embedding-3-small/512';
/** Rows per statement when an index loads vectors. */
const LOAD_BATCH = 2000;

type Ranked = SearchHit & { key: string };

/** A promise whose failure is reported where it is awaited, not as an unhandled rejection if it never is. */
const handled = <T>(p: Promise<T>) => {
  p.catch(() => {});
  return p;
};

interface Fingerprint {
  n: number;
  max: string;
  xor: string;
}

/** One workspace's vectors of one model, in slots 0..n-1. */
interface VectorIndex {
  /** Its key in the map of indexes: workspace/model. */
  key: string;
  workspaceId: string;
  model: string;
  store: VectorStore;
  n: number;
  /** Slot → chunk id. A compaction builds new arrays, so a query's copy stays right for what it scored. */
  ids: Float64Array;
  /** Slot → position in `files`. */
  fileOf: Int32Array;
  files: string[];
  fp: Fingerprint | undefined;
  lastUsed: number;
  syncing: Promise<void> | undefined;
  /** Evicted: a query already using it finishes with it, then it is garbage. */
  dropped: boolean;
}

interface Filters {
  kind?: MediaKind;
  folder?: string;
  tag?: string;
}

/**
 * Ids as a PostgreSQL array literal (digits only, so nothing to escape): `= any(…)` gets exact row
 * estimates and primary-key lookups, where a set-returning function is guessed at 100 rows.
 */
const bigintArray = (ids: readonly (string | number)[]) => `{${ids.join(',')}}`;

/** LIKE wildcards in user text as literals (`!` is the escape character where this is used). */
const escapeLike = (s: string) => s.replace(/[!%_]/g, '!$&');

/** SQL conditions on `media_files f` for the filters, and their parameters. A folder includes its subfolders. */
function fileFilters(filters: Filters): { sql: string; params: unknown[] } {
  let sql = '';
  const params: unknown[] = [];
  if (filters.kind) {
    sql += ' and f.kind = ?';
    params.push(filters.kind);
  }
  const folder = filters.folder?.replace(/^\/+|\/+$/g, '');
  if (folder) {
    sql += ` and (f.folder = ? or f.folder like ? escape '!')`;
    params.push(folder, `${escapeLike(folder)}/%`);
  }
  if (filters.tag) {
    sql += ' and f.tags @> array[?]::text[]';
    params.push(filters.tag);
  }
  return { sql, params };
}

// The scoring kernel: WebAssembly SIMD (f32x4), built into Node. Over 100,000 × 512 on this 2-core
// machine the best plain-JS loop (unrolled by 4, four accumulators) took ~35 ms, this ~8 ms. Text form:
//   (func (export "score") (param $q i32) (param $v i32) (param $n i32) (param $stride i32) (param $out i32)
//     (local $j i32) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
//     (block (br_if 0 (i32.eqz (local.get $n)))
//       (loop $row
//         (local.set $a0..$a3 (v128.const 0)) (local.set $j (i32.const 0))
//         (loop $col   ;; 16 floats a turn, one accumulator per 4 so the adds do not wait on each other
//           (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load offset=0 (q+j)) (v128.load offset=0 (v+j)))))
//           … $a1 offset=16, $a2 offset=32, $a3 offset=48
//           (br_if $col (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 64))) (local.get $stride))))
//         (f32.store (local.get $out) (sum of the 4 lanes of (a0 + a1 + a2 + a3)))
//         $out += 4, $v += $stride
//         (br_if $row (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
// Pointers are byte offsets; $stride is a row in bytes, a multiple of 64 (rows are zero-padded).
// WebAssembly is a Node global; its types live in TypeScript's DOM library, which this project leaves out.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
const wasm = (
  globalThis as unknown as {
    WebAssembly: {
      Module: new (bytes: Uint8Array) => object;
      Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
      Memory: new (descriptor: { initial: number }) => WasmMemory;
    };
  }
).WebAssembly;

const KERNEL = (() => {
  const uleb = (n: number): number[] => {
    const out: number[] = [];
    do {
      const b = n & 0x7f;
      n >>>= 7;
      out.push(n ? b | 0x80 : b);
    } while (n);
    return out;
  };
  const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
  const name = (s: string) => [...uleb(s.length), ...Buffer.from(s)];
  const [Q, V, N, STRIDE, OUT, J] = [0, 1, 2, 3, 4, 5];
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const tee = (i: number) => [0x22, i];
  const simd = (op: number) => [0xfd, ...uleb(op)];
  const zero = [...simd(0x0c), ...new Array(16).fill(0)]; // v128.const 0
  const load = (ptr: number, offset: number) => [...get(ptr), ...get(J), 0x6a, ...simd(0x00), 0x04, ...uleb(offset)];
  const F32X4_ADD = simd(0xe4);
  const F32X4_MUL = simd(0xe6);
  const lane = (i: number) => [...get(6), ...simd(0x1f), i]; // f32x4.extract_lane of $a0
  const accumulate = (acc: number, offset: number) => [
    ...get(acc),
    ...load(Q, offset),
    ...load(V, offset),
    ...F32X4_MUL,
    ...F32X4_ADD,
    ...set(acc),
  ];
  const body = [
    ...[2, 1, 0x7f, 4, 0x7b], // locals: one i32 ($j), four v128 ($a0..$a3 = 6..9)
    ...[0x02, 0x40, ...get(N), 0x45, 0x0d, 0], // block; br_if 0 (n == 0)
    ...[0x03, 0x40], // loop $row
    ...[...zero, ...set(6), ...zero, ...set(7), ...zero, ...set(8), ...zero, ...set(9)],
    ...[0x41, 0, ...set(J)],
    ...[0x03, 0x40], // loop $col
    ...accumulate(6, 0),
    ...accumulate(7, 16),
    ...accumulate(8, 32),
    ...accumulate(9, 48),
    ...[...get(J), 0x41, 0xc0, 0x00, 0x6a, ...tee(J), ...get(STRIDE), 0x49, 0x0d, 0, 0x0b], // j += 64; br_if $col
    ...get(OUT),
    ...[...get(6), ...get(7), ...F32X4_ADD, ...get(8), ...F32X4_ADD, ...get(9), ...F32X4_ADD, ...tee(6)],
    ...[...simd(0x1f), 0, ...lane(1), 0x92, ...lane(2), 0x92, ...lane(3), 0x92], // lanes summed (f32.add)
    ...[0x38, 0x02, 0x00], // f32.store
    ...[...get(OUT), 0x41, 4, 0x6a, ...set(OUT)],
    ...[...get(V), ...get(STRIDE), 0x6a, ...set(V)],
    ...[...get(N), 0x41, 1, 0x6b, ...tee(N), 0x0d, 0, 0x0b, 0x0b, 0x0b], // br_if $row; end loop, block, func
  ];
  return new wasm.Module(
    new Uint8Array([
      ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      ...section(1, [1, 0x60, 5, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0]), // type (i32 × 5) → ()
      ...section(2, [1, ...name('env'), ...name('mem'), 0x02, 0x00, 0x01]), // imports env.mem
      ...section(3, [1, 0]),
      ...section(7, [1, ...name('score'), 0x00, 0]),
      ...section(10, [1, ...uleb(body.length), ...body]),
    ]),
  );
})();

type Kernel = (q: number, v: number, n: number, strideBytes: number, out: number) => void;
const PAGE = 65536;
/** 32-bit WebAssembly memory: 65,536 pages. */
const MAX_WASM_BYTES = 65536 * PAGE;

/** Bytes of a store's memory with room for `rows` rows of `stride` floats: the query, the rows, the scores. */
const storeBytes = (stride: number, rows: number) =>
  Math.max(PAGE, Math.ceil((4 * (stride + rows * stride + rows)) / PAGE) * PAGE);
/** Bytes per slot outside the store: the chunk id (Float64Array) and the file number (Int32Array). */
const SLOT_BYTES = 8 + 4;

/**
 * One workspace's unit vectors of one model in WebAssembly memory: the query at 0, then row after
 * row (`stride` floats, zero-padded), then room for the scores. Rows are appended, or compacted in
 * one synchronous step, so a query never sees a half-written index.
 */
export class VectorStore {
  readonly dims: number;
  readonly stride: number;
  capacity = 0;
  private readonly memory = new wasm.Memory({ initial: 1 });
  private readonly kernel: Kernel;
  private view = new Float32Array(this.memory.buffer);

  constructor(dims: number) {
    this.dims = dims;
    this.stride = Math.ceil(dims / 16) * 16;
    this.kernel = new wasm.Instance(KERNEL, { env: { mem: this.memory } }).exports.score as Kernel;
  }

  /** Bytes of WebAssembly memory held now (memory never shrinks: a smaller index needs a new store). */
  get bytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Bytes of memory `reserve(rows)` leaves (never less than it holds now). */
  bytesFor(rows: number): number {
    return Math.max(this.bytes, storeBytes(this.stride, rows));
  }

  /** Room for `rows` rows (growing the memory keeps its contents). */
  reserve(rows: number): void {
    if (rows <= this.capacity) return;
    const pages = (this.bytesFor(rows) - this.memory.buffer.byteLength) / PAGE;
    if (pages > 0) this.memory.grow(pages);
    this.view = new Float32Array(this.memory.buffer);
    this.capacity = rows;
  }

  write(slot: number, row: Float32Array): void {
    this.view.set(row.subarray(0, this.dims), this.stride * (slot + 1));
  }

  /** Moves row `from` to `to` (to < from). */
  move(from: number, to: number): void {
    const s = this.stride;
    this.view.copyWithin(s * (to + 1), s * (from + 1), s * (from + 2));
  }

  /** Dot products of `q` with the first `n` rows: the cosines, since all are unit vectors. */
  score(q: Float32Array, n: number): Float32Array {
    this.view.fill(0, 0, this.stride);
    this.view.set(q.subarray(0, this.dims), 0);
    const out = 4 * this.stride * (n + 1);
    this.kernel(0, 4 * this.stride, n, 4 * this.stride, out);
    return this.view.slice(out / 4, out / 4 + n);
  }
}

/** The `k` best slots by score, best first, among those whose file is allowed (a min-heap of k). */
export function topSlots(
  scores: Float32Array,
  n: number,
  k: number,
  fileOf: Int32Array,
  allowed: Uint8Array,
): number[] {
  const heapScore = new Float64Array(k);
  const heapSlot = new Int32Array(k);
  let size = 0;
  for (let i = 0; i < n; i++) {
    if (allowed[fileOf[i] as number] !== 1) continue;
    const s = scores[i] as number;
    if (size === k && s <= (heapScore[0] as number)) continue;
    let pos: number;
    if (size < k) {
      // Sift up from the new leaf.
      pos = size++;
      while (pos > 0) {
        const parent = (pos - 1) >> 1;
        if ((heapScore[parent] as number) <= s) break;
        heapScore[pos] = heapScore[parent] as number;
        heapSlot[pos] = heapSlot[parent] as number;
        pos = parent;
      }
    } else {
      // Replace the smallest and sift down.
      pos = 0;
      for (;;) {
        const l = 2 * pos + 1;
        if (l >= size) break;
        const r = l + 1;
        const c = r < size && (heapScore[r] as number) < (heapScore[l] as number) ? r : l;
        if ((heapScore[c] as number) >= s) break;
        heapScore[pos] = heapScore[c] as number;
        heapSlot[pos] = heapSlot[c] as number;
        pos = c;
      }
    }
    heapScore[pos] = s;
    heapSlot[pos] = i;
  }
  const order = Array.from({ length: size }, (_, i) => i).sort(
    (a, b) => (heapScore[b] as number) - (heapScore[a] as number) || (heapSlot[a] as number) - (heapSlot[b] as number),
  );
  return order.map((i) => heapSlot[i] as number);
}

const queryWords = (q: string) =>
  [...new Set(q.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])].filter((w) => w.length >= 3);

/** About `max` characters of `text` around the densest run of query words (prefix matches), else its start. */
export function semanticSnippet(text: string, q: string, max = SNIPPET_CHARS): string {
  if (text.length <= max) return text;
  const lower = text.toLowerCase();
  const hits: number[] = [];
  for (const w of queryWords(q)) {
    for (let at = lower.indexOf(w); at !== -1; at = lower.indexOf(w, at + w.length)) hits.push(at);
  }
  hits.sort((a, b) => a - b);
  let start = 0;
  let best = 0;
  for (let i = 0, j = 0; i < hits.length; i++) {
    while (j < hits.length && (hits[j] as number) < (hits[i] as number) + max * 0.8) j++;
    if (j - i > best) {
      best = j - i;
      start = hits[i] as number;
    }
  }
  // Some context before the first match, starting on a word.
  if (start > 0) {
    start = Math.max(0, start - Math.floor(max * 0.2));
    const space = text.indexOf(' ', start);
    if (space !== -1 && space < start + 20) start = space + 1;
  }
  let end = Math.min(text.length, start + max);
  if (end < text.length) {
    const space = text.lastIndexOf(' ', end);
    if (space > start + max / 2) end = space;
  }
  return `${start > 0 ? '…' : ''}${text.slice(start, end).trim()}${end < text.length ? '…' : ''}`;
}

/** Reciprocal rank fusion of ranked lists; a key in several lists is one hit matched by all of them. */
export function fuseRanked(lists: Ranked[][], limit: number): Ranked[] {
  const merged = new Map<string, Ranked>();
  for (const list of lists) {
    list.forEach((hit, rank) => {
      const contribution = 1 / (RRF_K + rank + 1);
      const seen = merged.get(hit.key);
      if (!seen) {
        merged.set(hit.key, { ...hit, score: contribution, matchedBy: [...hit.matchedBy] });
        return;
      }
      seen.score += contribution;
      for (const m of hit.matchedBy) if (!seen.matchedBy.includes(m)) seen.matchedBy.push(m);
    });
  }
  return [...merged.values()].sort((a, b) => b.score - a.score).slice(0, limit);
}

interface ChunkRow {
  id: string;
  file_id: string;
  source: TextSource;
  text: string;
  start_ms: number | null;
  end_ms: number | null;
  page: number | null;
  name: string;
  kind: MediaKind | null;
  mime_type: string | null;
  folder: string;
}

const hitOf = (r: Omit<ChunkRow, 'id' | 'text' | 'source'>) => ({
  fileId: r.file_id,
  name: r.name,
  kind: r.kind,
  mimeType: r.mime_type,
  folder: r.folder,
  startMs: r.start_ms,
  endMs: r.end_ms,
  page: r.page,
});

export function createMediaSearch(deps: MediaSearchDeps): MediaSearch {
  const { orm, embeddings } = deps;
  const idleMs = deps.idleMs ?? 10 * 60_000;
  const maxBytes = deps.maxIndexBytes ?? DEFAULT_MAX_INDEX_BYTES;
  const embedTimeoutMs = deps.embedTimeoutMs ?? DEFAULT_EMBED_TIMEOUT_MS;
  /** Least recently used first: a query moves its index to the end. */
  const indexes = new Map<string, VectorIndex>();
  const exec = <T>(sql: string, params: unknown[] = []) => orm.em.getConnection().execute(sql, params) as Promise<T>;
  let hnsw: Promise<boolean> | undefined;

  /**
   * Dropping an index from the map is all it takes to free it: nothing else holds its store, so its
   * WebAssembly memory is collected once a query already using it finishes (memory cannot shrink, and
   * is never reused for another index).
   */
  function drop(index: VectorIndex): void {
    index.dropped = true;
    if (indexes.get(index.key) === index) indexes.delete(index.key);
  }

  const sweep = setInterval(
    () => {
      const cutoff = Date.now() - idleMs;
      for (const index of indexes.values()) if (index.lastUsed < cutoff && !index.syncing) drop(index);
    },
    Math.min(idleMs, 60_000),
  );
  sweep.unref();

  const indexBytes = (index: VectorIndex) => index.store.bytes + index.ids.byteLength + index.fileOf.byteLength;
  const totalBytes = () => {
    let total = 0;
    for (const index of indexes.values()) total += indexBytes(index);
    return total;
  };

  /** The most rows one index of this many dimensions may hold: all of the budget, within 32-bit memory. */
  const rowLimits = new Map<number, number>();
  function maxRows(dims: number): number {
    let rows = rowLimits.get(dims);
    if (rows === undefined) {
      const stride = Math.ceil(dims / 16) * 16;
      const fits = (r: number) =>
        storeBytes(stride, r) <= MAX_WASM_BYTES && storeBytes(stride, r) + SLOT_BYTES * r <= maxBytes;
      // An estimate from above, then down past the rounding to whole pages.
      rows = Math.max(0, Math.floor(Math.min(maxBytes, MAX_WASM_BYTES) / (4 * stride + 4 + SLOT_BYTES)));
      while (rows > 0 && !fits(rows)) rows--;
      rowLimits.set(dims, rows);
    }
    return rows;
  }

  function assertFits(chunks: number, dims: number): void {
    const limit = maxRows(dims);
    if (chunks <= limit) return;
    throw new SearchUnavailableError(
      `this workspace has ${chunks} embedded chunks, more than the in-memory index holds (${limit}); install pgvector for larger libraries`,
      { reason: 'too_large' },
    );
  }

  /** Drops least recently used indexes other than `keep` until `growth` more bytes fit the budget. */
  function makeRoom(keep: VectorIndex, growth: number): void {
    let total = totalBytes();
    for (const index of indexes.values()) {
      if (total + growth <= maxBytes) return;
      if (index === keep) continue;
      total -= indexBytes(index);
      drop(index);
    }
  }

  async function keyword(workspaceId: string, q: string, limit: number, filters: Filters): Promise<Ranked[]> {
    const f = fileFilters(filters);
    // Rank first, then build headlines for the few rows kept (ts_headline re-parses the text).
    const chunksQuery = exec<(ChunkRow & { score: number; snippet: string })[]>(
      `with q as (select websearch_to_tsquery('english', ?) as query),
       top as (
         select c.id, c.file_id, c.source, c.text, c.start_ms, c.end_ms, c.page, f.name, f.kind, f.mime_type, f.folder,
                ts_rank_cd(c.tsv, q.query) as score, q.query
           from q, media_chunks c join media_files f on f.id = c.file_id
          where c.workspace_id = ? and c.tsv @@ q.query
            and f.workspace_id = ?${f.sql}
          order by score desc, c.id
          limit ?)
       select id, file_id, source, start_ms, end_ms, page, name, kind, mime_type, folder, score,
              ts_headline('english', text, query,
                'StartSel=«, StopSel=», MaxWords=30, MinWords=12, ShortWord=2, MaxFragments=2, FragmentDelimiter=" … "') as snippet
         from top order by score desc, id`,
      [q, workspaceId, workspaceId, ...f.params, limit],
    );
    // Names, folders and tags: words (stemmed; punctuation split, so "q3-report.pdf" has "report"),
    // weighted above chunk text, or the whole query inside the name.
    const namesQuery = exec<(Omit<ChunkRow, 'id' | 'text' | 'source'> & { score: number; tags: string[] })[]>(
      `with q as (select websearch_to_tsquery('english', ?) as query)
       select f.id as file_id, f.name, f.kind, f.mime_type, f.folder, f.tags,
              null as start_ms, null as end_ms, null as page,
              greatest(ts_rank_cd(doc.vec, q.query), case when f.name ilike ? escape '!' then 1 else 0 end) as score
         from q, media_files f,
              lateral (select setweight(to_tsvector('english', regexp_replace(f.name, '[^[:alnum:]]+', ' ', 'g')), 'A')
                           || setweight(to_tsvector('english', regexp_replace(f.folder || ' ' || array_to_string(f.tags, ' '),
                                                                             '[^[:alnum:]]+', ' ', 'g')), 'B') as vec) doc
        where f.workspace_id = ?${f.sql}
          and (doc.vec @@ q.query or f.name ilike ? escape '!')
        order by score desc, f.id
        limit ?`,
      [q, `%${escapeLike(q)}%`, workspaceId, ...f.params, `%${escapeLike(q)}%`, limit],
    );
    const [chunks, names] = await Promise.all([chunksQuery, namesQuery]);
    const hits: Ranked[] = [
      ...chunks.map((r) => ({
        key: `c:${r.id}`,
        ...hitOf(r),
        source: r.source,
        snippet: r.snippet,
        score: Number(r.score),
        matchedBy: ['keyword' as const],
      })),
      ...names.map((r) => ({
        key: `n:${r.file_id}`,
        ...hitOf(r),
        source: 'name' as const,
        snippet: [r.folder ? `${r.folder}/${r.name}` : r.name, ...r.tags.map((t) => `#${t}`)].join(' '),
        score: Number(r.score),
        matchedBy: ['keyword' as const],
      })),
    ];
    return hits.sort((a, b) => b.score - a.score).slice(0, limit);
  }

  /** Ids of the workspace's existing files that pass the filters. */
  async function liveFiles(workspaceId: string, filters: Filters): Promise<Set<string>> {
    const f = fileFilters(filters);
    const rows = await exec<{ id: string }[]>(`select f.id from media_files f where f.workspace_id = ?${f.sql}`, [
      workspaceId,
      ...f.params,
    ]);
    return new Set(rows.map((r) => r.id));
  }

  function fingerprint(workspaceId: string, model: string): Promise<Fingerprint[]> {
    return exec<Fingerprint[]>(
      `select count(*)::int as n, coalesce(max(id), 0)::text as max, coalesce(bit_xor(id), 0)::text as xor
         from media_chunks where workspace_id = ? and model = ?`,
      [workspaceId, model],
    );
  }

  const sameFp = (a: Fingerprint | undefined, b: Fingerprint | undefined) =>
    !!a && !!b && a.n === b.n && a.max === b.max && a.xor === b.xor;

  /** Scores every row now, with the slot → chunk and file arrays that go with those scores. */
  const scoreNow = (index: VectorIndex, vector: Float32Array) => ({
    scores: index.store.score(vector, index.n),
    ids: index.ids,
    fileOf: index.fileOf,
    files: index.files,
    n: index.n,
  });

  /** Brings the index up to the database: drops the slots whose rows are gone, loads the new rows. */
  async function sync(index: VectorIndex, workspaceId: string): Promise<void> {
    const [state] = await exec<(Fingerprint & { ids: string })[]>(
      `select count(*)::int as n, coalesce(max(id), 0)::text as max, coalesce(bit_xor(id), 0)::text as xor,
              coalesce(string_agg(id::text, ','), '') as ids
         from media_chunks where workspace_id = ? and model = ?`,
      [workspaceId, index.model],
    );
    if (!state) return;
    try {
      assertFits(state.n, index.store.dims);
    } catch (err) {
      drop(index);
      throw err;
    }
    const current = new Set(state.ids ? state.ids.split(',').map(Number) : []);
    const known = new Set(index.ids.subarray(0, index.n));
    const { store } = index;
    if (known.size > 0 && [...known].some((id) => !current.has(id))) {
      // Rows are gone: compact in one synchronous pass, into new id arrays.
      const ids = new Float64Array(index.ids.length);
      const fileOf = new Int32Array(index.ids.length);
      const files: string[] = [];
      const fileNo = new Map<string, number>();
      let n = 0;
      for (let slot = 0; slot < index.n; slot++) {
        const id = index.ids[slot] as number;
        if (!current.has(id)) continue;
        if (slot !== n) store.move(slot, n);
        const file = index.files[index.fileOf[slot] as number] as string;
        let no = fileNo.get(file);
        if (no === undefined) {
          no = files.push(file) - 1;
          fileNo.set(file, no);
        }
        ids[n] = id;
        fileOf[n++] = no;
      }
      Object.assign(index, { ids, fileOf, files, n });
    }
    const added = [...current].filter((id) => !known.has(id));
    if (index.n + added.length > store.capacity) {
      // Headroom for growth, within what one index may hold (assertFits: the rows needed do fit).
      const capacity = Math.min(maxRows(store.dims), Math.max(1024, Math.ceil((index.n + added.length) * 1.25)));
      // Room in the budget, then the memory, in one synchronous step: concurrent syncs cannot both
      // count on the same room. A dropped index (still loading for the query that uses it) is not counted.
      if (!index.dropped) makeRoom(index, store.bytesFor(capacity) + SLOT_BYTES * capacity - indexBytes(index));
      store.reserve(capacity);
      const ids = new Float64Array(capacity);
      const fileOf = new Int32Array(capacity);
      ids.set(index.ids.subarray(0, index.n));
      fileOf.set(index.fileOf.subarray(0, index.n));
      Object.assign(index, { ids, fileOf });
    }
    const fileNo = new Map(index.files.map((id, no) => [id, no]));
    const row = new Float32Array(store.dims);
    for (let i = 0; i < added.length; i += LOAD_BATCH) {
      // array_send is the binary array format: a 20-byte header, then per element a length and a big-endian float4.
      const rows = await exec<{ id: string; file_id: string; e: string }[]>(
        `select id, file_id, encode(array_send(embedding), 'base64') as e from media_chunks
          where id = any(?::bigint[]) and workspace_id = ? and model = ? and embedding is not null`,
        [bigintArray(added.slice(i, i + LOAD_BATCH)), workspaceId, index.model],
      );
      for (const r of rows) {
        const bytes = Buffer.from(r.e, 'base64');
        // Another length (or a null element) is not a vector of this model.
        if (bytes.length !== 20 + 8 * store.dims) continue;
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
        for (let j = 0; j < store.dims; j++) row[j] = view.getFloat32(24 + 8 * j);
        store.write(index.n, row);
        let no = fileNo.get(r.file_id);
        if (no === undefined) {
          no = index.files.push(r.file_id) - 1;
          fileNo.set(r.file_id, no);
        }
        index.ids[index.n] = Number(r.id);
        index.fileOf[index.n++] = no;
      }
    }
    index.fp = { n: state.n, max: state.max, xor: state.xor };
  }

  /** One sync at a time per index; concurrent queries wait for the one in progress. */
  function syncOnce(index: VectorIndex, workspaceId: string): Promise<void> {
    index.syncing ??= sync(index, workspaceId).finally(() => {
      index.syncing = undefined;
    });
    return index.syncing;
  }

  /** Marks a use: the index becomes the most recently used (unless it was dropped already). */
  function touch(index: VectorIndex): void {
    index.lastUsed = Date.now();
    if (index.dropped) return;
    indexes.delete(index.key);
    indexes.set(index.key, index);
  }

  /** The workspace's index, made the most recently used (created empty when there is none). */
  function indexFor(workspaceId: string, provider: EmbeddingProvider): VectorIndex {
    const key = `${workspaceId}/${provider.model}`;
    let index = indexes.get(key);
    if (!index) {
      index = {
        key,
        workspaceId,
        model: provider.model,
        store: new VectorStore(provider.dimensions),
        n: 0,
        ids: new Float64Array(0),
        fileOf: new Int32Array(0),
        files: [],
        fp: undefined,
        lastUsed: Date.now(),
        syncing: undefined,
        dropped: false,
      };
      indexes.set(key, index);
    }
    touch(index);
    return index;
  }

  /** Whether pgvector's index is there, asked once; a failed check is asked again by the next query. */
  const hnswAvailable = () => {
    if (!hnsw) {
      const check = exec<{ ok: boolean }[]>(
        `select exists (select 1 from pg_extension where extname = 'vector')
                and to_regclass('media_chunks_hnsw_512') is not null as ok`,
      ).then(([r]) => r?.ok === true);
      hnsw = check;
      check.catch(() => {
        if (hnsw === check) hnsw = undefined;
      });
    }
    return hnsw;
  };

  /** The query's vector; a provider failure (error, refusal, no answer in time) as provider_failed. */
  async function queryVector(provider: EmbeddingProvider, q: string, opts: SearchOptions): Promise<Float32Array> {
    if (opts.queryVector) return opts.queryVector;
    const timeout = AbortSignal.timeout(embedTimeoutMs);
    try {
      const [vector] = await provider.embed([q], opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout);
      if (vector) return vector;
      throw new Error('the embedding provider returned no vector');
    } catch (err) {
      // The caller gave up: not the provider's failure.
      if (opts.signal?.aborted) throw err;
      throw new SearchUnavailableError(PROVIDER_FAILED, {
        reason: 'provider_failed',
        retryAfterMs: retryAfterMs(err),
        cause: err,
      });
    }
  }

  /**
   * pgvector's HNSW index (production images that have the extension), for the one model it is built
   * for. Untested here (no pgvector in CI); it only ranks: the re-join below is the same as in-memory.
   * Iterative scans keep reading the graph until `k` rows pass the workspace and filter conditions.
   */
  async function hnswCandidates(
    workspaceId: string,
    vector: Float32Array,
    k: number,
    filters: Filters,
  ): Promise<{ id: string; score: number }[]> {
    const literal = `[${Array.from(vector).join(',')}]`;
    const f = fileFilters(filters);
    return orm.em.fork().transactional(async (em) => {
      const sql = sqlOf(em);
      await sql.execute('set local hnsw.iterative_scan = relaxed_order', [], 'run');
      return sql.execute<{ id: string; score: number }[]>(
        `select c.id, 1 - (c.embedding::vector(512) <=> ?::vector) as score
           from media_chunks c join media_files f on f.id = c.file_id
          where c.workspace_id = ? and c.model = '${HNSW_MODEL}'
            and f.workspace_id = ?${f.sql}
          order by c.embedding::vector(512) <=> ?::vector
          limit ?`,
        [literal, workspaceId, workspaceId, ...f.params, literal, k],
      );
    });
  }

  /** Text, timing and file of candidate chunks whose rows and files still exist and pass the filters. */
  async function rejoin(
    workspaceId: string,
    model: string,
    ids: string[],
    filters: Filters,
  ): Promise<Map<string, ChunkRow>> {
    if (ids.length === 0) return new Map();
    const f = fileFilters(filters);
    const rows = await exec<ChunkRow[]>(
      `select c.id, c.file_id, c.source, c.text, c.start_ms, c.end_ms, c.page, f.name, f.kind, f.mime_type, f.folder
         from media_chunks c join media_files f on f.id = c.file_id
        where c.id = any(?::bigint[]) and c.workspace_id = ? and c.model = ?
          and f.workspace_id = ?${f.sql}`,
      [bigintArray(ids), workspaceId, model, workspaceId, ...f.params],
    );
    return new Map(rows.map((r) => [String(r.id), r]));
  }

  async function semantic(
    workspaceId: string,
    q: string,
    limit: number,
    filters: Filters,
    opts: SearchOptions,
  ): Promise<Ranked[]> {
    const provider = embeddings;
    if (!provider) throw new SearchUnavailableError();
    const vector = await queryVector(provider, q, opts);
    if (vector.length !== provider.dimensions) {
      throw new Error(`the query vector has ${vector.length} dimensions, the index ${provider.dimensions}`);
    }
    const hits: Ranked[] = [];
    const toHits = (rows: Map<string, ChunkRow>, candidates: { id: string; score: number }[]) => {
      for (const c of candidates) {
        const r = rows.get(c.id);
        if (!r || hits.length >= limit) continue;
        hits.push({
          key: `c:${c.id}`,
          ...hitOf(r),
          source: r.source,
          snippet: semanticSnippet(r.text, q),
          score: c.score,
          matchedBy: ['semantic'],
        });
      }
    };

    if (provider.model === HNSW_MODEL && (await hnswAvailable())) {
      // Over-fetch: a row may go between the index scan and the re-join.
      const candidates = (await hnswCandidates(workspaceId, vector, limit * OVERFETCH, filters))
        .map((c) => ({ id: String(c.id), score: Number(c.score) }))
        .sort((a, b) => b.score - a.score); // relaxed_order is only roughly ordered
      const rows = await rejoin(
        workspaceId,
        provider.model,
        candidates.map((c) => c.id),
        filters,
      );
      toHits(rows, candidates);
      return hits;
    }

    // The fingerprint and the files are read while this process scores.
    const checked = handled(fingerprint(workspaceId, provider.model));
    let live = handled(liveFiles(workspaceId, filters));
    let index = indexes.get(`${workspaceId}/${provider.model}`);
    if (index?.fp) {
      touch(index);
    } else {
      // Cold: a workspace too large for memory is refused before anything is loaded.
      assertFits((await checked)[0]?.n ?? 0, provider.dimensions);
      index = indexFor(workspaceId, provider);
      if (!index.fp) await syncOnce(index, workspaceId);
    }
    await new Promise((resolve) => setImmediate(resolve)); // lets the driver send both queries first
    let snap = scoreNow(index, vector);
    const [fp] = await checked;
    if (!sameFp(fp, index.fp)) {
      try {
        assertFits(fp?.n ?? 0, provider.dimensions);
      } catch (err) {
        drop(index);
        throw err;
      }
      await syncOnce(index, workspaceId);
      live = liveFiles(workspaceId, filters);
      snap = scoreNow(index, vector);
    }
    const liveIds = await live;
    const allowed = Uint8Array.from(snap.files, (id) => (liveIds.has(id) ? 1 : 0));

    // Best first; if re-joined rows drop out (deleted, filtered), take the next ones until `limit` pass.
    let taken = 0;
    let want = limit * OVERFETCH;
    while (hits.length < limit && taken < snap.n) {
      const slots = topSlots(snap.scores, snap.n, taken + want, snap.fileOf, allowed).slice(taken);
      if (slots.length === 0) break;
      const candidates = slots.map((slot) => ({ id: String(snap.ids[slot]), score: snap.scores[slot] as number }));
      toHits(
        await rejoin(
          workspaceId,
          index.model,
          candidates.map((c) => c.id),
          filters,
        ),
        candidates,
      );
      taken += slots.length;
      want = taken * 4;
    }
    return hits;
  }

  return {
    async search(workspaceId, query, opts = {}) {
      const q = query.q.trim();
      const limit = Math.max(1, Math.floor(query.limit));
      if (!q) return [];
      const filters: Filters = { kind: query.kind, folder: query.folder, tag: query.tag };
      let ranked: Ranked[];
      if (query.mode === 'keyword' || (query.mode === 'hybrid' && !embeddings)) {
        // Hybrid without an embedding provider is keyword search (documented in the API).
        ranked = await keyword(workspaceId, q, limit, filters);
      } else if (query.mode === 'semantic') {
        ranked = await semantic(workspaceId, q, limit, filters, opts);
      } else {
        // The semantic half may fail (provider down, slow or refusing, workspace too large): the
        // keyword hits are still an answer.
        let failure: { cause: unknown } | undefined;
        const [k, s] = await Promise.all([
          keyword(workspaceId, q, limit * 2, filters),
          semantic(workspaceId, q, limit * 2, filters, opts).catch((cause: unknown) => {
            if (opts.signal?.aborted) throw cause;
            failure = { cause };
            return [];
          }),
        ]);
        ranked = fuseRanked([k, s], limit);
        if (failure) {
          const { cause } = failure;
          opts.onDegraded?.(
            cause instanceof SearchUnavailableError ? cause.message : 'semantic search failed; keyword matches only',
            cause,
          );
        }
      }
      return ranked.map(({ key: _key, ...hit }) => hit);
    },
    indexStats() {
      return {
        bytes: totalBytes(),
        maxBytes,
        indexes: [...indexes.values()].map((i) => ({
          workspaceId: i.workspaceId,
          model: i.model,
          rows: i.n,
          bytes: indexBytes(i),
        })),
      };
    },
    close() {
      clearInterval(sweep);
      for (const index of indexes.values()) drop(index);
    },
  };
}
