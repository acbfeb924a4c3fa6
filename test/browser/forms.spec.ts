/// <reference lib="dom" />
import { describe, expect, it } from '@jest/globals';
import { journeyBrowser } from '../support/chromium.js';

/**
 * What a form page does after a failed POST, in Chromium: the address bar shows the page's own
 * address (reloading opens the page, it does not send the form again), a server error under a
 * field goes once the field is edited, and the registration page says why the password is empty.
 */
const journey = journeyBrowser();
const newPage = () => journey.page(1280);

describe('form pages after a failed POST', () => {
  it('a failed login shows the login page’s own address, and reloading it opens the page instead of logging in again', async () => {
    const { page, problems } = await newPage();
    await page.goto('/login?returnTo=%2Fpos');
    await page.getByLabel('Логин').fill('nobody.here');
    await page.getByLabel('Пароль').fill('Wrong#Pass1');
    const posted = page.waitForResponse(
      (response) => response.request().method() === 'POST' && response.url().endsWith('/login'),
    );
    await page.getByRole('button', { name: 'Войти', exact: true }).click();
    expect((await posted).status()).toBe(401);
    await page.waitForURL('**/login?returnTo=%2Fpos');
    const reloaded = page.waitForRequest((request) => request.url().includes('/login'));
    await page.reload();
    expect((await reloaded).method()).toBe('GET');
    await page.getByLabel('Логин').waitFor({ state: 'visible' });
    expect(await page.getByLabel('Логин').inputValue()).toBe('');
    expect(problems).toEqual([]);
  });

  it('a server error under the password goes once the password is edited; an e-mail error says why the password is empty', async () => {
    const { page, problems } = await newPage();
    await page.goto('/register');
    await page.getByLabel('Логин').fill(`forms.${Date.now().toString(36)}`);
    await page.getByLabel('Пароль', { exact: true }).fill('Password#2026');
    await page.getByLabel('Повторите пароль').fill('Password#2027');
    await page.getByRole('button', { name: 'Зарегистрироваться' }).click();
    const repeatError = page.locator('#passwordRepeat-error');
    await repeatError.waitFor({ state: 'visible' });
    await page.getByLabel('Повторите пароль').fill('P');
    await repeatError.waitFor({ state: 'hidden' });
    expect(await page.getByLabel('Повторите пароль').getAttribute('aria-invalid')).toBeNull();

    // Only the e-mail is wrong: the password fields come back empty, and the page says why.
    await page.getByLabel('Пароль', { exact: true }).fill('Zvezda#2026x');
    await page.getByLabel('Повторите пароль').fill('Zvezda#2026x');
    await page.getByLabel('Email').fill('ivanova@localhost');
    await page.getByRole('button', { name: 'Зарегистрироваться' }).click();
    await page.locator('#email-error').waitFor({ state: 'visible' });
    await expect(page.locator('#password-again').textContent()).resolves.toContain(
      'введите его ещё раз',
    );
    expect(new URL(page.url()).pathname).toBe('/register');
    expect(problems).toEqual([]);
  });
});
