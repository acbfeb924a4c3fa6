import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { type Browser } from './browser.js';
import { authorize, type Registered } from './provider.js';

/**
 * The relying party's side of the logout tests (test/provider-logout.spec.ts): a sign-in through
 * the shared relying-party helpers (./provider.ts) and a server that receives logout tokens.
 */

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
