// Jest loads the environment through its own transform, outside the test's module registry:
// nothing here may import the test support modules, hence the shapes declared below.
import type { Circus } from '@jest/types';
import { TestEnvironment } from 'jest-environment-node';

/** The describe block of test/support/log-check.ts. */
const LOG_CHECK = 'log capture';
const CAPTURE = Symbol.for('identity-link.test.log-capture');

interface Capture {
  checkedLines: number;
  findLeaks(fromLine: number): unknown[];
  settle(timeoutMs: number): Promise<void>;
}

/** How long a spawned process's last output may take to arrive after the file is done. */
const CHILD_OUTPUT_GRACE_MS = 10_000;

/**
 * The Node environment, with the two halves of the log check: before the run, the check that
 * test/support/log-check.ts defines ahead of the spec file's own tests is moved to the end; after
 * the run (the file's afterAll hooks have shut its apps and processes down), the lines logged
 * since the check ran are searched too, once the processes' pipes have closed, and a leak there
 * fails that same test.
 */
export default class IdentityLinkEnvironment extends TestEnvironment {
  async handleTestEvent(event: Circus.Event, state: Circus.State): Promise<void> {
    const children = state.rootDescribeBlock.children;
    const index = children.findIndex(
      (child) => child.type === 'describeBlock' && child.name === LOG_CHECK,
    );
    if (index === -1) return;
    if (event.name === 'run_start') {
      children.push(...children.splice(index, 1));
    } else if (event.name === 'run_finish') {
      const block = children[index] as Circus.DescribeBlock;
      const check = block.children.find(
        (child): child is Circus.TestEntry => child.type === 'test',
      );
      const capture = (this.global as Record<symbol, Capture | undefined>)[CAPTURE];
      if (!check || !capture || check.status !== 'done') return;
      await capture.settle(CHILD_OUTPUT_GRACE_MS);
      const leaks = capture.findLeaks(capture.checkedLines);
      if (leaks.length > 0)
        check.errors.push(
          new Error(`logged while the file's apps shut down:\n${JSON.stringify(leaks, null, 2)}`),
        );
    }
  }
}
