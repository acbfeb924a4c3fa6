import { Injectable, type OnModuleInit } from '@nestjs/common';
import argon2 from 'argon2';
import { randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app-config.js';

/** The m, t and p of an argon2id v1.3 PHC string (in any order), or null for anything else. */
export function argon2idParameters(hash: string): { m: number; t: number; p: number } | null {
  const match = /^\$argon2id\$v=19\$([a-z]=\d+(?:,[a-z]=\d+)*)\$/.exec(hash);
  if (!match) return null;
  const params = Object.fromEntries(
    match[1].split(',').map((pair) => [pair[0], Number(pair.slice(2))]),
  );
  const { m, t, p } = params;
  return m && t && p ? { m, t, p } : null;
}

/**
 * argon2id with parameters from configuration (OWASP minimum m=19456 KiB, t=2, p=1). Hashing runs
 * on libuv's thread pool, so the event loop keeps serving while a hash is computed.
 */
@Injectable()
export class PasswordHasher implements OnModuleInit {
  private dummyHash = '';
  /** Number of argon2 computations started; lets tests prove a request did no hashing. */
  operations = 0;

  constructor(private readonly config: AppConfig) {}

  async onModuleInit(): Promise<void> {
    // Verifying against this hash gives unknown logins the same cost as real ones.
    this.dummyHash = await argon2.hash(randomBytes(32), this.options());
  }

  private options() {
    const { memoryCost, timeCost, parallelism } = this.config.argon2;
    return { type: argon2.argon2id as 2, memoryCost, timeCost, parallelism };
  }

  async hash(password: string): Promise<string> {
    this.operations++;
    return argon2.hash(password, this.options());
  }

  async verify(hash: string, password: string): Promise<boolean> {
    this.operations++;
    try {
      return await argon2.verify(hash, password);
    } catch {
      // A malformed stored hash must not become a 500 that tells accounts apart.
      return false;
    }
  }

  /** Spends one verification for a login that has no credential. Always false. */
  async verifyDummy(password: string): Promise<false> {
    await this.verify(this.dummyHash, password);
    return false;
  }

  /**
   * True when the stored hash is not argon2id v1.3 or was made with weaker parameters than the
   * configured ones. A stronger hash is left alone (argon2's own needsRehash would downgrade it).
   */
  needsRehash(hash: string): boolean {
    const params = argon2idParameters(hash);
    if (!params) return true;
    const { memoryCost, timeCost, parallelism } = this.config.argon2;
    return params.m < memoryCost || params.t < timeCost || params.p < parallelism;
  }
}
