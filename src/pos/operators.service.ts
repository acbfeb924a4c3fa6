import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { randomBytes, randomInt } from 'node:crypto';
import { checkPassword, SPECIAL_CHARACTERS } from '../accounts/password-policy.js';
import { AuditService } from '../audit/audit.service.js';
import { ValidationFailedError } from '../common/errors.js';
import { normalizeLogin } from '../identity/normalize.js';
import { LoginFailure } from '../sessions/login-failure.entity.js';
import { PasswordCredential } from '../identity/password-credential.entity.js';
import { PasswordHasher } from '../identity/password-hasher.service.js';
import { User } from '../identity/user.entity.js';
import { AccountToken } from '../accounts/account-token.entity.js';
import { lockAccountWhere } from '../identity/account-lock.js';
import { FederatedIdentity } from '../identity/federated-identity.entity.js';
import { Session } from '../sessions/session.entity.js';
import { PosErrors } from './pos.texts.js';

/** A password that meets the regional policy: 20 characters of randomness plus one of each class. */
export function generatePassword(): string {
  const pick = (alphabet: string) => alphabet[randomInt(alphabet.length)];
  for (;;) {
    const password =
      randomBytes(15).toString('base64url') +
      pick('ABCDEFGHJKLMNPQRSTUVWXYZ') +
      pick('abcdefghijkmnopqrstuvwxyz') +
      pick('23456789') +
      pick(SPECIAL_CHARACTERS);
    // Random letters spell a context word («epos», «krai») about once in 10,000: draw again.
    if (checkPassword(password).length === 0) return password;
  }
}

/**
 * Platform operators (command line only): a local account with the operator flag. The password
 * goes through the same policy as everywhere; sessions end when it is reset.
 */
@Injectable()
export class OperatorsService {
  constructor(
    private readonly em: EntityManager,
    private readonly hasher: PasswordHasher,
    private readonly audit: AuditService,
  ) {}

  /**
   * Creates the operator, or grants the flag and sets the password of an existing account. An
   * ordinary account is promoted only with `promote`, and only if nothing in it could belong to
   * someone else: a login registered in advance by an attacker would otherwise bring along their
   * Госуслуги link, their unverified address or the password they just set. `resetCredentials`
   * removes all of that first (identities, password, e-mail, sessions, pending links) and says
   * what it removed.
   */
  async createOrReset(
    loginInput: string,
    password: string,
    options: { promote?: boolean; resetCredentials?: boolean } = {},
  ): Promise<{ user: User; created: boolean; removed: RemovedCredentials | null }> {
    const login = normalizeLogin(loginInput);
    const violations = checkPassword(password, { login });
    if (violations.length > 0) throw new ValidationFailedError({ password: violations });
    const hash = await this.hasher.hash(password);
    let refusal: string[] | null = null;
    try {
      return await this.em.transactional(async (em) => {
        const existing = await lockAccountWhere(em, 'login', login);
        // An ordinary account becomes an operator only when that is asked for in so many words.
        if (existing && !existing.isPlatformOperator && !options.promote)
          throw PosErrors.notAnOperator(login);
        let removed: RemovedCredentials | null = null;
        if (existing && !existing.isPlatformOperator) {
          if (options.resetCredentials) removed = await this.resetCredentials(em, existing);
          else {
            const reasons = await promotionRisks(em, existing);
            if (reasons.length > 0) {
              refusal = reasons;
              throw PosErrors.promotionRefused(login, reasons);
            }
          }
        }
        const operator = existing ?? new User(login);
        if (!existing) em.persist(operator);
        operator.isPlatformOperator = true;
        // A reset password ends whatever sessions the account had.
        operator.sessionsValidAfter = new Date();
        const credential = existing
          ? await em.findOne(PasswordCredential, { user: operator })
          : null;
        if (credential) {
          credential.hash = hash;
          credential.changedAt = new Date();
          Object.assign(credential, { failureCount: 0, lastFailureAt: null, lockedUntil: null });
          await em.nativeDelete(LoginFailure, { credential });
        } else {
          em.persist(new PasswordCredential(operator, hash));
        }
        this.audit.record(
          {
            type: 'pos.operator.created',
            targetUserId: operator.id,
            details: {
              login,
              created: !existing,
              promoted: Boolean(existing && !existing.isPlatformOperator) || undefined,
              removed: removed ?? undefined,
              via: 'cli',
            },
          },
          em,
        );
        await em.flush();
        return { user: operator, created: !existing, removed };
      });
    } catch (error) {
      if (!refusal) throw error;
      return this.audit.refuse(
        {
          type: 'pos.operator.promotion_refused',
          details: { login, reasons: refusal, via: 'cli' },
        },
        error,
      );
    }
  }

  /** Everything that lets someone into the account or takes it back, removed; the password follows. */
  private async resetCredentials(em: EntityManager, user: User): Promise<RemovedCredentials> {
    const identities = await em.find(FederatedIdentity, { user });
    for (const identity of identities) em.remove(identity);
    const credential = await em.findOne(PasswordCredential, { user });
    if (credential) em.remove(credential);
    const tokens = await em.nativeUpdate(
      AccountToken,
      { user, usedAt: null, revokedAt: null },
      { revokedAt: new Date() },
    );
    const removed: RemovedCredentials = {
      identities: identities.map((identity) => `${identity.provider} ${identity.subject}`),
      password: credential !== null,
      email: user.email,
      pendingEmail: user.pendingEmail,
      phone: user.phone,
      accountTokens: tokens,
      sessions: await em.count(Session, { user, revokedAt: null }),
    };
    Object.assign(user, { email: null, emailVerifiedAt: null, pendingEmail: null, phone: null });
    // The new password and sessionsValidAfter (below) end every session.
    await em.flush();
    return removed;
  }
}

/** What `--reset-credentials` took out of an account before promoting it. */
export interface RemovedCredentials {
  identities: string[];
  password: boolean;
  email: string | null;
  pendingEmail: string | null;
  phone: string | null;
  accountTokens: number;
  sessions: number;
}

/**
 * What in an ordinary account could have been put there by someone other than the operator: the
 * reasons an account is not made an operator as it is (here and on the operator's page).
 */
export async function promotionRisks(em: EntityManager, user: User): Promise<string[]> {
  const reasons: string[] = [];
  const identities = await em.count(FederatedIdentity, { user });
  if (identities > 0) reasons.push('linked_identity');
  if (user.email === null || user.pendingEmail !== null) reasons.push('unverified_email');
  const credential = await em.findOne(PasswordCredential, { user });
  if (credential && Date.now() - credential.changedAt.getTime() < RECENT_PASSWORD_MS)
    reasons.push('recent_password');
  return reasons;
}

/** A password set this recently may be an attacker's who registered the login in advance. */
const RECENT_PASSWORD_MS = 24 * 3_600_000;
