import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ESIA_DEV_MATERIAL } from '../src/config/gosuslugi.config.js';
import { EsiaStandIn } from '../src/dev/esia-stand-in.js';
import { certificateHash, loadCertificate } from '../src/gosuslugi/esia/certificates.js';
import { clientSecretText, esiaTimestamp } from '../src/gosuslugi/esia/esia-format.js';
import { gostSign, streebog256, type GostPrivateKey } from '../src/gosuslugi/esia/gost.js';
import { readGostKeyFile } from '../src/gosuslugi/esia/signer.js';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { LoginTransaction } from '../src/gosuslugi/login-transaction.entity.js';
import { FederatedIdentity, sealContext } from '../src/identity/federated-identity.entity.js';
import { PersonalDataKey } from '../src/identity/personal-data-key.service.js';
import { User } from '../src/identity/user.entity.js';
import { SessionCache } from '../src/sessions/session-cache.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import {
  confirmationState,
  esiaAuthorizationUrl,
  followToPage,
  linkThrough,
  loggedInBrowser,
  pageLogout,
  throughStandIn,
} from './support/gosuslugi.js';
import { ESIA_ERRORS } from '../src/gosuslugi/esia/esia-errors.js';
import { Membership } from '../src/pos/membership.entity.js';
import { invitee, json, operatorBrowser, organization } from './support/pos.js';
import { invitationLink, TestSmtp } from './support/smtp.js';
import { OPENSSL_GOST_CONF, opensslVerify } from './support/openssl.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

const ESIA = {
  GOSUSLUGI_PROFILE: 'esia',
  GOSUSLUGI_ESIA_ENV: 'dev',
  THROTTLE_AUTH_LIMIT: '100000',
  THROTTLE_LIMIT: '100000',
};
const OID = 1000000002;
let PEM_HASH = '';
let OTHER_SYSTEM_HASH = '';
const material = (t: TestApp, file: string) => join(t.config.dataDir, ESIA_DEV_MATERIAL.dir, file);

/** The reason of the latest refused Госуслуги callback, as the audit log has it. */
async function lastRejection(t: TestApp): Promise<unknown> {
  const [event] = await t
    .em()
    .find(
      AuditEvent,
      { type: 'gosuslugi.callback_rejected' },
      { orderBy: { createdAt: 'desc' }, limit: 1 },
    );
  return event.details.reason;
}

