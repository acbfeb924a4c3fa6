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

  it('changes nothing where there is no /proc (not Linux), and says why', async () => {
    const missing = join(tmpdir(), 'identity-link-no-such-dir');
    const result = await lowerThreadPoolPriority(2, { tasks: missing });
    expect(result).toMatchObject({ nice: 19, expected: 2, lowered: 0 });
    expect(result.problems).toEqual([
      expect.stringMatching(new RegExp(`^cannot list ${missing} \\(not Linux\\?\\): ENOENT`)),
    ]);
  });

  it('gives up after its deadline when no thread names itself libuv-worker', async () => {
    const dir = await tasks({ '1': 'MainThread', '2': 'V8Worker' });
    await expect(lowerThreadPoolPriority(2, { tasks: dir, namingDeadlineMs: 50 })).resolves.toEqual(
      { nice: 19, expected: 2, lowered: 0, problems: ['0 of 2 threads named libuv-worker'] },
    );
  });

  it('reports a thread the kernel refuses, rather than throwing', async () => {
    // No such thread: pid_max is at most 2^22.
    const dir = await tasks({ '2147483000': 'libuv-worker' });
    const result = await lowerThreadPoolPriority(1, { tasks: dir, nice: 10, namingDeadlineMs: 50 });
    expect(result).toMatchObject({ nice: 10, expected: 1, lowered: 0 });
    expect(result.problems).toEqual([expect.stringMatching(/^thread 2147483000: .*ESRCH/)]);
  });
});
