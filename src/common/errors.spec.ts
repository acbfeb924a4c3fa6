import { describe, expect, it } from '@jest/globals';
import { Errors, waitInWords } from './errors.js';

describe('waitInWords', () => {
  it('says a Retry-After in Russian words: seconds under a minute, whole minutes rounded up above', () => {
    expect(waitInWords(1)).toBe('1 секунду');
    expect(waitInWords(3)).toBe('3 секунды');
    expect(waitInWords(11)).toBe('11 секунд');
    expect(waitInWords(22)).toBe('22 секунды');
    expect(waitInWords(0)).toBe('1 секунду');
    expect(waitInWords(60)).toBe('1 минуту');
    expect(waitInWords(61)).toBe('2 минуты');
    expect(waitInWords(600)).toBe('10 минут');
    expect(waitInWords(21 * 60)).toBe('21 минуту');
  });

  it('puts the wait into the 429 message', () => {
    expect(Errors.tooManyRequests(42).message).toBe(
      'Слишком много запросов, попробуйте через 42 секунды',
    );
  });
});
