import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import * as oidc from 'openid-client';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { secretDigest } from '../src/common/secrets.js';
import { OidcClient } from '../src/provider/oidc-client.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import { ageAuthentication } from './support/gosuslugi.js';
import { recordSecret } from './support/log-capture.js';
import { memberBrowser, openPage, operatorBrowser, organization } from './support/pos.js';
import {
  authorize,
  clientPost,
  loggedIn,
  type Registered,
  relyingParty,
} from './support/provider.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

/**
 * «Приложения» on /pos/operator: a platform operator registers a client of the OpenID Provider
 * and issues it a new secret from the page, through the same ClientsService (and its rules and
 * audit events) as `client:create` and `client:rotate-secret`. The secret is shown once, on an
 * answer no cache keeps, never in an address, a redirect, the log or the audit log; the client
 * made there is real (openid-client signs a person in with it).
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp(
    { THROTTLE_LIMIT: '100000', THROTTLE_AUTH_LIMIT: '100000' },
    { listen: true },
  );
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

const CLIENTS_TAB = '/pos/operator?tab=clients';

/** A page and its form token: the clients tab unless said otherwise. */
const open = (browser: Browser, path = CLIENTS_TAB) => openPage(browser, path);

const callbackUri = () => `http://127.0.0.1:9/callback/${randomUUID()}`;

interface Shown {
  response: Response;
  html: string;
  clientId: string;
  clientSecret: string | null;
}

/** The show-once page: what it says, the secret recorded for the log check. */
async function shown(response: Response): Promise<Shown> {
  const html = await response.text();
  expect({ status: response.status, html: response.status === 200 ? '' : html }).toEqual({
    status: 200,
    html: '',
  });
  const clientId = /id="client-id">([^<]+)</.exec(html)![1];
  const clientSecret = /id="client-secret">([^<]+)</.exec(html)?.[1] ?? null;
  recordSecret('client_secret shown by the operator page', clientSecret);
  return { response, html, clientId, clientSecret };
}

/** «Новое приложение» posted as the browser posts it (unchecked boxes are not sent). */
function createForm(
  browser: Browser,
  csrf: string,
  fields: Record<string, string> & { name: string; redirectUris: string },
): Promise<Response> {
  return browser.postForm('/pos/operator/clients', {
    csrf,
    postLogoutRedirectUris: '',
    backchannelLogoutUri: '',
    type: 'confidential',
    ...fields,
  });
}

const events = (type: string, where: Record<string, unknown> = {}) =>
  t.em().find(AuditEvent, { type, ...where }, { orderBy: { createdAt: 'asc' } });

const clientCount = () => t.em().count(OidcClient, {});

const row = (clientId: string) => t.em().findOneOrFail(OidcClient, { clientId }, { refresh: true });

