import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser } from '../support/browser.js';
import { linkThrough } from '../support/gosuslugi.js';
import { register, STRONG_PASSWORD, uniqueLogin } from '../support/http.js';
import { type Registered, registerClient, relyingParty } from '../support/provider.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * Tokens reach only the components that need them (ASVS 10.1.1). Госуслуги's access and ID
 * tokens are redeemed and read by the service's server side; this service's own tokens for an
 * application (access, ID, refresh) leave only through its token endpoint, to the application's
 * server. Everything a browser sees on the way — every redirect's Location, every Set-Cookie,
 * every page body, on this service and on the Госуслуги stand-in alike — is recorded here and
 * searched for each token value.
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

/** What the browser side saw of one response. */
interface Seen {
  url: string;
  status: number;
  location: string;
  setCookies: string[];
  /** Every header, one `name: value` a line. */
  headers: string;
  body: string;
}

/** A browser that keeps everything it was answered. */
class RecordingBrowser extends Browser {
  readonly seen: Seen[] = [];

  override async request(path: string, init: RequestInit = {}): Promise<Response> {
    const response = await super.request(path, init);
    this.seen.push({
      url: new URL(path, this.base).href,
      status: response.status,
      location: response.headers.get('location') ?? '',
      setCookies: response.headers.getSetCookie(),
      headers: [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n'),
      body: await response.clone().text(),
    });
    return response;
  }
}

/** Every token response of the Госуслуги stand-in to the service (server to server). */
function recordUpstreamTokens(): { tokens: Record<string, string>[]; stop: () => void } {
  const tokens: Record<string, string>[] = [];
  const original = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const response = await original(input, init);
    const url = input instanceof Request ? input.url : String(input);
    if (new URL(url).pathname === '/dev/gosuslugi/token' && response.ok)
      tokens.push((await response.clone().json()) as Record<string, string>);
    return response;
  };
  return { tokens, stop: () => (globalThis.fetch = original) };
}

/** Where a token value shows up in what the browsers saw or keep, if anywhere. */
function leaks(browsers: RecordingBrowser[], value: string): string[] {
  const found: string[] = [];
  for (const browser of browsers) {
    for (const seen of browser.seen) {
      if (seen.location.includes(value)) found.push(`Location of ${seen.url}`);
      if (seen.setCookies.some((cookie) => cookie.includes(value)))
        found.push(`Set-Cookie of ${seen.url}`);
      if (seen.headers.includes(value)) found.push(`a header of ${seen.url}`);
      if (seen.body.includes(value)) found.push(`body of ${seen.url}`);
    }
    if (browser.cookieHeader().includes(value)) found.push('the cookie jar');
  }
  return found;
}

const formToken = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1];

/**
 * An application's sign-in as a person goes through it: our login page, «Войти через Госуслуги»,
 * the stand-in's person, the consent page («Разрешить», offline access asked), every redirect
 * and self-moving page followed; stops at the application's redirect URI (not visited).
 */
async function signIn(
  browser: Browser,
  config: oidc.Configuration,
  client: Registered,
  oid: number,
): Promise<{ callback: URL; verifier: string; state: string; pages: string[] }> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  let next = oidc.buildAuthorizationUrl(config, {
    redirect_uri: client.redirectUri,
    scope: 'openid profile email phone offline_access',
    prompt: 'consent',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  }).href;
  const pages: string[] = [];
  for (let hop = 0; hop < 16; hop++) {
    if (next.startsWith(client.redirectUri))
      return { callback: new URL(next), verifier, state, pages };
    const current = new URL(next, browser.base);
    const response = await browser.get(next);
    let moved: Response = response;
    if (response.status === 200) {
      const html = await response.text();
      const refresh = /^0;url=(.+)$/.exec(response.headers.get('refresh') ?? '');
      if (refresh) {
        next = new URL(refresh[1], browser.base).href;
        continue;
      }
      if (current.pathname === '/login') {
        pages.push('/login');
        moved = await browser.postForm('/auth/gosuslugi/login', {
          csrf: formToken(html),
          returnTo: current.searchParams.get('returnTo')!,
        });
      } else if (current.pathname.startsWith('/dev/gosuslugi/')) {
        pages.push('/dev/gosuslugi (person)');
        const action = /<form method="post" action="([^"]+)">/.exec(html)![1];
        moved = await browser.postForm(action.replace(/&amp;/g, '&'), { oid: String(oid) });
      } else if (current.pathname.startsWith('/oidc/interaction/')) {
        pages.push('/oidc/interaction/:uid (consent)');
        const decided = await browser.postForm(current.pathname, {
          csrf: formToken(html),
          decision: 'allow',
        });
        next = new URL(/^0;url=(.+)$/.exec(decided.headers.get('refresh') ?? '')![1], browser.base)
          .href;
        continue;
      } else throw new Error(`unexpected page ${current.pathname}`);
    }
    next = new URL(Browser.location(moved), browser.base).href;
  }
  throw new Error('too many redirects');
}

