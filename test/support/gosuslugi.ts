import { SessionCache } from '../../src/sessions/session-cache.js';
import { Session } from '../../src/sessions/session.entity.js';
import { Browser } from './browser.js';
import { type TestApp } from './app.js';
import { STRONG_PASSWORD, register, uniqueLogin } from './http.js';

/** The page's form token, then `action` posted with it, as a person's click on that page does. */
async function submitFrom(
  browser: Browser,
  page: string,
  action: string,
  fields: Record<string, string> = {},
): Promise<Response> {
  const response = await browser.get(page);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await response.text())?.[1];
  if (!csrf) throw new Error(`no form token on ${page} (${response.status})`);
  return browser.postForm(action, { csrf, ...fields });
}

/**
 * The first step from `startPath` as a person takes it: «Войти через Госуслуги» and accepting an
 * invitation are same-origin forms on the page before them (a navigation only shows that page);
 * anything else is a navigation.
 */
export function begin(browser: Browser, startPath: string): Promise<Response> {
  const url = new URL(startPath, browser.base);
  if (url.pathname === '/auth/gosuslugi/login') {
    const returnTo = url.searchParams.get('returnTo');
    const page = returnTo ? `/login?${new URLSearchParams({ returnTo })}` : '/login';
    return submitFrom(browser, page, url.pathname, returnTo ? { returnTo } : {});
  }
  const accept = /^(\/pos\/invitations\/[^/]+)\/accept$/.exec(url.pathname);
  if (accept) return submitFrom(browser, accept[1], url.pathname);
  return browser.get(url.pathname + url.search);
}

/**
 * Walks from `startPath` through the stand-in, picking the test person `oid` if the stand-in
 * asks, and stops at the redirect back to our callback: returns that callback URL (not visited).
 */
export async function throughStandIn(
  browser: Browser,
  startPath: string,
  oid: number,
): Promise<string> {
  let next = startPath;
  for (let hop = 0; hop < 12; hop++) {
    const url = new URL(next, browser.base);
    if (url.pathname === '/auth/gosuslugi/callback') return url.pathname + url.search;
    const response = hop === 0 ? await begin(browser, next) : await browser.get(next);
    if (response.status === 200) {
      // The stand-in's person picker (OIDC or ЕСИА shape): submit the first person form.
      const html = await response.text();
      const action = /<form method="post" action="([^"]+)">/.exec(html)?.[1];
      if (!action) throw new Error(`unexpected page at ${url.pathname}: ${html.slice(0, 300)}`);
      const picked = await browser.postForm(action.replace(/&amp;/g, '&'), { oid: String(oid) });
      next = Browser.location(picked);
      continue;
    }
    next = Browser.location(response);
  }
  throw new Error('too many redirects before the callback');
}

/** A registered account, logged in within a fresh browser. */
export async function loggedInBrowser(
  t: TestApp,
): Promise<{ browser: Browser; login: string; password: string; id: string }> {
  const account = await register(t, uniqueLogin('gu'), STRONG_PASSWORD);
  const browser = new Browser(t.url);
  const response = await browser.postJson('/api/v1/auth/login', {
    login: account.login,
    password: account.password,
  });
  if (response.status !== 200) throw new Error(`login failed: ${response.status}`);
  return { browser, ...account };
}

/**
 * After a link callback the person confirms on our page: returns the confirmation form's state,
 * or null when the callback answered with something else.
 */
export async function confirmationState(
  browser: Browser,
  callbackResponse: Response,
): Promise<string | null> {
  if (
    callbackResponse.status !== 303 ||
    callbackResponse.headers.get('location') !== '/auth/gosuslugi/link/confirm'
  )
    return null;
  const page = await browser.get('/auth/gosuslugi/link/confirm');
  if (page.status !== 200) throw new Error(`confirmation page answered ${page.status}`);
  const state = /name="state" value="([^"]+)"/.exec(await page.text())?.[1];
  if (!state) throw new Error('no state on the confirmation page');
  return state;
}

export function confirmLink(browser: Browser, state: string): Promise<Response> {
  return browser.postForm('/auth/gosuslugi/link/confirm', { state });
}

/**
 * The whole link round trip for a logged-in browser — start, Госуслуги, callback, confirmation —
 * returning the last response (the confirmation's, or the callback's when it refused).
 */
export async function linkThrough(browser: Browser, oid: number): Promise<Response> {
  const callback = await browser.get(await throughStandIn(browser, '/auth/gosuslugi/link', oid));
  const state = await confirmationState(browser, callback);
  return state ? confirmLink(browser, state) : callback;
}

/** Drops the stand-in's own cookies (oidc-provider's start with `_`): like logging out of Госуслуги. */
export function forgetStandInSession(browser: Browser): void {
  for (const name of [...browser.cookies.keys()])
    if (name.startsWith('_')) browser.cookies.delete(name);
}

/** «Выйти» as the page does it: the form token from «Личный кабинет», then the form post. */
export async function pageLogout(browser: Browser): Promise<Response> {
  const account = await browser.get('/account');
  if (account.status !== 200) throw new Error(`/account answered ${account.status}`);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await account.text())?.[1];
  if (!csrf) throw new Error('no form token on /account');
  return browser.postForm('/logout', { csrf });
}

/** Follows redirects from `path` until a page answers; returns it with the URL it came from. */
export async function followToPage(
  browser: Browser,
  path: string,
): Promise<{ response: Response; url: URL; hops: URL[] }> {
  const hops: URL[] = [];
  let url = new URL(path, browser.base);
  for (let hop = 0; hop < 12; hop++) {
    hops.push(url);
    const response =
      hop === 0 ? await begin(browser, path) : await browser.get(url.pathname + url.search);
    if (response.status < 300 || response.status > 399) return { response, url, hops };
    url = new URL(Browser.location(response), url);
  }
  throw new Error('too many redirects');
}

/**
 * The ЕСИА authorization URL a link start leads to, not requested: the `esia` profile goes
 * through ЕСИА's logout and our continue address first (a link re-authenticates the person).
 */
export async function esiaAuthorizationUrl(browser: Browser, startPath: string): Promise<URL> {
  let url = new URL(startPath, browser.base);
  for (let hop = 0; hop < 6; hop++) {
    url = new URL(Browser.location(await browser.get(url.pathname + url.search)), url);
    if (url.pathname.endsWith('/aas/oauth2/v2/ac')) return url;
  }
  throw new Error('no ЕСИА authorization request on the way');
}

/** The person's password was entered 11 minutes ago (past the 10 allowed for linking). */
export async function ageAuthentication(t: TestApp, userId: string): Promise<void> {
  await t
    .em()
    .nativeUpdate(
      Session,
      { user: userId },
      { authenticatedAt: new Date(Date.now() - 11 * 60_000) },
    );
  // The change went around the service: drop its cached copy now rather than wait for the notice.
  t.app.get(SessionCache).invalidateUser(userId);
}
