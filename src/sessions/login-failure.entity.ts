import { type Rel } from '@mikro-orm/core';
import { Entity, ManyToOne, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { PasswordCredential } from '../identity/password-credential.entity.js';
import { LockoutCounters } from '../identity/lockout-counters.js';

/**
 * Failed password checks of one account from one address (`lockoutAddressOf`). The hard lock lives
 * here, per pair, so guesses from an attacker's addresses do not lock the owner out of theirs; the
 * account-wide counters on `password_credentials` only slow every address down. While locked, no
 * login of this account from this address is accepted.
 */
@Entity({ tableName: 'login_failures' })
export class LoginFailure extends LockoutCounters {
  @ManyToOne({ entity: () => PasswordCredential, primary: true, deleteRule: 'cascade' })
  credential!: Rel<PasswordCredential>;

  /** The client IPv4 address, the /64 of an IPv6 one, or '' when unknown. */
  @PrimaryKey({ type: 'text' })
  address!: string;

  constructor(credential: PasswordCredential, address: string) {
    super();
    this.credential = credential;
    this.address = address;
  }
}