describe('provider tokens never reach the browser', () => {
  it('Госуслуги tokens and the tokens for an application leave the server only through the token endpoint', async () => {
    const upstream = recordUpstreamTokens();
    try {
      // Linking Госуслуги, then an application's sign-in through a Госуслуги login.
      const account = await register(t, uniqueLogin('leak'), STRONG_PASSWORD);
      const linker = new RecordingBrowser(t.url);
      const first = await linker.postForm('/login', {
        csrf: /name="csrf" value="([^"]+)"/.exec(await (await linker.get('/login')).text())![1],
        login: account.login,
        password: account.password,
      });
      expect(first.status).toBe(303);
      expect((await linkThrough(linker, 1000000006)).status).toBe(303);

      const client = await registerClient(t, { firstParty: false });
      const config = await relyingParty(t, client);
      const browser = new RecordingBrowser(t.url);
      const walked = await signIn(browser, config, client, 1000000006);
      expect(walked.pages).toEqual(
        expect.arrayContaining(['/login', '/oidc/interaction/:uid (consent)']),
      );
      // The application's server redeems the code: the only place its tokens are handed out.
      const tokens = await oidc.authorizationCodeGrant(config, walked.callback, {
        pkceCodeVerifier: walked.verifier,
        expectedState: walked.state,
      });
      expect(tokens.claims()?.sub).toBe(account.id);
      // The browser brought the application a code and the state, nothing else.
      expect([...walked.callback.searchParams.keys()].sort()).toEqual(['code', 'iss', 'state']);

      // Both trips to Госуслуги were redeemed on the server: access and ID tokens each.
      expect(upstream.tokens).toHaveLength(2);
      const values: [string, string][] = [];
      for (const [index, answer] of upstream.tokens.entries()) {
        expect(answer.access_token).toEqual(expect.any(String));
        expect(answer.id_token).toEqual(expect.any(String));
        values.push([`Госуслуги access token ${index}`, answer.access_token]);
        values.push([`Госуслуги ID token ${index}`, answer.id_token]);
        if (answer.refresh_token)
          values.push([`Госуслуги refresh token ${index}`, answer.refresh_token]);
      }
      values.push(['access token', tokens.access_token], ['ID token', tokens.id_token!]);
      // offline_access was granted on the consent page: a refresh token too.
      expect(tokens.refresh_token).toEqual(expect.any(String));
      values.push(['refresh token', tokens.refresh_token!]);

      // The record is not empty: the hops through both services and the redirect with the code.
      const seen = [...linker.seen, ...browser.seen];
      expect(seen.length).toBeGreaterThan(8);
      expect(seen.some((s) => s.url.includes('/dev/gosuslugi/'))).toBe(true);
      expect(seen.some((s) => s.location.startsWith(client.redirectUri))).toBe(true);

      const found = values.map(([name, value]) => [name, leaks([linker, browser], value)]);
      expect(found).toEqual(values.map(([name]) => [name, []]));
      // Nor a JWT of the stand-in's anywhere: its ID tokens are signed with a `stand-in-` key.
      const jwtHeaders = seen.flatMap((s) =>
        [s.headers, s.body].flatMap(
          (text) => text.match(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g) ?? [],
        ),
      );
      expect(
        jwtHeaders.filter((jwt) =>
          Buffer.from(jwt.split('.')[0], 'base64url').includes('stand-in'),
        ),
      ).toEqual([]);
    } finally {
      upstream.stop();
    }
  }, 120_000);
});
