/**
 * `npm run bench` — builds the service, starts it in production mode on a fresh database
 * (embedded PostgreSQL unless DATABASE_URL is set), and measures it over HTTP from this second
 * process. Prints one table and writes it as JSON under bench/results/. Figures from a shared
 * 2-core machine move from run to run: compare within one run.
 *
 * Scenarios so far (each a ratio against a baseline measured in the same run):
 * - `login-storm`: password logins per second at concurrency 16 versus raw argon2id
 *   verifications per second with the same parameters and thread pool; /health/live p99 during it.
 * - `authenticated`: GET /api/v1/me with a session cookie and with a bearer token versus the
 *   public no-op /health/live, at concurrency 64.
 * - `report`: ПОС connection status of 10,001 organisations / 100,010 accounts.
 * - `cold-start`: spawn to /health/ready, resident memory after start and after the storm.
 */
import argon2 from 'argon2';
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createRootLogger } from '../src/common/logger.js';
import { freePort, startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { generateTree } from '../test/support/tree.js';

const ROOT = new URL('..', import.meta.url).pathname;
const SHAPE = { authorities: 100, institutions: 99, perOrganization: 10 };
const RUNS = 30;

interface Database {
  url: string;
  close(): Promise<void>;
}

async function database(): Promise<Database> {
  const logger = createRootLogger({ logLevel: 'warn' });
  if (process.env.DATABASE_URL) {
    const name = `il_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      close: async () => {
        const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
        await client.connect();
        await client.query(`drop database if exists ${name} with (force)`);
        await client.end();
      },
    };
  }
  const dir = await mkdtemp(join(tmpdir(), 'identity-link-bench-'));
  const embedded = await startEmbeddedPostgres({ dir, persistent: false, logger });
  return {
    url: embedded.url,
    close: async () => {
      await embedded.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')} exited ${code}: ${err}`)),
    );
  });
}

