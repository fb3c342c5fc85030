import { describe, expect, inject, it } from 'vitest';
import { closeORM, initORM } from '../../db/orm.ts';

describe('committed migrations', () => {
  it('produce exactly the schema the entities describe', async () => {
    // The test database was migrated by the global setup; any difference means a missing migration.
    const orm = await initORM(inject('databaseUrl'));
    try {
      const diff = await orm.schema.getUpdateSchemaSQL({ wrap: false });
      expect(diff.trim(), 'run `npm run migration:create -- <name>` and commit the file').toBe('');
    } finally {
      await closeORM();
    }
  });
});
