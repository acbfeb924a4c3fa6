import { describe, expect, it } from '@jest/globals';
import { describeAccess } from './provider.texts.js';

describe('describeAccess', () => {
  it('says what each scope gives in Russian words, who you are first, whatever the order', () => {
    expect(describeAccess(['email', 'phone', 'openid', 'profile'])).toEqual([
      'что это вы: постоянный идентификатор учётной записи и способ входа',
      'ФИО и логин',
      'адрес электронной почты (подтверждённый)',
      'телефон',
    ]);
    expect(describeAccess(['pos'])).toEqual(['организации ПОС и роли']);
  });

  it('names an unknown scope as it is, and claims asked for one by one', () => {
    expect(describeAccess(['openid', 'diary:read'], ['email'])).toEqual([
      'что это вы: постоянный идентификатор учётной записи и способ входа',
      'diary:read',
      'отдельные сведения: email',
    ]);
  });
});
