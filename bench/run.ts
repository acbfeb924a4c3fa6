/**
 * `npm run bench [-- scenario ...]` — builds the service, starts it in production mode on a fresh
 * database (embedded PostgreSQL unless DATABASE_URL is set), and measures it over HTTP from this
 * second process. Prints one table and writes it as JSON under bench/results/. Figures from a
 * shared 2-core machine move from run to run: every target is a ratio within one run.
 *
 * Scenarios (all by default):
 * - `login-storm`: password logins per second at concurrency 16 versus raw argon2id
 *   verifications per second with the same parameters and thread pool; /health/live p99 during it
 *   (bench/health-probe.ts, a prober of its own) and the service's event-loop delay; the CPU one
 *   login costs, by thread and in PostgreSQL.
 *   A second storm follows, to show whether resident memory keeps growing.
 * - `authenticated`: GET /api/v1/me with a session cookie, GET /api/v1/auth/session with a bearer
 *   token (and /me with it, for reference) versus the public no-op /health/live, at concurrency 64;
 *   the no-op itself versus a bare node:http server answering the same body (bench/frameworks.mjs).
 *   The loads take turns, 2 s each, four rounds.
 * - `gosuslugi`: link and login round trips per second through a development instance and its
 *   Госуслуги stand-in, next to the stand-in's own round trips (authorize → code → token).
 * - `bulk-invitation`: 10,000 members added through the API by the platform operator (signed in
 *   with a TOTP second factor, bench/operator.ts), and the time until the outbox has handed every
 *   invitation to a local SMTP sink; then 100 more to a sink that answers each message after
 *   BENCH_SLOW_SMTP_MS (4 s by default: a slow mail server), in mails per second. Every addition
 *   must be answered 201.
 * - `report`: ПОС connection status of 10,001 organisations / 100,010 accounts, asked by the
 *   operator; every answer must be 200 with a row per organisation.
 * - `frameworks`: the service's no-op next to the same no-op on node:http, Express, Fastify and
 *   NestJS on each (bench/frameworks.mjs): requests per second and CPU per request; and the bare
 *   server busy 20 and 60 µs before each answer, for what node:http and the kernel then cost it.
 * - `cli`: the operator's command line, spawn to exit, against the running database (bench/cli.ts).
 * - `oidc-code`: the OpenID Provider's authorization-code round trip with a live session (single
 *   sign-on: authorize → code → token → UserInfo) for a first-party client registered with
 *   `client:create`, 8 at once: round trips per second next to the no-op in the same run, and the
 *   CPU one round trip costs.
 * - `members-page`: the «Пользователи» tab of /pos/admin for 500 members, unfiltered and searched,
 *   as the organisation's administrator (bench/members-page.ts): median ms.
 * Cold start (spawn to /health/ready) and resident memory are measured in every run.
 *
 * BENCH_PROFILE=<dir> writes a V8 CPU profile of the production service's main thread there;
 * The service runs with the Node.js options of `npm start` (package.json); BENCH_NODE_FLAGS
 * replaces them (e.g. BENCH_NODE_FLAGS=--max-semi-space-size=8, or empty for none).
 */
