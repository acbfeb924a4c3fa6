// Jest loads global set-up outside the ESM loader and its module mapper, hence the .ts paths.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRootLogger } from '../../src/common/logger.ts';
import {
  startEmbeddedPostgres,
  type EmbeddedDatabase,
} from '../../src/database/embedded-postgres.ts';

declare global {
  var __embeddedTestDatabase: EmbeddedDatabase | undefined;
}

/**
 * One PostgreSQL for the run: the server at DATABASE_URL when set, otherwise a throwaway embedded
 * cluster on a free port. Each spec file then creates its own database on it (test/support/app.ts).
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env.IL_TEST_ADMIN_URL = process.env.DATABASE_URL;
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'identity-link-test-'));
  const embedded = await startEmbeddedPostgres({
    dir,
    persistent: false,
    logger: createRootLogger({ logLevel: 'warn' }),
  });
  globalThis.__embeddedTestDatabase = embedded;
  process.env.IL_TEST_ADMIN_URL = embedded.url;
}
