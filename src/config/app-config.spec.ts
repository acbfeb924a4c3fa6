import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { ConfigError, loadConfig } from './app-config.js';

const SIGNING_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ format: 'pem', type: 'pkcs8' })
  .toString();
const SMTP = { SMTP_URL: 'smtp://mail.example.ru:587' };
/** The keys production requires: the OpenID Provider's cookies, and the one sealing personal data. */
const OIDC = {
  OIDC_COOKIE_KEYS: 'a-cookie-key-of-at-least-32-characters',
  PERSONAL_DATA_KEY: 'ab'.repeat(32),
};
/** The same without the personal data key. */
const { PERSONAL_DATA_KEY: _key, ...COOKIE_KEYS_ONLY } = OIDC;
const GOSUSLUGI = {
  GOSUSLUGI_PROFILE: 'oidc',
  GOSUSLUGI_ISSUER: 'https://idp.example.ru',
  GOSUSLUGI_CLIENT_ID: 'identity-link',
  GOSUSLUGI_CLIENT_SECRET: 'secret',
};

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('configuration', () => {
  it('starts in development with no configuration at all', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.accessToken.ttlMs).toBe(15 * 60_000);
    expect(config.session.cookieName).toBe('il_session');
    expect(config.argon2).toEqual({ memoryCost: 19456, timeCost: 2, parallelism: 1 });
  });

  it('refuses production with development defaults and names every one', () => {
    const found = problems({ NODE_ENV: 'production' });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringContaining('DATABASE_URL'),
        expect.stringContaining('TOKEN_SIGNING_KEY'),
        expect.stringContaining('PUBLIC_URL'),
        expect.stringContaining('OIDC_COOKIE_KEYS'),
        expect.stringContaining('PERSONAL_DATA_KEY is not set'),
      ]),
    );
  });

  it('refuses production without PERSONAL_DATA_KEY: operators’ second-factor secrets are sealed under it', () => {
    const found = problems({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/x',
      ...SMTP,
      ...COOKIE_KEYS_ONLY,
      TOKEN_SIGNING_KEY: SIGNING_KEY,
      ...GOSUSLUGI,
      PUBLIC_URL: 'https://id.example.ru',
    });
    expect(found).toEqual([
      'PERSONAL_DATA_KEY is not set: second-factor (TOTP) secrets are sealed under it, and platform operators must enrol one',
    ]);
  });

  it('refuses an http PUBLIC_URL in production', () => {
    const found = problems({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/x',
      ...SMTP,
      ...OIDC,
      TOKEN_SIGNING_KEY: SIGNING_KEY,
      ...GOSUSLUGI,
      PUBLIC_URL: 'http://id.example.ru',
    });
    expect(found).toEqual(['PUBLIC_URL must use https in production']);
  });

  it('refuses the widget check test switches in production, and an http ПОС address', () => {
    const found = problems({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/x',
      ...SMTP,
      ...OIDC,
      TOKEN_SIGNING_KEY: SIGNING_KEY,
      ...GOSUSLUGI,
      PUBLIC_URL: 'https://id.example.ru',
      WIDGET_CHECK_ALLOW_PRIVATE: 'true',
      WIDGET_CHECK_CA_FILE: 'ca.pem',
      POS_WIDGET_BASE_URL: 'http://pos.example.ru',
    });
    expect(found).toEqual([
      expect.stringContaining('WIDGET_CHECK_ALLOW_PRIVATE=true'),
      expect.stringContaining('WIDGET_CHECK_CA_FILE'),
      'POS_WIDGET_BASE_URL must use https in production',
    ]);
    const development = loadConfig({});
    expect(development.widget).toEqual({
      posBaseUrl: 'https://pos.gosuslugi.ru',
      allowPrivateAddresses: false,
      extraCa: undefined,
    });
  });

  it('accepts a complete production configuration and hardens the cookie', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/x',
      ...SMTP,
      ...OIDC,
      TOKEN_SIGNING_KEY: SIGNING_KEY,
      ...GOSUSLUGI,
      PUBLIC_URL: 'https://id.example.ru',
    });
    expect(config.session).toMatchObject({ cookieName: '__Host-il_session', secureCookie: true });
  });

  it('refuses a signing key that is not a usable EC P-256 or Ed25519 private key', () => {
    const base = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/x',
      ...SMTP,
      ...OIDC,
      PUBLIC_URL: 'https://id.example.ru',
      ...GOSUSLUGI,
    };
    expect(problems({ ...base, TOKEN_SIGNING_KEY: '{"d":"x"}' })).toEqual([
      expect.stringContaining('TOKEN_SIGNING_KEY'),
    ]);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    expect(problems({ ...base, TOKEN_SIGNING_KEY: rsa })).toEqual([
      expect.stringContaining('TOKEN_SIGNING_KEY'),
    ]);
    const ed25519 = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
    expect(problems({ ...base, TOKEN_SIGNING_KEY: JSON.stringify(ed25519) })).toEqual([]);
  });

  it('refuses the Госуслуги stand-in in production and requires the provider settings', () => {
    const base = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/x',
      ...SMTP,
      ...OIDC,
      PUBLIC_URL: 'https://id.example.ru',
      TOKEN_SIGNING_KEY: SIGNING_KEY,
    };
    expect(problems(base)).toEqual([expect.stringContaining('GOSUSLUGI_PROFILE is not set')]);
    // The stand-in asks for SNILS by default, which production keeps only under a configured key.
    expect(problems({ ...base, GOSUSLUGI_PROFILE: 'dev' })).toEqual([
      expect.stringContaining('stand-in is for development only'),
    ]);
    const { PERSONAL_DATA_KEY: _omitted, ...keyless } = base;
    expect(problems({ ...keyless, GOSUSLUGI_PROFILE: 'dev' })).toEqual([
      expect.stringContaining('stand-in is for development only'),
      expect.stringContaining('GOSUSLUGI_SCOPES reads SNILS'),
    ]);
    expect(problems({ ...base, GOSUSLUGI_PROFILE: 'oidc' })).toEqual([
      expect.stringContaining('GOSUSLUGI_ISSUER'),
      expect.stringContaining('GOSUSLUGI_CLIENT_ID'),
      expect.stringContaining('GOSUSLUGI_CLIENT_SECRET'),
    ]);
    expect(problems({ ...base, ...GOSUSLUGI, GOSUSLUGI_ISSUER: 'http://idp.example.ru' })).toEqual([
      'GOSUSLUGI_ISSUER must use https in production',
    ]);
  });

  it('refuses TRUST_PROXY=true and the example database password in production', () => {
    const base = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/x',
      ...SMTP,
      ...OIDC,
      PUBLIC_URL: 'https://id.example.ru',
      TOKEN_SIGNING_KEY: SIGNING_KEY,
      ...GOSUSLUGI,
    };
    expect(problems({ ...base, TRUST_PROXY: 'true' })).toEqual([
      expect.stringContaining('TRUST_PROXY=true'),
    ]);
    expect(problems({ ...base, TRUST_PROXY: '10.0.0.10' })).toEqual([]);
    expect(problems({ ...base, DATABASE_URL: 'postgres://identity_link:change-me@db/x' })).toEqual([
      expect.stringContaining('change-me'),
    ]);
  });

  it('reads downstream audiences and refuses a malformed list or one naming this service', () => {
    expect(
      loadConfig({ ACCESS_TOKEN_AUDIENCES: 'epos-diary, pos-backoffice,epos-diary' }).accessToken
        .downstreamAudiences,
    ).toEqual(['epos-diary', 'pos-backoffice']);
    expect(loadConfig({}).accessToken.downstreamAudiences).toEqual([]);
    expect(problems({ ACCESS_TOKEN_AUDIENCES: 'epos-diary,,x y' })).toEqual([
      expect.stringContaining('ACCESS_TOKEN_AUDIENCES must be comma-separated'),
    ]);
    expect(problems({ ACCESS_TOKEN_AUDIENCES: 'epos-diary,identity-link' })).toEqual([
      expect.stringContaining('must not contain ACCESS_TOKEN_AUDIENCE'),
    ]);
  });

  it('logs readable lines in development and JSON elsewhere; production refuses pretty logs', () => {
    expect(loadConfig({}).logFormat).toBe('pretty');
    expect(loadConfig({ NODE_ENV: 'test' }).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
    const production = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/x',
      ...SMTP,
      TOKEN_SIGNING_KEY: SIGNING_KEY,
      ...GOSUSLUGI,
      ...OIDC,
      PUBLIC_URL: 'https://id.example.ru',
    };
    expect(loadConfig(production).logFormat).toBe('json');
    expect(problems({ ...production, LOG_FORMAT: 'pretty' })).toEqual([
      expect.stringContaining('LOG_FORMAT=pretty needs pino-pretty'),
    ]);
    expect(problems({ LOG_FORMAT: 'colourful' })).toEqual([expect.stringContaining('LOG_FORMAT')]);
  });

  it('reads the drain timeout after SIGTERM, 15 s unless set', () => {
    expect(loadConfig({}).shutdown.drainTimeoutMs).toBe(15_000);
    expect(loadConfig({ SHUTDOWN_DRAIN_TIMEOUT: '3s' }).shutdown.drainTimeoutMs).toBe(3000);
  });

  it('configures the esia profile from the presets and requires signer, certificates and client id', () => {
    const base = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/x',
      ...SMTP,
      ...OIDC,
      PUBLIC_URL: 'https://id.example.ru',
      TOKEN_SIGNING_KEY: SIGNING_KEY,
    };
    expect(problems({ ...base, GOSUSLUGI_PROFILE: 'esia' })).toEqual([
      expect.stringContaining('GOSUSLUGI_SIGNER is not set'),
      expect.stringContaining('GOSUSLUGI_CERT_FILE'),
      expect.stringContaining('GOSUSLUGI_TOKEN_CERTS'),
      expect.stringContaining('GOSUSLUGI_CLIENT_ID'),
    ]);
    expect(problems({ ...base, GOSUSLUGI_PROFILE: 'esia', GOSUSLUGI_ESIA_ENV: 'dev' })).toEqual(
      expect.arrayContaining([expect.stringContaining('ЕСИА stand-in is for development only')]),
    );
    const config = loadConfig({
      ...base,
      GOSUSLUGI_PROFILE: 'esia',
      GOSUSLUGI_ESIA_ENV: 'test',
      GOSUSLUGI_CLIENT_ID: 'SCHOOL01',
      GOSUSLUGI_SIGNER: 'command',
      GOSUSLUGI_SIGNER_COMMAND: 'openssl dgst -engine gost -md_gost12_256 -sign /keys/system.pem',
      GOSUSLUGI_CERT_FILE: '/keys/system.crt',
      GOSUSLUGI_TOKEN_CERTS: '/keys/esia-2024.crt, /keys/esia-2025.crt',
    });
    expect(config.gosuslugi).toMatchObject({
      profile: 'esia',
      issuer: 'http://esia-portal1.test.gosuslugi.ru/',
      clientId: 'SCHOOL01',
      scopes: 'openid fullname',
    });
    expect(config.gosuslugi.esia).toMatchObject({
      preset: {
        baseUrl: 'https://esia-portal1.test.gosuslugi.ru',
        authorizationPath: '/aas/oauth2/v2/ac',
        tokenPath: '/aas/oauth2/v3/te',
      },
      tokenCertificateFiles: ['/keys/esia-2024.crt', '/keys/esia-2025.crt'],
      signatureByteOrder: 'as-is',
      nonce: 'optional',
    });
    expect(
      loadConfig({
        ...base,
        GOSUSLUGI_PROFILE: 'esia',
        GOSUSLUGI_ESIA_ENV: 'prod',
        GOSUSLUGI_CLIENT_ID: 'X',
        GOSUSLUGI_SIGNER: 'http',
        GOSUSLUGI_SIGNER_URL: 'https://signer.internal/sign',
        GOSUSLUGI_CERT_FILE: '/c',
        GOSUSLUGI_TOKEN_CERTS: '/t',
      }).gosuslugi.issuer,
    ).toBe('http://esia.gosuslugi.ru/');
    const staging = {
      ...base,
      GOSUSLUGI_PROFILE: 'esia',
      GOSUSLUGI_ESIA_ENV: 'test',
      GOSUSLUGI_CLIENT_ID: 'X',
      GOSUSLUGI_SIGNER: 'http',
      GOSUSLUGI_SIGNER_URL: 'https://signer.internal/sign',
      GOSUSLUGI_CERT_FILE: '/c',
      GOSUSLUGI_TOKEN_CERTS: '/t',
    };
    expect(
      loadConfig({ ...staging, GOSUSLUGI_ESIA_BASE_URL: 'https://esia-proxy.region.local/esia' })
        .gosuslugi.esia,
    ).toMatchObject({
      preset: {
        baseUrl: 'https://esia-proxy.region.local/esia',
        authorizationPath: '/aas/oauth2/v2/ac',
        issuer: 'http://esia-portal1.test.gosuslugi.ru/',
      },
    });
    expect(problems({ ...staging, GOSUSLUGI_ESIA_BASE_URL: 'https://esia.example/' })).toEqual([
      expect.stringContaining('GOSUSLUGI_ESIA_BASE_URL must be an http(s) URL'),
    ]);
    expect(problems({ ...staging, GOSUSLUGI_ESIA_BASE_URL: 'http://esia.example' })).toEqual([
      expect.stringContaining('must be https in production'),
    ]);
    // SNILS is read only with its scope, and then only under a server key.
    const { PERSONAL_DATA_KEY: _omitted, ...keyless } = staging;
    expect(problems({ ...keyless, GOSUSLUGI_SCOPES: 'openid fullname snils' })).toEqual([
      expect.stringContaining('GOSUSLUGI_SCOPES reads SNILS, which is kept only as an HMAC'),
    ]);
    expect(
      problems({ ...staging, GOSUSLUGI_SCOPES: 'openid fullname snils', PERSONAL_DATA_KEY: 'x' }),
    ).toEqual([expect.stringContaining('PERSONAL_DATA_KEY must be at least 32 bytes')]);
    // 48 hex digits pass the base64 shape but are 24 bytes of hex: refused by length.
    expect(
      problems({
        ...staging,
        GOSUSLUGI_SCOPES: 'openid fullname snils',
        PERSONAL_DATA_KEY: 'ab'.repeat(24),
      }),
    ).toEqual([expect.stringContaining('(it decodes to 24)')]);
    expect(
      loadConfig({
        ...staging,
        GOSUSLUGI_SCOPES: 'openid fullname snils',
        PERSONAL_DATA_KEY: 'ab'.repeat(32),
      }).personalDataKey,
    ).toEqual(Buffer.alloc(32, 0xab));
    // Offline access keeps ЕСИА refresh tokens, sealed under the same key.
    expect(problems({ ...keyless, GOSUSLUGI_ESIA_ACCESS_TYPE: 'offline' })).toEqual([
      expect.stringContaining('GOSUSLUGI_ESIA_ACCESS_TYPE=offline keeps ЕСИА refresh tokens'),
    ]);
    expect(loadConfig(staging).gosuslugi.esia?.accessType).toBe('online');
  });

  it('finds the development ЕСИА material under DATA_DIR relative to the directory it is given', () => {
    const config = loadConfig(
      { GOSUSLUGI_PROFILE: 'esia', GOSUSLUGI_ESIA_ENV: 'dev', DATA_DIR: 'state' },
      '/srv/identity-link',
    );
    expect(config.dataDir).toBe('/srv/identity-link/state');
    expect(config.gosuslugi.esia?.signer).toEqual({
      kind: 'local',
      keyFile: '/srv/identity-link/state/esia-dev/system-key.pem',
    });
    expect(config.gosuslugi.esia?.certificateFile).toBe(
      '/srv/identity-link/state/esia-dev/system.crt',
    );
  });

  it('uses the development stand-in by default, with the one callback URI', () => {
    const config = loadConfig({ PORT: '4000' });
    expect(config.gosuslugi).toMatchObject({
      profile: 'dev',
      issuer: 'http://localhost:4000/dev/gosuslugi',
      redirectUri: 'http://localhost:4000/auth/gosuslugi/callback',
      scopes: 'openid fullname snils',
    });
  });

  it('rejects malformed values with the variable named', () => {
    expect(problems({ ACCESS_TOKEN_TTL: 'soon' })).toEqual([
      expect.stringContaining('ACCESS_TOKEN_TTL'),
    ]);
    expect(problems({ ARGON2_MEMORY_KIB: '4096' })).toEqual([
      expect.stringContaining('ARGON2_MEMORY_KIB'),
    ]);
    expect(problems({ SHUTDOWN_DRAIN_TIMEOUT: '15' })).toEqual([
      expect.stringContaining('SHUTDOWN_DRAIN_TIMEOUT'),
    ]);
    const port = problems({ PORT: 'eighty' });
    expect(port.length).toBeGreaterThan(0);
    for (const problem of port) expect(problem).toContain('PORT');
  });
});
