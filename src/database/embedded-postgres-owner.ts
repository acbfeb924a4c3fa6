import { existsSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/*
 * Which process owns an embedded cluster: the one that started it stops it, another one sharing it
 * leaves it running, and a cluster whose owner is gone is an orphan (embedded-postgres.ts).
 */

/** Beside the cluster, not in it: initdb wants an empty folder, and the record outlives a re-init. */
export const OWNER_FILE = 'pg-owner.json';

/** One process: a pid alone may be reused once its process is gone, pid and start time may not. */
export interface ProcessIdentity {
  pid: number;
  started: string;
}

/**
 * When the process started (clock ticks since boot, field 22 of /proc/<pid>/stat), '' for a live
 * process where there is no /proc to ask, undefined when no such process runs.
 */
export function processStart(pid: number): string | undefined {
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

export function currentProcess(): ProcessIdentity {
  return { pid: process.pid, started: processStart(process.pid) ?? '' };
}

export function isRunning(owner: ProcessIdentity): boolean {
  return processStart(owner.pid) === owner.started;
}

export async function readOwner(file: string): Promise<ProcessIdentity | null> {
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
export function releaseOwnership(file: string, self: ProcessIdentity): void {
  try {
    const owner = JSON.parse(readFileSync(file, 'utf8')) as Partial<ProcessIdentity>;
    if (owner.pid === self.pid && owner.started === self.started) rmSync(file, { force: true });
  } catch {
    // Already gone.
  }
}
