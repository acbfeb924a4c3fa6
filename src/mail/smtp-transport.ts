import nodemailer, { type Transporter } from 'nodemailer';
import { type AppConfig } from '../config/app-config.js';

/**
 * Deadlines of one SMTP conversation (nodemailer waits up to 10 minutes by default): connecting,
 * the greeting, and silence in between commands. An operator's own values in SMTP_URL win.
 */
const SMTP_DEADLINES = {
  connectionTimeout: 10_000,
  greetingTimeout: 10_000,
  socketTimeout: 30_000,
};

/** Pooled connections (nodemailer reads them from the URL): no SMTP handshake per message. */
function pooled(smtpUrl: string, connections: number): string {
  const url = new URL(smtpUrl);
  url.searchParams.set('pool', 'true');
  url.searchParams.set('maxConnections', String(connections));
  for (const [name, value] of Object.entries(SMTP_DEADLINES))
    if (!url.searchParams.has(name)) url.searchParams.set(name, String(value));
  return url.href;
}

/**
 * The SMTP transport of the configuration; without SMTP (development only), messages are built
 * but kept in the outbox for /dev/mailbox.
 */
export function smtpTransport(mail: AppConfig['mail']): Transporter {
  return mail.smtpUrl
    ? nodemailer.createTransport(pooled(mail.smtpUrl, mail.connections))
    : nodemailer.createTransport({ jsonTransport: true });
}
