import { randomBytes } from 'node:crypto';
import { ms } from './duration.js';
import { type EnvSchema } from './env.schema.js';

/** The OpenID Provider this service is for downstream applications (src/provider/). */
export interface ProviderConfig {
  /** Keys signing the OpenID Provider's cookies, newest first; generated per start in development. */
  cookieKeys: string[];
  /** Lifetime of an authorization code (OIDC_CODE_TTL). */
  codeTtlMs: number;
  /** Back-channel logout delivery (OIDC_LOGOUT_*). */
  backchannel: {
    retryLimit: number;
    retryDelayMs: number;
    retryDelayMaxMs: number;
    timeoutMs: number;
  };
  /**
   * Where the example diary runs, registered as a client at start (DEV_DIARY_URL); never in
   * production, where this is always null.
   */
  devDiaryUrl: string | null;
}

export function providerConfig(env: EnvSchema): ProviderConfig {
  return {
    cookieKeys: env.OIDC_COOKIE_KEYS
      ? env.OIDC_COOKIE_KEYS.split(',')
      : [randomBytes(32).toString('base64url')],
    codeTtlMs: ms(env.OIDC_CODE_TTL),
    backchannel: {
      retryLimit: env.OIDC_LOGOUT_RETRY_LIMIT,
      retryDelayMs: ms(env.OIDC_LOGOUT_RETRY_DELAY),
      retryDelayMaxMs: ms(env.OIDC_LOGOUT_RETRY_DELAY_MAX),
      timeoutMs: ms(env.OIDC_LOGOUT_TIMEOUT),
    },
    devDiaryUrl: devDiaryUrl(env),
  };
}

/** The example diary's origin: DEV_DIARY_URL, by default in development only, never in production. */
function devDiaryUrl(env: EnvSchema): string | null {
  if (env.NODE_ENV === 'production' || env.DEV_DIARY_URL === 'off') return null;
  return env.DEV_DIARY_URL ?? (env.NODE_ENV === 'development' ? 'http://localhost:3701' : null);
}
