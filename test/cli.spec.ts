import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createTestDatabase } from './support/app.js';
import { runCli as cli } from './support/cli.js';

/** A database address where nothing listens: usage must not need one. */
const NO_DATABASE = 'postgres://postgres@127.0.0.1:9/nothing_here';
const COMMANDS = [
  'org:create',
  'org:tree',
  'admin:invite',
  'operator:create',
  'user:block',
  'user:archive',
  'user:unblock',
  'user:mfa-reset',
  'sessions:end-all',
  'client:create',
  'client:list',
  'client:rotate-secret',
  'client:disable',
  'members:import',
];

describe('the command line explains itself and refuses bad usage with exit code 2', () => {
  it('`--help` prints Russian usage with every command, without touching the database', async () => {
    const help = await cli(NO_DATABASE, ['--help']);
    expect(help).toMatchObject({ code: 0, err: '' });
    expect(help.out).toMatch(/^Использование: npm run cli -- <команда> \[параметры\]/);
    expect(help.out).toContain('Командная строка оператора платформы');
    for (const command of COMMANDS) expect(help.out).toMatch(new RegExp(`^  ${command} +\\S`, 'm'));
    expect(help.out).toContain('Коды выхода');
    // `help <command>` is the same as `<command> --help`.
    const viaHelp = await cli(NO_DATABASE, ['help', 'org:create']);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.out).toContain('Использование: npm run cli -- org:create [параметры]');
  });

  it('`<command> --help` lists each option with its description and the common --json and --migrate', async () => {
    const help = await cli(NO_DATABASE, ['org:create', '--help']);
    expect(help).toMatchObject({ code: 0, err: '' });
    expect(help.out).toContain('Использование: npm run cli -- org:create [параметры]');
    expect(help.out).toContain('создать организацию');
    expect(help.out).toMatch(/--name <название> +полное название организации \(обязательный\)/);
    expect(help.out).toMatch(/--kind <вид> +authority — орган управления образованием/);
    expect(help.out).toMatch(/--parent <id или № ЛКО> +вышестоящая организация/);
    expect(help.out).toMatch(/--json +вывести результат одним объектом JSON/);
    expect(help.out).toMatch(/--migrate +сначала применить недостающие миграции/);
    for (const command of COMMANDS) {
      const each = await cli(NO_DATABASE, [command, '--help']);
      expect(each.code).toBe(0);
      expect(each.out).toContain(`npm run cli -- ${command} [параметры]`);
      expect(each.out).not.toMatch(/\[options\]|display help|default:/);
    }
  }, 120_000);

  it('an unknown command exits 2 with the program usage on stderr', async () => {
    const unknown = await cli(NO_DATABASE, ['org:delete', '--name', 'x']);
    expect(unknown.code).toBe(2);
    expect(unknown.out).toBe('');
    expect(unknown.err).toMatch(/^ошибка: неизвестная команда org:delete/);
    expect(unknown.err).toContain('Использование: npm run cli -- <команда> [параметры]');
    expect(unknown.err).toContain('sessions:end-all');
    // The old answer to --help, an unknown command of that name, is gone; no command at all is usage too.
    const none = await cli(NO_DATABASE, []);
    expect(none.code).toBe(2);
    expect(none.err).toContain('Использование: npm run cli -- <команда> [параметры]');
  });

  it('a bad or missing option exits 2 with the command usage on stderr', async () => {
    const unknownOption = await cli(NO_DATABASE, ['org:tree', '--all']);
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.out).toBe('');
    expect(unknownOption.err).toMatch(/^ошибка: неизвестный параметр --all/);
    expect(unknownOption.err).toContain('Использование: npm run cli -- org:tree [параметры]');

    const missing = await cli(NO_DATABASE, ['user:block']);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^ошибка: не указан обязательный параметр --login <логин>/);
    expect(missing.err).toContain('Использование: npm run cli -- user:block [параметры]');

    const noValue = await cli(NO_DATABASE, ['sessions:end-all', '--reason']);
    expect(noValue.code).toBe(2);
    expect(noValue.err).toMatch(/^ошибка: у параметра --reason <причина> нет значения/);

    const alone = await cli(NO_DATABASE, [
      'operator:create',
      '--login',
      'x',
      '--reset-credentials',
    ]);
    expect(alone.code).toBe(2);
    expect(alone.err).toMatch(/^ошибка: --reset-credentials указывается только вместе с --promote/);
    expect(alone.err).toContain('Использование: npm run cli -- operator:create [параметры]');
  });

  it('a database without its migrations is refused (exit 1) unless --migrate is given; --json answers one JSON object', async () => {
    const database = await createTestDatabase();
    try {
      const refused = await cli(database.url, ['org:tree']);
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(/^pending_migrations: в базе данных не применены миграции/);
      expect(refused.err).toContain('--migrate');

      const empty = await cli(database.url, ['org:tree', '--migrate', '--json']);
      expect(empty).toMatchObject({ code: 0, err: '' });
      expect(JSON.parse(empty.out)).toEqual({ organizations: [] });

      const created = await cli(database.url, [
        'org:create',
        '--name',
        'Управление образования',
        '--kind',
        'authority',
        '--json',
      ]);
      expect(created.code).toBe(0);
      const { organization } = JSON.parse(created.out) as { organization: { id: string } };
      expect(organization).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        lkoNumber: '100001',
        name: 'Управление образования',
        kind: 'authority',
        parentId: null,
      });
      const tree = await cli(database.url, ['org:tree', '--json']);
      expect(JSON.parse(tree.out)).toEqual({ organizations: [{ ...organization, depth: 0 }] });

      // A refusal by the service's validation: still exit 2, and one JSON object with the code.
      const invalid = await cli(database.url, [
        'org:create',
        '--name',
        'Школа',
        '--kind',
        'school',
        '--json',
      ]);
      expect(invalid.code).toBe(2);
      expect(JSON.parse(invalid.out)).toMatchObject({
        error: { code: 'validation_failed', errors: { kind: [expect.anything()] } },
      });
      expect(invalid.err).toContain('validation_failed');

      const unknownUser = await cli(database.url, ['user:block', '--login', 'nobody', '--json']);
      expect(unknownUser.code).toBe(2);
      expect(JSON.parse(unknownUser.out)).toMatchObject({ error: { code: expect.any(String) } });
    } finally {
      await database.drop();
    }
  }, 120_000);
});

describe('the platform operator command line', () => {
  it('creates operators, organisations under a parent, lists the tree and invites the first administrator, validating like the API', async () => {
    const database = await createTestDatabase();
    try {
      // A fresh database: the command line applies the migrations when asked to.
      const created = await cli(database.url, [
        'operator:create',
        '--login',
        'regional.operator',
        '--migrate',
      ]);
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
