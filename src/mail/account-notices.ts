import { type EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { type ClientInfo } from '../common/client-info.js';
import { AppConfig } from '../config/app-config.js';
import { type User } from '../identity/user.entity.js';
import { MailOutbox } from './mail.outbox.js';
import { MailTemplates } from './mail-templates.js';
import { mailTime } from './mail-time.js';

/** A change to how the account logs in, each with its template under src/mail/templates. */
export type AccountChange =
  | { kind: 'password-changed' }
  | { kind: 'gosuslugi-linked'; name: string | null }
  | { kind: 'gosuslugi-unlinked' }
  /** The platform operator removed the second factor (the owner lost it). */
  | { kind: 'mfa-reset' }
  /** Wrong passwords locked one address out (`address`) or slowed every address (`account`). */
  | { kind: 'login-locked'; scope: 'address' | 'account'; until: string };

/**
 * Tells the person of a change to how their account logs in (ASVS 6.3.7): a message to the
 * verified address, written into the outbox inside the transaction of the change, so it goes out
 * exactly when the change committed. A pending address is not the person's until verified and
 * gets nothing. The message says what changed, when and from which address, and how to take the
 * account back («Забыли пароль?») — it never carries a link that does anything by itself.
 */
@Injectable()
export class AccountNotices {
  constructor(
    private readonly outbox: MailOutbox,
    private readonly templates: MailTemplates,
    private readonly config: AppConfig,
  ) {}

  /**
   * `user` should be the row as it is inside the transaction (locked or just read), so the
   * notice goes to the address verified when the change commits. Returns whether one was queued.
   */
  async tell(
    em: EntityManager,
    user: User,
    change: AccountChange,
    client: ClientInfo,
    at = new Date(),
  ): Promise<boolean> {
    if (!user.email) return false;
    await this.outbox.enqueue(
      em,
      user.email,
      this.templates.render(`${change.kind}-notice`, {
        ...change,
        login: user.login,
        when: mailTime(at),
        ip: client.ip,
        recoveryUrl: `${this.config.publicUrl}/forgot-password`,
      }),
    );
    return true;
  }
}
