import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { probeHealth } from './health-probe.js';

/** A node:http server on a free port; `answer` is called with the request's 0-based number. */
async function serve(
  answer: (index: number, end: (status: number) => void) => void,
): Promise<{ url: string; requests: () => number; server: Server }> {
  let count = 0;
  const server = createServer((_request, response) => {
    answer(count++, (status) => {
      response.statusCode = status;
      response.end('{"status":"ok"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/health/live`, requests: () => count, server };
}

describe('the liveness prober of the login storm (bench/health-probe.ts)', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  it('records one sample per probe, each probe sent on a fresh connection', async () => {
    const peers = new Set<string>();
    const target = await serve((_index, end) => end(200));
    server = target.server;
    server.on('connection', (socket) => peers.add(`${socket.remotePort}`));
    const result = await probeHealth(target.url, { intervalMs: 20, durationMs: 400 });
    expect(result.count).toBe(20);
    expect(target.requests()).toBe(20);
    expect(peers.size).toBe(20);
    expect(result.samples).toHaveLength(20);
    expect(result.failures).toBe(0);
  });

  it('charges a stall to every slot it covered, one sample each, not to one probe alone', async () => {
    // The fifth probe (slot at 200 ms) is answered after 400 ms: the slots at 250–550 ms fall due
    // while it waits, are sent late, and are timed from their slots (≈ 350, 300, 250, … ms).
    const target = await serve((index, end) => {
      if (index === 4) setTimeout(() => end(200), 400);
      else end(200);
    });
    server = target.server;
    const result = await probeHealth(target.url, { intervalMs: 50, durationMs: 1000 });
    expect(result.count).toBe(20);
    expect(target.requests()).toBe(20);
    // A few milliseconds of slack: a timer may fire a little early.
    expect(result.max).toBeGreaterThanOrEqual(395);
    expect(result.p99).toBeGreaterThanOrEqual(395);
    const delayed = result.samples.filter((ms) => ms >= 240);
    // The stalled probe and the three slots due 250–350 ms into its wait, at the least (more on a
    // busy machine, where each late probe takes longer); and the prober caught up afterwards.
    expect(delayed.length).toBeGreaterThanOrEqual(4);
    expect(result.failures).toBe(0);
    expect(result.p50).toBeLessThan(240);
    // The slowest is the stalled probe itself, with its slot's place in the schedule.
    expect(result.slowest).toHaveLength(5);
    expect(result.slowest[0]).toEqual({ dueMs: 200, ms: result.max });
    expect(result.slowest.map(({ ms }) => ms)).toEqual(result.samples.slice(-5).reverse());
  });

  it('counts an answer other than 200, and one that never comes, as failures', async () => {
    const target = await serve((index, end) => {
      if (index === 0) end(503);
      // The second is never answered: the probe gives up after its timeout.
      else if (index !== 1) end(200);
    });
    server = target.server;
    const result = await probeHealth(target.url, {
      intervalMs: 50,
      durationMs: 500,
      timeoutMs: 200,
    });
    expect(result.count).toBe(10);
    expect(result.failures).toBe(2);
    expect(result.max).toBeGreaterThanOrEqual(195);
  });

  it('stops at the end of its time with a service that never answers, every slot a failure', async () => {
    const target = await serve(() => undefined);
    server = target.server;
    const started = performance.now();
    const result = await probeHealth(target.url, {
      intervalMs: 50,
      durationMs: 1000,
      timeoutMs: 300,
    });
    // The duration and one timeout; without the bound, 20 probes of 300 ms each (6 s).
    expect(performance.now() - started).toBeLessThan(2500);
    expect(result.count).toBe(20);
    expect(result.failures).toBe(20);
    expect(target.requests()).toBeLessThan(20);
    expect(result.max).toBeGreaterThanOrEqual(1000);
  });
});
