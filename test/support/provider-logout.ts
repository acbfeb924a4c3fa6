import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { ClientsService } from '../../src/provider/clients.service.js';
import { type TestApp } from './app.js';
import { Browser } from './browser.js';

/**
 * The relying party's side of the logout tests (test/provider-logout.spec.ts): a client registered
 * with its logout addresses, openid-client, a browser, and a server that receives logout tokens.
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
    backchannelLogoutUri?: string;
    postLogoutRedirectUris?: string[];
  } = {},
): Promise<Registered> {
  const redirectUri = `http://127.0.0.1:9/callback/${randomUUID()}`;
  const { client, clientSecret } = await t.app.get(ClientsService).create({
    name: options.name ?? 'Электронный дневник',
    redirectUris: [redirectUri],
    postLogoutRedirectUris: options.postLogoutRedirectUris,
    backchannelLogoutUri: options.backchannelLogoutUri,
    firstParty: true,
  });
  return { clientId: client.clientId, clientSecret, redirectUri };
}

/** A relying party built with openid-client from our discovery document. */
export async function relyingParty(issuer: string, client: Registered) {
  const config = await oidc.discovery(
    new URL(issuer),
    client.clientId,
    undefined,
    oidc.ClientSecretBasic(client.clientSecret!),
    { execute: [oidc.allowInsecureRequests] },
  );
  oidc.enableNonRepudiationChecks(config);
  return config;
}

/**
 * A browser walking an authorization request (password login on our /login when it is shown),
 * every redirect and Refresh page followed, stopping at the client's redirect URI.
 */
export async function authorize(
  browser: Browser,
  config: oidc.Configuration,
  client: Registered,
  account: { login: string; password: string },
) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: client.redirectUri,
    scope: 'openid profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  let next = url.href;
  for (let hop = 0; hop < 12; hop++) {
    if (next.startsWith(client.redirectUri)) return { callback: new URL(next), verifier, state };
    const response = await browser.get(next);
    const current = new URL(next, browser.base);
    if (response.status === 200 && current.pathname === '/login') {
      const csrf = /name="csrf" value="([^"]+)"/.exec(await response.text())![1];
      const posted = await browser.postForm('/login', {
        csrf,
        returnTo: current.searchParams.get('returnTo')!,
        login: account.login,
        password: account.password,
      });
      next = new URL(Browser.location(posted), browser.base).href;
      continue;
    }
    const refresh = /^0;url=(.+)$/.exec(response.headers.get('refresh') ?? '');
    if (response.status === 200 && refresh) {
      next = new URL(refresh[1], browser.base).href;
      continue;
    }
    if (response.status < 300 || response.status > 399)
      throw new Error(`unexpected ${response.status} at ${current.pathname}`);
    next = new URL(Browser.location(response), browser.base).href;
  }
  throw new Error('too many redirects');
}

/** Signs the browser's person in to the client: code + PKCE, then the token exchange. */
export async function signIn(
  browser: Browser,
  config: oidc.Configuration,
  client: Registered,
  account: { login: string; password: string },
) {
  const { callback, verifier, state } = await authorize(browser, config, client, account);
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
  return { tokens, sid: tokens.claims()!.sid as string };
}

/**
 * An application's back-channel logout endpoint: a real HTTP server that verifies each logout
 * token against the provider's JWKS (signature, `typ`, `iss`, `aud`, `events`, `sid`, no `nonce`)
 * and keeps the verified claims; anything else it answers 400. Can be closed and opened again on
 * the same port (a client that is down).
 */
export class LogoutReceiver {
  readonly received: JWTPayload[] = [];
  readonly refused: string[] = [];
  private server?: Server;
  private port = 0;
  audience = '';

  constructor(private readonly issuer: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/backchannel`;
  }

  async open(): Promise<this> {
    const jwks = createRemoteJWKSet(new URL(`${this.issuer}/oidc/jwks`));
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        void (async () => {
          try {
            if (request.headers['content-type'] !== 'application/x-www-form-urlencoded')
              throw new Error(`content-type ${request.headers['content-type']}`);
            const token = new URLSearchParams(body).get('logout_token') ?? '';
            const { payload } = await jwtVerify(token, jwks, {
              issuer: this.issuer,
              audience: this.audience,
              typ: 'logout+jwt',
              requiredClaims: ['iat', 'exp', 'jti', 'sub', 'sid', 'events'],
            });
            const events = payload.events as Record<string, unknown>;
            if (typeof events?.['http://schemas.openid.net/event/backchannel-logout'] !== 'object')
              throw new Error('no back-channel logout event');
            if ('nonce' in payload) throw new Error('a nonce in a logout token');
            this.received.push(payload);
            response.writeHead(200).end();
          } catch (error) {
            this.refused.push(String(error));
            response.writeHead(400).end();
          }
        })();
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  /** Waits until a logout token for `sid` has arrived; returns its claims. */
  async logoutFor(sid: string, timeoutMs = 15_000): Promise<JWTPayload> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find((claims) => claims.sid === sid);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(
          `no logout token for sid ${sid}; received ${JSON.stringify(this.received)}, refused ${JSON.stringify(this.refused)}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
