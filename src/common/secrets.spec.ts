import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { newSecret, sameSecret, SECRET_PATTERN, secretDigest } from './secrets.js';

describe('secrets', () => {
  it('makes 256-bit base64url secrets, each different, stored as their SHA-256 in hex', () => {
    const first = newSecret();
    const second = newSecret();
    expect(first.secret).toMatch(SECRET_PATTERN);
    expect(Buffer.from(first.secret, 'base64url')).toHaveLength(32);
    expect(first.secret).not.toBe(second.secret);
    expect(first.digest).toBe(createHash('sha256').update(first.secret).digest('hex'));
    expect(secretDigest(first.secret)).toBe(first.digest);
  });

  it('accepts only the shape of a secret', () => {
    expect(SECRET_PATTERN.test('a'.repeat(43))).toBe(true);
    expect(SECRET_PATTERN.test('a'.repeat(42))).toBe(false);
    expect(SECRET_PATTERN.test('a'.repeat(44))).toBe(false);
    expect(SECRET_PATTERN.test(`${'a'.repeat(42)}=`)).toBe(false);
  });

  it('compares secrets whole, of any length', () => {
    expect(sameSecret('abc', 'abc')).toBe(true);
    expect(sameSecret('abc', 'abd')).toBe(false);
    expect(sameSecret('abc', 'abcd')).toBe(false);
    expect(sameSecret('', '')).toBe(true);
  });
});