describe('esia profile against the ЕСИА-shaped stand-in (local GOST key)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(ESIA, { listen: true });
    // Material is made on start; the hash a careless client would send is that of the PEM text.
    PEM_HASH = streebog256(
      await readFile(material(t, ESIA_DEV_MATERIAL.systemCertificate)),
    ).toString('hex');
    // The stand-in registers its own GOST certificate as another system's.
    OTHER_SYSTEM_HASH = certificateHash(
      loadCertificate(await readFile(material(t, ESIA_DEV_MATERIAL.standInGostCertificate))),
    );
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t.close();
  });

  it('links and logs in through ЕСИА, with names and the trusted flag from /rs/prns', async () => {
    const { browser, id } = await loggedInBrowser(t);
    const linked = await linkThrough(browser, OID);
    expect(linked.status).toBe(303);
    const identity = await t.em().findOneOrFail(FederatedIdentity, { user: id });
    expect(identity).toMatchObject({ issuer: `${t.url}/dev/esia/`, subject: String(OID) });
    expect(identity.claims).toEqual({
      lastName: 'Петров',
      firstName: 'Алексей',
      middleName: 'Игоревич',
      trusted: true,
      readAt: expect.any(String),
    });

    await browser.postJson('/api/v1/auth/logout', {});
    const callback = await throughStandIn(browser, '/auth/gosuslugi/login', OID);
    expect((await browser.get(callback)).status).toBe(303);
    expect(((await (await browser.get('/api/v1/me')).json()) as { id: string }).id).toBe(id);
    await t.em().nativeDelete(FederatedIdentity, {});
  });

  it('sends a signed authorization request: Moscow timestamp, UUID state, DER certificate hash, GOST client_secret', async () => {
    const { browser } = await loggedInBrowser(t);
    const url = await esiaAuthorizationUrl(browser, '/auth/gosuslugi/link');
    const q = Object.fromEntries(url.searchParams);
    expect(url.pathname).toBe('/dev/esia/aas/oauth2/v2/ac');
    expect(q.timestamp).toMatch(/^\d{4}\.\d{2}\.\d{2} \d{2}:\d{2}:\d{2} \+0300$/);
    expect(q.state).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(q).toMatchObject({
      response_type: 'code',
      access_type: 'online',
      scope: 'openid fullname',
      redirect_uri: `${t.url}/auth/gosuslugi/callback`,
      code_challenge_method: 'S256',
    });
    // PKCE S256 of the verifier this browser's transaction keeps (RFC 7636, computed here).
    const { codeVerifier } = await t.em().findOneOrFail(LoginTransaction, { state: q.state });
    expect(q.code_challenge).toBe(createHash('sha256').update(codeVerifier).digest('base64url'));
    const certificate = loadCertificate(
      await readFile(material(t, ESIA_DEV_MATERIAL.systemCertificate)),
    );
    expect(q.client_certificate_hash).toBe(certificateHash(certificate));
    const text = clientSecretText({
      clientId: q.client_id,
      scope: q.scope,
      timestamp: q.timestamp,
      state: q.state,
      redirectUri: q.redirect_uri,
    });
    // Checked by OpenSSL's gost engine, not by the service's own code.
    expect(
      await opensslVerify(
        material(t, ESIA_DEV_MATERIAL.systemCertificate),
        Buffer.from(text),
        Buffer.from(q.client_secret, 'base64url'),
      ),
    ).toBe(true);
  });

  it.each([
    [
      'a changed timestamp format',
      'timestamp',
      (v: string) => v.replace(' +0300', ''),
      'ESIA-007015',
    ],
    [
      'a wrong signature',
      'client_secret',
      (v: string) => Buffer.from(v, 'base64url').reverse().toString('base64url'),
      'ESIA-007053',
    ],
    ['no certificate hash', 'client_certificate_hash', () => '', 'ESIA-007014'],
    [
      'the hash of the PEM text instead of the DER bytes',
      'client_certificate_hash',
      () => PEM_HASH,
      'ESIA-007053',
    ],
    [
      'the hash of a certificate registered to another system',
      'client_certificate_hash',
      () => OTHER_SYSTEM_HASH,
      'ESIA-007002',
    ],
  ])(
    'is refused by the stand-in for %s, and the page says so in Russian',
    async (_, param, change, code) => {
      const { browser, id } = await loggedInBrowser(t);
      const url = await esiaAuthorizationUrl(browser, '/auth/gosuslugi/link');
      url.searchParams.set(param, change(url.searchParams.get(param) ?? ''));
      const back = await browser.get(url.pathname + url.search);
      const callback = new URL(Browser.location(back));
      const page = await browser.get(callback.pathname + callback.search);
      expect(page.status).toBe(400);
      const html = await page.text();
      expect(html).toContain(code);
      expect(html).toMatch(/ЕСИА/);
      expect(await t.em().count(FederatedIdentity, { user: id })).toBe(0);
    },
  );

  /**
   * A token request for `code` signed with the system key as the relying party signs it (the
   * verifier is not part of the signed text), with `extra` parameters such as the verifier.
   */
  async function signedTokenRequest(
    code: string,
    state: string,
    extra: Record<string, string> = {},
  ): Promise<Response> {
    const certificate = loadCertificate(
      await readFile(material(t, ESIA_DEV_MATERIAL.systemCertificate)),
    );
    const key = await readGostKeyFile(material(t, ESIA_DEV_MATERIAL.systemKey), certificate);
    const timestamp = esiaTimestamp();
    const base = {
      clientId: 'identity-link-dev',
      scope: 'openid fullname',
      timestamp,
      state,
      redirectUri: `${t.url}/auth/gosuslugi/callback`,
    };
    return fetch(`${t.url}/dev/esia/aas/oauth2/v3/te`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: base.clientId,
        code,
        grant_type: 'authorization_code',
        client_secret: gostSign(key, Buffer.from(clientSecretText({ ...base, code }))).toString(
          'base64url',
        ),
        client_certificate_hash: certificateHash(certificate),
        state,
        redirect_uri: base.redirectUri,
        scope: base.scope,
        timestamp,
        token_type: 'Bearer',
        ...extra,
      }),
    });
  }

  /** A link started in a fresh browser, through the stand-in: its code and its transaction's verifier. */
  async function issuedCode(): Promise<{ code: string; state: string; verifier: string }> {
    const { browser } = await loggedInBrowser(t);
    const start = await esiaAuthorizationUrl(browser, '/auth/gosuslugi/link');
    const state = start.searchParams.get('state')!;
    const callback = new URL(
      await throughStandIn(browser, start.pathname + start.search, OID),
      t.url,
    );
    const { codeVerifier } = await t.em().findOneOrFail(LoginTransaction, { state });
    return { code: callback.searchParams.get('code')!, state, verifier: codeVerifier };
  }

  const esiaCodeOf = async (response: Response) =>
    /ESIA-\d{6}/.exec(
      ((await response.json()) as { error_description: string }).error_description,
    )?.[0];

  it('stand-in refuses a token request that reuses the authorization state (a fresh UUID is required)', async () => {
    const { code, state, verifier } = await issuedCode();
    const reused = await signedTokenRequest(code, state, { code_verifier: verifier });
    expect(reused.status).toBe(400);
    expect(await esiaCodeOf(reused)).toBe('ESIA-007003');
  });

  it('stand-in, as ЕСИА, redeems a code only with the verifier of its code_challenge', async () => {
    const wrong = await issuedCode();
    const mismatch = await signedTokenRequest(wrong.code, randomUUID(), {
      code_verifier: (await issuedCode()).verifier,
    });
    expect(mismatch.status).toBe(400);
    expect(await esiaCodeOf(mismatch)).toBe('ESIA-007040');

    const missing = await issuedCode();
    const without = await signedTokenRequest(missing.code, randomUUID());
    expect(without.status).toBe(400);
    expect(await esiaCodeOf(without)).toBe('ESIA-007003');

    // Each refused code is spent; a fresh one with its own verifier is redeemed.
    const right = await issuedCode();
    const redeemed = await signedTokenRequest(right.code, randomUUID(), {
      code_verifier: right.verifier,
    });
    expect(redeemed.status).toBe(200);
    expect(await redeemed.json()).toMatchObject({ id_token: expect.any(String) });
  });

  it('stand-in, as ЕСИА, refuses a verifier for a code whose authorization had no code_challenge (ESIA-007039)', async () => {
    const { browser } = await loggedInBrowser(t);
    const url = await resigned(browser, (q) => {
      q.delete('code_challenge');
      q.delete('code_challenge_method');
    });
    const state = url.searchParams.get('state')!;
    const callback = new URL(await throughStandIn(browser, url.pathname + url.search, OID), t.url);
    const { codeVerifier } = await t.em().findOneOrFail(LoginTransaction, { state });
    const refused = await signedTokenRequest(callback.searchParams.get('code')!, randomUUID(), {
      code_verifier: codeVerifier,
    });
    expect(refused.status).toBe(400);
    expect(await esiaCodeOf(refused)).toBe('ESIA-007039');
  });

  /** The browser's next authorization request, changed by `change` and signed again over it. */
  async function resigned(browser: Browser, change: (q: URLSearchParams) => void): Promise<URL> {
    const url = await esiaAuthorizationUrl(browser, '/auth/gosuslugi/link');
    const certificate = loadCertificate(
      await readFile(material(t, ESIA_DEV_MATERIAL.systemCertificate)),
    );
    const key = await readGostKeyFile(material(t, ESIA_DEV_MATERIAL.systemKey), certificate);
    const q = url.searchParams;
    change(q);
    const text = clientSecretText({
      clientId: q.get('client_id')!,
      scope: q.get('scope')!,
      timestamp: q.get('timestamp')!,
      state: q.get('state')!,
      redirectUri: q.get('redirect_uri')!,
    });
    q.set('client_secret', gostSign(key, Buffer.from(text)).toString('base64url'));
    return url;
  }

  it('stand-in, as ЕСИА: a lower-case certificate hash and a UTC timestamp are accepted', async () => {
    const { browser } = await loggedInBrowser(t);
    // The same instant written in UTC.
    const utc =
      new Date().toISOString().replace(/-/g, '.').replace('T', ' ').slice(0, 19) + ' +0000';
    const url = await resigned(browser, (q) => {
      q.set('timestamp', utc);
      q.set('client_certificate_hash', q.get('client_certificate_hash')!.toLowerCase());
    });
    const picker = await browser.get(url.pathname + url.search);
    expect(picker.status).toBe(200);
    expect(await picker.text()).toContain('ЕСИА (тестовый стенд)');
  });

  it.each([
    ['a scope not approved for the system', 'scope', 'openid fullname id_doc', 'ESIA-007006'],
    ['response_type other than code', 'response_type', 'token', 'ESIA-007009'],
    ['a PKCE method other than S256', 'code_challenge_method', 'plain', 'ESIA-007003'],
  ])('stand-in, as ЕСИА, refuses %s', async (_, param, value, code) => {
    const { browser } = await loggedInBrowser(t);
    const url = await resigned(browser, (q) => q.set(param, value));
    const back = new URL(Browser.location(await browser.get(url.pathname + url.search)));
    expect(back.searchParams.get('error_description')).toContain(code);
  });

  it('accepts GOST3410_2012_256-signed tokens from a configured certificate', async () => {
    t.app.get(EsiaStandIn).tokenSigning = 'GOST3410_2012_256';
    try {
      const { browser, id } = await loggedInBrowser(t);
      expect((await linkThrough(browser, OID)).status).toBe(303);
      expect(await t.em().count(FederatedIdentity, { user: id })).toBe(1);
    } finally {
      t.app.get(EsiaStandIn).tokenSigning = 'RS256';
      await t.em().nativeDelete(FederatedIdentity, {});
    }
  });

  it.each([
    ['wrong_issuer', 'id_token_issuer'],
    ['wrong_audience', 'id_token_audience'],
    ['expired', 'id_token_expired'],
    ['oid_mismatch', 'id_token_subject'],
    ['wrong_nonce', 'id_token_nonce'],
    ['access_token_other_subject', 'access_token_subject'],
    ['access_token_wrong_issuer', 'access_token_issuer'],
    ['access_token_other_client', 'access_token_client'],
    ['state_mismatch', 'token_state_mismatch'],
  ] as const)(
    'refuses a token response with %s (reason %s): 400, nothing linked',
    async (fault, reason) => {
      const { browser, id } = await loggedInBrowser(t);
      t.app.get(EsiaStandIn).injectFault(fault);
      const response = await linkThrough(browser, OID);
      expect(response.status).toBe(400);
      expect(await t.em().count(FederatedIdentity, { user: id })).toBe(0);
      expect(await lastRejection(t)).toBe(reason);
    },
  );

  it('refuses tokens signed with a certificate that is not configured: 400, nothing linked', async () => {
    t.app.get(EsiaStandIn).tokenSigning = 'unregistered';
    try {
      const { browser, id } = await loggedInBrowser(t);
      const response = await linkThrough(browser, OID);
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('не прошёл проверку');
      expect(await t.em().count(FederatedIdentity, { user: id })).toBe(0);
    } finally {
      t.app.get(EsiaStandIn).tokenSigning = 'RS256';
    }
  });
});

