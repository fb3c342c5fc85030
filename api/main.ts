// API entrypoint: reads configuration, opens the ORM and a lazy Temporal client, and serves until
// SIGTERM/SIGINT, then closes in order (HTTP first, so in-flight requests finish).
import { initORM } from '../db/orm.ts';
import { loadConfig } from '../lib/config.ts';
import { lazyClient } from '../lib/temporal.ts';
import { buildApp } from './app.ts';

const config = loadConfig();
const orm = await initORM(config.databaseUrl);
const { client, connection } = lazyClient(config);
const app = await buildApp({ config, orm, temporal: client, temporalConnection: connection });

let closing = false;
async function shutdown(signal: string) {
  if (closing) return;
  closing = true;
  app.log.info({ signal }, 'shutting down');
  await app.close();
  await connection.close().catch(() => {});
  await orm.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

await app.listen({ host: config.host, port: config.port });
