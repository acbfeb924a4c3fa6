import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createRootLogger } from '../../src/common/logger.js';
import {
  type EmbeddedDatabase,
  freePort,
  startEmbeddedPostgres,
} from '../../src/database/embedded-postgres.js';
import { Browser } from '../support/browser.js';
import { STRONG_PASSWORD, uniqueLogin } from '../support/http.js';
import { type RunningService, startService } from '../support/service.js';

/**
 * A PostgreSQL restart under load, on a cluster of this spec's own (the run's shared cluster must
 * not go down under the other specs).
 */
const logger = createRootLogger({ logLevel: 'silent' });
let dir: string;
let port: number;
let cluster: EmbeddedDatabase;
let service: RunningService;

async function startCluster(): Promise<EmbeddedDatabase> {
  return startEmbeddedPostgres({ dir, persistent: true, logger, port });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'identity-link-fault-'));
  port = await freePort();
  cluster = await startCluster();
  service = await startService({ database: { url: cluster.url, drop: async () => {} } });
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Sample {
  at: number;
  status: number;
  code?: string;
  ms: number;
}

describe('a database restart under load', () => {
  it('answers 503 database_unavailable quickly while PostgreSQL is down, recovers by itself, and leaves no half-written change', async () => {
    const account = { login: uniqueLogin('fault'), password: STRONG_PASSWORD };
    const browser = new Browser(service.url);
    expect((await browser.postJson('/api/v1/accounts', account)).status).toBe(201);
    expect((await browser.postJson('/api/v1/auth/login', account)).status).toBe(200);

    const started = Date.now();
    const samples: Sample[] = [];
    let running = true;
    const load = Array.from({ length: 6 }, async () => {
      while (running) {
        const t0 = Date.now();
        const response = await browser.get('/api/v1/me');
        const body = (await response.json().catch(() => ({}))) as { code?: string };
        samples.push({
          at: t0 - started,
          status: response.status,
          code: body.code,
          ms: Date.now() - t0,
        });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });

    await new Promise((resolve) => setTimeout(resolve, 1000));
    const downAt = Date.now() - started;
    await cluster.stop();

    // While it is down: readiness says so, requests fail fast with a clear code.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const ready = await fetch(`${service.url}/health/ready`);
    expect(ready.status).toBe(503);
    const lost = { login: uniqueLogin('lost'), password: STRONG_PASSWORD };
    const duringOutage = await new Browser(service.url).postJson('/api/v1/accounts', lost);
    expect(duringOutage.status).toBe(503);
    expect(((await duringOutage.json()) as { code: string }).code).toBe('database_unavailable');
    expect(duringOutage.headers.get('retry-after')).toBe('5');
    await new Promise((resolve) => setTimeout(resolve, 1000));

    const upAt = Date.now() - started;
    cluster = await startCluster();
    // It recovers by itself: the same browser's session works again within seconds.
    const deadline = Date.now() + 15_000;
    let recoveredAt: number | null = null;
    while (Date.now() < deadline) {
      const back = samples.find((s) => s.at > upAt && s.status === 200);
      if (back) {
        recoveredAt = back.at;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    running = false;
    await Promise.all(load);
    expect(recoveredAt).not.toBeNull();
    expect((await fetch(`${service.url}/health/ready`)).status).toBe(200);

    const outage = samples.filter((s) => s.at > downAt + 500 && s.at < upAt);
    expect(outage.length).toBeGreaterThan(0);
    expect([...new Set(outage.map((s) => `${s.status} ${s.code}`))]).toEqual([
      '503 database_unavailable',
    ]);
    // No request hung: each answered well within the connection timeout.
    expect(Math.max(...samples.map((s) => s.ms))).toBeLessThan(7000);
    expect(samples.filter((s) => s.status !== 200 && s.status !== 503)).toEqual([]);

    // Nothing of the refused registration was written; it can simply be made again.
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    const rows = await client.query('select count(*)::int as n from users where login = $1', [
      lost.login,
    ]);
    await client.end();
    expect(rows.rows[0].n).toBe(0);
    expect((await new Browser(service.url).postJson('/api/v1/accounts', lost)).status).toBe(201);
  }, 120_000);
});
