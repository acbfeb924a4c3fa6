import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import argon2 from 'argon2';
import request from 'supertest';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { PasswordCredential } from '../src/identity/password-credential.entity.js';
import { User } from '../src/identity/user.entity.js';
import { MailMessage } from '../src/mail/mail-message.entity.js';
import { Session } from '../src/sessions/session.entity.js';
import { secretDigest } from '../src/common/secrets.js';
import { startTestApp, type TestApp } from './support/app.js';
import { login, register, weakenStoredHash } from './support/http.js';
import { TestSmtp } from './support/smtp.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

const smtp = new TestSmtp();
let t: TestApp;
beforeAll(async () => {
  await smtp.start();
  t = await startTestApp({ THROTTLE_AUTH_LIMIT: '100000', SMTP_URL: smtp.url });
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
  await smtp.stop();
});

const NEW_PASSWORD = 'Raduga(2027)';

describe('password change', () => {
  it('requires the current password, and a wrong one counts toward lockout', async () => {
    const account = await register(t);
    const { cookie } = await login(t, account);
    const response = await request(t.http).post('/api/v1/me/password').set('Cookie', cookie).send({
      currentPassword: 'Not#TheRight1',
      newPassword: NEW_PASSWORD,
      newPasswordRepeat: NEW_PASSWORD,
    });
    expect(response.status).toBe(422);
    expect(response.body.errors.currentPassword[0].code).toBe('invalid_current_password');
    const credential = await t.em().findOneOrFail(PasswordCredential, { user: account.id });
    expect(credential.failureCount).toBe(1);
    await login(t, account); // the old password still works
  });

  it('applies the policy to the new password, including the login rule, and checks the repeat', async () => {
    const account = await register(t);
    const { cookie } = await login(t, account);
    const change = (body: object) =>
      request(t.http).post('/api/v1/me/password').set('Cookie', cookie).send(body);

    const weak = await change({
      currentPassword: account.password,
      newPassword: 'weakpass',
      newPasswordRepeat: 'weakpass',
    });
    expect(weak.status).toBe(422);
    expect(weak.body.errors.newPassword.map((e: { code: string }) => e.code)).toEqual([
      'no_special',
      'no_digit',
      'no_upper',
    ]);

    const withLogin = `Q1!${account.login}`;
    const containsLogin = await change({
      currentPassword: account.password,
      newPassword: withLogin,
      newPasswordRepeat: withLogin,
    });
    expect(containsLogin.body.errors.newPassword.map((e: { code: string }) => e.code)).toEqual([
      'contains_login',
    ]);

    const mismatch = await change({
      currentPassword: account.password,
      newPassword: NEW_PASSWORD,
      newPasswordRepeat: NEW_PASSWORD + 'x',
    });
    expect(mismatch.body.errors.newPasswordRepeat[0].code).toBe('mismatch');

    // Every problem at once: wrong current password, the policy with the login, the repeat.
    const all = await change({
      currentPassword: 'Not#TheRight1',
      newPassword: account.login,
      newPasswordRepeat: 'other',
    });
    expect(all.status).toBe(422);
    expect(Object.keys(all.body.errors).sort()).toEqual([
      'currentPassword',
      'newPassword',
      'newPasswordRepeat',
    ]);
    expect(all.body.errors.newPassword.map((e: { code: string }) => e.code)).toEqual(
      expect.arrayContaining(['no_special', 'no_upper', 'contains_login']),
    );

    const unchanged = await t.em().findOneOrFail(PasswordCredential, { user: account.id });
    await login(t, account);
    expect((await t.em().findOneOrFail(PasswordCredential, { user: account.id })).hash).toBe(
      unchanged.hash,
    );
  });

  it('changes the password, ends every other session and keeps the current one', async () => {
    const account = await register(t);
    const other = await login(t, account);
    const current = await login(t, account);

    const response = await request(t.http)
      .post('/api/v1/me/password')
      .set('Cookie', current.cookie)
      .send({
        currentPassword: account.password,
        newPassword: NEW_PASSWORD,
        newPasswordRepeat: NEW_PASSWORD,
      });
    expect(response.status).toBe(204);

    await request(t.http).get('/api/v1/me').set('Cookie', current.cookie).expect(200);
    await request(t.http)
      .get('/api/v1/me')
      .set('Authorization', `Bearer ${current.accessToken}`)
      .expect(200);
    await request(t.http).get('/api/v1/me').set('Cookie', other.cookie).expect(401);
    await request(t.http)
      .get('/api/v1/me')
      .set('Authorization', `Bearer ${other.accessToken}`)
      .expect(401);

    await request(t.http)
      .post('/api/v1/auth/login')
      .send({ login: account.login, password: account.password })
      .expect(401);
    await login(t, { login: account.login, password: NEW_PASSWORD });
    const event = await t
      .em()
      .findOneOrFail(AuditEvent, { type: 'password.changed', targetUserId: account.id });
    expect(event.details).toEqual({ endedSessions: 1 });
  });
});

