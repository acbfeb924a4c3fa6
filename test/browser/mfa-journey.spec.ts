/// <reference lib="dom" />
import { describe, expect, it } from '@jest/globals';
import { type Page } from 'playwright-core';
import { TotpApp } from '../support/mfa.js';
import { JOURNEY_WIDTHS, journeyBrowser, screenshot, see } from '../support/chromium.js';

/**
 * The second factor in Debian's Chromium (issue 19), against the service as `npm start` runs it:
 * enrol an authenticator app in «Личный кабинет» (the test reads the secret off the page and
 * computes the codes as the app would), log out, log in with the password and a code, and once
 * with a recovery code. Screens at 1280 and 390 px.
 */
const journey = journeyBrowser();
const PASSWORD = 'Zvezda#2026';

const logIn = (page: Page, login: string) => journey.logIn(page, login, PASSWORD);

async function logOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Выйти' }).click();
  await page.waitForURL('**/login?notice=logged_out');
}

describe('journey: a second factor in «Личный кабинет»', () => {
  for (const width of JOURNEY_WIDTHS) {
    it(`enrol TOTP → log out → log in with password and code → once with a recovery code (${width} px)`, async () => {
      const { page, problems } = await journey.page(width);
      const login = `mfa.${width}.${Date.now().toString(36)}`;
      await journey.register(page, login, PASSWORD);

      // «Двухфакторная аутентификация» → the QR code and the secret as text.
      await see.text(
        page.locator('#mfa').getByRole('heading', { level: 2 }),
        'Двухфакторная аутентификация',
      );
      await page.locator('#mfa').getByRole('link', { name: 'Подключить' }).click();
      await page.waitForURL('**/account/mfa');
      const qr = page.getByRole('img', { name: 'QR-код для приложения-аутентификатора' });
      expect(await qr.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
      const secret = (await page.locator('#totp-secret').textContent())!.trim();
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      await screenshot(page, `mfa-enrol-${width}`, width === 1280);
      const app = new TotpApp(secret);

      // A wrong code first: the page says so and keeps the same secret.
      await page.getByLabel('Код из приложения').fill('000000');
      await page.getByRole('button', { name: 'Подключить' }).click();
      await see.contains(page.getByRole('alert'), 'Код не подошёл');
      expect((await page.locator('#totp-secret').textContent())!.trim()).toBe(secret);
      await page.getByLabel('Код из приложения').fill(await app.code());
      await page.getByRole('button', { name: 'Подключить' }).click();
      await see.text(page.getByRole('heading', { level: 1 }), 'Резервные коды');
      const recoveryCodes = (await page.locator('#recovery-codes code').allTextContents()).map(
        (code) => code.trim(),
      );
      expect(recoveryCodes).toHaveLength(10);
      await screenshot(page, `mfa-recovery-codes-${width}`, width === 1280);
      await page.getByRole('link', { name: 'Я сохранил коды, продолжить' }).click();
      await page.waitForURL('**/account/mfa');
      await see.contains(page.getByRole('status'), 'Приложение-аутентификатор подключено');

      // Log out; the password alone now leads to the code page, not into the account.
      await logOut(page);
      await logIn(page, login);
      await page.waitForURL('**/login/mfa?returnTo=%2Faccount');
      await see.text(page.getByRole('heading', { level: 1 }), 'Введите код из приложения');
      await screenshot(page, `mfa-login-code-${width}`, width === 1280);
      await page.goto('/account');
      await page.waitForURL('**/login?returnTo=%2Faccount');
      await logIn(page, login);
      await page.waitForURL('**/login/mfa?returnTo=%2Faccount');
      await page.getByLabel('Код из приложения или резервный код').fill(await app.code());
      await page.getByRole('button', { name: 'Войти', exact: true }).click();
      await page.waitForURL('**/account');
      await see.text(page.getByRole('heading', { level: 1 }), 'Личный кабинет');

      // Once with a recovery code; the same code a second time is refused.
      await logOut(page);
      await logIn(page, login);
      await page.waitForURL('**/login/mfa?returnTo=%2Faccount');
      await page.getByLabel('Код из приложения или резервный код').fill(recoveryCodes[0]);
      await page.getByRole('button', { name: 'Войти', exact: true }).click();
      await page.waitForURL('**/account');
      await see.contains(page.locator('#mfa'), 'Осталось резервных кодов: 9');
      await logOut(page);
      await logIn(page, login);
      await page.waitForURL('**/login/mfa?returnTo=%2Faccount');
      await page.getByLabel('Код из приложения или резервный код').fill(recoveryCodes[0]);
      await page.getByRole('button', { name: 'Войти', exact: true }).click();
      await see.contains(page.getByRole('alert'), 'Неверный или уже использованный код');
      await screenshot(page, `mfa-login-refused-${width}`);

      expect(problems).toEqual([]);
    });
  }
});
