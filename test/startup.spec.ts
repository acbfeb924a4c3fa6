import { describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import pg from 'pg';
import { exportJWK, generateKeyPair } from 'jose';
import { freePort } from '../src/database/embedded-postgres.js';
import { createTestDatabase } from './support/app.js';
import {
  activeLogCapture,
  captureChildOutput,
  recordEnvironmentSecrets,
  recordSecret,
} from './support/log-capture.js';
import { PRODUCTION_GOSUSLUGI } from './support/production.js';
import { opensslGostKey } from './support/openssl.js';
import { shownOnPurpose } from './support/service.js';

/**
 * The service as a newcomer starts it: the real process, no DATABASE_URL. `npm test` builds
 * dist/ first (pretest), so these run against what `npm start` serves.
 */
const ROOT = new URL('..', import.meta.url).pathname;
const MAIN = join(ROOT, 'dist', 'main.js');

/** At `trace` under the file's log check, which searches every line these processes print. */
function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const level = activeLogCapture() ? 'trace' : 'info';
  return { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: level, ...extra };
}

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  recordEnvironmentSecrets(env);
  const child = spawn(command, args, {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  // In development it announces the demo operator (README): only that line may show the password.
  captureChildOutput(
    child,
    [basename(command), ...args.map((arg) => arg.replace(ROOT, ''))].join(' '),
    shownOnPurpose,
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitFor(url: string, deadline: number): Promise<Response> {
  for (;;) {
    try {
      const response = await fetch(url);
      if (response.ok) return response;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer in time`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('start-up', () => {
  it('refuses to start in production with development defaults, naming each one', async () => {
    expect(existsSync(MAIN)).toBe(true);
    const { exited, output } = run(process.execPath, [MAIN], baseEnv({ NODE_ENV: 'production' }));
    expect(await exited).toBe(1);
    expect(output()).toContain('refuses to start');
    expect(output()).toContain('DATABASE_URL is not set');
    expect(output()).toContain('TOKEN_SIGNING_KEY is not set');
    expect(output()).toContain('PUBLIC_URL is not set');
  });

  it('refuses an http PUBLIC_URL in production', async () => {
    const { exited, output } = run(
      process.execPath,
      [MAIN],
      baseEnv({
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://127.0.0.1:1/none',
        TOKEN_SIGNING_KEY: '{"kty":"EC"}',
        PUBLIC_URL: 'http://id.example.ru',
      }),
    );
    expect(await exited).toBe(1);
    expect(output()).toContain('PUBLIC_URL must use https in production');
  });

  it('`npm start` with no configuration runs embedded PostgreSQL, applies migrations and serves accounts', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'identity-link-start-'));
    const port = await freePort();
    const service = run('npm', ['start'], baseEnv({ PORT: String(port), DATA_DIR: dataDir }));
    const base = `http://127.0.0.1:${port}`;
    try {
      const ready = await waitFor(`${base}/health/ready`, Date.now() + 90_000);
      expect(await ready.json()).toMatchObject({
        status: 'ok',
        info: { database: { status: 'up' } },
      });
      expect(existsSync(join(dataDir, 'pg', 'PG_VERSION'))).toBe(true);
      expect(existsSync(join(dataDir, 'token-signing-key.jwk.json'))).toBe(true);
      // The embedded server's password and the signing key it made: never in its logs either.
      recordSecret(
        'embedded PostgreSQL password',
        (await readFile(join(dataDir, 'pg-password'), 'utf8')).trim(),
      );
      recordSecret(
        'TOKEN_SIGNING_KEY "d"',
        (
          JSON.parse(await readFile(join(dataDir, 'token-signing-key.jwk.json'), 'utf8')) as {
            d?: string;
          }
        ).d,
      );

      const registered = await fetch(`${base}/api/v1/accounts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ login: 'newcomer', password: 'Zvezda#2026x' }),
      });
      expect(registered.status).toBe(201);
      const loggedIn = await fetch(`${base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ login: 'newcomer', password: 'Zvezda#2026x' }),
      });
      expect(loggedIn.status).toBe(200);
      const { accessToken } = (await loggedIn.json()) as { accessToken: string };
      const me = await fetch(`${base}/api/v1/me`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      expect(await me.json()).toMatchObject({ login: 'newcomer' });
      const docs = await fetch(`${base}/api/docs`);
      expect(docs.status).toBe(200);
      // In development the logs are readable lines (LOG_FORMAT=pretty), not JSON; the embedded
      // server's own output goes through the same logger; Nest's wiring (a line per route) is
      // debug, not info; the demo operator's login and password are one line of their own.
      // The announcement follows the listen (and the demo operator's password hash).
      for (let waited = 0; !service.output().includes('Identity Link is listening'); waited++) {
        if (waited > 120) throw new Error(`no announcement:\n${service.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const output = service.output();
      expect(output).not.toMatch(/^\{/m);
      if (activeLogCapture())
        expect(output).toMatch(
          /^\[[\d:.]+\] DEBUG: \[embedded-postgres\] .*database system is ready to accept connections/m,
        );
      expect(output).toMatch(
        /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \[embedded-postgres\] embedded PostgreSQL is running$/m,
      );
      expect(output).not.toMatch(/INFO: \[(RouterExplorer|RoutesResolver|InstanceLoader)\]/);
      expect(output).toMatch(
        /^\[[\d:.]+\] WARN: demo platform operator \(development only; the password changes on every start\): login operator, password \S{20,}$/m,
      );
      expect(output).toMatch(/^\[[\d:.]+\] INFO: Identity Link is listening$/m);
    } finally {
      process.kill(-service.child.pid!, 'SIGTERM');
      await service.exited;
      await rm(dataDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 250 });
    }
  }, 180_000);

  it('in production refuses to start while migrations are pending; `npm run migrate` applies them; it starts with no account, no demo operator', async () => {
    const database = await createTestDatabase();
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const port = await freePort();
    const env = baseEnv({
      NODE_ENV: 'production',
      ...PRODUCTION_GOSUSLUGI,
      PORT: String(port),
      DATABASE_URL: database.url,
      PUBLIC_URL: 'https://id.school.example',
      TOKEN_SIGNING_KEY: JSON.stringify(await exportJWK(privateKey)),
    });
    try {
      const early = run(process.execPath, [MAIN], env);
      expect(await early.exited).toBe(1);
      expect(early.output()).toMatch(/pending migrations .*npm run migrate/);

      const migrate = run('npm', ['run', 'migrate'], env);
      expect(await migrate.exited).toBe(0);
      expect(migrate.output()).toContain('migrations applied');

      const service = run(process.execPath, [MAIN], env);
      try {
        const ready = await waitFor(`http://127.0.0.1:${port}/health/ready`, Date.now() + 30_000);
        expect(ready.status).toBe(200);
        // ASVS 6.3.2: no default account. The development demo operator is never made here.
        const db = new pg.Client({ connectionString: database.url });
        await db.connect();
        try {
          const { rows } = await db.query<{ count: string }>('select count(*) from users');
          expect(rows[0].count).toBe('0');
        } finally {
          await db.end();
        }
        expect(service.output()).not.toContain('demo platform operator');
      } finally {
        process.kill(-service.child.pid!, 'SIGTERM');
        await service.exited;
      }
    } finally {
      await database.drop();
    }
  }, 120_000);

  it('refuses to start with an ЕСИА certificate on an unsupported GOST parameter set, naming the set', async () => {
    const database = await createTestDatabase();
    const dataDir = await mkdtemp(join(tmpdir(), 'identity-link-start-'));
    const { certificateFile } = await opensslGostKey('0');
    try {
      const { exited, output } = run(
        process.execPath,
        [MAIN],
        baseEnv({
          PORT: String(await freePort()),
          DATA_DIR: dataDir,
          DATABASE_URL: database.url,
          GOSUSLUGI_PROFILE: 'esia',
          GOSUSLUGI_ESIA_ENV: 'dev',
          GOSUSLUGI_SIGNER: 'http',
          GOSUSLUGI_SIGNER_URL: 'http://127.0.0.1:9/sign',
          GOSUSLUGI_CERT_FILE: certificateFile,
        }),
      );
      expect(await exited).toBe(1);
      expect(output()).toContain('id-GostR3410-2001-TestParamSet');
      expect(output()).toContain('1.2.643.2.2.35.0');
    } finally {
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
