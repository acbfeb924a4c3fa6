import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { User } from '../../src/identity/user.entity.js';
import { Membership, MembershipStatus } from '../../src/pos/membership.entity.js';
import { Organization } from '../../src/pos/organization.entity.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser } from '../support/browser.js';
import { register, uniqueLogin } from '../support/http.js';
import { enrolTotp } from '../support/mfa.js';
import { enrolPasskey } from '../support/passkey.js';
import { json, organization } from '../support/pos.js';
import { loggedIn } from '../support/provider.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * MFA_REQUIRED_FOR_ADMINS=true: an administrator's password login asks for a second factor. The
 * attack: a password session opened while the account was not (yet) an administrator — or before
 * the policy was turned on — keeps administering with the password alone. Every request of the
 * administration area asks the rule again, and sends such a session to enrol.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp(
    { THROTTLE_LIMIT: '100000', THROTTLE_AUTH_LIMIT: '100000', MFA_REQUIRED_FOR_ADMINS: 'true' },
    { listen: true },
  );
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

/** A confirmed «Администратор ЛКО» membership of `organizationId` for the account, made now. */
async function makeAdministrator(
  organizationId: string,
  account: { id: string; login: string },
): Promise<void> {
  const em = t.em();
  em.persist(
    Object.assign(new Membership(), {
      organization: em.getReference(Organization, organizationId),
      email: `${account.login}@example.ru`,
      lastName: 'Новикова',
      firstName: 'Ольга',
      roles: ['admin'],
      status: MembershipStatus.Confirmed,
      user: em.getReference(User, account.id),
    }),
  );
  await em.flush();
}

describe('MFA_REQUIRED_FOR_ADMINS holds sessions opened before it applied', () => {
  it('a password session of an account made administrator after its login is sent to enrol, on the API and the pages', async () => {
    const org = await organization(t.em(), 'Школа № 5', null);
    // Not an administrator yet: the password alone opens the session.
    const { browser, account } = await loggedIn(t, await register(t, uniqueLogin('newadmin')));

    await makeAdministrator(org.id, account);

    const members = `/api/v1/pos/organizations/${org.id}/members`;
    const refused = await browser.get(members);
    expect(refused.status).toBe(403);
    expect((await json(refused)).code).toBe('mfa_enrolment_required');
    const page = await browser.get(`/pos/admin?org=${org.id}`);
    expect(page.status).toBe(303);
    expect(Browser.location(page)).toBe('/account/mfa?notice=required');
    const told = await (await browser.get('/account/mfa?notice=required')).text();
    expect(told).toContain('обязательна двухфакторная аутентификация');
    // Every page of the administration area, not only the main one: import, members' forms,
    // the widget check and the public status.
    expect(Browser.location(await browser.get(`/pos/admin/import?org=${org.id}`))).toBe(
      '/account/mfa?notice=required',
    );
    const csrf = /name="csrf" value="([^"]+)"/.exec(told)![1];
    for (const path of [
      '/pos/admin/members/resend-all',
      '/pos/admin/widget/check',
      '/pos/admin/public-status/publish',
    ]) {
      const posted = await browser.postForm(path, { csrf, organizationId: org.id });
      expect([path, Browser.location(posted)]).toEqual([path, '/account/mfa?notice=required']);
    }
    // The rest of the account is not held: the person can still see and change it.
    expect((await browser.get('/api/v1/me')).status).toBe(200);

    // Enrolled (within 10 minutes of the login, with a current code): the area opens.
    await enrolTotp(browser);
    expect((await browser.get(members)).status).toBe(200);
    expect((await browser.get(`/pos/admin?org=${org.id}`)).status).toBe(200);
  });

  // A passkey is a second factor as much as TOTP is (the login asks for it, secondFactorStep
  // counts it): an administrator whose only factor is a passkey is not sent to enrol an app.
  it('an administrator whose only second factor is a passkey is let into the area, on the API and the pages', async () => {
    const org = await organization(t.em(), 'Школа № 6', null);
    const { browser, account } = await loggedIn(t, await register(t, uniqueLogin('keyadmin')));
    // The key is added in this (fresh) password session; the session itself proved no factor.
    await enrolPasskey(browser);
    await makeAdministrator(org.id, account);

    const members = await browser.get(`/api/v1/pos/organizations/${org.id}/members`);
    expect([members.status, members.status === 200 ? null : (await json(members)).code]).toEqual([
      200,
      null,
    ]);
    const page = await browser.get(`/pos/admin?org=${org.id}`);
    expect([page.status, page.headers.get('location')]).toEqual([200, null]);
    const importPage = await browser.get(`/pos/admin/import?org=${org.id}`);
    expect([importPage.status, importPage.headers.get('location')]).toEqual([200, null]);
  });
});
