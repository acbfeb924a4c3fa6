import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { MailMessage, MailStatus } from '../src/mail/mail-message.entity.js';
import { DeliveryState, Membership } from '../src/pos/membership.entity.js';
import { Organization } from '../src/pos/organization.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import { throughStandIn } from './support/gosuslugi.js';
import { json, operatorBrowser } from './support/pos.js';
import { invitationLink, TestSmtp } from './support/smtp.js';
import { waitUntil } from './support/wait.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

const smtp = new TestSmtp();
let t: TestApp;

beforeAll(async () => {
  await smtp.start();
  t = await startTestApp(
    {
      SMTP_URL: smtp.url,
      MAIL_RETRY_DELAY: '1s',
      MAIL_RETRY_DELAY_MAX: '2s',
      THROTTLE_AUTH_LIMIT: '100000',
      THROTTLE_LIMIT: '100000',
    },
    { listen: true },
  );
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
  await smtp.stop();
});
afterEach(() => smtp.up());

/** The invitee follows the link and logs in through the Госуслуги stand-in as `oid`. */
async function accept(
  link: string,
  oid: number,
): Promise<{ browser: Browser; response: Response }> {
  const browser = new Browser(t.url);
  const path = new URL(link).pathname;
  const landing = await browser.get(path);
  expect(landing.status).toBe(200);
  const callback = await throughStandIn(browser, `${path}/accept`, oid);
  return { browser, response: await browser.get(callback) };
}

describe('ПОС: the whole connection flow', () => {
  it('operator → body and institution → body admin invited by mail → accepts through Госуслуги → confirms → invites the institution admin → report shows both', async () => {
    const operator = await operatorBrowser(t);
    const body = await json<{ id: string; lkoNumber: string }>(
      await operator.browser.postJson('/api/v1/pos/organizations', {
        name: 'Управление образования г. Тестовска',
        kind: 'authority',
      }),
    );
    const institution = await json<{ id: string; lkoNumber: string }>(
      await operator.browser.postJson('/api/v1/pos/organizations', {
        name: 'МБОУ «Школа № 5»',
        kind: 'institution',
        parentId: body.id,
      }),
    );
    expect(Number(institution.lkoNumber)).toBeGreaterThan(Number(body.lkoNumber));

    const invited = await operator.browser.postJson(
      `/api/v1/pos/organizations/${body.id}/members`,
      {
        email: 'Admin.Body@Example.RU',
        lastName: 'Кузнецов',
        firstName: 'Дмитрий',
        middleName: 'Андреевич',
        position: 'Начальник отдела',
        roles: ['admin'],
      },
    );
    expect(invited.status).toBe(201);
    expect(await json(invited)).toMatchObject({
      email: 'admin.body@example.ru',
      status: 'invited',
      statusName: 'Приглашен',
      roleNames: ['Администратор ЛКО'],
      // In the outbox from the moment it is added: «письмо в очереди», not nothing.
      deliveryState: 'queued',
    });

    // A real SMTP conversation.
    const mail = await smtp.waitFor('admin.body@example.ru');
    expect(mail.from).toContain(`no-reply@127.0.0.1`);
    expect(mail.subject).toContain('Управление образования г. Тестовска');
    expect(mail.text).toContain('Администратор ЛКО');
    const link = invitationLink(mail);
    expect(link.startsWith(`${t.url}/pos/invitations/`)).toBe(true);

    const { browser: admin, response: accepted } = await accept(link, 1000000004);
    expect(accepted.status).toBe(303);
    expect(accepted.headers.get('location')).toBe('/pos');

    // Until both boxes are ticked, the admin area is closed.
    const gated = await admin.get('/api/v1/pos/admin/session');
    expect(gated.status).toBe(403);
    expect((await json(gated)).code).toBe('confirmation_required');
    const pending = await json<{ pending: { membershipId: string; status: string }[] }>(
      await admin.get('/api/v1/pos/me/confirmation'),
    );
    expect(pending.pending).toHaveLength(1);
    const membershipId = pending.pending[0].membershipId;
    const half = await admin.postJson('/api/v1/pos/me/confirmation', {
      membershipId,
      trainingCompleted: true,
      organizationReady: false,
    });
    expect(half.status).toBe(422);
    expect(
      (
        await admin.postJson('/api/v1/pos/me/confirmation', {
          membershipId,
          trainingCompleted: true,
          organizationReady: true,
        })
      ).status,
    ).toBe(204);
    expect((await admin.get('/api/v1/pos/admin/session')).status).toBe(200);
    const organization = await t.em().findOneOrFail(Organization, body.id);
    expect(organization.readyConfirmedAt).not.toBeNull();

    // The body's admin adds the institution's admin.
    const second = await admin.postJson(`/api/v1/pos/organizations/${institution.id}/members`, {
      email: 'director@school5.example.ru',
      lastName: 'Соколова',
      firstName: 'Анна',
      roles: ['admin', 'head'],
    });
    expect(second.status).toBe(201);
    await smtp.waitFor('director@school5.example.ru');

    const report = await json<
      {
        id: string;
        accounts: Record<string, number>;
        adminConfirmed: boolean;
        lkoReady: boolean;
        subtree: Record<string, number>;
      }[]
    >(await admin.get(`/api/v1/pos/organizations/${body.id}/connection-status`));
    expect(report.map((row) => row.id)).toEqual([body.id, institution.id]);
    expect(report[0]).toMatchObject({
      accounts: { confirmed: 1, invited: 0 },
      adminConfirmed: true,
      lkoReady: true,
    });
    expect(report[1]).toMatchObject({
      accounts: { invited: 1, confirmed: 0 },
      adminConfirmed: false,
      lkoReady: false,
    });
    expect(report[0].subtree).toMatchObject({
      organizations: 2,
      confirmed: 1,
      invited: 1,
      adminConfirmed: 1,
      lkoReady: 1,
    });
    const csv = await admin.get(
      `/api/v1/pos/organizations/${body.id}/connection-status?format=csv`,
    );
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).replace('\uFEFF', '').trim().split('\r\n');
    expect(lines[0]).toContain('Номер ЛКО;Организация');
    expect(lines[2]).toContain(`${institution.lkoNumber};МБОУ «Школа № 5»;Учреждение`);

    // Access tokens carry the membership for offline authorisation downstream.
    const token = await json<{ accessToken: string }>(
      await admin.postJson('/api/v1/auth/token', {}),
    );
    expect(decodeJwt(token.accessToken).memberships).toEqual([
      { organizationId: body.id, lkoNumber: body.lkoNumber, roles: ['admin'], status: 'confirmed' },
    ]);

    // Delivery state and audit trail.
    const membership = await t
      .em()
      .findOneOrFail(Membership, { email: 'director@school5.example.ru' });
    await waitUntil(
      async () =>
        (await t.em().findOneOrFail(Membership, membership.id)).deliveryState ===
        DeliveryState.Sent,
    );
    const types = (
      await t.em().find(AuditEvent, { organizationId: { $in: [body.id, institution.id] } })
    ).map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining([
        'pos.organization.created',
        'pos.member.invited',
        'pos.invitation.accepted',
        'pos.member.confirmed',
      ]),
    );
  });
});

