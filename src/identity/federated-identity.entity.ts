import { randomUUID } from 'node:crypto';
import { type Opt, type Rel } from '@mikro-orm/core';
import { Entity, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/decorators/legacy';
import { User } from './user.entity.js';

/** An organisation the person acts for at the provider (ЕСИА `/rs/prns/{oid}/roles`). */
export interface IdentityOrganization {
  oid: string;
  name: string;
  ogrn?: string;
  chief?: boolean;
  admin?: boolean;
}

/** A person as a provider vouched for them (see VerifiedIdentity). */
export interface VerifiedIdentityData {
  provider: string;
  issuer: string;
  subject: string;
  claims: IdentityClaimsSnapshot;
  /** With offline access: the provider's refresh token, already sealed for (issuer, subject). */
  sealedRefreshToken?: string;
  /** Extra data the provider failed to give this time: what was kept before stays. */
  unread?: readonly ('contacts' | 'organizations')[];
}

/** The context a provider token of this identity is sealed for (PersonalDataKey.seal). */
export const sealContext = (identity: { issuer: string; subject: string }) =>
  `provider-refresh-token\n${identity.issuer}\n${identity.subject}`;

/** Non-secret claims kept for display and audit; never used to match a person. */
export interface IdentityClaimsSnapshot {
  lastName?: string;
  firstName?: string;
  middleName?: string;
  trusted?: boolean;
  /** Only contacts the provider marks verified (ЕСИА `vrfStu: VERIFIED`); others are never kept. */
  email?: string;
  mobile?: string;
  organizations?: IdentityOrganization[];
  /** HMAC-SHA256 of the SNILS under the server key (PersonalDataKey); the number itself is never kept. */
  snilsDigest?: string;
  /** When the provider's data was read (ISO 8601). */
  readAt?: string;
}

/**
 * A person's identity at an external provider, keyed by (issuer, subject) only. A link is made
 * by an explicit authenticated action or an accepted invitation, never by matching e-mail,
 * phone or SNILS.
 */
@Entity({ tableName: 'federated_identities' })
@Unique({ name: 'federated_identities_issuer_subject_unique', properties: ['issuer', 'subject'] })
@Unique({ name: 'federated_identities_user_provider_unique', properties: ['user', 'provider'] })
export class FederatedIdentity {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => User, deleteRule: 'cascade' })
  user!: Rel<User>;

  @Property({ type: 'string', length: 32 })
  provider!: string;

  @Property({ type: 'text' })
  issuer!: string;

  @Property({ type: 'text' })
  subject!: string;

  @Property({ type: 'json' })
  claims: IdentityClaimsSnapshot & Opt = {};

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  linkedAt: Date & Opt = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  lastLoginAt: Date | null = null;

  /**
   * The provider's refresh token, sealed (PersonalDataKey, bound to issuer and subject): kept only
   * when offline access is configured, to re-read the person's data without a new login.
   */
  @Property({ type: 'text', nullable: true, hidden: true })
  refreshTokenSealed: string | null = null;

  constructor(user: User, provider: string, issuer: string, subject: string) {
    this.user = user;
    this.provider = provider;
    this.issuer = issuer;
    this.subject = subject;
  }

  /** The identity a provider vouched for, bound to `user`. */
  static of(user: User, identity: VerifiedIdentityData): FederatedIdentity {
    const created = new FederatedIdentity(
      user,
      identity.provider,
      identity.issuer,
      identity.subject,
    );
    created.refreshFrom(identity);
    return created;
  }

  /** What the provider said this time: the snapshot, and a new refresh token when it gave one. */
  refreshFrom(
    identity: Pick<VerifiedIdentityData, 'claims' | 'sealedRefreshToken' | 'unread'>,
  ): void {
    const before = this.claims;
    const unread = identity.unread ?? [];
    this.claims = {
      ...identity.claims,
      ...(unread.includes('contacts') && { email: before.email, mobile: before.mobile }),
      ...(unread.includes('organizations') && { organizations: before.organizations }),
    };
    // A transient failure must not turn what was kept into «the person has none».
    for (const key of ['email', 'mobile', 'organizations'] as const)
      if (this.claims[key] === undefined) delete this.claims[key];
    if (identity.sealedRefreshToken) this.refreshTokenSealed = identity.sealedRefreshToken;
  }
}
