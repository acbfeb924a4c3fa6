import { randomFill } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { setPriority } from 'node:os';

/** How long the pool's threads are looked for (a libuv before 1.50 does not name them). */
const NAMING_DEADLINE_MS = 2000;

/** What was done: `lowered` of the `expected` threads set to `nice`, and what kept the others. */
export interface ThreadPoolPriority {
  nice: number;
  expected: number;
  lowered: number;
  problems: string[];
}

/**
 * Lowers the CPU priority of libuv's worker threads, where argon2id runs, below the event loop's
 * (THREAD_POOL_NICE; off by default).
 *
 * In a login storm the pool's threads want every core all the time; at equal priority the event
 * loop takes turns with them for a core, and every other request waits with it. At nice 19 the
 * scheduler gives the core to the event loop as soon as it has work: the hashes take what is
 * left, which in a storm is nearly everything, so logins per second stay as they were while the
 * event loop's delay falls (docs/performance.md, «2026-12-05, 11:00»). The price is that every
 * other busy thread of the scheduling group comes first too: beside two CPU-bound processes at
 * the normal priority a login took 2 s instead of 0.07 (docs/performance.md, «2026-12-05,
 * 14:00»), which is why it is off unless the instance has its cores to itself. The V8 collector
 * threads, which work for the event loop, keep its priority. The whole pool is lowered, not
 * argon2id alone: file reads, `dns.lookup` and asynchronous zlib and crypto run there too.
 *
 * Linux only (thread ids from /proc, `setpriority` per thread); lowering a priority needs no
 * privilege. libuv starts all its threads on the pool's first job, each naming itself
 * `libuv-worker` before that job is queued; the job's end is not waited for, so a pool that is
 * busy (a slow name lookup) cannot hold the start. Never throws: what it could not do is in
 * `problems`.
 */
export async function lowerThreadPoolPriority(
  expected: number,
  { nice = 19, tasks = '/proc/self/task', namingDeadlineMs = NAMING_DEADLINE_MS } = {},
): Promise<ThreadPoolPriority> {
  const result: ThreadPoolPriority = { nice, expected, lowered: 0, problems: [] };
  randomFill(Buffer.alloc(1), () => undefined);
  const deadline = Date.now() + namingDeadlineMs;
  let workers: number[];
  for (;;) {
    try {
      workers = await namedThreads(tasks, 'libuv-worker');
    } catch (error) {
      result.problems.push(`cannot list ${tasks} (not Linux?): ${(error as Error).message}`);
      return result;
    }
    if (workers.length >= expected || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (workers.length < expected)
    result.problems.push(`${workers.length} of ${expected} threads named libuv-worker`);
  for (const tid of workers) {
    try {
      setPriority(tid, nice);
      result.lowered += 1;
    } catch (error) {
      result.problems.push(`thread ${tid}: ${(error as Error).message}`);
    }
  }
  return result;
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
