import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RequestMethod } from '@nestjs/common';
import { exportJWK, generateKeyPair } from 'jose';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser } from '../support/browser.js';
import { throughStandIn } from '../support/gosuslugi.js';
import { register, STRONG_PASSWORD, uniqueLogin } from '../support/http.js';
import { memberBrowser, operatorBrowser, organization } from '../support/pos.js';
import { PRODUCTION_GOSUSLUGI } from '../support/production.js';
import { mappedRoutes } from '../support/routes.js';
import { recordSecret } from '../support/log-capture.js';
import { invitationLink, linkToken, TestSmtp } from '../support/smtp.js';
import { waitUntil } from '../support/wait.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * The response headers of the whole HTTP surface, as a browser or an intermediary cache sees
 * them: every GET route Nest maps (walked with a signed-in administrator, real link tokens and a
 * real Госуслуги round trip), representative POSTs and the error answers (401, 404, 422, 429), in
 * development and in production mode. Each header rule is one test over all of those answers.
 */

interface Sample {
  mode: 'development' | 'production';
  /** Method and the route as requested, link tokens masked. */
  what: string;
  status: number;
  headers: Record<string, string>;
}

const samples: Sample[] = [];
/** Every GET route of the app, as Nest mapped it (the same source as test/route-inventory.spec.ts). */
let getRoutes: string[] = [];

function getRoutesOf(t: TestApp): string[] {
  return mappedRoutes(t.app)
    .filter((route) => route.method === RequestMethod.GET)
    .map((route) => route.path)
    .sort();
}

const mask = (what: string) =>
  what.replace(/(\/(?:pos\/invitations|reset-password|verify-email)\/)[^/?\s]+/, '$1[token]');

type AnyResponse = Response | request.Response;

