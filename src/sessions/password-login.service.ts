import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { Errors } from '../common/errors.js';
import { AppConfig } from '../config/app-config.js';
import { normalizeLogin } from '../identity/normalize.js';
import { PasswordHasher } from '../identity/password-hasher.service.js';
import { type User, UserStatus } from '../identity/user.entity.js';
import { LoginFailures } from '../throttling/credential-throttle.js';
import { CLEARED, lockoutAddressOf } from './lockout.js';
import { type ChallengePurpose } from './login-challenge.entity.js';
import { LoginChallenges } from './login-challenges.service.js';
import { LoginFailure } from './login-failure.entity.js';
import { type LoginOutcome } from './login-outcome.js';
import { LoginQueries } from './login-queries.service.js';
import { LoginSessions } from './login-sessions.service.js';
import { lockReasonAt, PasswordChecks } from './password-checks.service.js';
import { secondFactorStep } from './second-factor-rules.js';
import { STAFF_ROLES, type StaffRolesSource } from './staff-roles.js';
import { AuthMethod, type Session } from './session.entity.js';
import { recordUnknownLoginFailure } from './unknown-login.js';

/**
 * The password door of the API and the login page: a session opens here, or waits for a second
 * factor (SecondFactorLogin).
 */
@Injectable()
export class PasswordLogin {
  constructor(
    private readonly em: EntityManager,
    private readonly config: AppConfig,
    private readonly hasher: PasswordHasher,
    private readonly audit: AuditService,
    private readonly addressFailures: LoginFailures,
    private readonly challenges: LoginChallenges,
    private readonly queries: LoginQueries,
    private readonly checks: PasswordChecks,
    private readonly loginSessions: LoginSessions,
    @Optional() @Inject(STAFF_ROLES) private readonly staffRoles?: StaffRolesSource,
  ) {}

  /**
   * Password login. Every failure (unknown login, wrong password, locked or blocked account) costs
   * one argon2 verification and ends in the same error; the audit log tells them apart.
   */
  async login(
    loginInput: string,
    password: string,
    client: ClientInfo,
    previous: Session | null,
  ): Promise<LoginOutcome> {
    const login = normalizeLogin(loginInput);
    // PostgreSQL text holds no NUL, so no login has one; sent in a query it fails the statement.
    // Such a login is simply unknown.
    const address = lockoutAddressOf(client.ip);
    const found = login.includes('\u0000') ? null : await this.queries.findForLogin(login, address);
    if (!found) {
      // What a wrong password costs: one argon2 verification, the failure's transaction, the
      // address's count (threat 9 in SECURITY.md).
      await this.hasher.verifyDummy(password);
      await recordUnknownLoginFailure(this.em, this.audit, client, address);
      await this.addressFailures.failed(client.ip, login);
      throw Errors.invalidCredentials();
    }
    const { credential, pairLockedUntil, mfaEnrolled, claims } = found;
    const user = credential.user;
    const verifiedHash = credential.hash;
    const lockedAtStart = lockReasonAt(pairLockedUntil, credential, new Date());
    const valid = await this.hasher.verify(verifiedHash, password);

    if (lockedAtStart) {
      return this.refuse(client, login, lockedAtStart, user.id);
    }
    if (!valid) {
      await this.checks.recordFailure(
        credential.id,
        user.id,
        client,
        'login.failed',
        'wrong_password',
      );
      await this.addressFailures.failed(client.ip, login);
      throw Errors.invalidCredentials();
    }
    if (user.status !== UserStatus.Active) {
      return this.refuse(client, login, user.status, user.id);
    }

    const step = await this.secondFactorStepOf(user, mfaEnrolled);
    const rehash = this.hasher.needsRehash(verifiedHash) ? await this.hasher.hash(password) : null;
    if (!rehash && !previous && !step) {
      const opened = await this.queries.openPasswordSession(
        credential,
        verifiedHash,
        user,
        client,
        address,
      );
      if (opened) return { ...opened, claims };
      // The password row changed while argon2 ran (a change, a re-hash, a lockout): decided below.
    }
    const result = await this.em.transactional(async (em) => {
      const locked = await this.checks.lockVerified(em, credential.id, verifiedHash, password);
      if (!locked) return null;
      const { credential: current, unchanged } = locked;
      // A lockout may have begun while argon2 ran: failures are written under the row lock held
      // here, so this reads them all.
      if (await this.checks.lockReason(em, current, address)) return null;
      Object.assign(current, CLEARED);
      await em.nativeDelete(LoginFailure, { credential: current.id, address });
      if (rehash && unchanged) {
        current.hash = rehash;
        this.audit.recordOwn(user.id, { type: 'password.rehashed', client }, em);
      }
      if (step) {
        // The password is right; the session waits for the second factor (and a session the
        // browser already has ends only when a new one opens).
        const { challenge, token } = this.challenges.start(em, user, step, client);
        this.audit.recordOwn(
          user.id,
          { type: 'mfa.required', client, details: { purpose: step } },
          em,
        );
        await em.flush();
        return { secondFactor: { purpose: step, token, expiresAt: challenge.expiresAt } };
      }
      return this.loginSessions.open(em, { user, method: AuthMethod.Password, client, previous });
    });
    return result ?? this.refuse(client, login, 'credential_changed', user.id);
  }

  /** Whether (and how) this account must prove a second factor after its password. */
  private async secondFactorStepOf(
    user: User,
    enrolled: boolean,
  ): Promise<ChallengePurpose | null> {
    const { requiredForAdmins } = this.config.mfa;
    const administrator =
      !enrolled && !user.isPlatformOperator && requiredForAdmins && this.staffRoles
        ? await this.staffRoles.isAdministrator(user.id)
        : false;
    return secondFactorStep(
      { enrolled, operator: user.isPlatformOperator, administrator },
      { requiredForAdmins },
    );
  }

  /**
   * Every login failure: audited with its reason, answered with the one generic error, and
   * counted against the address (`LoginFailures`), unless the password was right and only
   * changed while argon2 ran.
   */
  private async refuse(
    client: ClientInfo,
    login: string,
    reason: string,
    userId?: string,
  ): Promise<never> {
    await this.audit.write({
      type: 'login.failed',
      targetUserId: userId ?? null,
      client,
      details: { reason },
    });
    if (reason !== 'credential_changed') await this.addressFailures.failed(client.ip, login);
    throw Errors.invalidCredentials();
  }
}
