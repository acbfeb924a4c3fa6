/// <reference lib="dom" />
import { describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { type Page } from 'playwright-core';
import { recordSecret } from '../support/log-capture.js';
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

  it('the operator registers an application from the page, sees its secret once, issues a new one, and openid-client signs the operator in with each secret; on a phone the form and list fit', async () => {
    // The application's callback: a server of its own, on another origin than ours.
    const application: Server = createServer((_req, res) => res.end('application'));
    await new Promise<void>((resolve) => application.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(application.address() as AddressInfo).port}`;
    const redirectUri = `${origin}/callback`;
    const name = `Электронный дневник ${stamp}`;
    try {
      const { page, problems } = await newPage(1280);
      await logIn(page, journey.service.operator.login, journey.service.operator.password);
      await page.goto('/pos/operator');
      await page.getByRole('link', { name: 'Приложения' }).click();
      await see.contains(
        page.getByRole('heading', { level: 3, name: 'Новое приложение' }),
        'Новое',
      );

      // «Новое приложение»: a confidential, first-party client of the platform.
      await page.getByLabel('Название', { exact: true }).fill(name);
      await page.getByLabel('Адреса возврата после входа (redirect URI)').fill(redirectUri);
      await page.getByLabel('Адреса возврата после выхода').fill(`${origin}/logged-out`);
      await page.getByLabel(/Своё приложение платформы/).check();
      await screenshot(page, '7-operator-client-form', true);
      await page.getByRole('button', { name: 'Зарегистрировать приложение' }).click();
      await see.text(page.getByRole('heading', { level: 1 }), 'Приложение зарегистрировано');
      // The address bar shows the list, so a reload does not register the client again.
      expect(new URL(page.url()).search).toBe('?tab=clients');
      const clientId = (await page.locator('#client-id').textContent())!.trim();
      const firstSecret = (await page.locator('#client-secret').textContent())!.trim();
      recordSecret('client_secret shown by the operator page', firstSecret);
      expect(firstSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      await see.contains(page.locator('main'), 'Секрет показан один раз');
      await screenshot(page, '7-operator-client-secret', true);

      /** openid-client with this secret: code + PKCE, the operator's session signs in (SSO). */
      const signIn = async (secret: string) => {
        const config = await oidc.discovery(
          new URL(journey.service.url),
          clientId,
          undefined,
          oidc.ClientSecretBasic(secret),
          { execute: [oidc.allowInsecureRequests] },
        );
        const verifier = oidc.randomPKCECodeVerifier();
        const state = oidc.randomState();
        // The operator's browser, in a tab of its own: its cookies are the context's.
        const tab = await page.context().newPage();
        await tab.goto(
          oidc
            .buildAuthorizationUrl(config, {
              redirect_uri: redirectUri,
              scope: 'openid profile',
              code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
              code_challenge_method: 'S256',
              state,
            })
            .toString(),
        );
        await tab.waitForURL(`${redirectUri}?**`);
        const callback = new URL(tab.url());
        await tab.close();
        return oidc.authorizationCodeGrant(config, callback, {
          pkceCodeVerifier: verifier,
          expectedState: state,
        });
      };
      const first = await signIn(firstSecret);
      expect(first.claims()).toMatchObject({ iss: journey.service.url, aud: clientId });

      // Back on the list: the client is there, its secret is not.
      await page.getByRole('link', { name: 'Вернуться к приложениям' }).click();
      const row = page.locator(`tr[data-client="${clientId}"]`);
      await see.contains(row, name);
      expect(await page.content()).not.toContain(firstSecret);
      await screenshot(page, '7-operator-clients', true);

      // «Выпустить новый секрет»: asked first, shown once; the old secret no longer signs in.
      await row.getByRole('button', { name: `Выпустить новый секрет: ${name}` }).click();
      await see.text(page.getByRole('heading', { level: 1 }), 'Новый секрет выпущен');
      const newSecret = (await page.locator('#client-secret').textContent())!.trim();
      recordSecret('client_secret shown by the operator page', newSecret);
      expect(newSecret).not.toBe(firstSecret);
      await see.contains(page.locator('.notice.success'), 'Прежний уже не действует');
      await screenshot(page, '7-operator-client-rotated', true);
      // The token endpoint refuses the old secret: 401 with the challenge naming invalid_client.
      await expect(signIn(firstSecret)).rejects.toMatchObject({
        status: 401,
        cause: [
          expect.objectContaining({
            parameters: expect.objectContaining({ error: 'invalid_client' }),
          }),
        ],
      });
      expect((await signIn(newSecret)).claims()).toMatchObject({ aud: clientId });

      // On a phone: the list and the form fit; a refused address is explained under its field.
      const phone = await newPage(390);
      await logIn(phone.page, journey.service.operator.login, journey.service.operator.password);
      await phone.page.goto('/pos/operator?tab=clients');
      await see.visible(
        phone.page
          .locator(`tr[data-client="${clientId}"]`)
          .getByRole('button', { name: `Выпустить новый секрет: ${name}` }),
      );
      await noOverflow(phone.page);
      await screenshot(phone.page, '7-operator-clients-phone', true);
      await phone.page.getByLabel('Название', { exact: true }).fill(`Бэк-офис ПОС ${stamp}`);
      await phone.page
        .getByLabel('Адреса возврата после входа (redirect URI)')
        .fill('http://backoffice.example.ru/callback');
      await phone.page.getByLabel(/Требовать вход через Госуслуги/).check();
      await phone.page.getByRole('button', { name: 'Зарегистрировать приложение' }).click();
      await see.contains(
        phone.page.locator('#client-redirect-uris-error'),
        'http://backoffice.example.ru/callback: нужен адрес https',
      );
      // The field in error has the focus (the phone scrolled down to it); what was typed stays.
      await see.focused(phone.page.getByLabel('Адреса возврата после входа (redirect URI)'));
      await see.value(phone.page.getByLabel('Название', { exact: true }), `Бэк-офис ПОС ${stamp}`);
      expect(await phone.page.getByLabel(/Требовать вход через Госуслуги/).isChecked()).toBe(true);
      await noOverflow(phone.page);
      await screenshot(phone.page, '7-operator-client-error-phone', true);
      await phone.page
        .getByLabel('Адреса возврата после входа (redirect URI)')
        .fill(`${origin}/backoffice`);
      await phone.page.getByRole('button', { name: 'Зарегистрировать приложение' }).click();
      await see.text(phone.page.getByRole('heading', { level: 1 }), 'Приложение зарегистрировано');
      recordSecret(
        'client_secret shown by the operator page',
        (await phone.page.locator('#client-secret').textContent())!.trim(),
      );
      await noOverflow(phone.page);
      await screenshot(phone.page, '7-operator-client-secret-phone', true);

      expect(problems).toEqual([]);
      expect(phone.problems).toEqual([]);
    } finally {
      application.close();
    }
  }, 180_000);
});
