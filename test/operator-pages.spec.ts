import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { type ClientInfo } from '../src/common/client-info.js';
import { PasswordCredential } from '../src/identity/password-credential.entity.js';
import { User, UserStatus } from '../src/identity/user.entity.js';
import { MailMessage } from '../src/mail/mail-message.entity.js';
import { Membership } from '../src/pos/membership.entity.js';
import { OperatorRoster } from '../src/pos/operator-roster.service.js';
import { Organization } from '../src/pos/organization.entity.js';
import { OidcClient } from '../src/provider/oidc-client.entity.js';
import { ClientsService } from '../src/provider/clients.service.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import {
  ENDED,
  login,
  register,
  sessionAnswers,
  STRONG_PASSWORD,
  uniqueLogin,
} from './support/http.js';
import { memberBrowser, openPage, operatorBrowser, organization } from './support/pos.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

/**
 * /pos/operator over HTTP: the platform operator's pages do what the command line does, through
 * the same services and audit events; nobody else gets in, and a refused form writes nothing.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp(
    { THROTTLE_LIMIT: '100000', THROTTLE_AUTH_LIMIT: '100000' },
    { listen: true },
  );
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

/** A page of the operator's and its form token. */
const open = openPage;

const events = (type: string, where: Record<string, unknown> = {}) =>
  t.em().find(AuditEvent, { type, ...where }, { orderBy: { createdAt: 'asc' } });

const organizations = () => t.em().count(Organization, {});

/** An account the page may make an operator: verified e-mail, no link, a password a day old. */
async function eligibleAccount(): Promise<{ id: string; login: string }> {
  const account = await register(t, uniqueLogin('colleague'));
  await t.em().nativeUpdate(User, { id: account.id }, { email: `${account.login}@uo.example.ru` });
  await t
    .em()
    .nativeUpdate(
      PasswordCredential,
      { user: account.id },
      { changedAt: new Date(Date.now() - 2 * 24 * 3_600_000) },
    );
  return account;
}

describe('/pos/operator: who gets in', () => {
  it('sends a browser without a session to log in', async () => {
    const response = await new Browser(t.url).get('/pos/operator');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login?returnTo=%2Fpos%2Foperator');
  });

  it('refuses an organisation administrator who is not a platform operator: 403 page, the form writes nothing', async () => {
    const org = await organization(t.em(), 'Школа № 40', null);
    const admin = await memberBrowser(t, org, ['admin']);
    const page = await admin.browser.get('/pos/operator');
    expect(page.status).toBe(403);
    expect(await page.text()).toContain('Действие доступно только оператору платформы');
    // A real form token of this browser, from a page it may open.
    const { csrf } = await open(admin.browser, '/account');
    const before = await organizations();
    const post = await admin.browser.postForm('/pos/operator/organizations', {
      csrf,
      name: 'Захваченное управление',
    });
    expect(post.status).toBe(403);
    expect(await organizations()).toBe(before);
    // Nor does the menu offer the page.
    expect(await (await admin.browser.get('/pos/admin')).text()).not.toContain('/pos/operator');
  });

  it('refuses a cross-site post and a post with another form token, writing nothing', async () => {
    const { browser } = await operatorBrowser(t);
    const { csrf } = await open(browser, '/pos/operator');
    const before = await organizations();
    const forged = await browser.postFormCrossSite('/pos/operator/organizations', {
      csrf,
      name: 'Подделанный орган',
    });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { code: string }).code).toBe('cross_origin_request');
    const stale = await browser.postForm('/pos/operator/organizations', {
      csrf: 'x'.repeat(43),
      name: 'Подделанный орган',
    });
    expect(stale.status).toBe(403);
    expect(await stale.text()).toContain('Страница устарела');
    expect(await organizations()).toBe(before);
  });
});

