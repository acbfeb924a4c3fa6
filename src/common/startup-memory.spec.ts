import { describe, expect, it } from '@jest/globals';
import { getHeapSpaceStatistics } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { releaseStartupMemory } from './startup-memory.js';

const youngGenerationMiB = () =>
  (getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')
    ?.physical_space_size ?? 0) /
  (1024 * 1024);

/** Grows V8's young generation the way a start does: many objects that live a while, then none (out of scope on return). */
function growYoungGeneration(): void {
  let held: { index: number; text: string }[] = [];
  for (let index = 0; index < 2_000_000; index++) {
    held.push({ index, text: `object ${index}` });
    if (held.length > 200_000) held = [];
  }
}

describe('releaseStartupMemory', () => {
  it('gives the young generation’s pages back to the operating system, not to V8’s own pool', () => {
    growYoungGeneration();
    const youngBefore = youngGenerationMiB();
    // The case is what it claims: a young generation grown past its first megabyte.
    expect(youngBefore).toBeGreaterThan(8);

    const release = releaseStartupMemory();

    // An ordinary full collection keeps the young generation's size (and V8 its pages): only the
    // last-resort collection shrinks it, and the resident memory falls by at least half of it.
    expect(release.youngGenerationMiB).toBeLessThan(1);
    expect(youngGenerationMiB()).toBeLessThan(1);
    expect(release.rssBeforeMiB - release.rssAfterMiB).toBeGreaterThan(youngBefore / 2);
  });

  it('leaves no gc function to a vm context made after it', () => {
    releaseStartupMemory();
    // The flag decides whether a new context gets a gc: a context made now has none.
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });
});
