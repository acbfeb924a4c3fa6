import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AccountToken, AccountTokenPurpose } from '../src/accounts/account-token.entity.js';
import { newSecret } from '../src/common/secrets.js';
import { FederatedIdentity } from '../src/identity/federated-identity.entity.js';
import { User } from '../src/identity/user.entity.js';
import { Membership } from '../src/pos/membership.entity.js';
import { Session } from '../src/sessions/session.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import { linkThrough, loggedInBrowser } from './support/gosuslugi.js';
import { register, STRONG_PASSWORD, uniqueLogin } from './support/http.js';
import { memberBrowser, organization } from './support/pos.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ THROTTLE_AUTH_LIMIT: '100000' }, { listen: true });
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

/** The page's HTML and its form token. */
async function page(browser: Browser, path: string): Promise<{ html: string; csrf: string }> {
  const response = await browser.get(path);
  expect(response.status).toBe(200);
  const html = await response.text();
  return { html, csrf: /name="csrf" value="([^"]+)"/.exec(html)![1] };
}

const FORGED = 'x'.repeat(43);

describe('pages: Content-Security-Policy', () => {
  it('allows scripts and styles from the service only: no inline script or style on any page', async () => {
    const { browser } = await loggedInBrowser(t);
    for (const path of ['/login', '/register', '/account', '/pos']) {
      const response = await (
        path === '/login' || path === '/register' ? new Browser(t.url) : browser
      ).get(path);
      expect(response.status).toBe(200);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      const html = await response.text();
      expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
      expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    }
  });

  it('serves the stylesheet and scripts as files', async () => {
    for (const file of [
      'app.css',
      'password-checklist.js',
      'copy.js',
      'confirm.js',
      'widget-preview.js',
    ]) {
      const response = await fetch(`${t.url}/assets/${file}`);
      expect(response.status).toBe(200);
    }
  });
});

