/**
 * A liveness prober: a GET every 50 ms, each on a new connection (as an orchestrator's prober
 * connects afresh), each answer timed once. It runs in a process of its own during the login storm
 * (`npx tsx bench/health-probe.ts <url> <seconds>` prints `probing`, then one JSON line at the
 * end), so the storm's load generator never delays it.
 *
 * Each probe has a slot on a fixed schedule, and its latency counts from that slot, not from when
 * it was sent: a slot that fell due while an earlier probe was still waiting is probed as soon as
 * that one ends, and charged the wait, so a stall shows in every slot it covered (wrk2's schedule
 * and correction for coordinated omission), and every slot is one sample. autocannon's rate mode,
 * used before, is neither: it sends its requests of each second back to back, and its correction
 * takes the interval as `Math.ceil(1 / rate)` = 1 ms, so a 150 ms answer was recorded as some 150
 * samples (docs/performance.md «2026-12-04, 18:30»).
 */
import { realpathSync } from 'node:fs';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

export interface ProbeResult {
  /** Slots probed; each is one sample. */
  count: number;
  /** Probes answered other than 200 or not within the timeout, and slots left unprobed at the end. */
  failures: number;
  /** Milliseconds from each probe's slot to the end of its answer. */
  p50: number;
  p99: number;
  max: number;
  /** Every sample, ascending (ms). */
  samples: number[];
  /** The five slowest probes, slowest first: when their slot fell due (ms after the first). */
  slowest: Array<{ dueMs: number; ms: number }>;
}

/** One GET on a new connection; resolves true on a 200 read to its end within `timeoutMs`. */
function probeOnce(url: URL, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const outgoing = request(
      url,
      { agent: false, signal: AbortSignal.timeout(timeoutMs) },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode === 200));
        response.on('error', () => resolve(false));
      },
    );
    outgoing.on('error', () => resolve(false));
    outgoing.end();
  });
}

/** Nearest-rank percentile of ascending samples. */
export function percentileOf(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Probes `url` every `intervalMs` for `durationMs`, one probe at a time. A service that stalls past
 * the end does not keep the prober: once `durationMs + timeoutMs` have passed, the slots not yet
 * probed count as failures, each charged the time since it fell due.
 */
export async function probeHealth(
  url: string,
  {
    intervalMs,
    durationMs,
    timeoutMs = 5_000,
  }: { intervalMs: number; durationMs: number; timeoutMs?: number },
): Promise<ProbeResult> {
  const target = new URL(url);
  const start = performance.now();
  const slots = Math.floor(durationMs / intervalMs);
  const end = start + durationMs + timeoutMs;
  const bySlot: Array<{ dueMs: number; ms: number }> = [];
  let failures = 0;
  for (let slot = 0; slot < slots; slot++) {
    const due = start + slot * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (performance.now() >= end || !(await probeOnce(target, timeoutMs))) failures += 1;
    bySlot.push({ dueMs: due - start, ms: performance.now() - due });
  }
  const latencies = bySlot.map(({ ms }) => ms).sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  const slowest = bySlot
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 5)
    .map(({ dueMs, ms }) => ({ dueMs: Math.round(dueMs), ms: round(ms) }));
  return {
    count: latencies.length,
    failures,
    p50: round(percentileOf(latencies, 50)),
    p99: round(percentileOf(latencies, 99)),
    max: round(latencies.at(-1) ?? Number.NaN),
    samples: latencies.map(round),
    slowest,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const [url, seconds] = process.argv.slice(2);
  // The bench starts its load when it reads this line, so the probes cover the storm.
  process.stdout.write('probing\n');
  const { samples: _samples, ...summary } = await probeHealth(url, {
    intervalMs: 50,
    durationMs: Number(seconds) * 1000,
  });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}
