import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closeORM, initORM } from '../../db/orm.ts';
import { DELETION_GRAPH, SUBJECTS, type Subject } from '../../domain/deletion-graph.ts';

// The GitLab-style schema gate: every table is declared in the deletion graph, and every column
// that points at a user, workspace or connection is covered for that subject, so a new feature
// cannot forget deletion.

type Orm = Awaited<ReturnType<typeof initORM>>;
let orm: Orm;
beforeAll(async () => {
  orm = await initORM(inject('databaseUrl'));
});
afterAll(() => closeORM());

const SUBJECT_OF_TABLE: Record<string, Subject> = {
  users: 'account',
  workspaces: 'workspace',
  connections: 'connection',
};

describe('deletion graph', () => {
  it('declares every table in the database, and only tables that exist', async () => {
    const rows = await orm.em
      .getConnection()
      .execute<{ table_name: string }[]>(
        `select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`,
      );
    const actual = rows.map((r) => r.table_name).sort();
    const declared = DELETION_GRAPH.map((t) => t.table).sort();
    expect(
      actual.filter((t) => !declared.includes(t)),
      'tables missing from domain/deletion-graph.ts',
    ).toEqual([]);
    expect(
      declared.filter((t) => !actual.includes(t)),
      'declared tables that do not exist',
    ).toEqual([]);
  });

  it('covers every foreign key to users, workspaces and connections for that subject', async () => {
    const fks = await orm.em.getConnection().execute<{ table: string; column: string; target: string }[]>(
      `select cl.relname as table, att.attname as column, ref.relname as target
         from pg_constraint c
         join pg_class cl on cl.oid = c.conrelid
         join pg_class ref on ref.oid = c.confrelid
         join pg_attribute att on att.attrelid = c.conrelid and att.attnum = any(c.conkey)
        where c.contype = 'f' and ref.relname in ('users', 'workspaces', 'connections')`,
    );
    expect(fks.length).toBeGreaterThan(5);
    const uncovered = fks.filter(({ table, column, target }) => {
      const entry = DELETION_GRAPH.find((t) => t.table === table);
      if (!entry) return true;
      if (entry.retained) return false;
      const reaches = entry.reach[SUBJECT_OF_TABLE[target] as Subject] ?? [];
      return !reaches.some((r) => new RegExp(`\\b${column}\\b`).test(r.where));
    });
    expect(uncovered, 'foreign keys no deletion reaches').toEqual([]);
  });

  it('covers plain id columns that name a subject (no foreign key, same duty)', async () => {
    const cols = await orm.em.getConnection().execute<{ table: string; column: string }[]>(
      `select table_name as table, column_name as column from information_schema.columns
        where table_schema = 'public' and data_type = 'uuid'
          and column_name ~ '(^|_)(user|workspace|connection|file|requested_by|connected_by|invited_by|accepted_by)(_id)?$'`,
    );
    const uncovered = cols.filter(({ table, column }) => {
      const entry = DELETION_GRAPH.find((t) => t.table === table);
      if (!entry) return true;
      if (entry.retained || entry.system) return false;
      return !SUBJECTS.some((s) => (entry.reach[s] ?? []).some((r) => new RegExp(`\\b${column}\\b`).test(r.where)));
    });
    expect(uncovered, 'id columns no deletion reaches').toEqual([]);
  });

  it('gives every kept table a reason and every reach a valid statement', async () => {
    for (const t of DELETION_GRAPH) {
      const reaches = Object.values(t.reach).flat();
      if (!reaches.length) expect(t.retained ?? t.swept ?? (t.system ? 'system' : undefined), t.table).toBeTruthy();
      for (const r of reaches) {
        if (r.action === 'anonymise') expect(r.columns?.length, `${t.table} anonymises columns`).toBeGreaterThan(0);
        // Deletion and export bind the subject id once per predicate.
        expect(r.where.split('?').length - 1, `${t.table}: one ? in "${r.where}"`).toBe(1);
        // Planning the statement checks table, columns and types without touching data.
        await orm.em
          .getConnection()
          .execute(`explain select 1 from ${t.table} where ${r.where}`, ['00000000-0000-0000-0000-000000000000']);
      }
    }
  });
});
