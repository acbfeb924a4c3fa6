import { describe, expect, it } from '@jest/globals';
import { normalizeEmail } from './normalize.js';

describe('normalizeEmail', () => {
  it('lower-cases and trims', () => {
    expect(normalizeEmail('  Ivanova.M@Example.RU ')).toBe('ivanova.m@example.ru');
  });
  it('gives one form for the Unicode and the punycode spelling of a domain', () => {
    expect(normalizeEmail('head@ШКОЛА.РФ')).toBe('head@школа.рф');
    expect(normalizeEmail('head@xn--80atdl2c.xn--p1ai')).toBe('head@школа.рф');
  });
  it('leaves what is not an address for the validator', () => {
    expect(normalizeEmail('no-at-sign')).toBe('no-at-sign');
  });
});
