import { ms } from './duration.js';
import { type EnvSchema } from './env.schema.js';

export interface MailConfig {
  /** Undefined in development: messages go to the development mailbox. */
  smtpUrl?: string;
  from: string;
  retryLimit: number;
  retryDelayMs: number;
  retryDelayMaxMs: number;
  /** SMTP connections, and so messages in flight, per instance. */
  connections: number;
}

export function mailConfig(env: EnvSchema, publicUrl: string): MailConfig {
  return {
    smtpUrl: env.SMTP_URL,
    from: env.MAIL_FROM ?? `no-reply@${new URL(publicUrl).hostname}`,
    retryLimit: env.MAIL_RETRY_LIMIT,
    retryDelayMs: ms(env.MAIL_RETRY_DELAY),
    retryDelayMaxMs: ms(env.MAIL_RETRY_DELAY_MAX),
    connections: env.MAIL_SMTP_CONNECTIONS,
  };
}