async function waitReady(base: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${base}/health/ready`)).ok) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error('the service did not become ready');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const STORM_SECONDS = 10;
const LOAD_SECONDS = 8;

/** Resident memory of a process, in MiB (Linux). */
function rssMiB(pid: number | undefined): number | null {
  if (!pid) return null;
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : null;
}

function load(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) =>
      error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(result),
    );
  });
}

/** argon2id verifications per second with the service's parameters, 16 in flight, same pool size. */
async function rawVerifications(seconds: number): Promise<number> {
  const hash = await argon2.hash('Bench#Password1', {
    type: argon2.argon2id,
    memoryCost: 19456,
    timeCost: 2,
    parallelism: 1,
  });
  let done = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (performance.now() < until) {
        await argon2.verify(hash, 'Bench#Password1');
        done += 1;
      }
    }),
  );
  return done / seconds;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function main(): Promise<void> {
  const db = await database();
  let service: ChildProcess | undefined;
  try {
    const port = await freePort();
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      PORT: String(port),
      DATABASE_URL: db.url,
      PUBLIC_URL: 'https://identity-link.bench.invalid',
      TOKEN_SIGNING_KEY: key,
      GOSUSLUGI_PROFILE: 'oidc',
      GOSUSLUGI_ISSUER: 'https://idp.bench.invalid',
      GOSUSLUGI_CLIENT_ID: 'bench',
      GOSUSLUGI_CLIENT_SECRET: 'bench-secret',
      SMTP_URL: 'smtp://127.0.0.1:9',
      LOG_LEVEL: 'warn',
      THROTTLE_LIMIT: '100000000',
      // The storm logs in from one address far more often than a real client may.
      THROTTLE_AUTH_LIMIT: '100000000',
    };
    await run(['dist/database/migrate.js', 'up'], env);
    const operator = await run(
      ['dist/cli.js', 'operator:create', '--login', 'bench.operator'],
      env,
    );
    const password = /password \(shown once\): (\S+)/.exec(operator)![1];
    const created = await run(
      ['dist/cli.js', 'org:create', '--name', 'Регион', '--kind', 'authority'],
      env,
    );
    const rootId = /id ([0-9a-f-]{36})/.exec(created)![1];

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const generatedAt = performance.now();
    await generateTree(client, { id: rootId, path: `/${rootId}/` }, SHAPE);
    const generationMs = performance.now() - generatedAt;
    const counts = await client.query<{ organizations: string; accounts: string }>(
      'select (select count(*) from pos_organizations) as organizations, (select count(*) from pos_memberships) as accounts',
    );
    await client.end();

    const spawnedAt = performance.now();
    service = spawn(process.execPath, ['dist/main.js'], { cwd: ROOT, env, stdio: 'ignore' });
    const base = `http://127.0.0.1:${port}`;
    await waitReady(base);
    const coldStartMs = Math.round(performance.now() - spawnedAt);
    const rssAfterStart = rssMiB(service.pid);
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: 'bench.operator', password }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const cookie = login.headers
      .getSetCookie()
      .map((line) => line.split(';')[0])
      .join('; ');

    // 1. Password login storm versus the machine's argon2id limit.
    const raw = await rawVerifications(STORM_SECONDS);
    const storm = load({
      url: `${base}/api/v1/auth/login`,
      method: 'POST',
      connections: 16,
      duration: STORM_SECONDS,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: 'bench.operator', password }),
    });
    const liveDuringStorm = load({
      url: `${base}/health/live`,
      connections: 1,
      overallRate: 20,
      duration: STORM_SECONDS,
    });
    const [stormResult, liveResult] = await Promise.all([storm, liveDuringStorm]);
    const rssAfterStorm = rssMiB(service.pid);
    const loginsPerSecond = stormResult.requests.average;

    // 2. Authenticated requests versus a public no-op, at concurrency 64.
    const at64 = (url: string, headers: Record<string, string> = {}) =>
      load({ url, connections: 64, duration: LOAD_SECONDS, headers });
    const baseline = await at64(`${base}/health/live`);
    const viaSession = await at64(`${base}/api/v1/me`, { cookie });
    const viaBearer = await at64(`${base}/api/v1/me`, { authorization: `Bearer ${accessToken}` });
    const rows = [
      {
        scenario: 'login-storm',
        figure: `${loginsPerSecond.toFixed(1)} logins/s vs ${raw.toFixed(1)} argon2id/s`,
        ratio: loginsPerSecond / raw,
        target: '≥ 0.85',
        extra: `/health/live p99 ${liveResult.latency.p99} ms (target < 50), non-2xx ${stormResult.non2xx}`,
      },
      {
        scenario: 'session',
        figure: `${viaSession.requests.average.toFixed(0)} req/s vs ${baseline.requests.average.toFixed(0)} no-op`,
        ratio: viaSession.requests.average / baseline.requests.average,
        target: '≥ 0.5',
        extra: `p99 ${viaSession.latency.p99} ms (no-op p99 ${baseline.latency.p99} ms), non-2xx ${viaSession.non2xx}`,
      },
      {
        scenario: 'bearer',
        figure: `${viaBearer.requests.average.toFixed(0)} req/s vs ${baseline.requests.average.toFixed(0)} no-op`,
        ratio: viaBearer.requests.average / baseline.requests.average,
        target: '≥ 0.7',
        extra: `p99 ${viaBearer.latency.p99} ms, non-2xx ${viaBearer.non2xx}`,
      },
    ];
    const report = async () => {
      const started = performance.now();
      const response = await fetch(`${base}/api/v1/pos/organizations/${rootId}/connection-status`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      const body = (await response.json()) as unknown[];
      if (!response.ok || body.length !== Number(counts.rows[0].organizations))
        throw new Error(`bad report: ${response.status}`);
      return performance.now() - started;
    };
    for (let i = 0; i < 3; i++) await report();
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) times.push(await report());
    times.sort((a, b) => a - b);

    const result = {
      scenarios: rows.map((row) => ({ ...row, ratio: Number(row.ratio.toFixed(2)) })),
      coldStart: {
        toReadyMs: coldStartMs,
        rssAfterStartMiB: rssAfterStart,
        rssAfterStormMiB: rssAfterStorm,
      },
      scenario: 'report',
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpu: cpus()[0]?.model,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      database: process.env.DATABASE_URL ? 'DATABASE_URL server' : 'embedded PostgreSQL',
      organizations: Number(counts.rows[0].organizations),
      accounts: Number(counts.rows[0].accounts),
      treeGenerationMs: Math.round(generationMs),
      runs: RUNS,
      medianMs: Math.round(percentile(times, 50)),
      p95Ms: Math.round(percentile(times, 95)),
      target: 'median under 300 ms',
    };
    console.log('\nscenario     ratio  target  figure');
    for (const row of rows) {
      console.log(
        `${row.scenario.padEnd(11)}  ${row.ratio.toFixed(2).padEnd(5)}  ${row.target.padEnd(6)}  ${row.figure}; ${row.extra}`,
      );
    }
    console.log(
      `cold start   ${coldStartMs} ms to /health/ready; RSS ${rssAfterStart} MiB after start, ${rssAfterStorm} MiB after the storm`,
    );
    console.log('\nscenario  organisations  accounts  runs  median ms  p95 ms  target');
    console.log(
      `report    ${String(result.organizations).padEnd(13)}  ${String(result.accounts).padEnd(8)}  ${String(RUNS).padEnd(4)}  ${String(result.medianMs).padEnd(9)}  ${String(result.p95Ms).padEnd(6)}  ${result.target}`,
    );
    await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
    await writeFile(
      join(ROOT, 'bench', 'results', 'latest.json'),
      JSON.stringify(result, null, 2) + '\n',
    );
  } finally {
    service?.kill('SIGTERM');
    await db.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
