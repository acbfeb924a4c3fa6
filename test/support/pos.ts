import { expect } from '@jest/globals';
import { type EntityManager } from '@mikro-orm/postgresql';
import { FederatedIdentity } from '../../src/identity/federated-identity.entity.js';
import { User } from '../../src/identity/user.entity.js';
import { Membership, MembershipStatus } from '../../src/pos/membership.entity.js';
import { Organization, OrganizationKind } from '../../src/pos/organization.entity.js';
import { type PosRole } from '../../src/pos/roles.js';
import { findTestPerson } from '../../src/dev/test-persons.js';
import { type TestApp } from './app.js';
import { Browser } from './browser.js';
import { register, uniqueLogin } from './http.js';
import { loginEnrolling } from './mfa.js';

/**
 * A registered, logged-in platform operator (the flag is what the command line sets): an
 * operator must enrol a second factor at the first password login, so this one does.
 */
export async function operatorBrowser(t: TestApp): Promise<{ browser: Browser; id: string }> {
  const account = await register(t, uniqueLogin('operator'));
  await t.em().nativeUpdate(User, { id: account.id }, { isPlatformOperator: true });
  const browser = new Browser(t.url);
  await loginEnrolling(browser, account);
  return { browser, id: account.id };
}

/** An organisation straight in the database (fixtures for scope tests). */
export async function organization(
  em: EntityManager,
  name: string,
  parent: Organization | null,
): Promise<Organization> {
  const created = Object.assign(new Organization(), {
    name,
    kind: parent ? OrganizationKind.Institution : OrganizationKind.Authority,
    parent,
  });
  created.path = `${parent?.path ?? '/'}${created.id}/`;
  em.persist(created);
  await em.flush();
  return created;
}

let personCounter = 0;

/**
 * A person with a local login who holds a membership in `organization` with `roles`, in the
 * given status — logged in within a fresh browser.
 */
export async function memberBrowser(
  t: TestApp,
  org: Organization,
  roles: PosRole[],
  status: MembershipStatus = MembershipStatus.Confirmed,
): Promise<{ browser: Browser; user: User; membership: Membership }> {
  const account = await register(t, uniqueLogin('member'));
  const em = t.em();
  const user = await em.findOneOrFail(User, account.id);
  personCounter += 1;
  const membership = Object.assign(new Membership(), {
    organization: em.getReference(Organization, org.id),
    email: `member.${process.pid}.${personCounter}@example.ru`,
    lastName: 'Тестова',
    firstName: 'Мария',
    roles,
    status,
    user,
  });
  em.persist(membership);
  await em.flush();
  const browser = new Browser(t.url);
  const response = await browser.postJson('/api/v1/auth/login', {
    login: account.login,
    password: account.password,
  });
  if (response.status !== 200) throw new Error(`member login failed: ${response.status}`);
  return { browser, user, membership };
}

export async function linkedIdentities(t: TestApp, subject: number): Promise<FederatedIdentity[]> {
  return t.em().find(FederatedIdentity, { subject: String(subject) }, { populate: ['user'] });
}

export const json = async <T = Record<string, unknown>>(response: Response): Promise<T> =>
  (await response.json()) as T;

export function patchJson(browser: Browser, path: string, body: unknown): Promise<Response> {
  return browser.request(path, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** The ФИО of a stand-in test person, as an invitation for them names it. */
export function invitee(oid: number): { lastName: string; firstName: string; middleName: string } {
  const person = findTestPerson(oid);
  if (!person) throw new Error(`no test person ${oid}`);
  return { lastName: person.lastName, firstName: person.firstName, middleName: person.middleName };
}

/** A page the browser may open (200): its HTML and the form token of its forms. */
export async function openPage(
  browser: Browser,
  path: string,
): Promise<{ html: string; csrf: string }> {
  const response = await browser.get(path);
  expect(response.status).toBe(200);
  const html = await response.text();
  return { html, csrf: /name="csrf" value="([^"]+)"/.exec(html)![1] };
}
