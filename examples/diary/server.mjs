/* global process, console, URL, URLSearchParams, setTimeout */
// An example downstream application (an e-diary) that signs people in through Identity Link:
// OpenID Connect discovery, authorization code + PKCE as a confidential client, the person's ФИО
// and ПОС memberships, back-channel logout and RP-initiated logout. node:http only, so it runs
// from the repository without an install of its own (openid-client and jose resolve from the
// root's node_modules). Configuration: ISSUER, CLIENT_ID, CLIENT_SECRET, PORT, BASE_URL.
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import * as oidc from 'openid-client';
import { cookiesOf, escapeHtml, isJsonObject, page, readBody } from './http-helpers.mjs';

const SESSION_COOKIE = 'diary_session';
const LOGIN_COOKIE = 'diary_login';
const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** The settings, from the environment; the defaults match Identity Link's development set-up. */
export function diarySettings(env = process.env) {
  const port = Number(env.PORT ?? 3701);
  return {
    issuer: env.ISSUER ?? 'http://localhost:3000',
    clientId: env.CLIENT_ID ?? 'diary-example',
    clientSecret: env.CLIENT_SECRET ?? 'diary-example-development-secret',
    port,
    baseUrl: (env.BASE_URL ?? `http://localhost:${port}`).replace(/\/$/, ''),
  };
}

/**
 * Starts the diary. Its sessions live in memory (one process); each remembers the `sid` of the
 * ID token so a back-channel logout for that `sid` ends it.
 */
