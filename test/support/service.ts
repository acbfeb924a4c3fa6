import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../../src/database/embedded-postgres.js';
import { createTestDatabase, type TestDatabase } from './app.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

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
 */
export async function startService(
  options: {
    /** Share another instance's database (and so its state); dropped by that instance only. */
    database?: TestDatabase;
    /** Share another instance's data directory (the token signing key). */
    dataDir?: string;
    /** The address the load balancer would publish; defaults to this instance's own. */
    publicUrl?: string;
    env?: Record<string, string>;
  } = {},
): Promise<RunningService> {
  const ownsDatabase = !options.database;
  const database: TestDatabase = options.database ?? (await createTestDatabase());
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
    DATABASE_URL: database.url,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    // A browser journey logs in many times from one address.
    THROTTLE_AUTH_LIMIT: '100000',
    ...options.env,
  };
  let output = '';
  const child: ChildProcess = spawn(process.execPath, ['dist/main.js'], { cwd: ROOT, env });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
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
      if (ready && output.includes('demo platform operator')) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const line = output.split('\n').find((entry) => entry.includes('demo platform operator'));
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
    cli: async (...args) =>
      (await run(process.execPath, ['dist/cli.js', ...args], { cwd: ROOT, env })).stdout,
  };
}