const PICKER = 'ЕСИА (тестовый стенд)</h1>';

describe('esia profile: the stand-in session, re-authentication and logout', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(ESIA, { listen: true });
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t.close();
  });
  afterEach(async () => {
    await t.em().nativeDelete(FederatedIdentity, {});
  });

  /** A browser whose stand-in session belongs to `oid` (it logged in to «ЕСИА» once). */
  async function withStandInSession(oid: number) {
    const account = await loggedInBrowser(t);
    const linked = await linkThrough(account.browser, oid);
    expect(linked.status).toBe(303);
    return account;
  }

  it('a second round trip in the same browser does not ask again: the stand-in keeps a session, as ЕСИА does (and logs the linked person in)', async () => {
    const { browser } = await withStandInSession(OID);
    const { hops } = await followToPage(browser, '/auth/gosuslugi/login');
    // The authorization answers with a redirect back with a code: no person picker on the way.
    expect(hops.map((hop) => hop.pathname)).toEqual([
      '/auth/gosuslugi/login',
      '/dev/esia/aas/oauth2/v2/ac',
      '/auth/gosuslugi/callback',
      '/account',
    ]);
  });

  it('linking while a stand-in session is open asks for the person again, through ЕСИА logout', async () => {
    const { browser, id } = await withStandInSession(OID);
    await t.em().nativeDelete(FederatedIdentity, { user: id });
    const start = await browser.get('/auth/gosuslugi/link');
    const logout = new URL(Browser.location(start));
    expect(logout.pathname).toBe('/dev/esia/idp/ext/Logout');
    expect(Object.fromEntries(logout.searchParams)).toEqual({
      client_id: 'identity-link-dev',
      redirect_url: `${t.url}/auth/gosuslugi/continue`,
    });
    const { response, hops } = await followToPage(browser, logout.pathname + logout.search);
    expect(hops.map((hop) => hop.pathname)).toEqual([
      '/dev/esia/idp/ext/Logout',
      '/auth/gosuslugi/continue',
      '/dev/esia/aas/oauth2/v2/ac',
    ]);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain(PICKER);
    // And the link completes for whoever is picked now.
    expect((await linkThrough(browser, 1000000001)).status).toBe(303);
    expect((await t.em().findOneOrFail(FederatedIdentity, { user: id })).subject).toBe(
      '1000000001',
    );
  });

  it('«Выйти» after a Госуслуги login also logs out of ЕСИА: «Войти через Госуслуги» shows the person picker again', async () => {
    const { browser, id } = await withStandInSession(OID);
    expect((await browser.postJson('/api/v1/auth/logout', {})).status).toBe(204);
    const callback = await browser.get(await throughStandIn(browser, '/auth/gosuslugi/login', OID));
    expect(callback.status).toBe(303);
    expect(((await (await browser.get('/api/v1/me')).json()) as { id: string }).id).toBe(id);

    const out = await pageLogout(browser);
    expect(out.status).toBe(303);
    const esiaLogout = new URL(Browser.location(out));
    expect(esiaLogout.pathname).toBe('/dev/esia/idp/ext/Logout');
    expect(esiaLogout.searchParams.get('redirect_url')).toBe(`${t.url}/login?notice=logged_out`);
    const back = await followToPage(browser, esiaLogout.pathname + esiaLogout.search);
    expect(back.url.pathname + back.url.search).toBe('/login?notice=logged_out');
    expect((await browser.get('/api/v1/me')).status).toBe(401);

    const next = await followToPage(browser, '/auth/gosuslugi/login');
    expect(next.url.pathname).toBe('/dev/esia/aas/oauth2/v2/ac');
    expect(await next.response.text()).toContain(PICKER);
  });

  it("a link that skips ЕСИА's logout (straight to /auth/gosuslugi/continue) reuses an old ЕСИА session and is refused", async () => {
    const { browser, id } = await withStandInSession(OID);
    await t.em().nativeDelete(FederatedIdentity, { user: id });
    // The stand-in's session is two minutes old when the new link starts.
    t.app.get(EsiaStandIn).ageSessions(120);
    const start = await browser.get('/auth/gosuslugi/link');
    expect(new URL(Browser.location(start)).pathname).toBe('/dev/esia/idp/ext/Logout');
    const { response, hops } = await followToPage(browser, '/auth/gosuslugi/continue');
    // No picker: ЕСИА answered from its old session…
    expect(hops.map((hop) => hop.pathname)).toEqual([
      '/auth/gosuslugi/continue',
      '/dev/esia/aas/oauth2/v2/ac',
      '/auth/gosuslugi/callback',
    ]);
    // …and the ID token's auth_time says so: nothing is linked.
    expect(response.status).toBe(400);
    expect(await t.em().count(FederatedIdentity, { user: id })).toBe(0);
    expect(await lastRejection(t)).toBe('id_token_auth_time');
  });

  it("the stand-in's logout goes back only to the two registered addresses", async () => {
    const browser = new Browser(t.url);
    const logout = (target: string) =>
      browser.get(
        `/dev/esia/idp/ext/Logout?client_id=identity-link-dev&redirect_url=${encodeURIComponent(target)}`,
      );
    expect(Browser.location(await logout(`${t.url}/login?notice=logged_out`))).toBe(
      `${t.url}/login?notice=logged_out`,
    );
    for (const elsewhere of [`${t.url}/account`, 'https://evil.example/', `//evil.example/`])
      expect((await logout(elsewhere)).status).toBe(200);
  });

  it('«Выйти» from a password session that linked Госуслуги logs out of ЕСИА too (the link left a ЕСИА session)', async () => {
    const { browser } = await withStandInSession(OID);
    const esiaLogout = new URL(Browser.location(await pageLogout(browser)));
    expect(esiaLogout.pathname).toBe('/dev/esia/idp/ext/Logout');
    await followToPage(browser, esiaLogout.pathname + esiaLogout.search);
    const next = await followToPage(browser, '/auth/gosuslugi/login');
    expect(await next.response.text()).toContain(PICKER);
  });

  it('the mark survives a re-authentication: «Выйти» from the new session still logs out of ЕСИА', async () => {
    const { browser, password } = await withStandInSession(OID);
    expect((await browser.postJson('/api/v1/auth/reauthenticate', { password })).status).toBe(200);
    const esiaLogout = new URL(Browser.location(await pageLogout(browser)));
    expect(esiaLogout.pathname).toBe('/dev/esia/idp/ext/Logout');
  });

  it('«Выйти» from a password session does not send the browser to ЕСИА', async () => {
    const { browser } = await loggedInBrowser(t);
    const out = await pageLogout(browser);
    expect(Browser.location(out)).toBe('/login?notice=logged_out');
  });

  it('/auth/gosuslugi/continue without a pending round trip says so and goes nowhere', async () => {
    const page = await new Browser(t.url).get('/auth/gosuslugi/continue');
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('Сеанс входа через Госуслуги не найден');
  });
});

