import 'reflect-metadata';
import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type Logger } from 'pino';
import { generatePassword, OperatorsService } from './pos/operators.service.js';
import { Logger as PinoLogger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { configureApp } from './app.setup.js';
import { createRootLogger } from './common/logger.js';
import { ConfigError, loadConfig, type AppConfig } from './config/app-config.js';
import { migrateUp, resolveDatabase, pendingMigrations } from './database/database.js';

async function bootstrap(config: AppConfig): Promise<void> {
  const logger = createRootLogger(config);
  const database = await resolveDatabase(config, logger);
  if (config.isProduction) {
    // Production schema changes are a deliberate step (`npm run migrate`), never a side effect.
    const pending = await pendingMigrations(database.url, logger);
    if (pending.length > 0)
      throw new Error(`pending migrations (${pending.join(', ')}): run "npm run migrate" first`);
  } else {
    const applied = await migrateUp(database.url, logger);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  }

  const app = await NestFactory.create(
    AppModule.forRoot({ config, logger, databaseUrl: database.url }),
    {
      bufferLogs: true,
      bodyParser: false,
    },
  );
  app.useLogger(app.get(PinoLogger));
  configureApp(app, config);
  // SIGTERM/SIGINT: stop taking requests, finish those in flight, stop the workers, close the
  // pool (GracefulShutdown and Nest's hooks), then the embedded cluster, then exit.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      app
        .close()
        .then(() => database.embedded?.stop())
        .then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
    });
  }
  await app.listen(config.port);
  if (config.env === 'development') await printDemoOperator(app, logger);
  logger.info(
    { url: config.publicUrl, env: config.env, embeddedDatabase: Boolean(database.embedded) },
    'Identity Link is listening',
  );
}

/**
 * Development only: a platform operator to try the ПОС flow with, its password new on every
 * start (printed here, never stored in clear).
 */
async function printDemoOperator(app: INestApplication, logger: Logger): Promise<void> {
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
  logger.warn(
    { login: 'operator', password },
    'demo platform operator (development only; the password changes on every start)',
  );
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
