import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createTestDatabase } from './support/app.js';
import { runCli as cli } from './support/cli.js';

describe('the platform operator command line', () => {
  it('creates operators, organisations under a parent, lists the tree and invites the first administrator, validating like the API', async () => {
    const database = await createTestDatabase();
    try {
      // The service applies migrations on start; so does the command line outside production.
      const created = await cli(database.url, ['operator:create', '--login', 'regional.operator']);
      expect(created).toMatchObject({ code: 0 });
      expect(created.out).toMatch(
        /created platform operator regional\.operator\npassword \(shown once\): \S{20,}/,
      );
      const weak = await cli(
        database.url,
        ['operator:create', '--login', 'op2', '--password-stdin'],
        'weak\n',
      );
      expect(weak.code).toBe(2);
      expect(weak.err).toContain('password: no_digit');

      // An existing ordinary account becomes an operator only with --promote.
      const seed = new pg.Client({ connectionString: database.url });
      await seed.connect();
      await seed.query(
        `insert into users (id, login, email, status, is_platform_operator, created_at, updated_at) values (gen_random_uuid(), 'ivanova', 'ivanova@example.ru', 'active', false, now(), now())`,
      );
      await seed.end();
      const refused = await cli(database.url, ['operator:create', '--login', 'ivanova']);
      expect(refused.code).toBe(2);
      expect(refused.err).toContain('not_an_operator');
      expect(
        (await cli(database.url, ['operator:create', '--login', 'ivanova', '--promote'])).code,
      ).toBe(0);

      const body = await cli(database.url, [
        'org:create',
        '--name',
        'Управление образования',
        '--kind',
        'authority',
      ]);
      expect(body.out).toMatch(
        /created authority «Управление образования»: id [0-9a-f-]{36}, ЛКО № 100001/,
      );
      const school = await cli(database.url, [
        'org:create',
        '--name',
        'Школа № 1',
        '--kind',
        'institution',
        '--parent',
        '100001',
      ]);
      expect(school.code).toBe(0);
      const orphan = await cli(database.url, [
        'org:create',
        '--name',
        'Учреждение без органа',
        '--kind',
        'institution',
      ]);
      expect(orphan.code).toBe(2);
      expect(orphan.err).toContain('institution_needs_parent');

      const tree = await cli(database.url, ['org:tree']);
      expect(tree.out).toMatch(/^100001 {2}Управление образования .*\n {2}100002 {2}Школа № 1 /);

      const invite = await cli(database.url, [
        'admin:invite',
        '--org',
        '100002',
        '--email',
        'head@school1.example.ru',
        '--last-name',
        'Иванова',
        '--first-name',
        'Мария',
      ]);
      expect(invite.out).toContain(
        'invited head@school1.example.ru to «Школа № 1» as Администратор ЛКО',
      );
      const duplicate = await cli(database.url, [
        'admin:invite',
        '--org',
        '100001',
        '--email',
        'HEAD@school1.example.ru',
        '--last-name',
        'И',
        '--first-name',
        'М',
      ]);
      expect(duplicate.code).toBe(2);
      expect(duplicate.err).toContain('email_taken');

      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      const { rows } = await client.query<{ status: string; roles: string[]; queued: string }>(
        `select m.status, m.roles, (select count(*) from mail_messages where "to" = m.email) as queued
           from pos_memberships m where m.email = 'head@school1.example.ru'`,
      );
      const operators = await client.query<{ count: string }>(
        `select count(*) from users where is_platform_operator`,
      );
      await client.end();
      expect(rows).toEqual([{ status: 'invited', roles: ['admin'], queued: '1' }]);
      expect(operators.rows[0].count).toBe('2');
    } finally {
      await database.drop();
    }
  }, 120_000);
});
