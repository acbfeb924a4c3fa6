import { type EnvSchema } from './env.schema.js';

/**
 * Development defaults and test switches production refuses, each named. Checks that need more
 * than the raw environment sit with their area: PERSONAL_DATA_KEY in keys.config.ts, the
 * Госуслуги profile in gosuslugi.config.ts.
 */
export function productionRefusals(env: EnvSchema, problems: string[]): void {
  if (env.NODE_ENV !== 'production') return;
  if (!env.DATABASE_URL)
    problems.push('DATABASE_URL is not set: the embedded PostgreSQL is for development only');
  if (!env.TOKEN_SIGNING_KEY)
    problems.push('TOKEN_SIGNING_KEY is not set: a generated signing key is for development only');
  if (!env.PUBLIC_URL)
    problems.push('PUBLIC_URL is not set: the http://localhost default is for development only');
  else if (!env.PUBLIC_URL.startsWith('https://'))
    problems.push('PUBLIC_URL must use https in production');
  if (env.LOG_FORMAT === 'pretty')
    problems.push(
      'LOG_FORMAT=pretty needs pino-pretty, a development dependency absent from production images: production logs JSON',
    );
  if (!env.OIDC_COOKIE_KEYS)
    problems.push(
      'OIDC_COOKIE_KEYS is not set: the OpenID Provider signs its cookies with keys every instance shares',
    );
  if (!env.SMTP_URL)
    problems.push('SMTP_URL is not set: the development mailbox is for development only');
  if (env.TRUST_PROXY === 'true')
    problems.push(
      'TRUST_PROXY=true believes any X-Forwarded-For: give the proxy addresses or a hop count',
    );
  if (env.DATABASE_URL?.includes('change-me'))
    problems.push('DATABASE_URL still holds the example password "change-me"');
  if (env.WIDGET_CHECK_ALLOW_PRIVATE === 'true')
    problems.push(
      'WIDGET_CHECK_ALLOW_PRIVATE=true lets the widget check fetch private addresses: for tests only',
    );
  if (env.WIDGET_CHECK_CA_FILE)
    problems.push('WIDGET_CHECK_CA_FILE is for tests only: official sites use public certificates');
  if (!env.POS_WIDGET_BASE_URL.startsWith('https://'))
    problems.push('POS_WIDGET_BASE_URL must use https in production');
}