import autocannon from 'autocannon';
import { readdirSync, readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { cliWallTime } from './cli.js';
import { percentileOf, type ProbeResult } from './health-probe.js';
import { membersPage } from './members-page.js';
import { BenchOperator, operatorCredentials } from './operator.js';
import { createRootLogger } from '../src/common/logger.js';
import { freePort, startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { Browser } from '../test/support/browser.js';
import { linkThrough, throughStandIn } from '../test/support/gosuslugi.js';
import { generateTree } from '../test/support/tree.js';
import { threadPoolSize } from '../src/common/thread-pool-size.js';

const ROOT = new URL('..', import.meta.url).pathname;
const SHAPE = { authorities: 100, institutions: 99, perOrganization: 10 };
const RUNS = 30;

interface Database {
  url: string;
  /** The embedded cluster's postmaster, whose processes are the bench's PostgreSQL CPU. */
  postmasterPid?: number;
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
    postmasterPid: Number(readFileSync(join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]),
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
const WARM_UP_SECONDS = 3;

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

/**
 * argon2id verifications per second with the service's parameters, 16 in flight, on a thread pool
 * of the service's size (bench/raw-argon2.mjs in a process of its own).
 */
async function rawVerifications(seconds: number): Promise<number> {
  const out = await run(['bench/raw-argon2.mjs', String(seconds)], {
    ...process.env,
    UV_THREADPOOL_SIZE: String(threadPoolSize()),
  });
  return Number(out.trim());
}

interface EventLoopDelay {
  p50: number;
  p99: number;
  max: number;
}

/** What holds the service's memory, in MiB (bench/event-loop-probe.mjs). */
interface Memory {
  rss: number;
  rssFile: number;
  rssAnon: number;
  heapUsed: number;
  heapCommitted: number;
  external: number;
  arrayBuffers: number;
  mallocedByV8: number;
  spaces: Record<string, { used: number; committed: number }>;
}

/** One line: resident memory split into mapped files, V8's heap (by space) and the rest. */
function memoryLine(memory: Memory): string {
  const space = (name: string) => memory.spaces[name]?.committed ?? 0;
  const outsideHeap = Math.round((memory.rssAnon - memory.heapCommitted) * 10) / 10;
  return (
    `RSS ${memory.rss} = files ${memory.rssFile} + anonymous ${memory.rssAnon}: V8 heap ${memory.heapCommitted} ` +
    `(new ${space('new')}, old ${space('old')}, code ${space('code')}, trusted ${space('trusted')}, ` +
    `large objects ${space('large_object')}; live ${memory.heapUsed}), outside the heap ${outsideHeap}`
  );
}

/** Talks to bench/event-loop-probe.mjs inside the service: reset, then read the delay histogram. */
function eventLoopProbe(child: ChildProcess) {
  const ask = <T>(message: string) =>
    new Promise<T>((resolve) => {
      const listener = (reply: { type: string } & T) => {
        if (reply.type !== message) return;
        child.off('message', listener);
        resolve(reply);
      };
      child.on('message', listener);
      child.send(message);
    });
  return {
    reset: () => ask<object>('event-loop:reset'),
    read: () => ask<EventLoopDelay>('event-loop:read'),
    memory: () => ask<Memory>('memory:read'),
  };
}

const SCENARIOS = [
  'login-storm',
  'authenticated',
  'gosuslugi',
  'bulk-invitation',
  'report',
  'frameworks',
  'cli',
  'oidc-code',
  'members-page',
] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Row {
  scenario: string;
  ratio: number | null;
  target: string;
  figure: string;
  extra: string;
}

/** Name and CPU seconds (user + system) from a /proc stat file; null when it is gone. USER_HZ = 100. */
function readStat(path: string): { name: string; seconds: number } | null {
  try {
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
      seconds: (Number(fields[11]) + Number(fields[12])) / 100,
    };
  } catch {
    return null; // ended between the listing and the read
  }
}

/** CPU seconds of a process's threads, by thread name. */
function threadCpu(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const thread = readStat(`/proc/${pid}/task/${tid}/stat`);
    if (thread) byName.set(thread.name, (byName.get(thread.name) ?? 0) + thread.seconds);
  }
  return byName;
}

/** The parent's pid from a /proc stat file, or null. */
function parentOf(pid: string): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/**
 * CPU seconds of the bench's PostgreSQL: the embedded cluster's postmaster and its children, or
 * every PostgreSQL process on the machine when the bench runs on a server (DATABASE_URL; then
 * only a quiet machine gives a true figure).
 */
function postgresCpu(postmasterPid?: number): number {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter(
      (pid) =>
        postmasterPid === undefined ||
        Number(pid) === postmasterPid ||
        parentOf(pid) === postmasterPid,
    )
    .map((pid) => readStat(`/proc/${pid}/stat`))
    .filter((process) => process?.name === 'postgres')
    .reduce((total, process) => total + process!.seconds, 0);
}

let benchPostmaster: number | undefined;

function cpuSnapshot(pid: number) {
  return { threads: threadCpu(pid), postgres: postgresCpu(benchPostmaster) };
}

/** Milliseconds of CPU per operation between two snapshots, by where it was spent. */
function cpuPerOperation(
  before: ReturnType<typeof cpuSnapshot>,
  after: ReturnType<typeof cpuSnapshot>,
  operations: number,
) {
  const thread = (name: string) =>
    ((after.threads.get(name) ?? 0) - (before.threads.get(name) ?? 0)) * 1000;
  const all = [...after.threads.keys()];
  const rest = all
    .filter((name) => !['MainThread', 'libuv-worker', 'V8Worker'].includes(name))
    .reduce((sum, name) => sum + thread(name), 0);
  const per = (ms: number) => Math.round((ms / operations) * 10) / 10;
  return {
    threadPool: per(thread('libuv-worker')),
    eventLoop: per(thread('MainThread')),
    garbageCollector: per(thread('V8Worker')),
    otherThreads: per(rest),
    postgres: per((after.postgres - before.postgres) * 1000),
  };
}

interface Service {
  child: ChildProcess;
  base: string;
  eventLoop: ReturnType<typeof eventLoopProbe>;
  coldStartMs: number;
}

async function startService(env: NodeJS.ProcessEnv, flags: string[] = []): Promise<Service> {
  const spawnedAt = performance.now();
  const child = spawn(
    process.execPath,
    [...flags, '--import', './bench/event-loop-probe.mjs', 'dist/main.js'],
    { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] },
  );
  const base = `http://127.0.0.1:${env.PORT}`;
  await waitReady(base);
  return {
    child,
    base,
    eventLoop: eventLoopProbe(child),
    coldStartMs: Math.round(performance.now() - spawnedAt),
  };
}

async function stopService(service: Service | undefined): Promise<void> {
  if (!service || service.child.exitCode !== null) return;
  // Let it shut down on its own: a CPU profile is written on exit.
  const exited = new Promise((resolve) => service.child.once('exit', resolve));
  service.child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
}

