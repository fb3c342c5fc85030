import type { EntityManager } from '@mikro-orm/core';

// Raw SQL inside the entity manager's transaction, for statements MikroORM's query API does not
// express (batched deletes by ctid, upserts that return the previous state).

export type Sql = { execute<T = unknown>(sql: string, params?: unknown[], method?: 'all' | 'get' | 'run'): Promise<T> };

export function sqlOf(em: EntityManager): Sql {
  const conn = em.getConnection();
  const ctx = em.getTransactionContext();
  return {
    execute: <T>(sql: string, params: unknown[] = [], method: 'all' | 'get' | 'run' = 'all') =>
      conn.execute(sql, params, method, ctx) as Promise<T>,
  };
}

/** Rows a `run` statement changed. */
export const affected = (res: unknown) => (res as { affectedRows?: number }).affectedRows ?? 0;

/**
 * A list as one JSON parameter. MikroORM inlines parameters into the statement and spreads an array
 * into a comma list, so lists travel as JSON: `jsonb_to_recordset(?::jsonb) as r(col type, …)` for
 * rows, `in (select jsonb_array_elements_text(?::jsonb))` for values.
 */
export const jsonList = (values: readonly unknown[]) => JSON.stringify(values);
