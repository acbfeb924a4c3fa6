import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Membership, MembershipStatus } from '../src/pos/membership.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import { memberBrowser, organization } from './support/pos.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ THROTTLE_AUTH_LIMIT: '100000' }, { listen: true });
});
afterAll(async () => {
  await t.close();
});

describe('the /pos page', () => {
  it('sends a browser without a session to log in', async () => {
    const response = await new Browser(t.url).get('/pos');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login?returnTo=%2Fpos');
  });

  it('shows the first-login dialog until both boxes are ticked, then the account as «Подтвержден»', async () => {
    const org = await organization(t.em(), 'Школа № 7', null);
    const { browser, membership } = await memberBrowser(
      t,
      org,
      ['admin'],
      MembershipStatus.Registered,
    );
    const page = await browser.get('/pos');
    const html = await page.text();
    expect(html).toContain('Мною пройдено обучение');
    expect(html).toContain('Личный кабинет организации готов к работе');
    expect(html).toContain('Зарегистрирован');
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1];

    const half = await browser.postForm('/pos/confirmation', {
      csrf,
      membershipId: membership.id,
      trainingCompleted: 'on',
    });
    expect(half.status).toBe(422);
    expect((await t.em().findOneOrFail(Membership, membership.id)).status).toBe('registered');

    const forged = await browser.postForm('/pos/confirmation', {
      csrf: 'x'.repeat(43),
      membershipId: membership.id,
      trainingCompleted: 'on',
      organizationReady: 'on',
    });
    expect(forged.status).toBe(403);

    const done = await browser.postForm('/pos/confirmation', {
      csrf,
      membershipId: membership.id,
      trainingCompleted: 'on',
      organizationReady: 'on',
    });
    expect(done.status).toBe(303);
    expect((await t.em().findOneOrFail(Membership, membership.id)).status).toBe('confirmed');
    const after = await (await browser.get('/pos')).text();
    expect(after).not.toContain('Мною пройдено обучение');
    expect(after).toContain('Подтвержден');
  });
});
