import './thread-pool.js';
import 'reflect-metadata';
import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type Logger } from 'pino';
import { generatePassword, OperatorsService } from './pos/operators.service.js';
import { AppModule } from './app.module.js';
import { configureApp, httpAdapter } from './app.setup.js';
import { createRootLogger } from './common/logger.js';
import { WiringAtDebug } from './common/nest-logger.js';
import { PinoNestLogger } from './common/request-logging.js';
import { releaseStartupMemory } from './common/startup-memory.js';
import { lowerThreadPoolPriority } from './common/thread-pool-priority.js';
import { threadPoolSize } from './common/thread-pool-size.js';
import { ConfigError, loadConfig, type AppConfig } from './config/app-config.js';
import {
  migrateUp,
  pendingMigrations,
  resolveDatabase,
  type ResolvedDatabase,
} from './database/database.js';
import { ENTITIES } from './entities.js';

/**
 * What may follow the drain: the workers' stop (pg-boss waits up to 5 s for a job in hand), the
 * pool, the embedded cluster. Past the drain timeout plus this, the process exits regardless.
 */
const SHUTDOWN_AFTER_DRAIN_MS = 10_000;

async function bootstrap(config: AppConfig): Promise<void> {
  const logger = createRootLogger(config);
  // What has started so far, for a signal that comes while the service starts.
  const started: { app?: INestApplication; database?: ResolvedDatabase } = {};
  // SIGTERM/SIGINT: stop taking requests, finish those in flight, stop the workers, close the
  // pool (GracefulShutdown and Nest's hooks), then the embedded cluster, then exit. Listened for
  // from the start, so that a signal while the service starts stops what has started.
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    // Ctrl+C under `npm start` arrives twice (the terminal's and npm's own forward), and an
    // orchestrator may repeat its signal: one shutdown, bounded by its deadline.
    if (stopping) {
      logger.info({ signal }, 'already shutting down');
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadlineMs = config.shutdown.drainTimeoutMs + SHUTDOWN_AFTER_DRAIN_MS;
    // A hook that hangs (a worker that ignores its stop, a pool that never closes) must not keep
    // the process past what the orchestrator grants it; unref'd so it never holds the process.
    setTimeout(() => {
      logger.error({ signal, deadlineMs }, 'shutdown did not finish in time: exiting');
      process.exit(1);
    }, deadlineMs).unref();
    Promise.resolve(started.app?.close())
      .then(() => started.database?.embedded?.stop())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, shutdown);

  // The embedded cluster waits for the shutdown above rather than stopping on the signal itself.
  const database = await resolveDatabase(config, logger, { stopOnSignal: false });
  started.database = database;
  if (config.isProduction) {
    // Production schema changes are a deliberate step (`npm run migrate`), never a side effect.
    const pending = await pendingMigrations(database.url, logger, ENTITIES);
    if (pending.length > 0)
      throw new Error(`pending migrations (${pending.join(', ')}): run "npm run migrate" first`);
  } else {
    const applied = await migrateUp(database.url, logger, ENTITIES);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  }

  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot({ config, logger, databaseUrl: database.url }),
    httpAdapter(config),
    { bufferLogs: true, bodyParser: false },
  );
  started.app = app;
  app.useLogger(new WiringAtDebug(app.get(PinoNestLogger)));
  configureApp(app, config);
  // A signal while Nest was starting found no app to close: it is stopping the rest already.
  if (stopping) return;
  // Nest's module hooks (the pool, the workers, the session listener), the routes and Fastify's
  // plugins are all started here rather than by listen(), so that the collection below also
  // takes what they left behind: some 5 MiB more of the resident memory after start.
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  if (stopping) return;
  // Everything is loaded and wired: what starting up left behind goes back to the system before
  // the first request (a collection of a few hundred milliseconds, once).
  // A saving, never a reason not to start: a V8 without its gc extension only costs memory.
  try {
    logger.info(releaseStartupMemory(), 'start-up memory released');
  } catch (error) {
    logger.warn({ err: error }, 'start-up memory not released');
  }
  // Where configured, argon2id's threads yield the cores to the event loop; a service that cannot
  // lower them runs as with THREAD_POOL_NICE=0.
  if (config.threadPoolNice > 0) {
    const { nice, expected, lowered, problems } = await lowerThreadPoolPriority(threadPoolSize(), {
      nice: config.threadPoolNice,
    });
    if (problems.length === 0)
      logger.info({ threads: lowered, nice }, 'thread pool priority lowered');
    else
      logger.warn(
        { threads: lowered, expected, nice, problems },
        lowered > 0
          ? 'thread pool priority lowered on some threads only'
          : 'thread pool priority unchanged',
      );
    if (stopping) return;
  }
  // Every interface, IPv6 and IPv4, as a Node.js server listens by default (Fastify's default is
  // loopback only, where a container's published port would reach nothing).
  await app.listen(config.port, '::');
  if (config.env === 'development') await printDemoOperator(app, logger, config.logFormat);
  logger.info(
    { url: config.publicUrl, env: config.env, embeddedDatabase: Boolean(database.embedded) },
    'Identity Link is listening',
  );
}

/**
 * Development only: a platform operator to try the ПОС flow with, its password new on every
 * start (printed here, never stored in clear). Readable logs show it as one line of its own; JSON
 * logs keep login and password as fields, for a script to read.
 */
async function printDemoOperator(
  app: INestApplication,
  logger: Logger,
  format: AppConfig['logFormat'],
): Promise<void> {
  const password = generatePassword();
  try {
    await RequestContext.create(app.get(MikroORM).em, () =>
      app.get(OperatorsService).createOrReset('operator', password),
    );
  } catch (error) {
    // Someone registered the login «operator» as an ordinary account: leave it alone.
    logger.warn(
      { err: error },
      'no demo platform operator: the login «operator» belongs to an ordinary account',
    );
    return;
  }
  const announcement =
    'demo platform operator (development only; the password changes on every start)';
  if (format === 'pretty') logger.warn(`${announcement}: login operator, password ${password}`);
  else logger.warn({ login: 'operator', password }, announcement);
}

let config: AppConfig;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`Identity Link refuses to start. ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
bootstrap(config).catch((error: unknown) => {
  process.stderr.write(
    `Identity Link failed to start: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
