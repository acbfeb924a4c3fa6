import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { type User } from '../identity/user.entity.js';
import { PasskeyChallenge, type PasskeyPurpose } from './passkey-challenge.entity.js';
import { CHALLENGE_TTL_MS } from './second-factor-rules.js';

/**
 * The WebAuthn challenges the service issued (PasskeyChallenge): made here from 256 random bits,
 * bound to an account, a purpose and a session or login step, and used up by the one statement
 * that accepts them.
 */
@Injectable()
export class PasskeyChallenges {
  constructor(private readonly em: EntityManager) {}

  async issue(user: User, purpose: PasskeyPurpose, boundTo: string): Promise<string> {
    const now = new Date();
    // Expired challenges of the account go as new ones are made: the table stays small.
    await this.em.nativeDelete(PasskeyChallenge, { user: user.id, expiresAt: { $lte: now } });
    const challenge = randomBytes(32).toString('base64url');
    await this.em.insert(PasskeyChallenge, {
      id: randomUUID(),
      challenge,
      user: user.id,
      purpose,
      boundTo,
      createdAt: now,
      expiresAt: new Date(now.getTime() + CHALLENGE_TTL_MS),
    });
    return challenge;
  }

  /** Deletes the live challenge if it was issued to this account for this purpose and binding. */
  async consume(
    user: User,
    purpose: PasskeyPurpose,
    boundTo: string,
    challenge: string,
  ): Promise<boolean> {
    const deleted = await this.em.nativeDelete(PasskeyChallenge, {
      challenge,
      user: user.id,
      purpose,
      boundTo,
      expiresAt: { $gt: new Date() },
    });
    return deleted === 1;
  }
}
