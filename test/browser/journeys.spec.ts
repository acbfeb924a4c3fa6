/// <reference lib="dom" />
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { launchChromium, screenshot, see, watchConsole } from '../support/chromium.js';
import { type RunningService, startService } from '../support/service.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * The three journeys of the pages in Debian's Chromium, against the service started the way
 * `npm start` starts it. Every page must load without a script error or a CSP violation.
 */
let service: RunningService;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  service = await startService();
  browser = await launchChromium();
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

async function newPage(width = 1280): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({
    baseURL: service.url,
    viewport: { width, height: 900 },
    locale: 'ru-RU',
    acceptDownloads: true,
  });
  contexts.push(context);
  const page = await context.newPage();
  // «В архив» and «Отвязать» ask first; the journeys answer yes.
  page.on('dialog', (dialog) => void dialog.accept());
  return { page, problems: watchConsole(page) };
}

const PASSWORD = 'Zvezda#2026';

async function register(page: Page, login: string): Promise<void> {
  await page.goto('/register');
  await page.getByLabel('Логин').fill(login);
  await page.getByLabel('Пароль', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Повторите пароль').fill(PASSWORD);
  await page.getByRole('button', { name: 'Зарегистрироваться' }).click();
  await page.waitForURL('**/account?notice=registered');
}

/** The stand-in's person picker: «Войти» for one test person. */
async function pickPerson(page: Page, oid: number, shot?: string): Promise<void> {
  await page.waitForURL('**/dev/gosuslugi/**');
  await see.contains(page.locator('.testbar'), 'не настоящие Госуслуги');
  if (shot) await screenshot(page, shot, true);
  await page.locator(`form:has(input[name="oid"][value="${oid}"]) button`).click();
}

async function linkGosuslugi(
  page: Page,
  oid: number,
  confirm = true,
  shot?: string,
): Promise<void> {
  await page.getByRole('link', { name: 'Связать с Госуслугами' }).click();
  await pickPerson(page, oid, shot);
  if (!confirm) return;
  await page.waitForURL('**/auth/gosuslugi/link/confirm');
  await screenshot(page, '1-link-confirm');
  await page.getByRole('button', { name: 'Привязать' }).click();
}

function unique(prefix: string): string {
  return `${prefix}.${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

describe('journey 1: a parent’s «Личный кабинет» and Госуслуги', () => {
  it('register → log in → checklist → phone and e-mail → link → log out → log in through Госуслуги', async () => {
    const { page, problems } = await newPage();
    const login = unique('ivanova');

    // Register, then log out and in again the ordinary way.
    await page.goto('/register');
    await screenshot(page, '1-register');
    await register(page, login);
    await page.getByRole('button', { name: 'Выйти' }).click();
    await page.waitForURL('**/login?notice=logged_out');
    await see.contains(page.getByRole('status'), 'Вы вышли');
    await page.getByLabel('Логин').fill(login);
    await page.getByLabel('Пароль').fill(PASSWORD);
    await page.getByRole('button', { name: 'Войти', exact: true }).click();
    await page.waitForURL('**/account');
    await see.text(page.getByRole('heading', { level: 1 }), 'Личный кабинет');
    await see.value(page.getByLabel('Логин'), login);

    // The checklist follows the typing, rule by rule, from the policy the API publishes.
    const checklist = page.locator('[data-password-checklist]');
    await see.attribute(checklist, 'data-ready', 'true');
    await page.getByLabel('Пароль', { exact: true }).fill('abc');
    for (const rule of ['too_short', 'no_special', 'no_digit', 'no_upper']) {
      await see.attribute(checklist.locator(`li[data-rule="${rule}"]`), 'class', 'unmet');
    }
    await see.attribute(checklist.locator('li[data-rule="no_lower"]'), 'class', 'met');
    await page.getByLabel('Пароль', { exact: true }).fill('abcабв');
    await see.attribute(checklist.locator('li[data-rule="cyrillic"]'), 'class', 'unmet');
    await page.getByLabel('Пароль', { exact: true }).fill('Zvezda#2027');
    for (const rule of ['too_short', 'no_special', 'no_digit', 'no_upper', 'no_lower']) {
      await see.attribute(checklist.locator(`li[data-rule="${rule}"]`), 'class', 'met');
    }
    await screenshot(page, '1-account-checklist', true);
    await page.getByLabel('Пароль', { exact: true }).fill('');

    // Phone and e-mail.
    await page.getByLabel('Телефон').fill('+7 912 345-67-89');
    await page.getByLabel('Email').fill('ivanova@example.ru');
    await page.getByRole('button', { name: 'Сохранить' }).click();
    // A new address waits for its verification link; the phone is saved at once.
    await page.waitForURL('**/account?notice=verification_sent');
    await see.contains(page.getByRole('status').first(), 'Письмо со ссылкой');
    await see.value(page.getByLabel('Телефон'), '+79123456789');
    await see.value(page.getByLabel('Email'), 'ivanova@example.ru');

    // A bad phone number is refused next to its field, and nothing is saved.
    await page.getByLabel('Телефон').fill('12');
    await page.getByRole('button', { name: 'Сохранить' }).click();
    await see.text(page.locator('#phone-error'), 'Некорректный номер телефона');
    await see.attribute(page.getByLabel('Телефон'), 'aria-invalid', 'true');
    await page.goto('/account');
    await see.value(page.getByLabel('Телефон'), '+79123456789');

    // «Связать с Госуслугами» → the stand-in → back with the notice.
    await linkGosuslugi(page, 1000000001, true, '1-gosuslugi-stand-in');
    await page.waitForURL('**/account?gosuslugi=linked');
    await see.text(
      page.locator('.notice.success'),
      'Профиль Госуслуг привязан к учетной записи ЭПОС',
    );
    await see.contains(page.locator('.linked'), 'Иванова Мария Сергеевна');
    await screenshot(page, '1-account-linked', true);

    // Log out: the link left a Госуслуги session in this browser, so «Выйти» ends it too (the
    // stand-in asks to confirm, as oidc-provider does); then in through Госуслуги, which has to
    // ask who is logging in again: the same account.
    await page.getByRole('button', { name: 'Выйти' }).click();
    await page.waitForURL('**/dev/gosuslugi/session/end**');
    await screenshot(page, '1-gosuslugi-logout');
    await page.locator('button[form="op.logoutForm"][value="yes"]').click();
    await page.waitForURL('**/login?notice=logged_out');
    await screenshot(page, '1-login');
    await page.getByRole('button', { name: 'Войти через Госуслуги' }).click();
    await page.waitForURL(/\/dev\/gosuslugi\/interaction\//);
    await pickPerson(page, 1000000001);
    await page.waitForURL('**/account');
    await see.value(page.getByLabel('Логин'), login);
    // The header names the person as Госуслуги gave the name, with the login.
    await see.text(page.locator('.site nav .who'), `Иванова Мария Сергеевна (${login})`);

    // The phone width: the same page in one column, nothing wider than the screen.
    const phone = await newPage(375);
    await phone.page.goto('/login');
    const overflow = await phone.page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(phone.page, '1-login-phone');
    expect(problems).toEqual([]);
    expect(phone.problems).toEqual([]);
  }, 120_000);
});

/**
 * The same page on a 390 px phone: nothing wider than the screen, and every control in `inside`
 * (a table row's actions, a table's cells) within it, so no action needs a sideways scroll.
 */
async function fitsPhone(page: Page, inside: Locator, shot: string): Promise<void> {
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow).toBeLessThanOrEqual(0);
  const controls = await inside
    .locator('button, a, td, .badge, summary, select, input:not([type=hidden])')
    .all();
  expect(controls.length).toBeGreaterThan(0);
  for (const control of controls) {
    // What a closed «Исправить» or «Роли» holds is checked when the test opens it.
    const folded = await control.evaluate(
      (element) => element.tagName !== 'SUMMARY' && element.closest('details:not([open])') !== null,
    );
    if (folded) continue;
    const box = await control.boundingBox();
    if (box === null) throw new Error('a control is not rendered at 390 px');
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(390);
  }
  await screenshot(page, shot);
  await page.setViewportSize({ width: 1280, height: 900 });
}

let bodies = Date.now() % 1000;

/** The operator's tools (command line), the way issue 4 set them up. */
async function operatorSetUp(adminEmail: string): Promise<{ body: string; lko: string }> {
  const name = `Управление образования г. Тестовска, ${++bodies}`;
  const created = await service.cli('org:create', '--name', name, '--kind', 'authority');
  const lko = /ЛКО № (\d+)/.exec(created)![1];
  await service.cli(
    'org:create',
    '--name',
    `Школа № 5 (${name})`,
    '--kind',
    'institution',
    '--parent',
    lko,
  );
  await service.cli(
    'admin:invite',
    '--org',
    lko,
    '--email',
    adminEmail,
    '--last-name',
    'Кузнецов',
    '--first-name',
    'Дмитрий',
    '--roles',
    'admin',
  );
  return { body: name, lko };
}

/** The invitation link from the development mailbox page. */
async function invitationFromMailbox(page: Page, email: string): Promise<string> {
  await page.goto('/dev/mailbox');
  const mail = page.locator(`article.mail[data-to="${email}"]`).first();
  await see.visible(mail);
  return (await mail.locator('a[href*="/pos/invitations/"]').first().getAttribute('href'))!;
}

async function acceptInvitation(
  page: Page,
  link: string,
  oid: number,
  accepted = true,
): Promise<void> {
  await page.goto(link);
  await see.text(
    page.getByRole('heading', { level: 1 }),
    'Приглашение в личный кабинет организации',
  );
  await page.getByRole('button', { name: 'Войти через Госуслуги' }).click();
  await pickPerson(page, oid);
  if (accepted) await page.waitForURL('**/pos');
  else await page.waitForURL('**/auth/gosuslugi/callback**');
}

/** Кузнецов holds the accounts of the earlier journeys too: every pending one asks in turn. */
async function confirmPendingConnections(page: Page): Promise<void> {
  const dialog = page.getByRole('dialog', { name: 'Подтвердите подключение' });
  for (let pending = 0; pending < 10 && (await dialog.count()) > 0; pending++) {
    await dialog.getByLabel('Мною пройдено обучение').check();
    await dialog.getByLabel('Личный кабинет организации готов к работе').check();
    await dialog.getByRole('button', { name: 'Подтвердить' }).click();
    await page.waitForURL('**/pos');
  }
  await see.count(page.getByRole('dialog'), 0);
}

describe('journey 2: an organisation administrator', () => {
  it('invitation from the mailbox → Госуслуги → confirmation dialog → add, re-send, the member’s sessions ended, archive → status table and CSV', async () => {
    const { page, problems } = await newPage();
    const adminEmail = `${unique('admin')}@uo.example.ru`;
    const { body, lko } = await operatorSetUp(adminEmail);

    const link = await invitationFromMailbox(page, adminEmail);
    await screenshot(page, '2-dev-mailbox');
    await acceptInvitation(page, link, 1000000004);

    // The first-login dialog: both boxes, or nothing.
    const dialog = page.getByRole('dialog', { name: 'Подтвердите подключение' });
    await see.visible(dialog);
    await see.contains(dialog, body);
    await screenshot(page, '2-confirmation-dialog', true);
    // The dialog takes the focus, and the page behind it is inert.
    await see.focused(dialog.getByLabel('Мною пройдено обучение'));
    expect(await page.locator('main > .card').getAttribute('inert')).toBe('');
    await dialog.getByLabel('Мною пройдено обучение').check();
    await dialog.getByLabel('Личный кабинет организации готов к работе').check();
    await dialog.getByRole('button', { name: 'Подтвердить' }).click();
    await page.waitForURL('**/pos');
    await see.count(page.getByRole('dialog'), 0);
    await see.contains(page.locator('ul.plain li').filter({ hasText: body }), 'Подтвержден');

    // The admin area: add a member with two roles.
    await page.getByRole('link', { name: 'Администрирование ЛКО' }).first().click();
    await see.text(page.getByRole('heading', { level: 1 }), body);
    await see.contains(page.locator('main'), `ЛКО № ${lko}`);
    await page.getByRole('link', { name: 'Добавить пользователя' }).first().click();
    const memberEmail = `${unique('teacher')}@school5.example.ru`;
    await page.getByLabel('Email').fill(memberEmail);
    await page.getByLabel('Фамилия').fill('Соколова');
    await page.getByLabel('Имя', { exact: true }).fill('Анна');
    await page.getByLabel('Отчество').fill('Павловна');
    await page.getByLabel('Должность').fill('Учитель');
    await page.getByLabel('Модератор').check();
    await page.getByLabel('Исполнитель').check();
    await screenshot(page, '2-add-member');
    await page.getByRole('button', { name: 'Добавить и отправить приглашение' }).click();
    await page.waitForURL('**tab=members&notice=added');
    const row = page.locator(`tr[data-member="${memberEmail}"]`);
    await see.contains(row, 'Модератор, Исполнитель');
    await see.text(row.locator('.badge'), 'Приглашен');
    await screenshot(page, '2-members', true);
    // On a phone every member action is in reach: the row's buttons, its forms opened in place,
    // the search and filters above the list.
    await fitsPhone(page, row, '2-members-invited-phone');
    await fitsPhone(page, page.locator('form.list-filters'), '2-members-filters-phone');
    for (const [label, shot] of [
      ['Исправить', '2-members-edit-phone'],
      ['Роли', '2-members-roles-phone'],
    ]) {
      const summary = row.locator('summary', { hasText: label });
      await summary.click();
      await fitsPhone(page, row, shot);
      await summary.click();
    }
    // Roles changed in place.
    await row.locator('summary', { hasText: 'Роли' }).click();
    await row.getByLabel('Куратор').check();
    await row.getByRole('button', { name: 'Сохранить роли' }).click();
    await page.waitForURL('**notice=roles_saved');
    await see.contains(row, 'Модератор, Исполнитель, Куратор');

    // The same address again: refused next to the field.
    await page.getByRole('link', { name: 'Добавить пользователя' }).first().click();
    await page.getByLabel('Email').fill(memberEmail);
    await page.getByLabel('Фамилия').fill('Другая');
    await page.getByLabel('Имя', { exact: true }).fill('Анна');
    await page.getByLabel('Куратор').check();
    await page.getByRole('button', { name: 'Добавить и отправить приглашение' }).click();
    await see.contains(page.locator('#email-error'), 'уже используется');
    await see.value(page.getByLabel('Фамилия'), 'Другая');

    // Re-send, then archive.
    await page.getByRole('link', { name: 'Пользователи' }).click();
    await row.getByRole('button', { name: /Отправить приглашение повторно/ }).click();
    await page.waitForURL('**notice=resent');
    await see.contains(page.locator('.notice.success'), 'отправлено повторно');

    // The invitee accepts in a browser of her own; the administrator sees her session and ends it.
    const member = await newPage();
    const memberLink = await invitationFromMailbox(member.page, memberEmail);
    await acceptInvitation(member.page, memberLink, 1000000005);
    await page.getByRole('link', { name: 'Пользователи' }).click();
    await see.text(row.locator('.badge'), 'Зарегистрирован');
    await screenshot(page, '2-members-registered');
    await fitsPhone(page, row, '2-members-phone');
    await row.getByRole('link', { name: /^Сеансы/ }).click();
    await see.visible(page.getByRole('heading', { name: 'Активные сеансы пользователя' }));
    const sessions = page.locator('li[data-session]');
    await see.count(sessions, 1);
    await see.contains(sessions, 'Госуслуги');
    await screenshot(page, '2-member-sessions', true);
    await page.getByRole('button', { name: 'Завершить все сеансы' }).click();
    await page.waitForURL('**/sessions?notice=sessions_ended');
    await see.contains(page.locator('.notice.success'), 'Все сеансы пользователя завершены');
    await see.count(sessions, 0);
    await see.visible(page.getByText('Активных сеансов нет.'));
    await screenshot(page, '2-member-sessions-ended');
    // Her browser is signed out at once: the next page asks her to log in.
    await member.page.goto('/pos');
    await member.page.waitForURL('**/login?returnTo=%2Fpos');
    expect(member.problems).toEqual([]);

    await page.getByRole('link', { name: '← Пользователи' }).click();
    await row.getByRole('button', { name: /В архив/ }).click();
    await page.waitForURL('**notice=archived');
    await see.count(page.locator(`tr[data-member="${memberEmail}"]`), 0);
    await page.getByRole('link', { name: 'Архив', exact: true }).click();
    await see.text(row.locator('.badge'), 'В архиве');

    // The widget generator.
    await page.getByRole('link', { name: 'Виджет для сайта' }).click();
    await page.getByLabel('Официальный сайт').fill('https://uo.example.ru');
    await page.getByLabel('Тёмный').check();
    await page.getByRole('button', { name: 'Сформировать код' }).click();
    const code = await page.locator('#widget-code').inputValue();
    expect(code).toContain("<div class='pos-banner-fluid bf-2'>");
    expect(code.trim().endsWith(`/form", ${lko})</script>`)).toBe(true);
    // The preview shows the chosen design with this page's own CSS, and follows the choice.
    await see.visible(page.locator('#widget-preview-banner.bf-2'));
    await page.getByLabel('Компактный').check();
    await see.visible(page.locator('#widget-preview-banner.bf-3'));
    await page.getByLabel('Текст на баннер').fill('Напишите директору');
    await see.text(page.locator('#widget-preview-text'), 'Напишите директору');
    await see.text(page.locator('#widget-placement-state'), 'не проверен');
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.getByRole('button', { name: 'Скопировать код' }).click();
    await see.text(page.locator('#copy-status'), 'Код скопирован');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(code);
    await screenshot(page, '2-widget', true);

    // The subtree status table shows the archived account; the CSV downloads.
    await page.getByRole('link', { name: 'Статус подключения' }).click();
    const bodyRow = page.locator(`tr[data-lko="${lko}"]`);
    await see.text(bodyRow.locator('td').nth(5), '1');
    await see.text(bodyRow.locator('td').nth(4), '1');
    await see.count(page.locator('#status-table tbody tr'), 2);
    await screenshot(page, '2-status', true);
    await fitsPhone(page, page.locator('#status-table'), '2-status-phone');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Скачать CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`connection-status-${lko}.csv`);
    const csv = await readFile(await download.path(), 'utf8');
    expect(csv).toContain(body);
    // Header, the two organisations, the totals row.
    expect(csv.split('\n').filter(Boolean).length).toBe(4);
    expect(problems).toEqual([]);
    // The longest journey: the members list's phone checks and in-place forms came on top.
  }, 300_000);
});