describe('password change racing a login with the old password', () => {
  it('never lets the old password back in, whichever commits first', async () => {
    for (let round = 0; round < 6; round++) {
      const account = await register(t);
      const current = await login(t, account);
      if (round % 2 === 1) {
        // A weak stored hash makes the racing login re-hash: it must not write the old password back.
        await weakenStoredHash(t, account.id, account.password);
      }
      const [change, racing] = await Promise.all([
        request(t.http).post('/api/v1/me/password').set('Cookie', current.cookie).send({
          currentPassword: account.password,
          newPassword: NEW_PASSWORD,
          newPasswordRepeat: NEW_PASSWORD,
        }),
        request(t.http)
          .post('/api/v1/auth/login')
          .send({ login: account.login, password: account.password }),
      ]);
      expect(change.status).toBe(204);
      expect([200, 401]).toContain(racing.status);

      const credential = await t.em().findOneOrFail(PasswordCredential, { user: account.id });
      expect(await argon2.verify(credential.hash, NEW_PASSWORD)).toBe(true);
      expect(await argon2.verify(credential.hash, account.password)).toBe(false);
      const live = await t.em().find(Session, { user: account.id, revokedAt: null });
      expect(live.map((session) => session.tokenHash)).toEqual([
        secretDigest(current.cookie.split('=')[1]),
      ]);
    }
  });
});

describe('password change racing a re-authentication with the old password', () => {
  it('never leaves a session made with the old password once the change commits, whichever comes first', async () => {
    for (let round = 0; round < 6; round++) {
      const account = await register(t);
      const changing = await login(t, account);
      const other = await login(t, account);
      const [change, reauth] = await Promise.all([
        request(t.http).post('/api/v1/me/password').set('Cookie', changing.cookie).send({
          currentPassword: account.password,
          newPassword: NEW_PASSWORD,
          newPasswordRepeat: NEW_PASSWORD,
        }),
        request(t.http)
          .post('/api/v1/auth/reauthenticate')
          .set('Cookie', other.cookie)
          .send({ password: account.password }),
      ]);
      expect(change.status).toBe(204);
      expect([200, 401]).toContain(reauth.status);
      const live = await t.em().find(Session, { user: account.id, revokedAt: null });
      expect(live.map((session) => session.tokenHash)).toEqual([
        secretDigest(changing.cookie.split('=')[1]),
      ]);
    }
  });
});

describe('notice of a password change (ASVS 6.3.7)', () => {
  let mailbox = 0;
  const address = () => `change.${process.pid}.${++mailbox}@example.ru`;
  const SUBJECT = 'Пароль учётной записи ЭПОС изменён';
  const moscow = (date: Date) =>
    date.toLocaleString('ru-RU', {
      timeZone: 'Europe/Moscow',
      dateStyle: 'long',
      timeStyle: 'short',
    });
  const change = (cookie: string, currentPassword: string) =>
    request(t.http).post('/api/v1/me/password').set('Cookie', cookie).send({
      currentPassword,
      newPassword: NEW_PASSWORD,
      newPasswordRepeat: NEW_PASSWORD,
    });
  const noticesTo = (to: string) => t.em().count(MailMessage, { to, subject: SUBJECT });

  it('tells the verified address what changed, when and what to do, through the outbox, with no live link', async () => {
    const account = await register(t);
    const email = address();
    // A pending address must not get it: only the verified one is the person's.
    const pending = address();
    await t.em().nativeUpdate(User, { id: account.id }, { email, pendingEmail: pending });
    const { cookie } = await login(t, account);

    // A refused change sends nothing: the notice belongs to the change's transaction.
    expect((await change(cookie, 'Not#TheRight1')).status).toBe(422);
    expect(await noticesTo(email)).toBe(0);

    const started = new Date();
    expect((await change(cookie, account.password)).status).toBe(204);
    const finished = new Date();
    expect(await noticesTo(email)).toBe(1);
    expect(await noticesTo(pending)).toBe(0);

    const mail = await smtp.waitFor(email);
    expect(mail.subject).toBe(SUBJECT);
    expect(mail.text).toContain(`«${account.login.toLowerCase()}»`);
    expect(mail.text).toContain('изменён в «Личном кабинете»');
    expect([moscow(started), moscow(finished)].some((when) => mail.text.includes(when))).toBe(true);
    expect(mail.text).toContain('Остальные сеансы учётной записи завершены');
    expect(mail.text).toContain('Если это сделали не вы');
    expect(mail.text).toContain('«Забыли пароль?»');
    expect(mail.text).toContain(`${t.url}/forgot-password`);
    // No token of any kind: no 43-character secret, no reset or verification link.
    expect(mail.text).not.toMatch(/[A-Za-z0-9_-]{43}/);
    expect(mail.text).not.toMatch(/reset-password|verify-email/);
    expect(smtp.received.filter((m) => m.to.includes(pending))).toEqual([]);
  });

  it('sends no notice when the account has no verified e-mail', async () => {
    const account = await register(t);
    const pending = address();
    await t.em().nativeUpdate(User, { id: account.id }, { pendingEmail: pending });
    const { cookie } = await login(t, account);
    const before = await t.em().count(MailMessage, {});
    expect((await change(cookie, account.password)).status).toBe(204);
    expect(await t.em().count(MailMessage, {})).toBe(before);
    expect(await noticesTo(pending)).toBe(0);
  });
});
