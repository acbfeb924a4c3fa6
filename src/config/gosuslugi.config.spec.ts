import { describe, expect, it } from '@jest/globals';
import { loadConfig } from './app-config.js';
import { GOSUSLUGI, PRODUCTION_WITHOUT_GOSUSLUGI, problems } from './config.spec-support.js';

describe('Госуслуги configuration', () => {
  it('refuses the Госуслуги stand-in in production and requires the provider settings', () => {
    const base = PRODUCTION_WITHOUT_GOSUSLUGI;
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

  it('configures the esia profile from the presets and requires signer, certificates and client id', () => {
    const base = PRODUCTION_WITHOUT_GOSUSLUGI;
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
});
