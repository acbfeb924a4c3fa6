import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { isAbsolute, resolve } from 'node:path';
import { ms } from './duration.js';
import { EnvSchema } from './env.schema.js';
import { type GosuslugiConfig, gosuslugiConfig } from './gosuslugi.config.js';
import { personalDataKey, previousKeys, signingKeyProblem } from './keys.config.js';
import { type MailConfig, mailConfig } from './mail.config.js';
import { productionRefusals } from './production-refusals.js';
import { type ProviderConfig, providerConfig } from './provider.config.js';
import { type ThrottleConfig, throttleConfig } from './throttle.config.js';
import { type WidgetConfig, widgetConfig } from './widget.config.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Typed, validated configuration. Built once from the environment by {@link loadConfig} and
 * provided to Nest as a value, so every consumer reads the same checked data.
 */
export class AppConfig {
  readonly env!: 'development' | 'production' | 'test';
  readonly port!: number;
  readonly publicUrl!: string;
  /** Undefined means: start the embedded PostgreSQL (development and tests only). */
  readonly databaseUrl?: string;
  readonly dataDir!: string;
  readonly trustProxy?: string;
  readonly logLevel!: string;
  /** `pretty` only outside production (LOG_FORMAT; see createRootLogger). */
  readonly logFormat!: 'json' | 'pretty';
  readonly accessToken!: {
    ttlMs: number;
    /** This service's own audience: the only one its API accepts. */
    audience: string;
    /** Downstream applications that may ask for tokens of their own (ACCESS_TOKEN_AUDIENCES). */
    downstreamAudiences: string[];
    issuer: string;
  };
  /** PEM or JWK text; undefined means generate once and keep under dataDir (development only). */
  readonly tokenSigningKey?: string;
  /** Undefined in development: a generated key under DATA_DIR (PersonalDataKey). */
  readonly personalDataKey?: Buffer;
  /** Public JWKs of retired signing keys, still published and accepted. */
  readonly tokenPreviousKeys!: Record<string, unknown>[];
  readonly session!: {
    idleTtlMs: number;
    absoluteTtlMs: number;
    cookieName: string;
    secureCookie: boolean;
    /** 0: every request reads its session from the database. */
    cacheTtlMs: number;
  };
  readonly argon2!: { memoryCost: number; timeCost: number; parallelism: number };
  /** The nice value of the thread pool that runs argon2id; 0: the process's own. */
  readonly threadPoolNice!: number;
  readonly lockout!: {
    failureFactor: number;
    waitIncrementMs: number;
    maxWaitMs: number;
    failureResetMs: number;
    /** The account-wide slow-down: `accountFailureFactor` failures, then `accountDelayMs` each. */
    accountFailureFactor: number;
    accountDelayMs: number;
  };
  /** The second-factor policy beyond operators (src/sessions/second-factor-rules.ts). */
  readonly mfa!: { requiredForAdmins: boolean };
  readonly throttle!: ThrottleConfig;
  readonly gosuslugi!: GosuslugiConfig;
  readonly mail!: MailConfig;
  readonly invitationTtlMs!: number;
  /** Invitation mails per organisation in 24 hours (INVITATIONS_PER_ORG_PER_DAY). */
  readonly invitationsPerOrgPerDay!: number;
  readonly oidc!: ProviderConfig;
  readonly widget!: WidgetConfig;
  readonly shutdown!: {
    /** How long in-flight requests may take to finish after SIGTERM (SHUTDOWN_DRAIN_TIMEOUT). */
    drainTimeoutMs: number;
  };

  get isProduction(): boolean {
    return this.env === 'production';
  }
}

