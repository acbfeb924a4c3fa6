import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { MailMessage } from '../src/mail/mail-message.entity.js';
import { type ImportResult } from '../src/pos/import/member-import.service.js';
import { Membership, MembershipStatus } from '../src/pos/membership.entity.js';
import { Organization } from '../src/pos/organization.entity.js';
import { writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from './support/app.js';
import { runCli } from './support/cli.js';
import { type Browser } from './support/browser.js';
import { json, memberBrowser, organization } from './support/pos.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

const HEADER = 'Фамилия;Имя;Отчество;E-mail;СНИЛС;Роли;Организация';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

let t: TestApp;
let root: Organization;
let school: Organization;
let elsewhere: Organization;
let admin: Browser;

beforeAll(async () => {
  t = await startTestApp({ THROTTLE_LIMIT: '100000' }, { listen: true });
  const em = t.em();
  root = await organization(em, 'Управление образования Заречного района', null);
  school = await organization(em, 'Школа № 5', root);
  elsewhere = await organization(em, 'Управление образования Нагорного района', null);
  ({ browser: admin } = await memberBrowser(t, root, ['admin']));
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

/** The file posted as the API's body. */
function importApi(
  browser: Browser,
  organizationId: string,
  body: Buffer | string,
  options: { dryRun: boolean; type?: string },
): Promise<Response> {
  return browser.request(
    `/api/v1/pos/organizations/${organizationId}/members/import?dryRun=${options.dryRun}`,
    {
      method: 'POST',
      headers: { 'content-type': options.type ?? 'text/csv; charset=utf-8' },
      body: typeof body === 'string' ? body : new Uint8Array(body),
    },
  );
}

/** What the database holds for the import: accounts and queued mails. */
async function written(): Promise<{ memberships: number; mails: number }> {
  const em = t.em();
  return { memberships: await em.count(Membership, {}), mails: await em.count(MailMessage, {}) };
}

/** The import page's form token and organisation, from the page itself. */
async function csrfOf(browser: Browser, organizationId: string): Promise<string> {
  const html = await (await browser.get(`/pos/admin/import?org=${organizationId}`)).text();
  return /name="csrf" value="([^"]+)"/.exec(html)![1];
}

/**
 * An upload that has only begun: the headers and the first MiB of a body announced as much longer
 * (chunked, so no declared length can be refused up front), the rest never sent. Resolves with
 * the server's answer if it comes while the body is still open — it can only come that early if
 * the server answered without reading the body — and rejects after 5 s otherwise.
 */
function answerBeforeTheBody(
  path: string,
  headers: Record<string, string>,
  first: Buffer,
): Promise<{ status: number; location?: string; body: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(new URL(path, t.url), {
      method: 'POST',
      headers: { ...headers, 'transfer-encoding': 'chunked' },
    });
    const timer = setTimeout(() => {
      outgoing.destroy();
      reject(new Error('no answer within 5 s: the server waits for (and buffers) the body'));
    }, 5000);
    outgoing.on('error', () => undefined);
    outgoing.on('response', (incoming) => {
      clearTimeout(timer);
      let body = '';
      incoming.setEncoding('utf8');
      incoming.on('data', (chunk: string) => (body += chunk));
      incoming.on('end', () => {
        outgoing.destroy();
        resolve({
          status: incoming.statusCode ?? 0,
          location: incoming.headers.location,
          body,
          ms: Date.now() - started,
        });
      });
    });
    outgoing.write(first);
  });
}

