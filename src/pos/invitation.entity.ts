import { randomUUID } from 'node:crypto';
import { type Opt, type Rel } from '@mikro-orm/core';
import { Entity, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Membership } from './membership.entity.js';

/** An invitation link. Only the SHA-256 of its token is stored; single use; expires. */
@Entity({ tableName: 'pos_invitations' })
@Index({ name: 'pos_invitations_membership_idx', properties: ['membership', 'createdAt'] })
export class Invitation {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => Membership, deleteRule: 'cascade' })
  membership!: Rel<Membership>;

  @Property({
    type: 'string',
    length: 64,
    unique: 'pos_invitations_token_hash_unique',
    hidden: true,
  })
  tokenHash!: string;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  expiresAt!: Date;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  acceptedAt: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  revokedAt: Date | null = null;

  @Property({ type: 'string', length: 32, nullable: true })
  revokedReason: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date & Opt = new Date();

  isUsable(now: Date): boolean {
    return this.acceptedAt === null && this.revokedAt === null && now < this.expiresAt;
  }
}
