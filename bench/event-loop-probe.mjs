/* global process */
// Loaded into the service under test with `node --import`, never by the service itself: measures
// event-loop delay with perf_hooks and hands the histogram to the bench over the IPC channel.
import { monitorEventLoopDelay } from 'node:perf_hooks';

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
    }
  });
  // The channel must not keep a stopping service alive.
  process.channel?.unref();
}
