import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MikroORM } from '@mikro-orm/postgresql';
import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';
import { createRootLogger } from '../src/common/logger.js';
import { ormOptions } from '../src/database/orm-config.js';
import { ENTITIES } from '../src/entities.js';
import { createTestDatabase, type TestDatabase } from './support/app.js';

/** What pg's client keeps of its connection: the socket its queries go over. */
type ClientWithSocket = pg.PoolClient & { connection: { stream: NodeJS.EventEmitter } };

/** Any AsyncLocalStorage shows the context a callback runs in, as the request logging's does. */
const request = new AsyncLocalStorage<string>();

let database: TestDatabase;
let orm: MikroORM;

beforeAll(async () => {
  database = await createTestDatabase();
  orm = await MikroORM.init(
    ormOptions(database.url, createRootLogger({ logLevel: 'silent' }), ENTITIES),
  );
});

afterAll(async () => {
  await orm?.close(true);
  await database?.drop();
});

describe('the pool’s connections', () => {
  it('do not keep the context of the request that opened them', async () => {
    const pool = await orm.em.getConnection().getNativeClient();
    const before = pool.totalCount;
    // A request needs one connection more than the pool has idle, so the pool opens one for it,
    // as the service's pool does on demand.
    await request.run('the request that opened a connection', async () => {
      const held = [];
      for (let index = 0; index <= before; index++) held.push(await pool.connect());
      for (const client of held) client.release();
    });
    expect(pool.totalCount).toBe(before + 1);

    // Later, outside any request: every connection, and the context its socket's callbacks run in.
    const clients = [] as ClientWithSocket[];
    for (let index = 0; index < pool.totalCount; index++) clients.push(await pool.connect());
    try {
      const seen = await Promise.all(
        clients.map(async (client) => {
          const data = new Promise((resolve) =>
            client.connection.stream.once('data', () =>
              resolve(request.getStore() ?? 'no request'),
            ),
          );
          await client.query('select 1');
          return data;
        }),
      );
      expect(seen).toEqual(clients.map(() => 'no request'));
    } finally {
      for (const client of clients) client.release();
    }
  });
});