describe('esia profile: the person data ЕСИА gives (contacts, organisations)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(
      { ...ESIA, GOSUSLUGI_SCOPES: 'openid fullname contacts usr_org snils' },
      { listen: true },
    );
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t.close();
  });
  afterEach(async () => {
    await t.em().nativeDelete(FederatedIdentity, {});
  });

  it('keeps the verified e-mail and the organisations, never the unverified mobile, with the time read', async () => {
    const { browser, id } = await loggedInBrowser(t);
    const before = Date.now();
    expect((await linkThrough(browser, 1000000002)).status).toBe(303);
    const { claims } = await t.em().findOneOrFail(FederatedIdentity, { user: id });
    expect(claims).toEqual({
      lastName: 'Петров',
      firstName: 'Алексей',
      middleName: 'Игоревич',
      trusted: true,
      snilsDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
      email: 'petrov.test@example.ru',
      organizations: [
        {
          oid: '1000000102',
          name: 'МАОУ «Гимназия № 2» (тестовое)',
          ogrn: '1000000000002',
          chief: false,
          admin: false,
        },
      ],
      readAt: expect.any(String),
    });
    expect(Date.parse(claims.readAt!)).toBeGreaterThanOrEqual(before - 1000);
    expect(claims).not.toHaveProperty('mobile');
    // The person sees what was kept about them.
    const me = (await (await browser.get('/api/v1/me')).json()) as {
      identities: Record<string, unknown>[];
    };
    expect(me.identities[0]).toMatchObject({
      email: 'petrov.test@example.ru',
      organizations: [expect.objectContaining({ name: 'МАОУ «Гимназия № 2» (тестовое)' })],
      readAt: claims.readAt,
    });
    expect(me.identities[0]).not.toHaveProperty('mobile');
  });

  it('keeps SNILS only as a digest under the server key: the same number in any spelling matches, nothing shows it', async () => {
    const { browser, id } = await loggedInBrowser(t);
    expect((await linkThrough(browser, 1000000002)).status).toBe(303);
    const { claims } = await t.em().findOneOrFail(FederatedIdentity, { user: id });
    const key = t.app.get(PersonalDataKey);
    expect(claims.snilsDigest).toBe(key.snilsDigest('00000000202'));
    expect(claims.snilsDigest).toBe(key.snilsDigest('000-000-002 02'));
    expect(claims.snilsDigest).not.toBe(key.snilsDigest('000-000-001 01'));
    // Not a plain hash: without the key the digest cannot be recomputed from the number.
    expect(claims.snilsDigest).not.toBe(
      createHash('sha256').update('snils:00000000202').digest('hex'),
    );
    const row = await t
      .em()
      .getConnection()
      .execute<{ claims: unknown }[]>('select claims from federated_identities where user_id = ?', [
        id,
      ]);
    expect(JSON.stringify(row)).not.toMatch(/000-000-002|00000000202/);
    const me = await (await browser.get('/api/v1/me')).text();
    expect(me).not.toMatch(/snils|000-000-002|00000000202/i);
  });

  it('contacts ЕСИА fails to give are left out; the link itself goes through', async () => {
    const { browser, id } = await loggedInBrowser(t);
    t.app.get(EsiaStandIn).injectFault('contacts_unavailable');
    expect((await linkThrough(browser, 1000000005)).status).toBe(303);
    const { claims } = await t.em().findOneOrFail(FederatedIdentity, { user: id });
    expect(claims).not.toHaveProperty('email');
    expect(claims.organizations).toEqual([expect.objectContaining({ ogrn: '1000000000001' })]);
  });

  /** A link of `oid` up to the confirmation page: its HTML and state. */
  async function toConfirmation(browser: Browser, oid: number) {
    const callback = await browser.get(await throughStandIn(browser, '/auth/gosuslugi/link', oid));
    const state = await confirmationState(browser, callback);
    const page = await (await browser.get('/auth/gosuslugi/link/confirm')).text();
    return { state: state!, page };
  }

  it("offers the verified ЕСИА e-mail to an account without one; ticked, it becomes the account's verified e-mail", async () => {
    const { browser, id } = await loggedInBrowser(t);
    const { state, page } = await toConfirmation(browser, 1000000004);
    expect(page).toContain('name="useEmail"');
    expect(page).toContain('kuznetsov.test@example.ru');
    const done = await browser.postForm('/auth/gosuslugi/link/confirm', { state, useEmail: '1' });
    expect(done.status).toBe(303);
    const user = await t.em().findOneOrFail(User, id);
    expect(user.email).toBe('kuznetsov.test@example.ru');
    expect(
      await t.em().count(AuditEvent, {
        type: 'email.verified',
        targetUserId: id,
        details: { source: 'gosuslugi' },
      }),
    ).toBe(1);
  });

  it('does not touch the e-mail unless the person ticks it, and never offers it to an account that has one', async () => {
    const first = await loggedInBrowser(t);
    const unticked = await toConfirmation(first.browser, 1000000005);
    expect(
      (await first.browser.postForm('/auth/gosuslugi/link/confirm', { state: unticked.state }))
        .status,
    ).toBe(303);
    expect((await t.em().findOneOrFail(User, first.id)).email).toBeNull();

    const second = await loggedInBrowser(t);
    await t.em().nativeUpdate(User, { id: second.id }, { email: `${second.login}@example.ru` });
    t.app.get(SessionCache).invalidateUser(second.id);
    await t.em().nativeDelete(FederatedIdentity, {});
    const offered = await toConfirmation(second.browser, 1000000005);
    expect(offered.page).not.toContain('name="useEmail"');
    // A forged tick changes nothing either.
    await second.browser.postForm('/auth/gosuslugi/link/confirm', {
      state: offered.state,
      useEmail: '1',
    });
    expect((await t.em().findOneOrFail(User, second.id)).email).toBe(`${second.login}@example.ru`);
  });

  it('an address another account already verified is refused with its page, and nothing is linked', async () => {
    const owner = await loggedInBrowser(t);
    await t.em().nativeUpdate(User, { id: owner.id }, { email: 'sokolova.test@example.ru' });
    const { browser, id } = await loggedInBrowser(t);
    const { state } = await toConfirmation(browser, 1000000005);
    const refused = await browser.postForm('/auth/gosuslugi/link/confirm', {
      state,
      useEmail: '1',
    });
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain('Адрес e-mail уже используется');
    expect(await t.em().count(FederatedIdentity, { user: id })).toBe(0);
    expect((await t.em().findOneOrFail(User, id)).email).toBeNull();
  });

  it('an account whose contacts are all unverified gets none of them', async () => {
    const { browser, id } = await loggedInBrowser(t);
    expect((await linkThrough(browser, 1000000003)).status).toBe(303);
    const { claims } = await t.em().findOneOrFail(FederatedIdentity, { user: id });
    expect(claims).not.toHaveProperty('email');
    expect(claims).not.toHaveProperty('mobile');
    expect(claims.organizations).toEqual([]);
  });

  it('both verified contacts are kept when ЕСИА marks both', async () => {
    const { browser, id } = await loggedInBrowser(t);
    expect((await linkThrough(browser, 1000000004)).status).toBe(303);
    const { claims } = await t.em().findOneOrFail(FederatedIdentity, { user: id });
    expect(claims).toMatchObject({
      email: 'kuznetsov.test@example.ru',
      mobile: '+7(900)0000004',
      organizations: [expect.objectContaining({ ogrn: '1000000000001', admin: true })],
    });
  });
});

