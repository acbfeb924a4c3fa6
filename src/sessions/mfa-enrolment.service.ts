import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { MfaCredential } from '../identity/mfa-credential.entity.js';
import { MfaRecoveryCode } from '../identity/mfa-recovery-code.entity.js';
import { PersonalDataKey } from '../identity/personal-data-key.service.js';
import {
  newRecoveryCode,
  newTotpSecret,
  normalizeCode,
  RECOVERY_CODE_COUNT,
  recoveryCodeHash,
  totpMatchingStep,
  totpUri,
} from '../identity/totp.js';
import { type User } from '../identity/user.entity.js';
import { afterFailure } from './lockout.js';
import { CODE_LOCKOUT } from './second-factor-rules.js';
import { SecondFactorErrors } from './second-factor.texts.js';
import { SecondFactors, totpSealContext } from './second-factors.service.js';

export interface TotpEnrolment {
  /** Base32, for typing into the app by hand. */
  secret: string;
  otpauthUri: string;
  /** The QR code of `otpauthUri` as an SVG data URL (an <img>, no script: CSP-friendly). */
  qrCode: string;
}

export interface SecondFactorStatus {
  enrolled: boolean;
  enrolledAt: Date | null;
  recoveryCodesLeft: number;
}

/**
 * Enrolling a TOTP factor: a secret made and sealed (an unconfirmed factor, shown until the app
 * proves it has it with a current code), then confirmed, with ten recovery codes shown once and
 * kept hashed. Removal is the caller's after it checked the password and a code.
 */
@Injectable()
export class MfaEnrolment {
  constructor(
    private readonly em: EntityManager,
    private readonly key: PersonalDataKey,
    private readonly factors: SecondFactors,
    private readonly audit: AuditService,
  ) {}

  async status(userId: string): Promise<SecondFactorStatus> {
    const credential = await this.factors.enrolled(userId);
    const recoveryCodesLeft = credential
      ? await this.em.count(MfaRecoveryCode, { user: userId, usedAt: null })
      : 0;
    return {
      enrolled: credential !== null,
      enrolledAt: credential?.confirmedAt ?? null,
      recoveryCodesLeft,
    };
  }

  /** The pending secret (made now, or the one already shown, so a reload shows the same QR code). */
  async begin(user: User): Promise<TotpEnrolment> {
    let credential = await this.em.findOne(
      MfaCredential,
      { user: user.id, kind: 'totp' },
      { refresh: true },
    );
    if (credential?.confirmedAt) throw SecondFactorErrors.alreadyEnrolled();
    if (!this.key.available) throw SecondFactorErrors.keyMissing();
    if (!credential) {
      credential = new MfaCredential(user, '');
      credential.sealedSecret = this.key.seal(newTotpSecret(), totpSealContext(credential.id));
      // Two tabs starting at once: the unique (user, kind) keeps one, which both then show.
      await this.em.upsert(MfaCredential, credential, {
        onConflictFields: ['user', 'kind'],
        onConflictAction: 'ignore',
      });
      credential = await this.em.findOneOrFail(
        MfaCredential,
        { user: user.id, kind: 'totp' },
        { refresh: true },
      );
    }
    const secret = this.factors.secretOf(credential);
    const otpauthUri = totpUri(secret, user.login);
    // Loaded on the first enrolment: most requests of an instance never draw a QR code.
    const { default: QRCode } = await import('qrcode');
    const qrCode = `data:image/svg+xml;base64,${Buffer.from(
      await QRCode.toString(otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
    ).toString('base64')}`;
    return { secret, otpauthUri, qrCode };
  }

  /**
   * Confirms the pending factor with a current code: the ten recovery codes (shown once), or null
   * for a wrong code (counted on the factor like a login's).
   */
  async confirm(user: User, input: string, client: ClientInfo): Promise<string[] | null> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    const result = await this.em.transactional(async (em) => {
      const credential = await em.findOne(
        MfaCredential,
        { user: user.id, kind: 'totp' },
        { refresh: true, lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (!credential) throw SecondFactorErrors.enrolmentNotStarted();
      if (credential.confirmedAt) throw SecondFactorErrors.alreadyEnrolled();
      const now = new Date();
      const step = totpMatchingStep(
        this.factors.secretOf(credential),
        normalizeCode(input),
        now.getTime(),
      );
      if (step === null) {
        Object.assign(credential, afterFailure(credential, now, CODE_LOCKOUT));
        return 'wrong' as const;
      }
      Object.assign(credential, {
        confirmedAt: now,
        lastUsedStep: step,
        failureCount: 0,
        lastFailureAt: null,
        lockedUntil: null,
      });
      await em.nativeDelete(MfaRecoveryCode, { user: user.id });
      for (const code of codes) em.persist(new MfaRecoveryCode(user, recoveryCodeHash(code)));
      this.audit.record(
        { type: 'mfa.totp.enrolled', actorUserId: user.id, targetUserId: user.id, client },
        em,
      );
      return 'confirmed' as const;
    });
    if (result === 'confirmed') return codes;
    await this.audit.write({
      type: 'mfa.failed',
      actorUserId: user.id,
      targetUserId: user.id,
      client,
      details: { reason: 'wrong_enrolment_code' },
    });
    return null;
  }

  /** Removes the factor and its recovery codes (the caller checked the password and a code). */
  async remove(user: User, client: ClientInfo): Promise<void> {
    await this.em.transactional(async (em) => {
      const removed = await em.nativeDelete(MfaCredential, { user: user.id, kind: 'totp' });
      if (removed === 0) throw SecondFactorErrors.notEnrolled();
      await em.nativeDelete(MfaRecoveryCode, { user: user.id });
      this.audit.record(
        { type: 'mfa.totp.removed', actorUserId: user.id, targetUserId: user.id, client },
        em,
      );
    });
  }
}
