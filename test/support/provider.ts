import { expect } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import * as oidc from 'openid-client';
import { type ClientAcr, ClientsService } from '../../src/provider/clients.service.js';
import { type TestApp } from './app.js';
import { Browser } from './browser.js';
import { register, STRONG_PASSWORD, uniqueLogin } from './http.js';

/**
 * The relying-party side of the OpenID Provider specs: registered clients, openid-client
 * configurations from our discovery, and a browser walking an authorization request. (The same
 * helpers as test/provider.spec.ts, for specs of their own.)
 */

export interface Registered {
  clientId: string;
  clientSecret: string | null;
  redirectUri: string;
}

export async function registerClient(
  t: TestApp,
  options: {
    name?: string;
    isPublic?: boolean;
    firstParty?: boolean;
    requiredAcr?: ClientAcr;
    backchannelLogoutUri?: string;
    postLogoutRedirectUris?: string[];
  } = {},
): Promise<Registered> {
  const redirectUri = `http://127.0.0.1:9/callback/${randomUUID()}`;
  const { client, clientSecret } = await t.app.get(ClientsService).create({
    name: options.name ?? 'Электронный дневник',
    redirectUris: [redirectUri],
    isPublic: options.isPublic ?? false,
    firstParty: options.firstParty ?? true,
    requiredAcr: options.requiredAcr ?? null,
    postLogoutRedirectUris: options.postLogoutRedirectUris,
    backchannelLogoutUri: options.backchannelLogoutUri,
  });
  return { clientId: client.clientId, clientSecret, redirectUri };
}

/** A relying party built with openid-client from our discovery document. */
export async function relyingParty(t: TestApp, client: Registered, secret = client.clientSecret) {
  const config = await oidc.discovery(
    new URL(t.url),
    client.clientId,
    undefined,
    secret === null ? oidc.None() : oidc.ClientSecretBasic(secret),
    { execute: [oidc.allowInsecureRequests] },
  );
  // Verify the ID token's signature against the discovered JWKS too (not only TLS trust).
  oidc.enableNonRepudiationChecks(config);
  return config;
}

export interface Authorization {
  callback: URL;
  verifier: string;
  state: string;
  /** Every /login URL shown on the way (with its query: `notice`, `returnTo`). */
  loginPages: URL[];
  /** The consent pages shown on the way (their HTML). */
  consentPages: string[];
}

/**
 * A browser walking an authorization request: our /login form when it is shown (filled with
 * `account`, or «Войти через Госуслуги» and the stand-in's person), the consent page answered
 * with `consent` (the walk fails when it is shown and none is given), every redirect and
 * self-moving page followed, stopping at the client's redirect URI (not visited).
 */
export async function authorize(
  browser: Browser,
  config: oidc.Configuration,
  client: Registered,
  account: { login: string; password: string } | { gosuslugi: number } | null,
  extra: Record<string, string> = {},
  { consent }: { consent?: 'allow' | 'deny' } = {},
): Promise<Authorization> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: client.redirectUri,
    scope: 'openid profile email phone',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...extra,
  });
  const { callback, loginPages, consentPages } = await walkAuthorization(
    browser,
    url.href,
    client.redirectUri,
    account,
    { consent },
  );
  return { callback, verifier, state, loginPages, consentPages };
}

/**
 * The browser's part of an authorization request from `start` (an authorization URL, ours or an
 * application's that redirects to it): our /login form when it is shown (filled with `account`,
 * or «Войти через Госуслуги» and the stand-in's person), every redirect and Refresh page
 * followed, stopping at `redirectUri` (not visited).
 */
export async function walkAuthorization(
  browser: Browser,
  start: string,
  redirectUri: string,
  account: { login: string; password: string } | { gosuslugi: number } | null,
  { consent }: { consent?: 'allow' | 'deny' } = {},
): Promise<{ callback: URL; loginPages: URL[]; consentPages: string[] }> {
  let next = start;
  const loginPages: URL[] = [];
  const consentPages: string[] = [];
  for (let hop = 0; hop < 14; hop++) {
    if (next.startsWith(redirectUri)) return { callback: new URL(next), loginPages, consentPages };
    const response = await browser.get(next);
    const current = new URL(next, browser.base);
    if (response.status === 200 && current.pathname === '/login') {
      const html = await response.text();
      loginPages.push(current);
      if (!account || loginPages.length > 2) throw new Error('the login form was shown');
      expect(html).toContain('Вход в приложение «');
      const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1];
      const returnTo = current.searchParams.get('returnTo')!;
      const posted =
        'gosuslugi' in account
          ? await browser.postForm('/auth/gosuslugi/login', { csrf, returnTo })
          : await browser.postForm('/login', {
              csrf,
              returnTo,
              login: account.login,
              password: account.password,
            });
      next = new URL(Browser.location(posted), browser.base).href;
      continue;
    }
    if (response.status === 200 && current.pathname.startsWith('/dev/gosuslugi/')) {
      if (!account || !('gosuslugi' in account)) throw new Error('Госуслуги asked for a person');
      const action = /<form method="post" action="([^"]+)">/.exec(await response.text())![1];
      const picked = await browser.postForm(action.replace(/&amp;/g, '&'), {
        oid: String(account.gosuslugi),
      });
      next = new URL(Browser.location(picked), browser.base).href;
      continue;
    }
    const refresh = /^0;url=(.+)$/.exec(response.headers.get('refresh') ?? '');
    if (response.status === 200 && refresh) {
      next = new URL(refresh[1], browser.base).href;
      continue;
    }
    if (response.status === 200 && current.pathname.startsWith('/oidc/interaction/')) {
      const html = await response.text();
      consentPages.push(html);
      if (!consent) throw new Error('the consent page was shown');
      const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1];
      const decided = await browser.postForm(current.pathname, { csrf, decision: consent });
      const moved = /^0;url=(.+)$/.exec(decided.headers.get('refresh') ?? '');
      if (decided.status !== 200 || !moved)
        throw new Error(`the consent form answered ${decided.status}`);
      next = new URL(moved[1], browser.base).href;
      continue;
    }
    if (response.status < 300 || response.status > 399)
      throw new Error(
        `unexpected ${response.status} at ${current.pathname}: ${(await response.text()).slice(0, 300)}`,
      );
    next = new URL(Browser.location(response), browser.base).href;
  }
  throw new Error('too many redirects');
}

/**
 * A browser already logged in here with the password (of `existing`, or of a new account), so
 * authorization needs no form.
 */
export async function loggedIn(
  t: TestApp,
  existing?: { id: string; login: string; password: string },
): Promise<{ browser: Browser; account: { id: string; login: string; password: string } }> {
  const account = existing ?? (await register(t, uniqueLogin('tok'), STRONG_PASSWORD));
  const browser = new Browser(t.url);
  const response = await browser.postJson('/api/v1/auth/login', {
    login: account.login,
    password: account.password,
  });
  expect(response.status).toBe(200);
  return { browser, account };
}

/** A form POST to one of the provider's endpoints, the client authenticated as its method says. */
export async function clientPost(
  t: TestApp,
  client: Registered,
  path: string,
  body: Record<string, string>,
): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client.clientSecret)
    headers.authorization = `Basic ${Buffer.from(
      `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`,
    ).toString('base64')}`;
  else body = { ...body, client_id: client.clientId };
  return fetch(`${t.url}${path}`, {
    method: 'POST',
    headers,
    body: new URLSearchParams(body).toString(),
  });
}