/** Runs `workers` loops of `flow` for `seconds`; flows per second (every flow must succeed). */
async function flowsPerSecond(
  workers: number,
  seconds: number,
  flow: (worker: number) => Promise<void>,
): Promise<number> {
  let done = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      while (performance.now() < until) {
        await flow(worker);
        done += 1;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/**
 * Starts bench/health-probe.ts in a process of its own: resolves once it probes, with the promise
 * of its summary at the end (a probe every 50 ms for `seconds`), and a stop for a bench that fails
 * before then.
 */
async function healthProber(
  url: string,
  seconds: number,
): Promise<{ summary: Promise<Omit<ProbeResult, 'samples'>>; stop(): void }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/health-probe.ts', url, `${seconds}`],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: string[] = [];
  let buffered = '';
  // 'close', not 'exit': by then stdout has been read to its end.
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    void closed.then((code) => reject(new Error(`bench/health-probe.ts exited ${code}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      lines.push(...parts);
      if (lines[0] === 'probing') resolve();
    });
  });
  const summary = closed.then((code) => {
    if (code !== 0 || lines.length < 2) throw new Error(`bench/health-probe.ts exited ${code}`);
    return JSON.parse(lines[1]) as Omit<ProbeResult, 'samples'>;
  });
  // Handled where it is awaited; this keeps a failure before then from being an unhandled one.
  summary.catch(() => undefined);
  return { summary, stop: () => child.kill() };
}

/** 1. Password login storm versus the machine's argon2id limit. */
async function loginStorm(
  service: Service,
  credentials: { login: string; password: string },
  scenario = 'login-storm',
): Promise<Row> {
  const raw = await rawVerifications(STORM_SECONDS);
  const prober = await healthProber(`${service.base}/health/live`, STORM_SECONDS);
  let storm: autocannon.Result;
  let probes: Omit<ProbeResult, 'samples'>;
  let before: ReturnType<typeof cpuSnapshot>;
  try {
    await service.eventLoop.reset();
    before = cpuSnapshot(service.child.pid!);
    [storm, probes] = await Promise.all([
      load({
        url: `${service.base}/api/v1/auth/login`,
        method: 'POST',
        connections: 16,
        duration: STORM_SECONDS,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(credentials),
      }),
      prober.summary,
    ]);
  } finally {
    prober.stop();
  }
  const cpu = cpuPerOperation(before, cpuSnapshot(service.child.pid!), storm.requests.total);
  const loop = await service.eventLoop.read();
  const logins = storm.requests.average;
  return {
    scenario,
    ratio: logins / raw,
    target: '≥ 0.80',
    figure: `${logins.toFixed(1)} logins/s vs ${raw.toFixed(1)} argon2id/s`,
    extra:
      `/health/live p99 ${probes.p99} ms (target < 50; ${probes.count} probes, ${probes.failures} failed; slowest ` +
      `${probes.slowest.map(({ dueMs, ms }) => `${ms} ms at ${(dueMs / 1000).toFixed(2)} s`).join(', ')}); ` +
      `event-loop delay p99 ${loop.p99} ms, max ${loop.max} ms; ` +
      `CPU per login: thread pool ${cpu.threadPool} ms, event loop ${cpu.eventLoop} ms, GC ${cpu.garbageCollector} ms, ` +
      `other threads ${cpu.otherThreads} ms, PostgreSQL ${cpu.postgres} ms; non-2xx ${storm.non2xx}`,
  };
}

/** One no-op HTTP stack of bench/frameworks.mjs in its own process, with its CPU use. */
async function stack(
  kind: string,
  env: Record<string, string> = {},
): Promise<{ base: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['bench/frameworks.mjs', kind], {
    cwd: ROOT,
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench/frameworks.mjs ${kind} exited ${code}`)));
    child.stdout.once('data', () => resolve());
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    base: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The CPU this process spent, in seconds: while a load runs, that is the load generator
 * (autocannon, in this process), which shares the machine's cores with the server it measures.
 */
function generatorSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** CPU seconds spread over `requests`, in whole µs a request. */
function microsEach(seconds: number, requests: number): number {
  return Math.round((seconds * 1e6) / requests);
}

/**
 * Requests per second at concurrency 64, the server's CPU per request (µs, from /proc) and the load
 * generator's (this process's).
 */
async function noOpLoad(base: string, pid: number) {
  const cpu = () => readStat(`/proc/${pid}/stat`)!.seconds;
  const before = cpu();
  const generatorBefore = generatorSeconds();
  const result = await load({
    url: `${base}/health/live`,
    connections: 64,
    duration: LOAD_SECONDS,
  });
  return {
    result,
    cpuPerRequest: microsEach(cpu() - before, result.requests.total),
    generatorPerRequest: microsEach(generatorSeconds() - generatorBefore, result.requests.total),
  };
}

const STACKS = ['bare', 'express', 'fastify', 'nest-express', 'nest-fastify'] as const;

/**
 * The headers of one answer from `url`, less those node:http writes itself (Date, Connection,
 * Keep-Alive, Content-Length) and the body's type, which the bare server sends as well.
 */
async function answerHeaders(url: string): Promise<[string, string][]> {
  const response = await fetch(url);
  await response.arrayBuffer();
  const own = new Set(['date', 'connection', 'keep-alive', 'content-length', 'content-type']);
  return [...response.headers].filter(([name]) => !own.has(name));
}

/** The bare server made busy for these many µs before each answer (`SPIN_US`). */
const SPINS_US = [20, 60] as const;

/**
 * 7. The HTTP stack: the service's no-op next to the same no-op on node:http alone, Express,
 * Fastify, and NestJS on each (bench/frameworks.mjs), each at concurrency 64 in this run. Shows
 * what moving the service from Express to Fastify could win, and what the service adds itself.
 */
async function frameworks(service: Service): Promise<Row[]> {
  /** The no-op of one stack of bench/frameworks.mjs under load, in a process of its own. */
  const measure = async (kind: string, env?: Record<string, string>) => {
    const server = await stack(kind, env);
    try {
      return await noOpLoad(server.base, server.pid);
    } finally {
      await server.stop();
    }
  };
  const measured: Record<string, Awaited<ReturnType<typeof noOpLoad>>> = {};
  for (const kind of STACKS) measured[kind] = await measure(kind);
  // The bare server with work of its own: its CPU a request less that work is what node:http and
  // the kernel cost it. Were that fixed, a ratio against the bare server would follow a server's
  // own cost alone; it grows as the server slows (the load generator waits, and is woken, more).
  const spun = new Map<number, Awaited<ReturnType<typeof noOpLoad>>>();
  for (const spin of SPINS_US) spun.set(spin, await measure('bare', { SPIN_US: String(spin) }));
  measured.service = await noOpLoad(service.base, service.child.pid!);
  const bare = measured.bare.result.requests.average;
  const row = (scenario: string, result: autocannon.Result, extra: string): Row => ({
    scenario,
    ratio: result.requests.average / bare,
    target: '—',
    figure: `${result.requests.average.toFixed(0)} req/s vs ${bare.toFixed(0)} bare node:http`,
    extra: `${extra}; non-2xx ${result.non2xx}`,
  });
  return [
    ...Object.entries(measured).map(([kind, { result, cpuPerRequest, generatorPerRequest }]) =>
      row(
        `stack-${kind}`,
        result,
        `CPU ${cpuPerRequest} µs a request, load generator ${generatorPerRequest} µs; p99 ${result.latency.p99} ms`,
      ),
    ),
    ...[...spun].map(([spin, { result, cpuPerRequest }]) =>
      row(
        `stack-bare-spin-${spin}`,
        result,
        `CPU ${cpuPerRequest} µs a request, ${cpuPerRequest - spin} µs less the spin (bare ${measured.bare.cpuPerRequest} µs)`,
      ),
    ),
  ];
}

/** Rounds of the interleaved loads of `authenticated`, and the length of one load in a round. */
const ROUNDS = 4;
const SLICE_SECONDS = 2;

/** What one kind of request gave over its slices: requests, seconds, CPU, each slice's p99. */
interface Interleaved {
  requests: number;
  seconds: number;
  cpuSeconds: number;
  /** The load generator's (this process's) CPU over the same slices. */
  generatorSeconds: number;
  non2xx: number;
  p99s: number[];
}

/**
 * 2. Authenticated requests versus a public no-op, at concurrency 64; the no-op itself versus a
 * bare node:http server answering the same body (bench/frameworks.mjs). The loads take turns:
 * ROUNDS rounds of one SLICE_SECONDS load of each, bare server included, so a shared machine's
 * speed, which moves by half between minutes here, weighs on every figure of a ratio alike rather
 * than on whichever load ran in a slow minute. CPU per request from /proc, summed over the slices.
 */
async function authenticated(
  service: Service,
  credentials: { cookie: string; accessToken: string },
): Promise<Row[]> {
  const bearer = { authorization: `Bearer ${credentials.accessToken}` };
  // The bare server answering with the headers the service's no-op carries (its security headers,
  // X-Request-Id, Cache-Control), as the service sent them just now: the no-op against it is what
  // the service's stack costs beside those headers, which cost the server and the load generator
  // (it parses every header line of every answer) alike.
  const noOpHeaders = (await answerHeaders(`${service.base}/health/live`))
    .map(([name, value]) => `${name}: ${value}`)
    .join('\n');
  const bare = await stack('bare');
  let sameHeaders: Awaited<ReturnType<typeof stack>> | undefined;
  try {
    sameHeaders = await stack('bare', { HEADERS: noOpHeaders });
    // A warm-up of each route first: measured first on a fresh process, the no-op paid for the
    // optimising compiler's work on the code every route shares, and its ratio moved by half. The
    // bare server is warmed as well, or its first slice would be a cold quarter of its figure.
    for (const url of [
      `${bare.base}/health/live`,
      `${sameHeaders.base}/health/live`,
      `${service.base}/health/live`,
      `${service.base}/api/v1/me`,
    ])
      await load({
        url,
        connections: 16,
        duration: WARM_UP_SECONDS,
        headers: { cookie: credentials.cookie },
      });
    // The bearer target is measured on the protected endpoint that needs nothing but the caller's
    // session; /me with a bearer token, which also reads the linked identities, is shown beside it.
    const empty = (): Interleaved => ({
      requests: 0,
      seconds: 0,
      cpuSeconds: 0,
      generatorSeconds: 0,
      non2xx: 0,
      p99s: [],
    });
    const load64 = (base: string, pid: number, path: string, headers: Record<string, string>) => ({
      base,
      pid,
      path,
      headers,
      total: empty(),
    });
    const service64 = (path: string, headers: Record<string, string> = {}) =>
      load64(service.base, service.child.pid!, path, headers);
    const kinds = {
      bare: load64(bare.base, bare.pid, '/health/live', {}),
      sameHeaders: load64(sameHeaders.base, sameHeaders.pid, '/health/live', {}),
      noOp: service64('/health/live'),
      session: service64('/api/v1/me', { cookie: credentials.cookie }),
      bearer: service64('/api/v1/auth/session', bearer),
      bearerMe: service64('/api/v1/me', bearer),
    };
    const order = Object.values(kinds);
    for (let round = 0; round < ROUNDS; round++) {
      // Each round starts one further along, so no load always follows the same one.
      const turn = [...order.slice(round % order.length), ...order.slice(0, round % order.length)];
      for (const { base, pid, path, headers, total } of turn) {
        const cpu = () => readStat(`/proc/${pid}/stat`)!.seconds;
        const before = cpu();
        const generatorBefore = generatorSeconds();
        const result = await load({
          url: `${base}${path}`,
          connections: 64,
          duration: SLICE_SECONDS,
          headers,
        });
        total.cpuSeconds += cpu() - before;
        total.generatorSeconds += generatorSeconds() - generatorBefore;
        total.requests += result.requests.total;
        total.seconds += result.duration;
        total.non2xx += result.non2xx;
        total.p99s.push(result.latency.p99);
      }
    }
    const rate = (kind: Interleaved) => kind.requests / kind.seconds;
    const cpuPerRequest = (kind: Interleaved) => microsEach(kind.cpuSeconds, kind.requests);
    const generatorPerRequest = (kind: Interleaved) =>
      microsEach(kind.generatorSeconds, kind.requests);
    // The median of the slices' p99s (ROUNDS is even: the mean of the middle two).
    const p99 = ({ p99s }: Interleaved) => {
      const sorted = [...p99s].sort((a, b) => a - b);
      const middle = sorted.length / 2;
      return Number.isInteger(middle)
        ? (sorted[middle - 1] + sorted[middle]) / 2
        : sorted[Math.floor(middle)];
    };
    const noOp = kinds.noOp.total;
    const row = (scenario: string, kind: Interleaved, target: string): Row => ({
      scenario,
      ratio: rate(kind) / rate(noOp),
      target,
      figure: `${rate(kind).toFixed(0)} req/s vs ${rate(noOp).toFixed(0)} no-op`,
      extra: `CPU ${cpuPerRequest(kind)} µs a request (no-op ${cpuPerRequest(noOp)} µs); median p99 of ${ROUNDS} slices ${p99(kind)} ms (no-op ${p99(noOp)} ms), non-2xx ${kind.non2xx}`,
    });
    return [
      {
        scenario: 'no-op',
        ratio: rate(noOp) / rate(kinds.bare.total),
        target: '≥ 0.4',
        figure: `${rate(noOp).toFixed(0)} req/s vs ${rate(kinds.bare.total).toFixed(0)} bare node:http`,
        extra: `CPU ${cpuPerRequest(noOp)} µs a request (bare ${cpuPerRequest(kinds.bare.total)} µs), load generator ${generatorPerRequest(noOp)} µs (bare ${generatorPerRequest(kinds.bare.total)} µs); median p99 of ${ROUNDS} slices ${p99(noOp)} ms (bare ${p99(kinds.bare.total)} ms), non-2xx ${noOp.non2xx}`,
      },
      {
        scenario: 'no-op-same-headers',
        ratio: rate(noOp) / rate(kinds.sameHeaders.total),
        target: '—',
        figure: `${rate(noOp).toFixed(0)} req/s vs ${rate(kinds.sameHeaders.total).toFixed(0)} bare node:http with the no-op's headers`,
        extra: `CPU ${cpuPerRequest(kinds.sameHeaders.total)} µs a request, load generator ${generatorPerRequest(kinds.sameHeaders.total)} µs`,
      },
      row('session', kinds.session.total, '≥ 0.7'),
      row('bearer', kinds.bearer.total, '≥ 0.7'),
      row('bearer-me', kinds.bearerMe.total, '—'),
    ];
  } finally {
    await bare.stop();
    await sameHeaders?.stop();
  }
}

const FLOW_SECONDS = 8;
const PERSONS = [1000000001, 1000000002, 1000000003, 1000000004, 1000000005];

/**
 * 3. Госуслуги round trips through a development instance (the stand-in lives only there), on the
 * same database. Three loops: the stand-in alone (authorize, person, code, token exchange made by
 * this process), login (start, stand-in, callback, session), link (start, stand-in, callback,
 * confirmation page and form; each followed by an unlink so the person can link again).
 */
async function gosuslugi(databaseUrl: string): Promise<Row[]> {
  const port = await freePort();
  const service = await startService({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'development',
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    LOG_LEVEL: 'warn',
    THROTTLE_LIMIT: '100000000',
    THROTTLE_SIGNED_IN_LIMIT: '100000000',
    THROTTLE_AUTH_LIMIT: '100000000',
    THROTTLE_LOGIN_LIMIT: '100000000',
  });
  try {
    const issuer = `${service.base}/dev/gosuslugi`;
    const origin = { origin: service.base };
    const password = 'Bench#Password1';
    const browsers = await Promise.all(
      PERSONS.map(async (_, index) => {
        const login = `bench.gu.${index}.${randomBytes(3).toString('hex')}`;
        const created = await fetch(`${service.base}/api/v1/accounts`, json({ login, password }));
        if (created.status !== 201) throw new Error(`registration answered ${created.status}`);
        const browser = new Browser(service.base);
        const session = await browser.postJson('/api/v1/auth/login', { login, password });
        if (session.status !== 200) throw new Error(`login answered ${session.status}`);
        return browser;
      }),
    );
    const expectRedirect = (response: Response, location: RegExp) => {
      if (response.status !== 303 || !location.test(response.headers.get('location') ?? ''))
        throw new Error(`flow ended with ${response.status} ${response.headers.get('location')}`);
    };

    const providerOnly = await flowsPerSecond(8, FLOW_SECONDS, async (worker) => {
      const browser = new Browser(service.base);
      const verifier = randomBytes(32).toString('base64url');
      const authorize = new URL(`${issuer}/auth`);
      authorize.search = new URLSearchParams({
        client_id: 'identity-link-dev',
        response_type: 'code',
        scope: 'openid',
        redirect_uri: `${service.base}/auth/gosuslugi/callback`,
        state: randomBytes(16).toString('base64url'),
        nonce: randomBytes(16).toString('base64url'),
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
      }).toString();
      const callback = await throughStandIn(browser, authorize.href, PERSONS[worker % 5]);
      const code = new URL(callback, service.base).searchParams.get('code');
      const token = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from('identity-link-dev:dev-stand-in-secret-not-for-production').toString('base64')}`,
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: code ?? '',
          redirect_uri: `${service.base}/auth/gosuslugi/callback`,
          code_verifier: verifier,
        }),
      });
      if (token.status !== 200) throw new Error(`token endpoint answered ${token.status}`);
    });

    const link = await flowsPerSecond(PERSONS.length, FLOW_SECONDS, async (worker) => {
      const browser = browsers[worker];
      expectRedirect(await linkThrough(browser, PERSONS[worker]), /gosuslugi=linked/);
      const unlinked = await browser.request('/api/v1/me/identities/gosuslugi', {
        method: 'DELETE',
        headers: origin,
      });
      if (unlinked.status !== 204) throw new Error(`unlink answered ${unlinked.status}`);
    });

    // Leave every person linked, then log in through Госуслуги from fresh browsers.
    for (const [index, browser] of browsers.entries())
      expectRedirect(await linkThrough(browser, PERSONS[index]), /gosuslugi=linked/);
    const login = await flowsPerSecond(8, FLOW_SECONDS, async (worker) => {
      const browser = new Browser(service.base);
      const callback = await throughStandIn(browser, '/auth/gosuslugi/login', PERSONS[worker % 5]);
      expectRedirect(await browser.get(callback), /^\/(account)?(\?|$)/);
    });

    const row = (scenario: string, flows: number, extra: string): Row => ({
      scenario,
      ratio: flows / providerOnly,
      target: '—',
      figure: `${flows.toFixed(1)} flows/s vs ${providerOnly.toFixed(1)} stand-in round trips/s`,
      extra,
    });
    return [
      row('gu-login', login, 'fresh browser each time, 8 at once'),
      row('gu-link', link, 'each followed by an unlink; 5 persons at once'),
    ];
  } finally {
    await stopService(service);
  }
}

/** A Browser carrying a cookie header as the API login answered it. */
function browserWith(base: string, cookie: string): Browser {
  const browser = new Browser(base);
  for (const pair of cookie.split('; ')) {
    const index = pair.indexOf('=');
    browser.cookies.set(pair.slice(0, index), pair.slice(index + 1));
  }
  return browser;
}

/**
 * 8. The OpenID Provider's authorization-code round trip with a live session, as a first-party
 * application signs a person in who is already signed in here: authorize (one redirect, no page:
 * our session and the provider's are live) → code → token (client_secret_basic, PKCE S256) →
 * UserInfo; 8 loops at once, each its own browser with the operator's session cookie, a warm-up
 * trip first (it makes the provider's session, through our interaction page). Next to the no-op
 * at concurrency 64 measured just before; CPU per round trip from /proc.
 */
async function oidcCode(service: Service, env: NodeJS.ProcessEnv, cookie: string): Promise<Row> {
  const created = JSON.parse(
    await run(
      [
        'dist/cli.js',
        'client:create',
        '--name',
        'Электронный дневник (bench)',
        '--redirect-uri',
        'https://diary.bench.invalid/callback',
        '--first-party',
        '--json',
      ],
      env,
    ),
  ) as { client: { clientId: string }; clientSecret: string };
  const clientId = created.client.clientId;
  const redirectUri = 'https://diary.bench.invalid/callback';
  const basic = `Basic ${Buffer.from(
    `${encodeURIComponent(clientId)}:${encodeURIComponent(created.clientSecret)}`,
  ).toString('base64')}`;
  const WORKERS = 8;
  const browsers = Array.from({ length: WORKERS }, () => browserWith(service.base, cookie));
  let hops = 0;
  const roundTrip = async (browser: Browser) => {
    const verifier = randomBytes(32).toString('base64url');
    const state = randomBytes(16).toString('base64url');
    let next = `/oidc/auth?${new URLSearchParams({
      client_id: clientId,
      response_type: 'code',
      scope: 'openid profile',
      redirect_uri: redirectUri,
      state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString()}`;
    for (let hop = 0; !next.startsWith(redirectUri); hop++) {
      if (hop > 8) throw new Error('authorization did not reach the client');
      const response = await browser.get(next);
      hops += 1;
      const refresh = /^0;url=(.+)$/.exec(response.headers.get('refresh') ?? '');
      if (response.status === 200 && refresh) next = refresh[1];
      else next = Browser.location(response);
      await response.body?.cancel();
    }
    const callback = new URL(next);
    if (callback.searchParams.get('state') !== state)
      throw new Error(`authorization answered ${callback.search}`);
    const token = await fetch(`${service.base}/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code') ?? '',
        redirect_uri: redirectUri,
        code_verifier: verifier,
      }),
    });
    if (token.status !== 200) throw new Error(`token endpoint answered ${token.status}`);
    const { access_token: accessToken } = (await token.json()) as { access_token: string };
    const userinfo = await fetch(`${service.base}/oidc/me`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    if (userinfo.status !== 200) throw new Error(`UserInfo answered ${userinfo.status}`);
    await userinfo.body?.cancel();
  };
  // Warm-up: each browser gets the provider's session (through our interaction page).
  for (const browser of browsers) await roundTrip(browser);
  const noOp = await load({
    url: `${service.base}/health/live`,
    connections: 64,
    duration: LOAD_SECONDS,
  });
  hops = 0;
  let trips = 0;
  const before = cpuSnapshot(service.child.pid!);
  const perSecond = await flowsPerSecond(WORKERS, FLOW_SECONDS, async (worker) => {
    await roundTrip(browsers[worker]);
    trips += 1;
  });
  const cpu = cpuPerOperation(before, cpuSnapshot(service.child.pid!), trips);
  const requests = (hops / trips + 2) * perSecond;
  return {
    scenario: 'oidc-code',
    ratio: perSecond / noOp.requests.average,
    target: '—',
    figure: `${perSecond.toFixed(1)} round trips/s (${requests.toFixed(0)} req/s) vs ${noOp.requests.average.toFixed(0)} no-op req/s`,
    extra:
      `${(hops / trips).toFixed(1)} authorization request(s) a trip, ${WORKERS} at once; CPU per round trip: ` +
      `event loop ${cpu.eventLoop} ms, thread pool ${cpu.threadPool} ms, GC ${cpu.garbageCollector} ms, ` +
      `other threads ${cpu.otherThreads} ms, PostgreSQL ${cpu.postgres} ms`,
  };
}

const BULK = 10_000;
/**
 * The slow mail server part: fewer members, each message answered BENCH_SLOW_SMTP_MS later (4 s by
 * default, a mail server under load): throughput is then bounded by the SMTP connections
 * (MAIL_SMTP_CONNECTIONS) divided by that delay, not by the service.
 */
const SLOW_BULK = 100;
const SLOW_SMTP_MS = Number(process.env.BENCH_SLOW_SMTP_MS ?? 4000);
if (!Number.isInteger(SLOW_SMTP_MS) || SLOW_SMTP_MS <= 0)
  throw new Error(`BENCH_SLOW_SMTP_MS must be a positive number of milliseconds`);
/** A sink that takes no message for this long while some are still due: the outbox is stuck. */
const DELIVERY_STALL_MS = 120_000;

/**
 * Every one of `count` additions must be answered 201: a refusal (403 for a caller without the
 * admin area, 429 for a daily cap) or a lost request would make the rate that of something else.
 */
function assertAllCreated(added: autocannon.Result, count: number): void {
  const statuses = Object.entries(added.statusCodeStats ?? {})
    .map(([status, stats]) => `${status}×${stats.count ?? 0}`)
    .join(', ');
  const created = added.statusCodeStats?.['201']?.count ?? 0;
  if (created !== count || added.errors > 0 || added.timeouts > 0)
    throw new Error(
      `${created} of ${count} additions answered 201 (statuses ${statuses || 'none'}; ` +
        `${added.errors} errors, ${added.timeouts} timeouts)`,
    );
}

/** 5. Members added through the API until the outbox has handed every invitation to SMTP. */
async function bulkInvitation(
  service: Service,
  sink: Awaited<ReturnType<typeof smtpSink>>,
  accessToken: string,
  organizationId: string,
  count = BULK,
  label = 'bulk',
): Promise<Row> {
  const run = randomBytes(3).toString('hex');
  let next = 0;
  const started = performance.now();
  const before = sink.delivered();
  const added = await load({
    url: `${service.base}/api/v1/pos/organizations/${organizationId}/members`,
    connections: 16,
    amount: count,
    requests: [
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${accessToken}`,
        },
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({
            email: `bench.${run}.${next++}@school.example.ru`,
            lastName: 'Нагрузочная',
            firstName: 'Проверка',
            roles: ['executor'],
          }),
        }),
      },
    ],
  });
  const apiSeconds = (performance.now() - started) / 1000;
  assertAllCreated(added, count);
  let progress = { delivered: sink.delivered(), at: Date.now() };
  while (sink.delivered() - before < count) {
    if (sink.delivered() !== progress.delivered)
      progress = { delivered: sink.delivered(), at: Date.now() };
    if (Date.now() - progress.at > DELIVERY_STALL_MS)
      throw new Error(
        `the outbox stopped: ${sink.delivered() - before} of ${count} invitations at SMTP`,
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const totalSeconds = (performance.now() - started) / 1000;
  const mailsPerSecond = count / totalSeconds;
  const slow = sink.state.delayMs > 0;
  return {
    scenario: label,
    ratio: null,
    target: '—',
    figure:
      `${count} members in ${apiSeconds.toFixed(1)} s (${(count / apiSeconds).toFixed(0)}/s); ` +
      `every mail at SMTP after ${totalSeconds.toFixed(1)} s (${mailsPerSecond.toFixed(slow ? 2 : 1)} mails/s)`,
    extra:
      `API p99 ${added.latency.p99} ms` +
      (slow ? `; the sink answers each message after ${sink.state.delayMs} ms` : ''),
  };
}

/**
 * A local SMTP server that takes every message and counts it; with `delayMs` set it answers each
 * message that much later, as a slow mail server does.
 */
async function smtpSink() {
  let delivered = 0;
  const state = { delayMs: 0 };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData: (stream, _session, callback) => {
      stream.on('end', () => {
        setTimeout(() => {
          delivered += 1;
          callback();
        }, state.delayMs);
      });
      stream.resume();
    },
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `smtp://127.0.0.1:${port}`,
    delivered: () => delivered,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** 4. The ПОС report over a generated tree. */
async function report(
  service: Service,
  databaseUrl: string,
  accessToken: string,
  root: string,
): Promise<{ row: Row; details: Record<string, number> }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const generatedAt = performance.now();
  await generateTree(client, { id: root, path: `/${root}/` }, SHAPE);
  const generationMs = performance.now() - generatedAt;
  const counts = await client.query<{ organizations: string; accounts: string }>(
    'select (select count(*) from pos_organizations) as organizations, (select count(*) from pos_memberships) as accounts',
  );
  await client.end();
  const organizations = Number(counts.rows[0].organizations);
  const once = async () => {
    const started = performance.now();
    const response = await fetch(
      `${service.base}/api/v1/pos/organizations/${root}/connection-status`,
      {
        headers: { authorization: `Bearer ${accessToken}` },
      },
    );
    // Only 200 with a row per organisation is the report: a refusal is not measured.
    if (response.status !== 200)
      throw new Error(`report answered ${response.status}: ${await response.text()}`);
    const body = (await response.json()) as unknown[];
    if (body.length !== organizations)
      throw new Error(`report of ${body.length} rows, ${organizations} organisations`);
    return performance.now() - started;
  };
  for (let i = 0; i < 3; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await once());
  times.sort((a, b) => a - b);
  const median = Math.round(percentileOf(times, 50));
  const p95 = Math.round(percentileOf(times, 95));
  return {
    row: {
      scenario: 'report',
      ratio: null,
      target: '< 300 ms',
      figure: `median ${median} ms, p95 ${p95} ms over ${RUNS} runs`,
      extra: `${organizations} organisations, ${counts.rows[0].accounts} accounts (tree made in ${Math.round(generationMs)} ms)`,
    },
    details: {
      organizations,
      accounts: Number(counts.rows[0].accounts),
      medianMs: median,
      p95Ms: p95,
    },
  };
}

/** The Node.js options of package.json's `start` script (`node <options> dist/main.js`). */
function startFlags(): string {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const start = /^node\s+(.*?)\s*dist\/main\.js$/.exec(scripts.start);
  if (!start) throw new Error(`package.json start is not "node … dist/main.js": ${scripts.start}`);
  return start[1];
}

function selectedScenarios(): Set<Scenario> {
  const asked = process.argv.slice(2).filter((arg) => arg !== '--');
  for (const name of asked)
    if (!SCENARIOS.includes(name as Scenario))
      throw new Error(`unknown scenario ${name}; known: ${SCENARIOS.join(', ')}`);
  return new Set((asked.length > 0 ? asked : SCENARIOS) as Scenario[]);
}

async function main(): Promise<void> {
  const selected = selectedScenarios();
  const db = await database();
  benchPostmaster = db.postmasterPid;
  const sink = await smtpSink();
  let service: Service | undefined;
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
      OIDC_COOKIE_KEYS: randomBytes(32).toString('base64url'),
      PERSONAL_DATA_KEY: randomBytes(32).toString('base64url'),
      GOSUSLUGI_PROFILE: 'oidc',
      GOSUSLUGI_ISSUER: 'https://idp.bench.invalid',
      GOSUSLUGI_CLIENT_ID: 'bench',
      GOSUSLUGI_CLIENT_SECRET: 'bench-secret',
      SMTP_URL: sink.url,
      MAIL_FROM: 'no-reply@identity-link.bench.invalid',
      LOG_LEVEL: 'warn',
      // The bench calls from one address far more often than a real client may.
      THROTTLE_LIMIT: '100000000',
      THROTTLE_SIGNED_IN_LIMIT: '100000000',
      THROTTLE_AUTH_LIMIT: '100000000',
      THROTTLE_LOGIN_LIMIT: '100000000',
      // One organisation gets every bulk invitation (10,000 and more in a run), past a day's cap.
      INVITATIONS_PER_ORG_PER_DAY: '100000000',
      ...(process.env.UV_THREADPOOL_SIZE && { UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE }),
    };
    await run(['dist/migrate.js', 'up'], env);
    const operatorAccount = operatorCredentials(
      await run(['dist/cli.js', 'operator:create', '--login', 'bench.operator', '--json'], env),
      'bench.operator',
    );
    const created = await run(
      ['dist/cli.js', 'org:create', '--name', 'Регион', '--kind', 'authority'],
      env,
    );
    const rootId = /id ([0-9a-f-]{36})/.exec(created)![1];

    const profile = process.env.BENCH_PROFILE
      ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE]
      : [];
    // Node.js options of the service under test: those `npm start` runs it with, unless
    // BENCH_NODE_FLAGS names others (an empty BENCH_NODE_FLAGS: none).
    const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? startFlags()).split(/\s+/).filter(Boolean);
    service = await startService(env, [...nodeFlags, ...profile]);
    const memory: Record<string, Memory> = { afterStart: await service.eventLoop.memory() };
    const rssAfterStart = rssMiB(service.child.pid);
    // The storm and the authenticated requests are those of an ordinary account: an operator's
    // password login needs a code as well. The ПОС administration (bulk invitation, the report)
    // is the operator's, signed in with a second factor (bench/operator.ts).
    const person = { login: 'bench.person', password: 'Bench#Person2026' };
    const registered = await fetch(`${service.base}/api/v1/accounts`, json(person));
    if (!registered.ok) throw new Error(`registering ${person.login}: ${registered.status}`);
    const login = await fetch(`${service.base}/api/v1/auth/login`, json(person));
    if (!login.ok) throw new Error(`logging in ${person.login}: ${login.status}`);
    const { accessToken } = (await login.json()) as { accessToken: string };
    const cookie = login.headers
      .getSetCookie()
      .map((line) => line.split(';')[0])
      .join('; ');
    const operator =
      selected.has('bulk-invitation') || selected.has('report')
        ? await BenchOperator.signIn(service.base, operatorAccount)
        : undefined;

    const rows: Row[] = [];
    const details: Record<string, unknown> = {};
    const line = (row: Row) =>
      `${row.scenario.padEnd(13)}  ${(row.ratio === null ? '—' : row.ratio.toFixed(2)).padEnd(5)}  ${row.target.padEnd(6)}  ${row.figure}; ${row.extra}`;
    // Each row as soon as it is measured (a long run still shows what it has), the table at the end.
    const add = (...measured: Row[]) => {
      for (const row of measured) console.error(`measured: ${line(row)}`);
      rows.push(...measured);
    };
    if (selected.has('login-storm')) add(await loginStorm(service, person));
    const rssAfterStorm = rssMiB(service.child.pid);
    // A second storm: memory that grew in the first must not keep growing (a leak, an unbounded cache).
    if (selected.has('login-storm')) {
      memory.afterStorm = await service.eventLoop.memory();
      add(await loginStorm(service, person, 'login-storm-2'));
      memory.afterSecondStorm = await service.eventLoop.memory();
    }
    const rssAfterSecondStorm = rssMiB(service.child.pid);
    if (selected.has('authenticated'))
      add(...(await authenticated(service, { cookie, accessToken })));
    if (selected.has('gosuslugi')) add(...(await gosuslugi(db.url)));
    if (selected.has('bulk-invitation')) {
      add(await bulkInvitation(service, sink, await operator!.accessToken(), rootId));
      // A slow mail server: throughput is the SMTP connections (4 by default,
      // MAIL_SMTP_CONNECTIONS) divided by its delay per message.
      sink.state.delayMs = SLOW_SMTP_MS;
      add(
        await bulkInvitation(
          service,
          sink,
          await operator!.accessToken(),
          rootId,
          SLOW_BULK,
          'bulk-slow-smtp',
        ),
      );
      sink.state.delayMs = 0;
    }
    if (selected.has('cli')) add(await cliWallTime(env));
    if (selected.has('members-page')) add(await membersPage(service.base, db.url, rootId));
    if (selected.has('oidc-code')) add(await oidcCode(service, env, cookie));
    if (selected.has('report')) {
      const measured = await report(service, db.url, await operator!.accessToken(), rootId);
      add(measured.row);
      details.report = measured.details;
    }
    if (selected.has('frameworks')) add(...(await frameworks(service)));
    add({
      scenario: 'cold-start',
      ratio: null,
      target: '—',
      figure: `${service.coldStartMs} ms to /health/ready`,
      extra: `RSS ${rssAfterStart} MiB after start, ${rssAfterStorm} MiB after the storm, ${rssAfterSecondStorm} MiB after a second storm, ${rssMiB(service.child.pid)} MiB at the end`,
    });

    memory.atEnd = await service.eventLoop.memory();
    console.log('\nscenario       ratio  target  figure');
    for (const row of rows) console.log(line(row));
    console.log('\nmemory, MiB');
    for (const [when, measured] of Object.entries(memory))
      console.log(`${when.padEnd(17)} ${memoryLine(measured)}`);
    const result = {
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpu: cpus()[0]?.model,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        threadPool: threadPoolSize(),
      },
      database: process.env.DATABASE_URL ? 'DATABASE_URL server' : 'embedded PostgreSQL',
      scenarios: rows.map((row) => ({
        ...row,
        ratio: row.ratio === null ? null : Number(row.ratio.toFixed(2)),
      })),
      coldStart: {
        toReadyMs: service.coldStartMs,
        rssAfterStartMiB: rssAfterStart,
        rssAfterStormMiB: rssAfterStorm,
        rssAfterSecondStormMiB: rssAfterSecondStorm,
      },
      memory,
      ...details,
    };
    await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
    await writeFile(
      join(ROOT, 'bench', 'results', 'latest.json'),
      JSON.stringify(result, null, 2) + '\n',
    );
  } finally {
    await stopService(service);
    await sink.close();
    await db.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
