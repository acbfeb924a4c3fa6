import { type EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { type INestApplication } from '@nestjs/common';
import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type DestinationStream } from 'pino';
import { AppModule } from '../../src/app.module.js';
import { configureApp, httpAdapter } from '../../src/app.setup.js';
import { createRootLogger } from '../../src/common/logger.js';
import { PinoNestLogger } from '../../src/common/request-logging.js';
import { loadConfig, type AppConfig } from '../../src/config/app-config.js';
import { migrateUp } from '../../src/database/database.js';
import { ormOptions } from '../../src/database/orm-config.js';
import { ENTITIES } from '../../src/entities.js';
import { freePort } from '../../src/database/embedded-postgres.js';
import { activeLogCapture, captureDestination, recordSecretsLayer } from './log-capture.js';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.IL_TEST_ADMIN_URL;
  if (!url)
    throw new Error(
      'IL_TEST_ADMIN_URL is not set: integration specs run under the integration project',
    );
  return url;
}

/** A fresh, empty database on the run's PostgreSQL, dropped by `drop()`. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `il_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl() });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

/**
 * The service's ORM (its own options: pool, timeouts, type parsers) on a fresh, empty database,
 * without the app: for specs of the database layer. `close()` closes the ORM and drops the database.
 */
export async function ormOnTestDatabase(): Promise<{
  orm: MikroORM;
  database: TestDatabase;
  close: () => Promise<void>;
}> {
  const database = await createTestDatabase();
  try {
    const orm = await MikroORM.init(
      ormOptions(database.url, createRootLogger({ logLevel: 'silent' }), ENTITIES),
    );
    return {
      orm,
      database,
      close: async () => {
        await orm.close(true);
        await database.drop();
      },
    };
  } catch (error) {
    await database.drop();
    throw error;
  }
}

export interface TestApp {
  app: INestApplication;
  http: ReturnType<INestApplication['getHttpServer']>;
  config: AppConfig;
  /** The service's base URL (PUBLIC_URL); real only when started with `listen: true`. */
  url: string;
  database: TestDatabase;
  /** A fresh EntityManager for assertions against the database. */
  em(): EntityManager;
  close(): Promise<void>;
}

/**
 * The service as main.ts builds it (same module, same HTTP set-up) on its own migrated database.
 * `env` overrides configuration the way environment variables would.
 */
export async function startTestApp(
  env: Record<string, string> = {},
  options: {
    listen?: boolean;
    logDestination?: DestinationStream;
    /** An existing database (one deployment restarted with other settings); not dropped at close. */
    database?: TestDatabase;
  } = {},
): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase());
  const dataDir = await mkdtemp(join(tmpdir(), 'identity-link-data-'));
  // A listening app knows its own address up front: the Госуслуги stand-in's issuer is PUBLIC_URL-based.
  const port = options.listen ? await freePort() : undefined;
  const network = port ? { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` } : {};
  // A spec file with a log capture (test/support/log-check.ts) logs everything into it.
  const capture = activeLogCapture();
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: capture ? 'trace' : 'silent',
    DATA_DIR: dataDir,
    ...network,
    // CI's server run also puts the throttling counters in the running Redis.
    ...(process.env.REDIS_URL && { REDIS_URL: process.env.REDIS_URL }),
    ...env,
    DATABASE_URL: database.url,
  });
  const logger = createRootLogger(
    config,
    capture ? captureDestination(capture, options.logDestination) : options.logDestination,
  );
  await migrateUp(database.url, logger, ENTITIES);
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot({ config, logger, databaseUrl: database.url })],
  }).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(httpAdapter(config), {
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(PinoNestLogger));
  configureApp(app, config, capture ? { firstLayer: recordSecretsLayer } : {});
  try {
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    if (port) await app.listen(port, '127.0.0.1');
  } catch (error) {
    // A start that fails half way still holds pools, listeners and workers: against a database
    // server they would keep Jest from ever exiting. Close what started, then report the failure.
    await app.close().catch(() => undefined);
    if (!options.database) await database.drop().catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const orm = app.get(MikroORM);
  return {
    app,
    http: app.getHttpServer(),
    config,
    url: config.publicUrl,
    database,
    em: () => orm.em.fork(),
    close: async () => {
      await app.close();
      if (!options.database) await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
