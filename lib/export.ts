import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { EntityManager } from '@mikro-orm/core';
import { ZipFile } from 'yazl';
import { DELETION_GRAPH, type GraphTable, type Reach } from '../domain/deletion-graph.ts';
import type { Config } from './config.ts';
import { type Sql, sqlOf } from './sql.ts';
import { ObjectNotFoundError, type ObjectStorage } from './storage.ts';

// Portability exports (GDPR Art. 15 and 20, R-DSR-3): a ZIP with a manifest, a JSON Schema, one JSON
// and one CSV file per table the subject reaches in the deletion graph, and the stored files those
// rows point at. docs/export-schema.md documents the format; bump EXPORT_SCHEMA_VERSION (and the
// document) whenever its shape changes. Rows are read in one repeatable-read snapshot, a page at a
// time, and written to disk as they come, so memory stays flat however large the subject is.

export const EXPORT_SCHEMA_VERSION = '1.3';
export const EXPORT_SCHEMA_ID = `urn:switchboard:export:${EXPORT_SCHEMA_VERSION}`;
export const EXPORT_KINDS = ['account', 'workspace'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

const PAGE_SIZE = 500;

/**
 * Columns that hold someone else's personal data. A row the subject reaches only through an
 * `anonymise` reach (their id is a reference in someone else's row, e.g. an invitation they sent) is
 * exported with these columns set to null: the invitee's address belongs to the invitee (Art. 15(4),
 * 20(4): the copy must not adversely affect the rights of others).
 */
export const OTHER_PEOPLES_COLUMNS: Record<string, string[]> = { invitations: ['email'] };

/** Shapes of JSON columns (information_schema only says `jsonb`); others are any JSON value. */
const JSON_SHAPES: Record<string, JsonSchema> = {
  'connections.scopes': { type: 'array', items: { type: 'string' } },
  'connections.external_ids': { type: 'object', additionalProperties: { type: 'string' } },
};

export type JsonSchema = Record<string, unknown>;

export interface ExportSubject {
  kind: ExportKind;
  subjectId: string;
  /** The data folder: fileColumn values are paths under it. */
  dataDir: string;
  /** Where storageKeyColumn values are keys (absent: such files are left out). */
  storage?: ObjectStorage;
}

export interface ExportProgress {
  table: string;
  rows: number;
}

export interface BuildOptions {
  onProgress?: (progress: ExportProgress) => void;
  /** Stops the build between pages (an activity's cancellation signal). */
  signal?: AbortSignal;
  /** The table declarations to export; the deletion graph unless a test passes its own. */
  graph?: GraphTable[];
}

export interface ExportResult {
  bytes: number;
  sha256: string;
  /** Rows per exported table. */
  tables: Record<string, number>;
  files: number;
}

export interface ManifestTable {
  description: string;
  rows: number;
  json: string;
  csv: string;
  sha256: { json: string; csv: string };
  /** Columns deliberately left out (secrets, hashes of secrets, ciphertext, internal paths). */
  omittedColumns: string[];
  /** Columns set to null in rows that reach the subject only as a reference (someone else's data). */
  redactedColumns: string[];
}

export interface ManifestFile {
  path: string;
  table: string;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  schemaVersion: string;
  generatedAt: string;
  generator: string;
  subject: { kind: ExportKind; id: string };
  schema: { path: string; id: string; sha256: string };
  tables: Record<string, ManifestTable>;
  files: ManifestFile[];
}

export interface ExportColumn {
  name: string;
  udt: string;
  nullable: boolean;
  maxLength: number | null;
  comment: string | null;
  /** Allowed values, from a `check (col in (...))` constraint (the entities' enums). */
  values: string[] | null;
}

interface Plan {
  table: GraphTable;
  reaches: Reach[];
  columns: ExportColumn[];
  key: ExportColumn[];
  redacted: string[];
  /** Stored files travel with the rows only when the path column itself is exportable. */
  fileColumn: string | undefined;
  /** Likewise for objects in storage. */
  storageKeyColumn: string | undefined;
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Graph tables a subject kind exports, each with every reach that leads to it (in graph order). */
export function exportTables(
  kind: ExportKind,
  graph: GraphTable[] = DELETION_GRAPH,
): { table: GraphTable; reaches: Reach[] }[] {
  return graph
    .filter((t) => !t.system && (t.reach[kind]?.length ?? 0) > 0)
    .map((table) => ({
      table,
      reaches: table.reach[kind] ?? [],
    }));
}

async function plan(sql: Sql, kind: ExportKind, graph?: GraphTable[]): Promise<Plan[]> {
  const plans: Plan[] = [];
  for (const { table, reaches } of exportTables(kind, graph)) {
    const rows = await sql.execute<
      {
        name: string;
        udt: string;
        nullable: string;
        max_length: number | null;
        comment: string | null;
      }[]
    >(
      `select c.column_name::text as name, c.udt_name::text as udt, c.is_nullable::text as nullable,
              c.character_maximum_length::int as max_length,
              col_description(to_regclass(quote_ident(c.table_name))::oid, c.ordinal_position::int) as comment
         from information_schema.columns c
        where c.table_schema = current_schema() and c.table_name = ?
        order by c.ordinal_position`,
      [table.table],
    );
    if (rows.length === 0) throw new Error(`table ${table.table} of the deletion graph does not exist`);
    const checks = await sql.execute<{ name: string; def: string }[]>(
      `select a.attname::text as name, pg_get_constraintdef(c.oid) as def
         from pg_constraint c
         join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
        where c.conrelid = to_regclass(quote_ident(?)) and c.contype = 'c' and cardinality(c.conkey) = 1`,
      [table.table],
    );
    const all: ExportColumn[] = rows.map((r) => ({
      name: r.name,
      udt: r.udt,
      nullable: r.nullable === 'YES',
      maxLength: r.max_length,
      comment: r.comment,
      values: enumValues(checks.filter((c) => c.name === r.name).map((c) => c.def)),
    }));
    const keyRows = await sql.execute<{ name: string }[]>(
      `select a.attname::text as name
         from pg_index i
         join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
        where i.indrelid = to_regclass(quote_ident(?)) and i.indisprimary
        order by array_position(i.indkey::int2[], a.attnum)`,
      [table.table],
    );
    const key = keyRows.map((k) => all.find((c) => c.name === k.name)!).filter(Boolean);
    if (key.length === 0) throw new Error(`table ${table.table} has no primary key to page by`);
    const omit = new Set(table.exportOmit ?? []);
    const hasAnonymise = reaches.some((r) => r.action === 'anonymise');
    plans.push({
      table,
      reaches,
      columns: all.filter((c) => !omit.has(c.name)),
      key,
      redacted: hasAnonymise ? (OTHER_PEOPLES_COLUMNS[table.table] ?? []).filter((c) => !omit.has(c)) : [],
      fileColumn: table.fileColumn && !omit.has(table.fileColumn) ? table.fileColumn : undefined,
      // Stored objects come with the subject that owns them: rows it reaches only as a reference
      // (a file someone uploaded to a workspace) are listed, their bytes stay with the workspace.
      storageKeyColumn:
        table.storageKeyColumn && !omit.has(table.storageKeyColumn) && reaches.some((r) => r.action === 'delete')
          ? table.storageKeyColumn
          : undefined,
    });
  }
  return plans;
}

// ---- types: PostgreSQL → JSON (and the SQL that produces each value) ----

/** The values of `CHECK ((col = ANY (ARRAY['a'::text, 'b'::text])))`, PostgreSQL's form of `col in ('a', 'b')`. */
function enumValues(defs: string[]): string[] | null {
  for (const def of defs) {
    const list = /^CHECK \(\(\(?"?[\w]+"?\)?(?:::text)? = ANY \(\(?ARRAY\[(.*)\]\)?(?:::text\[\])?\)\)\)$/.exec(
      def,
    )?.[1];
    if (!list) continue;
    const values = [...list.matchAll(/'((?:[^']|'')*)'::(?:text|character varying)/g)].map((m) =>
      m[1]!.replaceAll("''", "'"),
    );
    if (values.length) return values;
  }
  return null;
}

