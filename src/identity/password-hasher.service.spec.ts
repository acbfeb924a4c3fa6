import { describe, expect, it } from '@jest/globals';
import argon2 from 'argon2';
import { loadConfig } from '../config/app-config.js';
import { argon2idParameters, PasswordHasher } from './password-hasher.service.js';

const hasher = new PasswordHasher(loadConfig({}));

describe('argon2id hashing', () => {
  it('hashes with the configured parameters and verifies', async () => {
    const hash = await hasher.hash('Aa1!aaaa');
    expect(argon2idParameters(hash)).toEqual({ m: 19456, t: 2, p: 1 });
    expect(await hasher.verify(hash, 'Aa1!aaaa')).toBe(true);
    expect(await hasher.verify(hash, 'Aa1!aaab')).toBe(false);
  });

  // Weaker hashes and other algorithms are re-hashed at the next login, never stronger ones.
  it.each([
    ['less memory', true, { type: argon2.argon2id, memoryCost: 8192, timeCost: 2 }],
    ['fewer passes', true, { type: argon2.argon2id, memoryCost: 19456, timeCost: 1 }],
    ['argon2i', true, { type: argon2.argon2i, memoryCost: 19456, timeCost: 2 }],
    ['more memory and passes', false, { type: argon2.argon2id, memoryCost: 65536, timeCost: 3 }],
  ] as const)('a hash with %s: re-hash %s', async (_what, rehash, options) => {
    const hash = await argon2.hash('x', { ...options, parallelism: 1 });
    expect(hasher.needsRehash(hash)).toBe(rehash);
  });

  it('asks for a re-hash of other algorithms', () => {
    expect(hasher.needsRehash('$2b$10$abcdefghijklmnopqrstuv')).toBe(true);
  });

  it('treats a malformed stored hash as a failed verification, not an error', async () => {
    expect(await hasher.verify('not-a-hash', 'Aa1!aaaa')).toBe(false);
  });
});
