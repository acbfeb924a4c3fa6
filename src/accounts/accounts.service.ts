import { EntityManager } from '@mikro-orm/postgresql';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { Errors, ValidationFailedError, type FieldErrors } from '../common/errors.js';
import { FederatedIdentity } from '../identity/federated-identity.entity.js';
import { normalizeEmail, normalizeLogin } from '../identity/normalize.js';
import { PasswordCredential } from '../identity/password-credential.entity.js';
import { PasswordHasher } from '../identity/password-hasher.service.js';
import { User } from '../identity/user.entity.js';
import { AccountNotices } from '../mail/account-notices.js';
import { PasswordChecks } from '../sessions/password-checks.service.js';
import { type Session } from '../sessions/session.entity.js';
import { emailChangeRefusal, recentlyAuthenticated } from '../sessions/session-rules.js';
import { SessionService } from '../sessions/session.service.js';
import { type ChangePasswordDto } from './dto/change-password.dto.js';
import { ProfileResponse } from './dto/profile.response.js';
import { type RegisterAccountDto } from './dto/register-account.dto.js';
import { type UpdateProfileDto } from './dto/update-profile.dto.js';
import { EmailVerification } from './email-verification.service.js';
import { AccountTokenPurpose } from './account-token.entity.js';
import { PasswordContexts } from './password-context.js';
import { checkPassword } from './password-policy.js';
import { lockSessionAccount } from '../sessions/session-lock.js';

@Injectable()
export class AccountsService {
  constructor(
    private readonly em: EntityManager,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly passwordChecks: PasswordChecks,
    private readonly audit: AuditService,
    private readonly verification: EmailVerification,
    private readonly notices: AccountNotices,
    private readonly contexts: PasswordContexts,
  ) {}

  /** The policy again, with the login: the one check every path that sets a password passes. */
  private assertPolicy(field: string, password: string, login: string): void {
    const violations = checkPassword(password, { login });
    if (violations.length > 0) throw new ValidationFailedError({ [field]: violations });
  }

  async register(dto: RegisterAccountDto, client: ClientInfo): Promise<ProfileResponse> {
    const login = normalizeLogin(dto.login);
    this.assertPolicy('password', dto.password, login);
    const hash = await this.hasher.hash(dto.password);
    try {
      const user = await this.em.transactional(async (em) => {
        const created = em.create(User, {
          login,
          // Unverified until the person follows the verification link: never trusted before that.
          pendingEmail: dto.email ? normalizeEmail(dto.email) : null,
          phone: dto.phone ?? null,
        });
        em.persist(new PasswordCredential(created, hash));
        await this.verification.issue(em, created, client);
        this.audit.recordOwn(created.id, { type: 'account.registered', client }, em);
        await em.flush();
        return created;
      });
      return ProfileResponse.of(user, []);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw Errors.loginTaken();
      throw error;
    }
  }

  async profile(user: User): Promise<ProfileResponse> {
    const identities = await this.em.find(
      FederatedIdentity,
      { user },
      { orderBy: { linkedAt: 'asc' } },
    );
    return ProfileResponse.of(user, identities);
  }

  /** Whether the account can log in with a password at all (invited accounts may not). */
  async hasPassword(user: User): Promise<boolean> {
    return (await this.em.count(PasswordCredential, { user })) > 0;
  }

  /**
   * Phone and e-mail. A new address stays pending until verified. Any new address, first or
   * replacing, removing a verified one, and the phone need a recently entered password (or
   * Госуслуги login; for the e-mail only one that counts, emailChangeRefusal), and a verified
   * address's owner is told: a stolen session must not be able to give recovery a mailbox of its
   * own, quietly or not. `email: null` cancels a pending address first; only when none is pending
   * does it remove the verified one.
   */
  async updateProfile(
    user: User,
    dto: UpdateProfileDto,
    client: ClientInfo,
    session?: Session,
  ): Promise<ProfileResponse> {
    const updated = await this.em.transactional(async (em) => {
      const locked = await lockSessionAccount(em, user.id, session);
      const recent = () => {
        if (session && !recentlyAuthenticated(session)) {
          throw Errors.reauthenticationRequired();
        }
      };
      // Moving recovery away from the verified address: not on the word of an older Госуслуги link.
      const mayMoveEmail = async () => {
        if (!session) return;
        const identities = await em.find(FederatedIdentity, { user: locked });
        const refusal = emailChangeRefusal(session, locked, identities);
        if (refusal === 'reauthentication_required') throw Errors.reauthenticationRequired();
        if (refusal === 'password_required') throw Errors.passwordRequired();
      };
      const changed: string[] = [];
      if (dto.email !== undefined) {
        const email = dto.email === null ? null : normalizeEmail(dto.email);
        if (email === null) {
          if (locked.pendingEmail !== null) {
            locked.pendingEmail = null;
            await this.verification.supersede(em, locked, AccountTokenPurpose.VerifyEmail);
            changed.push('pendingEmail');
          } else if (locked.email !== null) {
            await mayMoveEmail();
            await this.verification.tellRemoved(em, locked);
            locked.email = null;
            locked.emailVerifiedAt = null;
            changed.push('email');
          }
        } else if (email === locked.email) {
          // Back to the verified address: the pending change is dropped.
          if (locked.pendingEmail !== null) {
            locked.pendingEmail = null;
            await this.verification.supersede(em, locked, AccountTokenPurpose.VerifyEmail);
            changed.push('pendingEmail');
          }
        } else if (email !== locked.pendingEmail) {
          // A first address too: once verified it receives recovery links (ASVS 7.5.1).
          await mayMoveEmail();
          // The verified address (if any) stays until the new one is verified.
          locked.pendingEmail = email;
          await this.verification.issue(em, locked, client);
          changed.push('pendingEmail');
        }
      }
      if (dto.phone !== undefined && dto.phone !== locked.phone) {
        recent();
        locked.phone = dto.phone;
        changed.push('phone');
      }
      if (changed.length > 0) {
        this.audit.recordOwn(
          locked.id,
          { type: 'profile.changed', client, details: { fields: changed } },
          em,
        );
      }
      await em.flush();
      return locked;
    });
    Object.assign(user, {
      email: updated.email,
      pendingEmail: updated.pendingEmail,
      phone: updated.phone,
    });
    return this.profile(user);
  }

