import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import {
  authorize,
  type Authorization,
  loggedIn,
  registerClient,
  relyingParty,
} from './support/provider.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

/**
 * Consent for applications that are not first-party, over HTTP with openid-client as the relying
 * party: the consent page, «Разрешить» remembered per client, «Отказать», and «Отозвать доступ»
 * in «Приложения».
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ THROTTLE_AUTH_LIMIT: '100000' }, { listen: true });
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

async function tokensOf(config: oidc.Configuration, walked: Authorization) {
  return oidc.authorizationCodeGrant(config, walked.callback, {
    pkceCodeVerifier: walked.verifier,
    expectedState: walked.state,
  });
}

async function auditOf(type: string, clientId: string) {
  const events = await t.em().find(AuditEvent, { type }, { orderBy: { createdAt: 'asc' } });
  return events.filter((event) => event.details.clientId === clientId);
}

/** The rows oidc-provider keeps for a person's grants of one client, and under them. */
async function storedRows(accountId: string, clientId: string): Promise<number> {
  const [row] = await t
    .em()
    .getConnection()
    .execute<{ count: string }[]>(
      `with grants as (select id from oidc_payloads where model = 'Grant'
         and payload->>'accountId' = ? and payload->>'clientId' = ?)
       select count(*) from oidc_payloads
        where grant_id in (select id from grants) or (model = 'Grant' and id in (select id from grants))`,
      [accountId, clientId],
    );
  return Number(row.count);
}