describe('journey 3: error pages', () => {
  it('a used invitation says so', async () => {
    const { page, problems } = await newPage();
    const adminEmail = `${unique('used')}@uo.example.ru`;
    await operatorSetUp(adminEmail);
    const link = await invitationFromMailbox(page, adminEmail);
    await acceptInvitation(page, link, 1000000004);
    const again = await page.goto(link);
    expect(again?.status()).toBe(410);
    await see.text(page.getByRole('heading', { level: 1 }), 'Приглашение уже использовано');
    await screenshot(page, '3-invitation-used', true);
    expect(problems).toEqual([]);
  }, 120_000);

  it('a Госуслуги profile linked to another account is refused with its page', async () => {
    const first = await newPage();
    await register(first.page, unique('fedorov'));
    await linkGosuslugi(first.page, 1000000008);
    await first.page.waitForURL('**/account?gosuslugi=linked');

    const second = await newPage();
    const other = unique('fedorov.second');
    await register(second.page, other);
    await linkGosuslugi(second.page, 1000000008, false);
    await second.page.waitForURL('**/auth/gosuslugi/callback**');
    await see.text(
      second.page.getByRole('heading', { level: 1 }),
      'Профиль Госуслуг уже привязан к другой учётной записи',
    );
    await screenshot(second.page, '3-linked-elsewhere', true);
    await second.page.goto('/account');
    await see.visible(second.page.getByRole('link', { name: 'Связать с Госуслугами' }));
    expect(first.problems).toEqual([]);
    expect(second.problems).toEqual([]);
  }, 120_000);

  it('an unknown page and a Госуслуги error are pages, not JSON', async () => {
    const { page, problems } = await newPage();
    const missing = await page.goto('/no-such-page');
    expect(missing?.status()).toBe(404);
    await see.text(page.getByRole('heading', { level: 1 }), 'Страница не найдена');
    const stale = await page.goto('/auth/gosuslugi/callback?code=x&state=forged');
    expect(stale?.status()).toBe(400);
    await see.text(
      page.getByRole('heading', { level: 1 }),
      'Сеанс входа через Госуслуги не найден',
    );
    await screenshot(page, '3-gosuslugi-error');
    expect(problems).toEqual([]);
  }, 60_000);
});