const TIMESTAMP_TZ = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;
const TIMESTAMP = `'YYYY-MM-DD"T"HH24:MI:SS.US'`;
const PASSTHROUGH = new Set([
  'uuid',
  'text',
  'varchar',
  'bpchar',
  'int2',
  'int4',
  'float4',
  'float8',
  'bool',
  'json',
  'jsonb',
]);

/** How a column is read: timestamps are formatted in PostgreSQL (UTC, microseconds), 64-bit numbers as text. */
function selectExpr(c: ExportColumn): string {
  const q = ident(c.name);
  if (c.udt === 'timestamptz') return `to_char(${q} at time zone 'UTC', ${TIMESTAMP_TZ})`;
  if (c.udt === 'timestamp') return `to_char(${q}, ${TIMESTAMP})`;
  if (PASSTHROUGH.has(c.udt)) return q;
  return `${q}::text`;
}

/** The JSON Schema of one column's values. */
export function columnSchema(table: string, c: ExportColumn, nullable = c.nullable): JsonSchema {
  let s: JsonSchema;
  switch (c.udt) {
    case 'uuid':
      s = { type: 'string', format: 'uuid' };
      break;
    case 'text':
      s = { type: 'string' };
      break;
    case 'varchar':
    case 'bpchar':
      s = c.maxLength ? { type: 'string', maxLength: c.maxLength } : { type: 'string' };
      break;
    case 'timestamptz':
      s = { type: 'string', format: 'date-time' };
      break;
    case 'timestamp':
      s = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{6}$' };
      break;
    case 'date':
      s = { type: 'string', format: 'date' };
      break;
    case 'int2':
    case 'int4':
      s = { type: 'integer' };
      break;
    case 'int8':
      s = { type: 'string', pattern: '^-?[0-9]+$', $comment: '64-bit integer as a decimal string' };
      break;
    case 'numeric':
      s = { type: 'string', pattern: '^-?[0-9]+(\\.[0-9]+)?$', $comment: 'exact decimal as a string' };
      break;
    case 'float4':
    case 'float8':
      s = { type: 'number' };
      break;
    case 'bool':
      s = { type: 'boolean' };
      break;
    case 'json':
    case 'jsonb':
      s = { ...(JSON_SHAPES[`${table}.${c.name}`] ?? {}) };
      break;
    default:
      s = { type: 'string', $comment: `PostgreSQL ${c.udt} as text` };
  }
  if (c.values && s.type === 'string') s.enum = [...c.values, ...(nullable ? [null] : [])];
  if (nullable && typeof s.type === 'string') s.type = [s.type, 'null'];
  if (c.comment) s.description = c.comment;
  return s;
}

