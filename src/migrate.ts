/**
 * `npm run migrate` — applies pending migrations to DATABASE_URL (production and CI).
 * `npm run migration:create` — diffs the entities against the migrated schema and writes a new
 * migration into src/database/migrations for review (development only).
 */
import { MikroORM } from '@mikro-orm/postgresql';
import 'reflect-metadata';
import { loadConfig } from './config/app-config.js';
import { createRootLogger } from './common/logger.js';
import { resolveDatabase, migrateUp } from './database/database.js';
import { MIGRATIONS_SOURCE_DIR, ormOptions } from './database/orm-config.js';
import { ENTITIES } from './entities.js';

async function main(command: string | undefined): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createRootLogger(config);
  const database = await resolveDatabase(config, logger);
  try {
    if (command === 'up') {
      const applied = await migrateUp(database.url, logger, ENTITIES);
      logger.info({ applied }, applied.length ? 'migrations applied' : 'database is up to date');
    } else if (command === 'create') {
      await migrateUp(database.url, logger, ENTITIES);
      const orm = await MikroORM.init(ormOptions(database.url, logger, ENTITIES));
      try {
        const result = await orm.migrator.create(MIGRATIONS_SOURCE_DIR, false, false);
        logger.info(
          { file: result.fileName },
          result.fileName
            ? 'migration written: add it to migrations/index.ts'
            : 'no schema changes',
        );
      } finally {
        await orm.close(true);
      }
    } else {
      throw new Error(`unknown command ${String(command)}: use "up" or "create"`);
    }
  } finally {
    await database.embedded?.stop();
  }
}

main(process.argv[2]).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
