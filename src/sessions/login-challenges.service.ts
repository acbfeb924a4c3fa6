import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { type ClientInfo } from '../common/client-info.js';
import { type User, UserStatus } from '../identity/user.entity.js';
import { type ChallengePurpose, LoginChallenge } from './login-challenge.entity.js';
import { CHALLENGE_MAX_ATTEMPTS, CHALLENGE_TTL_MS } from './second-factor-rules.js';
import { newSecret, SECRET_PATTERN, secretDigest } from '../common/secrets.js';

export interface StartedChallenge {
  challenge: LoginChallenge;
  /** Handed to the browser (cookie) or the API caller once; stored only as a hash. */
  token: string;
}

/**
 * The pending step between a right password and a session (LoginChallenge): started by the login
 * inside its transaction, found by its token while live, ended when a session opens or after
 * CHALLENGE_MAX_ATTEMPTS wrong codes.
 */
@Injectable()
export class LoginChallenges {
  constructor(private readonly em: EntityManager) {}

  start(
    em: EntityManager,
    user: User,
    purpose: ChallengePurpose,
    client: ClientInfo,
  ): StartedChallenge {
    const { secret: token, digest: tokenHash } = newSecret();
    const now = new Date();
    const challenge = em.create(LoginChallenge, {
      tokenHash,
      user,
      purpose,
      createdAt: now,
      expiresAt: new Date(now.getTime() + CHALLENGE_TTL_MS),
      ip: client.ip,
    });
    return { challenge, token };
  }

  /** The live challenge of a token, with its (active) user; null when none. */
  async find(token: string | undefined): Promise<LoginChallenge | null> {
    if (token === undefined || !SECRET_PATTERN.test(token)) return null;
    const challenge = await this.em.findOne(
      LoginChallenge,
      { tokenHash: secretDigest(token) },
      { populate: ['user'], refresh: true },
    );
    if (!challenge || challenge.endedAt !== null) return null;
    if (challenge.expiresAt.getTime() <= Date.now()) return null;
    if (challenge.user.status !== UserStatus.Active) return null;
    return challenge;
  }

  /** A wrong code on this step: after CHALLENGE_MAX_ATTEMPTS the step ends (the password again). */
  async wrongCode(challenge: LoginChallenge): Promise<void> {
    const attempts = challenge.failedAttempts + 1;
    await this.em.nativeUpdate(
      LoginChallenge,
      { id: challenge.id },
      {
        failedAttempts: attempts,
        ...(attempts >= CHALLENGE_MAX_ATTEMPTS && { endedAt: new Date() }),
      },
    );
  }

  /** Ends the step inside the caller's transaction; false if it already ended or expired. */
  async end(em: EntityManager, challenge: LoginChallenge): Promise<boolean> {
    const now = new Date();
    const ended = await em.nativeUpdate(
      LoginChallenge,
      { id: challenge.id, endedAt: null, expiresAt: { $gt: now } },
      { endedAt: now },
    );
    return ended === 1;
  }
}
