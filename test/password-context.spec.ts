import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { AccountToken, AccountTokenPurpose } from '../src/accounts/account-token.entity.js';
import { newSecret } from '../src/common/secrets.js';
import { User } from '../src/identity/user.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { register, STRONG_PASSWORD, uniqueLogin } from './support/http.js';
import { memberBrowser, organization } from './support/pos.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

/**
 * Context-specific words (ASVS 6.1.2 / 6.2.11, rule `context_word`): the documented list in
 * config/context-words.txt on every path that sets a password, and the person's own ФИО and
 * organisation names, transliterated, where the account is known (change, first password, reset).
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp(
    { THROTTLE_AUTH_LIMIT: '100000', THROTTLE_LIMIT: '100000' },
    { listen: true },
  );
}, STARTUP_TIMEOUT_MS);
afterAll(() => t.close());

const codes = (body: { errors?: Record<string, { code: string }[]> }, field: string) =>
  (body.errors?.[field] ?? []).map((e) => e.code);

describe('context words in passwords', () => {
  it('refuses at registration a password containing a documented context word, with code context_word', async () => {
    for (const password of ['Gosuslugi#2026', 'xEPOS2026!x', 'Shkola#2026x', 'MyRegion1!']) {
      const response = await request(t.http)
        .post('/api/v1/accounts')
        .send({ login: uniqueLogin('ctx'), password });
      expect({
        password,
        status: response.status,
        codes: codes(response.body, 'password'),
      }).toEqual({ password, status: 422, codes: ['context_word'] });
      expect(response.body.errors.password[0].message).toMatch(/не должен содержать/);
    }
  });

  it("refuses at password change the person's surname, transliterated, and a word of their organisation's name", async () => {
    const school = await organization(t.em(), 'Лицей «Эврика» № 9', null);
    const { browser, user } = await memberBrowser(t, school, ['executor']);
    await t.em().nativeUpdate(User, { id: user.id }, { lastName: 'Соловьёва', firstName: 'Юлия' });
    const change = (password: string) =>
      browser.postJson('/api/v1/me/password', {
        currentPassword: STRONG_PASSWORD,
        newPassword: password,
        newPasswordRepeat: password,
      });
    for (const password of [
      'Solovyova#2026', // informal spelling of the surname
      'Soloveva#2026', // ICAO 9303
      'Yuliya(1990)', // the first name
      'Evrika#2026x', // the organisation's name
      'LICEY#2026x', // the organisation's name, informal, upper case
    ]) {
      const response = await change(password);
      const body = (await response.json()) as { errors?: Record<string, { code: string }[]> };
      expect({ password, status: response.status, codes: codes(body, 'newPassword') }).toEqual({
        password,
        status: 422,
        codes: ['context_word'],
      });
    }
    expect((await change('Zvezda#2026y')).status).toBe(204);
  });

  it('refuses at password reset a password containing the first name of the account', async () => {
    const account = await register(t, uniqueLogin('ctxreset'));
    const email = `ctx.reset.${process.pid}@example.ru`;
    await t
      .em()
      .nativeUpdate(
        User,
        { id: account.id },
        { firstName: 'Ксения', email, emailVerifiedAt: new Date() },
      );
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
    const reset = (password: string) =>
      request(t.http)
        .post('/api/v1/auth/recovery/password')
        .send({ token, newPassword: password, newPasswordRepeat: password });
    const refused = await reset('Kseniya#2026');
    expect(refused.status).toBe(422);
    expect(codes(refused.body, 'newPassword')).toEqual(['context_word']);
    expect((await reset('Zvezda#2026y')).status).toBe(204);
  });
});
