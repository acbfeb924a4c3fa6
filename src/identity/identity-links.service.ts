import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { HttpStatus, Injectable } from '@nestjs/common';
import { DomainError } from '../common/errors.js';
import { FederatedIdentity, type VerifiedIdentityData } from './federated-identity.entity.js';
import { PasswordCredential } from './password-credential.entity.js';
import { type User } from './user.entity.js';

/** A person as an identity provider vouched for them, after every protocol check passed. */
export type VerifiedIdentity = VerifiedIdentityData;

export const LinkErrors = {
  linkedElsewhere: () =>
    new DomainError(
      HttpStatus.CONFLICT,
      'identity_linked_elsewhere',
      'Этот профиль Госуслуг уже привязан к другой учётной записи',
    ),
  alreadyLinked: () =>
    new DomainError(
      HttpStatus.CONFLICT,
      'already_linked',
      'К учётной записи уже привязан другой профиль Госуслуг',
    ),
  lastLoginMethod: () =>
    new DomainError(
      HttpStatus.CONFLICT,
      'last_login_method',
      'Нельзя отвязать Госуслуги: это единственный способ входа. Сначала задайте пароль.',
    ),
  notLinked: () =>
    new DomainError(HttpStatus.NOT_FOUND, 'not_linked', 'Профиль Госуслуг не привязан'),
};

/**
 * The rules of federated identities: keyed by (issuer, subject) only, at most one per provider
 * per user, never matched by e-mail, phone or SNILS. Uniqueness is the database's.
 */
@Injectable()
export class IdentityLinks {
  /** The linked identity with its user, or null. The only way an external identity finds an account. */
  async find(
    em: EntityManager,
    issuer: string,
    subject: string,
  ): Promise<FederatedIdentity | null> {
    return em.findOne(FederatedIdentity, { issuer, subject }, { populate: ['user'] });
  }

  /** Refuses early (before asking the person to confirm) what link() would refuse. */
  async assertLinkable(em: EntityManager, user: User, identity: VerifiedIdentity): Promise<void> {
    const existing = await em.findOne(FederatedIdentity, {
      issuer: identity.issuer,
      subject: identity.subject,
    });
    if (existing && existing.user.id !== user.id) throw LinkErrors.linkedElsewhere();
    if (!existing && (await em.count(FederatedIdentity, { user, provider: identity.provider })) > 0)
      throw LinkErrors.alreadyLinked();
  }

  /**
   * Links inside the caller's transaction. Linking the same identity to the same user again is a
   * no-op that refreshes the snapshot. Concurrent links of one identity end in one row and a 409.
   */
  async link(
    em: EntityManager,
    user: User,
    identity: VerifiedIdentity,
  ): Promise<FederatedIdentity> {
    const existing = await em.findOne(FederatedIdentity, {
      issuer: identity.issuer,
      subject: identity.subject,
    });
    if (existing) {
      if (existing.user.id !== user.id) throw LinkErrors.linkedElsewhere();
      existing.refreshFrom(identity);
      return existing;
    }
    if ((await em.count(FederatedIdentity, { user, provider: identity.provider })) > 0)
      throw LinkErrors.alreadyLinked();
    const created = FederatedIdentity.of(user, identity);
    em.persist(created);
    try {
      await em.flush();
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        const constraint = String((error as { constraint?: string }).constraint ?? error.message);
        throw constraint.includes('issuer_subject')
          ? LinkErrors.linkedElsewhere()
          : LinkErrors.alreadyLinked();
      }
      throw error;
    }
    return created;
  }

  /** Refuses to remove the last way to log in. */
  async unlink(em: EntityManager, user: User, provider: string): Promise<FederatedIdentity> {
    const identity = await em.findOne(FederatedIdentity, { user, provider });
    if (!identity) throw LinkErrors.notLinked();
    const otherIdentities = await em.count(FederatedIdentity, {
      user,
      provider: { $ne: provider },
    });
    const hasPassword = (await em.count(PasswordCredential, { user })) > 0;
    if (!hasPassword && otherIdentities === 0) throw LinkErrors.lastLoginMethod();
    em.remove(identity);
    return identity;
  }
}
