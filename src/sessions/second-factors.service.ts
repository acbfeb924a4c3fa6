import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { MfaCredential } from '../identity/mfa-credential.entity.js';
import { MfaRecoveryCode } from '../identity/mfa-recovery-code.entity.js';
import { PersonalDataKey } from '../identity/personal-data-key.service.js';
import {
  isRecoveryCodeShape,
  normalizeCode,
  recoveryCodeHash,
  sameDigest,
  totpMatchingStep,
} from '../identity/totp.js';
import { type User } from '../identity/user.entity.js';
import { LoginFailures } from '../throttling/credential-throttle.js';
import { afterFailure, CLEARED, isLocked } from './lockout.js';
import { Passkeys } from './passkeys.service.js';
import { CODE_LOCKOUT } from './second-factor-rules.js';
import { PasskeyErrors, SecondFactorErrors } from './second-factor.texts.js';

/** What a right code proved: a TOTP code, or one of the single-use recovery codes. */
export type ProvedFactor = 'otp' | 'recovery';

/** The sealing context of a TOTP secret: bound to its row, so a sealed value cannot be moved. */
export function totpSealContext(credentialId: string): string {
  return `mfa-totp:${credentialId}`;
}

/**
 * Checks second-factor codes of an account: a TOTP code once per 30-second step (the newest step
 * accepted is kept, and it and older ones are refused: no replay), or an unused recovery code
 * (used up in the same statement that accepts it). Every wrong code is audited, counted on the
 * factor (CODE_LOCKOUT) and against the address like a wrong password.
 */
@Injectable()
export class SecondFactors {
  constructor(
    private readonly em: EntityManager,
    private readonly key: PersonalDataKey,
    private readonly audit: AuditService,
    private readonly addressFailures: LoginFailures,
    private readonly passkeys: Passkeys,
  ) {}

  /**
   * Re-proving the second factor in a session (re-authentication): a passkey's assertion over a
   * challenge issued for this session, or a code of the TOTP factor. What it proved (for `amr`),
   * null for an account without a second factor; refusals are thrown.
   */
  async reprove(
    user: User,
    sessionId: string,
    proof: { code?: string; assertion?: unknown },
    client: ClientInfo,
  ): Promise<'otp' | 'hwk' | null> {
    const keys = await this.passkeys.has(user.id);
    if (keys && proof.assertion !== undefined) {
      if (await this.passkeys.verify(user, 'reauth', sessionId, proof.assertion, client))
        return 'hwk';
      throw PasskeyErrors.invalid();
    }
    if ((await this.enrolled(user.id)) !== null) {
      if (!proof.code) throw SecondFactorErrors.codeRequired();
      if (!(await this.verify(user, proof.code, client))) throw SecondFactorErrors.invalidCode();
      return 'otp';
    }
    if (keys) throw SecondFactorErrors.passkeyRequired();
    return null;
  }

  /**
   * Whether the account has any second factor to prove: a confirmed TOTP factor or a passkey (as
   * the login's lookup counts them for secondFactorStep).
   */
  async any(userId: string): Promise<boolean> {
    return (await this.enrolled(userId)) !== null || (await this.passkeys.has(userId));
  }

  /** The account's confirmed TOTP factor, if it has one. */
  async enrolled(userId: string, em: EntityManager = this.em): Promise<MfaCredential | null> {
    return em.findOne(
      MfaCredential,
      { user: userId, kind: 'totp', confirmedAt: { $ne: null } },
      { refresh: true },
    );
  }

  /** The secret of a TOTP factor in clear, for a check or for showing it during enrolment. */
  secretOf(credential: MfaCredential): string {
    const secret = this.key.open(credential.sealedSecret, totpSealContext(credential.id));
    if (secret === null) throw new Error(`TOTP secret of ${credential.id} does not open`);
    return secret;
  }

  /** A code of the user's enrolled factor: what it proved, or null (recorded as a failure). */
  async verify(user: User, input: string, client: ClientInfo): Promise<ProvedFactor | null> {
    const credential = await this.enrolled(user.id);
    if (!credential) return this.failed(user, null, client, 'not_enrolled');
    const now = new Date();
    if (isLocked(credential, now)) return this.failed(user, null, client, 'locked');
    const code = normalizeCode(input);
    if (/^\d{6}$/.test(code)) {
      const step = totpMatchingStep(this.secretOf(credential), code, now.getTime());
      if (step === null) return this.failed(user, credential, client, 'wrong_code');
      if (await this.acceptStep(credential, step, now)) return 'otp';
      return this.failed(user, credential, client, 'replayed');
    }
    if (isRecoveryCodeShape(code)) {
      const remaining = await this.useRecoveryCode(user, code, now);
      if (remaining === null) return this.failed(user, credential, client, 'wrong_recovery_code');
      await this.em.nativeUpdate(MfaCredential, { id: credential.id }, { ...CLEARED });
      await this.audit.write({
        type: 'mfa.recovery.used',
        actorUserId: user.id,
        targetUserId: user.id,
        client,
        details: { remaining },
      });
      return 'recovery';
    }
    return this.failed(user, credential, client, 'wrong_code');
  }

  /**
   * Records the step as used, only if it is newer than the last one used and the factor is not
   * locked, in one statement: of two requests with the same code, one wins.
   */
  private async acceptStep(credential: MfaCredential, step: number, now: Date): Promise<boolean> {
    const updated = await this.em.nativeUpdate(
      MfaCredential,
      {
        id: credential.id,
        $and: [
          { $or: [{ lastUsedStep: null }, { lastUsedStep: { $lt: step } }] },
          { $or: [{ lockedUntil: null }, { lockedUntil: { $lte: now } }] },
        ],
      },
      { lastUsedStep: step, ...CLEARED },
    );
    return updated === 1;
  }

  /**
   * Uses up the matching unused recovery code; how many are left, or null if none matched. Every
   * unused code's digest is compared (in constant time), not looked up by it.
   */
  private async useRecoveryCode(user: User, code: string, now: Date): Promise<number | null> {
    const unused = await this.em.find(
      MfaRecoveryCode,
      { user: user.id, usedAt: null },
      { refresh: true },
    );
    const digest = recoveryCodeHash(code);
    let match: MfaRecoveryCode | null = null;
    for (const candidate of unused) {
      if (sameDigest(candidate.codeHash, digest)) match = candidate;
    }
    if (!match) return null;
    const used = await this.em.nativeUpdate(
      MfaRecoveryCode,
      { id: match.id, usedAt: null },
      { usedAt: now },
    );
    return used === 1 ? unused.length - 1 : null;
  }

  /** A wrong (or refused) code: counted on the factor under its row lock, audited, and per address. */
  private async failed(
    user: User,
    credential: MfaCredential | null,
    client: ClientInfo,
    reason: string,
  ): Promise<null> {
    let failureCount: number | null = null;
    if (credential && reason !== 'locked') {
      failureCount = await this.em.transactional(async (em) => {
        const locked = await em.findOneOrFail(MfaCredential, credential.id, {
          lockMode: LockMode.PESSIMISTIC_WRITE,
          refresh: true,
        });
        const next = afterFailure(locked, new Date(), CODE_LOCKOUT);
        Object.assign(locked, next);
        await em.flush();
        return next.failureCount;
      });
    }
    await this.audit.write({
      type: 'mfa.failed',
      actorUserId: user.id,
      targetUserId: user.id,
      client,
      details: { reason, ...(failureCount !== null && { failureCount }) },
    });
    await this.addressFailures.failed(client.ip, user.login);
    return null;
  }
}
