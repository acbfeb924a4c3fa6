import { MikroORM } from '@mikro-orm/postgresql';
import { type Logger } from 'pino';
import { type AppConfig } from '../config/app-config.js';
import { type EmbeddedDatabase } from './embedded-postgres.js';
import { ormOptions, type OrmEntities } from './orm-config.js';

export interface ResolvedDatabase {
  url: string;
  /** Set when this process started an embedded cluster that it must stop. */
  embedded?: EmbeddedDatabase;
}

/** DATABASE_URL when given; otherwise the embedded cluster under DATA_DIR (development only). */
export async function resolveDatabase(
  config: AppConfig,
  logger: Logger,
  options: {
    /**
     * Whether an embedded cluster stops on SIGINT/SIGTERM by itself (commands) or waits for the
     * caller's stop() (the service, which drains first): see startEmbeddedPostgres.
     */
    stopOnSignal?: boolean;
  } = {},
): Promise<ResolvedDatabase> {
  if (config.databaseUrl) return { url: config.databaseUrl };
  if (config.isProduction)
    throw new Error('unreachable: production without DATABASE_URL is refused by loadConfig');
  // Loaded only here: embedded-postgres is a development dependency, absent from production images.
  const { startEmbeddedPostgres } = await import('./embedded-postgres.js');
  const embedded = await startEmbeddedPostgres({
    dir: config.dataDir,
    persistent: true,
    logger,
    stopOnSignal: options.stopOnSignal,
  });
  return { url: embedded.url, embedded };
}

/** Applies pending migrations with a short-lived ORM instance and reports what ran. */
export async function migrateUp(
  url: string,
  logger: Logger,
  entities: OrmEntities,
): Promise<string[]> {
  const applied = await withMigrator(url, logger, entities, (migrator) => migrator.up());
  return applied.map((migration) => migration.name);
}

/** Names of migrations not yet applied. */
export async function pendingMigrations(
  url: string,
  logger: Logger,
  entities: OrmEntities,
): Promise<string[]> {
  const pending = await withMigrator(url, logger, entities, (migrator) => migrator.getPending());
  return pending.map((migration) => migration.name);
}

/** One step of the migrator on an ORM instance of its own, closed whatever the step did. */
async function withMigrator<T>(
  url: string,
  logger: Logger,
  entities: OrmEntities,
  step: (migrator: MikroORM['migrator']) => Promise<T>,
): Promise<T> {
  const orm = await MikroORM.init(ormOptions(url, logger, entities, { migrations: true }));
  try {
    return await step(orm.migrator);
  } finally {
    await orm.close(true);
  }
}
