import { describe, expect, it } from '@jest/globals';
import { comparableName, inviteeMismatch, snilsChecksumValid, snilsDigits } from './invitee.js';

const invitee = {
  lastName: 'Семёнова',
  firstName: 'Анна',
  middleName: 'Павловна',
  snilsDigest: null,
};
const claims = { lastName: 'СЕМЕНОВА', firstName: 'анна', middleName: 'Павловна', trusted: true };

describe('SNILS', () => {
  it('accepts the usual spellings and the check number of the published example', () => {
    expect(snilsDigits('112-233-445 95')).toBe('11223344595');
    expect(snilsChecksumValid('112-233-445 95')).toBe(true);
    expect(snilsChecksumValid('11223344595')).toBe(true);
  });
  it('refuses a wrong check number, a short number and letters', () => {
    expect(snilsChecksumValid('112-233-445 96')).toBe(false);
    expect(snilsChecksumValid('112-233-445')).toBe(false);
    expect(snilsChecksumValid('112-233-445 9a')).toBe(false);
  });
  it('gives 00 for the sums 100 and 101 and for a remainder of 100', () => {
    // Weighted sums 100, 101 and 201 (201 mod 101 = 100); 5×9 + 1×8 = 53 is its own check number.
    expect(snilsChecksumValid('001-246-489 00')).toBe(true);
    expect(snilsChecksumValid('001-428-626 00')).toBe(true);
    expect(snilsChecksumValid('006-987-764 00')).toBe(true);
    expect(snilsChecksumValid('510-000-000 53')).toBe(true);
    expect(snilsChecksumValid('001-246-489 100'.slice(0, 14))).toBe(false);
  });
});

describe('names', () => {
  it('compares after normalisation, case folding and ё → е', () => {
    expect(comparableName(' Семёнова ')).toBe(comparableName('СЕМЕНОВА'));
    expect(comparableName('Анна\u2011Мария')).toBe(comparableName('анна - мария'));
    // NFKC: the composed and the decomposed «й» are one letter.
    expect(comparableName('Йошкин')).toBe(comparableName('И\u0306ошкин'));
  });
});

describe('inviteeMismatch', () => {
  it('lets the invited person in', () => {
    expect(inviteeMismatch(invitee, claims)).toBeNull();
  });
  it('refuses another last or first name, and another middle name when both have one', () => {
    expect(inviteeMismatch(invitee, { ...claims, lastName: 'Семенов' })).toBe('profile_mismatch');
    expect(inviteeMismatch(invitee, { ...claims, firstName: 'Анастасия' })).toBe(
      'profile_mismatch',
    );
    expect(inviteeMismatch(invitee, { ...claims, middleName: 'Петровна' })).toBe(
      'profile_mismatch',
    );
    expect(inviteeMismatch(invitee, { ...claims, middleName: undefined })).toBeNull();
    expect(inviteeMismatch({ ...invitee, middleName: null }, claims)).toBeNull();
  });
  it('refuses a profile without names', () => {
    expect(inviteeMismatch(invitee, { trusted: true })).toBe('profile_mismatch');
  });
  it('refuses an unconfirmed account, and one that does not say', () => {
    expect(inviteeMismatch(invitee, { ...claims, trusted: false })).toBe('untrusted');
    expect(inviteeMismatch(invitee, { ...claims, trusted: undefined })).toBe('untrusted');
  });
  it('with a SNILS: the same digest only, and no SNILS is its own refusal', () => {
    const withSnils = { ...invitee, snilsDigest: 'a'.repeat(64) };
    expect(inviteeMismatch(withSnils, { ...claims, snilsDigest: 'a'.repeat(64) })).toBeNull();
    expect(inviteeMismatch(withSnils, { ...claims, snilsDigest: 'b'.repeat(64) })).toBe(
      'profile_mismatch',
    );
    expect(inviteeMismatch(withSnils, claims)).toBe('snils_unavailable');
  });
});
