import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { createPrivateKey, type JsonWebKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseDuration } from './duration.js';
import { EnvSchema } from './env.schema.js';
import { type GosuslugiConfig, gosuslugiConfig } from './gosuslugi.config.js';

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
  readonly throttle!: {
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
  };
  readonly gosuslugi!: GosuslugiConfig;
  readonly mail!: {
    /** Undefined in development: messages go to the development mailbox. */
    smtpUrl?: string;
    from: string;
    retryLimit: number;
    retryDelayMs: number;
    retryDelayMaxMs: number;
    /** SMTP connections, and so messages in flight, per instance. */
    connections: number;
  };
  readonly invitationTtlMs!: number;
  /** Invitation mails per organisation in 24 hours (INVITATIONS_PER_ORG_PER_DAY). */
  readonly invitationsPerOrgPerDay!: number;
  readonly oidc!: {
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
  };
  /** The widget code (POS_WIDGET_BASE_URL) and its placement check (docs/pos-widget.md). */
  readonly widget!: {
    posBaseUrl: string;
    /** Tests only (refused in production): private and loopback sites may be fetched. */
    allowPrivateAddresses: boolean;
    /** Tests only: the PEM text of an extra CA trusted by the check. */
    extraCa?: string;
  };
  readonly shutdown!: {
    /** How long in-flight requests may take to finish after SIGTERM (SHUTDOWN_DRAIN_TIMEOUT). */
    drainTimeoutMs: number;
  };

  get isProduction(): boolean {
    return this.env === 'production';
  }
}

/** The example diary's origin: DEV_DIARY_URL, by default in development only, never in production. */
function devDiaryUrl(env: EnvSchema): string | null {
  if (env.NODE_ENV === 'production' || env.DEV_DIARY_URL === 'off') return null;
  return env.DEV_DIARY_URL ?? (env.NODE_ENV === 'development' ? 'http://localhost:3701' : null);
}

