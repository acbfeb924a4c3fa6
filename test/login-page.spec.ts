import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Session } from '../src/sessions/session.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import { register } from './support/http.js';
import { secretDigest } from '../src/common/secrets.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ THROTTLE_AUTH_LIMIT: '100000' }, { listen: true });
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

async function formToken(browser: Browser, path: string): Promise<{ html: string; csrf: string }> {
  const page = await browser.get(path);
  expect(page.status).toBe(200);
  const html = await page.text();
  return { html, csrf: /name="csrf" value="([^"]+)"/.exec(html)![1] };
}

/** Logs `browser` in through the page's form. */
async function logInWithForm(browser: Browser, account: { login: string; password: string }) {
  const { csrf } = await formToken(browser, '/login');
  const response = await browser.postForm('/login', {
    csrf,
    login: account.login,
    password: account.password,
  });
  expect(response.status).toBe(303);
}

describe('the login page', () => {
  it('logs in with the form and goes to a local returnTo only', async () => {
    const account = await register(t);
    const browser = new Browser(t.url);
    const { html, csrf } = await formToken(browser, '/login?returnTo=%2F%2Fevil.example');
    expect(html).toContain('<label for="login">Логин</label>');
    expect(html).toContain('value="/account"');
    const response = await browser.postForm('/login', {
      csrf,
      login: account.login,
      password: account.password,
      returnTo: '/pos',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/pos');
    expect((await browser.get('/api/v1/me')).status).toBe(200);
  });

  it('answers a wrong password with the generic message on the page', async () => {
    const account = await register(t);
    const browser = new Browser(t.url);
    const { csrf } = await formToken(browser, '/login');
    const response = await browser.postForm('/login', {
      csrf,
      login: account.login,
      password: 'Wrong#Password1',
    });
    expect(response.status).toBe(401);
    expect(await response.text()).toContain('Неверный логин или пароль');
  });

  it('refuses a post without the form token or from another site (login CSRF)', async () => {
    const account = await register(t);
    const attacker = new Browser(t.url);
    const missing = await attacker.postForm('/login', {
      csrf: 'x'.repeat(43),
      login: account.login,
      password: account.password,
    });
    expect(missing.status).toBe(403);
    expect(attacker.cookies.has('il_session')).toBe(false);
    const { csrf } = await formToken(attacker, '/login');
    const crossSite = await attacker.request('/login', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://evil.example',
      },
      body: new URLSearchParams({
        csrf,
        login: account.login,
        password: account.password,
      }).toString(),
    });
    expect(crossSite.status).toBe(403);
    expect(attacker.cookies.has('il_session')).toBe(false);
  });

  it('asks only for the password again when re-authenticating, and refreshes the session', async () => {
    const account = await register(t);
    const browser = new Browser(t.url);
    await logInWithForm(browser, account);
    await t
      .em()
      .nativeUpdate(
        Session,
        { user: account.id },
        { authenticatedAt: new Date(Date.now() - 11 * 60_000) },
      );
    const { html, csrf } = await formToken(
      browser,
      '/login?reauth=1&returnTo=%2Fauth%2Fgosuslugi%2Flink',
    );
    expect(html).toContain('Подтвердите пароль');
    expect(html).not.toContain('<label for="login">');
    const response = await browser.postForm('/login', {
      csrf,
      password: account.password,
      returnTo: '/auth/gosuslugi/link',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/auth/gosuslugi/link');
    const [session] = await t.em().find(Session, { user: account.id, revokedAt: null });
    expect(Date.now() - session.authenticatedAt.getTime()).toBeLessThan(60_000);
  });

  it('gives the browser a new session cookie when the password is confirmed, and refuses the old one (ASVS 7.2.4)', async () => {
    const account = await register(t);
    const browser = new Browser(t.url);
    await logInWithForm(browser, account);
    const before = browser.cookies.get('il_session')!;
    const { csrf } = await formToken(browser, '/login?reauth=1&returnTo=%2Faccount');
    const response = await browser.postForm('/login', {
      csrf,
      password: account.password,
      returnTo: '/account',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/account');
    const after = browser.cookies.get('il_session')!;
    expect(after).not.toBe(before);
    // The form token is dropped as at login: the next page issues a new one.
    expect(browser.cookies.has('il_csrf')).toBe(false);

    const live = await t.em().find(Session, { user: account.id, revokedAt: null });
    expect(live.map((session) => session.tokenHash)).toEqual([secretDigest(after)]);
    const old = new Browser(t.url);
    old.cookies.set('il_session', before);
    expect((await old.get('/api/v1/me')).status).toBe(401);
    expect((await browser.get('/account')).status).toBe(200);
  });
});