describe('ПОС: SMTP outage', () => {
  it('stores the invitation while SMTP refuses, and delivers it once SMTP is back', async () => {
    const operator = await operatorBrowser(t);
    const org = await json<{ id: string }>(
      await operator.browser.postJson('/api/v1/pos/organizations', {
        name: 'Комитет по культуре',
        kind: 'authority',
      }),
    );
    smtp.down();
    const response = await operator.browser.postJson(
      `/api/v1/pos/organizations/${org.id}/members`,
      {
        email: 'outage@example.ru',
        lastName: 'Петров',
        firstName: 'Алексей',
        roles: ['admin'],
      },
    );
    expect(response.status).toBe(201);
    await waitUntil(
      async () =>
        (await t.em().findOneOrFail(MailMessage, { to: 'outage@example.ru' })).status ===
        MailStatus.Retrying,
    );
    const membership = await t.em().findOneOrFail(Membership, { email: 'outage@example.ru' });
    expect(membership.deliveryState).toBe('retrying');
    expect(smtp.received.some((mail) => mail.to.includes('outage@example.ru'))).toBe(false);

    smtp.up();
    const mail = await smtp.waitFor('outage@example.ru', 30_000);
    expect(invitationLink(mail)).toContain('/pos/invitations/');
    await waitUntil(
      async () =>
        (await t.em().findOneOrFail(Membership, membership.id)).deliveryState ===
        DeliveryState.Sent,
    );
    const message = await t.em().findOneOrFail(MailMessage, { to: 'outage@example.ru' });
    expect(message.status).toBe('sent');
    expect(message.attempts).toBeGreaterThanOrEqual(2);
  }, 60_000);
});

describe('ПОС: a re-send during an outage', () => {
  it('delivers only the newest link; the older message is cancelled and cannot overwrite the delivery state', async () => {
    const operator = await operatorBrowser(t);
    const org = await json<{ id: string }>(
      await operator.browser.postJson('/api/v1/pos/organizations', {
        name: 'Комитет по спорту',
        kind: 'authority',
      }),
    );
    smtp.down();
    const invited = await json<{ id: string }>(
      await operator.browser.postJson(`/api/v1/pos/organizations/${org.id}/members`, {
        email: 'resent.during.outage@example.ru',
        lastName: 'Смирнова',
        firstName: 'Ольга',
        roles: ['admin'],
      }),
    );
    // The first message has been tried and refused: the re-send comes during the outage, not
    // during an SMTP conversation that might still succeed.
    await waitUntil(async () =>
      (await t.em().find(MailMessage, { membershipId: invited.id })).some(
        (m) => m.status === MailStatus.Retrying,
      ),
    );
    expect(
      (await operator.browser.postJson(`/api/v1/pos/members/${invited.id}/resend-invitation`, {}))
        .status,
    ).toBe(200);
    smtp.up();
    const mail = await smtp.waitFor('resent.during.outage@example.ru', 30_000);
    // The SMTP sink sees the mail a moment before the outbox records it as sent: wait for both
    // messages to settle rather than for the first one to be cancelled.
    const statuses = async () =>
      (
        await t
          .em()
          .find(MailMessage, { membershipId: invited.id }, { orderBy: { createdAt: 'asc' } })
      ).map((m) => m.status);
    await waitUntil(async () =>
      (await statuses()).every((s) => s === MailStatus.Cancelled || s === MailStatus.Sent),
    );
    expect(await statuses()).toEqual([MailStatus.Cancelled, MailStatus.Sent]);
    expect(
      smtp.received.filter((m) => m.to.includes('resent.during.outage@example.ru')),
    ).toHaveLength(1);
    // The delivered link is the live one.
    const landing = await new Browser(t.url).get(new URL(invitationLink(mail)).pathname);
    expect(landing.status).toBe(200);
    expect((await t.em().findOneOrFail(Membership, invited.id)).deliveryState).toBe(
      DeliveryState.Sent,
    );
  }, 60_000);
});
