import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
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
import { waitUntil } from '../support/wait.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

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
}, STARTUP_TIMEOUT_MS);

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

/** Runs statements as the cluster's superuser on a connection of the test's own. */
async function asSuperuser(...statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: cluster.url });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

async function codeOf(response: Response): Promise<string | undefined> {
  return ((await response.json().catch(() => ({}))) as { code?: string }).code;
}

describe('a database that refuses writes', () => {
  afterAll(async () => {
    await asSuperuser(
      'set default_transaction_read_only = off',
      'alter system reset default_transaction_read_only',
      'select pg_reload_conf()',
    ).catch(() => undefined);
  });

  it('answers 503 database_unavailable for sign-ins and reads alike (never 500), readiness says read-only, and it recovers', async () => {
    const account = { login: uniqueLogin('ro'), password: STRONG_PASSWORD };
    const browser = new Browser(service.url);
    expect((await browser.postJson('/api/v1/accounts', account)).status).toBe(201);
    expect((await browser.postJson('/api/v1/auth/login', account)).status).toBe(200);

    // What a failover to a replica, or an operator guarding a filling disk, looks like to clients.
    await asSuperuser(
      'alter system set default_transaction_read_only = on',
      'select pg_reload_conf()',
    );
    await waitUntil(
      async () => (await fetch(`${service.url}/health/ready`)).status === 503,
      10_000,
    );
    const ready = (await (await fetch(`${service.url}/health/ready`)).json()) as {
      error?: { database?: { status: string; message?: string } };
    };
    expect(ready.error?.database).toMatchObject({ status: 'down', message: /read-only/ });

    const signIn = await new Browser(service.url).postJson('/api/v1/auth/login', account);
    expect([signIn.status, await codeOf(signIn)]).toEqual([503, 'database_unavailable']);
    expect(signIn.headers.get('retry-after')).toBe('5');
    const newcomer = { login: uniqueLogin('ro-new'), password: STRONG_PASSWORD };
    const registration = await new Browser(service.url).postJson('/api/v1/accounts', newcomer);
    expect([registration.status, await codeOf(registration)]).toEqual([
      503,
      'database_unavailable',
    ]);
    // Reads of the signed-in person and pages: served, or refused with the same code; never 500.
    for (let i = 0; i < 20; i += 1) {
      for (const path of ['/api/v1/me', '/account', '/login']) {
        const response = await browser.get(path);
        const answer =
          response.status === 503 ? `503 ${await codeOf(response)}` : String(response.status);
        expect([answer, path]).toEqual([
          expect.stringMatching(/^(200|503 database_unavailable)$/),
          path,
        ]);
      }
    }

    await asSuperuser(
      'set default_transaction_read_only = off',
      'alter system reset default_transaction_read_only',
      'select pg_reload_conf()',
    );
    await waitUntil(
      async () => (await fetch(`${service.url}/health/ready`)).status === 200,
      10_000,
    );
    expect((await new Browser(service.url).postJson('/api/v1/auth/login', account)).status).toBe(
      200,
    );
    expect((await new Browser(service.url).postJson('/api/v1/accounts', newcomer)).status).toBe(
      201,
    );
  }, 60_000);
});

/** The postmaster and every backend of this spec's cluster (postmaster.pid: pid on line 1). */
async function clusterProcesses(): Promise<number[]> {
  const postmaster = Number(
    (await readFile(join(dir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0],
  );
  const children = execFileSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map(Number);
  return [postmaster, ...children];
}

describe('a stalled database', () => {
  const FROZEN_MS = 20_000;
  /** Two statement deadlines (the statement, then its ROLLBACK) and the slack of a busy machine. */
  const ANSWER_WITHIN_MS = 13_000;
  let frozen: number[] = [];

  afterAll(() => {
    for (const pid of frozen) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
  });

  it('answers 503 database_unavailable within the query deadline while PostgreSQL is frozen for 20 s, then recovers', async () => {
    const account = { login: uniqueLogin('stall'), password: STRONG_PASSWORD };
    const browser = new Browser(service.url);
    expect((await browser.postJson('/api/v1/accounts', account)).status).toBe(201);
    expect((await browser.postJson('/api/v1/auth/login', account)).status).toBe(200);

    // SIGSTOP: the server keeps its sockets open and answers nothing, as a hung host or a long
    // stop-the-world pause does; the kernel still accepts new connections into the backlog.
    frozen = await clusterProcesses();
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    const frozenAt = Date.now();
    const answers: { what: string; status: number; code?: string; ms: number }[] = [];
    const ask = async (what: string, request: () => Promise<Response>) => {
      while (Date.now() - frozenAt < FROZEN_MS - ANSWER_WITHIN_MS) {
        const t0 = Date.now();
        const response = await request();
        answers.push({
          what,
          status: response.status,
          code: await codeOf(response),
          ms: Date.now() - t0,
        });
      }
    };
    await Promise.all([
      ask('sign-in', () => new Browser(service.url).postJson('/api/v1/auth/login', account)),
      ask('profile', () => browser.get('/api/v1/me')),
      ask('registration', () =>
        new Browser(service.url).postJson('/api/v1/accounts', {
          login: uniqueLogin('stall-new'),
          password: STRONG_PASSWORD,
        }),
      ),
      ask('readiness', () => fetch(`${service.url}/health/ready`)),
    ]);
    const stillFrozen = Date.now() - frozenAt < FROZEN_MS;
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, FROZEN_MS - (Date.now() - frozenAt))),
    );
    for (const pid of frozen) process.kill(pid, 'SIGCONT');
    frozen = [];

    expect(stillFrozen).toBe(true);
    // Every question got its answer within the deadline, and a sign-in was refused clearly.
    expect(answers.filter((a) => a.ms > ANSWER_WITHIN_MS)).toEqual([]);
    expect(
      answers.filter((a) => a.what === 'sign-in').map((a) => `${a.status} ${a.code}`),
    ).toContain('503 database_unavailable');
    expect(
      answers
        .filter((a) => a.what !== 'readiness' && a.status !== 200)
        .filter((a) => `${a.status} ${a.code}` !== '503 database_unavailable'),
    ).toEqual([]);
    expect(answers.filter((a) => a.what === 'readiness').map((a) => a.status)).not.toContain(200);

    // Back by itself once the server runs again.
    await waitUntil(
      async () =>
        (await new Browser(service.url).postJson('/api/v1/auth/login', account)).status === 200,
      20_000,
    );
    expect((await fetch(`${service.url}/health/ready`)).status).toBe(200);
  }, 90_000);
});
