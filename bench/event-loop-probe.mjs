/* global process */
// Loaded into the service under test with `node --import`, never by the service itself: measures
// event-loop delay with perf_hooks and hands the histogram to the bench over the IPC channel, and
// says what holds the process's memory (V8's heap spaces, memory outside the heap, mapped files).
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import v8 from 'node:v8';

const mib = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** Resident memory by kind, heap spaces by what they hold, all in MiB. */
function memory() {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  const usage = process.memoryUsage();
  const spaces = Object.fromEntries(
    v8
      .getHeapSpaceStatistics()
      .filter((space) => space.space_size > 0)
      .map((space) => [
        space.space_name.replace(/_space$/, ''),
        { used: mib(space.space_used_size), committed: mib(space.physical_space_size) },
      ]),
  );
  return {
    rss: mib(usage.rss),
    // Pages of the node binary and shared libraries: the same in every Node.js process.
    rssFile: mib(kib('RssFile') * 1024),
    rssAnon: mib(kib('RssAnon') * 1024),
    heapUsed: mib(usage.heapUsed),
    heapCommitted: mib(v8.getHeapStatistics().total_physical_size),
    external: mib(usage.external),
    arrayBuffers: mib(usage.arrayBuffers),
    mallocedByV8: mib(v8.getHeapStatistics().malloced_memory),
    spaces,
  };
}

if (process.send) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  process.on('message', (message) => {
    if (message === 'event-loop:reset') {
      histogram.reset();
      process.send?.({ type: 'event-loop:reset' });
    } else if (message === 'event-loop:read') {
      const ms = (ns) => Math.round((ns / 1e6) * 10) / 10;
      process.send?.({
        type: 'event-loop:read',
        p50: ms(histogram.percentile(50)),
        p99: ms(histogram.percentile(99)),
        max: ms(histogram.max),
      });
    } else if (message === 'memory:read') {
      process.send?.({ type: 'memory:read', ...memory() });
    }
  });
  // The channel must not keep a stopping service alive.
  process.channel?.unref();
}
