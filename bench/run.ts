/**
 * `npm run bench` — builds the service, starts it in production mode on a fresh database
 * (embedded PostgreSQL unless DATABASE_URL is set), and measures it over HTTP from this second
 * process. Prints one table and writes it as JSON under bench/results/. Figures from a shared
 * 2-core machine move from run to run: compare within one run.
 *
 * Scenarios so far: `report` (ПОС connection status of 10,001 organisations / 100,010 accounts).
 */
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
      THROTTLE_LIMIT: '100000',
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

    service = spawn(process.execPath, ['dist/main.js'], { cwd: ROOT, env, stdio: 'ignore' });
    const base = `http://127.0.0.1:${port}`;
    await waitReady(base);
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: 'bench.operator', password }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
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
    console.log('\nscenario  organisations  accounts  runs  median ms  p95 ms  target');
    console.log(
      `report    ${String(result.organizations).padEnd(13)}  ${String(result.accounts).padEnd(8)}  ${String(RUNS).padEnd(4)}  ${String(result.medianMs).padEnd(9)}  ${String(result.p95Ms).padEnd(6)}  ${result.target}`,
    );
    await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
    await writeFile(
      join(ROOT, 'bench', 'results', 'report.json'),
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