/** The newest link to `path` in mail to `email`, from the development mailbox page (reloaded until it comes). */
async function linkFromMailbox(page: Page, email: string, path: string): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    await page.goto('/dev/mailbox');
    const link = page.locator(`article.mail[data-to="${email}"] a[href*="/${path}/"]`).first();
    if ((await link.count()) > 0) return (await link.getAttribute('href'))!;
    if (Date.now() > deadline) throw new Error(`no /${path}/ link for ${email} in the mailbox`);
    await page.waitForTimeout(500);
  }
}

describe('journey 5: an invitation names its person', () => {
  it('the administrator invites with SNILS → a namesake is refused and the admin sees the attempt → the invited person, signed in to ЭПОС, accepts into that account', async () => {
    // The administrator of a new body, in through the invitation.
    const admin = await newPage();
    const adminEmail = `${unique('admin5')}@uo.example.ru`;
    const { body } = await operatorSetUp(adminEmail);
    await acceptInvitation(
      admin.page,
      await invitationFromMailbox(admin.page, adminEmail),
      1000000004,
    );
    await confirmPendingConnections(admin.page);

    // «Добавить пользователя» with the teacher's SNILS.
    await admin.page.getByRole('link', { name: 'Администрирование ЛКО' }).first().click();
    // He administers the bodies of the earlier journeys too: this one is picked from the list.
    if ((await admin.page.locator('#org-select').count()) > 0) {
      await admin.page.locator('#org-select').selectOption({ label: body });
      await admin.page.getByRole('button', { name: 'Открыть' }).click();
    }
    await see.text(admin.page.getByRole('heading', { level: 1 }), body);
    await admin.page.getByRole('link', { name: 'Добавить пользователя' }).first().click();
    const email = `${unique('petrov')}@school5.example.ru`;
    await admin.page.getByLabel('Email').fill(email);
    await admin.page.getByLabel('Фамилия').fill('Петров');
    await admin.page.getByLabel('Имя', { exact: true }).fill('Алексей');
    await admin.page.getByLabel('Отчество').fill('Игоревич');
    await admin.page.getByLabel('СНИЛС').fill('000-000-002 03');
    await admin.page.getByLabel('Исполнитель').check();
    await admin.page.getByRole('button', { name: 'Добавить и отправить приглашение' }).click();
    // A typo in the SNILS is caught by its check number, next to the field.
    await see.contains(admin.page.locator('#snils-error'), 'СНИЛС указан с ошибкой');
    await admin.page.getByLabel('СНИЛС').fill('000-000-002 02');
    await screenshot(admin.page, '5-add-member-snils');
    await admin.page.getByRole('button', { name: 'Добавить и отправить приглашение' }).click();
    await admin.page.waitForURL('**tab=members&notice=added');
    const row = admin.page.locator(`tr[data-member="${email}"]`);
    await see.contains(row, 'СНИЛС …202');

    // A full namesake with another SNILS follows the link: refused, nothing bound.
    const stranger = await newPage();
    const link = await invitationFromMailbox(stranger.page, email);
    await acceptInvitation(stranger.page, link, 1000000006, false);
    await see.text(
      stranger.page.getByRole('heading', { level: 1 }),
      'Данные профиля Госуслуг не совпадают с приглашением',
    );
    await see.contains(stranger.page.locator('main'), body);
    await screenshot(stranger.page, '5-invitation-mismatch', true);
    await admin.page.reload();
    await see.contains(row, 'Попытка принять приглашение другим профилем Госуслуг');
    await see.text(row.locator('.badge'), 'Приглашен');
    await screenshot(admin.page, '5-members-mismatch', true);

    // The teacher already has an ЭПОС account: signed in, he accepts into it.
    const teacher = await newPage();
    const login = unique('petrov');
    await register(teacher.page, login);
    await teacher.page.goto(link);
    await see.visible(teacher.page.getByRole('button', { name: 'Это не я' }));
    await screenshot(teacher.page, '5-invitation-signed-in', true);
    await teacher.page.getByRole('button', { name: 'Принять в эту учётную запись' }).click();
    await pickPerson(teacher.page, 1000000002);
    await teacher.page.waitForURL('**/pos');
    await see.text(teacher.page.locator('.site nav .who'), `Петров Алексей Игоревич (${login})`);
    await admin.page.reload();
    await see.text(row.locator('.badge'), 'Зарегистрирован');
    await see.contains(row, 'Госуслуги: Петров Алексей Игоревич');
    expect(admin.problems).toEqual([]);
    expect(stranger.problems).toEqual([]);
    expect(teacher.problems).toEqual([]);
  }, 180_000);
});

