import { describe, expect, it } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MailTemplates } from './mail-templates.js';

const names = [
  ...new Set(
    readdirSync(fileURLToPath(new URL('./templates', import.meta.url)))
      .filter((file) => file.endsWith('-text.eta'))
      .map((file) => file.replace(/-text\.eta$/, '')),
  ),
];

const LINK = 'https://id.school.example.ru/pos/invitations/AbC_dEf-123';
const RECOVERY_URL = 'https://id.school.example.ru/forgot-password';
const LOGIN_URL = 'https://id.school.example.ru/login';

/** Every field any template reads, with both branches of the conditional ones tried below. */
const data = (variant: boolean) => ({
  login: 'ivanova',
  name: 'Иванова Мария Петровна',
  email: 'ivanova@example.ru',
  newEmail: 'new@example.ru',
  organization: 'МБОУ СОШ № 1',
  lkoNumber: '123456',
  roles: 'Администратор',
  expires: '3 декабря 2026 г., 12:00',
  when: '2 декабря 2026 г. в 14:05',
  until: '14:20',
  ip: variant ? '203.0.113.7' : null,
  scope: variant ? 'address' : 'account',
  linked: variant,
  link: LINK,
  recoveryUrl: RECOVERY_URL,
  loginUrl: LOGIN_URL,
});

describe('mail templates', () => {
  it.each(names)(
    '%s: every link in the text body stands alone, so no mail client takes «)» or «.» into it',
    (name) => {
      const templates = new MailTemplates();
      for (const variant of [true, false]) {
        const { text } = templates.render(name, data(variant));
        for (const url of text.match(/https?:\/\/\S+/g) ?? [])
          expect([LINK, RECOVERY_URL, LOGIN_URL]).toContain(url);
      }
    },
  );

  it('says what ends a link: the action it leads to, not opening it', () => {
    const templates = new MailTemplates();
    const texts = ['invitation', 'verify-email', 'recovery'].map(
      (name) => templates.render(name, data(true)).text,
    );
    for (const text of texts) expect(text).not.toContain('открывается один раз');
    expect(texts[0]).toContain('после подтверждения регистрации она перестанет действовать');
    expect(texts[1]).toContain('как только вы подтвердите адрес');
    expect(texts[2]).toContain('как только вы зададите новый пароль');
  });
});
