import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AccountToken, AccountTokenPurpose } from '../src/accounts/account-token.entity.js';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { User } from '../src/identity/user.entity.js';
import { Session } from '../src/sessions/session.entity.js';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import { register, STRONG_PASSWORD, uniqueLogin } from './support/http.js';
import { json } from './support/pos.js';
import { linkToken, type ReceivedMail, TestSmtp } from './support/smtp.js';
import { waitForLockWaiter, waitUntil } from './support/wait.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

/**
 * E-mail verification and password recovery over HTTP, with the mail read from a real SMTP
 * conversation. The timing bound of recovery answers is documented in README («Восстановление
 * пароля»): the medians of existing and absent accounts differ by less than RECOVERY_TIMING_BOUND_MS.
 */
export const RECOVERY_TIMING_BOUND_MS = 15;

const smtp = new TestSmtp();
let t: TestApp;

beforeAll(async () => {
  await smtp.start();
  t = await startTestApp(
    { SMTP_URL: smtp.url, THROTTLE_AUTH_LIMIT: '100000', THROTTLE_LIMIT: '100000' },
    { listen: true },
  );
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
  await smtp.stop();
});

let mailbox = 0;
function address(prefix: string): string {
  mailbox += 1;
  return `${prefix}.${process.pid}.${mailbox}@example.ru`;
}

/** Mail to `to` whose subject contains `subject`, waiting for it. */
const mailTo = (to: string, subject: string, timeoutMs = 15_000): Promise<ReceivedMail> =>
  smtp.waitFor(to, timeoutMs, subject);

const mailsTo = (to: string, subject: string) =>
  smtp.received.filter((mail) => mail.to.includes(to) && mail.subject.includes(subject));

async function auditCount(type: string, targetUserId?: string): Promise<number> {
  return t.em().count(AuditEvent, { type, ...(targetUserId && { targetUserId }) });
}

const until = (check: () => boolean | Promise<boolean>) => waitUntil(check, 15_000);

const VERIFY_SUBJECT = 'Подтвердите адрес';
const RECOVERY_SUBJECT = 'Восстановление пароля';