describe('«Новое приложение» on the operator page', () => {
  it('creates a confidential client from the form: client_id and client_secret shown once, on a no-store answer, audited without the secret', async () => {
    const operator = await operatorBrowser(t);
    const { html: tab, csrf } = await open(operator.browser);
    expect(tab).toContain('Новое приложение');
    expect(tab).not.toContain('только из командной строки');
    const [first, second] = [callbackUri(), callbackUri()];
    const response = await createForm(operator.browser, csrf, {
      name: 'Электронный дневник (страница)',
      // One per line, as typed: blank lines and a Windows line end are no addresses.
      redirectUris: `${first}\r\n\n  ${second}  \n`,
      postLogoutRedirectUris: 'https://diary.example.ru/logged-out',
      backchannelLogoutUri: 'https://diary.example.ru/backchannel',
      firstParty: 'yes',
      requiredAcr: 'gosuslugi',
    });
    // The answer itself, never a redirect whose address or next page could carry the secret.
    expect(response.headers.get('location')).toBeNull();
    expect(response.headers.get('cache-control')).toContain('no-store');
    const page = await shown(response);
    expect(page.html).toContain('Приложение зарегистрировано');
    expect(page.html).toContain('показан один раз');
    expect(page.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(page.html).toContain(`id="discovery-url">${t.url}/.well-known/openid-configuration<`);
    // Reloading the answer opens the list, not the POST again (which would register another).
    expect(page.html).toContain(`data-page-url="${CLIENTS_TAB}"`);

    const client = await row(page.clientId);
    expect(client).toMatchObject({
      name: 'Электронный дневник (страница)',
      redirectUris: [first, second],
      postLogoutRedirectUris: ['https://diary.example.ru/logged-out'],
      backchannelLogoutUri: 'https://diary.example.ru/backchannel',
      isPublic: false,
      firstParty: true,
      requiredAcr: 'gosuslugi',
      disabledAt: null,
    });
    expect(client.secretHash).toBe(secretDigest(page.clientSecret!));

    const audited = await events('oidc.client.created', { actorUserId: operator.id });
    expect(audited).toEqual([
      expect.objectContaining({
        details: expect.objectContaining({ clientId: page.clientId, via: 'web' }),
      }),
    ]);
    expect(JSON.stringify(audited)).not.toContain(page.clientSecret);

    // Shown once: the list names the client, never its secret.
    const list = await open(operator.browser);
    expect(list.html).toContain(page.clientId);
    expect(list.html).not.toContain(page.clientSecret);
  });

  it('a client registered on the page is real: openid-client completes code + PKCE with it, confidential and public', async () => {
    const operator = await operatorBrowser(t);
    const { csrf } = await open(operator.browser);
    const { browser, account } = await loggedIn(t);
    for (const type of ['confidential', 'public'] as const) {
      const redirectUri = callbackUri();
      const page = await shown(
        await createForm(operator.browser, csrf, {
          name: `Дневник школы (${type})`,
          redirectUris: redirectUri,
          type,
          firstParty: 'yes',
        }),
      );
      expect({ type, secret: page.clientSecret !== null }).toEqual({
        type,
        secret: type === 'confidential',
      });
      const registered: Registered = {
        clientId: page.clientId,
        clientSecret: page.clientSecret,
        redirectUri,
      };
      const config = await relyingParty(t, registered);
      const { callback, verifier, state } = await authorize(browser, config, registered, null);
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
      expect(tokens.claims()).toMatchObject({ iss: t.url, aud: page.clientId, sub: account.id });
      await expect(
        oidc.fetchUserInfo(config, tokens.access_token, account.id),
      ).resolves.toMatchObject({ sub: account.id, preferred_username: account.login });
    }
  });

  it('refuses what the command line refuses, in Russian under the field, keeping what was typed, writing nothing', async () => {
    const operator = await operatorBrowser(t);
    const { csrf } = await open(operator.browser);
    const before = await clientCount();
    const typed = `${callbackUri()}\nhttp://diary.example.ru/callback`;
    const plainHttp = await createForm(operator.browser, csrf, {
      name: 'Дневник по http',
      redirectUris: typed,
      postLogoutRedirectUris: 'https://diary.example.ru/bye',
      type: 'public',
      firstParty: 'yes',
    });
    expect(plainHttp.status).toBe(422);
    const html = await plainHttp.text();
    expect(html).toContain('Проверьте поля, отмеченные ниже');
    expect(html).toMatch(
      /id="client-redirect-uris-error"><li>http:\/\/diary\.example\.ru\/callback: нужен адрес https/,
    );
    // The first field in error takes the focus, so a phone scrolls down to it.
    expect(html).toMatch(
      /<textarea id="client-redirect-uris"[^>]* autofocus[^>]* aria-invalid="true"/,
    );
    // No machine codes on the page.
    expect(html).not.toContain('https_required');
    // What was typed is still there to correct.
    expect(html).toContain('value="Дневник по http"');
    expect(html).toContain(`>${typed}</textarea>`);
    expect(html).toContain('>https://diary.example.ru/bye</textarea>');
    expect(html).toMatch(/name="type" value="public"[^>]* checked/);
    expect(html).toMatch(/name="firstParty" value="yes"[^>]* checked/);

    const none = await createForm(operator.browser, csrf, {
      name: 'Без адреса',
      redirectUris: ' ',
    });
    expect(none.status).toBe(422);
    expect(await none.text()).toMatch(
      /id="client-redirect-uris-error"><li>Нужен хотя бы один адрес возврата/,
    );

    const script = await createForm(operator.browser, csrf, {
      name: 'Сценарий',
      redirectUris: callbackUri(),
      backchannelLogoutUri: 'javascript:alert(1)',
    });
    expect(script.status).toBe(422);
    expect(await script.text()).toMatch(
      /id="client-backchannel-error"><li>javascript:alert\(1\): /,
    );

    const unnamed = await createForm(operator.browser, csrf, {
      name: '   ',
      redirectUris: callbackUri(),
    });
    expect(unnamed.status).toBe(422);
    expect(await unnamed.text()).toMatch(/id="client-name-error"><li>Название: от 1 до 200/);

    expect(await clientCount()).toBe(before);
    expect(await events('oidc.client.created', { actorUserId: operator.id })).toEqual([]);
  });
});

describe('«Выпустить новый секрет» on the operator page', () => {
  it('shows the new secret once; the old secret fails at the token endpoint at once and the new one redeems the code; audited without the secret', async () => {
    const operator = await operatorBrowser(t);
    const { csrf } = await open(operator.browser);
    const redirectUri = callbackUri();
    const created = await shown(
      await createForm(operator.browser, csrf, {
        name: 'Бэк-офис ПОС (ротация)',
        redirectUris: redirectUri,
        firstParty: 'yes',
      }),
    );
    const old: Registered = {
      clientId: created.clientId,
      clientSecret: created.clientSecret,
      redirectUri,
    };
    const { browser } = await loggedIn(t);
    const { callback, verifier, state } = await authorize(
      browser,
      await relyingParty(t, old),
      old,
      null,
    );

    const { html: list } = await open(operator.browser);
    expect(list).toContain(`action="/pos/operator/clients/${created.clientId}/rotate-secret"`);
    const response = await operator.browser.postForm(
      `/pos/operator/clients/${created.clientId}/rotate-secret`,
      { csrf },
    );
    expect(response.headers.get('location')).toBeNull();
    expect(response.headers.get('cache-control')).toContain('no-store');
    const rotated = await shown(response);
    expect(rotated.html).toContain('Новый секрет выпущен');
    expect(rotated.clientId).toBe(created.clientId);
    expect(rotated.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rotated.clientSecret).not.toBe(created.clientSecret);
    expect((await row(created.clientId)).secretHash).toBe(secretDigest(rotated.clientSecret!));

    const redeem = {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    };
    const withOld = await clientPost(t, old, '/oidc/token', redeem);
    expect(withOld.status).toBe(401);
    expect(((await withOld.json()) as { error: string }).error).toBe('invalid_client');
    // The refused client authentication left the code unused: the new secret redeems it.
    const renewed = { ...old, clientSecret: rotated.clientSecret };
    const tokens = await oidc.authorizationCodeGrant(await relyingParty(t, renewed), callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.claims()).toMatchObject({ aud: created.clientId });

    const audited = await events('oidc.client.secret_rotated', { actorUserId: operator.id });
    expect(audited).toEqual([
      expect.objectContaining({
        details: expect.objectContaining({ clientId: created.clientId, via: 'web' }),
      }),
    ]);
    expect(JSON.stringify(audited)).not.toContain(rotated.clientSecret);
    expect(JSON.stringify(audited)).not.toContain(created.clientSecret);
  });

  it('a public client has no secret to rotate, an unknown client is not found: Russian messages, nothing changed', async () => {
    const operator = await operatorBrowser(t);
    const { csrf } = await open(operator.browser);
    const page = await shown(
      await createForm(operator.browser, csrf, {
        name: 'Мобильное приложение',
        redirectUris: callbackUri(),
        type: 'public',
      }),
    );
    const { html: list } = await open(operator.browser);
    expect(list).not.toContain(`/pos/operator/clients/${page.clientId}/rotate-secret`);
    const publicClient = await operator.browser.postForm(
      `/pos/operator/clients/${page.clientId}/rotate-secret`,
      { csrf },
    );
    expect(publicClient.status).toBe(409);
    expect(await publicClient.text()).toContain('У публичного приложения нет секрета');
    expect((await row(page.clientId)).secretHash).toBeNull();

    const unknown = await operator.browser.postForm(
      `/pos/operator/clients/${randomUUID()}/rotate-secret`,
      { csrf },
    );
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('Приложение не найдено');
    expect(await events('oidc.client.secret_rotated', { actorUserId: operator.id })).toEqual([]);
  });
});

describe('who may register clients and issue their secrets', () => {
  /** A confidential client straight from the service, to aim the rotation at. */
  async function target(): Promise<OidcClient> {
    const operator = await operatorBrowser(t);
    const { csrf } = await open(operator.browser);
    const page = await shown(
      await createForm(operator.browser, csrf, { name: 'Цель', redirectUris: callbackUri() }),
    );
    return row(page.clientId);
  }

  it('an organisation administrator who is not a platform operator gets 403: nothing registered, no secret issued', async () => {
    const victim = await target();
    const org = await organization(t.em(), 'Школа № 77 (приложения)', null);
    const admin = await memberBrowser(t, org, ['admin']);
    // A real form token of this browser, from a page it may open.
    const { csrf } = await open(admin.browser, '/account');
    const before = await clientCount();
    const created = await createForm(admin.browser, csrf, {
      name: 'Приложение захватчика',
      redirectUris: callbackUri(),
    });
    expect(created.status).toBe(403);
    expect(await created.text()).not.toMatch(/id="client-secret"/);
    const rotated = await admin.browser.postForm(
      `/pos/operator/clients/${victim.clientId}/rotate-secret`,
      { csrf },
    );
    expect(rotated.status).toBe(403);
    expect(await rotated.text()).not.toMatch(/id="client-secret"/);
    expect(await clientCount()).toBe(before);
    expect((await row(victim.clientId)).secretHash).toBe(victim.secretHash);
    expect(await events('oidc.client.created', { actorUserId: admin.user.id })).toEqual([]);
    expect(await events('oidc.client.secret_rotated', { actorUserId: admin.user.id })).toEqual([]);
  });

  it('an operator session whose login is 11 minutes old is sent to enter the password again: nothing registered, the secret unchanged', async () => {
    const victim = await target();
    const operator = await operatorBrowser(t);
    const { csrf } = await open(operator.browser);
    await ageAuthentication(t, operator.id);
    const before = await clientCount();
    const reauth = `/login?${new URLSearchParams({ returnTo: CLIENTS_TAB, reauth: '1' }).toString()}`;

    const created = await createForm(operator.browser, csrf, {
      name: 'Приложение с чужого компьютера',
      redirectUris: callbackUri(),
    });
    expect(created.status).toBe(303);
    expect(Browser.location(created)).toBe(reauth);
    const rotated = await operator.browser.postForm(
      `/pos/operator/clients/${victim.clientId}/rotate-secret`,
      { csrf },
    );
    expect(rotated.status).toBe(303);
    expect(Browser.location(rotated)).toBe(reauth);

    expect(await clientCount()).toBe(before);
    expect((await row(victim.clientId)).secretHash).toBe(victim.secretHash);
    expect(await events('oidc.client.created', { actorUserId: operator.id })).toEqual([]);
    expect(await events('oidc.client.secret_rotated', { actorUserId: operator.id })).toEqual([]);
  });

  it('refuses a cross-site post and a stale form token, registering nothing', async () => {
    const victim = await target();
    const operator = await operatorBrowser(t);
    const { csrf } = await open(operator.browser);
    const before = await clientCount();
    const forged = await operator.browser.postFormCrossSite('/pos/operator/clients', {
      csrf,
      name: 'Подделанное приложение',
      redirectUris: callbackUri(),
      type: 'confidential',
    });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { code: string }).code).toBe('cross_origin_request');
    const forgedRotation = await operator.browser.postFormCrossSite(
      `/pos/operator/clients/${victim.clientId}/rotate-secret`,
      { csrf },
    );
    expect(forgedRotation.status).toBe(403);
    const stale = await createForm(operator.browser, 'x'.repeat(43), {
      name: 'Подделанное приложение',
      redirectUris: callbackUri(),
    });
    expect(stale.status).toBe(403);
    const staleHtml = await stale.text();
    expect(staleHtml).toContain('Страница устарела');
    expect(staleHtml).toContain('Новое приложение');
    const staleRotation = await operator.browser.postForm(
      `/pos/operator/clients/${victim.clientId}/rotate-secret`,
      { csrf: 'x'.repeat(43) },
    );
    expect(staleRotation.status).toBe(403);
    expect(await staleRotation.text()).toContain('Страница устарела');
    expect(await clientCount()).toBe(before);
    expect((await row(victim.clientId)).secretHash).toBe(victim.secretHash);
  });
});
