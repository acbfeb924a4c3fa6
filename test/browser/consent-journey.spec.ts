/// <reference lib="dom" />
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { type Page } from 'playwright-core';
import { journeyBrowser, screenshot, see } from '../support/chromium.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * An application that is not first-party, in Debian's Chromium against the built service: the
 * consent page, «Разрешить», «Приложения» in «Личный кабинет» with «Отозвать доступ», the page
 * again and «Отказать»; at 1280 and 390 px, screenshots in test-results/screenshots.
 */
// «Отозвать доступ» asks first; the journey's pages answer yes.
const journey = journeyBrowser();
let application: Server;
let origin: string;
let config: oidc.Configuration;
const NAME = 'Кружки и секции';
const PASSWORD = 'Zvezda#2026';

beforeAll(async () => {
  const service = journey.service;
  // The application's callback: a server of its own, on another origin than ours.
  application = createServer((_req, res) => res.end('application'));
  await new Promise<void>((resolve) => application.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(application.address() as AddressInfo).port}`;
  const created = JSON.parse(
    await service.cli(
      'client:create',
      '--name',
      NAME,
      '--redirect-uri',
      `${origin}/callback`,
      '--json',
    ),
  ) as { client: { clientId: string }; clientSecret: string };
  config = await oidc.discovery(
    new URL(service.url),
    created.client.clientId,
    undefined,
    oidc.ClientSecretBasic(created.clientSecret),
    { execute: [oidc.allowInsecureRequests] },
  );
}, STARTUP_TIMEOUT_MS);

afterAll(() => {
  application?.close();
});

const newPage = (width: number) => journey.page(width);

function register(page: Page, login: string): Promise<void> {
  return journey.register(page, login, PASSWORD);
}

/** The application sends the browser to authorize; returns the PKCE verifier and state. */
async function startAuthorization(page: Page) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: `${origin}/callback`,
    scope: 'openid profile email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  await page.goto(url.href);
  return { verifier, state };
}

function unique(prefix: string): string {
  return `${prefix}.${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

describe('journey 7: an application that is not first-party', () => {
  it('consent page → «Разрешить» → «Приложения» → «Отозвать доступ» → asked again → «Отказать»', async () => {
    const { page, problems } = await newPage(1280);
    await register(page, unique('petrova'));

    const first = await startAuthorization(page);
    await see.contains(page.getByRole('heading', { level: 1 }), `Приложение «${NAME}»`);
    await see.contains(page.locator('main'), 'ФИО и логин');
    await see.contains(page.locator('main'), 'адрес электронной почты (подтверждённый)');
    await screenshot(page, '7-consent', true);
    await page.getByRole('button', { name: 'Разрешить' }).click();
    await page.waitForURL(`${origin}/callback?**`);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url()), {
      pkceCodeVerifier: first.verifier,
      expectedState: first.state,
    });
    expect(tokens.claims()?.sub).toEqual(expect.any(String));

    // Remembered: the next authorization goes straight back to the application.
    await startAuthorization(page);
    await page.waitForURL(`${origin}/callback?**`);
    expect(new URL(page.url()).searchParams.get('code')).toEqual(expect.any(String));

    await page.goto('/account');
    await page.getByRole('link', { name: 'Приложения с доступом' }).click();
    await page.waitForURL('**/account/applications');
    const row = page.locator('li', { hasText: NAME });
    await see.contains(row, 'ФИО и логин');
    await screenshot(page, '7-applications', true);
    await row.getByRole('button', { name: 'Отозвать доступ' }).click();
    await page.waitForURL('**/account/applications?notice=revoked');
    await see.contains(page.getByRole('status'), 'Доступ отозван');
    await expect(page.locator('li', { hasText: NAME }).count()).resolves.toBe(0);
    await screenshot(page, '7-applications-revoked');
    await expect(
      oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck),
    ).rejects.toThrow();

    // Asked again; this time «Отказать».
    const again = await startAuthorization(page);
    await see.contains(page.getByRole('heading', { level: 1 }), `Приложение «${NAME}»`);
    await page.getByRole('button', { name: 'Отказать' }).click();
    await page.waitForURL(`${origin}/callback?**`);
    const refused = new URL(page.url());
    expect(refused.searchParams.get('error')).toBe('access_denied');
    expect(refused.searchParams.get('state')).toBe(again.state);
    expect(refused.searchParams.get('code')).toBeNull();
    expect(problems).toEqual([]);
  }, 180_000);

  it('the consent page and «Приложения» on a phone (390 px)', async () => {
    const { page, problems } = await newPage(390);
    await register(page, unique('sidorov'));
    await startAuthorization(page);
    await see.contains(page.getByRole('heading', { level: 1 }), `Приложение «${NAME}»`);
    await screenshot(page, '7-consent-phone', true);
    await page.getByRole('button', { name: 'Разрешить' }).click();
    await page.waitForURL(`${origin}/callback?**`);
    await page.goto('/account/applications');
    await see.contains(page.locator('li', { hasText: NAME }), 'Отозвать доступ');
    await screenshot(page, '7-applications-phone', true);
    // Nothing wider than the screen.
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    expect(problems).toEqual([]);
  }, 120_000);
});