function ms(value: string): number {
  const parsed = parseDuration(value);
  if (parsed === undefined) throw new Error(`unreachable: ${value} passed validation`);
  return parsed;
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
  if (production) {
    if (!env.DATABASE_URL)
      problems.push('DATABASE_URL is not set: the embedded PostgreSQL is for development only');
    if (!env.TOKEN_SIGNING_KEY)
      problems.push(
        'TOKEN_SIGNING_KEY is not set: a generated signing key is for development only',
      );
    if (!env.PUBLIC_URL)
      problems.push('PUBLIC_URL is not set: the http://localhost default is for development only');
    else if (!env.PUBLIC_URL.startsWith('https://'))
      problems.push('PUBLIC_URL must use https in production');
  }
  if (production && env.LOG_FORMAT === 'pretty')
    problems.push(
      'LOG_FORMAT=pretty needs pino-pretty, a development dependency absent from production images: production logs JSON',
    );
  if (production && !env.OIDC_COOKIE_KEYS) {
    problems.push(
      'OIDC_COOKIE_KEYS is not set: the OpenID Provider signs its cookies with keys every instance shares',
    );
  }
  if (production && !env.SMTP_URL) {
    problems.push('SMTP_URL is not set: the development mailbox is for development only');
  }
  if (production && env.TRUST_PROXY === 'true') {
    problems.push(
      'TRUST_PROXY=true believes any X-Forwarded-For: give the proxy addresses or a hop count',
    );
  }
  if (production && env.DATABASE_URL?.includes('change-me')) {
    problems.push('DATABASE_URL still holds the example password "change-me"');
  }
  if (production && env.WIDGET_CHECK_ALLOW_PRIVATE === 'true')
    problems.push(
      'WIDGET_CHECK_ALLOW_PRIVATE=true lets the widget check fetch private addresses: for tests only',
    );
  if (production && env.WIDGET_CHECK_CA_FILE)
    problems.push('WIDGET_CHECK_CA_FILE is for tests only: official sites use public certificates');
  if (production && !env.POS_WIDGET_BASE_URL.startsWith('https://'))
    problems.push('POS_WIDGET_BASE_URL must use https in production');
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
  const personalDataKey = env.PERSONAL_DATA_KEY
    ? Buffer.from(
        env.PERSONAL_DATA_KEY,
        /^([0-9a-fA-F]{2})+$/.test(env.PERSONAL_DATA_KEY) ? 'hex' : 'base64',
      )
    : undefined;
  if (personalDataKey && personalDataKey.length < 32)
    problems.push(
      `PERSONAL_DATA_KEY must be at least 32 bytes (it decodes to ${personalDataKey.length})`,
    );
  // Operators must enrol a second factor, whose secret is sealed under this key: without it no
  // operator could log in (enrolment answers 503). SNILS, when its scope is read, and ЕСИА refresh
  // tokens, with offline access, are kept under it too.
  if (production && !env.PERSONAL_DATA_KEY) {
    const also = [
      ...(gosuslugi.scopes.split(' ').includes('snils')
        ? ['GOSUSLUGI_SCOPES reads SNILS, which is kept only as an HMAC under that key']
        : []),
      ...(gosuslugi.esia?.accessType === 'offline'
        ? ['GOSUSLUGI_ESIA_ACCESS_TYPE=offline keeps ЕСИА refresh tokens sealed under that key']
        : []),
    ];
    problems.push(
      `PERSONAL_DATA_KEY is not set: second-factor (TOTP) secrets are sealed under it, and platform operators must enrol one${
        also.length > 0 ? `; ${also.join('; ')}` : ''
      }`,
    );
  }
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
    personalDataKey,
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
    lockout: {
      failureFactor: env.LOCKOUT_FAILURE_FACTOR,
      waitIncrementMs: ms(env.LOCKOUT_WAIT_INCREMENT),
      maxWaitMs: ms(env.LOCKOUT_MAX_WAIT),
      failureResetMs: ms(env.LOCKOUT_FAILURE_RESET),
      accountFailureFactor: env.LOCKOUT_ACCOUNT_FAILURE_FACTOR,
      accountDelayMs: ms(env.LOCKOUT_ACCOUNT_DELAY),
    },
    mfa: { requiredForAdmins: env.MFA_REQUIRED_FOR_ADMINS === 'true' },
    throttle: {
      ttlMs: ms(env.THROTTLE_TTL),
      limit: env.THROTTLE_LIMIT,
      signedInLimit: env.THROTTLE_SIGNED_IN_LIMIT,
      authLimit: env.THROTTLE_AUTH_LIMIT,
      loginLimit: env.THROTTLE_LOGIN_LIMIT,
      loginWindowMs: ms(env.THROTTLE_LOGIN_WINDOW),
      redisUrl: env.REDIS_URL,
    },
    gosuslugi,
    mail: {
      smtpUrl: env.SMTP_URL,
      from: env.MAIL_FROM ?? `no-reply@${new URL(publicUrl).hostname}`,
      retryLimit: env.MAIL_RETRY_LIMIT,
      retryDelayMs: ms(env.MAIL_RETRY_DELAY),
      retryDelayMaxMs: ms(env.MAIL_RETRY_DELAY_MAX),
      connections: env.MAIL_SMTP_CONNECTIONS,
    },
    invitationTtlMs: ms(env.INVITATION_TTL),
    invitationsPerOrgPerDay: env.INVITATIONS_PER_ORG_PER_DAY,
    oidc: {
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
    },
    shutdown: { drainTimeoutMs: ms(env.SHUTDOWN_DRAIN_TIMEOUT) },
    widget: {
      posBaseUrl: env.POS_WIDGET_BASE_URL,
      allowPrivateAddresses: env.WIDGET_CHECK_ALLOW_PRIVATE === 'true',
      extraCa: env.WIDGET_CHECK_CA_FILE
        ? readFileSync(resolve(cwd, env.WIDGET_CHECK_CA_FILE), 'utf8')
        : undefined,
    },
  });
  return config;
}

/** TOKEN_PREVIOUS_KEYS: a JSON array of JWKs (only their public parts are kept). */
function previousKeys(text: string | undefined, problems: string[]): Record<string, unknown>[] {
  if (!text) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    if (
      !Array.isArray(parsed) ||
      !parsed.every((k) => typeof k === 'object' && k !== null && 'kty' in k && 'x' in k)
    )
      throw new Error('not an array of JWKs');
    return parsed.map((key: Record<string, unknown>) => {
      const { d: _private, ...publicPart } = key;
      return publicPart;
    });
  } catch {
    problems.push('TOKEN_PREVIOUS_KEYS must be a JSON array of JWKs');
    return [];
  }
}

/**
 * Checked here, not first at token signing, so a placeholder or a wrong key type stops the start
 * with the variable named. Accepts a PKCS#8 PEM (\n escapes allowed) or a private JWK.
 */
function signingKeyProblem(text: string): string | null {
  try {
    const trimmed = text.trim();
    const key = trimmed.startsWith('{')
      ? createPrivateKey({ key: JSON.parse(trimmed) as JsonWebKey, format: 'jwk' })
      : createPrivateKey(trimmed.replace(/\\n/g, '\n'));
    const ec =
      key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
    if (ec || key.asymmetricKeyType === 'ed25519') return null;
    return 'must be an EC P-256 (ES256) or Ed25519 (EdDSA) private key';
  } catch {
    return 'is not a readable private key (PKCS#8 PEM or JWK)';
  }
}
