import { type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { constants, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Logger } from 'pino';
// .ts, not .js: test/support/global-setup.ts loads this file outside Jest's module mapper, and
// tsc rewrites the extension for the build (rewriteRelativeImportExtensions).
import {
  currentProcess,
  isRunning,
  OWNER_FILE,
  readOwner,
  releaseOwnership,
} from './embedded-postgres-owner.ts';
import {
  livePostmaster,
  loadPackage,
  startPostmaster,
  stopOrphan,
  until,
} from './embedded-postgres-server.ts';

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
 *
 * The process that starts the cluster owns it (`pg-owner.json`) and stops it; a process that
 * finds it running under a live owner shares it (`npm run cli` beside `npm start`) and leaves it
 * running. A cluster whose owner is gone (killed with SIGKILL, so nothing stopped it) would be
 * shared forever and never stopped: it is stopped here and started afresh under a new owner.
 *
 * The postmaster runs in a session of its own and stops only when asked: on SIGINT or SIGTERM
 * to this process (`stopOnSignal`, the default, for commands and tests: stop, then exit with
 * 128 + the signal's number), or when the caller calls stop() (the service, which drains its
 * requests and closes its pool first). Whatever else ends the process, the postmaster gets its
 * fast shutdown on the way.
 */
export async function startEmbeddedPostgres(options: {
  dir: string;
  persistent: boolean;
  logger: Logger;
  port?: number;
  /** Where the port comes from when none is given: a free one from the kernel. */
  ports?: () => Promise<number>;
  stopOnSignal?: boolean;
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
  const pidFile = join(databaseDir, 'postmaster.pid');
  const ownerFile = join(options.dir, OWNER_FILE);
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
  const running = initialised ? await livePostmaster(databaseDir, log) : null;
  if (running !== null) {
    const owner = await readOwner(ownerFile);
    if (owner !== null && isRunning(owner)) {
      // The service (or another command) runs this cluster and will stop it: share it.
      log.info(
        { port: running.port, owner: owner.pid },
        'using the embedded PostgreSQL already running in this data folder',
      );
      return {
        url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${running.port}/${database}`,
        stop: () => Promise.resolve(),
      };
    }
    log.warn(
      { postmaster: running.pid, port: running.port, owner: owner?.pid ?? null },
      'stopping an orphaned embedded PostgreSQL in this data folder: the process that started it is gone',
    );
    await stopOrphan(running.pid, pidFile);
    log.info({ postmaster: running.pid }, 'orphaned embedded PostgreSQL stopped');
  }
  const { EmbeddedPostgres, postgres } = await loadPackage();
  if (!initialised) {
    log.info({ databaseDir }, 'initialising embedded PostgreSQL cluster');
    await new EmbeddedPostgres({
      databaseDir,
      user: 'postgres',
      password,
      authMethod: 'scram-sha-256',
      persistent: options.persistent,
      createPostgresUser: asRoot,
      onLog: (message: string) => log.debug(message.trim()),
      onError: (error: unknown) =>
        log.warn({ err: error }, 'embedded PostgreSQL reported an error'),
    }).initialise();
  }
  // Claimed before the postmaster exists: a command starting meanwhile must see a live owner and
  // share, not take the new postmaster for an orphan and stop it.
  const self = currentProcess();
  await writeFile(ownerFile, JSON.stringify(self) + '\n', { mode: 0o600 });
  let postmaster: ChildProcess;
  let port: number;
  try {
    const start = (at: number) => startPostmaster(postgres, databaseDir, at, asRoot, log);
    ({ postmaster, port } =
      options.port === undefined
        ? await onFreePort(start, options.ports ?? freePort, log)
        : { postmaster: await start(options.port), port: options.port });
  } catch (error) {
    releaseOwnership(ownerFile, self);
    throw error;
  }
  const alive = () => postmaster.exitCode === null && postmaster.signalCode === null;
  // An exit before stop() (a start that fails below, a shutdown past its deadline, an uncaught
  // error): SIGINT is PostgreSQL's fast shutdown, which it completes on its own.
  const stopOnExit = () => {
    if (alive()) postmaster.kill('SIGINT');
  };
  process.on('exit', stopOnExit);
  const onSignal = (signal: NodeJS.Signals) =>
    void stop().finally(() => process.exit(128 + constants.signals[signal]));
  const signals = options.stopOnSignal === false ? [] : (['SIGINT', 'SIGTERM'] as const);
  for (const signal of signals) process.on(signal, onSignal);

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      for (const signal of signals) process.removeListener(signal, onSignal);
      if (alive()) {
        const exited = new Promise((resolve) => postmaster.once('exit', resolve));
        postmaster.kill('SIGINT');
        await exited;
      }
      process.removeListener('exit', stopOnExit);
      // The cluster is down once the postmaster has removed its pid file.
      await until(() => !existsSync(pidFile), 10_000);
      if (!options.persistent) await rm(databaseDir, { recursive: true, force: true });
      // Synchronous, so that even a stop cut short by an exit leaves no stale claim.
      releaseOwnership(ownerFile, self);
      log.info({ port }, 'embedded PostgreSQL stopped');
    })());

  try {
    await createDatabase(port, password, database);
  } catch (error) {
    await stop();
    throw error;
  }
  log.info({ port }, 'embedded PostgreSQL is running');
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    stop,
  };
}

/** How often a start on a port of the kernel's choosing is tried before it fails. */
const PORT_ATTEMPTS = 3;

/**
 * The postmaster on a port found free. freePort() has to let the port go before PostgreSQL binds
 * it, and another process may take it in between (another test's server, or an outgoing
 * connection's ephemeral port, which comes from the same range): PostgreSQL then exits with
 * «could not create any TCP/IP sockets». That start is tried again on another port.
 */
async function onFreePort(
  start: (port: number) => Promise<ChildProcess>,
  ports: () => Promise<number>,
  log: Logger,
): Promise<{ postmaster: ChildProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await ports();
    try {
      return { postmaster: await start(port), port };
    } catch (error) {
      const taken = /could not create any TCP\/IP sockets/.test(String(error));
      if (!taken || attempt === PORT_ATTEMPTS) throw error;
      log.warn(
        { port, attempt },
        'the port found free was taken before PostgreSQL bound it: trying another',
      );
    }
  }
}

async function createDatabase(port: number, password: string, name: string): Promise<void> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    database: 'postgres',
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`create database ${client.escapeIdentifier(name)}`);
  } catch (error) {
    // 42P04 duplicate_database: a cluster started before.
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await client.end();
  }
}
