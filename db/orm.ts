import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, MikroORM, type Options } from '@mikro-orm/postgresql';
import { ALL_ENTITIES } from './entities/index.ts';
import { migrationsList } from './migrations/index.ts';

export function ormConfig(databaseUrl: string, overrides: Partial<Options> = {}): Options {
  return defineConfig({
    clientUrl: databaseUrl,
    entities: ALL_ENTITIES,
    extensions: [Migrator],
    // Migrations are listed explicitly: the same list runs from source (Node type stripping) and tests.
    migrations: { migrationsList, path: 'db/migrations', pathTs: 'db/migrations', snapshot: false, silent: true },
    pool: { min: 0, max: 10 },
    // The audit chain's trigger and digest function are written by hand in the privacy migration;
    // the schema diff leaves triggers and routines alone instead of proposing to drop them.
    schemaGenerator: { ignoreTriggers: true, ignoreRoutines: true },
    debug: false,
    ...overrides,
  });
}

let cached: Promise<MikroORM> | undefined;

/** One ORM per process; later calls get the same instance. */
export function initORM(databaseUrl: string, overrides: Partial<Options> = {}): Promise<MikroORM> {
  cached ??= MikroORM.init(ormConfig(databaseUrl, overrides));
  return cached;
}

export async function closeORM(): Promise<void> {
  const orm = await cached;
  cached = undefined;
  await orm?.close();
}

export async function migrate(orm: MikroORM): Promise<void> {
  await orm.migrator.up();
}
