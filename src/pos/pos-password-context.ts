import { Injectable } from '@nestjs/common';
import { contextWordsOf } from '../accounts/context-words.js';
import { type PasswordContextWordsSource } from '../accounts/password-context.js';
import { type User } from '../identity/user.entity.js';
import { PosAccess } from './pos-access.service.js';

/**
 * A password may not contain the names of the person's organisations, nor the ФИО their
 * administrator entered (ASVS 6.2.11): the words an attacker who knows the school tries first.
 */
@Injectable()
export class PosPasswordContext implements PasswordContextWordsSource {
  constructor(private readonly access: PosAccess) {}

  async wordsFor(user: User): Promise<string[]> {
    const memberships = await this.access.memberships(user);
    return memberships.flatMap((m) =>
      [m.organization.name, m.lastName, m.firstName, m.middleName].flatMap(contextWordsOf),
    );
  }
}