describe('esia profile: an invitation names its person', () => {
  let t: TestApp;
  const smtp = new TestSmtp();
  beforeAll(async () => {
    await smtp.start();
    t = await startTestApp(
      { ...ESIA, GOSUSLUGI_SCOPES: 'openid fullname snils', SMTP_URL: smtp.url },
      { listen: true },
    );
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t.close();
    await smtp.stop();
  });

  it('through ЕСИА: a namesake with another SNILS is refused and nothing is bound; the invited person accepts', async () => {
    const operator = (await operatorBrowser(t)).browser;
    const school = await organization(t.em(), 'Школа (ЕСИА)', null);
    const invited = await operator.postJson(`/api/v1/pos/organizations/${school.id}/members`, {
      email: 'petrov@school.esia.example',
      ...invitee(1000000002),
      snils: '000-000-002 02',
      roles: ['executor'],
    });
    expect(invited.status).toBe(201);
    const membershipId = (await json<{ id: string }>(invited)).id;
    const link = new URL(invitationLink(await smtp.waitFor('petrov@school.esia.example'))).pathname;

    // The SNILS comes from /rs/prns with the snils scope, as a digest: the namesake's differs.
    const stranger = new Browser(t.url);
    const refused = await stranger.get(
      await throughStandIn(stranger, `${link}/accept`, 1000000006),
    );
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('Данные профиля Госуслуг не совпадают с приглашением');
    const untouched = await t.em().findOneOrFail(Membership, membershipId);
    expect([untouched.status, untouched.user]).toEqual(['invited', null]);
    expect(await t.em().count(FederatedIdentity, { subject: '1000000006' })).toBe(0);

    const person = new Browser(t.url);
    const accepted = await person.get(await throughStandIn(person, `${link}/accept`, 1000000002));
    expect(accepted.status).toBe(303);
    expect(Browser.location(accepted)).toBe('/pos');
    const bound = await t.em().findOneOrFail(Membership, membershipId, { refresh: true });
    expect(bound.status).toBe('registered');
    expect(bound.acceptedName).toBe('Петров Алексей Игоревич');
  });
});