  private async newPasswordErrors(user: User, dto: ChangePasswordDto): Promise<FieldErrors> {
    const errors: FieldErrors = {};
    const violations = checkPassword(dto.newPassword, await this.contexts.of(user));
    if (violations.length > 0) errors.newPassword = violations;
    if (dto.newPassword !== dto.newPasswordRepeat) {
      errors.newPasswordRepeat = [{ code: 'mismatch', message: 'Пароли не совпадают' }];
    }
    return errors;
  }

  /**
   * The first password of an account that has none (one made by accepting an invitation through
   * Госуслуги): no current password to ask for, so a recent login stands in for it, as for every
   * change to how the account logs in. Afterwards Госуслуги may be unlinked. The verified address
   * is told.
   */
  private async setFirstPassword(
    user: User,
    current: Session,
    dto: ChangePasswordDto,
    client: ClientInfo,
  ): Promise<void> {
    const errors = await this.newPasswordErrors(user, dto);
    if (Object.keys(errors).length > 0) throw new ValidationFailedError(errors);
    if (!recentlyAuthenticated(current)) throw Errors.reauthenticationRequired();
    const hash = await this.hasher.hash(dto.newPassword);
    await this.em.transactional(async (em) => {
      const account = await lockSessionAccount(em, user.id, current);
      // A password set meanwhile (another tab) is not replaced without the current one.
      if (await em.count(PasswordCredential, { user: account }))
        throw Errors.passwordChangedConcurrently();
      em.persist(new PasswordCredential(account, hash));
      await this.notices.tell(em, account, { kind: 'password-changed' }, client);
      this.audit.recordOwn(user.id, { type: 'password.set', client }, em);
      await em.flush();
    });
  }

  /**
   * Requires the current password (a wrong one counts toward lockout like a failed login), applies
   * the policy with the login, and ends every other session of the account; the current one
   * stays. The verified address is told (ASVS 6.3.7). Every field problem comes back in one 422.
   */
  async changePassword(
    user: User,
    current: Session,
    dto: ChangePasswordDto,
    client: ClientInfo,
  ): Promise<void> {
    if (!(await this.hasPassword(user))) return this.setFirstPassword(user, current, dto, client);
    const errors = await this.newPasswordErrors(user, dto);
    const verified = await this.passwordChecks.verifyCurrentPassword(
      user,
      dto.currentPassword ?? '',
      client,
      'password.change_failed',
    );
    if (!verified) {
      errors.currentPassword = [
        { code: 'invalid_current_password', message: 'Неверный текущий пароль' },
      ];
    }
    if (!verified || Object.keys(errors).length > 0) throw new ValidationFailedError(errors);
    if (await this.hasher.verify(verified.verifiedHash, dto.newPassword)) {
      throw new ValidationFailedError({
        newPassword: [{ code: 'same_as_current', message: 'Новый пароль совпадает с текущим' }],
      });
    }
    const hash = await this.hasher.hash(dto.newPassword);
    await this.em.transactional(async (em) => {
      // Another change that won the race is refused, not overwritten.
      const locked = await this.passwordChecks.lockVerified(
        em,
        verified.credential.id,
        verified.verifiedHash,
        dto.currentPassword ?? '',
      );
      if (!locked) throw Errors.passwordChangedConcurrently();
      const { credential } = locked;
      const now = new Date();
      credential.hash = hash;
      credential.changedAt = now;
      const ended = await this.sessions.revokeOthers(em, user, current.id, 'password_changed');
      // The address as it is now, not as the request began. Read, not locked: a login or a
      // re-authentication holds the credential and then needs the account row for its session's
      // foreign key, so locking the account here, after or before the credential, could deadlock.
      const account = await em.findOneOrFail(User, user.id, { refresh: true });
      await this.notices.tell(em, account, { kind: 'password-changed' }, client, now);
      this.audit.recordOwn(
        user.id,
        { type: 'password.changed', client, details: { endedSessions: ended } },
        em,
      );
      await em.flush();
    });
  }
}