function tableSchema(p: Plan): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const c of p.columns) {
    const redacted = p.redacted.includes(c.name);
    const s = columnSchema(p.table.table, c, c.nullable || redacted);
    if (redacted)
      s.description = 'null in rows that reach the subject only as a reference: the value is someone else’s';
    properties[c.name] = s;
  }
  const omitted = p.table.exportOmit ?? [];
  return {
    title: p.table.table,
    description: p.table.describes,
    ...(omitted.length ? { $comment: `Not exported: ${omitted.join(', ')}.` } : {}),
    type: 'object',
    properties,
    required: p.columns.map((c) => c.name),
    additionalProperties: false,
  };
}

/** schema.json: one row schema per table under $defs; the document itself describes `{ table: rows[] }`. */
function exportSchemaDocument(plans: Plan[]): JsonSchema {
  const defs: Record<string, JsonSchema> = {};
  const properties: Record<string, JsonSchema> = {};
  for (const p of plans) {
    defs[p.table.table] = tableSchema(p);
    properties[p.table.table] = {
      description: `Contents of data/${p.table.table}.json`,
      type: 'array',
      items: { $ref: `#/$defs/${p.table.table}` },
    };
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: EXPORT_SCHEMA_ID,
    title: `Switchboard data export, schema ${EXPORT_SCHEMA_VERSION}`,
    description:
      'Each data/<table>.json file is an array of rows; $defs/<table> is the schema of one row. See docs/export-schema.md.',
    type: 'object',
    properties,
    additionalProperties: false,
    $defs: defs,
  };
}