describe("esia profile with offline access: the person's data read again without a new login", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(
      {
        ...ESIA,
        GOSUSLUGI_ESIA_ACCESS_TYPE: 'offline',
        GOSUSLUGI_SCOPES: 'openid fullname contacts',
      },
      { listen: true },
    );
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t.close();
  });
  afterEach(async () => {
    await t.em().nativeDelete(FederatedIdentity, {});
  });

  const identityOf = (id: string) => t.em().findOneOrFail(FederatedIdentity, { user: id });
  const refresh = (browser: Browser) =>
    browser.postJson('/api/v1/me/identities/gosuslugi/refresh', {});

  it('asks for offline access, keeps the refresh token sealed, and refreshes with it (single use, replaced each time)', async () => {
    const { browser, id } = await loggedInBrowser(t);
    const url = await esiaAuthorizationUrl(browser, '/auth/gosuslugi/link');
    expect(url.searchParams.get('access_type')).toBe('offline');
    expect((await linkThrough(browser, OID)).status).toBe(303);
    const linked = await identityOf(id);
    expect(linked.refreshTokenSealed).toMatch(/^v1\./);
    const key = t.app.get(PersonalDataKey);
    const plain = key.open(linked.refreshTokenSealed!, sealContext(linked));
    expect(plain).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(linked.refreshTokenSealed).not.toContain(plain);

    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await refresh(browser)).status).toBe(204);
    const refreshed = await identityOf(id);
    expect(refreshed.claims).toMatchObject({ lastName: 'Петров', email: 'petrov.test@example.ru' });
    expect(Date.parse(refreshed.claims.readAt!)).toBeGreaterThan(Date.parse(linked.claims.readAt!));
    expect(refreshed.refreshTokenSealed).not.toBe(linked.refreshTokenSealed);
    expect(await t.em().count(AuditEvent, { type: 'gosuslugi.refreshed', targetUserId: id })).toBe(
      1,
    );
    // And again, with the token that replaced the first.
    expect((await refresh(browser)).status).toBe(204);
  });

  it('a used refresh token is refused by ЕСИА (ESIA-007011): it is forgotten and the person is asked to log in through Госуслуги', async () => {
    const { browser, id } = await loggedInBrowser(t);
    expect((await linkThrough(browser, OID)).status).toBe(303);
    const first = (await identityOf(id)).refreshTokenSealed;
    expect((await refresh(browser)).status).toBe(204);
    // Put the first, already used, token back (a replayed or stale copy).
    await t.em().nativeUpdate(FederatedIdentity, { user: id }, { refreshTokenSealed: first });
    const refused = await refresh(browser);
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ code: 'gosuslugi_login_required' });
    expect((await identityOf(id)).refreshTokenSealed).toBeNull();
    const [event] = await t
      .em()
      .find(AuditEvent, { type: 'gosuslugi.refresh_refused', targetUserId: id });
    expect(event.details.reason).toBe('esia_invalid_grant');
    expect((await refresh(browser)).status).toBe(409);
  });

  it("a sealed token copied onto another person's identity opens nothing there", async () => {
    const victim = await loggedInBrowser(t);
    expect((await linkThrough(victim.browser, OID)).status).toBe(303);
    const attacker = await loggedInBrowser(t);
    expect((await linkThrough(attacker.browser, 1000000001)).status).toBe(303);
    await t
      .em()
      .nativeUpdate(
        FederatedIdentity,
        { user: attacker.id },
        { refreshTokenSealed: (await identityOf(victim.id)).refreshTokenSealed },
      );
    const refused = await refresh(attacker.browser);
    expect(refused.status).toBe(409);
    expect((await identityOf(attacker.id)).claims.lastName).toBe('Иванова');
    const [event] = await t
      .em()
      .find(AuditEvent, { type: 'gosuslugi.refresh_refused', targetUserId: attacker.id });
    expect(event.details.reason).toBe('refresh_token_missing');
  });

  it('ЕСИА down after it gave the new token (503 from /rs/prns): 503, and the new token is kept and works next time', async () => {
    const { browser, id } = await loggedInBrowser(t);
    expect((await linkThrough(browser, OID)).status).toBe(303);
    const before = (await identityOf(id)).refreshTokenSealed;
    t.app.get(EsiaStandIn).injectFault('person_unavailable');
    const down = await refresh(browser);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ code: 'gosuslugi_unavailable' });
    const kept = (await identityOf(id)).refreshTokenSealed;
    expect(kept).not.toBeNull();
    expect(kept).not.toBe(before);
    expect((await refresh(browser)).status).toBe(204);
  });

  it('contacts ЕСИА fails to give during a refresh leave the kept ones in place', async () => {
    const { browser, id } = await loggedInBrowser(t);
    expect((await linkThrough(browser, OID)).status).toBe(303);
    expect((await identityOf(id)).claims.email).toBe('petrov.test@example.ru');
    t.app.get(EsiaStandIn).injectFault('contacts_unavailable');
    expect((await refresh(browser)).status).toBe(204);
    expect((await identityOf(id)).claims.email).toBe('petrov.test@example.ru');
  });

  it('an account without a link is told so', async () => {
    const { browser } = await loggedInBrowser(t);
    const response = await refresh(browser);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'not_linked' });
  });
});

