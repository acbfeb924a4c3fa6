import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type MikroORM } from '@mikro-orm/postgresql';
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { outboxBossOptions } from '../src/mail/mail.outbox.js';
import { ormOnTestDatabase, type TestDatabase } from './support/app.js';

/** What pg's client keeps of its connection: the socket its queries go over. */
type ClientWithSocket = pg.PoolClient & { connection: { stream: NodeJS.EventEmitter } };

/** Any AsyncLocalStorage shows the context a callback runs in, as the request logging's does. */
const request = new AsyncLocalStorage<string>();

let database: TestDatabase;
let orm: MikroORM;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ orm, database, close } = await ormOnTestDatabase());
});

afterAll(async () => {
  await close?.();
});

/**
 * Has a request need one connection more than the pool holds idle, so that the pool opens one for
 * it, as it does on demand; then, outside any request, gives the context each connection's
 * socket runs its callbacks in.
 */
async function contextsOfConnections(pool: pg.Pool): Promise<string[]> {
  const before = pool.totalCount;
  await request.run('the request that opened a connection', async () => {
    const held = [];
    for (let index = 0; index <= before; index++) held.push(await pool.connect());
    for (const client of held) client.release();
  });
  expect(pool.totalCount).toBe(before + 1);

  const clients: ClientWithSocket[] = [];
  for (let index = 0; index < pool.totalCount; index++) clients.push(await pool.connect());
  try {
    return await Promise.all(
      clients.map(async (client) => {
        const seen = new Promise<string>((resolve) =>
          client.connection.stream.once('data', () => resolve(request.getStore() ?? 'no request')),
        );
        await client.query('select 1');
        return seen;
      }),
    );
  } finally {
    for (const client of clients) client.release();
  }
}

describe('the pools’ connections', () => {
  it('of the ORM do not keep the context of the request that opened them', async () => {
    const contexts = await contextsOfConnections(await orm.em.getConnection().getNativeClient());
    expect(contexts).toEqual(contexts.map(() => 'no request'));
  });

  it('of the mail outbox’s queue (pg-boss hands its options to a pg pool) do not either', async () => {
    const pool = new pg.Pool(outboxBossOptions(database.url));
    try {
      const contexts = await contextsOfConnections(pool);
      expect(contexts).toEqual(contexts.map(() => 'no request'));
    } finally {
      await pool.end();
    }
  });
});
