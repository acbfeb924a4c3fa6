import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, importJWK, type JWTPayload, SignJWT } from 'jose';
import { request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import { type ChildProcess, spawn } from 'node:child_process';
import { freePort } from '../src/database/embedded-postgres.js';
import { User } from '../src/identity/user.entity.js';
import { Organization } from '../src/pos/organization.entity.js';
import { ClientsService } from '../src/provider/clients.service.js';
import { TokenService } from '../src/sessions/token.service.js';
import { DEV_DIARY_CLIENT, DevDiaryClient } from '../src/provider/dev-diary-client.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import { STRONG_PASSWORD } from './support/http.js';
import { memberBrowser, organization } from './support/pos.js';
import { PRODUCTION_GOSUSLUGI } from './support/production.js';
import { walkAuthorization } from './support/provider.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

/**
 * The example diary (examples/diary/server.mjs) as a real process beside the service, registered
 * by the development set-up (DEV_DIARY_URL): a person signs in to it through our /login, it shows
 * their ФИО and ПОС memberships, and our logout reaches it by back-channel logout.
 */

/** The diary process and what it printed, line by line. */
class DiaryProcess {
  readonly lines: string[] = [];
  private child?: ChildProcess;

  constructor(
    readonly url: string,
    private readonly env: Record<string, string>,
  ) {}

  async start(): Promise<this> {
    const child = spawn(process.execPath, ['examples/diary/server.mjs'], {
      env: { PATH: process.env.PATH ?? '', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let buffered = '';
    const collect = (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      this.lines.push(...parts);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    await this.line(/^diary: listening on /);
    return this;
  }

  /** Waits for a printed line matching `pattern`. */
  async line(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find((line) => pattern.test(line));
      if (found) return found;
      if (Date.now() > deadline || this.child?.exitCode !== null)
        throw new Error(`the diary printed no ${pattern}:\n${this.lines.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

let t: TestApp;
let diary: DiaryProcess;

beforeAll(async () => {
  const diaryPort = await freePort();
  const diaryUrl = `http://127.0.0.1:${diaryPort}`;
  t = await startTestApp(
    {
      DEV_DIARY_URL: diaryUrl,
      THROTTLE_AUTH_LIMIT: '100000',
      OIDC_LOGOUT_RETRY_DELAY: '1s',
      OIDC_LOGOUT_RETRY_DELAY_MAX: '1s',
    },
    { listen: true },
  );
  // The defaults of CLIENT_ID and CLIENT_SECRET are the development client's.
  diary = await new DiaryProcess(diaryUrl, {
    ISSUER: t.url,
    PORT: String(diaryPort),
    BASE_URL: diaryUrl,
  }).start();
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await diary?.stop();
  await t?.close();
});

describe('the example diary (examples/diary)', () => {
  it('the development set-up registers the diary as a client, idempotently', async () => {
    const clients = t.app.get(ClientsService);
    const registered = (await clients.list()).filter(
      (client) => client.clientId === DEV_DIARY_CLIENT.clientId,
    );
    expect(registered).toHaveLength(1);
    expect(registered[0]).toMatchObject({
      name: 'Электронный дневник (пример)',
      redirectUris: [`${diary.url}/callback`],
      postLogoutRedirectUris: [`${diary.url}/`],
      backchannelLogoutUri: `${diary.url}/backchannel-logout`,
      isPublic: false,
      firstParty: true,
    });
    // Another start finds it: still one client, its secret unchanged.
    await t.app.get(DevDiaryClient).onApplicationBootstrap();
    const again = (await clients.list()).filter(
      (client) => client.clientId === DEV_DIARY_CLIENT.clientId,
    );
    expect(again).toHaveLength(1);
    expect(await clients.metadata(DEV_DIARY_CLIENT.clientId)).toMatchObject({
      token_endpoint_auth_method: 'client_secret_basic',
      backchannel_logout_uri: `${diary.url}/backchannel-logout`,
    });
  });

  it('a person signs in to the diary through our login form, sees their ФИО and memberships; logging out here ends the diary session by back-channel logout', async () => {
    const school = await organization(t.em(), 'Школа № 7', null);
    const { user } = await memberBrowser(t, school, ['executor']);
    await t
      .em()
      .nativeUpdate(
        User,
        { id: user.id },
        { lastName: 'Сидорова', firstName: 'Анна', middleName: 'Петровна' },
      );
    const { lkoNumber } = await t.em().findOneOrFail(Organization, school.id);

    // A fresh browser: the diary sends it to us, our /login form is filled, the code comes back.
    // (Relative redirects are ours: the browser's base is Identity Link, the diary's URLs absolute.)
    const browser = new Browser(t.url);
    const start = await browser.get(`${diary.url}/login`);
    expect(start.status).toBe(302);
    const authorization = new URL(Browser.location(start));
    expect(authorization.origin).toBe(t.url);
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorization.searchParams.get('scope')).toBe('openid profile email pos');
    const { callback, loginPages } = await walkAuthorization(
      browser,
      authorization.href,
      `${diary.url}/callback`,
      { login: user.login, password: STRONG_PASSWORD },
    );
    expect(loginPages).toHaveLength(1);
    const landed = await browser.get(callback.href);
    expect(landed.status).toBe(303);
    const signedIn = /^diary: signed in sub (\S+) sid (\S+)$/.exec(
      await diary.line(new RegExp(`^diary: signed in sub ${user.id} `)),
    )!;
    const sid = signedIn[2];

    const home = await (await browser.get(`${diary.url}/`)).text();
    expect(home).toContain('Здравствуйте, Сидорова Анна Петровна!');
    expect(home).toContain(`ЛКО № ${lkoNumber}: роли executor`);
    expect(home).toContain('<button type="submit">Выйти</button>');

    // «Выйти» here, at Identity Link: the diary receives a valid logout token for that sid.
    const logout = await browser.request(`${t.url}/api/v1/auth/logout`, {
      method: 'POST',
      headers: { origin: t.url },
    });
    expect(logout.status).toBe(204);
    await diary.line(new RegExp(`^diary: back-channel logout sid ${sid}: 1 session\\(s\\) ended$`));
    const after = await (await browser.get(`${diary.url}/`)).text();
    expect(after).toContain('Вы не вошли.');
    expect(after).not.toContain('Сидорова');
  });

  it('«Выйти» in the diary is an RP-initiated logout: our confirmation page ends our session and comes back to the diary', async () => {
    const school = await organization(t.em(), 'Гимназия № 2', null);
    const { user } = await memberBrowser(t, school, ['executor']);
    const browser = new Browser(t.url);
    const start = await browser.get(`${diary.url}/login`);
    const { callback } = await walkAuthorization(
      browser,
      Browser.location(start),
      `${diary.url}/callback`,
      { login: user.login, password: STRONG_PASSWORD },
    );
    expect((await browser.get(callback.href)).status).toBe(303);
    const sid = /sid (\S+)$/.exec(
      await diary.line(new RegExp(`^diary: signed in sub ${user.id} `)),
    )![1];

    // A cross-site form cannot sign the person out of the diary.
    const forged = await browser.request(`${diary.url}/logout`, {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
    });
    expect(forged.status).toBe(403);

    const out = await browser.request(`${diary.url}/logout`, {
      method: 'POST',
      headers: { origin: diary.url },
    });
    expect(out.status).toBe(303);
    const end = new URL(Browser.location(out));
    expect(`${end.origin}${end.pathname}`).toBe(`${t.url}/oidc/session/end`);
    expect(end.searchParams.get('post_logout_redirect_uri')).toBe(`${diary.url}/`);
    expect(end.searchParams.get('id_token_hint')).toBeTruthy();
    const page = await browser.get(end.href);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain('Электронный дневник (пример)');
    const confirmed = await browser.postForm('/oidc/session/end/confirm', {
      xsrf: /name="xsrf" value="([^"]+)"/.exec(html)![1],
      logout: 'yes',
    });
    expect(confirmed.status).toBe(200);
    expect(confirmed.headers.get('refresh')).toBe(`0;url=${diary.url}/`);
    expect(browser.cookies.has(t.config.session.cookieName)).toBe(false);
    expect(await (await browser.get(`${diary.url}/`)).text()).toContain('Вы не вошли.');
    // Our session ended, so the diary hears it too (its own session there is already gone).
    await diary.line(new RegExp(`^diary: back-channel logout sid ${sid}: 0 session\\(s\\) ended$`));
  });

  it('the diary refuses a logout token that is not ours (a forged one)', async () => {
    const forged = await fetch(`${diary.url}/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        logout_token: 'eyJhbGciOiJub25lIn0.eyJzaWQiOiJ4In0.',
      }).toString(),
    });
    expect(forged.status).toBe(400);
    await diary.line(/^diary: back-channel logout refused: /);
  });

  /** A logout token signed with our real key, as our delivery signs it, but with these claims. */
  async function logoutToken(claims: JWTPayload): Promise<string> {
    const jwk = t.app.get(TokenService).signingJwk();
    return new SignJWT({ sid: randomUUID(), ...claims })
      .setProtectedHeader({ alg: jwk.alg!, kid: jwk.kid, typ: 'logout+jwt' })
      .setIssuer(t.config.publicUrl)
      .setAudience(DEV_DIARY_CLIENT.clientId)
      .setSubject(randomUUID())
      .setIssuedAt()
      .setExpirationTime('2m')
      .setJti(randomUUID())
      .sign(await importJWK(jwk, jwk.alg));
  }

  const postLogoutToken = async (token: string) =>
    (
      await fetch(`${diary.url}/backchannel-logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token }).toString(),
      })
    ).status;

  it('the diary refuses a signed logout token whose events claim lacks the back-channel logout member as a JSON object (§2.6)', async () => {
    const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
    // The right shape passes, so the refusals below are about `events` alone.
    expect(await postLogoutToken(await logoutToken({ events: { [EVENT]: {} } }))).toBe(200);
    for (const events of [
      null,
      [],
      { [EVENT]: null },
      { [EVENT]: [] },
      { [EVENT]: 'logout' },
      { 'http://schemas.openid.net/event/other': {} },
    ]) {
      expect([
        JSON.stringify(events),
        await postLogoutToken(await logoutToken({ events })),
      ]).toEqual([JSON.stringify(events), 400]);
    }
  });

  it('the diary closes the connection of an oversized logout request instead of reading on', async () => {
    const { sent, closed } = await new Promise<{ sent: number; closed: boolean }>((resolve) => {
      const outgoing = httpRequest(`${diary.url}/backchannel-logout`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'transfer-encoding': 'chunked',
        },
      });
      let sent = 0;
      let closed = false;
      outgoing.on('error', () => undefined);
      outgoing.on('response', (incoming) => incoming.resume());
      outgoing.on('close', () => {
        closed = true;
      });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const next = () => {
        if (closed || sent >= 8 * 1024 * 1024) {
          outgoing.destroy();
          return resolve({ sent, closed });
        }
        outgoing.write(chunk, (error) => {
          if (error) closed = true;
          else sent += chunk.length;
          // Slowly enough for the server's answer (or its closing) to arrive in between.
          setTimeout(next, 5);
        });
      };
      next();
    });
    expect(closed).toBe(true);
    expect(sent).toBeLessThan(8 * 1024 * 1024);
  });
});

describe('the example diary client in production', () => {
  it(
    'production never registers the example diary, even with DEV_DIARY_URL set',
    async () => {
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      const production = await startTestApp({
        NODE_ENV: 'production',
        ...PRODUCTION_GOSUSLUGI,
        PUBLIC_URL: 'https://id.school.example',
        TOKEN_SIGNING_KEY: JSON.stringify(await exportJWK(privateKey)),
        DEV_DIARY_URL: 'https://diary.school.example',
      });
      try {
        expect(production.config.oidc.devDiaryUrl).toBeNull();
        const clients = await production.app.get(ClientsService).list();
        expect(clients.map((client) => client.clientId)).not.toContain(DEV_DIARY_CLIENT.clientId);
        expect(await production.app.get(ClientsService).metadata(DEV_DIARY_CLIENT.clientId)).toBe(
          undefined,
        );
      } finally {
        await production.close();
      }
    },
    STARTUP_TIMEOUT_MS,
  );
});
