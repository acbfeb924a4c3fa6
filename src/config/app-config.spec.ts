import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { loadConfig } from './app-config.js';
import { PRODUCTION, problems } from './config.spec-support.js';

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
    const { PERSONAL_DATA_KEY: _key, ...keyless } = PRODUCTION;
    expect(problems(keyless)).toEqual([
      'PERSONAL_DATA_KEY is not set: second-factor (TOTP) secrets are sealed under it, and platform operators must enrol one',
    ]);
  });

  it('refuses an http PUBLIC_URL in production', () => {
    expect(problems({ ...PRODUCTION, PUBLIC_URL: 'http://id.example.ru' })).toEqual([
      'PUBLIC_URL must use https in production',
    ]);
  });

  it('refuses the widget check test switches in production, and an http ПОС address', () => {
    const found = problems({
      ...PRODUCTION,
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
    const config = loadConfig(PRODUCTION);
    expect(config.session).toMatchObject({ cookieName: '__Host-il_session', secureCookie: true });
  });

  it('refuses a signing key that is not a usable EC P-256 or Ed25519 private key', () => {
    expect(problems({ ...PRODUCTION, TOKEN_SIGNING_KEY: '{"d":"x"}' })).toEqual([
      expect.stringContaining('TOKEN_SIGNING_KEY'),
    ]);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    expect(problems({ ...PRODUCTION, TOKEN_SIGNING_KEY: rsa })).toEqual([
      expect.stringContaining('TOKEN_SIGNING_KEY'),
    ]);
    const ed25519 = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
    expect(problems({ ...PRODUCTION, TOKEN_SIGNING_KEY: JSON.stringify(ed25519) })).toEqual([]);
  });

  it('refuses TRUST_PROXY=true and the example database password in production', () => {
    expect(problems({ ...PRODUCTION, TRUST_PROXY: 'true' })).toEqual([
      expect.stringContaining('TRUST_PROXY=true'),
    ]);
    expect(problems({ ...PRODUCTION, TRUST_PROXY: '10.0.0.10' })).toEqual([]);
    expect(
      problems({ ...PRODUCTION, DATABASE_URL: 'postgres://identity_link:change-me@db/x' }),
    ).toEqual([expect.stringContaining('change-me')]);
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
    expect(loadConfig(PRODUCTION).logFormat).toBe('json');
    expect(problems({ ...PRODUCTION, LOG_FORMAT: 'pretty' })).toEqual([
      expect.stringContaining('LOG_FORMAT=pretty needs pino-pretty'),
    ]);
    expect(problems({ LOG_FORMAT: 'colourful' })).toEqual([expect.stringContaining('LOG_FORMAT')]);
  });

  it('reads the drain timeout after SIGTERM, 15 s unless set', () => {
    expect(loadConfig({}).shutdown.drainTimeoutMs).toBe(15_000);
    expect(loadConfig({ SHUTDOWN_DRAIN_TIMEOUT: '3s' }).shutdown.drainTimeoutMs).toBe(3000);
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
