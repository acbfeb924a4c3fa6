import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import request from 'supertest';
import { AccountToken, AccountTokenPurpose } from '../src/accounts/account-token.entity.js';
import { newSecret } from '../src/common/secrets.js';
import { User } from '../src/identity/user.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import { register, STRONG_PASSWORD, uniqueLogin } from './support/http.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

/**
 * Password fields (ASVS 6.2.6–6.2.8): masked, never echoed, open to paste and password managers,
 * and the password checked exactly as typed.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp(
    { THROTTLE_AUTH_LIMIT: '100000', THROTTLE_LIMIT: '100000' },
    { listen: true },
  );
}, STARTUP_TIMEOUT_MS);
afterAll(() => t.close());

/** Every <input> of a page whose name or id says it holds a password. */
const passwordInputs = (html: string) =>
  [...html.matchAll(/<input\b[^>]*>/g)]
    .map((m) => m[0])
    .filter((input) => /\b(?:name|id)="[^"]*[Pp]assword[^"]*"/.test(input));

async function resetToken(): Promise<string> {
  const account = await register(t, uniqueLogin('inputs'));
  const email = `inputs.${process.pid}.${Date.now()}@example.ru`;
  await t.em().nativeUpdate(User, { id: account.id }, { email, emailVerifiedAt: new Date() });
  const { secret: token, digest: hash } = newSecret();
  const em = t.em();
  em.persist(
    Object.assign(new AccountToken(), {
      user: em.getReference(User, account.id),
      purpose: AccountTokenPurpose.Recovery,
      tokenHash: hash,
      email,
      expiresAt: new Date(Date.now() + 3_600_000),
    }),
  );
  await em.flush();
  return token;
}

describe('password inputs', () => {
  it('are type=password with autocomplete current-password or new-password, and never carry a value', async () => {
    const account = await register(t);
    const signedIn = new Browser(t.url);
    await signedIn.postJson('/api/v1/auth/login', {
      login: account.login,
      password: account.password,
    });
    const pages: [string, Browser][] = [
      ['/login', new Browser(t.url)],
      ['/register', new Browser(t.url)],
      ['/account', signedIn],
      [`/reset-password/${await resetToken()}`, new Browser(t.url)],
    ];
    for (const [path, browser] of pages) {
      const response = await browser.get(path);
      expect({ path, status: response.status }).toEqual({ path, status: 200 });
      const inputs = passwordInputs(await response.text());
      expect({ path, found: inputs.length > 0 }).toEqual({ path, found: true });
      for (const input of inputs) {
        expect({ path, input, type: /\btype="([^"]*)"/.exec(input)?.[1] }).toMatchObject({
          type: 'password',
        });
        expect(input).toMatch(/\bautocomplete="(?:current-password|new-password)"/);
        expect(input).not.toMatch(/\bvalue=/);
        expect(input).not.toMatch(/\bon(?:paste|copy|cut|drop)=/i);
      }
    }
  });

  it('are not filled again with what was typed when the form comes back with errors', async () => {
    const browser = new Browser(t.url);
    const html = await (await browser.get('/register')).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1];
    const typed = 'Typed#Secret1x';
    const refused = await browser.postForm('/register', {
      csrf,
      login: uniqueLogin('echo'),
      password: typed,
      passwordRepeat: `${typed}y`,
    });
    expect(refused.status).toBe(422);
    const page = await refused.text();
    expect(page).toContain('Пароли не совпадают');
    expect(page).not.toContain(typed);
  });

  it('no page script blocks pasting or turns password managers away', () => {
    const assets = new URL('../src/web/assets/', import.meta.url);
    const scripts = readdirSync(assets).filter((name) => name.endsWith('.js'));
    expect(scripts.length).toBeGreaterThan(0);
    for (const name of scripts) {
      const source = readFileSync(new URL(name, assets), 'utf8');
      // copy.js writes to the clipboard for the widget's «Копировать» button; nothing listens
      // for a paste, copy, cut or drop, so nothing can cancel one.
      const blocks =
        /addEventListener\(\s*['"](?:paste|copy|cut|drop)['"]|\bon(?:paste|copy|cut|drop)\b/i;
      expect({ name, blocks: blocks.test(source) }).toEqual({ name, blocks: false });
      expect({ name, off: /autocomplete['"]?\s*[,=:]\s*['"]off/i.test(source) }).toEqual({
        name,
        off: false,
      });
    }
  });
});

describe('password verification', () => {
  it('verifies the password exactly as received: no trimming, no case change, no truncation', async () => {
    const spaced = `  ${STRONG_PASSWORD}  `;
    const long = `${STRONG_PASSWORD}${'q'.repeat(128 - STRONG_PASSWORD.length)}`;
    const tries = async (password: string, attempt: string) => {
      const login = uniqueLogin('exact');
      const created = await request(t.http).post('/api/v1/accounts').send({ login, password });
      expect(created.status).toBe(201);
      return (await request(t.http).post('/api/v1/auth/login').send({ login, password: attempt }))
        .status;
    };
    expect(await tries(spaced, spaced)).toBe(200);
    expect(await tries(spaced, STRONG_PASSWORD)).toBe(401); // not trimmed at registration
    expect(await tries(STRONG_PASSWORD, spaced)).toBe(401); // nor at login
    expect(await tries(STRONG_PASSWORD, STRONG_PASSWORD.toUpperCase())).toBe(401);
    expect(await tries(STRONG_PASSWORD, STRONG_PASSWORD.toLowerCase())).toBe(401);
    expect(await tries(long, long)).toBe(200);
    expect(await tries(long, long.slice(0, 127))).toBe(401);
    expect(await tries(long, long.slice(0, 72))).toBe(401); // bcrypt's silent cut
  });
});
