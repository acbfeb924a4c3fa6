import { type Opt, type Rel } from '@mikro-orm/core';
import { Entity, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { PasswordCredential } from '../identity/password-credential.entity.js';

/**
 * Failed password checks of one account from one address (`lockoutAddressOf`). The hard lock lives
 * here, per pair, so guesses from an attacker's addresses do not lock the owner out of theirs; the
 * account-wide counters on `password_credentials` only slow every address down.
 */
@Entity({ tableName: 'login_failures' })
export class LoginFailure {
  @ManyToOne({ entity: () => PasswordCredential, primary: true, deleteRule: 'cascade' })
  credential!: Rel<PasswordCredential>;

  /** The client IPv4 address, the /64 of an IPv6 one, or '' when unknown. */
  @PrimaryKey({ type: 'text' })
  address!: string;

  @Property({ type: 'integer' })
  failureCount: number & Opt = 0;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  lastFailureAt: Date | null = null;

  /** No login of this account from this address is accepted before this instant. */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  lockedUntil: Date | null = null;

  constructor(credential: PasswordCredential, address: string) {
    this.credential = credential;
    this.address = address;
  }
}
