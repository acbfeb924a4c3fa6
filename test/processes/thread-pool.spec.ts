import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdir, readFile } from 'node:fs/promises';
import { getPriority } from 'node:os';
import { threadPoolSize } from '../../src/common/thread-pool-size.js';
import { type RunningService, startService } from '../support/service.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * The built service with THREAD_POOL_NICE set: libuv's pool, where argon2id runs, yields the cores
 * to the event loop whenever it wants one, so a login storm does not hold every other request
 * behind its hashes. By default it does not: every other busy process of the scheduling group
 * would come before a hash too (docs/deployment.md).
 */
const NICE = 19;
let service: RunningService;
beforeAll(async () => {
  service = await startService({
    env: { UV_THREADPOOL_SIZE: '3', THREAD_POOL_NICE: String(NICE) },
  });
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await service.stop();
});

interface ThreadInfo {
  tid: number;
  name: string;
  nice: number;
}

/** The threads of a process with their names and nice values, from /proc (Linux). */
async function threadsOf(pid: number): Promise<ThreadInfo[]> {
  const threads: ThreadInfo[] = [];
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    // A thread that ended between the listing and the read is not there any more.
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => null);
    if (stat === null) continue;
    // Fields after the name, which is in parentheses and may hold spaces: state is field 3, nice 19.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    threads.push({ tid: Number(tid), name, nice: Number(fields[19 - 3]) });
  }
  return threads;
}

describe('the thread pool’s priority', () => {
  it('runs every libuv worker at the lower priority, and the event loop at the normal one', async () => {
    const threads = await threadsOf(service.child.pid!);
    const workers = threads.filter((thread) => thread.name === 'libuv-worker');
    expect(workers).toHaveLength(threadPoolSize({ UV_THREADPOOL_SIZE: '3' }));
    expect(workers.map((worker) => worker.nice)).toEqual(workers.map(() => NICE));
    const main = threads.find((thread) => thread.tid === service.child.pid);
    // The priority the service was started with: this runner's own (CI may run it under nice).
    expect(main?.nice).toBe(getPriority());
    // V8's collector threads help the event loop: they keep its priority.
    const collectors = threads.filter((thread) => thread.name === 'V8Worker');
    expect(collectors.length).toBeGreaterThan(0);
    expect(collectors.every((thread) => thread.nice === getPriority())).toBe(true);
  });

  it(
    'leaves the pool at the event loop’s priority by default',
    async () => {
      const plain = await startService({ env: { UV_THREADPOOL_SIZE: '2' } });
      try {
        const workers = (await threadsOf(plain.child.pid!)).filter(
          (thread) => thread.name === 'libuv-worker',
        );
        expect(workers.length).toBeGreaterThan(0);
        expect(workers.every((worker) => worker.nice === getPriority())).toBe(true);
        expect(plain.logs()).not.toContain('thread pool priority');
      } finally {
        await plain.stop();
      }
    },
    STARTUP_TIMEOUT_MS,
  );

  it('says so in its start-up log', () => {
    const line = service
      .logs()
      .split('\n')
      .find((entry) => entry.includes('thread pool priority lowered'));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ threads: 3, nice: NICE });
  });
});