/** Validates the environment and refuses development defaults in production, naming each one. */
export function loadConfig(
  environment: Record<string, string | undefined>,
  cwd = process.cwd(),
): AppConfig {
  const raw = Object.fromEntries(
    Object.entries(environment).filter(([, value]) => value !== undefined && value !== ''),
  );
  const env = plainToInstance(EnvSchema, raw, { exposeDefaultValues: true });
  const errors = validateSync(env, { whitelist: false, forbidUnknownValues: false });
  const problems = errors.flatMap((error) => Object.values(error.constraints ?? {}));
  if (problems.length > 0) throw new ConfigError(problems);

  const production = env.NODE_ENV === 'production';
  productionRefusals(env, problems);
  if (env.TOKEN_SIGNING_KEY) {
    const problem = signingKeyProblem(env.TOKEN_SIGNING_KEY);
    if (problem) problems.push(`TOKEN_SIGNING_KEY ${problem}`);
  }
  const durations = {
    idle: ms(env.SESSION_IDLE_TTL),
    absolute: ms(env.SESSION_ABSOLUTE_TTL),
  };
  if (durations.idle > durations.absolute)
    problems.push('SESSION_IDLE_TTL must not exceed SESSION_ABSOLUTE_TTL');
  const publicUrl = env.PUBLIC_URL ?? `http://localhost:${env.PORT}`;
  const dataDir = isAbsolute(env.DATA_DIR) ? env.DATA_DIR : resolve(cwd, env.DATA_DIR);
  const gosuslugi = gosuslugiConfig(env, publicUrl, problems, dataDir);
  const tokenPreviousKeys = previousKeys(env.TOKEN_PREVIOUS_KEYS, problems);
  const dataKey = personalDataKey(env, gosuslugi, problems);
  const downstreamAudiences = [
    ...new Set((env.ACCESS_TOKEN_AUDIENCES ?? '').split(',').map((name) => name.trim())),
  ].filter(Boolean);
  // A downstream token this service accepted would let that application act here as the user.
  if (downstreamAudiences.includes(env.ACCESS_TOKEN_AUDIENCE))
    problems.push('ACCESS_TOKEN_AUDIENCES must not contain ACCESS_TOKEN_AUDIENCE (this service)');
  if (problems.length > 0) throw new ConfigError(problems);

  const config: AppConfig = Object.assign(new AppConfig(), {
    env: env.NODE_ENV,
    port: env.PORT,
    publicUrl,
    databaseUrl: env.DATABASE_URL,
    dataDir,
    trustProxy: env.TRUST_PROXY,
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT ?? (env.NODE_ENV === 'development' ? 'pretty' : 'json'),
    accessToken: {
      ttlMs: ms(env.ACCESS_TOKEN_TTL),
      audience: env.ACCESS_TOKEN_AUDIENCE,
      downstreamAudiences,
      issuer: publicUrl,
    },
    tokenSigningKey: env.TOKEN_SIGNING_KEY,
    personalDataKey: dataKey,
    tokenPreviousKeys,
    session: {
      idleTtlMs: durations.idle,
      absoluteTtlMs: durations.absolute,
      // The __Host- prefix pins the cookie to this origin, path / and https (RFC 6265bis).
      cookieName: production ? '__Host-il_session' : 'il_session',
      secureCookie: production,
      cacheTtlMs: ms(env.SESSION_CACHE_TTL),
    },
    argon2: {
      memoryCost: env.ARGON2_MEMORY_KIB,
      timeCost: env.ARGON2_ITERATIONS,
      parallelism: env.ARGON2_PARALLELISM,
    },
    threadPoolNice: env.THREAD_POOL_NICE,
    lockout: {
      failureFactor: env.LOCKOUT_FAILURE_FACTOR,
      waitIncrementMs: ms(env.LOCKOUT_WAIT_INCREMENT),
      maxWaitMs: ms(env.LOCKOUT_MAX_WAIT),
      failureResetMs: ms(env.LOCKOUT_FAILURE_RESET),
      accountFailureFactor: env.LOCKOUT_ACCOUNT_FAILURE_FACTOR,
      accountDelayMs: ms(env.LOCKOUT_ACCOUNT_DELAY),
    },
    mfa: { requiredForAdmins: env.MFA_REQUIRED_FOR_ADMINS === 'true' },
    throttle: throttleConfig(env),
    gosuslugi,
    mail: mailConfig(env, publicUrl),
    invitationTtlMs: ms(env.INVITATION_TTL),
    invitationsPerOrgPerDay: env.INVITATIONS_PER_ORG_PER_DAY,
    oidc: providerConfig(env),
    shutdown: { drainTimeoutMs: ms(env.SHUTDOWN_DRAIN_TIMEOUT) },
    widget: widgetConfig(env, cwd),
  });
  return config;
}
