import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createRootLogger } from '../../src/common/logger.js';
import {
  type EmbeddedDatabase,
  freePort,
  startEmbeddedPostgres,
} from '../../src/database/embedded-postgres.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * An embedded cluster started without a port takes one the kernel found free, but it can only
 * bind it after freePort() has let it go: another process may take it in between (a CI run lost
 * a shutdown test that way). Here the port offered first is held by a listener of the spec's own.
 */
const logger = createRootLogger({ logLevel: 'silent' });
const dirs: string[] = [];
let held: Server;
let heldPort: number;
const clusters: EmbeddedDatabase[] = [];

beforeAll(async () => {
  held = createServer();
  await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
  heldPort = (held.address() as { port: number }).port;
});

/** A folder of its own for each cluster (the `postgres` user must pass through it). */
async function folder(): Promise<string> {
  dirs.push(await mkdtemp(join(tmpdir(), 'identity-link-port-')));
  return dirs.at(-1)!;
}

afterAll(async () => {
  for (const cluster of clusters) await cluster.stop();
  await new Promise((resolve) => held.close(resolve));
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
}, STARTUP_TIMEOUT_MS);

describe('the embedded cluster and its port', () => {
  it(
    'a port taken between the probe and the start is given up for another one',
    async () => {
      const offered: number[] = [];
      const cluster = await startEmbeddedPostgres({
        dir: await folder(),
        persistent: false,
        logger,
        ports: async () => {
          const port = offered.length === 0 ? heldPort : await freePort();
          offered.push(port);
          return port;
        },
      });
      clusters.push(cluster);
      expect(offered[0]).toBe(heldPort);
      expect(offered).toHaveLength(2);
      const port = Number(new URL(cluster.url).port);
      expect(port).toBe(offered[1]);
      const client = new pg.Client({ connectionString: cluster.url });
      await client.connect();
      try {
        expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
      } finally {
        await client.end();
      }
    },
    STARTUP_TIMEOUT_MS,
  );

  it(
    'a port given by the caller is not changed: a taken one fails the start',
    async () => {
      await expect(
        startEmbeddedPostgres({
          dir: await folder(),
          persistent: false,
          logger,
          port: heldPort,
        }),
      ).rejects.toThrow(/could not create any TCP\/IP sockets/);
    },
    STARTUP_TIMEOUT_MS,
  );
});