function record(mode: Sample['mode'], what: string, response: AnyResponse): AnyResponse {
  const headers: Record<string, string> = {};
  if (response instanceof Response) {
    response.headers.forEach((value, name) => (headers[name] = value));
  } else {
    for (const [name, value] of Object.entries(response.headers as Record<string, unknown>))
      headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  samples.push({ mode, what: mask(what), status: response.status, headers });
  return response;
}

/** A route with its parameters filled from `params` (by route, then by name). */
function concrete(path: string, params: Record<string, string>): string {
  return path.replace(/:(\w+)/g, (_, name: string) => {
    const value = params[`${path} ${name}`] ?? params[name];
    if (!value) throw new Error(`no fixture for :${name} in ${path}: add one to the walk`);
    return value;
  });
}

/** The Cookie header a browser would send back after `response`. */
function cookieHeader(response: request.Response): string {
  const lines = (response.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
  return lines.map((line) => line.split(';')[0]).join('; ');
}

const smtp = new TestSmtp();
let dev: TestApp;
let prod: TestApp;

async function walkDevelopment(): Promise<void> {
  const d = (what: string, response: AnyResponse) => record('development', what, response);
  const org = await organization(dev.em(), 'Управление образования (заголовки)', null);
  const admin = await memberBrowser(dev, org, ['admin', 'executor']);

  // Real link tokens: an invitation, a live verification link, a live recovery link.
  const inviteeEmail = `invitee.${process.pid}@example.ru`;
  d(
    `POST /api/v1/pos/organizations/:id/members`,
    await admin.browser.postJson(`/api/v1/pos/organizations/${org.id}/members`, {
      email: inviteeEmail,
      lastName: 'Приглашённая',
      firstName: 'Анна',
      roles: ['executor'],
    }),
  );
  const invitation = new URL(invitationLink(await smtp.waitFor(inviteeEmail))).pathname;
  const invitationToken = invitation.split('/').pop()!;
  const pendingEmail = `pending.${process.pid}@example.ru`;
  await register(dev, uniqueLogin('pending'), STRONG_PASSWORD, { email: pendingEmail });
  const verifyToken = linkToken(await smtp.waitFor(pendingEmail), 'verify-email');
  const recoveringEmail = `recovering.${process.pid}@example.ru`;
  await register(dev, uniqueLogin('recovering'), STRONG_PASSWORD, { email: recoveringEmail });
  const verified = await request(dev.http)
    .post('/api/v1/accounts/email-verification')
    .send({ token: linkToken(await smtp.waitFor(recoveringEmail), 'verify-email') });
  expect(verified.status).toBe(204);
  d(
    'POST /api/v1/auth/recovery',
    await request(dev.http).post('/api/v1/auth/recovery').send({ identifier: recoveringEmail }),
  );
  let resetToken = '';
  await waitUntil(() => {
    const mail = smtp.received.find(
      (m) => m.to.includes(recoveringEmail) && m.text.includes('/reset-password/'),
    );
    if (mail) resetToken = linkToken(mail, 'reset-password');
    return Boolean(mail);
  });

  // Every GET route, signed in as an administrator (so the answers carry personal data).
  const params: Record<string, string> = {
    id: org.id,
    '/pos/invitations/:token token': invitationToken,
    // An address never published: the page answers 404, with the same headers.
    '/public/status/:token token': 'A'.repeat(43),
    '/pos/invitations/:token/accept token': invitationToken,
    '/reset-password/:token token': resetToken,
    '/verify-email/:token token': verifyToken,
    // No such interaction: the provider's «start again» page.
    '/oidc/interaction/:uid uid': 'no-such-interaction',
  };
  for (const route of getRoutes) {
    const path = concrete(route, params);
    d(`GET ${path}`, await admin.browser.get(path));
  }
  d('GET /api/docs', await admin.browser.get('/api/docs'));
  d('GET /assets/app.css', await admin.browser.get('/assets/app.css'));

  // The Госуслуги callback for real: a link round trip, then an invitation accepted.
  const linker = await memberBrowser(dev, org, ['executor']);
  const linkCallback = await throughStandIn(linker.browser, '/auth/gosuslugi/link', 1000000004);
  d('GET /auth/gosuslugi/callback (link)', await linker.browser.get(linkCallback));
  d('GET /auth/gosuslugi/link/confirm', await linker.browser.get('/auth/gosuslugi/link/confirm'));
  const invitee = new Browser(dev.url);
  d(`GET ${invitation} (invitee)`, await invitee.get(invitation));
  const acceptCallback = await throughStandIn(invitee, `${invitation}/accept`, 1000000005);
  d('GET /auth/gosuslugi/callback (invitation)', await invitee.get(acceptCallback));

  // Representative POSTs: the ones that hand out credentials or take passwords.
  const account = await register(dev, uniqueLogin('headers'));
  d(
    'POST /api/v1/accounts',
    await request(dev.http)
      .post('/api/v1/accounts')
      .send({ login: uniqueLogin('headers'), password: STRONG_PASSWORD }),
  );
  const apiLogin = d(
    'POST /api/v1/auth/login',
    await request(dev.http)
      .post('/api/v1/auth/login')
      .send({ login: account.login, password: account.password }),
  ) as request.Response;
  const cookie = cookieHeader(apiLogin);
  d(
    'POST /api/v1/auth/token',
    await request(dev.http).post('/api/v1/auth/token').set('cookie', cookie),
  );
  const pageBrowser = new Browser(dev.url);
  const loginPage = await pageBrowser.get('/login');
  const csrf = /name="csrf" value="([^"]+)"/.exec(await loginPage.text())?.[1] ?? '';
  d(
    'POST /login',
    await pageBrowser.postForm('/login', {
      csrf,
      login: account.login,
      password: account.password,
    }),
  );
  d(
    'POST /api/v1/auth/logout',
    await request(dev.http).post('/api/v1/auth/logout').set('cookie', cookie),
  );
  // The operator's «Новое приложение»: the answer that shows a client_secret once.
  const operator = await operatorBrowser(dev);
  const clientsTab = await operator.browser.get('/pos/operator?tab=clients');
  const operatorCsrf = /name="csrf" value="([^"]+)"/.exec(await clientsTab.text())?.[1] ?? '';
  const secretPage = d(
    'POST /pos/operator/clients',
    await operator.browser.postForm('/pos/operator/clients', {
      csrf: operatorCsrf,
      name: 'Электронный дневник (заголовки)',
      redirectUris: 'https://diary.example.ru/callback',
      type: 'confidential',
    }),
  ) as Response;
  const shownSecret = /id="client-secret">([^<]+)</.exec(await secretPage.text())?.[1];
  expect(shownSecret).toBeDefined();
  recordSecret('client_secret shown by the operator page', shownSecret);

  // Error answers.
  await errors(dev, 'development');
}

