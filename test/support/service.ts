import { expect } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/database/embedded-postgres.js';
import { createTestDatabase, type TestDatabase } from './app.js';
import { Browser } from './browser.js';
import { runCliWith } from './cli.js';
import { STRONG_PASSWORD, uniqueLogin } from './http.js';
import {
  activeLogCapture,
  captureChildOutput,
  mailedLinkTokens,
  recordEnvironmentSecrets,
  recordSecret,
} from './log-capture.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const DEMO_OPERATOR = 'demo platform operator';
const DEVELOPMENT_MAIL = 'development mail to ';

/**
 * What the development service prints on purpose, as README says: the demo operator's password
 * when it announces the operator, and the links of a mail the development mailbox received.
 */
export function shownOnPurpose(line: string): { what: string; secret: string }[] {
  // Readable logs (LOG_FORMAT=pretty, `npm start` in development) print it as one line.
  const pretty = new RegExp(`${DEMO_OPERATOR} .*: login \\S+, password (\\S+)$`).exec(line);
  if (pretty) return [{ what: 'the demo operator password', secret: pretty[1] }];
  if (!line.startsWith('{')) return [];
  let entry: { msg?: unknown; password?: unknown; context?: unknown };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    return [];
  }
  if (typeof entry.msg !== 'string') return [];
  if (entry.msg.startsWith(DEMO_OPERATOR) && typeof entry.password === 'string')
    return [{ what: 'the demo operator password', secret: entry.password }];
  if (entry.context === 'MailOutbox' && entry.msg.startsWith(DEVELOPMENT_MAIL))
    return mailedLinkTokens(entry.msg).map((secret) => ({ what: 'mailed link token', secret }));
  return [];
}

const NO_DATABASE_YET: TestDatabase = { url: '', drop: async () => {} };

/** The embedded cluster a service started under `dataDir` (src/database/embedded-postgres.ts). */
async function embeddedDatabase(dataDir: string): Promise<TestDatabase> {
  const password = (await readFile(join(dataDir, 'pg-password'), 'utf8')).trim();
  recordSecret('embedded PostgreSQL password', password);
  // postmaster.pid: the port on line 4.
  const port = (await readFile(join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[3];
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/identity_link`;
  // The service stops its own cluster, and the data goes with the data directory.
  return { url, drop: async () => {} };
}

export interface RunningService {
  /** Where this instance listens (its PUBLIC_URL may be another's, as behind a load balancer). */
  url: string;
  publicUrl: string;
  database: TestDatabase;
  dataDir: string;
  child: ChildProcess;
  /** The development demo operator that the service printed on start. */
  operator: { login: string; password: string };
  /** The operator's command line (`npm run cli -- …`) against the same database. */
  cli(...args: string[]): Promise<string>;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * The service the way `npm start` runs it: the built `dist/main.js` in development mode (the
 * Госуслуги stand-in, the development mailbox, the demo operator), on its own database and port.
 * `npm test` builds first; run `npm run build` before running these specs on their own.
 *
 * In a spec file with a log check (test/support/log-check.ts) it logs at `trace`, and its stdout
 * and stderr, and those of its `cli()` runs, go into the file's capture.
 */
export async function startService(
  options: {
    /** Share another instance's database (and so its state); dropped by that instance only. */
    database?: TestDatabase;
    /**
     * No DATABASE_URL, as `npm start` with no configuration: the embedded cluster under the data
     * directory, started and stopped by the service itself.
     */
    embeddedDatabase?: boolean;
    /** Share another instance's data directory (the token signing key). */
    dataDir?: string;
    /** The address the load balancer would publish; defaults to this instance's own. */
    publicUrl?: string;
    /**
     * A process group of its own, as a job started in a terminal: `process.kill(-child.pid, …)`
     * then signals it and every child in its group at once, as Ctrl+C does.
     */
    processGroup?: boolean;
    env?: Record<string, string>;
  } = {},
): Promise<RunningService> {
  const ownsDatabase = !options.database && !options.embeddedDatabase;
  let database: TestDatabase =
    options.database ?? (options.embeddedDatabase ? NO_DATABASE_YET : await createTestDatabase());
  const ownsDataDir = !options.dataDir;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'identity-link-service-')));
  const port = await freePort();
  const url = `http://localhost:${port}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'development',
    PORT: String(port),
    PUBLIC_URL: options.publicUrl ?? url,
    DATABASE_URL: options.embeddedDatabase ? undefined : database.url,
    DATA_DIR: dataDir,
    LOG_LEVEL: activeLogCapture() ? 'trace' : 'info',
    // Read as JSON lines below (the demo operator, the log capture).
    LOG_FORMAT: 'json',
    // A browser journey logs in many times from one address.
    THROTTLE_AUTH_LIMIT: '100000',
    ...options.env,
  };
  recordEnvironmentSecrets(env);
  let output = '';
  const child: ChildProcess = spawn(process.execPath, ['dist/main.js'], {
    cwd: ROOT,
    env,
    detached: options.processGroup ?? false,
  });
  captureChildOutput(child, `dist/main.js :${port}`, shownOnPurpose);
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // 'close' rather than 'exit': the last lines it wrote have been read by then.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await closed;
    if (ownsDatabase) await database.drop();
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the service exited:\n${output}`);
      if (Date.now() > deadline) throw new Error(`the service did not become ready:\n${output}`);
      const ready = await fetch(`${url}/health/ready`).then(
        (response) => response.ok,
        () => false,
      );
      if (ready && output.includes(DEMO_OPERATOR)) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  if (options.embeddedDatabase) database = await embeddedDatabase(dataDir);
  const line = output.split('\n').find((entry) => entry.includes(DEMO_OPERATOR));
  const printed = JSON.parse(line ?? '{}') as { login: string; password: string };
  const operator = { login: printed.login, password: printed.password };
  return {
    url,
    publicUrl: env.PUBLIC_URL!,
    database,
    dataDir,
    child,
    operator,
    logs: () => output,
    stop,
    cli: async (...args) => {
      const result = await runCliWith(env, args);
      if (result.code !== 0)
        throw new Error(`cli ${args.join(' ')} exited with ${result.code}:\n${result.err}`);
      return result.out;
    },
  };
}

/** Registrations with an address: each sends one «confirm your address» message. */
export async function registerWithMail(
  on: RunningService,
  count: number,
  tag: string,
): Promise<string[]> {
  const addresses: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const login = uniqueLogin(tag);
    const email = `${login}@example.ru`;
    const response = await new Browser(on.url).postJson('/api/v1/accounts', {
      login,
      password: STRONG_PASSWORD,
      email,
    });
    expect(response.status).toBe(201);
    addresses.push(email);
  }
  return addresses;
}
