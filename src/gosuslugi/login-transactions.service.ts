import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { type Request, type Response } from 'express';
import { randomUUID } from 'node:crypto';
import * as client from 'openid-client';
import { newSecret, sameSecret, secretDigest } from '../common/secrets.js';
import { AppConfig } from '../config/app-config.js';
import { cookieName, cookieOptions, readCookie } from '../sessions/cookies.js';
import { type VerifiedIdentity } from '../identity/identity-links.service.js';
import { LoginPurpose, LoginTransaction } from './login-transaction.entity.js';

/** A round trip to the provider must finish within this time. */
export const TRANSACTION_TTL_MS = 10 * 60_000;

/**
 * Server-side OAuth transactions, bound to the browser by an HttpOnly cookie holding a random
 * handle. A callback without that cookie (another browser: login CSRF) finds nothing.
 */
@Injectable()
export class LoginTransactions {
  constructor(
    private readonly em: EntityManager,
    private readonly config: AppConfig,
  ) {}

  private get cookieName(): string {
    return cookieName(this.config, 'gosuslugiTransaction');
  }

  async begin(
    response: Response,
    purpose: LoginPurpose,
    binding: {
      userId?: string;
      sessionId?: string;
      returnTo?: string | null;
      invitationId?: string;
      identity?: VerifiedIdentity;
    },
  ): Promise<LoginTransaction> {
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
    response.cookie(this.cookieName, handle, cookieOptions(this.config, TRANSACTION_TTL_MS));
    return transaction;
  }

  private handleOf(request: Request): string | null {
    return readCookie(request, this.config, 'gosuslugiTransaction') ?? null;
  }

  /** The browser's live transaction of one of `purposes`, left in place (to show a page). */
  async peek(request: Request, purposes: LoginPurpose[]): Promise<LoginTransaction | null> {
    const handle = this.handleOf(request);
    if (!handle) return null;
    const found = await this.em.findOne(LoginTransaction, { handleHash: secretDigest(handle) });
    return found && found.expiresAt > new Date() && purposes.includes(found.purpose) ? found : null;
  }

  /**
   * Deletes and returns the browser's transaction if it is live, of one of `purposes`, and its
   * state matches; null otherwise. Deleted first, so a replay finds nothing.
   */
  async consume(
    request: Request,
    response: Response,
    state: unknown,
    purposes: LoginPurpose[],
  ): Promise<LoginTransaction | null> {
    const handle = this.handleOf(request);
    response.clearCookie(this.cookieName, cookieOptions(this.config));
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