describe('pages: CSRF on every form', () => {
  it('refuses a forged «Сохранить» in «Личный кабинет»: nothing changes', async () => {
    const { browser, id } = await loggedInBrowser(t);
    const forged = await browser.postForm('/account', { csrf: FORGED, phone: '+79990000000' });
    expect(forged.status).toBe(403);
    const { csrf } = await page(browser, '/account');
    const fromElsewhere = await browser.postFormCrossSite('/account', {
      csrf,
      phone: '+79990000000',
    });
    expect(fromElsewhere.status).toBe(403);
    expect((await t.em().findOneOrFail(User, id)).phone).toBeNull();
  });

  it('refuses a forged «Отвязать Госуслуги»: the link stays', async () => {
    const { browser, id } = await loggedInBrowser(t);
    expect((await linkThrough(browser, 1000000003)).status).toBe(303);
    const forged = await browser.postForm('/account/gosuslugi/unlink', { csrf: FORGED });
    expect(forged.status).toBe(403);
    expect(await t.em().count(FederatedIdentity, { user: id })).toBe(1);
  });

  it('refuses a forged «Выйти»: the session stays', async () => {
    const { browser } = await loggedInBrowser(t);
    expect((await browser.postForm('/logout', { csrf: FORGED })).status).toBe(403);
    expect((await browser.get('/api/v1/me')).status).toBe(200);
    const { csrf } = await page(browser, '/account');
    const out = await browser.postForm('/logout', { csrf });
    expect(out.status).toBe(303);
    expect((await browser.get('/api/v1/me')).status).toBe(401);
  });

  it('refuses a forged «Добавить пользователя» and member actions: nothing is written', async () => {
    const org = await organization(t.em(), 'Гимназия № 3', null);
    const { browser, membership } = await memberBrowser(t, org, ['admin']);
    const form = {
      organizationId: org.id,
      email: 'forged@example.ru',
      lastName: 'Подделкина',
      firstName: 'Анна',
      roles: 'moderator',
    };
    expect((await browser.postForm('/pos/admin/members', { ...form, csrf: FORGED })).status).toBe(
      403,
    );
    const { csrf } = await page(browser, `/pos/admin?org=${org.id}`);
    expect((await browser.postFormCrossSite('/pos/admin/members', { ...form, csrf })).status).toBe(
      403,
    );
    expect(await t.em().count(Membership, { email: 'forged@example.ru' })).toBe(0);
    const other = await memberBrowser(t, org, ['moderator']);
    const archive = await browser.postForm(`/pos/admin/members/${other.membership.id}/archive`, {
      csrf: FORGED,
      organizationId: org.id,
    });
    expect(archive.status).toBe(403);
    expect((await t.em().findOneOrFail(Membership, other.membership.id)).status).toBe('confirmed');
    expect(membership.id).toBeDefined();
  });

  it('refuses a forged «Сохранить пароль» on a recovery link: the password and the link stay', async () => {
    const account = await register(t, uniqueLogin('forgedreset'));
    const user = await t.em().findOneOrFail(User, account.id);
    user.email = `${account.login}@example.ru`;
    const { secret: token, digest: hash } = newSecret();
    const em = t.em();
    em.persist(
      Object.assign(new AccountToken(), {
        user: em.getReference(User, account.id),
        purpose: AccountTokenPurpose.Recovery,
        tokenHash: hash,
        email: user.email,
        expiresAt: new Date(Date.now() + 3_600_000),
      }),
    );
    await em.flush();
    await t.em().nativeUpdate(User, account.id, { email: user.email });
    const browser = new Browser(t.url);
    const { csrf } = await page(browser, `/reset-password/${token}`);
    const form = { token, password: 'Novyi#Parol2026', passwordRepeat: 'Novyi#Parol2026' };
    expect((await browser.postForm('/reset-password', { ...form, csrf: FORGED })).status).toBe(403);
    expect((await browser.postFormCrossSite('/reset-password', { ...form, csrf })).status).toBe(
      403,
    );
    const login = await fetch(`${t.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: account.login, password: account.password }),
    });
    expect(login.status).toBe(200);
    const done = await browser.postForm('/reset-password', { ...form, csrf });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/login?notice=password_reset');
  });

  it('refuses a registration posted from another site (login CSRF through registration)', async () => {
    const browser = new Browser(t.url);
    const { csrf } = await page(browser, '/register');
    const login = uniqueLogin('csrfreg');
    const response = await browser.postFormCrossSite('/register', {
      csrf,
      login,
      password: STRONG_PASSWORD,
      passwordRepeat: STRONG_PASSWORD,
    });
    expect(response.status).toBe(403);
    expect(await t.em().count(User, { login })).toBe(0);
  });
});

describe('pages: /pos/admin stays inside the administrator’s subtree', () => {
  it('answers a sibling’s organisation and its members as not found, and changes nothing', async () => {
    const region = await organization(t.em(), 'Комитет образования', null);
    const mine = await organization(t.em(), 'Школа № 1', region);
    const sibling = await organization(t.em(), 'Школа № 2', region);
    const { browser } = await memberBrowser(t, mine, ['admin']);
    const theirs = await memberBrowser(t, sibling, ['moderator']);

    const view = await browser.get(`/pos/admin?org=${sibling.id}&tab=members`);
    expect(view.status).toBe(404);
    expect(await view.text()).not.toContain(theirs.membership.email);
    expect((await browser.get(`/pos/admin?org=${region.id}`)).status).toBe(404);

    const { csrf } = await page(browser, `/pos/admin?org=${mine.id}`);
    const archive = await browser.postForm(`/pos/admin/members/${theirs.membership.id}/archive`, {
      csrf,
      organizationId: mine.id,
    });
    expect(archive.status).toBe(404);
    expect((await t.em().findOneOrFail(Membership, theirs.membership.id)).status).toBe('confirmed');
    const add = await browser.postForm('/pos/admin/members', {
      csrf,
      organizationId: sibling.id,
      email: 'smuggled@example.ru',
      lastName: 'Чужая',
      firstName: 'Анна',
      roles: 'admin',
    });
    expect(add.status).toBe(404);
    expect(await t.em().count(Membership, { email: 'smuggled@example.ru' })).toBe(0);
  });

  it('sends a member without the admin role away with a page, not the admin area', async () => {
    const org = await organization(t.em(), 'Школа № 9', null);
    const { browser } = await memberBrowser(t, org, ['executor']);
    const response = await browser.get('/pos/admin');
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('Нет доступа к администрированию');
  });

  it('adds a member with two roles from the form (roles arrive as a repeated field)', async () => {
    const org = await organization(t.em(), 'Школа № 11', null);
    const { browser } = await memberBrowser(t, org, ['admin']);
    const { csrf } = await page(browser, `/pos/admin?org=${org.id}&tab=add`);
    const body = new URLSearchParams({
      csrf,
      organizationId: org.id,
      email: 'two.roles@example.ru',
      lastName: 'Двухролева',
      firstName: 'Анна',
    });
    body.append('roles', 'moderator');
    body.append('roles', 'executor');
    const response = await browser.request('/pos/admin/members', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
    });
    expect(response.status).toBe(303);
    const created = await t.em().findOneOrFail(Membership, { email: 'two.roles@example.ru' });
    expect(created.roles).toEqual(['moderator', 'executor']);
  });
});

describe('pages: «Личный кабинет» forms', () => {
  it('changes the password only with the right current password; other sessions end', async () => {
    const { browser, login, password, id } = await loggedInBrowser(t);
    const other = new Browser(t.url);
    await other.postJson('/api/v1/auth/login', { login, password });
    const { csrf } = await page(browser, '/account');
    const wrong = await browser.postForm('/account', {
      csrf,
      currentPassword: 'Wrong#Password1',
      password: 'Novyi#Parol2026',
      passwordRepeat: 'Novyi#Parol2026',
    });
    expect(wrong.status).toBe(422);
    expect(await wrong.text()).toMatch(/id="currentPassword-error"><li>Неверный текущий пароль/);
    const weak = await browser.postForm('/account', {
      csrf,
      currentPassword: password,
      password: 'short',
      passwordRepeat: 'short',
    });
    expect(weak.status).toBe(422);
    const weakHtml = await weak.text();
    for (const text of ['От 8 символов', 'Хотя бы одна цифра', 'Хотя бы одна прописная']) {
      expect(weakHtml).toContain(text);
    }
    const done = await browser.postForm('/account', {
      csrf,
      currentPassword: password,
      password: 'Novyi#Parol2026',
      passwordRepeat: 'Novyi#Parol2026',
    });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/account?notice=password_changed');
    expect((await other.get('/api/v1/me')).status).toBe(401);
    expect((await browser.get('/api/v1/me')).status).toBe(200);
    expect(await t.em().count(Session, { user: id, revokedAt: null })).toBe(1);
  });

  it('keeps the page’s notices to a fixed list (no reflected text)', async () => {
    const { browser } = await loggedInBrowser(t);
    const response = await browser.get('/account?notice=%3Cscript%3Ealert(1)%3C/script%3E');
    const html = await response.text();
    expect(html).not.toContain('alert(1)');
    expect(html).not.toContain('class="notice');
  });

  it('registers through the form with every broken rule listed, then logs in', async () => {
    const browser = new Browser(t.url);
    const { csrf } = await page(browser, '/register');
    const login = uniqueLogin('formreg');
    const weak = await browser.postForm('/register', {
      csrf,
      login,
      password: 'пароль',
      passwordRepeat: 'другой',
    });
    expect(weak.status).toBe(422);
    const html = await weak.text();
    for (const text of ['Недопустима кириллица', 'Хотя бы одна цифра', 'Пароли не совпадают']) {
      expect(html).toContain(text);
    }
    expect(await t.em().count(User, { login })).toBe(0);
    const taken = await register(t);
    const duplicate = await browser.postForm('/register', {
      csrf,
      login: taken.login,
      password: STRONG_PASSWORD,
      passwordRepeat: STRONG_PASSWORD,
    });
    expect(duplicate.status).toBe(422);
    expect(await duplicate.text()).toMatch(/id="login-error"><li>Этот логин уже занят/);
    const ok = await browser.postForm('/register', {
      csrf,
      login,
      password: STRONG_PASSWORD,
      passwordRepeat: STRONG_PASSWORD,
      email: 'formreg@example.ru',
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/account?notice=registered');
    expect((await browser.get('/api/v1/me')).status).toBe(200);
    const user = await t.em().findOneOrFail(User, { login });
    expect(user.email).toBeNull();
    expect(user.pendingEmail).toBe('formreg@example.ru');
  });
});

describe('pages: errors', () => {
  it('answers a browser with a page and an API client with JSON', async () => {
    const html = await fetch(`${t.url}/no-such-page`, { headers: { accept: 'text/html' } });
    expect(html.status).toBe(404);
    expect(html.headers.get('content-type')).toContain('text/html');
    expect(await html.text()).toContain('Страница не найдена');
    const json = await fetch(`${t.url}/no-such-page`, { headers: { accept: 'application/json' } });
    expect(json.status).toBe(404);
    expect(((await json.json()) as { code: string }).code).toBe('not_found');
    // The router reads `/API/…` and `/%61pi/…` as the API: so does the choice of a page.
    for (const path of [
      '/api/v1/no-such-thing',
      '/API/v1/no-such-thing',
      '/%61pi/v1/no-such-thing',
    ]) {
      const api = await fetch(`${t.url}${path}`, { headers: { accept: 'text/html' } });
      expect(api.status).toBe(404);
      expect(api.headers.get('content-type')).toContain('application/json');
    }
  });

  // Fastify refuses these before routing (a parameter that does not decode, one over the length
  // limit): a mail client that mangles or lengthens an invitation link must still leave the
  // person a page in Russian, not the API's JSON.
  it.each([
    [
      'a mangled invitation link (a token that does not decode)',
      '/pos/invitations/%ED%A0%80',
      400,
      'bad_request',
      'Некорректный запрос',
    ],
    [
      'an over-long invitation link',
      `/pos/invitations/${'a'.repeat(2049)}`,
      414,
      'uri_too_long',
      'Слишком длинный адрес запроса',
    ],
  ])(
    'answers %s with a page for a browser and JSON for the API',
    async (_what, path, status, code, text) => {
      const html = await fetch(`${t.url}${path}`, { headers: { accept: 'text/html' } });
      expect(html.status).toBe(status);
      expect(html.headers.get('content-type')).toContain('text/html');
      expect(html.headers.get('cache-control')).toBe('no-store');
      const requestId = html.headers.get('x-request-id');
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      const body = await html.text();
      expect(body).toContain(text);
      expect(body).toContain(`data-error-code="${code}"`);
      expect(body).toContain('href="/"');
      const json = await fetch(`${t.url}${path}`, { headers: { accept: 'application/json' } });
      expect(json.status).toBe(status);
      expect(await json.json()).toEqual({ statusCode: status, code, message: text });
      const api = await fetch(`${t.url}/api/v1/pos/organizations/${path.split('/').pop()}`, {
        headers: { accept: 'text/html' },
      });
      expect(api.status).toBe(status);
      expect(api.headers.get('content-type')).toContain('application/json');
    },
  );
});