describe('esia profile with online access (the default): nothing is kept to refresh with', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(ESIA, { listen: true });
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t.close();
  });

  it('keeps no refresh token, and a refresh says a Госуслуги login is needed', async () => {
    const { browser, id } = await loggedInBrowser(t);
    const url = await esiaAuthorizationUrl(browser, '/auth/gosuslugi/link');
    expect(url.searchParams.get('access_type')).toBe('online');
    expect((await linkThrough(browser, OID)).status).toBe(303);
    expect(
      (await t.em().findOneOrFail(FederatedIdentity, { user: id })).refreshTokenSealed,
    ).toBeNull();
    const response = await browser.postJson('/api/v1/me/identities/gosuslugi/refresh', {});
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ code: 'gosuslugi_refresh_unavailable' });
  });
});

describe('esia profile: every catalogued ЕСИА error reaches its page and stable code', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(ESIA, { listen: true });
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t.close();
  });

  it('knows the 37 codes of the public catalogue', () => {
    expect(Object.keys(ESIA_ERRORS)).toHaveLength(37);
    expect(new Set(Object.values(ESIA_ERRORS).map((error) => error.code)).size).toBe(37);
  });

  it.each(Object.entries(ESIA_ERRORS))(
    '%s on the authorization redirect',
    async (esiaCode, { code, kind, message }) => {
      const { browser, id } = await loggedInBrowser(t);
      t.app.get(EsiaStandIn).injectError(esiaCode);
      const response = await linkThrough(browser, OID);
      const html = await response.text();
      expect(response.status).toBe(kind === 'unavailable' ? 502 : 400);
      expect(html).toContain(code);
      if (kind === 'cancelled') {
        expect(html).toContain('Вход отменён');
      } else {
        expect(html).toContain(esiaCode);
        expect(html).toContain(message.replace(/\.$/, ''));
      }
      expect(await t.em().count(FederatedIdentity, { user: id })).toBe(0);
      expect(await lastRejection(t)).toBe(code);
    },
  );

  it.each(['ESIA-007011', 'ESIA-007008', 'ESIA-008010'])(
    '%s from the token endpoint',
    async (esiaCode) => {
      const { browser, id } = await loggedInBrowser(t);
      t.app.get(EsiaStandIn).injectError(esiaCode, 'token');
      const response = await linkThrough(browser, OID);
      expect(await response.text()).toContain(ESIA_ERRORS[esiaCode].code);
      expect(await t.em().count(FederatedIdentity, { user: id })).toBe(0);
    },
  );

  it('a person who declines on the stand-in gets «Вход отменён», not a failure', async () => {
    const { browser } = await loggedInBrowser(t);
    const picker = await followToPage(browser, '/auth/gosuslugi/link');
    const action = /<form method="post" action="([^"]+)">/.exec(await picker.response.text())![1];
    const declined = await browser.postForm(action, {});
    const page = await browser.get(Browser.location(declined));
    expect(page.status).toBe(400);
    const html = await page.text();
    expect(html).toContain('Вход отменён');
    expect(html).toContain('esia_access_denied');
  });

  it('an unknown ЕСИА code is refused and still shown, so an operator can look it up', async () => {
    const { browser } = await loggedInBrowser(t);
    t.app.get(EsiaStandIn).injectError('ESIA-009999');
    const html = await (await linkThrough(browser, OID)).text();
    expect(html).toContain('ESIA-009999');
    expect(html).toContain('esia_error');
  });
});