describe('journey 6: an account made by accepting an invitation', () => {
  it('the invitation makes an account with the address verified, a readable login and the ФИО → a first password → unlink Госуслуги → log in with the password', async () => {
    const { lko } = await operatorSetUp(`${unique('admin6')}@uo.example.ru`);
    const email = `${unique('novikova')}@school6.example.ru`;
    await service.cli(
      'admin:invite',
      '--org',
      lko,
      '--email',
      email,
      '--last-name',
      'Новикова',
      '--first-name',
      'Елена',
      '--middle-name',
      'Андреевна',
      '--roles',
      'executor',
    );
    const { page, problems } = await newPage();
    await acceptInvitation(page, await invitationFromMailbox(page, email), 1000000007);
    const login = email.split('@')[0];
    await see.text(page.locator('.site nav .who'), `Новикова Елена Андреевна (${login})`);

    await page.goto('/account');
    await see.value(page.getByLabel('Логин'), login);
    await see.value(page.getByLabel('Email'), email);
    await see.contains(page.locator('main'), 'Адрес подтверждён');
    await see.visible(page.getByRole('group', { name: 'Задать пароль' }));
    await screenshot(page, '6-account-without-password', true);
    await page.getByLabel('Пароль', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Повторите пароль').fill(PASSWORD);
    await page.getByRole('button', { name: 'Сохранить' }).click();
    await page.waitForURL('**/account?notice=password_set');
    await see.contains(page.locator('.notice.success'), 'Пароль задан');

    await page.getByRole('button', { name: 'Отвязать Госуслуги' }).click();
    await page.waitForURL('**/account?notice=unlinked#gosuslugi');
    await see.visible(page.getByRole('link', { name: 'Связать с Госуслугами' }));

    // Out (through the stand-in's logout, the session came from Госуслуги), and in by password.
    await page.getByRole('button', { name: 'Выйти' }).click();
    await page.waitForURL('**/dev/gosuslugi/session/end**');
    await page.locator('button[form="op.logoutForm"][value="yes"]').click();
    await page.waitForURL('**/login?notice=logged_out');
    await page.getByLabel('Логин').fill(login);
    await page.getByLabel('Пароль').fill(PASSWORD);
    await page.getByRole('button', { name: 'Войти', exact: true }).click();
    await page.waitForURL('**/account');
    await see.text(page.locator('.site nav .who'), `Новикова Елена Андреевна (${login})`);
    expect(problems).toEqual([]);
  }, 120_000);
});

describe('journey 4: «Забыли пароль?»', () => {
  it('verify the e-mail → «Забыли пароль?» → mail from the development mailbox → new password → login', async () => {
    const { page, problems } = await newPage();
    const login = unique('smirnova');
    const email = `${login}@example.ru`;
    await page.goto('/register');
    await page.getByLabel('Логин').fill(login);
    await page.getByLabel('Пароль', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Повторите пароль').fill(PASSWORD);
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Зарегистрироваться' }).click();
    await page.waitForURL('**/account?notice=registered');
    await see.contains(page.locator('#email-hint'), 'ещё не подтверждён');

    // Verify the address through the link in the mail.
    await page.goto(await linkFromMailbox(page, email, 'verify-email'));
    await see.contains(page.locator('main'), email);
    await page.getByRole('button', { name: 'Подтвердить адрес' }).click();
    await page.waitForURL('**/account?notice=email_verified');
    await see.text(page.locator('#email-hint'), 'Адрес подтверждён');

    // Forget the password.
    await page.getByRole('button', { name: 'Выйти' }).click();
    await page.waitForURL('**/login?notice=logged_out');
    await page.getByRole('link', { name: 'Забыли пароль?' }).click();
    await page.waitForURL('**/forgot-password');
    await page.getByLabel('Логин или Email').fill(login);
    await page.getByRole('button', { name: 'Отправить ссылку' }).click();
    await see.text(page.getByRole('heading', { level: 1 }), 'Проверьте почту');
    await screenshot(page, '4-forgot-password-sent', true);

    await page.goto(await linkFromMailbox(page, email, 'reset-password'));
    await see.text(page.getByRole('heading', { level: 1 }), 'Новый пароль');
    const checklist = page.locator('[data-password-checklist]');
    await see.attribute(checklist, 'data-ready', 'true');
    await page.getByLabel('Пароль', { exact: true }).fill('слабый');
    await see.attribute(checklist.locator('li[data-rule="cyrillic"]'), 'class', 'unmet');
    const fresh = 'Novyi#Parol2026';
    await page.getByLabel('Пароль', { exact: true }).fill(fresh);
    await page.getByLabel('Повторите пароль').fill(fresh);
    await see.attribute(checklist.locator('li[data-rule="mismatch"]'), 'class', 'met');
    await screenshot(page, '4-reset-password', true);
    await page.getByRole('button', { name: 'Сохранить пароль' }).click();
    await page.waitForURL('**/login?notice=password_reset');
    await see.contains(page.getByRole('status'), 'Пароль изменён');

    // Not logged in by the link: log in with the new password.
    await page.getByLabel('Логин').fill(login);
    await page.getByLabel('Пароль').fill(fresh);
    await page.getByRole('button', { name: 'Войти', exact: true }).click();
    await page.waitForURL('**/account');
    await see.text(page.locator('.site nav .who'), login);
    expect(problems).toEqual([]);
  }, 120_000);
});

describe('journey 8: an authority imports its staff and publishes its connection status', () => {
  it('«Импорт из файла»: the check names the bad rows → import → report; «Опубликовать статус» → the public page at 1280 and 390 px → revoked, 404', async () => {
    const { page, problems } = await newPage();
    const adminEmail = `${unique('admin8')}@uo.example.ru`;
    const { body, lko } = await operatorSetUp(adminEmail);
    await acceptInvitation(page, await invitationFromMailbox(page, adminEmail), 1000000004);
    await confirmPendingConnections(page);
    await page.goto('/pos/admin');
    const roots = page.getByLabel('Организация верхнего уровня');
    if ((await roots.count()) > 0) {
      await roots.selectOption({ label: body });
      await page.getByRole('button', { name: 'Открыть' }).click();
    }
    await see.text(page.getByRole('heading', { level: 1 }), body);

    // A file of five rows: three to invite (one in the subordinate school), two refused.
    await page.getByRole('link', { name: 'Импорт из файла' }).click();
    await see.text(page.getByRole('heading', { level: 1 }), 'Импорт из файла');
    await screenshot(page, '8-import', true);
    const staff = unique('staff8');
    const csv = [
      'Фамилия;Имя;Отчество;E-mail;СНИЛС;Роли;Организация',
      `Орлова;Вера;Игоревна;${staff}.1@uo.example.ru;;Исполнитель;`,
      `Зайцев;Пётр;Сергеевич;${staff}.2@uo.example.ru;;Модератор, Исполнитель;`,
      `Белова;Нина;;не-адрес;;Исполнитель;`,
      `Громов;Олег;;${staff}.4@uo.example.ru;;Директор;`,
      `Лебедева;Ирина;Олеговна;${staff}.5@school5.example.ru;;Исполнитель;`,
    ].join('\r\n');
    const dir = await mkdtemp(join(tmpdir(), 'journey8-'));
    const file = join(dir, 'staff.csv');
    await writeFile(file, `\uFEFF${csv}\r\n`, 'utf8');
    await page.getByLabel('Файл со списком пользователей').setInputFiles(file);
    await page.getByRole('button', { name: 'Проверить файл' }).click();
    await see.text(page.locator('#import-check'), 'Проверка файла «staff.csv»');
    await see.contains(page.locator('#import-summary'), 'будут приглашены: 3');
    await see.contains(page.locator('#import-summary'), 'не будут импортированы: 2');
    await see.count(page.locator('tr[data-row="4"][data-outcome="invalid_email"]'), 1);
    await see.count(page.locator('tr[data-row="5"][data-outcome="unknown_role"]'), 1);
    await screenshot(page, '8-import-check', true);
    await fitsPhone(page, page.locator('main'), '8-import-check-phone');
    // The check wrote nothing: the members tab knows none of them yet.
    await page.getByRole('button', { name: 'Импортировать (3)' }).click();
    await see.text(page.locator('#import-done'), 'Импорт выполнен');
    await see.contains(page.locator('#import-summary'), 'приглашены: 3');
    await screenshot(page, '8-import-done', true);
    const [report] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Скачать отчёт (CSV)' }).click(),
    ]);
    expect(report.suggestedFilename()).toBe(`import-report-${lko}.csv`);
    const reportText = await readFile(await report.path(), 'utf8');
    expect(reportText).toContain(`${staff}.1@uo.example.ru`);
    expect(reportText).toContain('не-адрес');

    // The status tab: publish, open the public page on a desktop and a phone, revoke.
    await page.getByRole('link', { name: `← ${body}` }).click();
    await page.getByRole('link', { name: 'Статус подключения' }).click();
    await page.getByRole('button', { name: 'Опубликовать статус' }).click();
    await page.waitForURL('**notice=status_published**');
    const address = await page.locator('#public-status-url').getAttribute('href');
    expect(address).toMatch(/\/public\/status\/[\w-]{20,}$/);
    const snippet = await page.locator('#public-status-snippet').inputValue();
    expect(snippet).toContain(address!);
    await screenshot(page, '8-status-published', true);

    const visitor = await newPage();
    await visitor.page.goto(address!);
    await see.text(
      visitor.page.getByRole('heading', { level: 1 }),
      'Статус подключения учреждений к платформе обратной связи',
    );
    const row = visitor.page.locator(`tr[data-lko="${lko}"]`);
    await see.contains(row, body);
    // No personal data: neither the administrator nor the imported staff appear.
    const text = (await visitor.page.locator('main').textContent()) ?? '';
    for (const personal of [adminEmail, staff, 'Кузнецов', 'Орлова', 'Зайцев'])
      expect(text).not.toContain(personal);
    await screenshot(visitor.page, '8-public-status', true);
    await fitsPhone(visitor.page, visitor.page.locator('main'), '8-public-status-phone');

    await page.getByRole('button', { name: 'Снять с публикации' }).click();
    await page.waitForURL('**notice=status_revoked**');
    const gone = await visitor.page.goto(address!);
    expect(gone?.status()).toBe(404);
    expect(problems).toEqual([]);
    expect(visitor.problems).toEqual([]);
  }, 300_000);
});