export async function startDiary(settings = diarySettings(), log = console) {
  const issuerUrl = new URL(settings.issuer);
  const config = await oidc.discovery(
    issuerUrl,
    settings.clientId,
    undefined,
    oidc.ClientSecretBasic(settings.clientSecret),
    // Plain http only for a development issuer (http://localhost:3000).
    issuerUrl.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : undefined,
  );
  // Verify the ID token's signature against the discovered JWKS too, not only TLS trust.
  oidc.enableNonRepudiationChecks(config);
  const metadata = config.serverMetadata();
  const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri));
  const secure = settings.baseUrl.startsWith('https:') ? '; Secure' : '';
  const redirectUri = `${settings.baseUrl}/callback`;

  /** session id → { sub, sid, name, memberships, idToken } */
  const sessions = new Map();
  /** login id → { verifier, state, nonce } while the browser is at Identity Link */
  const logins = new Map();

  const setCookie = (name, value, maxAge) =>
    `${name}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure}`;

  function send(response, status, html, headers = {}) {
    response.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "default-src 'none'; form-action 'self' " + issuerUrl.origin,
      'x-frame-options': 'DENY',
      'cache-control': 'no-store',
      ...headers,
    });
    response.end(html);
  }

  function home(request, response) {
    const session = sessions.get(cookiesOf(request).get(SESSION_COOKIE));
    if (!session) {
      send(
        response,
        200,
        page(
          'Электронный дневник',
          '<p>Вы не вошли.</p><p><a href="/login">Войти через Identity Link</a></p>',
        ),
      );
      return;
    }
    const memberships = session.memberships.length
      ? `<ul>${session.memberships
          .map(
            (m) =>
              `<li>ЛКО № ${escapeHtml(m.lko_number)}: ${
                m.confirmed
                  ? `роли ${escapeHtml(m.roles.join(', ') || 'нет')}`
                  : 'учётная запись не подтверждена, ролей нет'
              }</li>`,
          )
          .join('')}</ul>`
      : '<p>Организаций ПОС нет.</p>';
    send(
      response,
      200,
      page(
        'Электронный дневник',
        `<p>Здравствуйте, ${escapeHtml(session.name)}!</p>
<h2>Организации ПОС</h2>
${memberships}
<form method="post" action="/logout"><button type="submit">Выйти</button></form>`,
      ),
    );
  }

  async function login(_request, response) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const id = randomBytes(24).toString('base64url');
    logins.set(id, { verifier, state, nonce });
    setTimeout(() => logins.delete(id), 10 * 60_000).unref();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile email pos',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    response.writeHead(302, {
      location: url.href,
      'set-cookie': setCookie(LOGIN_COOKIE, id, 600),
    });
    response.end();
  }

  async function callback(request, response) {
    const loginId = cookiesOf(request).get(LOGIN_COOKIE);
    const pending = loginId && logins.get(loginId);
    if (!pending) {
      send(
        response,
        400,
        page('Вход не удался', '<p>Вход устарел. <a href="/login">Войти снова</a></p>'),
      );
      return;
    }
    logins.delete(loginId);
    const current = new URL(request.url, settings.baseUrl);
    let tokens;
    try {
      tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
      });
    } catch (error) {
      log.error(`diary: login refused: ${error.message}`);
      send(response, 400, page('Вход не удался', '<p><a href="/login">Войти снова</a></p>'));
      return;
    }
    const claims = tokens.claims();
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    const id = randomBytes(24).toString('base64url');
    sessions.set(id, {
      sub: claims.sub,
      sid: claims.sid,
      name: userinfo.name ?? userinfo.preferred_username ?? claims.sub,
      memberships: Array.isArray(userinfo.pos_memberships) ? userinfo.pos_memberships : [],
      idToken: tokens.id_token,
    });
    log.info(`diary: signed in sub ${claims.sub} sid ${claims.sid}`);
    response.writeHead(303, {
      location: '/',
      'set-cookie': [setCookie(SESSION_COOKIE, id, 8 * 3600), setCookie(LOGIN_COOKIE, '', 0)],
    });
    response.end();
  }

  /** OpenID Back-Channel Logout 1.0 §2.6: verify the logout token, end the sessions of its sid. */
  async function backchannelLogout(request, response) {
    try {
      if (!(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
        throw new Error('not a form');
      const token = new URLSearchParams(await readBody(request)).get('logout_token');
      if (!token) throw new Error('no logout_token');
      const { payload } = await jwtVerify(token, jwks, {
        issuer: metadata.issuer,
        audience: settings.clientId,
        typ: 'logout+jwt',
        requiredClaims: ['iat', 'exp', 'jti', 'sid', 'events'],
        maxTokenAge: '5 minutes',
      });
      // §2.6: `events` is a JSON object whose back-channel logout member is a JSON object too.
      if (!isJsonObject(payload.events) || !isJsonObject(payload.events[BACKCHANNEL_EVENT]))
        throw new Error('no back-channel logout event');
      if ('nonce' in payload) throw new Error('a nonce in a logout token');
      let ended = 0;
      for (const [id, session] of sessions)
        if (session.sid === payload.sid) {
          sessions.delete(id);
          ended += 1;
        }
      log.info(`diary: back-channel logout sid ${payload.sid}: ${ended} session(s) ended`);
      response.writeHead(200, { 'cache-control': 'no-store' }).end();
    } catch (error) {
      log.warn(`diary: back-channel logout refused: ${error.message}`);
      response
        .writeHead(400, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify({ error: 'invalid_request' }));
    }
  }

  function logout(request, response) {
    // A cross-site form must not sign the person out (Origin is sent with every POST form).
    if (request.headers.origin !== new URL(settings.baseUrl).origin) {
      send(response, 403, page('Запрос отклонён', '<p>Форма отправлена с другого сайта.</p>'));
      return;
    }
    const id = cookiesOf(request).get(SESSION_COOKIE);
    const session = sessions.get(id);
    sessions.delete(id);
    const headers = { 'set-cookie': setCookie(SESSION_COOKIE, '', 0) };
    if (!session) {
      response.writeHead(303, { ...headers, location: '/' }).end();
      return;
    }
    // RP-initiated logout: Identity Link asks the person and ends its session (and so every
    // other application's, by back-channel logout), then comes back here.
    const url = oidc.buildEndSessionUrl(config, {
      id_token_hint: session.idToken,
      post_logout_redirect_uri: `${settings.baseUrl}/`,
    });
    response.writeHead(303, { ...headers, location: url.href }).end();
  }

  const routes = {
    'GET /': home,
    'GET /login': login,
    'GET /callback': callback,
    'POST /backchannel-logout': backchannelLogout,
    'POST /logout': logout,
  };

  const server = createServer((request, response) => {
    const path = new URL(request.url, 'http://diary').pathname;
    const route = routes[`${request.method} ${path}`];
    if (!route) {
      send(response, 404, page('Страница не найдена', '<p><a href="/">На главную</a></p>'));
      return;
    }
    Promise.resolve(route(request, response)).catch((error) => {
      log.error(`diary: ${request.method} ${path} failed: ${error.stack ?? error}`);
      if (!response.headersSent)
        send(response, 502, page('Сервис входа недоступен', '<p>Попробуйте позже.</p>'));
      else response.end();
    });
  });
  await new Promise((resolve) => server.listen(settings.port, resolve));
  const port = server.address().port;
  log.info(`diary: listening on ${settings.baseUrl} (port ${port}), issuer ${metadata.issuer}`);
  return {
    port,
    sessions,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const diary = await startDiary().catch((error) => {
    console.error(`diary: cannot start: ${error.stack ?? error}`);
    process.exit(1);
  });
  for (const signal of ['SIGINT', 'SIGTERM'])
    process.on(signal, () => void diary.close().then(() => process.exit(0)));
}
