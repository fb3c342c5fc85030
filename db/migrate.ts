// Migrations CLI: `up` applies pending migrations; `create` writes a new migration file for the
// difference between the entities and a database migrated to the latest committed migration.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../lib/config.ts';
import { createDatabaseIfMissing, dropDatabase } from '../lib/postgres.ts';
import { initORM } from './orm.ts';

const [command = 'up', name = 'migration'] = process.argv.slice(2);
const config = loadConfig();

if (command === 'up') {
  await createDatabaseIfMissing(config.databaseUrl);
  const orm = await initORM(config.databaseUrl);
  const applied = await orm.migrator.up();
  console.log(applied.length ? `applied: ${applied.map((m) => m.name).join(', ')}` : 'database is up to date');
  await orm.close();
} else if (command === 'create') {
  // Diff against a scratch database so the result never depends on local drift.
  const scratch = new URL(config.databaseUrl);
  scratch.pathname = `/sb_migration_${process.pid}`;
  await createDatabaseIfMissing(scratch.toString());
  const orm = await initORM(scratch.toString());
  try {
    await orm.migrator.up();
    const sql = await orm.schema.getUpdateSchemaMigrationSQL({ wrap: false });
    if (!sql.up.trim()) {
      console.log('entities match the migrations; nothing to create');
    } else {
      const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
      const className = `Migration${stamp}_${name.replace(/\W/g, '_')}`;
      const file = path.join(import.meta.dirname, 'migrations', `${className}.ts`);
      const lines = (s: string) =>
        s
          .split('\n')
          .filter((l) => l.trim())
          .map((l) => `    this.addSql(${JSON.stringify(l)});`)
          .join('\n');
      writeFileSync(
        file,
        `import { Migration } from '@mikro-orm/migrations';\n\nexport class ${className} extends Migration {\n  override name = '${className}';\n\n  override up(): void {\n${lines(sql.up)}\n  }\n\n  override down(): void {\n${lines(sql.down)}\n  }\n}\n`,
      );
      console.log(`wrote ${path.relative(process.cwd(), file)}; add it to db/migrations/index.ts`);
    }
  } finally {
    await orm.close();
    await dropDatabase(scratch.toString());
  }
} else {
  console.error('usage: migrate.ts up | create [name]');
  process.exit(2);
}
