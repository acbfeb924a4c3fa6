import { describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { secretDigest } from '../src/common/secrets.js';
import { createTestDatabase } from './support/app.js';
import { runCli as cli, runCliWith } from './support/cli.js';

/** A database address where nothing listens: usage must not need one. */
const NO_DATABASE = 'postgres://postgres@127.0.0.1:9/nothing_here';

interface ClientRow {
  client_id: string;
  name: string;
  public: boolean;
  secret_hash: string | null;
  disabled_at: Date | null;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('the platform operator registers OpenID Connect clients from the command line', () => {
  it('`client:create --help` and the other client commands print Russian usage without a database', async () => {
    const help = await cli(NO_DATABASE, ['client:create', '--help']);
    expect(help).toMatchObject({ code: 0, err: '' });
    expect(help.out).toContain('Использование: npm run cli -- client:create [параметры]');
    // commander wraps descriptions to the terminal's width: compare with the spaces folded.
    const text = help.out.replace(/\s+/g, ' ');
    expect(text).toContain('client_secret — он показывается один раз');
    expect(text).toMatch(/--name <название> +название приложения.*\(обязательный\)/);
    expect(text).toMatch(/--redirect-uri <адрес> +адрес возврата после входа/);
    expect(text).toMatch(/--post-logout-redirect-uri <адрес> +адрес возврата после выхода/);
    expect(text).toMatch(/--backchannel-logout-uri <адрес> +адрес/);
    expect(text).toMatch(/--public +публичное приложение/);
    expect(text).toMatch(/--first-party +приложение самой платформы/);
    expect(text).toMatch(/--acr <уровень> +обязательный способ входа: gosuslugi/);
    expect(text).toMatch(/--json +вывести результат одним объектом JSON/);
    expect(help.out).not.toMatch(/\[options\]|display help|default:/);

    const missing = await cli(NO_DATABASE, ['client:create', '--name', 'Дневник']);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^ошибка: не указан обязательный параметр --redirect-uri <адрес>/);
    const noClient = await cli(NO_DATABASE, ['client:disable']);
    expect(noClient.code).toBe(2);
    expect(noClient.err).toMatch(/^ошибка: не указан обязательный параметр --client <client_id>/);
  });

  it('creates confidential and public clients, lists them, rotates a secret and disables a client; bad URIs exit 2 in Russian', async () => {
    const database = await createTestDatabase();
    try {
      // A confidential client: its secret printed once, only its SHA-256 in the table.
      const diary = await cli(database.url, [
        'client:create',
        '--name',
        'Электронный дневник',
        '--redirect-uri',
        'https://diary.example/callback',
        '--redirect-uri',
        'https://diary.example/callback2',
        '--post-logout-redirect-uri',
        'https://diary.example/',
        '--backchannel-logout-uri',
        'https://diary.example/backchannel',
        '--first-party',
        '--migrate',
      ]);
      expect(diary).toMatchObject({ code: 0, err: '' });
      expect(diary.out).toMatch(
        /^зарегистрировано конфиденциальное приложение «Электронный дневник»\n/,
      );
      const clientId = /^client_id: ([0-9a-f-]{36})$/m.exec(diary.out)![1];
      const secretLines = diary.out.split('\n').filter((line) => line.startsWith('client_secret:'));
      expect(secretLines).toHaveLength(1);
      const secret = /^client_secret: (\S{43})$/.exec(secretLines[0])![1];
      expect(diary.out).toContain('Секрет показан один раз');
      expect(diary.out.split(secret)).toHaveLength(2);

      const [stored] = await query<ClientRow>(
        database.url,
        `select * from oidc_clients where client_id = '${clientId}'`,
      );
      expect(stored).toMatchObject({
        name: 'Электронный дневник',
        public: false,
        first_party: true,
        redirect_uris: ['https://diary.example/callback', 'https://diary.example/callback2'],
        post_logout_redirect_uris: ['https://diary.example/'],
        backchannel_logout_uri: 'https://diary.example/backchannel',
        secret_hash: secretDigest(secret),
        disabled_at: null,
      });
      expect(JSON.stringify(stored)).not.toContain(secret);

      // A public client (--json): no secret at all.
      const app = await cli(database.url, [
        'client:create',
        '--name',
        'Приложение школы',
        '--redirect-uri',
        'http://127.0.0.1:5173/callback',
        '--public',
        '--acr',
        'gosuslugi',
        '--json',
      ]);
      expect(app).toMatchObject({ code: 0, err: '' });
      const created = JSON.parse(app.out) as {
        client: { clientId: string };
        clientSecret: unknown;
      };
      expect(created).toEqual({
        client: expect.objectContaining({
          name: 'Приложение школы',
          public: true,
          firstParty: false,
          requiredAcr: 'gosuslugi',
          redirectUris: ['http://127.0.0.1:5173/callback'],
          disabled: false,
        }),
        clientSecret: null,
      });
      expect(app.out).not.toContain('secretHash');
      const publicId = created.client.clientId;
      const [publicRow] = await query<ClientRow>(
        database.url,
        `select * from oidc_clients where client_id = '${publicId}'`,
      );
      expect(publicRow).toMatchObject({ public: true, secret_hash: null });

      // The list shows both, as a table for a person and as one JSON object.
      const list = await cli(database.url, ['client:list']);
      expect(list).toMatchObject({ code: 0, err: '' });
      const rows = list.out.trimEnd().split('\n');
      expect(rows[0]).toMatch(/^client_id +название +тип +своё +отключено +адреса возврата$/);
      expect(rows[1]).toMatch(
        new RegExp(
          `^${clientId} +Электронный дневник +конфиденциальное +да +нет +https://diary\\.example/callback https://diary\\.example/callback2$`,
        ),
      );
      expect(rows[2]).toMatch(
        new RegExp(
          `^${publicId} +Приложение школы +публичное +нет +нет +http://127\\.0\\.0\\.1:5173/callback$`,
        ),
      );
      expect(list.out).not.toContain(secret);
      const listed = JSON.parse((await cli(database.url, ['client:list', '--json'])).out) as {
        clients: { clientId: string; public: boolean }[];
      };
      expect(listed.clients.map((c) => [c.clientId, c.public])).toEqual([
        [clientId, false],
        [publicId, true],
      ]);

      // The commands' context is the ORM, audit and ClientsService: the HTTP provider
      // (oidc-provider) is never loaded. A resolve hook reports what the command imports;
      // @nestjs/core shows the hook at work.
      const hooks = await mkdtemp(join(tmpdir(), 'cli-clients-'));
      try {
        const hook = join(hooks, 'report.mjs');
        await writeFile(
          hook,
          `import { registerHooks } from 'node:module';
registerHooks({ resolve(specifier, context, next) {
  if (specifier === 'oidc-provider' || specifier === '@nestjs/core')
    process.stderr.write('resolved ' + specifier + '\\n');
  return next(specifier, context);
} });
`,
        );
        const traced = await runCliWith(
          {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            NODE_ENV: 'test',
            DATABASE_URL: database.url,
            SMTP_URL: 'smtp://127.0.0.1:9',
            NODE_OPTIONS: `--import ${hook}`,
          },
          ['client:list', '--json'],
        );
        expect(traced.code).toBe(0);
        expect(traced.err).toContain('resolved @nestjs/core');
        expect(traced.err).not.toContain('resolved oidc-provider');
      } finally {
        await rm(hooks, { recursive: true, force: true });
      }

      // Rotation: a new secret printed once; the old one no longer matches the stored hash.
      const rotated = await cli(database.url, ['client:rotate-secret', '--client', clientId]);
      expect(rotated).toMatchObject({ code: 0, err: '' });
      const newSecret = /^client_secret: (\S{43})$/m.exec(rotated.out)![1];
      expect(newSecret).not.toBe(secret);
      expect(rotated.out).toContain('Секрет показан один раз');
      const [afterRotation] = await query<ClientRow>(
        database.url,
        `select secret_hash from oidc_clients where client_id = '${clientId}'`,
      );
      expect(afterRotation.secret_hash).toBe(secretDigest(newSecret));
      expect(afterRotation.secret_hash).not.toBe(secretDigest(secret));
      const publicRotation = await cli(database.url, [
        'client:rotate-secret',
        '--client',
        publicId,
      ]);
      expect(publicRotation.code).toBe(2);
      expect(publicRotation.err).toContain('public_client: У публичного приложения нет секрета');

      // Disabling: the list says so.
      const disabled = await cli(database.url, ['client:disable', '--client', publicId]);
      expect(disabled).toMatchObject({ code: 0, err: '' });
      expect(disabled.out).toContain(`приложение «Приложение школы» (${publicId}) отключено`);
      const afterDisable = await cli(database.url, ['client:list']);
      expect(afterDisable.out).toMatch(
        new RegExp(`^${publicId} +Приложение школы +публичное +нет +да, \\d{4}-`, 'm'),
      );
      expect(afterDisable.out).toMatch(new RegExp(`^${clientId} .* +нет +https://diary`, 'm'));
      const unknown = await cli(database.url, ['client:disable', '--client', 'nope', '--json']);
      expect(unknown.code).toBe(2);
      expect(JSON.parse(unknown.out)).toEqual({
        error: { code: 'client_not_found', message: 'Приложение не найдено' },
      });

      // The service's validation refuses bad URIs: exit 2, its Russian message, nothing stored.
      const http = await cli(database.url, [
        'client:create',
        '--name',
        'Дневник по http',
        '--redirect-uri',
        'http://diary.example/callback',
      ]);
      expect(http.code).toBe(2);
      expect(http.out).toBe('');
      expect(http.err).toContain(
        'redirectUris: https_required — http://diary.example/callback: нужен адрес https',
      );
      const fragment = await cli(database.url, [
        'client:create',
        '--name',
        'Дневник с фрагментом',
        '--redirect-uri',
        'https://diary.example/callback#x',
        '--json',
      ]);
      expect(fragment.code).toBe(2);
      expect(JSON.parse(fragment.out)).toMatchObject({
        error: {
          code: 'validation_failed',
          errors: {
            redirectUris: [{ code: 'fragment', message: expect.stringContaining('#фрагмент') }],
          },
        },
      });
      const acr = await cli(database.url, [
        'client:create',
        '--name',
        'Дневник',
        '--redirect-uri',
        'https://diary.example/cb',
        '--acr',
        'sms',
      ]);
      expect(acr.code).toBe(2);
      expect(acr.err).toContain('requiredAcr: unknown — Неизвестный уровень входа sms');

      // Every change audited as the command line's.
      const events = await query<{ type: string; client_id: string; via: string }>(
        database.url,
        `select type, details->>'clientId' as client_id, details->>'via' as via
           from audit_events where type like 'oidc.client.%' order by created_at, type`,
      );
      expect(events).toEqual([
        { type: 'oidc.client.created', client_id: clientId, via: 'cli' },
        { type: 'oidc.client.created', client_id: publicId, via: 'cli' },
        { type: 'oidc.client.secret_rotated', client_id: clientId, via: 'cli' },
        { type: 'oidc.client.disabled', client_id: publicId, via: 'cli' },
      ]);
      const [{ count }] = await query<{ count: string }>(
        database.url,
        'select count(*) from oidc_clients',
      );
      expect(count).toBe('2');
    } finally {
      await database.drop();
    }
  }, 120_000);
});
