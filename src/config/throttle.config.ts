import { ms } from './duration.js';
import { type EnvSchema } from './env.schema.js';

export interface ThrottleConfig {
  ttlMs: number;
  /** Requests per address and route per `ttlMs` without a live session. */
  limit: number;
  /** Requests per signed-in account per `ttlMs`, every route together. */
  signedInLimit: number;
  /** Credential attempts per `ttlMs`; on the password login, failed attempts only. */
  authLimit: number;
  /** Every password login attempt (and Госуслуги login start) per `loginWindowMs`. */
  loginLimit: number;
  loginWindowMs: number;
  redisUrl?: string;
}

export function throttleConfig(env: EnvSchema): ThrottleConfig {
  return {
    ttlMs: ms(env.THROTTLE_TTL),
    limit: env.THROTTLE_LIMIT,
    signedInLimit: env.THROTTLE_SIGNED_IN_LIMIT,
    authLimit: env.THROTTLE_AUTH_LIMIT,
    loginLimit: env.THROTTLE_LOGIN_LIMIT,
    loginWindowMs: ms(env.THROTTLE_LOGIN_WINDOW),
    redisUrl: env.REDIS_URL,
  };
}