describe('/pos/operator: the organisation tree', () => {
  it('creates an authority and an institution under it, renames and moves them, each audited', async () => {
    const operator = await operatorBrowser(t);
    let { csrf, html } = await open(operator.browser, '/pos/operator');
    expect(html).toContain('Создать орган администрации');

    const create = async (name: string, parentId?: string) => {
      const response = await operator.browser.postForm('/pos/operator/organizations', {
        csrf,
        name,
        ...(parentId && { parentId }),
      });
      expect(response.status).toBe(303);
      return t.em().findOneOrFail(Organization, { name }, { populate: ['parent'] });
    };
    const north = await create('Управление образования Северного округа');
    const south = await create('Управление образования Южного округа');
    const school = await create('Школа № 41', north.id);
    expect(north.kind).toBe('authority');
    expect(school.kind).toBe('institution');
    expect(school.parent?.id).toBe(north.id);
    expect(
      (await events('pos.organization.created', { actorUserId: operator.id })).map(
        (e) => e.details.name,
      ),
    ).toEqual(expect.arrayContaining([north.name, south.name, school.name]));

    ({ csrf, html } = await open(operator.browser, `/pos/operator?org=${school.id}`));
    expect(html).toContain('Школа № 41');
    expect(html).toContain(`ЛКО № ${school.lkoNumber}`);
    const renamed = await operator.browser.postForm(
      `/pos/operator/organizations/${school.id}/rename`,
      { csrf, name: 'МБОУ «Школа № 41»' },
    );
    expect(renamed.status).toBe(303);
    expect((await t.em().findOneOrFail(Organization, school.id)).name).toBe('МБОУ «Школа № 41»');

    const moved = await operator.browser.postForm(`/pos/operator/organizations/${school.id}/move`, {
      csrf,
      parentId: south.id,
    });
    expect(moved.status).toBe(303);
    const after = await t.em().findOneOrFail(Organization, school.id);
    expect(after.parent?.id).toBe(south.id);
    expect(after.path).toBe(`/${south.id}/${school.id}/`);
    const updates = await events('pos.organization.updated', { organizationId: school.id });
    expect(updates.map((e) => e.details.fields)).toEqual([['name'], ['parent']]);
    expect(updates[1]).toMatchObject({
      actorUserId: operator.id,
      details: { fromParentId: north.id, toParentId: south.id },
    });
  });

  it('moves a subtree with its descendants, and refuses a move under its own subtree with a Russian message', async () => {
    const operator = await operatorBrowser(t);
    const top = await organization(t.em(), 'Администрация Заречного района', null);
    const middle = await organization(t.em(), 'Отдел образования Заречного района', top);
    const leaf = await organization(t.em(), 'Детский сад № 3', middle);
    const other = await organization(t.em(), 'Администрация Нагорного района', null);
    const { csrf } = await open(operator.browser, `/pos/operator?org=${top.id}`);

    const loop = await operator.browser.postForm(`/pos/operator/organizations/${top.id}/move`, {
      csrf,
      parentId: leaf.id,
    });
    expect(loop.status).toBe(422);
    expect(await loop.text()).toContain(
      'Нельзя перенести организацию в неё саму или в её подведомственное учреждение',
    );
    expect((await t.em().findOneOrFail(Organization, top.id)).path).toBe(top.path);

    const topLevel = await operator.browser.postForm(
      `/pos/operator/organizations/${leaf.id}/move`,
      { csrf, parentId: 'top' },
    );
    expect(topLevel.status).toBe(422);
    expect(await topLevel.text()).toContain('Учреждение создаётся под органом администрации');
    expect(await events('pos.organization.updated', { organizationId: top.id })).toEqual([]);

    const moved = await operator.browser.postForm(`/pos/operator/organizations/${middle.id}/move`, {
      csrf,
      parentId: other.id,
    });
    expect(moved.status).toBe(303);
    expect((await t.em().findOneOrFail(Organization, leaf.id)).path).toBe(
      `/${other.id}/${middle.id}/${leaf.id}/`,
    );
  });

  it('bad input gives the Russian message under the field and writes nothing', async () => {
    const operator = await operatorBrowser(t);
    const org = await organization(t.em(), 'Управление культуры', null);
    const { csrf } = await open(operator.browser, '/pos/operator');
    const before = await organizations();
    const short = await operator.browser.postForm('/pos/operator/organizations', {
      csrf,
      name: 'Уо',
    });
    expect(short.status).toBe(422);
    const html = await short.text();
    expect(html).toContain('Проверьте поля, отмеченные ниже');
    expect(html).toMatch(/id="create-name-error"><li>[А-Яа-я]/);
    expect(await organizations()).toBe(before);

    const invite = await operator.browser.postForm(`/pos/operator/organizations/${org.id}/invite`, {
      csrf,
      email: 'не адрес',
      lastName: 'Орлова',
      firstName: 'Вера',
    });
    expect(invite.status).toBe(422);
    expect(await invite.text()).toMatch(/id="email-error"><li>[А-Яа-я]/);
    expect(await t.em().count(Membership, { organization: org.id })).toBe(0);
    expect(await events('pos.member.invited', { organizationId: org.id })).toEqual([]);
  });

  it('invites the first administrator through the outbox, audited', async () => {
    const operator = await operatorBrowser(t);
    const org = await organization(t.em(), 'Управление спорта', null);
    const { csrf } = await open(operator.browser, `/pos/operator?org=${org.id}`);
    const email = `head.${process.pid}@sport.example.ru`;
    const response = await operator.browser.postForm(
      `/pos/operator/organizations/${org.id}/invite`,
      { csrf, email, lastName: 'Орлова', firstName: 'Вера', middleName: '', position: 'Начальник' },
    );
    expect(response.status).toBe(303);
    expect(Browser.location(response)).toContain('notice=invited');
    const member = await t.em().findOneOrFail(Membership, { email });
    expect(member).toMatchObject({ roles: ['admin'], status: 'invited', invitedBy: operator.id });
    expect(await t.em().count(MailMessage, { to: email })).toBe(1);
    expect(await events('pos.member.invited', { organizationId: org.id })).toEqual([
      expect.objectContaining({ actorUserId: operator.id }),
    ]);
  });
});

