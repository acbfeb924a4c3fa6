import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  checkPassword,
  commonPasswordCount,
  describePolicy,
  PASSWORD_RULES,
} from './password-policy.js';
import { CONTEXT_WORDS, contextWordsOf } from './context-words.js';

const codes = (password: string, login?: string) =>
  checkPassword(password, { login }).map((v) => v.code);

describe('password policy', () => {
  it('accepts the shortest password that meets every rule: Aa1!aaaa', () => {
    expect(codes('Aa1!aaaa')).toEqual([]);
  });

  it.each([
    ['too_short', 'Aa1!aaa'],
    ['no_special', 'Aa1aaaaa'],
    ['no_digit', 'Aa!aaaaa'],
    ['no_upper', 'aa1!aaaa'],
    ['no_lower', 'AA1!AAAA'],
    ['cyrillic', 'Aa1!aaaaж'],
    ['control_character', 'Aa1!aaaa\u0000'],
    ['context_word', 'Gosuslugi#2026'],
    ['common', 'Password1!'],
  ])('rejects on %s alone', (code, password) => {
    expect(codes(password)).toEqual([code]);
  });

  it('rejects a password containing the login, case-insensitively, and only with that code', () => {
    expect(codes('xIvanova1!', 'ivanova')).toEqual(['contains_login']);
    expect(codes('xIvanova1!', 'petrov')).toEqual([]);
  });

  it.each([
    ['at the start', 'ЖAa1!aaaa'],
    ['in the middle', 'Aa1!ёaaaa'],
    ['at the end', 'Aa1!aaaaЯ'],
    ['as a look-alike of a Latin letter (Cyrillic а)', 'Aa1!aaa\u0430'],
  ])('rejects a Cyrillic letter %s with code cyrillic', (_, password) => {
    expect(codes(password)).toContain('cyrillic');
  });

  it('rejects the documented context words and the personal ones, transliterated, from 4 characters', () => {
    expect(CONTEXT_WORDS).toEqual(
      expect.arrayContaining(['epos', 'gosuslugi', 'shkola', 'school']),
    );
    expect(codes('Xepos2026!')).toEqual(['context_word']);
    const words = ['Соловьёва', 'Юлия', 'МБОУ «СОШ № 12» им. Ли'].flatMap(contextWordsOf);
    expect(words).toEqual(
      expect.arrayContaining(['soloveva', 'solovyova', 'iuliia', 'yuliya', 'mbou']),
    );
    expect(words).not.toContain('12'); // a bare number is not a word
    expect(words).not.toContain('li'); // nor is anything shorter than 4 characters
    const withWords = (password: string) => checkPassword(password, { words }).map((v) => v.code);
    expect(withWords('Solovyova#2026')).toEqual(['context_word']);
    expect(withWords('YULIYA(1990)x')).toEqual(['context_word']);
    expect(withWords('Zvezda#2026x')).toEqual([]);
  });

  it('accepts 128 characters and rejects 129 with too_long', () => {
    const base = 'Aa1!';
    expect(codes(base + 'x'.repeat(124))).toEqual([]);
    expect(codes(base + 'x'.repeat(125))).toEqual(['too_long']);
  });

  it('reports every broken rule at once', () => {
    expect(codes('абв')).toEqual([
      'too_short',
      'no_special',
      'no_digit',
      'no_upper',
      'no_lower',
      'cyrillic',
    ]);
  });

  it('ships at least 10,000 common passwords, each of which passes the composition rules', () => {
    const entries = readFileSync(
      new URL('../../config/common-passwords.txt', import.meta.url),
      'utf8',
    )
      .split('\n')
      .filter((line) => line.trim() && !line.startsWith('#'));
    expect(entries.length).toBeGreaterThanOrEqual(10_000);
    expect(commonPasswordCount).toBe(new Set(entries.map((entry) => entry.toLowerCase())).size);
    // A few also name a context word («School1!»): that rule is not a composition rule.
    const composition = (entry: string) => codes(entry).filter((c) => c !== 'context_word');
    for (const entry of entries)
      expect({ entry, codes: composition(entry) }).toEqual({ entry, codes: ['common'] });
  });

  it('ships exactly the list that scripts/generate-common-passwords.mjs derives from the published breach list', () => {
    const script = fileURLToPath(
      new URL('../../scripts/generate-common-passwords.mjs', import.meta.url),
    );
    const committed = readFileSync(
      new URL('../../config/common-passwords.txt', import.meta.url),
      'utf8',
    );
    expect(execFileSync(process.execPath, [script], { encoding: 'utf8' })).toBe(committed);
  });

  it('compares common passwords case-insensitively', () => {
    expect(codes('Qwerty123!')).toEqual(['common']);
    expect(codes('qWERTY123!')).toEqual(['common']);
  });

  it('describes itself as data with a Russian text for every rule', () => {
    const policy = describePolicy();
    expect(policy.specialCharacters).toBe('!@#$%^&*()');
    expect(policy.rules.map((rule) => rule.code)).toEqual(PASSWORD_RULES.map((rule) => rule.code));
    for (const rule of policy.rules) expect(rule.message).toMatch(/[А-Яа-я]/);
  });
});
