/// <reference lib="dom" />
import { describe, expect, it } from '@jest/globals';
import { type BrowserContext, type Page } from 'playwright-core';
import { JOURNEY_WIDTHS, journeyBrowser, screenshot, see } from '../support/chromium.js';

/**
 * Passkeys in Debian's Chromium (issue 19), against the service as `npm start` runs it, with
 * Chromium's own virtual authenticator (DevTools protocol, WebAuthn domain) standing in for the
 * fingerprint reader: add a key in «Личный кабинет», log out, log in with the password and the
 * key. The page's script is @simplewebauthn/browser's bundle served by the service itself (CSP
 * script-src 'self'). Screens at 1280 and 390 px.
 */
const journey = journeyBrowser();
const PASSWORD = 'Zvezda#2026';

/**
 * The virtual authenticator lives in the page's DevTools session: a platform authenticator that
 * verifies the user (as a fingerprint would) and keeps resident keys.
 */
async function withAuthenticator(context: BrowserContext, page: Page): Promise<void> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    },
  });
}

describe('journey: a passkey in «Личный кабинет»', () => {
  for (const width of JOURNEY_WIDTHS) {
    it(`add a passkey → log out → log in with password and passkey (${width} px)`, async () => {
      const { page, problems } = await journey.page(width, withAuthenticator);
      const login = `hwk.${width}.${Date.now().toString(36)}`;
      await journey.register(page, login, PASSWORD);

      await page.goto('/account/mfa');
      await see.text(page.locator('#passkeys-heading'), 'Ключи доступа (passkeys)');
      await page.getByLabel('Название ключа').fill('Ноутбук');
      await screenshot(page, `passkey-enrol-${width}`, width === 1280);
      await page.getByRole('button', { name: 'Добавить ключ доступа (passkey)' }).click();
      await page.waitForURL('**/account/mfa?notice=passkey_added');
      await see.contains(page.getByRole('status'), 'Ключ доступа добавлен');
      await see.contains(page.locator('ul.passkeys'), 'Ноутбук');
      await screenshot(page, `passkey-list-${width}`, width === 1280);

      await page.getByRole('button', { name: 'Выйти' }).click();
      await page.waitForURL('**/login?notice=logged_out');
      await journey.logIn(page, login, PASSWORD);
      await page.waitForURL('**/login/mfa?returnTo=%2Faccount');
      await see.text(page.getByRole('heading', { level: 1 }), 'Подтвердите вход ключом доступа');
      await screenshot(page, `passkey-login-${width}`, width === 1280);
      await page.getByRole('button', { name: 'Войти с ключом доступа' }).click();
      await page.waitForURL('**/account');
      await see.text(page.getByRole('heading', { level: 1 }), 'Личный кабинет');
      // The session says how it was proved: `amr` of a fresh access token is pwd + hwk.
      const amr = await page.evaluate(async () => {
        const response = await fetch('/api/v1/auth/token', { method: 'POST' });
        const { accessToken } = (await response.json()) as { accessToken: string };
        const payload = accessToken.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
        return (JSON.parse(atob(payload)) as { amr: string[] }).amr;
      });
      expect(amr).toEqual(['pwd', 'hwk']);
      await page.goto('/account/mfa');
      await see.contains(page.locator('ul.passkeys'), 'последний вход');

      expect(problems).toEqual([]);
    });
  }
});