// ---- CSV (RFC 4180) ----

function csvField(value: unknown, json: boolean): string {
  if (value === null || value === undefined) return '';
  const text = json ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRecord(values: unknown[], jsonColumns: boolean[] = []): string {
  return `${values.map((v, i) => csvField(v, jsonColumns[i] ?? false)).join(',')}\r\n`;
}

// ---- files on disk ----

/** A file a row points at: a path under the data folder, or a key in the local storage folder. */
interface StoredFile {
  table: string;
  source: string;
  root: 'data' | 'storage';
}

/** A data-folder path resolved safely: undefined when it would leave the folder. */
export function resolveDataPath(dataDir: string, relative: string): string | undefined {
  const root = path.resolve(dataDir);
  const abs = path.resolve(root, relative);
  return abs.startsWith(root + path.sep) ? abs : undefined;
}

/** Writes text to a file while hashing and counting it. */
class HashedWriter {
  readonly hash = createHash('sha256');
  bytes = 0;
  private readonly handle: FileHandle;
  private constructor(handle: FileHandle) {
    this.handle = handle;
  }
  static async open(file: string): Promise<HashedWriter> {
    await mkdir(path.dirname(file), { recursive: true });
    return new HashedWriter(await open(file, 'w'));
  }
  async write(text: string): Promise<void> {
    if (!text) return;
    const buf = Buffer.from(text, 'utf8');
    this.hash.update(buf);
    this.bytes += buf.length;
    await this.handle.write(buf);
  }
  async close(): Promise<string> {
    await this.handle.close();
    return this.hash.digest('hex');
  }
}

/** A stored object copied into the work folder (any driver, S3 too), or undefined when it is gone. */
async function fetchObject(storage: ObjectStorage | undefined, key: string, workDir: string) {
  if (!storage) return undefined;
  const file = path.join(workDir, 'objects', createHash('sha256').update(key).digest('hex'));
  await mkdir(path.dirname(file), { recursive: true });
  try {
    await pipeline(await storage.get(key), createWriteStream(file));
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
  return file;
}

async function hashFile(file: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

// ---- the build ----

interface TableOutput {
  rows: number;
  jsonSha: string;
  csvSha: string;
}

/** Pages through one table's rows of the subject (all reaches OR-ed, so a row comes once) into JSON and CSV. */
async function writeTable(
  sql: Sql,
  p: Plan,
  subjectId: string,
  workDir: string,
  files: Map<string, StoredFile>,
  opts: BuildOptions,
): Promise<TableOutput> {
  const name = p.table.table;
  const json = await HashedWriter.open(path.join(workDir, 'data', `${name}.json`));
  const csv = await HashedWriter.open(path.join(workDir, 'csv', `${name}.csv`));
  try {
    const isJson = p.columns.map((c) => c.udt === 'json' || c.udt === 'jsonb');
    await csv.write(csvRecord(p.columns.map((c) => c.name)));
    await json.write('[');

    // Every reach predicate takes the subject id once (the graph's contract).
    const reachParams = (reaches: Reach[]) => reaches.map(() => subjectId);
    const own = p.reaches.filter((r) => r.action === 'delete');
    const ownExpr = own.length ? own.map((r) => `(${r.where})`).join(' or ') : 'false';
    const where = p.reaches.map((r) => `(${r.where})`).join(' or ');
    const keyCols = p.key.map((k) => ident(k.name)).join(', ');
    const select = [
      ...p.columns.map((c) => `${selectExpr(c)} as ${ident(c.name)}`),
      ...p.key.map((k, i) => `${ident(k.name)}::text as "__k${i}"`),
      `coalesce(${ownExpr}, false) as "__own"`,
    ].join(', ');

    let after: string[] | undefined;
    let rows = 0;
    for (;;) {
      opts.signal?.throwIfAborted();
      const keyset = after ? ` and (${keyCols}) > (${p.key.map((k) => `?::${k.udt}`).join(', ')})` : '';
      const page = await sql.execute<Record<string, unknown>[]>(
        `select ${select} from ${ident(name)} where (${where})${keyset} order by ${keyCols} limit ${PAGE_SIZE}`,
        [...reachParams(own), ...reachParams(p.reaches), ...(after ?? [])],
      );
      let jsonChunk = '';
      let csvChunk = '';
      for (const raw of page) {
        const row: Record<string, unknown> = {};
        for (const c of p.columns) {
          row[c.name] = !raw.__own && p.redacted.includes(c.name) ? null : (raw[c.name] ?? null);
        }
        jsonChunk += `${rows === 0 ? '\n' : ',\n'}${JSON.stringify(row)}`;
        csvChunk += csvRecord(
          p.columns.map((c) => row[c.name]),
          isJson,
        );
        if (p.fileColumn && typeof row[p.fileColumn] === 'string') {
          const source = row[p.fileColumn] as string;
          files.set(`${name}:${source}`, { table: name, source, root: 'data' });
        }
        if (p.storageKeyColumn && typeof row[p.storageKeyColumn] === 'string') {
          const source = row[p.storageKeyColumn] as string;
          files.set(`${name}:storage:${source}`, { table: name, source, root: 'storage' });
        }
        rows++;
      }
      await json.write(jsonChunk);
      await csv.write(csvChunk);
      opts.onProgress?.({ table: name, rows });
      if (page.length < PAGE_SIZE) break;
      const last = page[page.length - 1]!;
      after = p.key.map((_, i) => last[`__k${i}`] as string);
    }
    await json.write(rows === 0 ? ']\n' : '\n]\n');
    return { rows, jsonSha: await json.close(), csvSha: await csv.close() };
  } catch (err) {
    await json.close().catch(() => undefined);
    await csv.close().catch(() => undefined);
    throw err;
  }
}

/** Zip entry name of a stored file: `files/<table>/<path under the data folder>`, POSIX separators. */
function fileEntryName(table: string, source: string): string {
  const clean = path.posix.normalize(source.replaceAll('\\', '/')).replace(/^(\.\.\/|\/)+/, '');
  return `files/${table}/${clean}`;
}

/**
 * Builds the export ZIP of an account or a workspace at `outPath` (written to a temporary name, then
 * renamed, so a reader never sees half a file). Returns the ZIP's size and SHA-256 and the rows per table.
 */
export async function buildExportZip(
  em: EntityManager,
  subject: ExportSubject,
  outPath: string,
  onProgressOrOptions?: BuildOptions['onProgress'] | BuildOptions,
): Promise<ExportResult> {
  const opts: BuildOptions =
    typeof onProgressOrOptions === 'function' ? { onProgress: onProgressOrOptions } : (onProgressOrOptions ?? {});
  const attempt = randomUUID();
  const workDir = `${outPath}.${attempt}.parts`;
  const tmpZip = `${outPath}.${attempt}.part`;
  await mkdir(path.dirname(outPath), { recursive: true });
  try {
    // One snapshot for every table: the counts in the manifest describe a single instant.
    const collected = await em.fork().transactional(
      async (tx) => {
        const sql = sqlOf(tx);
        const [now] = await sql.execute<{ at: string }[]>(
          `select to_char(now() at time zone 'UTC', ${TIMESTAMP_TZ}) as at`,
        );
        const plans = await plan(sql, subject.kind, opts.graph);
        const files = new Map<string, StoredFile>();
        const outputs = new Map<string, TableOutput>();
        for (const p of plans) {
          outputs.set(p.table.table, await writeTable(sql, p, subject.subjectId, workDir, files, opts));
        }
        return { generatedAt: now!.at, plans, files, outputs };
      },
      { isolationLevel: 'repeatable read', readOnly: true },
    );

    const { generatedAt, plans, outputs } = collected;
    const manifestFiles: (ManifestFile & { abs: string })[] = [];
    const seen = new Set<string>();
    for (const { table, source, root } of collected.files.values()) {
      opts.signal?.throwIfAborted();
      const entry = fileEntryName(table, source);
      if (seen.has(entry)) continue;
      const abs =
        root === 'data'
          ? resolveDataPath(subject.dataDir, source)
          : await fetchObject(subject.storage, source, workDir);
      if (!abs) continue;
      const stat = await lstat(abs).catch(() => undefined);
      // A row whose file is gone (or is not a regular file) exports the row alone.
      if (!stat?.isFile()) continue;
      seen.add(entry);
      manifestFiles.push({ path: entry, table, ...(await hashFile(abs)), abs });
    }

    const schema = Buffer.from(`${JSON.stringify(exportSchemaDocument(plans), null, 2)}\n`);
    const manifest: Manifest = {
      schemaVersion: EXPORT_SCHEMA_VERSION,
      generatedAt,
      generator: 'switchboard',
      subject: { kind: subject.kind, id: subject.subjectId },
      schema: { path: 'schema.json', id: EXPORT_SCHEMA_ID, sha256: createHash('sha256').update(schema).digest('hex') },
      tables: Object.fromEntries(
        plans.map((p) => {
          const out = outputs.get(p.table.table)!;
          const t: ManifestTable = {
            description: p.table.describes,
            rows: out.rows,
            json: `data/${p.table.table}.json`,
            csv: `csv/${p.table.table}.csv`,
            sha256: { json: out.jsonSha, csv: out.csvSha },
            omittedColumns: p.table.exportOmit ?? [],
            redactedColumns: p.redacted,
          };
          return [p.table.table, t];
        }),
      ),
      files: manifestFiles.map(({ abs: _abs, ...f }) => f),
    };

    opts.signal?.throwIfAborted();
    const mtime = new Date(generatedAt);
    const zip = new ZipFile();
    const hash = createHash('sha256');
    let bytes = 0;
    const counting = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        bytes += chunk.length;
        cb(null, chunk);
      },
    });
    const failed = new Promise<never>((_, reject) => zip.on('error', reject));
    const written = pipeline(zip.outputStream, counting, createWriteStream(tmpZip));
    zip.addBuffer(Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), 'manifest.json', { mtime });
    zip.addBuffer(schema, 'schema.json', { mtime });
    for (const p of plans) {
      const name = p.table.table;
      zip.addFile(path.join(workDir, 'data', `${name}.json`), `data/${name}.json`, { mtime });
      zip.addFile(path.join(workDir, 'csv', `${name}.csv`), `csv/${name}.csv`, { mtime });
    }
    for (const f of manifestFiles) zip.addFile(f.abs, f.path, { mtime });
    zip.end();
    try {
      await Promise.race([written, failed]);
    } catch (err) {
      // A file that vanished mid-way: stop the pipeline so the half-written part closes, then give up.
      (zip.outputStream as Readable).destroy();
      await written.catch(() => undefined);
      throw err;
    }

    opts.signal?.throwIfAborted();
    await rename(tmpZip, outPath);
    return {
      bytes,
      sha256: hash.digest('hex'),
      tables: Object.fromEntries([...outputs].map(([t, o]) => [t, o.rows])),
      files: manifestFiles.length,
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
    await rm(tmpZip, { force: true });
  }
}

/** Where an export's ZIP lives, relative to the data folder (the value of data_exports.path). */
export const exportRelativePath = (exportId: string) => path.posix.join('exports', `${exportId}.zip`);

/**
 * Ready exports whose link has expired become `expired` and lose their file. Files go first: a crash
 * between the two leaves a ready row without a file, which the next run finishes (and the download
 * refuses in the meantime). Called by the retention schedule.
 */
export async function expireExports(
  em: EntityManager,
  config: Pick<Config, 'dataDir'>,
  now: Date = new Date(),
): Promise<{ expired: string[] }> {
  const conn = em.getConnection();
  const expired: string[] = [];
  for (;;) {
    const rows = (await conn.execute(
      `select id, path from data_exports where status = 'ready' and expires_at <= ? order by expires_at limit 500`,
      [now],
    )) as { id: string; path: string | null }[];
    for (const row of rows) {
      const abs = row.path ? resolveDataPath(config.dataDir, row.path) : undefined;
      if (abs) await rm(abs, { force: true });
      await conn.execute(
        `update data_exports set status = 'expired', path = null where id = ? and status = 'ready'`,
        [row.id],
        'run',
      );
      expired.push(row.id);
    }
    if (rows.length < 500) return { expired };
  }
}
