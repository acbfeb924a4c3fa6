import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Membership, MembershipStatus } from '../src/pos/membership.entity.js';
import { Organization } from '../src/pos/organization.entity.js';
import { PublicStatus } from '../src/pos/public-status.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { type Browser } from './support/browser.js';
import { memberBrowser, organization } from './support/pos.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

let t: TestApp;
let authority: Organization;
let school: Organization;
let other: Organization;
let admin: Browser;
let otherAdmin: Browser;
let adminEmail: string;

/** A member of the school whose personal data must never reach the public page. */
const PERSON = {
  email: 'snezhana.personal@example.ru',
  lastName: 'Подснежникова',
  firstName: 'Снежана',
  middleName: 'Игоревна',
  snilsLast3: '987',
  position: 'Завуч по воспитательной работе',
};

beforeAll(async () => {
  t = await startTestApp({ THROTTLE_AUTH_LIMIT: '100000' }, { listen: true });
  const em = t.em();
  authority = await organization(em, 'Управление образования (публикация)', null);
  school = await organization(em, 'Школа № 12 (публикация)', authority);
  other = await organization(em, 'Управление культуры (публикация)', null);
  const a = await memberBrowser(t, authority, ['admin']);
  admin = a.browser;
  adminEmail = a.membership.email;
  otherAdmin = (await memberBrowser(t, other, ['admin'])).browser;
  em.persist(
    Object.assign(new Membership(), {
      organization: em.getReference(Organization, school.id),
      ...PERSON,
      roles: ['executor'],
      status: MembershipStatus.Invited,
    }),
  );
  await em.flush();
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

/** The status tab of `org` as `browser` sees it, with its form token. */
async function statusTab(browser: Browser, org: Organization) {
  const html = await (await browser.get(`/pos/admin?org=${org.id}&tab=status`)).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1];
  const url = /id="public-status-url" href="([^"]+)"/.exec(html)?.[1];
  return { html, csrf, url };
}

async function post(browser: Browser, org: Organization, action: string): Promise<Response> {
  const { csrf } = await statusTab(browser, org);
  return browser.postForm(`/pos/admin/public-status/${action}`, { csrf, organizationId: org.id });
}

/** The path of a published address (the test app's PUBLIC_URL may differ from its port). */
const pathOf = (url: string) => new URL(url).pathname;

describe('public connection status', () => {
  it('is off by default: no address, and a well-formed random address is 404', async () => {
    const { html, url } = await statusTab(admin, authority);
    expect(url).toBeUndefined();
    expect(html).toContain('Опубликовать статус');
    expect(await t.em().count(PublicStatus, { organization: authority.id })).toBe(0);
    const anonymous = await fetch(
      `${t.url}/public/status/${randomBytes(32).toString('base64url')}`,
    );
    expect(anonymous.status).toBe(404);
  });

  it('shows only non-personal columns: no e-mail, ФИО or СНИЛС of any member', async () => {
    const published = await post(admin, authority, 'publish');
    expect(published.status).toBe(303);
    const { url } = await statusTab(admin, authority);
    expect(url).toMatch(/\/public\/status\/[A-Za-z0-9_-]{43}$/);

    const response = await fetch(`${t.url}${pathOf(url!)}`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain(school.name);
    expect(html).toContain(String(school.lkoNumber));
    expect(html).toMatch(/Приглашены/);
    for (const personal of [
      PERSON.email,
      PERSON.lastName,
      PERSON.firstName,
      PERSON.middleName,
      `…${PERSON.snilsLast3}`,
      PERSON.position,
      adminEmail,
      'Тестова', // the administrator's own surname (test/support/pos.ts)
      '@',
    ])
      expect(html).not.toContain(personal);

    // Framable by the administration's site on this route only; caches must ask every time.
    expect(response.headers.get('content-security-policy')).toContain('frame-ancestors *');
    expect(response.headers.get('x-frame-options')).toBeNull();
    expect(response.headers.get('cache-control')).toBe('public, no-cache');
    expect(response.headers.get('etag')).toMatch(/^"[\w-]+"$/);
    const adminPage = await admin.get(`/pos/admin?org=${authority.id}&tab=status`);
    expect(adminPage.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(adminPage.headers.get('cache-control')).toBe('no-store');
  });

  it('revoking its address makes it 404 at once, though the page was cached', async () => {
    await post(admin, authority, 'publish');
    const { url } = await statusTab(admin, authority);
    expect((await fetch(`${t.url}${pathOf(url!)}`)).status).toBe(200);
    expect((await post(admin, authority, 'revoke')).status).toBe(303);
    expect((await fetch(`${t.url}${pathOf(url!)}`)).status).toBe(404);
    expect((await statusTab(admin, authority)).url).toBeUndefined();
  });

  it('a cache revalidating the page after the revocation gets 404, not «not modified»', async () => {
    await post(admin, authority, 'publish');
    const { url } = await statusTab(admin, authority);
    const address = `${t.url}${pathOf(url!)}`;
    const first = await fetch(address);
    expect(first.status).toBe(200);
    // A cache may keep the page but must ask before showing it again: no minute of grace.
    expect(first.headers.get('cache-control')).toBe('public, no-cache');
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    // While published, the cache's copy is confirmed without the page being sent again.
    const revalidated = await fetch(address, { headers: { 'if-none-match': etag! } });
    expect(revalidated.status).toBe(304);
    expect(await revalidated.text()).toBe('');
    expect((await post(admin, authority, 'revoke')).status).toBe(303);
    const after = await fetch(address, { headers: { 'if-none-match': etag! } });
    expect(after.status).toBe(404);
    expect(after.headers.get('cache-control')).toContain('no-store');
  });

  it('regenerating gives a new address and the old one is 404', async () => {
    await post(admin, authority, 'publish');
    const before = (await statusTab(admin, authority)).url!;
    expect((await post(admin, authority, 'regenerate')).status).toBe(303);
    const after = (await statusTab(admin, authority)).url!;
    expect(after).not.toBe(before);
    expect((await fetch(`${t.url}${pathOf(before)}`)).status).toBe(404);
    expect((await fetch(`${t.url}${pathOf(after)}`)).status).toBe(200);
  });

  it("an administrator of another authority cannot publish, replace or revoke someone else's", async () => {
    await post(admin, authority, 'publish');
    const before = await t.em().findOneOrFail(PublicStatus, { organization: authority.id });
    const { csrf } = await statusTab(otherAdmin, other);
    for (const action of ['publish', 'regenerate', 'revoke']) {
      const response = await otherAdmin.postForm(`/pos/admin/public-status/${action}`, {
        csrf,
        organizationId: authority.id,
      });
      // Another authority's organisation is not found for this administrator.
      expect(response.status).toBe(404);
      expect(await response.text()).toContain('Организация не найдена');
    }
    const after = await t.em().findOneOrFail(PublicStatus, { organization: authority.id });
    expect(after.token).toBe(before.token);
    expect(await t.em().count(PublicStatus, { organization: other.id })).toBe(0);
  });

  it('only an authority publishes: an institution is refused with a clear message', async () => {
    const response = await post(admin, school, 'publish');
    expect(response.status).toBe(409);
    expect(await response.text()).toContain('только орган администрации');
    expect(await t.em().count(PublicStatus, { organization: school.id })).toBe(0);
  });
});
