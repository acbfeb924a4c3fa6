import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { type RunningService, startService } from '../support/service.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * The built service as `npm start` runs it listens on every interface (a container publishes its
 * port to the network), as Node's server does by default: not on loopback alone, which is
 * Fastify's default when no host is named.
 */
let service: RunningService;
beforeAll(async () => {
  service = await startService();
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await service.stop();
});

/** The local addresses (hex, as the kernel lists them) of the sockets listening on `port`. */
async function listeningAddresses(port: number): Promise<string[]> {
  const addresses: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const lines = (await readFile(table, 'utf8')).trim().split('\n').slice(1);
    for (const line of lines) {
      const [, local, , state] = line.trim().split(/\s+/);
      const [address, hexPort] = local.split(':');
      // 0A is TCP_LISTEN.
      if (state === '0A' && parseInt(hexPort, 16) === port) addresses.push(address);
    }
  }
  return addresses;
}

describe('where the service listens', () => {
  it('listens on every interface, not on loopback only', async () => {
    const port = Number(new URL(service.url).port);
    const addresses = await listeningAddresses(port);
    expect(addresses.length).toBeGreaterThan(0);
    // The wildcard address: 0.0.0.0, or :: (which takes IPv4 too).
    expect(addresses.some((address) => /^0+$/.test(address))).toBe(true);
    // And one listener only: the drain (GracefulShutdown) watches the server Nest made.
    expect(addresses).toHaveLength(1);
  });
});