describe('/pos/operator: operators', () => {
  it('adds an existing account as an operator, refuses one someone else could have prepared, removes one, audited', async () => {
    const operator = await operatorBrowser(t);
    const { csrf, html } = await open(operator.browser, '/pos/operator?tab=operators');
    expect(html).toContain('Добавить оператора');

    const fresh = await register(t, uniqueLogin('fresh'));
    const refused = await operator.browser.postForm('/pos/operator/operators', {
      csrf,
      login: fresh.login,
    });
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain('пароль задан меньше суток назад');
    expect((await t.em().findOneOrFail(User, fresh.id)).isPlatformOperator).toBe(false);
    expect(
      await events('pos.operator.promotion_refused', { actorUserId: operator.id }),
    ).toHaveLength(1);

    const colleague = await eligibleAccount();
    const device = await login(t, { login: colleague.login, password: STRONG_PASSWORD });
    const added = await operator.browser.postForm('/pos/operator/operators', {
      csrf,
      login: colleague.login,
    });
    expect(added.status).toBe(303);
    expect((await t.em().findOneOrFail(User, colleague.id)).isPlatformOperator).toBe(true);
    // A session opened before the promotion does not carry the operator's powers.
    expect(await sessionAnswers(t, device)).toEqual(ENDED);
    expect(await events('pos.operator.created', { targetUserId: colleague.id })).toEqual([
      expect.objectContaining({
        actorUserId: operator.id,
        details: expect.objectContaining({ via: 'web' }),
      }),
    ]);

    const self = await operator.browser.postForm(`/pos/operator/operators/${operator.id}/remove`, {
      csrf,
    });
    expect(self.status).toBe(409);
    expect((await t.em().findOneOrFail(User, operator.id)).isPlatformOperator).toBe(true);

    const removed = await operator.browser.postForm(
      `/pos/operator/operators/${colleague.id}/remove`,
      { csrf },
    );
    expect(removed.status).toBe(303);
    expect((await t.em().findOneOrFail(User, colleague.id)).isPlatformOperator).toBe(false);
    expect(await events('pos.operator.removed', { targetUserId: colleague.id })).toHaveLength(1);
  });

  it('two operators removing each other at the same moment leave one', async () => {
    await t.em().nativeUpdate(User, { isPlatformOperator: true }, { isPlatformOperator: false });
    const [a, b] = await Promise.all([operatorBrowser(t), operatorBrowser(t)]);
    const roster = t.app.get(OperatorRoster);
    const em = t.em();
    const [userA, userB] = await Promise.all([
      em.findOneOrFail(User, a.id),
      em.findOneOrFail(User, b.id),
    ]);
    const client: ClientInfo = { ip: '127.0.0.1', userAgent: 'test', requestId: 'r' };
    const results = await Promise.allSettled([
      roster.revoke(userA, b.id, client),
      roster.revoke(userB, a.id, client),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({
      reason: { code: 'last_operator' },
    });
    expect(await t.em().count(User, { isPlatformOperator: true })).toBe(1);
  });
});

describe('/pos/operator: users', () => {
  it('finds accounts by login, ФИО or e-mail, twenty at a time', async () => {
    const operator = await operatorBrowser(t);
    const prefix = `poisk${process.pid}`;
    for (let i = 0; i < 23; i += 1) await register(t, `${prefix}.${String(i).padStart(2, '0')}`);
    const named = await register(t, uniqueLogin('named'));
    await t
      .em()
      .nativeUpdate(
        User,
        { id: named.id },
        { lastName: 'Прохорова', firstName: 'Алла', email: `alla.${process.pid}@mail.example.ru` },
      );

    const first = await open(operator.browser, `/pos/operator?tab=users&q=${prefix}`);
    expect(first.html.match(/data-user="/g)).toHaveLength(20);
    const next = /href="([^"]+after=[^"]+)"/.exec(first.html)![1].replaceAll('&amp;', '&');
    const second = await open(operator.browser, next);
    expect(second.html.match(/data-user="/g)).toHaveLength(3);
    expect(second.html).toContain(`${prefix}.22`);
    expect(second.html).not.toContain(`${prefix}.00`);

    for (const q of ['Прохорова Алла', `alla.${process.pid}@`, named.login]) {
      const found = await open(
        operator.browser,
        `/pos/operator?tab=users&q=${encodeURIComponent(q)}`,
      );
      expect({ q, rows: found.html.match(/data-user="/g)?.length }).toEqual({ q, rows: 1 });
    }
    // A wildcard typed into the search is a character, not a pattern.
    const wildcard = await open(operator.browser, '/pos/operator?tab=users&q=%25');
    expect(wildcard.html).toContain('Никого не найдено');
  });

  it('blocks, unblocks and archives an account and ends all its sessions, each audited', async () => {
    const operator = await operatorBrowser(t);
    const person = await register(t, uniqueLogin('teacher'));
    const { csrf } = await open(operator.browser, `/pos/operator?tab=users&q=${person.login}`);
    const act = (action: string) =>
      operator.browser.postForm(`/pos/operator/users/${person.id}/${action}`, {
        csrf,
        q: person.login,
      });
    const status = async () => (await t.em().findOneOrFail(User, person.id)).status;

    let device = await login(t, { login: person.login, password: person.password });
    expect((await act('block')).status).toBe(303);
    expect(await status()).toBe(UserStatus.Blocked);
    expect(await sessionAnswers(t, device)).toEqual(ENDED);

    expect((await act('unblock')).status).toBe(303);
    expect(await status()).toBe(UserStatus.Active);

    device = await login(t, { login: person.login, password: person.password });
    const ended = await act('end-sessions');
    expect(Browser.location(ended)).toContain('notice=sessions_ended');
    expect(await sessionAnswers(t, device)).toEqual(ENDED);

    expect((await act('archive')).status).toBe(303);
    expect(await status()).toBe(UserStatus.Archived);

    const audited = await t
      .em()
      .find(
        AuditEvent,
        { targetUserId: person.id, actorUserId: operator.id },
        { orderBy: { createdAt: 'asc' } },
      );
    expect(audited.map((e) => e.type)).toEqual([
      'account.blocked',
      'account.unblocked',
      'account.sessions_ended',
      'account.archived',
    ]);
    expect(audited[2].details.sessionIds).toEqual([device.sessionId]);

    // Not one's own account: that would end the session acting.
    const own = await operator.browser.postForm(`/pos/operator/users/${operator.id}/block`, {
      csrf,
    });
    expect(own.status).toBe(409);
    expect((await t.em().findOneOrFail(User, operator.id)).status).toBe(UserStatus.Active);
  });
});

describe('/pos/operator: clients of the OpenID Provider', () => {
  it('lists the clients and disables one, audited', async () => {
    const operator = await operatorBrowser(t);
    const { client } = await t.app.get(ClientsService).create({
      name: 'Электронный дневник',
      redirectUris: ['https://diary.example.ru/callback'],
      firstParty: true,
    });
    const { html, csrf } = await open(operator.browser, '/pos/operator?tab=clients');
    expect(html).toContain('Электронный дневник');
    expect(html).toContain(client.clientId);
    expect(html).toContain('https://diary.example.ru/callback');
    expect(html).toContain('Новое приложение');
    const response = await operator.browser.postForm(
      `/pos/operator/clients/${client.clientId}/disable`,
      { csrf },
    );
    expect(response.status).toBe(303);
    expect(
      (await t.em().findOneOrFail(OidcClient, { clientId: client.clientId })).disabledAt,
    ).not.toBeNull();
    expect(await events('oidc.client.disabled', { actorUserId: operator.id })).toEqual([
      expect.objectContaining({
        details: expect.objectContaining({ clientId: client.clientId, via: 'web' }),
      }),
    ]);
  });
});
