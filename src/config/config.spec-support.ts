import { generateKeyPairSync } from 'node:crypto';
import { ConfigError, loadConfig } from './app-config.js';

/** Environments for the configuration specs: production with every requirement met, to break one part. */

export const SIGNING_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ format: 'pem', type: 'pkcs8' })
  .toString();

export const GOSUSLUGI = {
  GOSUSLUGI_PROFILE: 'oidc',
  GOSUSLUGI_ISSUER: 'https://idp.example.ru',
  GOSUSLUGI_CLIENT_ID: 'identity-link',
  GOSUSLUGI_CLIENT_SECRET: 'secret',
};

/** Production with everything but the Госуслуги settings, so that only they can be refused. */
export const PRODUCTION_WITHOUT_GOSUSLUGI = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://db/x',
  SMTP_URL: 'smtp://mail.example.ru:587',
  // The OpenID Provider's cookies, and the key sealing personal data.
  OIDC_COOKIE_KEYS: 'a-cookie-key-of-at-least-32-characters',
  PERSONAL_DATA_KEY: 'ab'.repeat(32),
  PUBLIC_URL: 'https://id.example.ru',
  TOKEN_SIGNING_KEY: SIGNING_KEY,
};

/** A complete production configuration: loadConfig accepts it as it is. */
export const PRODUCTION = { ...PRODUCTION_WITHOUT_GOSUSLUGI, ...GOSUSLUGI };

/** What loadConfig refuses in `env`, every problem; none for an accepted one. */
export function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}
