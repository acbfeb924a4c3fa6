import { EnvBool, EnvDuration, EnvInt, EnvMatches, EnvOneOf, EnvString } from './env-decorators.js';

/**
 * The environment the service reads, validated once at start. Names are the documented ones
 * (README, configuration table); defaults are development defaults unless noted.
 */
export class EnvSchema {
  @EnvOneOf(['development', 'production', 'test']) NODE_ENV: 'development' | 'production' | 'test' =
    'development';
  @EnvInt(0, 65535) PORT = 3000;
  @EnvMatches(/^https?:\/\/[^/\s]+$/, 'an origin such as https://id.example.ru (no path)')
  PUBLIC_URL?: string;
  @EnvMatches(/^postgres(ql)?:\/\/\S+$/, 'a postgres:// URL') DATABASE_URL?: string;
  @EnvString() DATA_DIR = '.data';

  /** Which proxies' X-Forwarded-For to believe (Fastify's `trustProxy`): unset means none. */
  @EnvString() TRUST_PROXY?: string;

  @EnvOneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) LOG_LEVEL = 'info';

  /**
   * `json` (one JSON object a line, for collectors) or `pretty` (readable lines through
   * pino-pretty, a development dependency). Unset: `pretty` in development, `json` otherwise.
   */
  @EnvOneOf(['json', 'pretty']) LOG_FORMAT?: 'json' | 'pretty';

  @EnvDuration() ACCESS_TOKEN_TTL = '15m';
  @EnvString() ACCESS_TOKEN_AUDIENCE = 'identity-link';

  /**
   * Downstream applications (the diary, the back office) that may ask for tokens of their own,
   * comma-separated: a token for one of them is refused by this service's API and by the others.
   */
  @EnvMatches(
    /^[A-Za-z0-9][\w.:/-]{0,199}(\s*,\s*[A-Za-z0-9][\w.:/-]{0,199})*$/,
    'comma-separated audience names such as epos-diary',
  )
  ACCESS_TOKEN_AUDIENCES?: string;
  @EnvString() TOKEN_SIGNING_KEY?: string;

  /**
   * Retired signing keys still published and accepted while their tokens live (rotation without
   * downtime): a JSON array of JWKs (public parts are enough).
   */
  @EnvString() TOKEN_PREVIOUS_KEYS?: string;

  @EnvDuration() SESSION_IDLE_TTL = '30m';
  @EnvDuration() SESSION_ABSOLUTE_TTL = '12h';

  /**
   * How long an instance may keep a live session in memory between database notifications
   * (src/sessions/session-cache.ts); `0s` turns the cache off.
   */
  @EnvDuration() SESSION_CACHE_TTL = '30s';

  @EnvInt(19456) ARGON2_MEMORY_KIB = 19456;
  @EnvInt(2) ARGON2_ITERATIONS = 2;
  @EnvInt(1, 16) ARGON2_PARALLELISM = 1;

  /**
   * The nice value of libuv's worker threads, where argon2id runs (Linux); 0, the default, leaves
   * them at the process's own. Above 0 the event loop takes a core as soon as it has work, and
   * any other busy process of the same scheduling group takes it before a hash does
   * (src/common/thread-pool-priority.ts, docs/deployment.md).
   */
  @EnvInt(0, 19) THREAD_POOL_NICE = 0;

  @EnvInt(1) LOCKOUT_FAILURE_FACTOR = 30;
  @EnvDuration() LOCKOUT_WAIT_INCREMENT = '1m';
  @EnvDuration() LOCKOUT_MAX_WAIT = '15m';
  @EnvDuration() LOCKOUT_FAILURE_RESET = '12h';

  /** Failures on one account from all addresses together before every attempt is slowed. */
  @EnvInt(1) LOCKOUT_ACCOUNT_FAILURE_FACTOR = 100;

  /** From then on, the pause after each counted failure on the account, whatever the address. */
  @EnvDuration() LOCKOUT_ACCOUNT_DELAY = '1m';

  /**
   * Whether administrators of organisations (ЛКО) must use a second factor for password logins,
   * as platform operators always do: `true` sends one without it to enrol after the password.
   */
  @EnvBool() MFA_REQUIRED_FOR_ADMINS: 'true' | 'false' = 'false';

  /**
   * Requests per address, per route and THROTTLE_TTL, from callers without a live session (the
   * login page, public pages and API, a forged or ended cookie): sized for a school behind one
   * NATed address (docs/deployment.md, «Throttling and NATed schools»).
   */
  @EnvInt(1) THROTTLE_LIMIT = 600;

  /**
   * Requests per signed-in account (every session of it together, every route) per THROTTLE_TTL:
   * a request that proves a live session counts here, not against its address.
   */
  @EnvInt(1) THROTTLE_SIGNED_IN_LIMIT = 1200;

  /**
   * Credential attempts per address per THROTTLE_TTL. On the password login (API and page) only
   * the failed ones count: successful logins are THROTTLE_LOGIN_LIMIT's.
   */
  @EnvInt(1) THROTTLE_AUTH_LIMIT = 20;
  @EnvDuration() THROTTLE_TTL = '1m';

  /**
   * Every password login attempt per address per THROTTLE_LOGIN_WINDOW, failed or not (and the
   * starts of a Госуслуги login): sized for a school whose staff all log in through one NATed
   * address at 8:00 (docs/deployment.md, «Throttling and NATed schools»).
   */
  @EnvInt(1) THROTTLE_LOGIN_LIMIT = 1000;
  @EnvDuration() THROTTLE_LOGIN_WINDOW = '10m';

  /** Throttling counters in Redis (`redis://…`); without it they live in PostgreSQL. */
  @EnvMatches(/^rediss?:\/\/\S+$/, 'a redis:// or rediss:// URL') REDIS_URL?: string;

  /**
   * The server key personal identifiers (SNILS) are kept under as HMAC-SHA256 digests: 32 bytes
   * or more, base64 or hex. Required in production when GOSUSLUGI_SCOPES asks for `snils`.
   */
  @EnvMatches(
    /^(([0-9a-fA-F]{2}){32,}|[A-Za-z0-9+/_-]{43,}={0,2})$/,
    'at least 32 bytes in hex or base64',
  )
  PERSONAL_DATA_KEY?: string;

  /**
   * Keys that sign the OpenID Provider's cookies (its session and interaction cookies),
   * comma-separated, newest first (older ones still verify during a rotation); each at least 32
   * characters. Required in production; in development a key is generated on every start.
   */
  @EnvMatches(/^[^\s,]{32,}(,[^\s,]{32,})*$/, 'comma-separated keys of at least 32 characters each')
  OIDC_COOKIE_KEYS?: string;

  /**
   * How long an OpenID Provider authorization code may wait for its exchange at the token
   * endpoint (oidc-provider's default, one minute; tests shorten it to see an expired code refused).
   */
  @EnvDuration() OIDC_CODE_TTL = '60s';

  /**
   * Back-channel logout deliveries: retries after the first attempt, the first delay (doubled each
   * time up to the maximum), and the deadline of one POST. The defaults keep trying for about a day.
   */
  @EnvInt(0) OIDC_LOGOUT_RETRY_LIMIT = 30;
  @EnvDuration() OIDC_LOGOUT_RETRY_DELAY = '10s';
  @EnvDuration() OIDC_LOGOUT_RETRY_DELAY_MAX = '1h';
  @EnvDuration() OIDC_LOGOUT_TIMEOUT = '5s';

  /**
   * Development only: the example diary (examples/diary) registered as a client at start, at
   * this origin; `off` registers nothing. Default http://localhost:3701 with NODE_ENV=development.
   */
  @EnvMatches(
    /^(off|https?:\/\/[^/\s]+)$/,
    'an origin such as http://localhost:3701 (no path) or off',
  )
  DEV_DIARY_URL?: string;

  /** `dev`: the built-in stand-in (development only); `oidc`: a standard provider; `esia`: the real ЕСИА. */
  @EnvOneOf(['dev', 'oidc', 'esia']) GOSUSLUGI_PROFILE?: 'dev' | 'oidc' | 'esia';

  @EnvMatches(/^https?:\/\/\S+$/, 'an http(s) URL') GOSUSLUGI_ISSUER?: string;
  @EnvString() GOSUSLUGI_CLIENT_ID?: string;
  @EnvString() GOSUSLUGI_CLIENT_SECRET?: string;
  @EnvMatches(/^openid( [\w:.-]+)*$/, 'space-separated scopes starting with openid')
  GOSUSLUGI_SCOPES?: string;

  /** `test` or `prod` pick the presets in config/; `dev` is the stand-in's ЕСИА-shaped mode. */
  @EnvOneOf(['test', 'prod', 'dev']) GOSUSLUGI_ESIA_ENV?: 'test' | 'prod' | 'dev';

  /**
   * Overrides the preset's host (a staging contour, a proxy, an independent fake); the paths stay
   * ЕСИА's. The token issuer is GOSUSLUGI_ISSUER's business.
   */
  @EnvMatches(
    /^https?:\/\/[^\s/?#]+(\/[^\s?#]*[^\s?#/])?$/,
    'an http(s) URL without a trailing slash',
  )
  GOSUSLUGI_ESIA_BASE_URL?: string;

  @EnvOneOf(['local', 'command', 'http']) GOSUSLUGI_SIGNER?: 'local' | 'command' | 'http';
  @EnvString() GOSUSLUGI_SIGNER_COMMAND?: string;
  @EnvMatches(/^https?:\/\/\S+$/, 'an http(s) URL') GOSUSLUGI_SIGNER_URL?: string;
  @EnvString() GOSUSLUGI_SIGNER_KEY_FILE?: string;

  /** `reversed` for signers that print CryptoPro byte order (csptest); OpenSSL's is `as-is`. */
  @EnvOneOf(['as-is', 'reversed']) GOSUSLUGI_SIGNATURE_BYTE_ORDER: 'as-is' | 'reversed' = 'as-is';
  @EnvString() GOSUSLUGI_CERT_FILE?: string;

  /** Comma-separated certificate files ЕСИА tokens may be signed with (several during a rotation). */
  @EnvString() GOSUSLUGI_TOKEN_CERTS?: string;

  /**
   * `offline`: ЕСИА gives a refresh token, kept sealed on the linked identity, so the person's data
   * can be read again without a new login (POST /api/v1/me/identities/gosuslugi/refresh).
   */
  @EnvOneOf(['online', 'offline']) GOSUSLUGI_ESIA_ACCESS_TYPE: 'online' | 'offline' = 'online';

  /**
   * A nonce in an ЕСИА ID token must always be the transaction's; `required` also refuses a token
   * without one. `optional` by default because ЕСИА has stopped returning it (docs/esia.md):
   * `required` would refuse every login.
   */
  @EnvOneOf(['optional', 'required']) GOSUSLUGI_ESIA_NONCE: 'optional' | 'required' = 'optional';

  /** smtp:// or smtps:// URL; unset in development → the development mailbox (/dev/mailbox). */
  @EnvMatches(/^smtps?:\/\/\S+$/, 'an smtp:// or smtps:// URL') SMTP_URL?: string;
  @EnvMatches(/^[^\s@<>]+@[^\s@<>]+$/, 'an e-mail address') MAIL_FROM?: string;
  @EnvDuration() INVITATION_TTL = '7d';

  /**
   * Invitation mails one organisation may send in 24 hours, whichever way (add, import, re-send,
   * «Отправить повторно всем приглашённым»): sized for a big school inviting all its staff twice.
   */
  @EnvInt(1) INVITATIONS_PER_ORG_PER_DAY = 2000;

  @EnvInt(0) MAIL_RETRY_LIMIT = 20;
  @EnvDuration() MAIL_RETRY_DELAY = '10s';
  @EnvDuration() MAIL_RETRY_DELAY_MAX = '1h';

  /** SMTP connections (and so messages) in flight at once per instance. */
  @EnvInt(1, 50) MAIL_SMTP_CONNECTIONS = 4;

  /** ПОС's origin in the generated widget code: its script and the form the banner opens. */
  @EnvMatches(/^https?:\/\/[^/\s]+$/, 'an origin such as https://pos.gosuslugi.ru (no path)')
  POS_WIDGET_BASE_URL = 'https://pos.gosuslugi.ru';

  /**
   * Tests only: the widget placement check may fetch private and loopback addresses (a local
   * https site). Refused in production.
   */
  @EnvBool() WIDGET_CHECK_ALLOW_PRIVATE?: 'true' | 'false';

  /** Tests only: a PEM file of an extra CA the placement check trusts (a self-signed local site). */
  @EnvString() WIDGET_CHECK_CA_FILE?: string;

  /**
   * After SIGTERM, how long requests already in the service's hands may take to finish; what is
   * still open then is cut, and the process exits a few seconds later whatever its clients do.
   */
  @EnvDuration() SHUTDOWN_DRAIN_TIMEOUT = '15s';
}
