import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RequestMethod } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import request from 'supertest';
import { FormPostMark, Page, Public } from '../src/common/auth-decorators.js';
import { startTestApp, type TestApp } from './support/app.js';
import { login, register } from './support/http.js';
import { mappedRoutes } from './support/routes.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

/**
 * The pages behind the global guard, taken from the routes Nest mapped (not from a list): a page
 * without a session sends the browser to /login, a page form from another origin or without its
 * form token is refused before its handler runs.
 */
interface PageRoute {
  method: 'GET' | 'POST';
  path: string;
  returnTo: string;
  form: boolean;
}

let t: TestApp;
let pages: PageRoute[];
const reflector = new Reflector();
const ID = '00000000-0000-4000-8000-000000000000';

function concrete(path: string): string {
  return path.replace(':id', ID).replace(':action', 'archive');
}

beforeAll(async () => {
  t = await startTestApp({ THROTTLE_LIMIT: '100000', THROTTLE_AUTH_LIMIT: '100000' });
  pages = mappedRoutes(t.app)
    .filter(({ targets }) => reflector.getAllAndOverride(Page, targets) !== undefined)
    .map(({ method, path, targets }) => ({
      method: RequestMethod[method] as PageRoute['method'],
      path: concrete(path),
      returnTo: reflector.getAllAndOverride(Page, targets).returnTo ?? concrete(path),
      form: reflector.getAllAndOverride(FormPostMark, targets) === true,
    }));
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

function call(route: PageRoute) {
  return route.method === 'GET'
    ? request(t.http).get(route.path)
    : request(t.http).post(route.path).type('form');
}

describe('pages behind the guard', () => {
  it('finds the pages of the cabinet and ПОС among the routes', () => {
    const paths = pages.map((route) => `${route.method} ${route.path}`);
    expect(paths).toEqual(expect.arrayContaining(['GET /account', 'POST /account', 'GET /pos']));
  });

  it('never marks a route both public and a page, and every page post is a checked form', () => {
    for (const { method, path, targets } of mappedRoutes(t.app)) {
      const page = reflector.getAllAndOverride(Page, targets) !== undefined;
      expect({ path, both: page && Boolean(reflector.getAllAndOverride(Public, targets)) }).toEqual(
        { path, both: false },
      );
      if (page && method !== RequestMethod.GET) {
        expect({ path, form: reflector.getAllAndOverride(FormPostMark, targets) }).toEqual({
          path,
          form: true,
        });
      }
    }
  });

  it('sends a browser without a session from every page to /login, with the way back', async () => {
    expect(pages.length).toBeGreaterThan(0);
    for (const route of pages) {
      const response = await call(route).set('Accept', 'text/html').send({ csrf: 'x' });
      expect({ route: `${route.method} ${route.path}`, status: response.status }).toEqual({
        route: `${route.method} ${route.path}`,
        status: 303,
      });
      expect(response.headers.location).toBe(
        `/login?${new URLSearchParams({ returnTo: route.returnTo }).toString()}`,
      );
    }
  });

  it('refuses a cross-site post of every page form, signed in or not, before anything else', async () => {
    const device = await login(t, await register(t));
    const forms = pages.filter((route) => route.form);
    expect(forms.length).toBeGreaterThan(0);
    for (const route of forms) {
      for (const cookie of [undefined, device.cookie]) {
        const forged = call(route)
          .set('Origin', 'https://evil.example')
          .set('Sec-Fetch-Site', 'cross-site');
        if (cookie) void forged.set('Cookie', cookie);
        const response = await forged.send({ csrf: 'x' });
        expect({ route: route.path, signedIn: Boolean(cookie), status: response.status }).toEqual({
          route: route.path,
          signedIn: Boolean(cookie),
          status: 403,
        });
        expect(response.body.code).toBe('cross_origin_request');
      }
    }
  });

  it('refuses every page form of a signed-in person without the form token, or with another', async () => {
    const device = await login(t, await register(t));
    const csrfCookie = `${t.config.isProduction ? '__Host-il_csrf' : 'il_csrf'}=${'a'.repeat(43)}`;
    for (const route of pages.filter((r) => r.form)) {
      for (const [cookie, body] of [
        [device.cookie, {}],
        [`${device.cookie}; ${csrfCookie}`, { csrf: 'b'.repeat(43) }],
      ] as const) {
        const response = await call(route)
          .set('Accept', 'text/html')
          .set('Cookie', cookie)
          .send(body);
        expect({ route: route.path, body, status: response.status }).toEqual({
          route: route.path,
          body,
          status: 403,
        });
      }
    }
  });

  it('checks the origin and form token of every form post of the public pages too', async () => {
    const forms = mappedRoutes(t.app)
      .filter(
        ({ targets }) =>
          reflector.getAllAndOverride(FormPostMark, targets) === true &&
          Boolean(reflector.getAllAndOverride(Public, targets)),
      )
      .map(({ path }) => concrete(path));
    expect(forms).toEqual(
      expect.arrayContaining([
        '/login',
        '/register',
        '/forgot-password',
        '/auth/gosuslugi/login',
        `/pos/invitations/:token/accept`,
      ]),
    );
    for (const path of forms) {
      const forged = await request(t.http)
        .post(path)
        .type('form')
        .set('Origin', 'https://evil.example')
        .send({ csrf: 'x' });
      expect({ path, status: forged.status, code: forged.body.code }).toEqual({
        path,
        status: 403,
        code: 'cross_origin_request',
      });
      const stale = await request(t.http)
        .post(path)
        .type('form')
        .set('Accept', 'text/html')
        .send({
          token: 'x'.repeat(43),
        });
      // A recovery link that does not work is refused as such before its form is looked at; the
      // Госуслуги and invitation forms start over from their page, having started nothing.
      const answers: Record<string, [number, string?]> = {
        '/reset-password': [410],
        '/auth/gosuslugi/login': [303, '/login?notice=stale'],
        '/pos/invitations/:token/accept': [303, '/pos/invitations/%3Atoken'],
        // The code page without a live pending step: back to the password.
        '/login/mfa': [303, '/login?returnTo=%2Faccount&notice=mfa_expired'],
        '/login/mfa/passkey': [303, '/login?returnTo=%2Faccount&notice=mfa_expired'],
      };
      const [status, location] = answers[path] ?? [403];
      expect({ path, status: stale.status, location: stale.headers.location }).toEqual({
        path,
        status,
        location,
      });
    }
  });

  it('leaves no form post of the pages unchecked: every one is a @FormPost() or checks itself', () => {
    // «Выйти» checks its form itself: it also clears an ended session's cookie. The link
    // confirmation carries no form token: the browser's transaction cookie and its state bind it,
    // and it checks the Origin itself.
    const ownCheck = ['/logout', '/auth/gosuslugi/link/confirm'];
    const unchecked = mappedRoutes(t.app)
      .filter(({ method, path }) => method === RequestMethod.POST && !path.startsWith('/api/'))
      .filter(({ targets }) => reflector.getAllAndOverride(FormPostMark, targets) !== true)
      .map(({ path }) => path);
    expect(unchecked.sort()).toEqual([...ownCheck].sort());
  });

  it('lets a form with its token through to the handler', async () => {
    const device = await login(t, await register(t));
    const token = 'c'.repeat(43);
    const response = await request(t.http)
      .post('/account/sessions/end-others')
      .type('form')
      .set('Cookie', `${device.cookie}; il_csrf=${token}`)
      .send({ csrf: token });
    // A fresh login may end the others: the handler ran and sent the browser back.
    expect(response.status).toBe(303);
    expect(response.headers.location).toBe('/account?notice=other_sessions_ended#sessions');
  });
});
