import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import * as client from 'openid-client';
import { newSecret, sameSecret, secretDigest } from '../common/secrets.js';
import { AppConfig } from '../config/app-config.js';
import { type CookieValue } from '../sessions/cookies.js';
import { type VerifiedIdentity } from '../identity/identity-links.service.js';
import { LoginPurpose } from './login-purpose.js';
import { LoginTransaction } from './login-transaction.entity.js';

/** A round trip to the provider must finish within this time. */
export const TRANSACTION_TTL_MS = 10 * 60_000;

/**
 * What the browser keeps of a begun transaction: the handle its HttpOnly cookie holds (the
 * controller sets it, cookie kind `gosuslugiTransaction`) and how long the cookie lives.
 */
export type TransactionCookie = CookieValue;

/**
 * Server-side OAuth transactions, bound to the browser by an HttpOnly cookie holding a random
 * handle. A callback without that cookie (another browser: login CSRF) finds nothing. The
 * controllers read and write the cookie; here it is the handle, a plain value.
 */
@Injectable()
export class LoginTransactions {
  constructor(
    private readonly em: EntityManager,
    private readonly config: AppConfig,
  ) {}

  async begin(
    purpose: LoginPurpose,
    binding: {
      userId?: string;
      sessionId?: string;
      returnTo?: string | null;
      invitationId?: string;
      identity?: VerifiedIdentity;
    },
  ): Promise<{ transaction: LoginTransaction; cookie: TransactionCookie }> {
    const { secret: handle, digest: handleHash } = newSecret();
    const now = new Date();
    await this.em.nativeDelete(LoginTransaction, { expiresAt: { $lt: now } });
    const transaction = this.em.create(LoginTransaction, {
      handleHash,
      // ЕСИА requires a UUID v4 state; others get openid-client's 256-bit random state.
      state: this.config.gosuslugi.profile === 'esia' ? randomUUID() : client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
      purpose,
      userId: binding.userId ?? null,
      sessionId: binding.sessionId ?? null,
      returnTo: binding.returnTo ?? null,
      invitationId: binding.invitationId ?? null,
      identity: binding.identity ?? null,
      createdAt: now,
      expiresAt: new Date(now.getTime() + TRANSACTION_TTL_MS),
    });
    await this.em.flush();
    return { transaction, cookie: { value: handle, maxAgeMs: TRANSACTION_TTL_MS } };
  }

  /** The browser's live transaction of one of `purposes`, left in place (to show a page). */
  async peek(
    handle: string | undefined,
    purposes: LoginPurpose[],
  ): Promise<LoginTransaction | null> {
    if (!handle) return null;
    const found = await this.em.findOne(LoginTransaction, { handleHash: secretDigest(handle) });
    return found && found.expiresAt > new Date() && purposes.includes(found.purpose) ? found : null;
  }

  /**
   * Deletes and returns the browser's transaction if it is live, of one of `purposes`, and its
   * state matches; null otherwise. Deleted first, so a replay finds nothing. Whatever it finds,
   * the browser's cookie is spent: the caller clears it.
   */
  async consume(
    handle: string | undefined,
    state: unknown,
    purposes: LoginPurpose[],
  ): Promise<LoginTransaction | null> {
    if (!handle) return null;
    const transaction = await this.em.transactional(async (em) => {
      // The row lock makes concurrent callbacks with one handle take turns: the second finds nothing.
      const found = await em.findOne(
        LoginTransaction,
        { handleHash: secretDigest(handle) },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (found) em.remove(found);
      return found;
    });
    if (
      !transaction ||
      transaction.expiresAt <= new Date() ||
      !purposes.includes(transaction.purpose)
    )
      return null;
    if (typeof state !== 'string' || !sameSecret(state, transaction.state)) return null;
    return transaction;
  }
}
