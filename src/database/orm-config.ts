import { type Logger as OrmLogger } from '@mikro-orm/core';
import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { type Level, type Logger as PinoLogger } from 'pino';
import { loggerInScope } from '../common/request-logging.js';
import { DetachedSocket } from './detached-socket.js';
import { MIGRATIONS } from './migrations/index.js';

/** The entity classes the ORM maps. */
export type OrmEntities = NonNullable<Options['entities']>;

export const MIGRATIONS_SOURCE_DIR = 'src/database/migrations';

/**
 * Routes MikroORM's own messages into the service's logger; queries at trace level, without
 * values. A line written while a request is served is on that request's logger (its `req`), so a
 * statement can be traced to the request that made it.
 */
function ormLoggerFactory(logger: PinoLogger) {
  return (): OrmLogger => {
    const write = (level: Level, fields: Record<string, unknown>, message?: string) => {
      // The root's level is every request logger's: no child is made for a line not written.
      if (!logger.isLevelEnabled(level)) return;
      loggerInScope(logger)[level]({ component: 'orm', ...fields }, message);
    };
    return {
      log: (namespace, message) => write('debug', { namespace }, message),
      error: (namespace, message) => write('error', { namespace }, message),
      warn: (namespace, message) => write('warn', { namespace }, message),
      logQuery: (context) => write('trace', { took: context.took }, context.query),
      setDebugMode: () => undefined,
      // Never 'query-params': bound values include password and session-token hashes.
      isEnabled: (namespace) => namespace === 'query' || namespace === 'info',
    };
  };
}

/**
 * How long one statement may run. PostgreSQL cancels it at `statement_timeout`; the client gives
 * up a second later on its own (`query_timeout`), because a stalled or frozen server enforces
 * nothing. A request in a transaction waits at most twice this (the statement, then its
 * ROLLBACK on the same connection) before it answers 503 `database_unavailable`.
 */
export const STATEMENT_TIMEOUT_MS = 4000;
const QUERY_TIMEOUT_MS = STATEMENT_TIMEOUT_MS + 1000;

/**
 * `entities`: the list the composition root holds (src/entities.ts), the same set in the app, the
 * command line, the migrations and the tests. `migrations`: schema changes (`npm run migrate`, the development start) may legitimately run
 * long on a big table, so they have no statement deadline.
 */
export function ormOptions(
  clientUrl: string,
  logger: PinoLogger,
  entities: OrmEntities,
  { migrations = false }: { migrations?: boolean } = {},
): Options {
  return defineConfig({
    clientUrl,
    entities,
    metadataProvider: ReflectMetadataProvider,
    extensions: [Migrator],
    // Entities are registered explicitly; no scanning of dist/ or src/.
    discovery: { warnWhenNoEntities: true },
    loggerFactory: ormLoggerFactory(logger),
    pool: { min: 0, max: 10 },
    // A database that is down, restarting or stalled fails requests quickly (503
    // database_unavailable) instead of letting them hang; the pool reconnects by itself.
    driverOptions: {
      // Connected outside the request that opens it (src/database/detached-socket.ts).
      stream: () => new DetachedSocket(),
      connectionTimeoutMillis: 5000,
      ...(!migrations && {
        statement_timeout: STATEMENT_TIMEOUT_MS,
        query_timeout: QUERY_TIMEOUT_MS,
      }),
    },
    migrations: {
      tableName: 'mikro_orm_migrations',
      migrationsList: MIGRATIONS,
      path: MIGRATIONS_SOURCE_DIR,
      pathTs: MIGRATIONS_SOURCE_DIR,
      emit: 'ts',
      transactional: true,
      allOrNothing: true,
      snapshotOnMigrate: false,
    },
    // Each request gets its own EntityManager fork, made on first use (src/database/request-context.ts).
    allowGlobalContext: false,
  });
}
