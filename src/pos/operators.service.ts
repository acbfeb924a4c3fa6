import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { randomBytes, randomInt } from 'node:crypto';
import { checkPassword, SPECIAL_CHARACTERS } from '../accounts/password-policy.js';
import { AuditService } from '../audit/audit.service.js';
import { ValidationFailedError } from '../common/errors.js';
import { normalizeLogin } from '../identity/normalize.js';
import { PasswordCredential } from '../identity/password-credential.entity.js';
import { PasswordHasher } from '../identity/password-hasher.service.js';
import { User } from '../identity/user.entity.js';
import { PosErrors } from './pos.texts.js';

/** A password that meets the regional policy: 20 characters of randomness plus one of each class. */
export function generatePassword(): string {
  const pick = (alphabet: string) => alphabet[randomInt(alphabet.length)];
  return (
    randomBytes(15).toString('base64url') +
    pick('ABCDEFGHJKLMNPQRSTUVWXYZ') +
    pick('abcdefghijkmnopqrstuvwxyz') +
    pick('23456789') +
    pick(SPECIAL_CHARACTERS)
  );
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

  /** Creates the operator, or grants the flag and sets the password of an existing account. */
  async createOrReset(
    loginInput: string,
    password: string,
    options: { promote?: boolean } = {},
  ): Promise<{ user: User; created: boolean }> {
    const login = normalizeLogin(loginInput);
    const violations = checkPassword(password, { login });
    if (violations.length > 0) throw new ValidationFailedError({ password: violations });
    const hash = await this.hasher.hash(password);
    return this.em.transactional(async (em) => {
      const existing = await em.findOne(User, { login });
      // An ordinary account becomes an operator only when that is asked for in so many words.
      if (existing && !existing.isPlatformOperator && !options.promote)
        throw PosErrors.notAnOperator(login);
      const operator = existing ?? new User(login);
      if (!existing) em.persist(operator);
      operator.isPlatformOperator = true;
      // A reset password ends whatever sessions the account had.
      operator.sessionsValidAfter = new Date();
      const credential = existing ? await em.findOne(PasswordCredential, { user: operator }) : null;
      if (credential) {
        credential.hash = hash;
        credential.changedAt = new Date();
        Object.assign(credential, { failureCount: 0, lastFailureAt: null, lockedUntil: null });
      } else {
        em.persist(new PasswordCredential(operator, hash));
      }
      this.audit.record(
        {
          type: 'pos.operator.created',
          targetUserId: operator.id,
          details: { login, created: !existing, via: 'cli' },
        },
        em,
      );
      await em.flush();
      return { user: operator, created: !existing };
    });
  }
}
