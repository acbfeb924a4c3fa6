import { randomUUID } from 'node:crypto';
import { type Opt, type Rel } from '@mikro-orm/core';
import { Entity, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { User } from './user.entity.js';

/**
 * A passkey (WebAuthn credential) of an account, a second factor after the password: the
 * authenticator's credential id (unique across all accounts: one key cannot be two people's), its
 * public key (COSE, base64url; nothing secret is kept), and the signature counter it last
 * reported, which may only grow when the authenticator counts at all.
 */
@Entity({ tableName: 'passkeys' })
@Index({ name: 'passkeys_user_idx', properties: ['user'] })
export class Passkey {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => User, deleteRule: 'cascade' })
  user!: Rel<User>;

  /** base64url, as the browser reports it (up to 1023 bytes by the specification). */
  @Property({ type: 'string', length: 1400, unique: 'passkeys_credential_id_unique' })
  credentialId!: string;

  /** The COSE public key, base64url. */
  @Property({ type: 'text', hidden: true })
  publicKey!: string;

  @Property({ type: 'bigint' })
  counter: number & Opt = 0;

  @Property({ type: 'text[]' })
  transports: string[] & Opt = [];

  /** The person's own name for the key («Ноутбук», «YubiKey»). */
  @Property({ type: 'string', length: 64 })
  name!: string;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  lastUsedAt: Date | null = null;
}