/**
 * One GET with `target` as the request target, as written: a client may send one that does not
 * start with a slash (no browser does), which the router never matches.
 */
async function rawTarget(t: TestApp, target: string): Promise<Response> {
  const server = t.http as Server;
  const ownListener = !server.listening;
  if (ownListener) await once(server.listen(0, '127.0.0.1'), 'listening');
  try {
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    socket.end(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    let text = '';
    for await (const chunk of socket) text += String(chunk);
    const [statusLine, ...lines] = text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n');
    const headers = new Headers();
    for (const line of lines)
      headers.append(line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim());
    return new Response(null, { status: Number(statusLine.split(' ')[1]), headers });
  } finally {
    if (ownListener) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function errors(t: TestApp, mode: Sample['mode']): Promise<void> {
  const e = (what: string, response: AnyResponse) => record(mode, what, response);
  e('GET *login (a target the router never matches: 404)', await rawTarget(t, '*login'));
  e(
    'GET /api/v1/me/sessions/%ED%A0%80 (a parameter that does not decode: 400)',
    await request(t.http).get('/api/v1/me/sessions/%ED%A0%80'),
  );
  e(
    'GET an invitation link with a token of 2049 characters (a parameter over the length limit: 414)',
    await request(t.http).get(`/pos/invitations/${'a'.repeat(2049)}`),
  );
  e('GET /api/v1/nothing-here (404)', await request(t.http).get('/api/v1/nothing-here'));
  e(
    'GET /nothing-here (404 page)',
    await request(t.http).get('/nothing-here').set('accept', 'text/html'),
  );
  e('GET /api/v1/me (401)', await request(t.http).get('/api/v1/me'));
  e(
    'POST /api/v1/accounts (422)',
    await request(t.http).post('/api/v1/accounts').send({ login: '', password: 'short' }),
  );
  // Last: the credentials throttle (THROTTLE_AUTH_LIMIT below) runs out.
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const response = await request(t.http)
      .post('/api/v1/auth/login')
      .send({ login: `nobody-${attempt}`, password: 'Wrong#Password1' });
    if (response.status === 429) {
      e('POST /api/v1/auth/login (429)', response);
      return;
    }
  }
  throw new Error(`${mode}: the credentials throttle never answered 429`);
}

async function walkProduction(): Promise<void> {
  const p = (what: string, response: AnyResponse) => record('production', what, response);
  const account = await register(prod);
  const login = p(
    'POST /api/v1/auth/login',
    await request(prod.http)
      .post('/api/v1/auth/login')
      .send({ login: account.login, password: account.password }),
  ) as request.Response;
  const cookie = cookieHeader(login);
  // Every GET route with the session cookie; link tokens and ids that lead nowhere.
  const params = {
    id: '00000000-0000-4000-8000-000000000000',
    token: randomBytes(32).toString('base64url'),
    uid: 'no-such-interaction',
  };
  for (const route of getRoutes) {
    const path = concrete(route, params);
    p(`GET ${path}`, await request(prod.http).get(path).set('cookie', cookie));
  }
  p('GET /api/docs', await request(prod.http).get('/api/docs'));
  p('GET /assets/app.css', await request(prod.http).get('/assets/app.css'));
  await errors(prod, 'production');
}

beforeAll(async () => {
  await smtp.start();
  dev = await startTestApp(
    { SMTP_URL: smtp.url, THROTTLE_AUTH_LIMIT: '40', THROTTLE_LIMIT: '100000' },
    { listen: true },
  );
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  prod = await startTestApp({
    NODE_ENV: 'production',
    ...PRODUCTION_GOSUSLUGI,
    // Nothing listens there: starting a Госуслуги login fails at once, without the network.
    GOSUSLUGI_ISSUER: 'https://127.0.0.1:9',
    PUBLIC_URL: 'https://id.school.example',
    TOKEN_SIGNING_KEY: JSON.stringify(await exportJWK(privateKey)),
    THROTTLE_AUTH_LIMIT: '20',
    THROTTLE_LIMIT: '100000',
  });
  getRoutes = getRoutesOf(dev);
  await walkDevelopment();
  await walkProduction();
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await dev?.close();
  await prod?.close();
  await smtp.stop();
});

/** `what → status: detail` for every sample that `problem` finds fault with. */
function offenders(list: Sample[], problem: (sample: Sample) => string | null): string[] {
  return list.flatMap((sample) => {
    const found = problem(sample);
    return found ? [`${sample.mode} ${sample.what} → ${sample.status}: ${found}`] : [];
  });
}

function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter(([name]) => name)
      .map(([name, ...sources]) => [name.toLowerCase(), sources]),
  );
}

