import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Invitation } from '../src/pos/invitation.entity.js';
import { MailMessage } from '../src/mail/mail-message.entity.js';
import { Membership } from '../src/pos/membership.entity.js';
import { type Organization } from '../src/pos/organization.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { type Browser } from './support/browser.js';
import { json, memberBrowser, organization } from './support/pos.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

/**
 * INVITATIONS_PER_ORG_PER_DAY: an organisation sends at most so many invitation mails a day,
 * whichever way (add, import, «Отправить повторно всем приглашённым»); over it the operation is
 * refused as a whole with a stable code and a Russian message, and nothing is written.
 */
const CAP = 3;
const HEADER = 'Фамилия;Имя;Отчество;E-mail;СНИЛС;Роли;Организация';

let t: TestApp;
let serial = 0;

beforeAll(async () => {
  t = await startTestApp(
    { INVITATIONS_PER_ORG_PER_DAY: String(CAP), THROTTLE_LIMIT: '100000' },
    { listen: true },
  );
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t?.close();
});

async function school(): Promise<{ org: Organization; admin: Browser }> {
  serial += 1;
  const org = await organization(t.em(), `Школа № ${serial} (лимит приглашений)`, null);
  const { browser: admin } = await memberBrowser(t, org, ['admin']);
  return { org, admin };
}

const person = (n: number) => ({
  lastName: 'Лимитова',
  firstName: 'Анна',
  email: `cap.${serial}.${n}@school.example.ru`,
  roles: ['executor'],
});

/** Invitations and mails of the organisation, and its memberships. */
async function written(org: Organization) {
  const em = t.em();
  return {
    memberships: await em.count(Membership, { organization: org.id }),
    invitations: await em.count(Invitation, { membership: { organization: org.id } }),
    mails: await em.count(MailMessage, {}),
  };
}

function expectCapRefusal(body: Record<string, unknown>) {
  expect(body).toMatchObject({ code: 'invitation_daily_limit' });
  expect(body.message).toMatch(
    /^За сутки организация может отправить не больше 3 приглашений\. .* Ничего не отправлено\.$/,
  );
}

describe('the daily cap on invitation mail per organisation', () => {
  it('«Добавить пользователя» over the cap is refused (429 invitation_daily_limit) and writes nothing; another organisation is not affected', async () => {
    const { org, admin } = await school();
    for (let n = 1; n <= CAP; n++) {
      const added = await admin.postJson(`/api/v1/pos/organizations/${org.id}/members`, person(n));
      expect(added.status).toBe(201);
    }
    const before = await written(org);
    const over = await admin.postJson(`/api/v1/pos/organizations/${org.id}/members`, person(9));
    expect(over.status).toBe(429);
    expectCapRefusal(await json(over));
    expect(await written(org)).toEqual(before);
    expect(await t.em().count(Membership, { email: person(9).email })).toBe(0);

    const other = await school();
    const elsewhere = await other.admin.postJson(
      `/api/v1/pos/organizations/${other.org.id}/members`,
      person(1),
    );
    expect(elsewhere.status).toBe(201);
  });

  it('an import that would pass the cap is refused as a whole, the dry run and the import alike', async () => {
    const { org, admin } = await school();
    expect(
      (await admin.postJson(`/api/v1/pos/organizations/${org.id}/members`, person(1))).status,
    ).toBe(201);
    // Two left today; the file has three to invite.
    const file = [1, 2, 3]
      .map((n) => `Лимитова;Анна;;import.${serial}.${n}@school.example.ru;;Исполнитель;`)
      .join('\n');
    const before = await written(org);
    for (const dryRun of [true, false]) {
      const response = await admin.request(
        `/api/v1/pos/organizations/${org.id}/members/import?dryRun=${dryRun}`,
        {
          method: 'POST',
          headers: { 'content-type': 'text/csv; charset=utf-8' },
          body: `${HEADER}\n${file}`,
        },
      );
      expect(response.status).toBe(429);
      expectCapRefusal(await json(response));
    }
    expect(await written(org)).toEqual(before);
  });

  it('«Отправить повторно всем приглашённым» over the cap is refused as a whole and sends nothing', async () => {
    const { org, admin } = await school();
    for (let n = 1; n <= 2; n++)
      expect(
        (await admin.postJson(`/api/v1/pos/organizations/${org.id}/members`, person(n))).status,
      ).toBe(201);
    // Two invitees, one invitation left today.
    const before = await written(org);
    const response = await admin.postJson(
      `/api/v1/pos/organizations/${org.id}/members/resend-invitations`,
      {},
    );
    expect(response.status).toBe(429);
    expectCapRefusal(await json(response));
    expect(await written(org)).toEqual(before);
  });
});