/** A registered account whose e-mail is verified through its link. */
async function verifiedAccount(prefix = 'rec') {
  const email = address(prefix);
  const account = await register(t, uniqueLogin(prefix), STRONG_PASSWORD, { email });
  const token = linkToken(await mailTo(email, VERIFY_SUBJECT), 'verify-email');
  const verified = await fetch(`${t.url}/api/v1/accounts/email-verification`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  expect(verified.status).toBe(204);
  return { ...account, email };
}

function postJson(path: string, body: unknown): Promise<Response> {
  return fetch(`${t.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function loggedIn(login: string, password: string): Promise<Browser> {
  const browser = new Browser(t.url);
  const response = await browser.postJson('/api/v1/auth/login', { login, password });
  expect(response.status).toBe(200);
  return browser;
}

describe('e-mail verification', () => {
  it('Must show 1: register with an e-mail → verification mail → follow it → verified; a second use of the link fails', async () => {
    const email = address('verify');
    const account = await register(t, uniqueLogin('verify'), STRONG_PASSWORD, { email });
    const browser = await loggedIn(account.login, account.password);
    const before = await json<{ email: string | null; pendingEmail: string }>(
      await browser.get('/api/v1/me'),
    );
    expect(before).toMatchObject({ email: null, pendingEmail: email });

    const mail = await mailTo(email, VERIFY_SUBJECT);
    expect(mail.text).toContain(account.login);
    const token = linkToken(mail, 'verify-email');
    // Opening the link only shows the address (mail scanners that open links spend nothing).
    for (let i = 0; i < 2; i += 1) {
      const page = await browser.get(`/verify-email/${token}`);
      expect(page.status).toBe(200);
      expect(page.headers.get('referrer-policy')).toBe('strict-origin');
      expect(await page.text()).toContain(email);
    }
    const stored = await t.em().findOneOrFail(AccountToken, { user: account.id });
    expect(stored.tokenHash).not.toContain(token);
    expect(stored.expiresAt.getTime() - stored.createdAt.getTime()).toBe(24 * 60 * 60_000);

    const page = await browser.get(`/verify-email/${token}`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())![1];
    const followed = await browser.postForm('/verify-email', { csrf, token });
    expect(followed.status).toBe(303);
    expect(followed.headers.get('location')).toBe('/account?notice=email_verified');
    expect(await json(await browser.get('/api/v1/me'))).toMatchObject({
      email,
      pendingEmail: null,
    });

    const again = await postJson('/api/v1/accounts/email-verification', { token });
    expect(again.status).toBe(410);
    expect((await json(again)).code).toBe('link_used');
    expect(await auditCount('email.verified', account.id)).toBe(1);
    expect(await auditCount('email.verification_failed', account.id)).toBe(1);
  }, 60_000);

  it('keeps a verified address until the new one is verified, and tells the old address', async () => {
    const account = await verifiedAccount('change');
    const browser = await loggedIn(account.login, account.password);
    const next = address('change.new');
    const patched = await browser.request('/api/v1/me', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: next }),
    });
    expect(patched.status).toBe(200);
    expect(await json(patched)).toMatchObject({ email: account.email, pendingEmail: next });
    const notice = await mailTo(account.email, 'смена адреса');
    expect(notice.text).toContain(next);
    const token = linkToken(await mailTo(next, VERIFY_SUBJECT), 'verify-email');
    expect((await postJson('/api/v1/accounts/email-verification', { token })).status).toBe(204);
    expect(await json(await browser.get('/api/v1/me'))).toMatchObject({
      email: next,
      pendingEmail: null,
    });
  }, 60_000);

  it('does not let a stolen session move recovery quietly: replacing or removing a verified address needs a recent password and tells the owner', async () => {
    const account = await verifiedAccount('stolen');
    const browser = await loggedIn(account.login, account.password);
    // The thief's session is an old one: its password was entered long ago.
    await t
      .em()
      .getConnection()
      .execute(
        `update sessions set authenticated_at = now() - interval '1 hour' where user_id = ?`,
        [account.id],
      );
    const patch = (email: string | null) =>
      browser.request('/api/v1/me', {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email }),
      });
    for (const email of [address('thief'), null]) {
      const refused = await patch(email);
      expect(refused.status).toBe(403);
      expect((await json(refused)).code).toBe('reauthentication_required');
    }
    expect(await t.em().findOneOrFail(User, account.id)).toMatchObject({
      email: account.email,
      pendingEmail: null,
    });
    // The password again: a new session (its cookie now in the browser) carries on.
    expect(
      (await browser.postJson('/api/v1/auth/reauthenticate', { password: account.password }))
        .status,
    ).toBe(200);
    expect((await patch(null)).status).toBe(200);
    const notice = await mailTo(account.email, 'удалён');
    expect(notice.text).toContain(account.login);
    expect((await t.em().findOneOrFail(User, account.id)).email).toBeNull();
  }, 60_000);

  it('binds a link to its exact address: after another change the older link is dead', async () => {
    const first = address('bound.first');
    const account = await register(t, uniqueLogin('bound'), STRONG_PASSWORD, { email: first });
    const oldToken = linkToken(await mailTo(first, VERIFY_SUBJECT), 'verify-email');
    const browser = await loggedIn(account.login, account.password);
    const second = address('bound.second');
    await browser.request('/api/v1/me', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: second }),
    });
    const refused = await postJson('/api/v1/accounts/email-verification', { token: oldToken });
    expect(refused.status).toBe(410);
    expect((await json(refused)).code).toBe('link_superseded');
    expect((await t.em().findOneOrFail(User, account.id)).email).toBeNull();
  }, 60_000);

  it('limits verification letters to 5 an hour and says when the next one may be asked for', async () => {
    const email = address('limit');
    const account = await register(t, uniqueLogin('vlimit'), STRONG_PASSWORD, { email });
    const browser = await loggedIn(account.login, STRONG_PASSWORD);
    // The registration sent the first letter; four more fit in the hour.
    for (let i = 0; i < 4; i += 1)
      expect((await browser.postJson('/api/v1/me/email/verification', {})).status).toBe(202);
    const refused = await browser.postJson('/api/v1/me/email/verification', {});
    expect(refused.status).toBe(429);
    const wait = Number(refused.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(3000);
    expect(wait).toBeLessThanOrEqual(3600);
    expect(await refused.json()).toMatchObject({
      code: 'verification_limit',
      message: expect.stringMatching(
        /5 раз за последний час\. Следующее можно запросить через \d+ минут/,
      ),
    });
  });

  it('lets nobody block an address by typing it, and refuses a second verification of one address', async () => {
    const shared = address('shared');
    const a = await register(t, uniqueLogin('shared.a'), STRONG_PASSWORD, { email: shared });
    const b = await register(t, uniqueLogin('shared.b'), STRONG_PASSWORD, { email: shared });
    await until(() => mailsTo(shared, VERIFY_SUBJECT).length === 2);
    const tokens = mailsTo(shared, VERIFY_SUBJECT).map((mail) => ({
      login: /«([^»]+)»/.exec(mail.text)![1],
      token: linkToken(mail, 'verify-email'),
    }));
    const tokenOf = (login: string) => tokens.find((x) => x.login === login)!.token;
    expect(
      (await postJson('/api/v1/accounts/email-verification', { token: tokenOf(b.login) })).status,
    ).toBe(204);
    const late = await postJson('/api/v1/accounts/email-verification', { token: tokenOf(a.login) });
    expect(late.status).toBe(409);
    expect(await json(late)).toMatchObject({ code: 'email_taken' });
    expect((await t.em().findOneOrFail(User, a.id)).email).toBeNull();
    expect((await t.em().findOneOrFail(User, b.id)).email).toBe(shared);
  });
});

describe('password recovery', () => {
  it('Must show 2: an existing and an absent account get the same status, body and (within the bound) time; only the verified address gets mail', async () => {
    const account = await verifiedAccount('enum');
    const absentEmail = address('absent');
    const samples: Record<'existing' | 'absent', number[]> = { existing: [], absent: [] };
    const bodies = new Set<string>();
    const statuses = new Set<number>();
    // Warm-up, then interleaved pairs so load changes hit both sides alike.
    await postJson('/api/v1/auth/recovery', { identifier: uniqueLogin('warm') });
    for (let i = 0; i < 40; i += 1) {
      for (const side of i % 2 === 0
        ? (['existing', 'absent'] as const)
        : (['absent', 'existing'] as const)) {
        const identifier =
          side === 'existing'
            ? i % 4 < 2
              ? account.login
              : account.email
            : i % 4 < 2
              ? uniqueLogin('nobody')
              : absentEmail;
        const started = performance.now();
        const response = await postJson('/api/v1/auth/recovery', { identifier });
        const body = await response.text();
        samples[side].push(performance.now() - started);
        statuses.add(response.status);
        bodies.add(body);
      }
    }
    expect([...statuses]).toEqual([202]);
    expect(bodies.size).toBe(1);
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
    const difference = Math.abs(median(samples.existing) - median(samples.absent));
    expect(difference).toBeLessThan(RECOVERY_TIMING_BOUND_MS);

    await mailTo(account.email, RECOVERY_SUBJECT);
    // 40 requests for one account: the hourly limit lets three mails out.
    await until(async () => (await auditCount('recovery.refused', account.id)) >= 37);
    await until(() => mailsTo(account.email, RECOVERY_SUBJECT).length >= 3);
    expect(mailsTo(account.email, RECOVERY_SUBJECT)).toHaveLength(3);
    expect(
      await t.em().count(AccountToken, { user: account.id, purpose: AccountTokenPurpose.Recovery }),
    ).toBe(3);
    expect(smtp.received.filter((mail) => mail.to.includes(absentEmail))).toHaveLength(0);
    const throttled = await t
      .em()
      .find(AuditEvent, { type: 'recovery.refused', targetUserId: account.id });
    expect(throttled.every((event) => event.details.reason === 'throttled')).toBe(true);
  }, 90_000);

  it('does not deadlock with a login in flight: the login holding the password row commits its session, the reset then ends it', async () => {
    const account = await verifiedAccount('race');
    expect((await postJson('/api/v1/auth/recovery', { identifier: account.login })).status).toBe(
      202,
    );
    const token = linkToken(await mailTo(account.email, RECOVERY_SUBJECT), 'reset-password');
    // A login in flight, in the order login takes its locks (src/sessions/password-login.service.ts): the
    // password row first, then the session insert, whose foreign key takes a share lock on the
    // account row.
    const login = new pg.Client({ connectionString: t.database.url });
    await login.connect();
    try {
      await login.query('begin');
      await login.query('select id from password_credentials where user_id = $1 for update', [
        account.id,
      ]);
      const reset = postJson('/api/v1/auth/recovery/password', {
        token,
        newPassword: 'Gonka#Parol2026',
        newPasswordRepeat: 'Gonka#Parol2026',
      });
      // The reset has locked the account and now waits for the password row.
      await waitForLockWaiter(login, 10_000);
      await login.query(
        `insert into sessions (id, token_hash, user_id, method, authenticated_with, created_at, last_seen_at, authenticated_at, idle_expires_at, absolute_expires_at)
         values (gen_random_uuid(), $1, $2, 'pwd', 'pwd', now(), now(), now(), now() + interval '1 hour', now() + interval '1 day')`,
        [randomBytes(32).toString('hex'), account.id],
      );
      await login.query('commit');
      expect((await reset).status).toBe(204);
    } finally {
      await login.query('rollback').catch(() => undefined);
      await login.end();
    }
    const live = await t.em().count(Session, { user: account.id, revokedAt: null });
    expect(live).toBe(0);
  });

  it('Must show 3: the link sets a password that passes the policy, refuses one that does not, refuses reuse and expiry; all other sessions end', async () => {
    const account = await verifiedAccount('reset');
    const sessions = [
      await loggedIn(account.login, account.password),
      await loggedIn(account.login, account.password),
    ];
    expect((await postJson('/api/v1/auth/recovery', { identifier: account.login })).status).toBe(
      202,
    );
    const token = linkToken(await mailTo(account.email, RECOVERY_SUBJECT), 'reset-password');
    const stored = await t
      .em()
      .findOneOrFail(AccountToken, { user: account.id, purpose: AccountTokenPurpose.Recovery });
    expect(stored.expiresAt.getTime() - stored.createdAt.getTime()).toBe(60 * 60_000);

    const weak = await postJson('/api/v1/auth/recovery/password', {
      token,
      newPassword: 'Короткий1!',
      newPasswordRepeat: 'Короткий1!',
    });
    expect(weak.status).toBe(422);
    const weakBody = await json<{ errors: Record<string, { code: string }[]> }>(weak);
    expect(weakBody.errors.newPassword.map((e) => e.code)).toEqual(
      expect.arrayContaining(['cyrillic', 'no_upper']),
    );

    const page = await new Browser(t.url).get(`/reset-password/${token}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('referrer-policy')).toBe('strict-origin');

    const done = await postJson('/api/v1/auth/recovery/password', {
      token,
      newPassword: 'Novyi#Parol2026',
      newPasswordRepeat: 'Novyi#Parol2026',
    });
    expect(done.status).toBe(204);
    // It never logs the person in by itself.
    expect(done.headers.getSetCookie()).toEqual([]);
    for (const browser of sessions) expect((await browser.get('/api/v1/me')).status).toBe(401);
    const notice = await mailTo(account.email, 'Пароль учётной записи ЭПОС изменён');
    expect(notice.text).toContain(account.login);
    const oldPassword = await postJson('/api/v1/auth/login', {
      login: account.login,
      password: account.password,
    });
    expect(oldPassword.status).toBe(401);
    await loggedIn(account.login, 'Novyi#Parol2026');

    const reuse = await postJson('/api/v1/auth/recovery/password', {
      token,
      newPassword: 'Drugoi#Parol2026',
      newPasswordRepeat: 'Drugoi#Parol2026',
    });
    expect(reuse.status).toBe(410);
    expect((await json(reuse)).code).toBe('link_used');

    await postJson('/api/v1/auth/recovery', { identifier: account.email });
    await until(() => mailsTo(account.email, RECOVERY_SUBJECT).length === 2);
    const second = linkToken(mailsTo(account.email, RECOVERY_SUBJECT)[1], 'reset-password');
    await t
      .em()
      .nativeUpdate(
        AccountToken,
        { user: account.id, purpose: AccountTokenPurpose.Recovery, usedAt: null },
        { expiresAt: new Date(Date.now() - 1000) },
      );
    const expired = await postJson('/api/v1/auth/recovery/password', {
      token: second,
      newPassword: 'Drugoi#Parol2026',
      newPasswordRepeat: 'Drugoi#Parol2026',
    });
    expect(expired.status).toBe(410);
    expect((await json(expired)).code).toBe('link_expired');
    expect(await auditCount('recovery.completed', account.id)).toBe(1);
    expect(await auditCount('recovery.failed', account.id)).toBe(2);
  }, 60_000);

  it('Must show 4: an unverified address gets no recovery mail, and a pending address cannot take over the account', async () => {
    // The attacker types the victim's address into their own account: it stays pending.
    const victimEmail = address('victim');
    const attacker = await register(t, uniqueLogin('attacker'), STRONG_PASSWORD, {
      email: victimEmail,
    });
    const attackerLink = linkToken(await mailTo(victimEmail, VERIFY_SUBJECT), 'verify-email');
    await postJson('/api/v1/auth/recovery', { identifier: victimEmail });
    await postJson('/api/v1/auth/recovery', { identifier: attacker.login });
    // The attacker's own login: refused, for its address is only pending.
    await until(async () => (await auditCount('recovery.refused', attacker.id)) === 1);
    const refusal = await t
      .em()
      .findOneOrFail(AuditEvent, { type: 'recovery.refused', targetUserId: attacker.id });
    expect(refusal.details.reason).toBe('no_verified_email');
    // Both requests were handled in order; neither sent a recovery mail.
    expect(mailsTo(victimEmail, RECOVERY_SUBJECT)).toHaveLength(0);

    // The victim registers with their own address and verifies it.
    const victim = await register(t, uniqueLogin('victim'), STRONG_PASSWORD, {
      email: victimEmail,
    });
    await until(() => mailsTo(victimEmail, VERIFY_SUBJECT).length === 2);
    const victimLink = linkToken(
      mailsTo(victimEmail, VERIFY_SUBJECT).find((mail) => mail.text.includes(victim.login))!,
      'verify-email',
    );
    expect(
      (await postJson('/api/v1/accounts/email-verification', { token: victimLink })).status,
    ).toBe(204);
    // The attacker's pending link can no longer claim the address…
    const claim = await postJson('/api/v1/accounts/email-verification', { token: attackerLink });
    expect(claim.status).toBe(409);
    // …and recovery by the address reaches the victim's account only.
    await postJson('/api/v1/auth/recovery', { identifier: victimEmail });
    const mail = await mailTo(victimEmail, RECOVERY_SUBJECT);
    expect(mail.text).toContain(victim.login);
    expect(mail.text).not.toContain(attacker.login);
  }, 60_000);

  it('cancels a pending e-mail change when the password is reset (it may be the attacker’s)', async () => {
    const account = await verifiedAccount('pending');
    const browser = await loggedIn(account.login, account.password);
    const planted = address('planted');
    await browser.request('/api/v1/me', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: planted }),
    });
    const plantedLink = linkToken(await mailTo(planted, VERIFY_SUBJECT), 'verify-email');
    await postJson('/api/v1/auth/recovery', { identifier: account.login });
    const token = linkToken(await mailTo(account.email, RECOVERY_SUBJECT), 'reset-password');
    expect(
      (
        await postJson('/api/v1/auth/recovery/password', {
          token,
          newPassword: 'Novyi#Parol2026',
          newPasswordRepeat: 'Novyi#Parol2026',
        })
      ).status,
    ).toBe(204);
    const user = await t.em().findOneOrFail(User, account.id);
    expect(user.pendingEmail).toBeNull();
    expect(user.email).toBe(account.email);
    expect(
      (await postJson('/api/v1/accounts/email-verification', { token: plantedLink })).status,
    ).toBe(410);
  }, 60_000);

  it('tells an account without a password to log in through Госуслуги, and sends no link', async () => {
    const account = await verifiedAccount('gu.only');
    await t
      .em()
      .getConnection()
      .execute('delete from password_credentials where user_id = ?', [account.id]);
    await postJson('/api/v1/auth/recovery', { identifier: account.login });
    const mail = await mailTo(account.email, 'через Госуслуги');
    expect(mail.text).not.toMatch(/reset-password/);
    expect(
      await t.em().count(AccountToken, {
        user: account.id,
        purpose: AccountTokenPurpose.Recovery,
        revokedAt: null,
      }),
    ).toBe(0);
  }, 60_000);

  it('answers malformed requests with stable codes and writes nothing', async () => {
    for (const body of [
      {},
      { identifier: '' },
      { identifier: ['a'] },
      { identifier: 'a\u0000b' },
    ]) {
      const response = await postJson('/api/v1/auth/recovery', body);
      expect(response.status).toBe(422);
      expect((await json(response)).code).toBe('validation_failed');
    }
    const forged = await postJson('/api/v1/auth/recovery/password', {
      token: 'A'.repeat(43),
      newPassword: 'Novyi#Parol2026',
      newPasswordRepeat: 'Novyi#Parol2026',
    });
    expect(forged.status).toBe(410);
    expect((await json(forged)).code).toBe('link_invalid');
  });
});
