import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort } from '../../src/database/embedded-postgres.js';
import { recordMailedLinks } from './log-capture.js';

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  messageId: string;
}

/**
 * A real SMTP server on loopback (smtp-server) that keeps what it receives. `down()` makes it
 * refuse every message, as a mail server outage would; `up()` brings it back.
 */
export class TestSmtp {
  readonly received: ReceivedMail[] = [];
  /** Runs before a message is accepted (its DATA answered): a test injects a fault then. */
  beforeAccept: ((mail: ReceivedMail) => Promise<void>) | null = null;
  /**
   * While set, each message is read and never answered, as a stalled mail server does; `held`
   * counts them (they are not received: the sender never heard an answer).
   */
  holding = false;
  held = 0;
  private refusing = false;
  private server!: SMTPServer;
  port = 0;

  async start(): Promise<void> {
    this.port = await freePort();
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        if (this.refusing) {
          stream.resume();
          stream.on('end', () => {
            const error = new Error('service unavailable') as Error & { responseCode: number };
            error.responseCode = 421;
            callback(error);
          });
          return;
        }
        if (this.holding) {
          stream.resume();
          stream.on('end', () => (this.held += 1));
          return;
        }
        simpleParser(stream)
          .then(async (mail) => {
            // Mailed links are bearer secrets even when no test follows them.
            recordMailedLinks(mail.text ?? '');
            const received: ReceivedMail = {
              from: mail.from?.text ?? '',
              to: session.envelope.rcptTo.map((r) => r.address),
              subject: mail.subject ?? '',
              text: mail.text ?? '',
              messageId: mail.messageId ?? '',
            };
            await this.beforeAccept?.(received);
            this.received.push(received);
            callback();
          })
          .catch((error: Error) => callback(error));
      },
    });
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  down(): void {
    this.refusing = true;
  }

  up(): void {
    this.refusing = false;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Waits for the newest message to `to` (polling; the outbox delivers asynchronously), with
   * `subject` in its subject when given.
   */
  async waitFor(to: string, timeoutMs = 20_000, subject?: string): Promise<ReceivedMail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = [...this.received]
        .reverse()
        .find((mail) => mail.to.includes(to) && (!subject || mail.subject.includes(subject)));
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no ${subject ? `«${subject}» ` : ''}mail to ${to} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The token of a verification or recovery link in a message. */
export function linkToken(mail: ReceivedMail, path: 'verify-email' | 'reset-password'): string {
  const match = new RegExp(`/${path}/([A-Za-z0-9_-]{43})`).exec(mail.text);
  if (!match) throw new Error(`no ${path} link in: ${mail.text}`);
  return match[1];
}

/** The invitation link in a message. */
export function invitationLink(mail: ReceivedMail): string {
  const match = /https?:\/\/\S+\/pos\/invitations\/[A-Za-z0-9_-]{43}/.exec(mail.text);
  if (!match) throw new Error(`no invitation link in: ${mail.text}`);
  return match[0];
}
