import { describe, expect, it } from '@jest/globals';
import { DEFAULT_RETURN, returnTarget, safeReturnTo } from './return-to.js';

describe('safeReturnTo', () => {
  it.each(['/account', '/pos/admin?tab=members', '/account#gosuslugi'])(
    'keeps the local path %s',
    (path) => {
      expect(safeReturnTo(path)).toBe(path);
    },
  );

  it.each([
    'https://evil.example',
    '//evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    'javascript:alert(1)',
    '/%0d%0aSet-Cookie:x=y'.replace('%0d%0a', '\r\n'),
    '/path\\..\\evil',
    'account',
    '',
    '/' + 'a'.repeat(600),
    '/.//evil.example/x',
    '/a/..//evil.example',
    '/%2e//evil.example',
    '/./\\evil.example',
    '/' + 'ж'.repeat(300),
  ])('drops %j', (value) => {
    expect(safeReturnTo(value)).toBeNull();
  });

  it('drops non-strings', () => {
    expect(safeReturnTo(['/account'])).toBeNull();
    expect(safeReturnTo(undefined)).toBeNull();
  });
});

describe('returnTarget', () => {
  it('keeps a local path and sends anything safeReturnTo drops to «Личный кабинет»', () => {
    expect(DEFAULT_RETURN).toBe('/account');
    expect(returnTarget('/pos/admin?tab=members')).toBe('/pos/admin?tab=members');
    expect(returnTarget('//evil.example')).toBe('/account');
    expect(returnTarget(undefined)).toBe('/account');
    expect(returnTarget(['/pos'])).toBe('/account');
  });
});
