import { Inject, Injectable, Optional } from '@nestjs/common';
import { type User } from '../identity/user.entity.js';
import { contextWordsOf } from './context-words.js';
import { type PasswordContext } from './password-policy.js';

/**
 * Context words another feature knows about a person (the ПОС: their organisations' names), without
 * the accounts feature depending on it.
 */
export interface PasswordContextWordsSource {
  wordsFor(user: User): Promise<string[]>;
}

export const PASSWORD_CONTEXT_WORDS = Symbol('PASSWORD_CONTEXT_WORDS');

/**
 * What a new password of this person is checked against besides the documented list (ASVS 6.2.11):
 * their login, the words of their ФИО and those other features supply, each transliterated.
 */
@Injectable()
export class PasswordContexts {
  constructor(
    @Optional()
    @Inject(PASSWORD_CONTEXT_WORDS)
    private readonly source?: PasswordContextWordsSource,
  ) {}

  async of(user: User): Promise<PasswordContext> {
    const names = [user.lastName, user.firstName, user.middleName].flatMap(contextWordsOf);
    const supplied = this.source ? await this.source.wordsFor(user) : [];
    return { login: user.login, words: [...new Set([...names, ...supplied])] };
  }
}
