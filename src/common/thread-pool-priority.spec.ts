import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lowerThreadPoolPriority } from './thread-pool-priority.js';

// The running service's own threads are checked in test/processes/thread-pool.spec.ts; these are
// the ways it can fail, none of which may stop the service from starting.
describe('lowerThreadPoolPriority when it cannot', () => {
  const made: string[] = [];
  afterEach(async () => {
    for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  /** A task directory as /proc lists it: one folder per thread id, each with its name. */
  async function tasks(threads: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'identity-link-tasks-'));
    made.push(dir);
    for (const [tid, name] of Object.entries(threads)) {
      await mkdir(join(dir, tid));
      await writeFile(join(dir, tid, 'comm'), `${name}\n`);
    }
    return dir;
  }

  it('changes nothing where there is no /proc (not Linux)', async () => {
    const missing = join(tmpdir(), 'identity-link-no-such-dir');
    await expect(lowerThreadPoolPriority(2, { tasks: missing })).resolves.toEqual({
      unchanged: `no ${missing}: not Linux`,
    });
  });

  it('gives up after its deadline when no thread names itself libuv-worker', async () => {
    const dir = await tasks({ '1': 'MainThread', '2': 'V8Worker' });
    await expect(lowerThreadPoolPriority(2, { tasks: dir, namingDeadlineMs: 50 })).resolves.toEqual(
      { unchanged: 'no thread named libuv-worker', threads: 0 },
    );
  });

  it('reports a thread the kernel refuses, rather than throwing', async () => {
    // No such thread: pid_max is at most 2^22.
    const dir = await tasks({ '2147483000': 'libuv-worker' });
    const result = await lowerThreadPoolPriority(1, { tasks: dir, namingDeadlineMs: 50 });
    expect(result).toMatchObject({ threads: 1 });
    expect('unchanged' in result && result.unchanged).toMatch(
      /^setpriority refused: thread 2147483000: .*ESRCH/,
    );
  });
});
