/// <reference lib="dom" />
import { describe, expect, it } from '@jest/globals';
import { type Page } from 'playwright-core';
import { TotpApp } from '../support/mfa.js';
import { journeyBrowser, screenshot, see } from '../support/chromium.js';

/**
 * The platform operator's pages in Debian's Chromium, against the service started the way
 * `npm start` starts it, signed in as the demo operator it prints: at 1280 px and on a 390 px phone.
 */
// «Заблокировать» and «Разблокировать» ask first; the journey's pages answer yes.
const journey = journeyBrowser();
const newPage = (width: number) => journey.page(width);

/** The operator's authenticator app, from the first login's enrolment on. */
let operatorApp: TotpApp | undefined;

/**
 * The operator's login: the password, then the second factor operators must have. The first
 * login connects the app on the code page (the test reads the secret off it, as the app would);
 * later logins type its code.
 */
async function logIn(page: Page, login: string, password: string): Promise<void> {
  await journey.logIn(page, login, password);
  await page.waitForURL('**/login/mfa**');
  if (!operatorApp) {
    operatorApp = new TotpApp((await page.locator('#totp-secret').textContent())!.trim());
    await page.getByLabel('Код из приложения').fill(await operatorApp.code());
    await page.getByRole('button', { name: 'Подключить и войти' }).click();
    await page.getByRole('link', { name: 'Я сохранил коды, продолжить' }).click();
  } else {
    await page.getByLabel('Код из приложения или резервный код').fill(await operatorApp.code());
    await page.getByRole('button', { name: 'Войти', exact: true }).click();
  }
  await page.waitForURL('**/account');
}

/** Nothing wider than the screen: no sideways scrolling on a phone. */
async function noOverflow(page: Page): Promise<void> {
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - window.innerWidth,
  );
  expect(overflow).toBeLessThanOrEqual(0);
}

const stamp = Date.now().toString(36);

describe('journey 7: the platform operator', () => {
  it('the operator creates an authority and an institution, invites the first administrator, blocks and unblocks a user, all from the pages', async () => {
    const { page, problems } = await newPage(1280);
    const authority = `Управление образования г. Операторска ${stamp}`;
    const school = `МБОУ «Школа № 12» ${stamp}`;
    const adminEmail = `kuznetsov.${stamp}@uo.example.ru`;

    // A teacher's account the operator will block and unblock.
    const teacherLogin = `uchitel.${stamp}`;
    const teacher = await newPage(1280);
    await teacher.page.goto('/register');
    await teacher.page.getByLabel('Логин').fill(teacherLogin);
    await teacher.page.getByLabel('Пароль', { exact: true }).fill('Zvezda#2026');
    await teacher.page.getByLabel('Повторите пароль').fill('Zvezda#2026');
    await teacher.page.getByRole('button', { name: 'Зарегистрироваться' }).click();
    await teacher.page.waitForURL('**/account?notice=registered');

    await logIn(page, journey.service.operator.login, journey.service.operator.password);
    await page.getByRole('link', { name: 'Оператор платформы' }).click();
    await see.text(page.getByRole('heading', { level: 1 }), 'Оператор платформы');

    // The authority, at the top level.
    await page.getByLabel('Наименование органа администрации').fill(authority);
    await page.getByRole('button', { name: 'Создать орган администрации' }).click();
    await page.waitForURL('**notice=created**');
    await see.contains(page.locator('.notice.success'), 'Организация создана');
    const panel = page.locator('#org-panel');
    await see.contains(panel.getByRole('heading', { level: 3 }), authority);

    // Its institution, from the authority's card.
    await panel.getByLabel('Наименование учреждения').fill(school);
    await panel.getByRole('button', { name: 'Добавить подведомственное учреждение' }).click();
    await page.waitForURL('**notice=child_created**');
    await see.contains(panel.getByRole('heading', { level: 3 }), school);
    const schoolRow = page.locator('ul.tree li').filter({ hasText: school });
    await see.contains(schoolRow, 'Подведомственное учреждение');

    // The authority's first administrator.
    await page.locator('ul.tree li').filter({ hasText: authority }).getByRole('link').click();
    await see.contains(panel.getByRole('heading', { level: 3 }), authority);
    await panel.getByLabel('Email').fill(adminEmail);
    await panel.getByLabel('Фамилия').fill('Кузнецов');
    await panel.getByLabel('Имя', { exact: true }).fill('Дмитрий');
    await panel.getByLabel('Должность').fill('Начальник управления');
    await screenshot(page, '7-operator-invite', true);
    await panel.getByRole('button', { name: 'Пригласить администратора' }).click();
    await page.waitForURL('**notice=invited**');
    await see.contains(page.locator('.notice.success'), 'Администратор ЛКО приглашён');
    await screenshot(page, '7-operator-tree', true);

    // Block the teacher, then unblock.
    await page.getByRole('link', { name: 'Пользователи' }).click();
    await page.getByLabel('Логин, ФИО или e-mail').fill(teacherLogin);
    await page.getByRole('button', { name: 'Найти' }).click();
    const row = page.locator(`tr[data-user="${teacherLogin}"]`);
    await see.text(row.locator('.badge'), 'Активна');
    await row.getByRole('button', { name: `Заблокировать: ${teacherLogin}` }).click();
    await page.waitForURL('**notice=blocked**');
    await see.text(row.locator('.badge'), 'Заблокирована');
    await screenshot(page, '7-operator-users', true);
    // The teacher's session ended with the block.
    await teacher.page.goto('/account');
    await teacher.page.waitForURL('**/login**');
    await row.getByRole('button', { name: `Разблокировать: ${teacherLogin}` }).click();
    await page.waitForURL('**notice=unblocked**');
    await see.text(row.locator('.badge'), 'Активна');

    // The invitation is in the development mailbox.
    await page.goto('/dev/mailbox');
    await see.visible(page.locator(`article.mail[data-to="${adminEmail}"]`).first());

    // On a phone: the tree, the card and the user list fit the screen; the table is cards.
    const phone = await newPage(390);
    await logIn(phone.page, journey.service.operator.login, journey.service.operator.password);
    await phone.page.goto('/pos/operator');
    await phone.page.locator('ul.tree li').filter({ hasText: authority }).getByRole('link').click();
    await see.contains(phone.page.locator('#org-panel h3'), authority);
    await noOverflow(phone.page);
    await screenshot(phone.page, '7-operator-tree-phone', true);
    await phone.page.goto(`/pos/operator?tab=users&q=${encodeURIComponent(teacherLogin)}`);
    const card = phone.page.locator(`tr[data-user="${teacherLogin}"]`);
    await see.visible(card.getByRole('button', { name: `Заблокировать: ${teacherLogin}` }));
    await noOverflow(phone.page);
    await screenshot(phone.page, '7-operator-users-phone', true);
    await phone.page.goto('/pos/operator?tab=clients');
    await noOverflow(phone.page);

    expect(problems).toEqual([]);
    expect(teacher.problems).toEqual([]);
    expect(phone.problems).toEqual([]);
  }, 180_000);
});
