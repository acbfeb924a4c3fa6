import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type {
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { AppConfig } from '../config/app-config.js';
import { Passkey } from '../identity/passkey.entity.js';
import { type User } from '../identity/user.entity.js';
import {
  authenticationResponseOf,
  challengeOf,
  registrationResponseOf,
} from '../identity/webauthn-response.js';
import { LoginFailures } from '../throttling/credential-throttle.js';
import { type PasskeyPurpose } from './passkey-challenge.entity.js';
import { PasskeyChallenges } from './passkey-challenges.service.js';
import { CHALLENGE_TTL_MS } from './second-factor-rules.js';
import { PasskeyErrors } from './second-factor.texts.js';

/**
 * @simplewebauthn/server, loaded on the first passkey operation: it holds some 9 MiB (its CBOR and
 * ASN.1 parsers) that an instance whose people use no passkeys never needs.
 */
let webauthnLibrary: Promise<typeof import('@simplewebauthn/server')> | undefined;
function webauthn(): Promise<typeof import('@simplewebauthn/server')> {
  webauthnLibrary ??= import('@simplewebauthn/server');
  return webauthnLibrary;
}

/** What the service calls itself to an authenticator (shown by the browser when a key is made). */
const RP_NAME = 'Identity Link';

/**
 * Passkeys (WebAuthn, through @simplewebauthn/server) as a second factor. The relying party is
 * PUBLIC_URL: its host is the rpID, itself the only origin. Every challenge is made here, stored
 * (PasskeyChallenge) bound to the account, a purpose and the session or login step it is for,
 * and deleted by the statement that accepts it: an assertion counts once, and only where it was
 * asked for. The key must be this account's, and its signature counter may not go backwards.
 */
@Injectable()
export class Passkeys {
  constructor(
    private readonly em: EntityManager,
    private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly addressFailures: LoginFailures,
    private readonly challenges: PasskeyChallenges,
  ) {}

  get rpID(): string {
    return new URL(this.config.publicUrl).hostname;
  }

  get origin(): string {
    return new URL(this.config.publicUrl).origin;
  }

  list(userId: string): Promise<Passkey[]> {
    return this.em.find(
      Passkey,
      { user: userId },
      { orderBy: { createdAt: 'asc' }, refresh: true },
    );
  }

  async has(userId: string): Promise<boolean> {
    return (await this.em.count(Passkey, { user: userId })) > 0;
  }

  /** Options for navigator.credentials.create(), for a key added in `sessionId`. */
  async registrationOptions(
    user: User,
    sessionId: string,
  ): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const challenge = await this.challenges.issue(user, 'register', sessionId);
    const keys = await this.list(user.id);
    return (await webauthn()).generateRegistrationOptions({
      rpName: RP_NAME,
      rpID: this.rpID,
      userName: user.login,
      userID: Buffer.from(user.id.replaceAll('-', ''), 'hex'),
      challenge: Buffer.from(challenge, 'base64url'),
      attestationType: 'none',
      excludeCredentials: keys.map((key) => ({ id: key.credentialId, transports: key.transports })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      timeout: CHALLENGE_TTL_MS,
    });
  }

  /** Verifies the browser's answer to registrationOptions and keeps the key under `name`. */
  async register(
    user: User,
    sessionId: string,
    name: string,
    input: unknown,
    client: ClientInfo,
  ): Promise<Passkey> {
    const label = name.trim();
    if (label.length < 1 || label.length > 64 || /\p{Cc}/u.test(label))
      throw PasskeyErrors.nameInvalid();
    const response = registrationResponseOf(input);
    const challenge = response && challengeOf(response);
    if (
      !response ||
      !challenge ||
      !(await this.challenges.consume(user, 'register', sessionId, challenge))
    )
      throw PasskeyErrors.registrationFailed();
    const verified = await (
      await webauthn()
    )
      .verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.origin,
        expectedRPID: this.rpID,
        requireUserVerification: false,
      })
      .catch(() => null);
    if (!verified?.verified) throw PasskeyErrors.registrationFailed();
    const { credential } = verified.registrationInfo;
    try {
      return await this.em.transactional(async (em) => {
        const passkey = em.create(Passkey, {
          user,
          name: label,
          credentialId: credential.id,
          publicKey: Buffer.from(credential.publicKey).toString('base64url'),
          counter: credential.counter,
          transports: credential.transports ?? [],
        });
        this.audit.recordOwn(
          user.id,
          { type: 'mfa.passkey.enrolled', client, details: { passkeyId: passkey.id } },
          em,
        );
        await em.flush();
        return passkey;
      });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException)
        throw PasskeyErrors.alreadyRegistered();
      throw error;
    }
  }

  /** Options for navigator.credentials.get(): this account's keys, for one login step or session. */
  async authenticationOptions(
    user: User,
    purpose: Exclude<PasskeyPurpose, 'register'>,
    boundTo: string,
  ): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const keys = await this.list(user.id);
    if (keys.length === 0) throw PasskeyErrors.none();
    const challenge = await this.challenges.issue(user, purpose, boundTo);
    return (await webauthn()).generateAuthenticationOptions({
      rpID: this.rpID,
      challenge: Buffer.from(challenge, 'base64url'),
      allowCredentials: keys.map((key) => ({ id: key.credentialId, transports: key.transports })),
      userVerification: 'preferred',
      timeout: CHALLENGE_TTL_MS,
    });
  }

  /**
   * An assertion of one of the account's keys over a challenge issued for this purpose and this
   * login step or session: true once; false (audited, counted against the address) otherwise.
   */
  async verify(
    user: User,
    purpose: Exclude<PasskeyPurpose, 'register'>,
    boundTo: string,
    input: unknown,
    client: ClientInfo,
  ): Promise<boolean> {
    const response = authenticationResponseOf(input);
    const challenge = response && challengeOf(response);
    if (!response || !challenge) return this.failed(user, client, 'malformed');
    if (!(await this.challenges.consume(user, purpose, boundTo, challenge)))
      return this.failed(user, client, 'unknown_challenge');
    const key = await this.em.findOne(
      Passkey,
      { credentialId: response.id, user: user.id },
      { refresh: true },
    );
    if (!key) return this.failed(user, client, 'unknown_key');
    const verified = await (
      await webauthn()
    )
      .verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.origin,
        expectedRPID: this.rpID,
        credential: {
          id: key.credentialId,
          publicKey: Buffer.from(key.publicKey, 'base64url'),
          counter: Number(key.counter),
          transports: key.transports,
        },
        requireUserVerification: false,
      })
      .catch(() => null);
    if (!verified?.verified) return this.failed(user, client, 'bad_assertion');
    const { newCounter } = verified.authenticationInfo;
    // An authenticator that counts must show a larger count each time (a cloned key shows an old
    // one); the condition is in the statement, so two uses at once cannot both pass it.
    const updated = await this.em.nativeUpdate(
      Passkey,
      newCounter === 0 ? { id: key.id, counter: 0 } : { id: key.id, counter: { $lt: newCounter } },
      { counter: newCounter, lastUsedAt: new Date() },
    );
    if (updated !== 1) return this.failed(user, client, 'counter_not_increased');
    return true;
  }

  async remove(user: User, passkeyId: string, client: ClientInfo): Promise<void> {
    await this.em.transactional(async (em) => {
      const removed = await em.nativeDelete(Passkey, { id: passkeyId, user: user.id });
      if (removed === 0) throw PasskeyErrors.notFound();
      this.audit.recordOwn(
        user.id,
        { type: 'mfa.passkey.removed', client, details: { passkeyId } },
        em,
      );
    });
  }

  private async failed(user: User, client: ClientInfo, reason: string): Promise<false> {
    await this.audit.write({
      type: 'mfa.failed',
      actorUserId: user.id,
      targetUserId: user.id,
      client,
      details: { reason, factor: 'passkey' },
    });
    await this.addressFailures.failed(client.ip, user.login);
    return false;
  }
}
