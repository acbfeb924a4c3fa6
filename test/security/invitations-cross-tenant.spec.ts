import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditEvent } from '../../src/audit/audit-event.entity.js';
import { type Organization } from '../../src/pos/organization.entity.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { json, memberBrowser, organization } from '../support/pos.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * One organisation's administrator against another's invitations: the address's hourly quota is
 * per organisation, so inviting, re-sending and archiving an address in one organisation does not
 * block the other's invitation; an address live elsewhere is refused without saying where.
 */
let t: TestApp;
let a: Organization;
let b: Organization;

beforeAll(async () => {
  t = await startTestApp(
    { THROTTLE_AUTH_LIMIT: '100000', THROTTLE_LIMIT: '100000' },
    { listen: true },
  );
  const region = await organization(t.em(), 'Министерство (приглашения)', null);
  a = await organization(t.em(), 'Школа A', region);
  b = await organization(t.em(), 'Школа B (соседняя)', region);
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

const person = { lastName: 'Иванова', firstName: 'Мария', roles: ['executor'] };

describe('invitations across organisations', () => {
  it('another organisation’s administrator cannot use up an address’s invitations, and learns not where it is in use', async () => {
    const adminA = (await memberBrowser(t, a, ['admin'])).browser;
    const adminB = (await memberBrowser(t, b, ['admin'])).browser;

    // A invites the address, re-sends until the hour's quota is spent, and archives it.
    const invited = await adminA.postJson(`/api/v1/pos/organizations/${a.id}/members`, {
      email: 'teacher@victim.example',
      ...person,
    });
    expect(invited.status).toBe(201);
    const id = (await json<{ id: string }>(invited)).id;
    for (let i = 0; i < 3; i++)
      expect(
        (await adminA.postJson(`/api/v1/pos/members/${id}/resend-invitation`, {})).status,
      ).toBe(200);
    expect((await adminA.postJson(`/api/v1/pos/members/${id}/archive`, {})).status).toBe(200);

    // B's invitation of the same person still goes out.
    const ours = await adminB.postJson(`/api/v1/pos/organizations/${b.id}/members`, {
      email: 'teacher@victim.example',
      ...person,
    });
    expect(ours.status).toBe(201);

    // Now live in B: A is told it is in use, not where; the operator's audit says where.
    const again = await adminA.postJson(`/api/v1/pos/organizations/${a.id}/members`, {
      email: 'teacher@victim.example',
      ...person,
    });
    expect(again.status).toBe(409);
    const text = JSON.stringify(await json(again));
    expect(text).toContain('email_taken');
    expect(text).not.toContain('Школа B');
    expect(text).not.toContain(b.id);
    const collisions = await t
      .em()
      .find(AuditEvent, { type: 'pos.member.email_taken', organizationId: a.id });
    expect(collisions.map((event) => event.details.heldByOrganizationId)).toEqual([b.id]);
  });
});
