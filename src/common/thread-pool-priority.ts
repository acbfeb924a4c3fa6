import { randomFill } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { setPriority } from 'node:os';

/** The default nice value of libuv's worker threads (THREAD_POOL_NICE): Linux's lowest priority. */
export const THREAD_POOL_NICE = 19;

/** How long the pool's threads are given to start and name themselves. */
const NAMING_DEADLINE_MS = 2000;

/** What was done: the workers lowered, or why nothing was. */
export type ThreadPoolPriority =
  { threads: number; nice: number } | { unchanged: string; threads?: number };

/**
 * Lowers the CPU priority of libuv's worker threads, where argon2id runs, below the event loop's.
 *
 * In a login storm the pool's threads want every core all the time; at equal priority the event
 * loop (and PostgreSQL's backends) took turns with them for a core, and every other request waited
 * with it. At nice 19 the scheduler gives the core to the event loop as soon as it has
 * work: the hashes take what is left, which in a storm is nearly everything, so logins per second
 * stay as they were while the event loop's delay falls (docs/performance.md, «2026-12-05, 11:00»).
 * The V8 collector threads, which work for the event loop, keep its priority.
 *
 * Linux only (thread ids from /proc, `setpriority` per thread). The pool starts all its threads
 * at once on its first job, and each names itself `libuv-worker` when it first runs: this waits
 * until `expected` have, for a while. Lowering a priority needs no privilege.
 */
export async function lowerThreadPoolPriority(
  expected: number,
  {
    nice = THREAD_POOL_NICE,
    tasks = '/proc/self/task',
    namingDeadlineMs = NAMING_DEADLINE_MS,
  } = {},
): Promise<ThreadPoolPriority> {
  // Starts the pool if nothing has yet.
  await new Promise((resolve) => randomFill(Buffer.alloc(1), resolve));
  const deadline = Date.now() + namingDeadlineMs;
  let workers: number[];
  for (;;) {
    try {
      workers = await namedThreads(tasks, 'libuv-worker');
    } catch {
      return { unchanged: `no ${tasks}: not Linux` };
    }
    if (workers.length >= expected || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (workers.length === 0) return { unchanged: 'no thread named libuv-worker', threads: 0 };
  const refused: string[] = [];
  for (const tid of workers) {
    try {
      setPriority(tid, nice);
    } catch (error) {
      refused.push(`thread ${tid}: ${(error as Error).message}`);
    }
  }
  if (refused.length > 0)
    return { unchanged: `setpriority refused: ${refused.join('; ')}`, threads: workers.length };
  return { threads: workers.length, nice };
}

/** The ids of this process's threads named `name`. */
async function namedThreads(tasks: string, name: string): Promise<number[]> {
  const found: number[] = [];
  for (const tid of await readdir(tasks)) {
    // A thread that ended between the listing and the read is simply not there.
    const comm = await readFile(`${tasks}/${tid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === name) found.push(Number(tid));
  }
  return found;
}
