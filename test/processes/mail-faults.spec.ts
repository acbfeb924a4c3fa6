import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createRootLogger } from '../../src/common/logger.js';
import {
  type EmbeddedDatabase,
  startEmbeddedPostgres,
} from '../../src/database/embedded-postgres.js';
import { registerWithMail, type RunningService, startService } from '../support/service.js';
import { TestSmtp } from '../support/smtp.js';
import { waitUntil } from '../support/wait.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * The outbox under database and process faults, on a cluster of this spec's own (it is made
 * read-only, which the run's shared cluster must not be) and a real SMTP server.
 */
const logger = createRootLogger({ logLevel: 'silent' });
const smtp = new TestSmtp();
let dir: string;
let cluster: EmbeddedDatabase;
let service: RunningService | undefined;
let dataDir: string;
const database = () => ({ url: cluster.url, drop: async () => {} });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'identity-link-mail-fault-'));
  dataDir = await mkdtemp(join(tmpdir(), 'identity-link-mail-fault-data-'));
  cluster = await startEmbeddedPostgres({ dir, persistent: true, logger });
  await smtp.start();
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await service?.stop();
  await smtp.stop();
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
});

async function sql<R extends pg.QueryResultRow>(
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: cluster.url });
  await client.connect();
  try {
    await client.query('set default_transaction_read_only = off');
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function setReadOnly(on: boolean): Promise<void> {
  await sql(
    on
      ? 'alter system set default_transaction_read_only = on'
      : 'alter system reset default_transaction_read_only',
  );
  await sql('select pg_reload_conf()');
}

function copiesTo(address: string): number {
  return smtp.received.filter((mail) => mail.to.includes(address)).length;
}

describe('the outbox when the database fails around a send', () => {
  afterAll(async () => {
    smtp.beforeAccept = null;
    await setReadOnly(false).catch(() => undefined);
    await service?.stop();
    service = undefined;
  });

  it('does not send a message again when its sent state could not be written (database read-only during sending)', async () => {
    service = await startService({
      database: database(),
      dataDir,
      env: { SMTP_URL: smtp.url, MAIL_RETRY_DELAY: '1s' },
    });
    // The mail server accepts the first message only once every account is registered and the
    // database refuses writes: the worker hears «250 OK» and then cannot write «sent».
    let flipped = false;
    let registered!: () => void;
    const allRegistered = new Promise<void>((resolve) => (registered = resolve));
    smtp.beforeAccept = async () => {
      if (flipped) return;
      flipped = true;
      await allRegistered;
      await setReadOnly(true);
      await new Promise((resolve) => setTimeout(resolve, 300));
    };
    const addresses = await registerWithMail(service, 6, 'ro-mail');
    registered();
    await waitUntil(() => flipped, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 6000));
    await setReadOnly(false);

    // What pg-boss does to a job whose worker never settled it once its lock runs out: it goes
    // back to the queue. Done here at once rather than after the queue's expiry.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await sql(
      "update pgboss.job set state = 'retry', start_after = now() where name = 'mail-deliver' and state = 'active'",
    );

    await waitUntil(async () => {
      const rows = await sql<{ status: string }>(
        'select status from mail_messages where "to" = any($1)',
        [addresses],
      );
      return rows.length === addresses.length && rows.every((row) => row.status === 'sent');
    }, 60_000);
    // Long enough for a second copy to arrive, had one been sent.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect(addresses.map(copiesTo)).toEqual(addresses.map(() => 1));

    // Each message carries its outbox id as its Message-ID: a copy sent after a crash would be
    // recognisable as the same message.
    const rows = await sql<{ id: string; to: string }>(
      'select id, "to" from mail_messages where "to" = any($1)',
      [addresses],
    );
    for (const row of rows) {
      const mail = smtp.received.find((received) => received.to.includes(row.to));
      expect(mail?.messageId).toBe(`<${row.id}@localhost>`);
    }
  }, 120_000);
});

describe('the outbox when a worker dies mid-send', () => {
  afterAll(async () => {
    smtp.holding = false;
    await service?.stop();
    service = undefined;
  });

  it('delivers the messages a crashed worker held within a minute, each once', async () => {
    // Default retry settings: what a deployment gets.
    const env = { SMTP_URL: smtp.url };
    service = await startService({ database: database(), dataDir, env });
    smtp.holding = true;
    smtp.held = 0;
    const addresses = await registerWithMail(service, 3, 'crash-mail');
    await waitUntil(() => smtp.held >= 1, 20_000);
    service.child.kill('SIGKILL');
    await service.stop();
    const killedAt = Date.now();
    smtp.holding = false;

    // The process manager starts it again.
    service = await startService({ database: database(), dataDir, env });
    await waitUntil(() => addresses.every((address) => copiesTo(address) >= 1), 60_000);
    const deliveredAfterMs = Date.now() - killedAt;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(addresses.map(copiesTo)).toEqual(addresses.map(() => 1));
    expect(deliveredAfterMs).toBeLessThan(60_000);
  }, 150_000);
});
