import 'reflect-metadata';
import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { type INestApplicationContext, type Provider } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { pino } from 'pino';
import { createRootLogger } from '../common/logger.js';
import { ConfigError, loadConfig } from '../config/app-config.js';
import { migrateUp, resolveDatabase } from '../database/database.js';
import { MIGRATIONS } from '../database/migrations/index.js';
import { ENTITIES } from '../entities.js';
import { CliModule } from './cli.module.js';
import { CliFailure } from './output.js';

export interface CommandNeeds {
  /** The services the command calls and what they inject (see CliModule). */
  providers?: Provider[];
  /** Whether it queues mail. */
  mail?: boolean;
  /** --migrate: apply pending migrations first. */
  migrate?: boolean;
}

/**
 * Runs `work` in a Nest application context holding only what the command needs, inside a
 * RequestContext (the services use the request-scoped EntityManager, as under the API).
 *
 * What it does not do, so that a command costs little more than loading Nest and the ORM (about
 * 2 s of CPU on the bench machine, against 4 s before; `npm run bench -- cli`): no HTTP server, no
 * feature modules, no mail workers, no migrations unless asked (one query checks that none is
 * pending). Without DATABASE_URL (development) it starts the embedded cluster under
 * DATA_DIR, or shares the one a running `npm start` owns, and applies pending migrations there as
 * `npm start` does: that costs the cluster's start (seconds) when nothing runs it yet.
 */
export async function withContext<T>(
  needs: CommandNeeds,
  work: (context: INestApplicationContext, orm: MikroORM) => Promise<T>,
): Promise<T> {
  let config;
  try {
    config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliFailure(1, 'configuration', error.message);
    throw error;
  }
  // Logs go to stderr: stdout carries the command's result only (one JSON object with --json).
  const logger = createRootLogger(config, pino.destination({ fd: 2, sync: true }));
  const database = await resolveDatabase(config, logger);
  try {
    if (needs.migrate || database.embedded) {
      const applied = await migrateUp(database.url, logger, ENTITIES);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    }
    // Loaded only for a command that queues mail: pg-boss and nodemailer are many modules.
    const imports = needs.mail
      ? [(await import('../mail/mail.module.js')).MailModule.forRoot(database.url, false)]
      : [];
    const context = await NestFactory.createApplicationContext(
      CliModule.forCommand({
        config,
        logger,
        databaseUrl: database.url,
        providers: needs.providers ?? [],
        imports,
      }),
      { logger: false, abortOnError: false },
    );
    try {
      const orm: MikroORM = context.get(MikroORM);
      await refuseIfPending(orm);
      return await RequestContext.create(orm.em, () => work(context, orm));
    } finally {
      await context.close();
    }
  } finally {
    await database.embedded?.stop();
  }
}

/** One query instead of the migrator's start: names in the table against the compiled list. */
async function refuseIfPending(orm: MikroORM): Promise<void> {
  const connection = orm.em.getConnection();
  const [{ present }] = await connection.execute<{ present: string | null }[]>(
    `select to_regclass('mikro_orm_migrations')::text as present`,
  );
  const applied = present
    ? new Set(
        (await connection.execute<{ name: string }[]>('select name from mikro_orm_migrations')).map(
          (row) => row.name,
        ),
      )
    : new Set<string>();
  const pending = MIGRATIONS.map((migration) => migration.name).filter(
    (name) => !applied.has(name),
  );
  if (pending.length > 0)
    throw new CliFailure(
      1,
      'pending_migrations',
      `в базе данных не применены миграции (${pending.length}: ${pending.join(', ')}); ` +
        'выполните npm run migrate или повторите команду с --migrate',
    );
}
