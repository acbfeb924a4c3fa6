import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { type AppConfig } from '../config/app-config.js';
import { type PersonalDataKey } from '../identity/personal-data-key.service.js';
import { OidcClient } from './oidc-client.js';
import { type AuthorizationRequest, ProviderError } from './provider-client.js';

/**
 * Discovery (ASVS 10.5.3): metadata whose `issuer` is not the configured GOSUSLUGI_ISSUER is
 * refused, so a provider (or whoever answers at its address) cannot send the login elsewhere.
 */
let server: Server;
let base: string;
/** The issuer the metadata claims, per request path. */
const claimed = new Map<string, (own: string) => string>([
  ['/honest', (own) => own],
  ['/mix-up', () => 'https://evil.example'],
]);

beforeAll(async () => {
  server = createServer((req, res) => {
    const prefix = (req.url ?? '').replace('/.well-known/openid-configuration', '');
    const own = `${base}${prefix}`;
    const issuer = claimed.get(prefix)?.(own) ?? own;
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

function clientFor(path: string): OidcClient {
  const config = {
    isProduction: false,
    gosuslugi: {
      issuer: `${base}${path}`,
      clientId: 'identity-link',
      clientSecret: 'secret',
      redirectUri: 'http://127.0.0.1/auth/gosuslugi/callback',
      scopes: 'openid',
    },
  } as unknown as AppConfig;
  return new OidcClient(config, {} as PersonalDataKey);
}

const request = {
  state: 's'.repeat(43),
  nonce: 'n'.repeat(43),
  codeVerifier: 'v'.repeat(43),
} as AuthorizationRequest;

describe('OpenID Connect discovery', () => {
  it('control: metadata naming the configured issuer gives an authorization URL at that issuer', async () => {
    const url = await clientFor('/honest').authorizationUrl(request);
    expect(url.href.startsWith(`${base}/honest/authorize?`)).toBe(true);
  });

  it('refuses metadata whose issuer differs from GOSUSLUGI_ISSUER: unavailable, discovery_failed, no URL', async () => {
    const refused = await clientFor('/mix-up')
      .authorizationUrl(request)
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(refused).toBeInstanceOf(ProviderError);
    expect(refused).toMatchObject({ kind: 'unavailable', code: 'discovery_failed' });
    expect(String((refused as ProviderError).cause)).toMatch(/issuer/i);
  });
});
