import { randomUUID } from 'node:crypto';
import { type Opt, type Rel } from '@mikro-orm/core';
import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { User } from '../identity/user.entity.js';

export enum AccountTokenPurpose {
  /** Proves the person reads `email`: 24 hours, bound to the account and that exact address. */
  VerifyEmail = 'verify_email',
  /** Sets a new password: 1 hour, sent only to the account's verified address. */
  Recovery = 'recovery',
}

/**
 * A single-use link token of an account. Only its SHA-256 is stored. A token is spent
 * (`usedAt`) or superseded (`revokedAt`: a newer link, a password reset, a changed address).
 */
@Entity({ tableName: 'account_tokens' })
@Index({ name: 'account_tokens_user_purpose_idx', properties: ['user', 'purpose', 'createdAt'] })
export class AccountToken {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => User, deleteRule: 'cascade' })
  user!: Rel<User>;

  @Enum({ items: () => AccountTokenPurpose, nativeEnumName: 'account_token_purpose' })
  purpose!: AccountTokenPurpose;

  @Property({
    type: 'string',
    length: 64,
    unique: 'account_tokens_token_hash_unique',
    hidden: true,
  })
  tokenHash!: string;

  /** The address the link was sent to (for verification: the address it verifies). */
  @Property({ type: 'string', length: 254 })
  email!: string;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  expiresAt!: Date;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  usedAt: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  revokedAt: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date & Opt = new Date();

  isUsable(now: Date): boolean {
    return this.usedAt === null && this.revokedAt === null && now < this.expiresAt;
  }
}