describe('pluggable client_secret signers', () => {
  let keyDir: string;
  beforeAll(async () => {
    keyDir = await mkdtemp(join(tmpdir(), 'identity-link-signer-'));
  });
  afterAll(async () => {
    await rm(keyDir, { recursive: true, force: true });
  });

  /** A dev app whose material exists, so an external signer can use the same system key. */
  async function withSigner(env: Record<string, string>, run: (t: TestApp) => Promise<void>) {
    const t = await startTestApp({ ...ESIA, ...env }, { listen: true });
    try {
      await run(t);
    } finally {
      await t.close();
    }
  }

  it('maps a wrong signature from a command signer to the ESIA-007053 message', async () => {
    await withSigner(
      {
        GOSUSLUGI_SIGNER: 'command',
        GOSUSLUGI_SIGNER_COMMAND: 'cat > /dev/null; head -c 64 /dev/urandom | base64 -w0',
      },
      async (t) => {
        const { browser } = await loggedInBrowser(t);
        const start = await esiaAuthorizationUrl(browser, '/auth/gosuslugi/link');
        const back = await browser.get(start.pathname + start.search);
        const page = await browser.get(
          new URL(Browser.location(back)).pathname + new URL(Browser.location(back)).search,
        );
        expect(page.status).toBe(400);
        expect(await page.text()).toContain(
          'ЕСИА не приняла подпись запроса: проверьте ключ и сертификат системы (ESIA-007053).',
        );
      },
    );
  });

  it('links with `openssl dgst -sign` as the command signer (the gost engine, not our code)', async () => {
    // The development key is made in the app's DATA_DIR at start, as PKCS#8 that OpenSSL reads.
    const dataDir = await mkdtemp(join(tmpdir(), 'identity-link-esia-'));
    const key = join(dataDir, ESIA_DEV_MATERIAL.dir, ESIA_DEV_MATERIAL.systemKey);
    try {
      await withSigner(
        {
          DATA_DIR: dataDir,
          GOSUSLUGI_SIGNER: 'command',
          GOSUSLUGI_SIGNER_COMMAND: `OPENSSL_CONF=${OPENSSL_GOST_CONF} openssl dgst -md_gost12_256 -sign ${key}`,
        },
        async (t) => {
          const { browser, id } = await loggedInBrowser(t);
          expect((await linkThrough(browser, OID)).status).toBe(303);
          expect(await t.em().count(FederatedIdentity, { user: id })).toBe(1);
        },
      );
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('links with an HTTP signing service', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'identity-link-esia-'));
    let server: Server | undefined;
    try {
      let key: GostPrivateKey | undefined;
      server = createServer((req, res) => {
        let text = '';
        req.on('data', (chunk: Buffer) => (text += chunk.toString()));
        req.on('end', () => {
          void (async () => {
            const file = (name: string) => join(dataDir, ESIA_DEV_MATERIAL.dir, name);
            key ??= await readGostKeyFile(
              file(ESIA_DEV_MATERIAL.systemKey),
              loadCertificate(await readFile(file(ESIA_DEV_MATERIAL.systemCertificate))),
            );
            res.end(gostSign(key, Buffer.from(text)).toString('hex'));
          })();
        });
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sign`;
      await withSigner(
        { DATA_DIR: dataDir, GOSUSLUGI_SIGNER: 'http', GOSUSLUGI_SIGNER_URL: url },
        async (t) => {
          const { browser, id } = await loggedInBrowser(t);
          expect((await linkThrough(browser, OID)).status).toBe(303);
          expect(await t.em().count(FederatedIdentity, { user: id })).toBe(1);
        },
      );
    } finally {
      server?.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('esia profile with GOSUSLUGI_ESIA_NONCE=required', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ...ESIA, GOSUSLUGI_ESIA_NONCE: 'required' }, { listen: true });
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t.close();
  });

  it('refuses an ID token without the nonce and accepts one that carries it', async () => {
    const first = await loggedInBrowser(t);
    expect((await linkThrough(first.browser, OID)).status).toBe(400);
    expect(await t.em().count(FederatedIdentity, { user: first.id })).toBe(0);

    t.app.get(EsiaStandIn).echoNonce = true;
    const second = await loggedInBrowser(t);
    expect((await linkThrough(second.browser, OID)).status).toBe(303);
    expect(await t.em().count(FederatedIdentity, { user: second.id })).toBe(1);
  });
});
