import { type SendMailOptions, type SentMessageInfo, type Transporter } from 'nodemailer';
import { type MailConfig } from '../config/mail.config.js';

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

/** What the outbox needs of a transport: sending, and closing its pooled connections. */
export interface MailTransport {
  sendMail(message: SendMailOptions): Promise<SentMessageInfo>;
  close(): void;
}

/**
 * The SMTP transport of the configuration; without SMTP (development only), messages are built
 * but kept in the outbox for /dev/mailbox. nodemailer is loaded with the first message, not at
 * start: 1.6 MiB of heap an instance with nothing to send does not need (docs/performance.md,
 * «2026-12-05»).
 */
export function smtpTransport(mail: Pick<MailConfig, 'smtpUrl' | 'connections'>): MailTransport {
  let transporter: Promise<Transporter> | undefined;
  let closed = false;
  return {
    sendMail: async (message) => {
      // After close no new pool is opened, so none can outlive the service.
      if (closed) throw new Error('the mail transport is closed');
      transporter ??= import('nodemailer').then(({ default: nodemailer }) =>
        mail.smtpUrl
          ? nodemailer.createTransport(pooled(mail.smtpUrl, mail.connections))
          : nodemailer.createTransport({ jsonTransport: true }),
      );
      return (await transporter).sendMail(message);
    },
    // A pool still loading is closed once it has loaded.
    close: () => {
      closed = true;
      void transporter?.then((made) => made.close());
    },
  };
}
