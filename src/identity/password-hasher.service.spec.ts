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

  it('asks for a re-hash of weaker hashes and of other algorithms, never of stronger ones', async () => {
    const weaker = await argon2.hash('x', {
      type: argon2.argon2id,
      memoryCost: 8192,
      timeCost: 2,
      parallelism: 1,
    });
    const fewerPasses = await argon2.hash('x', {
      type: argon2.argon2id,
      memoryCost: 19456,
      timeCost: 1,
      parallelism: 1,
    });
    const argon2i = await argon2.hash('x', {
      type: argon2.argon2i,
      memoryCost: 19456,
      timeCost: 2,
      parallelism: 1,
    });
    const stronger = await argon2.hash('x', {
      type: argon2.argon2id,
      memoryCost: 65536,
      timeCost: 3,
      parallelism: 1,
    });
    expect(hasher.needsRehash(weaker)).toBe(true);
    expect(hasher.needsRehash(fewerPasses)).toBe(true);
    expect(hasher.needsRehash(argon2i)).toBe(true);
    expect(hasher.needsRehash('$2b$10$abcdefghijklmnopqrstuv')).toBe(true);
    expect(hasher.needsRehash(stronger)).toBe(false);
  });

  it('treats a malformed stored hash as a failed verification, not an error', async () => {
    expect(await hasher.verify('not-a-hash', 'Aa1!aaaa')).toBe(false);
  });
});
