import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Resident memory before and after, in MiB, and how long the collection held the thread. */
export interface StartupMemoryRelease {
  rssBeforeMiB: number;
  rssAfterMiB: number;
  youngGenerationMiB: number;
  ms: number;
}

type GcFunction = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

const MiB = 1024 * 1024;
const mib = (bytes: number) => Math.round((bytes / MiB) * 10) / 10;

/**
 * Returns what starting up left behind to the operating system, once, before the service listens.
 *
 * Loading the modules and wiring Nest grows V8's young generation to its maximum (16 MiB
 * semi-spaces) and leaves old-space pages of garbage. V8 shrinks them by itself when the service
 * idles, but keeps the freed pages in its own pool, so the process's resident memory does not
 * fall. Only V8's «last resort» collection (what it runs under memory pressure) also releases
 * that pool: measured on the running service, 181 -> 143 MiB (docs/performance.md, 2026-12-04).
 *
 * V8 offers that collection through its `gc` extension only. It is made visible for one new,
 * empty vm context and hidden again at once, so no code of the service or its libraries ever
 * sees a global `gc` (the same way jest-leak-detector reaches it).
 */
export function releaseStartupMemory(): StartupMemoryRelease {
  const rssBefore = process.memoryUsage.rss();
  setFlagsFromString('--expose-gc');
  let gc: GcFunction;
  try {
    gc = runInNewContext('gc') as GcFunction;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  const started = performance.now();
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  const ms = Math.round(performance.now() - started);
  const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
  return {
    rssBeforeMiB: mib(rssBefore),
    rssAfterMiB: mib(process.memoryUsage.rss()),
    youngGenerationMiB: mib(young?.physical_space_size ?? 0),
    ms,
  };
}
