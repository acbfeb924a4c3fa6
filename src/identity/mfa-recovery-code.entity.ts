import { randomUUID } from 'node:crypto';
import { type Opt, type Rel } from '@mikro-orm/core';
import { Entity, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { User } from './user.entity.js';

/**
 * A single-use recovery code, kept as the SHA-256 of the code (60 random bits: a fast hash is
 * enough, nothing to guess offline). Ten are made at enrolment and shown once.
 */
@Entity({ tableName: 'mfa_recovery_codes' })
@Index({ name: 'mfa_recovery_codes_user_idx', properties: ['user'] })
export class MfaRecoveryCode {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => User, deleteRule: 'cascade' })
  user!: Rel<User>;

  @Property({ type: 'string', length: 64, hidden: true })
  codeHash!: string;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  usedAt: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date & Opt = new Date();

  constructor(user: User, codeHash: string) {
    this.user = user;
    this.codeHash = codeHash;
  }
}