const UNSAFE_SCRIPT = [
  "'unsafe-inline'",
  "'unsafe-eval'",
  "'unsafe-hashes'",
  '*',
  'data:',
  'http:',
  'https:',
];

/** What is wrong with a response's CSP, or null. */
function cspProblem(sample: Sample): string | null {
  const policy = sample.headers['content-security-policy'];
  if (!policy) return 'no Content-Security-Policy';
  const csp = directives(policy);
  const problems: string[] = [];
  const is = (name: string, expected: string[]) => {
    if (JSON.stringify(csp.get(name)) !== JSON.stringify(expected))
      problems.push(`${name} is ${JSON.stringify(csp.get(name))}`);
  };
  is('default-src', ["'self'"]);
  is('object-src', ["'none'"]);
  is('base-uri', ["'none'"]);
  // A published connection status is made to be framed by the administration's site; nothing
  // else may be framed.
  is('frame-ancestors', sample.what.startsWith('GET /public/status/') ? ['*'] : ["'none'"]);
  for (const name of ['script-src', 'script-src-elem', 'script-src-attr']) {
    const unsafe = (csp.get(name) ?? []).filter((source) => UNSAFE_SCRIPT.includes(source));
    if (unsafe.length > 0) problems.push(`${name} allows ${unsafe.join(' ')}`);
  }
  if (!csp.has('script-src')) problems.push('no script-src');
  // Swagger UI's page is the one place with an inline <style> (never an inline script).
  const styles = csp.get('style-src') ?? [];
  if (!sample.what.startsWith('GET /api/docs') && styles.includes("'unsafe-inline'"))
    problems.push("style-src allows 'unsafe-inline'");
  const forms = csp.get('form-action');
  if (!forms) problems.push('no form-action');
  else {
    const foreign = forms.filter(
      (source) =>
        source !== "'self'" &&
        !(sample.mode === 'production' ? /^https:\/\/[^*\s]+$/ : /^https?:\/\/[^*\s]+$/).test(
          source,
        ),
    );
    if (foreign.length > 0) problems.push(`form-action allows ${foreign.join(' ')}`);
  }
  if (sample.mode === 'production' && !csp.has('upgrade-insecure-requests'))
    problems.push('no upgrade-insecure-requests');
  return problems.length > 0 ? problems.join('; ') : null;
}

