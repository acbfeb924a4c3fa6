import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TestSmtp } from '../../test/support/smtp.js';
import { smtpTransport } from './smtp-transport.js';

/** The transport against a real SMTP server (smtp-server), nodemailer loaded on first use. */
const smtp = new TestSmtp();
const mail = (to: string) => ({ from: 'no-reply@example.ru', to, subject: 'Проверка', text: 'ok' });

beforeAll(async () => {
  await smtp.start();
});
afterAll(async () => {
  await smtp.stop();
});

describe('smtpTransport', () => {
  it('sends the first message through the configured server', async () => {
    const transport = smtpTransport({ smtpUrl: smtp.url, connections: 1 });
    try {
      await transport.sendMail(mail('first@example.ru'));
      expect(smtp.received.some((message) => message.to.includes('first@example.ru'))).toBe(true);
    } finally {
      transport.close();
    }
  });

  it('refuses to send once closed, and opens no pool for it', async () => {
    const transport = smtpTransport({ smtpUrl: smtp.url, connections: 1 });
    transport.close();
    await expect(transport.sendMail(mail('late@example.ru'))).rejects.toThrow(
      'the mail transport is closed',
    );
    expect(smtp.received.some((message) => message.to.includes('late@example.ru'))).toBe(false);
  });
});
