import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { Membership } from '../../src/pos/membership.entity.js';
import { type Organization } from '../../src/pos/organization.entity.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { type Browser } from '../support/browser.js';
import { json, operatorBrowser, organization } from '../support/pos.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * One address, one spelling. A quoted local part (`"dup"@…`) is a second spelling of an address
 * that the unique indexes would take for another one, and `"x\r\nBcc: …"@…` is a mail header in
 * disguise; a domain in Unicode and in punycode is one domain.
 */
let t: TestApp;
let operator: Browser;
let school: Organization;

beforeAll(async () => {
  t = await startTestApp(
    { THROTTLE_AUTH_LIMIT: '100000', THROTTLE_LIMIT: '100000' },
    { listen: true },
  );
  operator = (await operatorBrowser(t)).browser;
  school = await organization(t.em(), 'Школа (адреса)', null);
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

const invite = (email: string) =>
  operator.postJson(`/api/v1/pos/organizations/${school.id}/members`, {
    email,
    lastName: 'Иванова',
    firstName: 'Мария',
    roles: ['executor'],
  });

describe('e-mail addresses have one spelling', () => {
  it('a quoted local part and a header in disguise are refused everywhere; a punycode domain is the same address', async () => {
    expect((await invite('dup@example.ru')).status).toBe(201);
    for (const spelling of ['"dup"@example.ru', '"x\r\nBcc: evil@example.ru"@example.ru']) {
      const invited = await invite(spelling);
      expect(invited.status).toBe(422);
      expect(
        (await json<{ errors: Record<string, { code: string }[]> }>(invited)).errors.email[0].code,
      ).toBe('invalid_email');
      const registered = await request(t.http)
        .post('/api/v1/accounts')
        .send({ login: `spelling.${Date.now()}`, password: 'Zvezda#2026x', email: spelling });
      expect(registered.status).toBe(422);
    }
    expect((await invite('head@ШКОЛА.РФ')).status).toBe(201);
    const punycode = await invite('head@xn--80atdl2c.xn--p1ai');
    expect(punycode.status).toBe(409);
    expect((await json(punycode)).code).toBe('email_taken');
    expect(
      (await t.em().find(Membership, { organization: school.id })).map((m) => m.email).sort(),
    ).toEqual(['dup@example.ru', 'head@школа.рф']);
  });
});