describe('security headers on every response (all GET routes, POSTs, 401/404/422/429)', () => {
  it('walked every GET route and every kind of answer in both modes', () => {
    expect(getRoutes.length).toBeGreaterThanOrEqual(30);
    for (const mode of ['development', 'production'] as const) {
      const mine = samples.filter((sample) => sample.mode === mode);
      expect(mine.length).toBeGreaterThanOrEqual(getRoutes.length);
      for (const status of [200, 303, 400, 401, 404, 414, 422, 429])
        expect({ mode, status, seen: mine.some((sample) => sample.status === status) }).toEqual({
          mode,
          status,
          seen: true,
        });
    }
  });

  it("sends X-Request-Id on every answer, the framework's own 400 and 414 included", () => {
    expect(
      samples
        .filter((sample) => !/^[A-Za-z0-9._:-]{8,64}$/.test(sample.headers['x-request-id'] ?? ''))
        .map((sample) => `${sample.mode} ${sample.what} → ${sample.status}`),
    ).toEqual([]);
  });

  it('sends a Content-Security-Policy with no inline script, no plugins, no framing, no base URI and forms only to us or the provider', () => {
    expect(offenders(samples, cspProblem)).toEqual([]);
  });

  it('sends X-Content-Type-Options: nosniff', () => {
    expect(
      offenders(samples, (sample) =>
        sample.headers['x-content-type-options'] === 'nosniff'
          ? null
          : `X-Content-Type-Options is ${sample.headers['x-content-type-options']}`,
      ),
    ).toEqual([]);
  });

  it('sends HSTS for a year with subdomains on every production response, and none over development http', () => {
    expect(
      offenders(samples, (sample) => {
        const hsts = sample.headers['strict-transport-security'];
        if (sample.mode === 'development') return hsts ? `HSTS over http: ${hsts}` : null;
        const maxAge = Number(/max-age=(\d+)/.exec(hsts ?? '')?.[1] ?? 0);
        return maxAge >= 31_536_000 && /includeSubDomains/.test(hsts ?? '')
          ? null
          : `Strict-Transport-Security is ${hsts}`;
      }),
    ).toEqual([]);
  });

  it("sends Referrer-Policy: no-referrer on the invitation's accept address and every Госуслуги callback answer", () => {
    const tokenPages = samples.filter((sample) =>
      /^GET \/(pos\/invitations\/\[token\]\/accept|auth\/gosuslugi\/callback)/.test(sample.what),
    );
    // Accept in both modes and three callbacks.
    expect(tokenPages.length).toBeGreaterThanOrEqual(5);
    expect(
      offenders(tokenPages, (sample) =>
        sample.headers['referrer-policy'] === 'no-referrer'
          ? null
          : `Referrer-Policy is ${sample.headers['referrer-policy']}`,
      ),
    ).toEqual([]);
  });

  it('keeps the token of a recovery, verification or invitation link out of every Referer (strict-origin: their own form posts need Origin)', () => {
    const tokenPages = samples.filter(
      (sample) =>
        /^GET \/(reset-password|verify-email)\//.test(sample.what) ||
        /^GET \/pos\/invitations\/\[token\]( \(invitee\))?$/.test(sample.what),
    );
    expect(tokenPages.length).toBeGreaterThanOrEqual(7);
    expect(
      offenders(tokenPages, (sample) =>
        ['no-referrer', 'strict-origin'].includes(sample.headers['referrer-policy'])
          ? null
          : `Referrer-Policy is ${sample.headers['referrer-policy']}`,
      ),
    ).toEqual([]);
  });

  it('sends Cache-Control: no-store on every answer except the public JWKS and the static files', () => {
    expect(
      offenders(samples, (sample) => {
        const cache = sample.headers['cache-control'];
        // Public keys only, for downstream verifiers; short enough for a key rotation.
        if (sample.what === 'GET /.well-known/jwks.json')
          return cache === 'public, max-age=300' ? null : `JWKS Cache-Control is ${cache}`;
        if (sample.what.startsWith('GET /assets/'))
          return sample.headers['set-cookie'] ? 'a static file sets a cookie' : null;
        const directives = (cache ?? '').split(',').map((part) => part.trim());
        return directives.includes('no-store') ? null : `Cache-Control is ${cache}`;
      }),
    ).toEqual([]);
  });

  it('sends no ETag with a no-store answer: nothing may revalidate what was never stored', () => {
    expect(
      offenders(samples, (sample) => {
        const cache = sample.headers['cache-control'] ?? '';
        return cache.includes('no-store') && sample.headers.etag !== undefined
          ? `ETag ${sample.headers.etag} with Cache-Control ${cache}`
          : null;
      }),
    ).toEqual([]);
  });
});