const MIB = 1024 * 1024;
/** The start of a multipart form whose one field then runs on for 50 MB. */
const BOUNDARY = 'upload-boundary';
const formStart = Buffer.concat([
  Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="content"\r\n\r\n`),
  Buffer.alloc(MIB, 'A'),
]);

function multipart(fields: Record<string, string>, file?: { name: string; bytes: string }) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  if (file) form.append('file', new Blob([file.bytes], { type: 'text/csv' }), file.name);
  return form;
}

describe('ПОС: «Импорт из файла»', () => {
  it('a CSV of 1,000 rows with 20 bad ones: the dry run names each bad row and writes nothing; the import invites 980 and reports each row', async () => {
    // Addresses already live: three in this organisation, three in another one.
    const em = t.em();
    for (const i of [200, 550, 900, 300, 650, 1000])
      em.persist(
        Object.assign(new Membership(), {
          organization: em.getReference(
            Organization,
            [200, 550, 900].includes(i) ? root.id : elsewhere.id,
          ),
          email: `live.${i}@zarechye.example.ru`,
          lastName: 'Живая',
          firstName: 'Запись',
          roles: ['executor'],
          status: MembershipStatus.Invited,
        }),
      );
    await em.flush();

    // Every 50th row is bad, each in one of seven ways; the 8th row's name looks like a formula.
    const bad = new Map<number, string>();
    let inSchool = 0;
    const lines = [HEADER];
    for (let i = 1; i <= 1000; i++) {
      const row = i + 1;
      const cells = [
        i === 7 ? '=HYPERLINK("http://evil.example")' : 'Иванова',
        'Мария',
        'Петровна',
        `teacher.${i}@zarechye.example.ru`,
        '',
        i % 2 ? 'Исполнитель' : 'Исполнитель, Куратор',
        i % 3 ? '' : String(school.lkoNumber),
      ];
      const mark = (outcome: string) => bad.set(row, outcome);
      switch (i % 50 === 0 ? (i / 50) % 7 : -1) {
        case 0:
          cells[3] = 'not-an-email';
          mark('invalid_email');
          break;
        case 1:
          cells[5] = 'Директор школы';
          mark('unknown_role');
          break;
        case 2:
          cells[6] = String(elsewhere.lkoNumber);
          mark('organization_outside');
          break;
        case 3:
          cells[3] = 'teacher.1@zarechye.example.ru';
          mark('duplicate_in_file');
          break;
        case 4:
          cells[3] = `live.${i}@zarechye.example.ru`;
          cells[6] = '';
          mark('already_member');
          break;
        case 5:
          cells[4] = '112-233-445 96';
          mark('invalid_snils');
          break;
        case 6:
          cells[3] = `live.${i}@zarechye.example.ru`;
          mark('email_taken');
          break;
        default:
          if (cells[6] !== '') inSchool += 1;
      }
      lines.push(cells.map((c) => (/[;"]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(';'));
    }
    expect(bad.size).toBe(20);
    const csv = '\uFEFF' + lines.join('\r\n') + '\r\n';

    const before = await written();
    const dry = await importApi(admin, root.id, csv, { dryRun: true });
    expect(dry.status).toBe(200);
    const check = await json<ImportResult>(dry);
    // The dry run says nothing of addresses live outside the administrator's subtree (the three
    // in the other authority): the import finds them taken, as «Добавить пользователя» would.
    const checked = new Map([...bad].filter(([, outcome]) => outcome !== 'email_taken'));
    expect(checked.size).toBe(17);
    expect(check).toMatchObject({ dryRun: true, total: 1000, invited: 983, refused: 17 });
    const refused = check.rows.filter((row) => row.outcome !== 'will_invite');
    expect(new Map(refused.map((row) => [row.row, row.outcome]))).toEqual(checked);
    expect(refused.find((row) => row.outcome === 'unknown_role')!.message).toBe(
      'неизвестная роль: Директор школы',
    );
    expect(refused.find((row) => row.outcome === 'duplicate_in_file')!.message).toBe(
      'повторяется в файле: как в строке 2',
    );
    expect(await written()).toEqual(before);

    // The page: the same check (nothing written), then «Импортировать» with the checked file.
    const csrf = await csrfOf(admin, root.id);
    const page = await admin.request('/pos/admin/import', {
      method: 'POST',
      body: multipart(
        { csrf, organizationId: root.id, step: 'check' },
        { name: 'staff.csv', bytes: csv },
      ),
    });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('будут приглашены: <strong>983</strong>');
    for (const [row, outcome] of checked)
      expect(html).toContain(`data-row="${row}" data-outcome="${outcome}"`);
    expect(await written()).toEqual(before);

    const content = /name="content" value="([^"]+)"/.exec(html)![1];
    const done = await admin.request('/pos/admin/import', {
      method: 'POST',
      body: multipart({
        csrf,
        organizationId: root.id,
        step: 'import',
        content,
        fileName: 'staff.csv',
      }),
    });
    expect(done.status).toBe(200);
    const result = await done.text();
    expect(result).toContain('приглашены: <strong>980</strong>');
    const after = await written();
    expect(after.memberships - before.memberships).toBe(980);
    expect(after.mails - before.mails).toBe(980);
    const bySchool = await t.em().count(Membership, { organization: school.id });
    expect(bySchool).toBe(inSchool);

    const href = /id="import-report" href="data:text\/csv;charset=utf-8;base64,([^"]+)"/.exec(
      result,
    )![1];
    const report = Buffer.from(href, 'base64').toString('utf8');
    const reportLines = report
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n');
    expect(reportLines).toHaveLength(1001);
    expect(reportLines.filter((line) => line.endsWith(';invited'))).toHaveLength(980);
    const invalid = [...bad].find(([, outcome]) => outcome === 'invalid_email')![0];
    expect(reportLines[invalid - 1]).toMatch(/;неверный e-mail: [^;]+;invalid_email$/);
    // A name from the file cannot become a formula in the administrator's spreadsheet.
    expect(reportLines[7]).toMatch(/^8;"'=HYPERLINK\(""http:\/\/evil\.example""\)";/);

    const audit = await t
      .em()
      .find(AuditEvent, { type: 'pos.member.import', organizationId: root.id });
    expect(audit).toHaveLength(1);
    expect(audit[0].details).toMatchObject({ total: 1000, invited: 980, refused: 20 });
    const [{ count }] = await t
      .em()
      .getConnection()
      .execute<{ count: string }[]>(
        `select count(*) from audit_events where type = 'pos.member.invited' and details->>'via' = 'import'`,
      );
    expect(Number(count)).toBe(980);
  }, 600_000);

  it('reads Windows-1251 with `,` separators', async () => {
    const text =
      'Фамилия,Имя,Отчество,E-mail,Роли\r\n' +
      'Щукина,Ёлка,Юрьевна,cp1251.1@zarechye.example.ru,Руководитель\r\n' +
      'Эйхман,Жанна,,cp1251.2@zarechye.example.ru,"Исполнитель, Куратор"\r\n';
    const response = await importApi(admin, school.id, iconv.encode(text, 'win1251'), {
      dryRun: false,
      type: 'text/csv',
    });
    expect(response.status).toBe(200);
    expect(await json(response)).toMatchObject({ total: 2, invited: 2, refused: 0 });
    const member = await t
      .em()
      .findOneOrFail(Membership, { email: 'cp1251.2@zarechye.example.ru' });
    expect([member.lastName, member.firstName, member.roles]).toEqual([
      'Эйхман',
      'Жанна',
      ['executor', 'curator'],
    ]);
    expect(
      (await t.em().findOneOrFail(Membership, { email: 'cp1251.1@zarechye.example.ru' })).firstName,
    ).toBe('Ёлка');
  });

  it('reads the first sheet of an XLSX workbook', async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('Сотрудники');
    sheet.addRow(HEADER.split(';'));
    sheet.addRow([
      'Орлова',
      'Ольга',
      'Олеговна',
      'xlsx.1@zarechye.example.ru',
      '',
      'Администратор ЛКО',
      '',
    ]);
    sheet.addRow([
      'Павлов',
      'Пётр',
      '',
      'xlsx.2@zarechye.example.ru',
      '',
      'Модератор',
      Number(school.lkoNumber),
    ]);
    sheet.addRow(['Без', 'Адреса', '', 'xlsx-bad', '', 'Модератор', '']);
    workbook.addWorksheet('Второй лист').addRow(['ignored']);
    const bytes = Buffer.from(await workbook.xlsx.writeBuffer());

    const response = await importApi(admin, root.id, bytes, { dryRun: false, type: XLSX });
    expect(response.status).toBe(200);
    const result = await json<ImportResult>(response);
    expect(result).toMatchObject({ total: 3, invited: 2, refused: 1 });
    expect(result.rows.map((row) => [row.row, row.outcome])).toEqual([
      [2, 'invited'],
      [3, 'invited'],
      [4, 'invalid_email'],
    ]);
    const pavlov = await t.em().findOneOrFail(Membership, { email: 'xlsx.2@zarechye.example.ru' });
    expect(pavlov.organization.id).toBe(school.id);
  });

  it('refuses a file over 5 MB on the API as the page does (422 import_file_too_large)', async () => {
    const response = await importApi(admin, root.id, Buffer.alloc(5 * 1024 * 1024 + 1, 'a'), {
      dryRun: true,
    });
    expect(response.status).toBe(422);
    expect(await json(response)).toMatchObject({ code: 'import_file_too_large' });
  });

  it('refuses a file of 5,001 rows as a whole (422 import_too_many_rows) and writes nothing', async () => {
    const rows = Array.from(
      { length: 5001 },
      (_, i) => `Иванов;Иван;;big.${i}@zarechye.example.ru;;Исполнитель;`,
    );
    const before = await written();
    for (const dryRun of [true, false]) {
      const response = await importApi(admin, root.id, [HEADER, ...rows].join('\n'), { dryRun });
      expect(response.status).toBe(422);
      expect(await json(response)).toMatchObject({ code: 'import_too_many_rows' });
    }
    expect(await written()).toEqual(before);
  });

  it('an administrator of a school cannot import into the authority above it, nor name it in a row', async () => {
    const { browser: schoolAdmin } = await memberBrowser(t, school, ['admin']);
    const above = await importApi(
      schoolAdmin,
      root.id,
      `${HEADER}\nИванов;Иван;;scope.1@zarechye.example.ru;;Исполнитель;`,
      { dryRun: false },
    );
    expect(above.status).toBe(404);

    const file = `${HEADER}\nИванов;Иван;;scope.2@zarechye.example.ru;;Исполнитель;${root.lkoNumber}\nИванов;Иван;;scope.3@zarechye.example.ru;;Исполнитель;${root.id}`;
    const before = await written();
    const response = await importApi(schoolAdmin, school.id, file, { dryRun: false });
    expect(response.status).toBe(200);
    const result = await json<ImportResult>(response);
    expect(result.rows.map((row) => row.outcome)).toEqual([
      'organization_outside',
      'organization_outside',
    ]);
    expect(await written()).toEqual(before);
  });

  it('refuses a multipart body on the API: a cross-site form could send one (415)', async () => {
    const response = await admin.request(
      `/api/v1/pos/organizations/${root.id}/members/import?dryRun=false`,
      {
        method: 'POST',
        body: multipart(
          {},
          {
            name: 'x.csv',
            bytes: `${HEADER}\nИванов;Иван;;csrf.1@zarechye.example.ru;;Исполнитель;`,
          },
        ),
      },
    );
    expect(response.status).toBe(415);
    expect(await t.em().count(Membership, { email: 'csrf.1@zarechye.example.ru' })).toBe(0);
  });

  it('refuses a page import posted from another site before reading the file', async () => {
    const csrf = await csrfOf(admin, root.id);
    const response = await admin.request('/pos/admin/import', {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      body: multipart(
        { csrf, organizationId: root.id, step: 'import' },
        {
          name: 'x.csv',
          bytes: `${HEADER}\nИванов;Иван;;csrf.2@zarechye.example.ru;;Исполнитель;`,
        },
      ),
    });
    expect(response.status).toBe(403);
    expect(await t.em().count(Membership, { email: 'csrf.2@zarechye.example.ru' })).toBe(0);
  });

  it('the command line: --dry-run writes nothing, the import invites, a missing file exits 2', async () => {
    const file = join(tmpdir(), `import-${process.pid}.csv`);
    await writeFile(
      file,
      `${HEADER}\nКозлова;Кира;;cli.1@zarechye.example.ru;;Исполнитель;\nКозлов;Кирилл;;cli-bad;;Исполнитель;\n`,
    );
    const args = ['members:import', '--org', String(school.lkoNumber), '--file', file];
    const before = await written();
    const dry = await runCli(t.database.url, [...args, '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.out)).toMatchObject({ dryRun: true, total: 2, invited: 1, refused: 1 });
    expect(await written()).toEqual(before);

    const done = await runCli(t.database.url, args);
    expect(done.code).toBe(0);
    expect(done.out).toContain('2 rows, 1 invited, 1 refused');
    expect(done.out).toContain('row 3: cli-bad — invalid_email');
    expect(await t.em().count(Membership, { email: 'cli.1@zarechye.example.ru' })).toBe(1);

    const missing = await runCli(t.database.url, [...args.slice(0, 3), '--file', `${file}.none`]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('file_unreadable');
    const usage = await runCli(t.database.url, ['members:import', '--file', file]);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('не указан обязательный параметр --org');
  }, 120_000);

  describe('reads no upload before the caller is known to be an administrator', () => {
    it('an anonymous upload to the API is refused (401) before its body is read', async () => {
      const answer = await answerBeforeTheBody(
        `/api/v1/pos/organizations/${root.id}/members/import?dryRun=true`,
        { 'content-type': 'text/csv' },
        Buffer.alloc(MIB, 'a'),
      );
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body)).toMatchObject({ code: 'unauthenticated' });
    });

    it('an upload to the API by a member who is not an administrator is refused (403) before its body is read', async () => {
      const { browser: executor } = await memberBrowser(t, school, ['executor']);
      const answer = await answerBeforeTheBody(
        `/api/v1/pos/organizations/${school.id}/members/import?dryRun=true`,
        { 'content-type': 'text/csv', cookie: executor.cookieHeader(), origin: t.url },
        Buffer.alloc(MIB, 'a'),
      );
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body)).toMatchObject({ code: 'role_required' });
    });

    it('an anonymous upload to the page goes to the login page before its body is read', async () => {
      const answer = await answerBeforeTheBody(
        '/pos/admin/import',
        { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, origin: t.url },
        formStart,
      );
      expect(answer.status).toBe(303);
      expect(answer.location).toMatch(/^\/login\?/);
    });

    it('an upload to the page by a member who is not an administrator is refused (403) before its body is read', async () => {
      const { browser: executor } = await memberBrowser(t, school, ['executor']);
      const answer = await answerBeforeTheBody(
        '/pos/admin/import',
        {
          'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
          cookie: executor.cookieHeader(),
          origin: t.url,
          accept: 'application/json',
        },
        formStart,
      );
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body)).toMatchObject({ code: 'role_required' });
    });
  });

  it('the dry run does not tell an administrator that an address is a member outside their subtree (enumeration)', async () => {
    const em = t.em();
    for (const [email, where] of [
      ['enum.outside@nagorny.example.ru', elsewhere],
      ['enum.inside@zarechye.example.ru', school],
    ] as const)
      em.persist(
        Object.assign(new Membership(), {
          organization: em.getReference(Organization, where.id),
          email,
          lastName: 'Живая',
          firstName: 'Запись',
          roles: ['executor'],
          status: MembershipStatus.Invited,
        }),
      );
    await em.flush();
    const file = [
      HEADER,
      'Иванов;Иван;;enum.outside@nagorny.example.ru;;Исполнитель;',
      'Иванов;Иван;;enum.inside@zarechye.example.ru;;Исполнитель;',
    ].join('\n');
    const dry = await json<ImportResult>(await importApi(admin, root.id, file, { dryRun: true }));
    // Within the subtree the administrator sees the member anyway; outside it, nothing.
    expect(dry.rows.map((row) => [row.email, row.outcome])).toEqual([
      ['enum.outside@nagorny.example.ru', 'will_invite'],
      ['enum.inside@zarechye.example.ru', 'email_taken'],
    ]);
  });

  it('audits every dry run and import: who, where, the counts, and no personal data', async () => {
    const { browser: auditedAdmin, user } = await memberBrowser(t, school, ['admin']);
    const file = [
      HEADER,
      'Аудитова;Анна;;audit.1@zarechye.example.ru;;Исполнитель;',
      'Аудитова;Анна;;not-an-email;;Исполнитель;',
    ].join('\n');
    for (const dryRun of [true, false])
      expect((await importApi(auditedAdmin, school.id, file, { dryRun })).status).toBe(200);
    const events = await t
      .em()
      .find(
        AuditEvent,
        { actorUserId: user.id, type: { $like: 'pos.member.import%' } },
        { orderBy: { createdAt: 'asc' } },
      );
    expect(events.map((event) => [event.type, event.organizationId])).toEqual([
      ['pos.member.import_checked', school.id],
      ['pos.member.import', school.id],
    ]);
    for (const event of events) {
      expect(event.details).toMatchObject({ total: 2, invited: 1, refused: 1 });
      const details = JSON.stringify(event.details);
      for (const personal of ['@', 'Аудитова', 'Анна']) expect(details).not.toContain(personal);
    }
  });

  it('offers the template with Russian headers', async () => {
    const response = await admin.get('/pos/admin/import/template.csv');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    const text = await response.text();
    expect(text.replace(/^\uFEFF/, '').split('\r\n')[0]).toBe(HEADER);
  });
});
