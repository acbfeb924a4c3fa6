import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type MikroORM } from '@mikro-orm/postgresql';
import type pg from 'pg';
import { PreparedStatement } from '../src/common/prepared-statement.js';
import { ormOnTestDatabase } from './support/app.js';

let orm: MikroORM;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ orm, close } = await ormOnTestDatabase());
});

afterAll(async () => {
  await close?.();
});

/**
 * Runs the statement on every connection the pool holds (at least `connections` of them) at once,
 * so each has it prepared.
 */
async function onEveryConnection(
  statement: PreparedStatement,
  pool: pg.Pool,
  connections: number,
  values: unknown[] = [1],
): Promise<Array<{ v: unknown }>> {
  const count = Math.max(connections, pool.totalCount);
  const held: pg.PoolClient[] = [];
  for (let index = 0; index < count; index++) held.push(await pool.connect());
  for (const client of held) client.release();
  expect(pool.totalCount).toBe(count);
  const answers = await Promise.all(held.map(() => statement.rows<{ v: unknown }>(orm.em, values)));
  return answers.flat();
}

describe('a prepared statement', () => {
  it('still answers after a migration changed the type of a column it returns', async () => {
    const connection = orm.em.getConnection();
    await connection.execute('create table prepared_probe (id int primary key, v int not null)');
    await connection.execute('insert into prepared_probe values (1, 42)');
    const statement = new PreparedStatement(
      'test_prepared_probe',
      () => 'select v from prepared_probe where id = ?',
    );
    const pool = await connection.getNativeClient();
    expect(await onEveryConnection(statement, pool, 4)).toEqual(
      Array(pool.totalCount).fill({ v: 42 }),
    );

    // What a migration may do while instances keep running: PostgreSQL re-plans each connection's
    // statement, and refuses a plan whose result type changed (0A000), once per connection.
    await connection.execute('alter table prepared_probe alter column v type text');

    const after = [];
    for (let index = 0; index < 4; index++)
      after.push(...(await statement.rows<{ v: unknown }>(orm.em, [1])));
    expect(after).toEqual(Array(4).fill({ v: '42' }));
    expect(await onEveryConnection(statement, pool, pool.totalCount)).toEqual(
      Array(pool.totalCount).fill({ v: '42' }),
    );
    // Each connection that refused was replaced: the statement, sent prepared and without the
    // fallback on every connection the pool now holds, runs everywhere.
    const clients: pg.PoolClient[] = [];
    for (let index = 0; index < pool.totalCount; index++) clients.push(await pool.connect());
    try {
      const direct = await Promise.all(
        clients.map((client) =>
          client.query<{ v: unknown }>({
            name: 'test_prepared_probe',
            text: 'select v from prepared_probe where id = $1',
            values: [1],
          }),
        ),
      );
      expect(direct.map((result) => result.rows[0])).toEqual(clients.map(() => ({ v: '42' })));
    } finally {
      for (const client of clients) client.release();
    }
  });

  it('writes once when its plan is refused: the refusal comes before anything runs', async () => {
    const connection = orm.em.getConnection();
    await connection.execute('create table prepared_writes (id serial primary key, v int)');
    const statement = new PreparedStatement(
      'test_prepared_writes',
      () => 'insert into prepared_writes (v) values (?) returning v',
    );
    const pool = await connection.getNativeClient();
    const before = await onEveryConnection(statement, pool, 4, [7]);
    expect(before).toEqual(before.map(() => ({ v: 7 })));
    await connection.execute('alter table prepared_writes alter column v type bigint');
    const after = [];
    for (let index = 0; index < 4; index++)
      after.push(...(await statement.rows<{ v: unknown }>(orm.em, [8])));
    // bigint comes back as text, as MikroORM's own queries return it.
    expect(after).toEqual(Array(4).fill({ v: '8' }));
    const rows = await connection.execute<Array<{ v: string; n: string }>>(
      'select v::text, count(*)::text as n from prepared_writes group by v order by v',
    );
    expect(rows).toEqual([
      { v: '7', n: String(before.length) },
      { v: '8', n: '4' },
    ]);
  });

  it('passes on any other error of its statement', async () => {
    const statement = new PreparedStatement(
      'test_prepared_missing',
      () => 'select v from prepared_missing where id = ?',
    );
    await expect(statement.rows(orm.em, [1])).rejects.toMatchObject({ code: '42P01' });
  });
});
