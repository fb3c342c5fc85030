// `npm run rotate-keys`: re-encrypts every stored OAuth secret under TOKEN_KEY_ID.
import { initORM } from '../db/orm.ts';
import { loadConfig } from '../lib/config.ts';
import { rotateKeys } from '../lib/rotate-keys.ts';

const config = loadConfig();
const orm = await initORM(config.databaseUrl);
try {
  const { rewritten, remaining } = await rotateKeys(orm, config.keyRing);
  console.log(
    `re-encrypted ${rewritten} secret(s) under key "${config.keyRing.currentId}"; ${remaining} left under other keys`,
  );
  if (remaining > 0) process.exitCode = 1;
} finally {
  await orm.close();
}