describe('OpenID Provider: consent', () => {
  it('a client that is not first-party shows the consent page; «Разрешить» completes the flow and is remembered', async () => {
    const { browser, account } = await loggedIn(t);
    const client = await registerClient(t, { name: 'Школьное расписание', firstParty: false });
    const config = await relyingParty(t, client);

    const first = await authorize(
      browser,
      config,
      client,
      null,
      { scope: 'openid profile email' },
      { consent: 'allow' },
    );
    expect(first.consentPages).toHaveLength(1);
    const page = first.consentPages[0];
    expect(page).toContain('Приложение «Школьное расписание» просит доступ');
    expect(page).toContain(account.login);
    expect(page).toContain('ФИО и логин');
    expect(page).toContain('адрес электронной почты (подтверждённый)');
    expect(page).not.toContain('телефон');
    expect(page).toContain('Разрешить');
    expect(page).toContain('Отказать');
    const tokens = await tokensOf(config, first);
    expect(tokens.claims()).toMatchObject({ sub: account.id, aud: client.clientId });
    await expect(
      oidc.fetchUserInfo(config, tokens.access_token, account.id),
    ).resolves.toMatchObject({ sub: account.id, preferred_username: account.login });
    const granted = await auditOf('oidc.consent.granted', client.clientId);
    expect(granted).toHaveLength(1);
    expect(granted[0]).toMatchObject({
      actorUserId: account.id,
      details: { scopes: ['email', 'openid', 'profile'] },
    });

    // The same browser again: no page.
    const again = await authorize(browser, config, client, null, { scope: 'openid profile email' });
    expect(again.consentPages).toHaveLength(0);
    // Remembered per client, not per session: a new login from another browser, no page either.
    const { browser: other } = await loggedIn(t, account);
    const elsewhere = await authorize(other, config, client, null, { scope: 'openid profile' });
    expect(elsewhere.consentPages).toHaveLength(0);
    expect((await tokensOf(config, elsewhere)).scope?.split(' ').sort()).toEqual([
      'openid',
      'profile',
    ]);

    // Asking for more than was allowed asks again, for everything it will then receive.
    const more = await authorize(
      browser,
      config,
      client,
      null,
      { scope: 'openid profile phone' },
      { consent: 'allow' },
    );
    expect(more.consentPages).toHaveLength(1);
    expect(more.consentPages[0]).toContain('телефон');
    expect(more.consentPages[0]).toContain('ФИО и логин');
    expect((await auditOf('oidc.consent.granted', client.clientId)).at(-1)?.details.scopes).toEqual(
      ['email', 'openid', 'phone', 'profile'],
    );
  });

  it('«Отказать» returns access_denied to the application', async () => {
    const { browser, account } = await loggedIn(t);
    const client = await registerClient(t, { name: 'Чужое приложение', firstParty: false });
    const config = await relyingParty(t, client);

    const refused = await authorize(
      browser,
      config,
      client,
      null,
      { scope: 'openid profile' },
      { consent: 'deny' },
    );
    expect(refused.consentPages).toHaveLength(1);
    expect(refused.callback.searchParams.get('error')).toBe('access_denied');
    expect(refused.callback.searchParams.get('state')).toBe(refused.state);
    expect(refused.callback.searchParams.get('code')).toBeNull();
    // openid-client reports it as the authorization server's refusal.
    await expect(tokensOf(config, refused)).rejects.toMatchObject({ error: 'access_denied' });
    expect(await auditOf('oidc.consent.granted', client.clientId)).toHaveLength(0);
    expect(await storedRows(account.id, client.clientId)).toBe(0);
    // Nothing remembered: the next authorization asks again.
    const next = await authorize(
      browser,
      config,
      client,
      null,
      { scope: 'openid' },
      { consent: 'allow' },
    );
    expect(next.consentPages).toHaveLength(1);
  });

  it('«Отозвать доступ» in «Приложения» revokes the tokens and asks consent again', async () => {
    const { browser, account } = await loggedIn(t);
    const client = await registerClient(t, { name: 'Кружки и секции', firstParty: false });
    const config = await relyingParty(t, client);
    const platform = await registerClient(t, { name: 'Электронный дневник' });

    const tokens = await tokensOf(
      config,
      await authorize(
        browser,
        config,
        client,
        null,
        { scope: 'openid profile' },
        { consent: 'allow' },
      ),
    );
    await expect(
      oidc.fetchUserInfo(config, tokens.access_token, account.id),
    ).resolves.toMatchObject({ sub: account.id });
    const platformConfig = await relyingParty(t, platform);
    await tokensOf(
      platformConfig,
      await authorize(browser, platformConfig, platform, null, { scope: 'openid' }),
    );

    const page = await browser.get('/account/applications');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Кружки и секции');
    expect(html).toContain('ФИО и логин');
    expect(html).toContain(`/account/applications/${client.clientId}/revoke`);
    // First-party: listed as the platform's own, without the button.
    expect(html).toContain('Электронный дневник');
    expect(html).toContain('Приложение платформы');
    expect(html).not.toContain(`/account/applications/${platform.clientId}/revoke`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1];

    const revoked = await browser.postForm(`/account/applications/${client.clientId}/revoke`, {
      csrf,
    });
    expect(revoked.status).toBe(303);
    expect(Browser.location(revoked)).toBe('/account/applications?notice=revoked');
    expect(await (await browser.get('/account/applications?notice=revoked')).text()).toContain(
      'Доступ отозван',
    );
    // The access token no longer works, and nothing of the grant is left in storage.
    await expect(oidc.fetchUserInfo(config, tokens.access_token, account.id)).rejects.toThrow();
    expect(await storedRows(account.id, client.clientId)).toBe(0);
    expect(await auditOf('oidc.consent.revoked', client.clientId)).toEqual([
      expect.objectContaining({ actorUserId: account.id }),
    ]);
    // The next authorization asks again, in the same browser (its provider session names the
    // revoked grant).
    const after = await authorize(
      browser,
      config,
      client,
      null,
      { scope: 'openid profile' },
      { consent: 'allow' },
    );
    expect(after.consentPages).toHaveLength(1);
  });

  it("cannot revoke another person's application, and an unknown one is not found", async () => {
    const owner = await loggedIn(t);
    const client = await registerClient(t, { name: 'Библиотека', firstParty: false });
    const config = await relyingParty(t, client);
    const tokens = await tokensOf(
      config,
      await authorize(
        owner.browser,
        config,
        client,
        null,
        { scope: 'openid' },
        { consent: 'allow' },
      ),
    );

    const intruder = await loggedIn(t);
    const page = await (await intruder.browser.get('/account/applications')).text();
    expect(page).not.toContain('Библиотека');
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1];
    const refused = await intruder.browser.postForm(
      `/account/applications/${client.clientId}/revoke`,
      { csrf },
    );
    expect(refused.status).toBe(404);
    expect(await refused.text()).toContain('нет доступа к вашей учётной записи');
    // The owner's access is untouched.
    await expect(
      oidc.fetchUserInfo(config, tokens.access_token, owner.account.id),
    ).resolves.toMatchObject({ sub: owner.account.id });
    expect(await auditOf('oidc.consent.revoked', client.clientId)).toHaveLength(0);
  });

  it('refuses a consent form from another site, and shows a stale one again without deciding', async () => {
    const { browser, account } = await loggedIn(t);
    const client = await registerClient(t, { name: 'Олимпиады', firstParty: false });
    const config = await relyingParty(t, client);
    await expect(authorize(browser, config, client, null, { scope: 'openid' })).rejects.toThrow(
      'the consent page was shown',
    );
    const interaction = [...browser.cookies.keys()].some((name) => name.includes('interaction'));
    expect(interaction).toBe(true);
    // The interaction the walk stopped at: its page is at /oidc/interaction/<uid>.
    const [{ uid }] = await t
      .em()
      .getConnection()
      .execute<{ uid: string }[]>(
        `select id as uid from oidc_payloads where model = 'Interaction'
           and payload->'params'->>'client_id' = ? order by expires_at desc limit 1`,
        [client.clientId],
      );
    const html = await (await browser.get(`/oidc/interaction/${uid}`)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1];

    const forged = await browser.postFormCrossSite(`/oidc/interaction/${uid}`, {
      csrf,
      decision: 'allow',
    });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { code: string }).code).toBe('cross_origin_request');
    const stale = await browser.postForm(`/oidc/interaction/${uid}`, {
      csrf: 'x'.repeat(43),
      decision: 'allow',
    });
    expect(stale.status).toBe(403);
    expect(await stale.text()).toContain('Страница устарела');
    expect(await auditOf('oidc.consent.granted', client.clientId)).toHaveLength(0);
    expect(await storedRows(account.id, client.clientId)).toBe(0);
  });
});
